"""Drives a real cluster for the opt-in deployment tier (docs/testing.md, "Real clusters").

Everything here talks to the cluster through the tools a platform team uses (``kubectl``,
``helm``, ``git``), with ``KUBECONFIG`` pointing at ``EIDOS_TEST_KUBECONFIG`` and nothing
else: the tier proves that a bundle installs with the commands its README prints, so it
must not take shortcuts through eidos' own code.

The harness records what the cluster holds before a test (namespaces, CRDs, Helm
releases) and, whatever happens in the test, removes what appeared after it: the test
cluster is left as it was found, and a failed deploy never leaves half a GPU stack behind.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import attrs

#: environment of the tier: the kubeconfig is the switch, the rest has defaults
KUBECONFIG_ENV = "EIDOS_TEST_KUBECONFIG"
FACTS_ENV = "EIDOS_TEST_FACTS"
TIMEOUT_ENV = "EIDOS_TEST_TIMEOUT"
GIT_PUSH_ENV = "EIDOS_TEST_GIT_PUSH"
GIT_URL_ENV = "EIDOS_TEST_GIT_URL"
DEFAULT_FACTS = "--service self-managed --intent inference"
DEFAULT_TIMEOUT = "15m"


class ToolFailed(AssertionError):
    """A command of the tier failed; the message carries its output for the test report."""


@attrs.frozen
class Tier:
    """The tier's settings, read once from the environment."""

    kubeconfig: str
    facts: tuple[str, ...]
    timeout: str
    git_push: str | None
    git_url: str | None

    @classmethod
    def from_env(cls, env: dict[str, str]) -> "Tier | None":
        kubeconfig = env.get(KUBECONFIG_ENV)
        if not kubeconfig:
            return None
        return cls(
            kubeconfig=kubeconfig,
            facts=tuple(shlex.split(env.get(FACTS_ENV) or DEFAULT_FACTS)),
            timeout=env.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT,
            git_push=env.get(GIT_PUSH_ENV) or None,
            git_url=env.get(GIT_URL_ENV) or env.get(GIT_PUSH_ENV) or None,
        )

    def env(self) -> dict[str, str]:
        out = dict(os.environ)
        out["KUBECONFIG"] = self.kubeconfig
        return out

    def seconds(self) -> int:
        """``15m`` / ``900s`` / ``1h`` -> seconds (Helm's duration syntax, the common cases)."""
        text = self.timeout.strip()
        units = {"s": 1, "m": 60, "h": 3600}
        if text[-1:] in units and text[:-1].isdigit():
            return int(text[:-1]) * units[text[-1]]
        if text.isdigit():
            return int(text)
        raise ValueError(f"{TIMEOUT_ENV}={self.timeout!r}: use a duration such as 15m")


def missing_tools(*names: str) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


def run(tier: Tier, argv: list[str], *, cwd: Path | None = None, check: bool = True,
        timeout: int | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, env=tier.env(), capture_output=True, text=True,
                            timeout=timeout or tier.seconds() + 300)
    if check and result.returncode != 0:
        raise ToolFailed(f"{shlex.join(argv)} exited {result.returncode}\n"
                         f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}")
    return result


def kubectl_json(tier: Tier, *args: str) -> dict:
    return json.loads(run(tier, ["kubectl", *args, "-o", "json"]).stdout or "{}")


def names(tier: Tier, kind: str) -> set[str]:
    """Names of every object of a cluster-scoped kind (``namespaces``, ``crd``)."""
    return {item["metadata"]["name"] for item in kubectl_json(tier, "get", kind).get("items", [])}


def has_crd(tier: Tier, name: str) -> bool:
    return run(tier, ["kubectl", "get", "crd", name], check=False).returncode == 0


def helm_releases(tier: Tier) -> dict[tuple[str, str], dict]:
    """(namespace, release) -> ``helm list`` row, every namespace, every state."""
    out = run(tier, ["helm", "list", "--all-namespaces", "--all", "-o", "json"]).stdout
    return {(row["namespace"], row["name"]): row for row in json.loads(out or "[]")}


@attrs.frozen
class ClusterState:
    namespaces: frozenset[str]
    crds: frozenset[str]

    @classmethod
    def capture(cls, tier: Tier) -> "ClusterState":
        return cls(frozenset(names(tier, "namespaces")), frozenset(names(tier, "crd")))


def restore(tier: Tier, before: ClusterState) -> list[str]:
    """Delete the namespaces and CRDs that appeared since ``before``; returns what failed.

    Namespaces go first (their workloads may hold finalizers served by the CRDs' own
    controllers), then the CRDs. ``--wait`` bounds each deletion by the tier's timeout.
    """
    problems = []
    after = ClusterState.capture(tier)
    for ns in sorted(after.namespaces - before.namespaces):
        result = run(tier, ["kubectl", "delete", "namespace", ns, "--wait=true",
                            f"--timeout={tier.seconds()}s"], check=False)
        if result.returncode != 0:
            problems.append(f"namespace {ns}: {result.stderr.strip()}")
    for crd in sorted(after.crds - before.crds):
        result = run(tier, ["kubectl", "delete", "crd", crd, "--wait=true",
                            f"--timeout={tier.seconds()}s"], check=False)
        if result.returncode != 0:
            problems.append(f"crd {crd}: {result.stderr.strip()}")
    return problems


def expected_releases(bundle: Path) -> dict[str, dict]:
    """Component name -> its entry in the bundle's ``bundle.json`` (namespace, chart, version)."""
    doc = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
    return {c["name"]: c for c in doc["components"]}


def wait_for(predicate, seconds: int, what: str, poll: float = 10.0):
    """Poll ``predicate`` until it returns a truthy value; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(poll)
    raise ToolFailed(f"timed out after {seconds}s waiting for {what}")


def push_bundle(tier: Tier, bundle: Path, workdir: Path, branch: str, repo_path: str) -> None:
    """Commit the bundle under ``repo_path`` on a fresh ``branch`` of the test repository."""
    clone = workdir / "repo"
    run(tier, ["git", "clone", "--depth", "1", tier.git_push, str(clone)])
    run(tier, ["git", "checkout", "-b", branch], cwd=clone)
    target = clone / repo_path
    shutil.copytree(bundle, target)
    run(tier, ["git", "add", "--all"], cwd=clone)
    run(tier, ["git", "-c", "user.name=eidos-test", "-c", "user.email=eidos-test@invalid",
               "commit", "-q", "-m", f"eidos real-cluster test {branch}"], cwd=clone)
    run(tier, ["git", "push", "-q", "origin", branch], cwd=clone)


def delete_branch(tier: Tier, workdir: Path, branch: str) -> None:
    run(tier, ["git", "push", "-q", "origin", "--delete", branch], cwd=workdir / "repo", check=False)


def application_names(apps_dir: Path) -> list[str]:
    """Names of the Argo CD Applications an argocd bundle's ``apps/`` directory declares."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    out = []
    for path in sorted(apps_dir.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "Application":
                out.append(doc["metadata"]["name"])
    return sorted(out)
