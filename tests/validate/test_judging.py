"""The compiled plan (``judging``) judges exactly as ``evaluate`` does, on any snapshot.

Hypothesis draws rule sets (atoms of every kind over paths a snapshot may or may not
hold, in any ``and``/``or``/``not`` shape, every severity, some checks not applicable)
and snapshots (each path present with a good value, a value of the wrong type, or
absent; dotted key names; the derived ``OS.host`` view) and requires ``judge_all``'s
statuses and every verdict, field by field, to be ``evaluate``'s; and each keyed closure
to answer (or raise) as the rule's own closure does. Dropping the re-judging of rules
that read an absent path, a wrong status table, a value read from the wrong subtype or a
plan reused across rule sets that differ in severity each fail it.
"""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.expr import Checker, EvalError, render
from eidos.lang.expr.closures import Key, keyed_closure
from eidos.lang.measurements import MISSING
from eidos.lang.parser import parse_module
from eidos.validate import judging
from eidos.validate.evaluate import evaluate, judge_all
from eidos.validate.hostos import HostView
from eidos.validate.plan import ClosureCache, RequirementSource, requirement_rules
from eidos.validate.verdicts import count, overall
from tests.validate.helpers import collector, snap

# path -> (its place in the snapshot, values a snapshot may hold there: good ones, then
# ones of the wrong type for the atoms below)
PATHS = {
    "K8s.server.version": (("K8s", "server", "version"), ["v1.33.5-eks-3025e55", "1.29.2", "v1.30.0", "ubuntu", 7]),
    "GPU.smi.driver": (("GPU", "smi", "driver"), ["580.82.07", "565.57.01", 570, "n/a"]),
    "OS.release.ID": (("OS", "release", "ID"), ["ubuntu", "rhel", True, ["x"]]),
    "OS.kmod.nvidia": (("OS", "kmod", "nvidia"), [True, False, "true", "maybe"]),
    'OS.sysctl["/proc/sys/kernel/numa_balancing"]': (("OS", "sysctl", "/proc/sys/kernel/numa_balancing"),
                                                     ["0", 1, "1", "x", 2.5]),
    "GPU.smi.gpu.model": (("GPU", "smi", "gpu.model"), ["NVIDIA H100 80GB HBM3", "Tesla T4", {"a": 1}]),
    "SystemD.containerd.service.ActiveState": (("SystemD", "containerd.service", "ActiveState"),
                                               ["active", "failed", 3]),
    "K8s.node.labels.zone": (("K8s", "node", "labels", "zone"), ["a", "b", False]),
    # several keys of one subtype (read together from its mapping), and the host's OS
    "OS.release.VERSION_ID": (("OS", "release", "VERSION_ID"), ["24.04", "22.04", 24.04]),
    "GPU.smi.gpu-count": (("GPU", "smi", "gpu-count"), [8, "8", 4.0, "eight"]),
    "K8s.node.os-image": (("K8s", "node", "os-image"), ["Ubuntu 24.04.1 LTS", "Red Hat Enterprise Linux 9.4", 5]),
}

ATOMS = [
    "K8s.server.version >= 1.30", "K8s.server.version < 1.33.1", "K8s.server.version in 1.29..<1.31",
    "GPU.smi.driver >= 570", "GPU.smi.driver >= 570.0",
    'OS.release.ID == "ubuntu"', 'OS.release.ID in {"ubuntu", "rhel"}', 'OS.release.ID matches "^u"',
    "exists OS.kmod.nvidia", "OS.kmod.nvidia == true",
    'OS.sysctl["/proc/sys/kernel/numa_balancing"] == 0',
    'GPU.smi.gpu.model startswith "NVIDIA"', 'GPU.smi.gpu.model contains "100"',
    'SystemD.containerd.service.ActiveState == "active"', "exists SystemD.containerd.service.ActiveState",
    'K8s.node.labels.zone != "a"', 'OS.host.ID == "ubuntu"', "exists OS.host.VERSION_ID",
    'OS.release.VERSION_ID == "24.04"', "GPU.smi.gpu-count in 1..8", "GPU.smi.gpu-count == 8",
    'K8s.node.os-image matches "^Ubuntu"', 'OS.host.VERSION_ID == "24.04"',
]


def expressions():
    atom = st.sampled_from(ATOMS)
    return st.recursive(atom, lambda inner: st.one_of(
        inner.map(lambda e: f"not ({e})"),
        st.lists(inner, min_size=2, max_size=3).map(lambda es: " and ".join(f"({e})" for e in es)),
        st.lists(inner, min_size=2, max_size=3).map(lambda es: " or ".join(f"({e})" for e in es)),
    ), max_leaves=5)


def rules_of(specs):
    """Rules as validation builds them, from (expression, severity, skipped) triples."""
    reporter = Reporter()
    text = "overlay o { when always\n" + "\n".join(f"require {e}" for e, _, _ in specs) + "\n}"
    module = parse_module(SourceFile("t.eidos", text), reporter)
    checker = Checker({}, reporter)
    irs = [checker.check(r.expr, "measurements") for r in module.decls[0].requires]
    assert not reporter.items, [d.render() for d in reporter.items]
    sources = [RequirementSource(f"r{i}", ir, render(ir), severity, f"m{i}", f"fix {i}", "o", f"t.eidos:{i + 2}")
               for i, (ir, (_, severity, _)) in enumerate(zip(irs, specs))]
    rules = requirement_rules(sources, ClosureCache())
    return tuple(attrs.evolve(r, skip_reason="not applicable: accelerator not given") if skipped else r
                 for r, (_, _, skipped) in zip(rules, specs))


