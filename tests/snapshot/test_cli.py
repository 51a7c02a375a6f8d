"""``eidos snapshot`` end to end in a subprocess: exit codes, outputs, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from snaphelpers import FIXTURES, make_exe
from test_cluster_agent import NODE, FakeKubelet, _leftovers, node_snapshot_text

from eidos.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[2]


def eidos(*args, env=None, timeout=60, cwd=ROOT):
    proc = subprocess.run(
        [sys.executable, "-m", "eidos", "snapshot", *args],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd, check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def env(clean_env, tmp_path):
    e = dict(os.environ)
    e.pop("CI", None)
    return e


def test_local_snapshot_without_gpu_or_cluster(host, env, tmp_path):
    out = tmp_path / "snap.yaml"
    proc = eidos("--host-root", str(host), "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --out: no deprecation notice
    snap = load_snapshot(str(out))
    assert snap.lookup(("OS", "release", "VERSION_ID")) == "22.04"
    assert snap.collector("gpu").status == "unavailable"
    assert snap.collector("k8s-server").status == "unavailable"
    assert not list(tmp_path.glob(".snap.yaml.*"))  # no temp files left behind


def test_json_by_extension_and_stdout(host, env, tmp_path):
    out = tmp_path / "snap.json"
    assert eidos("--host-root", str(host), "--no-cluster", "--out", str(out), env=env).returncode == 0
    doc = json.loads(out.read_text())
    assert doc["apiVersion"] == "eidos.dev/v1alpha1"
    proc = eidos("--host-root", str(host), "--no-cluster", "-o", "json", env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["kind"] == "Snapshot"
    assert proc.stderr == ""


def test_this_machine_default_root(tmp_path, env):
    proc = eidos("--out", str(tmp_path / "s.yaml"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert load_snapshot(str(tmp_path / "s.yaml")).collector("os-release").status == "ok"


@pytest.mark.parametrize("args, code, fragment", [
    (["--host-root", "/does/not/exist"], 2, "not a directory"),
    (["--out", "cm://onlynamespace"], 2, "cm://namespace/name"),
    (["-o", "cm://onlynamespace"], 2, "cm://namespace/name"),  # deprecated spelling, same check
    (["--format", "xml"], 2, "invalid choice"),
    (["-o", "x.yaml", "--out", "y.yaml"], 2, "not a format (yaml, json) and --out is given"),
    (["--format", "yaml", "-o", "json"], 2, "--format yaml contradicts -o json"),
    (["--collector-timeout", "0"], 2, "must be a positive number of seconds, got '0'"),
    (["--collector-timeout", "nan"], 2, "must be a positive number of seconds, got 'nan'"),
    (["--collector-timeout", "-1"], 2, "must be a positive number of seconds, got '-1'"),
    (["--collector-timeout=-inf"], 2, "must be a positive number of seconds, got '-inf'"),
    (["--collector-timeout", "inf"], 2, "must be at most 86400 seconds"),
    (["--collector-timeout", "1e9"], 2, "must be at most 86400 seconds"),
    (["--collector-timeout", "soon"], 2, "expected a number of seconds, got 'soon'"),
    (["--deploy-agent", "--image", "x", "--timeout", "nan"], 2, "argument --timeout: must be a positive"),
    (["--kubeconfig", "/nonexistent"], 2, "--kubeconfig: /nonexistent: kubeconfig file not found"),
    (["--kubeconfig", "/"], 2, "is a directory, not a kubeconfig file"),
    (["--no-cluster", "--kubeconfig", "/nonexistent"], 2, "kubeconfig file not found"),
    (["--deploy-agent"], 2, "agent image"),
    (["--deploy-agent", "--image", "x", "--no-cluster"], 2, "drop --no-cluster"),
    (["--deploy-agent", "--image", "x", "--toleration", "k:Never"], 2, "effect must be"),
    (["--kubeconfig", "/nope/kubeconfig", "--deploy-agent", "--image", "x"], 2, "kubeconfig file not found"),
])
def test_usage_errors(env, args, code, fragment, tmp_path):
    proc = eidos(*args, env={**env, "KUBECONFIG": str(tmp_path / "none")})
    assert proc.returncode == code, proc.stderr
    assert fragment in proc.stderr
    assert proc.stdout == ""  # refused before collecting anything


def test_format_flag_and_destination_flag(host, env, tmp_path):
    """The acceptance line of issue 9: -o is the format, --out the destination."""
    work = tmp_path / "work"
    work.mkdir()
    proc = eidos("--host-root", str(host), "--no-cluster", "-o", "json", "--out", "s.json", env=env, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""
    out = work / "s.json"
    assert json.loads(out.read_text())["kind"] == "Snapshot"
    assert [p.name for p in work.iterdir()] == ["s.json"]  # no file named "json"
    # -o yaml with a .json destination: the explicit format wins over the extension
    proc = eidos("--host-root", str(host), "--no-cluster", "-o", "yaml", "--out", str(out), env=env)
    assert proc.returncode == 0 and out.read_text().startswith("kind: Snapshot\n")


def test_deprecated_spellings_still_work_with_a_notice(host, env, tmp_path):
    legacy = tmp_path / "legacy.json"
    proc = eidos("--host-root", str(host), "--no-cluster", "-o", str(legacy), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"eidos: warning: -o as a destination is deprecated; use --out {legacy}\n"
    assert json.loads(legacy.read_text())["kind"] == "Snapshot"  # format still from the extension
    proc = eidos("--host-root", str(host), "--no-cluster", "--format", "json", "-o", str(tmp_path / "f.out"),
                 env=env)
    assert proc.returncode == 0, proc.stderr
    assert "--format is deprecated; use -o json" in proc.stderr
    assert json.loads((tmp_path / "f.out").read_text())["kind"] == "Snapshot"
    # a near-miss of a format is still a destination for now, but the notice says what was meant
    proc = eidos("--host-root", str(host), "--no-cluster", "-o", "jsn", env={**env}, cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "jsn").is_file()
    assert "use --out jsn" in proc.stderr and "if you meant the format, use -o json" in proc.stderr


def test_deprecation_notice_quotes_the_destination(host, env, tmp_path):
    odd = tmp_path / "my snap.yaml"
    proc = eidos("--host-root", str(host), "--no-cluster", "-o", str(odd), env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"use --out '{odd}'" in proc.stderr and odd.is_file()


def test_unwritable_output_is_environment_failure(host, env, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = eidos("--host-root", str(host), "--no-cluster", "--out", str(blocker / "x.yaml"), env=env)
    assert proc.returncode == 3 and "cannot write" in proc.stderr


def test_unreachable_cluster_for_cm_output(host, env, tmp_path):
    cfg = tmp_path / "kc"
    cfg.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: s3cr3t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    proc = eidos("--host-root", str(host), "--kubeconfig", str(cfg), "--collector-timeout", "2",
                 "--out", "cm://gpu-operator/snap", env=env)
    assert proc.returncode == 3 and "unreachable" in proc.stderr and "s3cr3t" not in proc.stderr


def test_local_snapshot_with_cluster_and_fake_gpu(host, env, kube, clean_env, tmp_path):
    make_exe(clean_env, "nvidia-smi", f'exec /bin/cat "{FIXTURES / "nvidia-smi" / "cns-sample-q-x.xml"}"\n')
    kube.add_object("v1/nodes", None, NODE["metadata"]["name"], NODE)
    env = {**env, "KUBECONFIG": str(kube.kubeconfig), "NODE_NAME": NODE["metadata"]["name"]}
    proc = eidos("--host-root", str(host), "--out", "cm://gpu-operator/snap", env=env)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "eidos", "snapshot", "--no-cluster", "--host-root", str(host)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0
    from eidos.snapshot.cluster import Cluster

    snap = load_snapshot("cm://gpu-operator/snap",
                         cluster_factory=lambda: Cluster.connect(str(kube.kubeconfig)))
    assert snap.lookup(("GPU", "smi", "gpu-count")) == 8
    assert snap.lookup(("K8s", "server", "version")) == "v1.33.5-eks-3025e55"
    assert snap.lookup(("K8s", "node", "os-image")) == "Ubuntu 22.04.5 LTS"
    assert snap.source_node == NODE["metadata"]["name"]


def test_deploy_agent_end_to_end(env, kube, tmp_path):
    kube.add_object("v1/nodes", None, NODE["metadata"]["name"], NODE)
    env = {**env, "KUBECONFIG": str(kube.kubeconfig)}
    out = tmp_path / "agent.json"
    with FakeKubelet(kube, "complete", node_snapshot_text()):
        proc = eidos("--deploy-agent", "--image", "eidos:dev", "--node-selector", "nvidia.com/gpu.present=true",
                     "--toleration", "nvidia.com/gpu:NoSchedule", "--timeout", "20", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    snap = load_snapshot(str(out))
    assert snap.lookup(("OS", "release", "VERSION_ID")) == "22.04"  # from the agent
    assert snap.lookup(("K8s", "node", "kernel-version")) == "6.8.0-1028-aws"  # from the CLI
    assert snap.collector("k8s-server").status == "ok"
    assert proc.stderr == ""  # not a TTY: quiet
    assert all(not objs for objs in _leftovers(kube).values())


def test_deploy_agent_timeout_exit_3(env, kube):
    env = {**env, "KUBECONFIG": str(kube.kubeconfig)}
    with FakeKubelet(kube, "hang"):
        proc = eidos("--deploy-agent", "--image", "eidos:dev", "--timeout", "1", env=env)
    assert proc.returncode == 3 and "did not finish within 1s" in proc.stderr
    assert all(not objs for objs in _leftovers(kube).values())
