"""Judging every rule of a node at once: a plan compiled per rule set, run per snapshot.

A fleet judges the same rules on every node, so what does not depend on the snapshot is
prepared once per rule set (``RulePlan``, cached by the rules' closures, severities and
skip reasons, so the per-node lists a fleet builds from the same rules share it):

* each rule's expression as a *keyed* closure (``expr.closures.keyed_closure``), whose
  lookup is ``dict.__getitem__`` of the node's values by path name: a C call, where a
  Python lookup function per operand cost about as much as the tests themselves;
* which paths to read, grouped by subtype: a subtype's mapping is looked up once and its
  keys read with ``dict.get`` in C, one ``Snapshot.lookup`` per subtype rather than per path
  (see ``_resolve`` for why this is exactly ``lookup`` of each path);
* each rule's status table (``True -> pass``, ``False -> fail`` or ``warn``), so deciding
  a status is one ``dict.get`` over the closure's answer, run by ``map`` in C.

Per snapshot: the values, one closure call per rule, the statuses. A rule whose answer is
unknown, whose closure raised ``EvalError`` or which read an absent path is judged in full
by ``evaluate``'s own code (``_judge``); every ``Verdict`` is built only when read
(``verdicts.Judged``). The verdicts are exactly ``evaluate``'s (tests/validate/test_judge_all.py).
"""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter, call, is_, itemgetter

from eidos.lang.expr import EvalError
from eidos.lang.expr.closures import keyed_closure
from eidos.lang.measurements import MISSING
from eidos.validate.evaluate import _decided, _judge
from eidos.validate.verdicts import Judged

# What a plan depends on, per rule: its closure (so its expression), how a false answer
# is reported, and whether it is evaluated at all.
_PLAN_KEY = attrgetter("fn", "severity", "skip_reason")
_PASS_FAIL = {True: "pass", False: "fail"}  # an error-severity rule
_PASS_WARN = {True: "pass", False: "warn"}  # a warning or info rule
_SKIPPED = {None: "skip"}  # a check that does not apply: its answer is _not_evaluated's None
_RAISED = object()  # a closure raised EvalError: no status in any table, judged in full
_PLANS: dict[tuple, RulePlan] = {}
_LAST: list = [None, None]  # the rules last judged and their plan: a fleet's nodes share them
_PLANS_LIMIT = 256  # distinct rule sets kept (a fleet has one per distinct set of facts)


def _not_evaluated(get) -> None:
    return None


def _guarded(fn, get):
    try:
        return fn(get)
    except EvalError:
        return _RAISED


class RulePlan:
    """What judging a rule set needs that no snapshot changes (see the module docstring).

    Built by ``plan_of``; ``judge(rules, snapshot)`` takes the rules it was built for (or
    rules equal to them in closure, severity and skip reason)."""

    __slots__ = ("fns", "groups", "others", "tables", "users")

    def __init__(self, rules) -> None:
        fns, tables = [], []
        users: dict = {}  # path key -> indices of the evaluated rules that read it
        wanted: dict = {}  # every key an evaluated closure may ask for, in first-use order
        for i, rule in enumerate(rules):
            if rule.skip_reason is not None:
                fns.append(_not_evaluated)
                tables.append(_SKIPPED)
                continue
            fn, keys = keyed_closure(rule.ir)
            fns.append(fn)
            tables.append(_PASS_FAIL if rule.severity == "error" else _PASS_WARN)
            for key in keys:
                wanted[key] = None
                if key.kind == "path":
                    users.setdefault(key, []).append(i)
        groups: dict = {}
        others = []
        for key in wanted:
            seg = key.segments
            if len(seg) == 3 and all(type(s) is str for s in seg):
                groups.setdefault(seg[:2], []).append(key)
            else:
                others.append(key)
        self.fns = tuple(fns)
        self.tables = tuple(tables)
        # per subtype: its keys and one C getter of their entries (a tuple even for one
        # key: the name twice, and zip stops at the keys)
        self.groups = tuple((sub, tuple(keys), itemgetter(*[k.segments[2] for k in keys] * (1 + (len(keys) == 1))))
                            for sub, keys in groups.items())
        self.others = tuple(others)
        self.users = {key: tuple(indices) for key, indices in users.items()}

    def _resolve(self, snapshot) -> tuple[dict, list]:
        """``({key: snapshot.lookup(key.segments)}, [keys whose value is MISSING])``.

        A ``Type.subtype.key`` path is read from its subtype's mapping when the mapping has
        the key: ``lookup((t, s, k))`` is then that entry, for a snapshot (its fast path
        does the same) and for the derived views (``HostView``, ``GpuCapacityView``), whose
        two-segment lookup gives the mapping their three-segment lookup reads. Any other
        case (the key absent, dotted names, list indices, deeper paths) asks ``lookup``."""
        look = snapshot.lookup
        values: dict = {}
        missing: list = []
        for sub, keys, entries in self.groups:
            data = look(sub)
            if type(data) is dict:
                try:
                    values.update(zip(keys, entries(data)))
                    continue
                except KeyError:  # some key is absent (or spelled with dots): ask lookup
                    pass
            for key in keys:
                value = values[key] = look(key.segments)
                if value is MISSING:
                    missing.append(key)
        for key in self.others:
            value = values[key] = look(key.segments)
            if value is MISSING:
                missing.append(key)
        return values, missing

    def judge(self, rules: tuple, snapshot) -> Judged:
        """The verdicts of ``rules`` on ``snapshot``, as ``evaluate`` gives them, in order."""
        values, missing = self._resolve(snapshot)
        get = values.__getitem__
        fns = self.fns
        try:
            answers = list(map(call, fns, repeat(get)))
        except EvalError:  # rare: a measured value of the wrong type; find which rules
            answers = list(map(_guarded, fns, repeat(get)))
        statuses = list(map(dict.get, self.tables, answers))  # None: not decided here
        users = self.users
        for key in missing:
            for i in users.get(key, ()):  # (a fact operand has no users)
                statuses[i] = None
        full: dict = {}
        if any(map(is_, statuses, repeat(None))):
            i = statuses.index(None)
            while True:
                verdict = full[i] = _judge(rules[i], snapshot)
                statuses[i] = verdict.status
                try:
                    i = statuses.index(None, i + 1)
                except ValueError:
                    break

        def build(i: int):
            verdict = full.get(i)
            if verdict is None:
                rule = rules[i]
                verdict = (_judge(rule, snapshot) if rule.skip_reason is not None
                           else _decided(rule, statuses[i], values, snapshot))
            return verdict

        return Judged(tuple(statuses), build)


def plan_of(rules: tuple) -> RulePlan:
    """The plan for ``rules``, built once per distinct rule set (closures, severities and
    skip reasons) and kept for the process.

    The same rule objects as last time (the same frozen ``Rule``s, in a new list or not)
    are recognised by identity, in C; other rules by what the plan depends on, so rules
    rebuilt per node from the same expressions (``deployed`` components) share a plan."""
    last, plan = _LAST
    if last is not None and len(last) == len(rules) and all(map(is_, last, rules)):
        return plan
    key = tuple(map(_PLAN_KEY, rules))
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _PLANS_LIMIT:
            _PLANS.clear()
        plan = _PLANS[key] = RulePlan(rules)
    _LAST[:] = rules, plan
    return plan


def judge_all(rules, snapshot) -> Judged:
    """``evaluate``'s verdicts of ``rules`` on ``snapshot`` (see ``evaluate.judge_all``)."""
    rules = rules if type(rules) is tuple else tuple(rules)  # the verdicts are built later
    return plan_of(rules).judge(rules, snapshot)
