"""``eidos validate --fabric --from-log``: each fixture log judged by the shipped fabric rules.

Every expected verdict carries its reason: the log's numbers (tests/fixtures/nccl, read by
hand in test_nccl_parse.py) against the threshold written in rules/fabric.eidos.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES, ROOT, run_eidos

NCCL = FIXTURES / "nccl"
EKS_H100 = ("--service", "eks", "--accelerator", "h100", "--intent", "training")
RULES = (ROOT / "rules" / "fabric.eidos").read_text(encoding="utf-8").splitlines()


def _line_of(text: str) -> int:
    return next(i for i, line in enumerate(RULES, 1) if text in line)


def _verdicts(log: str, *facts: str, extra: tuple = ()) -> tuple[int, dict]:
    result = run_eidos("validate", "--from-log", str(NCCL / log), *facts, "-o", "json", *extra)
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    (node,) = doc["nodes"]
    return result.returncode, {v["id"]: v for v in node["verdicts"]}


CASES = [
    # (log, facts, {verdict id: status}, exit code, reason)
    ("08-aws-p5-2node-efa-openmpi-rank-prefix.txt", EKS_H100,
     {"check:nccl-busbw-eks-h100:busbw": "pass", "check:nccl-data-integrity:wrong": "pass",
      "check:nccl-data-integrity:out-of-bounds": "pass", "check:nccl-run-completed:completed": "pass",
      "check:nccl-tcp-fallback-eks:efa-transport": "skip"},
     0, "2x p5 over EFA: peak 483.35 GB/s >= 300; no NCCL_DEBUG=INFO, so the transport is unknown"),
    ("aicr-testdata-eks-h100-16g.txt", EKS_H100,
     {"check:nccl-busbw-eks-h100:busbw": "pass"}, 0, "peak 450.30 GB/s >= 300"),
    ("aicr-testdata-gke-h100-8g.txt", ("--service", "gke", "--accelerator", "h100", "--intent", "training"),
     {"check:nccl-busbw-gke-h100:busbw": "pass", "check:nccl-busbw-eks-h100:busbw": "skip"},
     0, "GKE: peak 333.51 GB/s >= 250; the EKS threshold does not apply"),
    ("21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt", EKS_H100,
     {"check:nccl-data-integrity:wrong": "fail", "check:nccl-data-integrity:out-of-bounds": "fail",
      "check:nccl-busbw-eks-h100:busbw": "fail", "check:nccl-run-completed:completed": "pass"},
     1, "#wrong 96+32 and 4 out-of-bounds sizes: corrupt; peak 22.87 GB/s < 300; the run finished"),
    ("18-rtx5090-1node-2gpu-crash-unhandled-cuda-error.txt", EKS_H100,
     {"check:nccl-run-completed:completed": "fail", "check:nccl-data-integrity:wrong": "pass",
      "check:nccl-data-integrity:out-of-bounds": "error", "check:nccl-busbw-eks-h100:busbw": "error"},
     1, "crashed after the header: no rows, so no bandwidth and no footer to judge (error, not pass)"),
    ("90-derived-gh200-hung-mid-row.txt", EKS_H100,
     {"check:nccl-run-completed:completed": "fail", "check:nccl-busbw-eks-h100:busbw": "fail"},
     1, "hung after 4 MiB: incomplete; peak so far 25.08 GB/s"),
    ("11-gb200-nvl72-1rack-72gpu-allreduce-graphics-device-name.txt",
     ("--service", "eks", "--accelerator", "gb200", "--intent", "training"),
     {"check:nccl-gb200-mnnvl:completed": "pass", "check:nccl-data-integrity:wrong": "pass"},
     0, "72-rank NVL72 run finished clean; GB200 has no bandwidth threshold"),
    ("23-a100-pcie-2node-ib-hdr-nccl-debug-info-full-run.txt", EKS_H100,
     {"check:nccl-tcp-fallback-eks:efa-transport": "pass"},
     1, "NCCL_DEBUG=INFO names the transport IBext_v8, not Socket (and 6.44 GB/s fails the H100 bar)"),
]


@pytest.mark.parametrize("log, facts, expected, code, reason", CASES, ids=[c[0][:24] for c in CASES])
def test_fixture_log_verdicts(log, facts, expected, code, reason):
    rc, verdicts = _verdicts(log, *facts)
    got = {vid: verdicts[vid]["status"] for vid in expected}
    assert got == expected, reason
    assert rc == code, reason
    # only fabric rules are reported in fabric mode
    assert {v["category"] for v in verdicts.values()} == {"fabric"}


def test_threshold_failure_names_the_rule_and_its_remedy():
    result = run_eidos("validate", "--from-log", str(NCCL / "90-derived-gh200-hung-mid-row.txt"), *EKS_H100)
    assert result.returncode == 1
    assert f"rules/fabric.eidos:{_line_of('peak-busbw') }" in result.stdout
    assert "FI_PROVIDER=efa" in result.stdout


def test_corrupt_log_fails_with_the_data_corruption_remedy():
    rc, verdicts = _verdicts("21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt", *EKS_H100)
    wrong = verdicts["check:nccl-data-integrity:wrong"]
    assert rc == 1 and wrong["status"] == "fail"
    assert "dcgmi diag" in wrong["remedy"] and "drain" in wrong["remedy"]
    assert wrong["source"] == f"rules/fabric.eidos:{_line_of('require wrong:')}"


def test_tcp_fallback_is_caught_from_the_nccl_info_line(tmp_path):
    # log 23 with its transport line edited to what NCCL prints when it falls back to sockets
    text = (NCCL / "23-a100-pcie-2node-ib-hdr-nccl-debug-info-full-run.txt").read_text()
    assert text.count("Using network IBext_v8") == 2
    log = tmp_path / "socket.log"
    log.write_text(text.replace("Using network IBext_v8", "Using network Socket", 1))
    result = run_eidos("validate", "--from-log", str(log), *EKS_H100, "-o", "json", "--fail-on", "warning")
    verdicts = {v["id"]: v for v in json.loads(result.stdout)["nodes"][0]["verdicts"]}
    fallback = verdicts["check:nccl-tcp-fallback-eks:efa-transport"]
    assert fallback["status"] == "warn" and "FI_PROVIDER=efa" in fallback["remedy"]


def test_from_log_with_a_snapshot_infers_the_facts_and_reports_only_fabric(tmp_path):
    result = run_eidos("validate", "--snapshot", str(FIXTURES / "snapshots" / "cns-eks-h100.yaml"),
                       "--from-log", str(NCCL / "08-aws-p5-2node-efa-openmpi-rank-prefix.txt"),
                       "--intent", "training", "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    (node,) = json.loads(result.stdout)["nodes"]
    criteria = dict(node["criteria"]) if isinstance(node["criteria"], list) else node["criteria"]
    assert criteria["service"] == "eks" and criteria["accelerator"] == "h100"
    statuses = {v["id"]: v["status"] for v in node["verdicts"]}
    assert statuses["check:nccl-busbw-eks-h100:busbw"] == "pass"
    assert all(v["category"] == "fabric" for v in node["verdicts"])


def test_plain_validate_leaves_fabric_rules_out():
    result = run_eidos("validate", "--snapshot", str(FIXTURES / "snapshots" / "cns-eks-h100.yaml"),
                       "--intent", "training", "-o", "json")
    verdicts = json.loads(result.stdout)["nodes"][0]["verdicts"]
    assert verdicts and not [v for v in verdicts if v["category"] == "fabric"]


@pytest.mark.parametrize("args, message", [
    (("--fabric", "--snapshot", str(FIXTURES / "snapshots" / "cns-eks-h100.yaml"), *EKS_H100),
     "--snapshot goes with --from-log"),
    (EKS_H100, "--snapshot"),
    (("--fabric", "--test", "all_reduce"), "needs the facts"),
])
def test_usage_errors(args, message, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    result = run_eidos("validate", *args, env={"KUBECONFIG": str(kubeconfig)})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_fabric_on_a_cluster_without_one_is_exit_3(tmp_path):
    result = run_eidos("validate", "--fabric", *EKS_H100, env={"KUBECONFIG": str(tmp_path / "none")})
    assert result.returncode == 3 and "no cluster configuration" in result.stderr


def test_unreadable_log_is_exit_2(tmp_path):
    result = run_eidos("validate", "--from-log", str(tmp_path / "missing.log"), *EKS_H100)
    assert result.returncode == 2 and "missing.log" in result.stderr


GKE_H200 = ("--service", "gke", "--accelerator", "h200", "--intent", "training")


def _gke_transport(log_path) -> dict:
    result = run_eidos("validate", "--from-log", str(log_path), *GKE_H200, "-o", "json", "--fail-on", "warning")
    verdicts = {v["id"]: v for v in json.loads(result.stdout)["nodes"][0]["verdicts"]}
    return verdicts["check:nccl-transport-gke:plugin-transport"]


def test_gke_tcp_fallback_between_nodes_warns_with_the_plugin_remedy(tmp_path):
    # log 23 (2 nodes, NCCL_DEBUG=INFO) as a GKE A3 Ultra run: its own transport passes, the
    # same run edited to the socket fallback warns and names gIB's and TCPXO's installers
    text = (NCCL / "23-a100-pcie-2node-ib-hdr-nccl-debug-info-full-run.txt").read_text()
    assert _gke_transport(NCCL / "23-a100-pcie-2node-ib-hdr-nccl-debug-info-full-run.txt")["status"] == "pass"
    log = tmp_path / "socket.log"
    log.write_text(text.replace("Using network IBext_v8", "Using network Socket", 1))
    verdict = _gke_transport(log)
    assert verdict["status"] == "warn"
    assert "nccl-rdma-installer.yaml" in verdict["remedy"] and "set_nccl_env.sh" in verdict["remedy"]
    assert verdict["source"] == f"rules/fabric.eidos:{_line_of('require plugin-transport:')}"


def test_gke_one_node_run_over_sockets_is_not_a_fallback(tmp_path):
    # a one-node run (log 14, one host) moves nothing between nodes: NCCL naming Socket there
    # is not a missing plugin
    text = (NCCL / "14-a100-40gb-1node-8gpu-allreduce-old-error-column.txt").read_text()
    log = tmp_path / "one-node.log"
    log.write_text("host-0:1:1 [0] NCCL INFO Using network Socket\n" + text)
    assert _gke_transport(log)["status"] == "pass"
