"""The pieces of one drift run that need no cluster."""

from __future__ import annotations


def test_run_compares_the_node_only(tmp_path):
    """A baseline from ``eidos snapshot --deploy-agent`` carries cluster data (K8s) that the
    CronJob's pod, which has no cluster reads, never collects: that is not drift."""
    from eidos.drift.runner import compare
    from eidos.snapshot.io import load_snapshot
    from tests.conftest import FIXTURES

    source = FIXTURES / "snapshots" / "cns-eks-h100.yaml"
    baseline = source.read_text()
    full = load_snapshot(str(source))
    assert any(m.type == "K8s" for m in full.measurements)
    node_only = full.replace_type(None, (), "K8s")
    assert not any(m.type == "K8s" for m in node_only.measurements)
    doc = compare(baseline, "golden", node_only, "now", ())
    assert doc["summary"]["changes"] == 0 and doc["summary"]["ignored"] > 0
    other = full.replace_type(None, (), "GPU")  # losing the GPU measurement is drift
    assert compare(baseline, "golden", other, "now", ())["summary"]["changes"] > 0
