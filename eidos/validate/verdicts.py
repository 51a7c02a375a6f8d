"""Verdicts: what validation concluded about one rule on one node, and why.

The reference validator knew ``passed``, ``failed`` and ``skipped``; an evaluation error
counted as a failure and a missing value as a skip, so "the cluster is wrong", "we could
not tell" and "the tool broke" looked alike. Here the five statuses are distinct:

* ``pass``  — the rule holds;
* ``fail``  — an ``error``-severity rule does not hold;
* ``warn``  — a ``warning``- or ``info``-severity rule does not hold;
* ``skip``  — nothing to judge: the check does not apply to these facts, or a value the
  rule allows to be absent is absent (see docs/validate.md for the exact conditions);
* ``error`` — the rule cannot be evaluated: a measured value of the wrong type, or a value
  an ``error``-severity rule needs is not in the snapshot.

Every verdict carries the rule's source (``file:line``), the expected expression, the
values found, the reason and the remedy, so a report is actionable without the rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from eidos.lang import record

STATUSES = ("pass", "fail", "warn", "skip", "error")
SEVERITIES = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "info")

# How bad a verdict is, on the severity scale --fail-on uses; pass and skip never count.
_RANK = {"info": 1, "warning": 2, "error": 3}


class Deferred:
    """A value computed when first read: ``fn(*args)``.

    Validation decides every rule's status on every node, but most verdicts' reasons and
    found values are never read (a fleet summary reads the failing ones); building those
    strings was most of the cost of judging a rule. A ``Verdict`` may hold a ``Deferred``
    for ``reason`` and ``actual``; reading either computes and keeps it, and equality,
    hashing and pickling see the computed value, so a deferred verdict is
    indistinguishable from an eager one."""

    __slots__ = ("args", "fn")

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args


def _resolved(value):
    return value.fn(*value.args) if type(value) is Deferred else value


@record.frozen
class Verdict:
    """One rule judged on one node.

    ``actual`` and ``reason`` may be given as ``Deferred`` values (see ``Deferred``)."""

    id: str  # stable across runs: "requirement:<name>[@<overlay>]" or "check:<check>[:<requirement>]"
    kind: str  # requirement | check
    name: str
    category: str
    origin: str  # the overlay that set the requirement, or the check's name
    expr: str  # the expected expression, canonical text
    severity: str  # error | warning | info
    status: str  # pass | fail | warn | skip | error
    # (path, value) in expression order; value None if absent
    _actual: tuple[tuple[str, object], ...] = record.field(eq=_resolved, repr=lambda v: repr(_resolved(v)))
    _reason: str = record.field(eq=_resolved, repr=lambda v: repr(_resolved(v)))
    message: str
    remedy: str
    source: str  # file:line of the rule
    # --explain only (empty otherwise): why the rule applied, and each test the expression
    # made with the value it found and what it gave
    applies: str = ""
    trace: tuple[str, ...] = ()

    @property
    def actual(self) -> tuple[tuple[str, object], ...]:
        value = self._actual
        if type(value) is Deferred:
            value = value.fn(*value.args)
            object.__setattr__(self, "_actual", value)
        return value

    @property
    def reason(self) -> str:
        value = self._reason
        if type(value) is Deferred:
            value = value.fn(*value.args)
            object.__setattr__(self, "_reason", value)
        return value

    def __reduce__(self):
        # pickled (a fleet worker, a cache) with every deferred value computed
        return (Verdict, (self.id, self.kind, self.name, self.category, self.origin, self.expr,
                          self.severity, self.status, self.actual, self.reason, self.message,
                          self.remedy, self.source, self.applies, self.trace))

    @property
    def level(self) -> int:
        """0 for pass/skip; otherwise the severity rank a --fail-on threshold compares with."""
        if self.status in ("pass", "skip"):
            return 0
        if self.status in ("fail", "error"):
            return _RANK["error"]
        return _RANK[self.severity]

    def counts_against(self, fail_on: str) -> bool:
        """Whether this verdict is a failure at the ``--fail-on`` level (errors aside)."""
        return self.status in ("fail", "warn") and self.level >= _RANK[fail_on]

    def actual_map(self) -> dict:
        return {path: value for path, value in self.actual}


@record.frozen
class NodeResult:
    """Every verdict for one snapshot, with what the verdicts were computed from."""

    node: str
    snapshot: str  # where it was read from
    timestamp: str | None
    criteria: tuple[tuple[str, str], ...]  # fact -> value, sorted by fact
    fact_sources: tuple[tuple[str, str], ...]  # fact -> "flag" | "snapshot (rule file:line)" | "recipe"
    overlays: tuple[str, ...]
    verdicts: tuple[Verdict, ...]
    # facts the snapshot did not give and no flag did either, and why (inference notices):
    # an unknown GPU model is named here rather than leaving every GPU check silently skipped
    notices: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return count(self.verdicts)

    @property
    def status(self) -> str:
        """fail > error > warn > pass: a definitive failure says more than an unknown."""
        return overall(self.verdicts)


class Judged(Sequence):
    """The verdicts of one node, each built when first read; the statuses are known up front.

    ``eidos.validate.evaluate.judge_all`` decides every rule's status with one closure call
    and builds a ``Verdict`` (an object of 15 fields, ~20x the cost of deciding) only for
    the verdicts that are read: counts, the overall status and the exit code need none.
    It behaves as the tuple of its verdicts (equality, pickling as a tuple)."""

    __slots__ = ("_build", "_built", "statuses")

    def __init__(self, statuses: tuple[str, ...], build: Callable[[int], Verdict]):
        self.statuses = statuses
        self._build = build
        self._built: dict[int, Verdict] = {}

    def __len__(self) -> int:
        return len(self.statuses)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self.statuses)
        if not 0 <= index < len(self.statuses):
            raise IndexError(index)
        verdict = self._built.get(index)
        if verdict is None:
            verdict = self._built[index] = self._build(index)
            if len(self._built) == len(self.statuses):
                self._build = None  # every verdict built: let go of the snapshot it reads
        return verdict

    def __eq__(self, other) -> bool:
        if isinstance(other, (Judged, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __reduce__(self):
        return (tuple, (tuple(self),))

    def __repr__(self) -> str:
        return f"Judged({tuple(self)!r})"


def _statuses(verdicts) -> Iterable[str]:
    known = getattr(verdicts, "statuses", None)
    return known if known is not None else (v.status for v in verdicts)


def count(verdicts: Iterable[Verdict]) -> dict[str, int]:
    c = Counter(_statuses(verdicts))
    return {s: c.get(s, 0) for s in STATUSES}


def overall(verdicts: Iterable[Verdict]) -> str:
    seen = set(_statuses(verdicts))
    for status in ("fail", "error", "warn"):
        if status in seen:
            return status
    return "pass"


@record.frozen
class Report:
    """The outcome of one ``eidos validate`` run."""

    nodes: tuple[NodeResult, ...]
    fail_on: str = "error"
    allow_errors: bool = False
    recipe_source: str | None = None
    unreadable: tuple[tuple[str, str], ...] = ()  # (snapshot, reason) left out of a fleet

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(v for n in self.nodes for v in n.verdicts)

    @property
    def counts(self) -> dict[str, int]:
        return count(self.verdicts)

    def failed(self, v: Verdict) -> bool:
        """A verdict that makes the run fail under this report's --fail-on/--allow-errors."""
        if v.status == "error":
            return not self.allow_errors
        return v.counts_against(self.fail_on)

    @property
    def exit_code(self) -> int:
        """0 when nothing fails at the --fail-on level and nothing errored (unless allowed), else 1;
        2 when a snapshot could not be used (a partial fleet never looks clean)."""
        if self.unreadable:
            return 2
        return 1 if any(self.failed(v) for v in self.verdicts) else 0

    @property
    def status(self) -> str:
        return "fail" if self.exit_code else "pass"

    def failing_by_rule(self) -> list[tuple[str, list[str]]]:
        """For a fleet summary: rule id -> nodes where it failed (or errored), sorted."""
        where: dict[str, list[str]] = {}
        for n in self.nodes:
            for v in n.verdicts:
                if self.failed(v):
                    where.setdefault(v.id, []).append(n.node)
        return sorted(where.items())