@st.composite
def snapshots(draw):
    data: dict = {}
    for segments, values in PATHS.values():
        choice = draw(st.sampled_from([MISSING, *values]))
        if choice is MISSING:
            continue
        node = data
        for seg in segments[:-1]:
            node = node.setdefault(seg, {})
        node[segments[-1]] = choice
    gpu = collector("gpu", "GPU", "unavailable", "nvidia-smi not found")
    return HostView(snap(data, collectors=[gpu] if "GPU" not in data else []))


rule_sets = st.lists(st.tuples(expressions(), st.sampled_from(["error", "warning", "info"]),
                               st.sampled_from([False, False, False, True])), min_size=1, max_size=6)


def _same(rules, snapshot):
    judged = judge_all(rules, snapshot)
    eager = tuple(evaluate(rule, snapshot) for rule in rules)
    assert judged.statuses == tuple(v.status for v in eager)
    assert count(judged) == count(eager) and overall(judged) == overall(eager)
    for got, want in zip(judged, eager):
        assert (got.id, got.status, got.reason, got.actual, got.remedy) == (want.id, want.status, want.reason,
                                                                           want.actual, want.remedy)
        assert got == want


def _answer(fn, lookup):
    try:
        return ("value", fn(lookup))
    except EvalError as err:
        return ("raised", str(err))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets, st.lists(snapshots(), min_size=1, max_size=3))
def test_plan_judges_as_evaluate_on_every_snapshot(specs, nodes):
    rules = rules_of(specs)
    for snapshot in nodes:  # one plan, several snapshots: nothing of one leaks into the next
        _same(rules, snapshot)
        _same(list(rules), snapshot)  # a new list of the same rules: the same plan, the same answers


@settings(max_examples=100, deadline=None)
@given(expressions(), snapshots())
def test_keyed_closure_answers_as_the_rule_closure(text, snapshot):
    (rule,) = rules_of([(text, "error", False)])
    fn, keys = keyed_closure(rule.ir)
    assert all(type(k) is Key for k in keys)
    assert {k.name for k in keys if k.kind == "path"} == {op.name for op in rule.operands}
    values = {k: snapshot.lookup(k.segments) for k in keys}
    got = _answer(fn, values.__getitem__)
    want = _answer(rule.fn, lambda op: snapshot.lookup(op.segments))
    assert got == want and (got[0] == "raised" or got[1] is want[1])


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_values_are_read_as_lookup_reads_them(snapshot):
    rules = rules_of([(a, "error", False) for a in ATOMS])
    values, missing = judging.plan_of(rules)._resolve(snapshot)
    for key, value in values.items():
        want = snapshot.lookup(key.segments)
        assert value is want or (value == want and type(value) is type(want)), key
    assert sorted(missing) == sorted(k for k, v in values.items() if v is MISSING)
    assert {k.name for k in values} == {op.name for r in rules for op in r.operands}


def test_absent_path_with_a_decided_answer_is_judged_in_full():
    # `not exists P or …` is true with P absent: a decision on the answer alone would say
    # "pass, holds"; evaluate says the rule had nothing to check (skip)
    (rule,) = rules_of([("not exists OS.kmod.nvidia or OS.kmod.nvidia == true", "warning", False)])
    judged = judge_all((rule,), HostView(snap({"OS": {"release": {"ID": "ubuntu"}}})))
    assert judged.statuses == ("skip",)
    assert judged[0].reason.startswith("nothing to check")


def test_rule_sets_differing_in_severity_get_their_own_plan():
    text = "K8s.server.version >= 1.31"
    error, warning = rules_of([(text, "error", False)]), rules_of([(text, "warning", False)])
    node = HostView(snap({"K8s": {"server": {"version": "v1.30.0"}}}))
    assert judge_all(error, node).statuses == ("fail",)
    assert judge_all(warning, node).statuses == ("warn",)
    assert judge_all(error, node).statuses == ("fail",)
    assert judging.plan_of(error) is not judging.plan_of(warning)
    assert judging.plan_of(list(error)) is judging.plan_of(error)


def test_a_wrong_type_in_one_rule_leaves_the_others_decided():
    rules = rules_of([("K8s.server.version >= 1.30", "error", False), ('OS.release.ID == "ubuntu"', "error", False),
                      ("GPU.smi.driver >= 570", "warning", False)])
    node = HostView(snap({"K8s": {"server": {"version": "ubuntu"}}, "OS": {"release": {"ID": "ubuntu"}},
                          "GPU": {"smi": {"driver": "565.57.01"}}}))
    judged = judge_all(rules, node)
    assert judged.statuses == ("error", "pass", "warn")
    assert judged[0].reason.startswith("cannot evaluate K8s.server.version >= 1.30")
