"""``judge_all`` (statuses first, verdicts built when read) gives exactly ``evaluate``'s verdicts.

On the real snapshots with the embedded rules (one plan reused across them, as a fleet
does), and on small rules covering every status (pass, fail, warn, skip, error from a
wrong type, error and skip from absent values), each verdict ``judge_all`` builds must
equal the one ``evaluate`` builds field for field (``reason`` and ``actual`` included),
its statuses must be theirs, counting must not build any verdict, and pickling must give
the plain tuple. tests/validate/test_judging.py draws rule sets and snapshots at random.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from eidos.snapshot.io import load_snapshot
from eidos.validate.evaluate import evaluate, judge_all
from eidos.validate.fleet import Validator
from eidos.validate.gpucapacity import GpuCapacityView
from eidos.validate.hostos import HostView
from eidos.validate.verdicts import Verdict, count, overall
from tests.validate.helpers import collector, snap
from tests.validate.test_verdicts import GOOD, RULES

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"


def _rules_and_view(graph, snapshot, facts):
    validator = Validator(graph, flag_facts=facts)
    view = GpuCapacityView(HostView(snapshot))
    found, _, _ = validator._facts(view)
    _, rules, _ = validator._plan(found)
    return rules, view


def _same(rules, view):
    judged = judge_all(rules, view)
    assert count(judged) and not judged._built  # counting reads the statuses only
    eager = tuple(evaluate(rule, view) for rule in rules)
    assert judged.statuses == tuple(v.status for v in eager)
    for got, want in zip(judged, eager):
        assert isinstance(got, Verdict)
        assert (got.id, got.status, got.reason, got.actual, got.remedy) == (want.id, want.status, want.reason,
                                                                           want.actual, want.remedy)
        assert got == want
    assert judged == eager and overall(judged) == overall(eager)
    assert pickle.loads(pickle.dumps(judged)) == eager
    return judged


@pytest.mark.parametrize("name", ["cns-eks-h100.yaml", "cns-eks-gb200.yaml", "aicr-mock-training.yaml"])
def test_real_snapshots_give_the_same_verdicts(embedded_graph, name):
    snapshot = load_snapshot(str(SNAPSHOTS / name))
    rules, view = _rules_and_view(embedded_graph, snapshot, {"service": "eks"})
    assert len(rules) > 10
    _same(rules, view)


@pytest.mark.parametrize("data, facts", [
    (GOOD, {"accelerator": "gb200", "intent": "inference"}),
    ({**GOOD, "K8s": {"server": {"version": "v1.29.9"}}}, {"accelerator": "gb200"}),  # fail
    ({**GOOD, "OS": {"release": {"ID": "rhel"}, "sysctl": {"/proc/sys/kernel/numa_balancing": "1"}}},
     {"intent": "training"}),  # warn, absent kmod
    ({**GOOD, "K8s": {"server": {"version": "ubuntu"}}}, {"accelerator": "gb200"}),  # wrong type: error
    ({k: v for k, v in GOOD.items() if k != "GPU"}, {"accelerator": "gb200"}),  # absent: error
])
def test_every_status_is_judged_alike(graph_of, data, facts):
    graph = graph_of(RULES)
    gpu = collector("gpu", "GPU", "unavailable", "nvidia-smi not found")
    rules, view = _rules_and_view(graph, snap(data, collectors=[gpu]), {"service": "eks", **facts})
    judged = _same(rules, view)
    assert set(judged.statuses) - {"pass"}, judged.statuses  # each case has something to explain


def test_judged_indexes_like_a_tuple(graph_of):
    rules, view = _rules_and_view(graph_of(RULES), snap(GOOD), {"service": "eks", "accelerator": "gb200"})
    judged = judge_all(rules, view)
    assert judged[-1] == judged[len(judged) - 1] and judged[1:3] == tuple(judged)[1:3]
    with pytest.raises(IndexError):
        judged[len(judged)]


def test_one_plan_judges_a_fleet_of_real_snapshots(embedded_graph):
    # a fleet judges the same rules on every node: the plan is built once and reused, and
    # nothing one node's values decided leaks into the next node's verdicts
    from eidos.validate import judging

    first = load_snapshot(str(SNAPSHOTS / "cns-eks-h100.yaml"))
    rules, _ = _rules_and_view(embedded_graph, first, {"service": "eks"})
    plan = judging.plan_of(tuple(rules))
    for name in ["cns-eks-gb200.yaml", "aicr-mock-training.yaml", "cns-eks-h100.yaml", "cns-eks-gb200.yaml"]:
        view = GpuCapacityView(HostView(load_snapshot(str(SNAPSHOTS / name))))
        _same(list(rules), view)  # a new list of the same rules, as a fleet builds per node
        assert judging.plan_of(list(rules)) is plan


def test_lazy_verdicts_let_go_of_the_snapshot(graph_of, embedded_graph, tmp_path):
    """A node's Judged verdicts keep what builds them (and the snapshot it reads) only until
    every verdict is built; an in-memory report of several nodes holds plain verdict tuples.
    A Judged that kept its builder forever, or a fleet report of Judged sequences, would hold
    every snapshot of the fleet in memory."""
    from eidos.validate.fleet import validate

    rules, view = _rules_and_view(graph_of(RULES), snap(GOOD), {"service": "eks", "accelerator": "gb200"})
    judged = judge_all(rules, view)
    tuple(judged[: len(judged) - 1])
    assert judged._build is not None  # one verdict still to build
    tuple(judged)
    assert judged._build is None and tuple(judged) == tuple(evaluate(rule, view) for rule in rules)

    sources = [str(SNAPSHOTS / "cns-eks-h100.yaml"), str(SNAPSHOTS / "cns-eks-gb200.yaml")]
    many = validate(embedded_graph, sources, flag_facts={"service": "eks"})
    assert [type(node.verdicts) for node in many.nodes] == [tuple, tuple]
    one = validate(embedded_graph, sources[:1], flag_facts={"service": "eks"})
    assert type(one.nodes[0].verdicts) is not tuple  # one node: still built when read
    assert one.nodes[0].verdicts == many.nodes[0].verdicts
