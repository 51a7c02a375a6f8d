"""The real-cluster tier's own wiring, checked against a fake ``kubectl``/``helm``.

The tier cannot run here (no cluster), but what decides whether it is trustworthy can:
that it installs every release of the bundle through the bundle's own ``deploy.sh``, finds
them with ``helm list``, and leaves the cluster as it found it, also when a deploy fails
half way. tests/realcluster/fakecluster.py keeps a cluster's state in a JSON file and
accepts only the commands the scripts and the harness really run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.realcluster import harness

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
INITIAL = {"namespaces": ["default", "kube-system"], "crds": [], "releases": {}}


def _fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("kubectl", "helm"):
        # the fake dispatches on the name it is run as (argv[0]): kubectl or helm
        (bin_dir / tool).symlink_to(HERE / "fakecluster.py")
    return bin_dir


def _run_tier(tmp_path: Path, *select: str, **env_extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    state = tmp_path / "cluster.json"
    state.write_text(json.dumps(INITIAL))
    env = dict(os.environ)
    env.update({
        "PATH": f"{_fake_bin(tmp_path)}{os.pathsep}{env['PATH']}",
        "FAKE_CLUSTER_STATE": str(state),
        harness.KUBECONFIG_ENV: str(tmp_path / "kubeconfig"),
        harness.TIMEOUT_ENV: "1m",
        harness.FACTS_ENV: "--service eks --accelerator gb200 --intent training --os ubuntu",
    })
    env.pop(harness.GIT_PUSH_ENV, None)
    env.update(env_extra)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         str(HERE / "test_real_cluster.py"), *select],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return result, json.loads(state.read_text())


def test_tier_deploys_every_release_and_leaves_the_cluster_as_found(tmp_path):
    result, state = _run_tier(tmp_path, "-k", "deploy_sh or tools_resolve or argocd or flux")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "3 passed" in out, out
    # the GitOps variants say why they did not run instead of passing
    assert "no applications.argoproj.io CRD" in out, out
    assert "no helmreleases.helm.toolkit.fluxcd.io CRD" in out, out
    assert state == INITIAL


def test_failed_deploy_fails_the_test_and_still_cleans_up(tmp_path):
    result, state = _run_tier(tmp_path, "-k", "script", FAKE_FAIL_INSTALL="gpu-operator")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "context deadline exceeded waiting for gpu-operator" in out, out
    # cert-manager was installed before the failure; undeploy and restore removed it
    assert state == INITIAL


def test_without_kubeconfig_the_tier_skips_visibly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != harness.KUBECONFIG_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         str(HERE / "test_real_cluster.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout
    assert "skipped" in result.stdout and harness.KUBECONFIG_ENV in result.stdout, result.stdout
    assert "passed" not in result.stdout


@pytest.mark.parametrize("text, seconds", [("15m", 900), ("90s", 90), ("1h", 3600), ("30", 30)])
def test_timeout_durations(text, seconds):
    tier = harness.Tier("k", (), text, None, None)
    assert tier.seconds() == seconds


def test_bad_timeout_is_refused():
    with pytest.raises(ValueError, match="EIDOS_TEST_TIMEOUT"):
        harness.Tier("k", (), "soon", None, None).seconds()
