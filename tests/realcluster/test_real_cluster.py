"""Opt-in: deploy real bundles on a real cluster, wait for them, remove everything.

Skipped (visibly, with the reason) unless ``EIDOS_TEST_KUBECONFIG`` names a kubeconfig;
its current context is the cluster used. How a platform team runs it on EKS, GKE, AKS and
OKE, and what each variable does: docs/testing.md, "Real clusters".

Each test captures the cluster's namespaces and CRDs first and, pass or fail, uninstalls
what it installed and deletes the namespaces and CRDs that appeared during the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.realcluster import harness

TIER = harness.Tier.from_env(dict(os.environ))

pytestmark = pytest.mark.skipif(
    TIER is None, reason=f"real-cluster tier: set {harness.KUBECONFIG_ENV} to run it (docs/testing.md)"
)


def _needs(*tools: str) -> None:
    missing = harness.missing_tools(*tools)
    if missing:
        pytest.skip(f"real-cluster tier needs {', '.join(missing)} on PATH")


def _eidos_bundle(tmp_path: Path, deployer: str, *extra: str) -> Path:
    out = tmp_path / f"bundle-{deployer}"
    argv = [sys.executable, "-m", "eidos", "bundle", *TIER.facts, "-d", deployer,
            "--out", str(out), *extra]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def clean_cluster():
    """The cluster's state before the test; afterwards, what appeared is deleted."""
    _needs("kubectl", "helm")
    before = harness.ClusterState.capture(TIER)
    yield before
    problems = harness.restore(TIER, before)
    assert not problems, "cleanup left objects behind:\n" + "\n".join(problems)


def _release_rows(bundle: Path) -> dict[str, dict]:
    rows = harness.helm_releases(TIER)
    found = {}
    for name, comp in harness.expected_releases(bundle).items():
        row = rows.get((comp["namespace"], name))
        if row is not None:
            found[name] = row
    return found


@pytest.mark.parametrize("deployer", ["script", "helm"])
def test_deploy_sh_installs_every_release_and_undeploy_removes_them(deployer, tmp_path, clean_cluster):
    bundle = _eidos_bundle(tmp_path, deployer)
    expected = harness.expected_releases(bundle)
    try:
        harness.run(TIER, ["bash", "deploy.sh", "--yes", "--timeout", TIER.timeout], cwd=bundle,
                    timeout=TIER.seconds() * (len(expected) + 1))
        rows = _release_rows(bundle)
        for name, comp in expected.items():
            assert name in rows, f"{name}: no Helm release in namespace {comp['namespace']}"
            assert rows[name]["status"] == "deployed", (name, rows[name])
            if comp.get("type") == "helm":
                # helm list prints "<chart>-<version>"
                assert rows[name]["chart"].endswith("-" + comp["version"].lstrip("v")) or rows[name][
                    "chart"
                ].endswith("-" + comp["version"]), (name, rows[name]["chart"], comp["version"])
    finally:
        harness.run(TIER, ["bash", "undeploy.sh", "--yes", "--timeout", TIER.timeout], cwd=bundle,
                    check=False, timeout=TIER.seconds() * (len(expected) + 1))
    assert _release_rows(bundle) == {}, "undeploy.sh left releases behind"


def _gitops(tmp_path: Path, deployer: str, crd: str):
    _needs("kubectl", "helm", "git")
    if not harness.has_crd(TIER, crd):
        pytest.skip(f"{deployer}: the cluster has no {crd} CRD (controller not installed)")
    if TIER.git_push is None:
        pytest.skip(f"{deployer}: set {harness.GIT_PUSH_ENV} to a Git repository the test may push to")
    run_id = uuid.uuid4().hex[:8]
    return run_id, f"eidos-test-{run_id}", f"eidos-test/{run_id}"


def test_argocd_app_of_apps_syncs_and_prunes(tmp_path, clean_cluster):
    run_id, branch, repo_path = _gitops(tmp_path, "argocd", "applications.argoproj.io")
    prefix = f"t{run_id}-"
    bundle = _eidos_bundle(tmp_path, "argocd", "--repo", TIER.git_url, "--revision", branch,
                           "--repo-path", repo_path, "--name-prefix", prefix)
    apps = harness.application_names(bundle / "apps")
    assert apps and all(a.startswith(prefix) for a in apps), apps
    harness.push_bundle(TIER, bundle, tmp_path, branch, repo_path)
    parent = bundle / "app-of-apps.yaml"
    try:
        harness.run(TIER, ["kubectl", "apply", "-n", "argocd", "-f", str(parent)])

        def healthy():
            items = harness.kubectl_json(TIER, "get", "applications.argoproj.io", "-n", "argocd")
            states = {i["metadata"]["name"]: (i.get("status", {}).get("sync", {}).get("status"),
                                              i.get("status", {}).get("health", {}).get("status"))
                      for i in items.get("items", [])}
            return all(states.get(name) == ("Synced", "Healthy") for name in apps)

        harness.wait_for(healthy, TIER.seconds() * 2, "every Application Synced and Healthy")
    finally:
        harness.run(TIER, ["kubectl", "delete", "-n", "argocd", "-f", str(parent), "--wait=true",
                           f"--timeout={TIER.seconds()}s"], check=False)
        harness.wait_for(
            lambda: not {i["metadata"]["name"] for i in harness.kubectl_json(
                TIER, "get", "applications.argoproj.io", "-n", "argocd").get("items", [])} & set(apps),
            TIER.seconds(), "the Applications to be pruned", poll=5.0)
        harness.delete_branch(TIER, tmp_path, branch)


def test_flux_helmreleases_become_ready_and_prune(tmp_path, clean_cluster):
    run_id, branch, repo_path = _gitops(tmp_path, "flux", "helmreleases.helm.toolkit.fluxcd.io")
    bundle = _eidos_bundle(tmp_path, "flux", "--repo", TIER.git_url, "--revision", branch,
                           "--repo-path", repo_path)
    expected = harness.expected_releases(bundle)
    harness.push_bundle(TIER, bundle, tmp_path, branch, repo_path)
    bootstrap = bundle / "bootstrap.yaml"
    try:
        harness.run(TIER, ["kubectl", "apply", "-f", str(bootstrap)])

        def ready():
            items = harness.kubectl_json(TIER, "get", "helmreleases.helm.toolkit.fluxcd.io", "-A")
            status = {i["metadata"]["name"]: any(c.get("type") == "Ready" and c.get("status") == "True"
                                                 for c in i.get("status", {}).get("conditions", []))
                      for i in items.get("items", [])}
            return all(status.get(name) for name in expected)

        harness.wait_for(ready, TIER.seconds() * 2, "every HelmRelease Ready")
    finally:
        # deleting the root Kustomization prunes what it applied (prune: true)
        harness.run(TIER, ["kubectl", "delete", "-f", str(bootstrap), "--wait=true",
                           f"--timeout={TIER.seconds()}s"], check=False)
        harness.wait_for(lambda: _release_rows(bundle) == {}, TIER.seconds(),
                         "Flux to uninstall the releases", poll=5.0)
        harness.delete_branch(TIER, tmp_path, branch)


def test_tier_tools_resolve():
    """With the tier on, a missing tool is a visible skip, not a silent pass."""
    for tool in ("kubectl", "helm"):
        if shutil.which(tool) is None:
            pytest.skip(f"real-cluster tier needs {tool} on PATH")
    result = harness.run(TIER, ["kubectl", "version", "-o", "json"], check=False)
    assert result.returncode == 0, f"the cluster of {TIER.kubeconfig} is not reachable: {result.stderr}"
