"""eidos drift's Prometheus text, read back by prometheus_client's own parser."""

from __future__ import annotations

import pytest

from eidos.drift.metrics import epoch, render

parser = pytest.importorskip("prometheus_client.parser")

DIFF = {"nodes": [
    {"node": "gpu-1", "status": "drifted", "verdicts": [{"id": "check:x", "before": "pass", "after": "fail"}],
     "changes": [{"path": 'OS.sysctl["/proc/sys/kernel/osrelease"]', "kind": "changed"},
                 {"path": "GPU.smi.driver-version", "kind": "changed"},
                 {"path": 'weird\\path\n"x"', "kind": "added"}]},
    {"node": "gpu-2", "status": "same", "changes": [], "verdicts": []},
]}
STATE = {"runs": 7, "driftEvents": 2, "lastSuccess": "2026-11-30T14:00:00Z"}


def families(text):
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def test_parses_and_carries_every_value():
    text = render(namespace="gpu-operator", install="default", state=STATE, diff=DIFF,
                  result={"status": "ok", "time": "2026-11-30T14:00:05Z"})
    assert text.endswith("\n")
    fam = families(text)
    paths = {(s.labels["node"], s.labels["path"], s.labels["kind"]): s.value
             for s in fam["eidos_drift_path_changed"].samples}
    assert paths == {("gpu-1", 'OS.sysctl["/proc/sys/kernel/osrelease"]', "changed"): 1,
                     ("gpu-1", "GPU.smi.driver-version", "changed"): 1,
                     ("gpu-1", 'weird\\path\n"x"', "added"): 1}  # escaping survives the parser
    per_node = {s.labels["node"]: s.value for s in fam["eidos_drift_node_changes"].samples}
    assert per_node == {"gpu-1": 3, "gpu-2": 0}
    assert {s.labels["node"]: s.value for s in fam["eidos_drift_node_verdict_changes"].samples} == {"gpu-1": 1, "gpu-2": 0}
    assert fam["eidos_drift_drifted_nodes"].samples[0].value == 1
    assert fam["eidos_drift_last_run_timestamp_seconds"].samples[0].value == epoch("2026-11-30T14:00:05Z")
    assert fam["eidos_drift_last_success_timestamp_seconds"].samples[0].value == 1796047200
    assert fam["eidos_drift_last_run_success"].samples[0].value == 1
    runs = fam["eidos_drift_runs"]
    assert runs.type == "counter" and runs.samples[0].name == "eidos_drift_runs_total" and runs.samples[0].value == 7
    assert fam["eidos_drift_events"].samples[0].value == 2
    for f in fam.values():
        assert f.documentation, f.name
        assert all(s.labels["namespace"] == "gpu-operator" and s.labels["install"] == "default" for s in f.samples)


def test_failed_run_keeps_last_success():
    fam = families(render(namespace="ns", install="a", state=STATE, diff=None,
                          result={"status": "error", "time": "2026-11-30T15:00:00Z"}))
    assert fam["eidos_drift_last_run_success"].samples[0].value == 0
    assert fam["eidos_drift_last_success_timestamp_seconds"].samples[0].value == 1796047200
    assert fam["eidos_drift_path_changed"].samples == []


def test_deterministic():
    args = {"namespace": "ns", "install": "a", "state": STATE, "diff": DIFF, "result": {"status": "ok", "time": "2026-11-30T15:00:00Z"}}
    assert render(**args) == render(**args)
