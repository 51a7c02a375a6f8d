"""Fleets: many snapshots, one compilation per expression, per-node facts, a summary."""

from __future__ import annotations

import shutil

from eidos.validate import plan as plan_mod
from eidos.validate.fleet import Validator, expand_sources, validate
from tests.conftest import FIXTURES
from tests.validate.helpers import snap


def test_directory_expands_sorted(tmp_path):
    for n in ("b.yaml", "a.json", "c.txt"):
        (tmp_path / n).write_text("{}")
    assert expand_sources([str(tmp_path)]) == [str(tmp_path / "a.json"), str(tmp_path / "b.yaml")]


def test_each_expression_compiled_once_for_the_fleet(embedded_graph, monkeypatch):
    calls = []
    real = plan_mod.closure
    monkeypatch.setattr(plan_mod, "closure", lambda ir: calls.append(ir) or real(ir))
    v = Validator(embedded_graph, flag_facts={"service": "eks", "accelerator": "h100", "intent": "training"})
    for i in range(50):
        v.node(snap({"K8s": {"server": {"version": f"v1.{28 + i % 6}.0"}}}, node=f"n{i}"), f"n{i}.yaml")
    assert len(calls) == len(set(calls)) == len(v.cache)


def test_mixed_fleet_gets_per_node_recipes_and_summary(embedded_graph, tmp_path):
    for n in ("cns-eks-h100.yaml", "cns-eks-gb200.yaml"):
        shutil.copy(FIXTURES / "snapshots" / n, tmp_path / n)
    report = validate(embedded_graph, expand_sources([str(tmp_path)]), flag_facts={"intent": "training"})
    by = {n.node: n for n in report.nodes}
    assert dict(by["ip-10-0-160-248.ec2.internal"].criteria)["accelerator"] == "gb200"
    assert dict(by["ip-10-0-158-18.ec2.internal"].criteria)["accelerator"] == "h100"
    assert "gb200-eks-ubuntu-training" in by["ip-10-0-160-248.ec2.internal"].overlays
    # the GB200 host is Ubuntu 22.04.5 (kubelet os-image): both the check and the recipe's
    # os-version requirement (== 24.04) fail on it, and on nothing else
    assert report.failing_by_rule() == [("check:gb200-host-os:host-os", ["ip-10-0-160-248.ec2.internal"]),
                                        ("requirement:os-version", ["ip-10-0-160-248.ec2.internal"])]
    assert report.exit_code == 1


def test_progress_callback_sees_every_node(embedded_graph):
    seen = []
    snaps = {f"s{i}": snap({"K8s": {"server": {"version": "v1.33.0"}}}, node=f"s{i}") for i in range(3)}
    validate(embedded_graph, list(snaps), flag_facts={"service": "eks"}, loader=snaps.__getitem__,
             progress=lambda i, total, src: seen.append((i, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
