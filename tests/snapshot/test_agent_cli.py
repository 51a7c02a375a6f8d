"""``eidos snapshot --deploy-agent`` interrupted by a signal, and ``--cleanup RUN|all``: in a
subprocess against kmock, checking what is left in the emulator afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cluster_agent import FakeKubelet, _leftovers, _plant_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(clean_env, kube):
    e = dict(os.environ)
    e.pop("CI", None)
    e["KUBECONFIG"] = str(kube.kubeconfig)
    return e


def eidos(*args, env, timeout=60):
    proc = subprocess.run([sys.executable, "-m", "eidos", "snapshot", *args],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_mid_run_leaves_nothing(kube, env, signum):
    with FakeKubelet(kube, "hang"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "eidos", "snapshot", "--deploy-agent", "--image", "eidos:dev",
             "--timeout", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        try:
            # the agent's pod is 'running': every object of the run exists now
            assert _wait_for(lambda: kube.live("v1/pods")), "the agent Job never started"
            assert all(_leftovers(kube).values())
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 128 + signum, err
    assert f"interrupted ({signal.Signals(signum).name})" in err and "Traceback" not in err
    assert out == ""
    left = _leftovers(kube)
    assert all(not objs for objs in left.values()), left


def cli(*args, kube, capsys):
    """In process (a subprocess per call costs seconds on a busy machine)."""
    from eidos.cli.main import main

    code = main(["snapshot", *args, "--kubeconfig", str(kube.kubeconfig)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_cleanup_run_and_all_remove_planted_leftovers(kube, env):
    first = _plant_run(kube, "gpu-operator", "a1b2c3")
    _plant_run(kube, "gpu-operator", "d4e5f6")
    proc = eidos("--cleanup", "a1b2c3", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"deleted Job gpu-operator/{first.job_name}" in proc.stderr
    assert f"deleted ServiceAccount gpu-operator/{first.agent_name}" in proc.stderr
    assert proc.stdout == ""
    remaining = {name for objs in _leftovers(kube).values() for (_, name) in objs}
    assert remaining and all(name.endswith("d4e5f6") for name in remaining)
    proc = eidos("--cleanup", "all", env=env)
    assert proc.returncode == 0, proc.stderr
    assert all(not objs for objs in _leftovers(kube).values())


def test_cleanup_in_process_namespaces_and_bad_values(kube, capsys):
    assert cli("--cleanup", "all", kube=kube, capsys=capsys)[::2] == (
        0, "eidos: no agent objects of any run in gpu-operator\n")
    _plant_run(kube, "gpu-system", "0a0b0c")
    code, out, err = cli("--cleanup", "0a0b0c", kube=kube, capsys=capsys)
    assert (code, out) == (0, "") and "no agent objects of run 0a0b0c in gpu-operator" in err
    assert all(_leftovers(kube).values())  # wrong namespace: untouched
    code, _, err = cli("--cleanup", "0a0b0c", "--namespace", "gpu-system", kube=kube, capsys=capsys)
    assert code == 0 and err.count("eidos: deleted ") == 5
    assert all(not objs for objs in _leftovers(kube).values())
    code, _, err = cli("--cleanup", "a,b", kube=kube, capsys=capsys)
    assert code == 2 and "expected a run id" in err
    code, _, err = cli("--cleanup", "all", "--deploy-agent", "--image", "x", kube=kube, capsys=capsys)
    assert code == 2 and "drop --deploy-agent" in err


def test_cleanup_unreachable_cluster_exit_3(tmp_path, capsys):
    from eidos.cli.main import main

    cfg = tmp_path / "kc"
    cfg.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    code = main(["snapshot", "--cleanup", "all", "--kubeconfig", str(cfg), "--collector-timeout", "2"])
    err = capsys.readouterr().err
    assert code == 3 and "could not delete Job in gpu-operator" in err and "Traceback" not in err
