"""K8s.helm (Helm release Secrets, opt-in) and K8s.dra (ComputeDomain readiness), through the
real ``kubernetes`` client against the kmock API emulator on loopback, and end to end:
``eidos snapshot --helm-releases`` then ``eidos validate`` gives ``component:<name>`` verdicts."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_cluster_agent import NODE, connect, pod

from eidos.snapshot.collectors import helm as helm_mod
from eidos.snapshot.collectors.helm import ReleaseError, decode_release, values_digest
from eidos.snapshot.collectors.k8s import collect_cluster, hugepage_counts, quantity_bytes
from eidos.snapshot.model import Snapshot

ROOT = Path(__file__).resolve().parents[2]
NODE_NAME = NODE["metadata"]["name"]


def _register(kube, *resources):
    import kmock

    def add():
        for res, kind, namespaced in resources:
            kube.emulator.resources[res] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)

    kube.call(add)


def _helm_field(release: dict, *, compress: bool = True) -> str:
    """What the API returns in ``data.release``: base64 (Secret data) of Helm's
    base64(gzip(JSON)) — helm v3.21.4 pkg/storage/driver/util.go encodeRelease."""
    raw = json.dumps(release).encode()
    body = gzip.compress(raw) if compress else raw
    return base64.b64encode(base64.b64encode(body)).decode()


def release_secret(name, ns, rev, status, chart, version, app_version=None, config=None, *,
                   field=None, secret_type="helm.sh/release.v1"):
    release = {
        "name": name, "namespace": ns, "version": rev,
        "info": {"status": status},
        "chart": {"metadata": {"name": chart, "version": version, **({"appVersion": app_version} if app_version else {})},
                  "templates": [{"name": "templates/x.yaml", "data": base64.b64encode(b"kind: X").decode()}]},
        "config": config or {},
        "manifest": "---\nkind: X\n",
    }
    return {
        "apiVersion": "v1", "kind": "Secret", "type": secret_type,
        "metadata": {"name": f"sh.helm.release.v1.{name}.v{rev}", "namespace": ns,
                     "labels": {"owner": "helm", "name": name, "status": status, "version": str(rev)}},
        "data": {"release": field if field is not None else _helm_field(release)},
    }


def _add_secret(kube, secret):
    kube.add_object("v1/secrets", secret["metadata"]["namespace"], secret["metadata"]["name"], secret)


SECRETS = (
    ("v1/secrets", "Secret", True),
)


def _seed_releases(kube):
    _register(kube, *SECRETS)
    # gpu-operator: revision 1 superseded, revision 2 deployed -> only revision 2 is recorded
    _add_secret(kube, release_secret("gpu-operator", "gpu-operator", 1, "superseded", "gpu-operator", "v25.3.0"))
    _add_secret(kube, release_secret("gpu-operator", "gpu-operator", 2, "deployed", "gpu-operator", "v25.10.1",
                                     "v25.10.1", {"driver": {"version": "580.82.07"}}))
    _add_secret(kube, release_secret("cert-manager", "cert-manager", 3, "deployed", "cert-manager", "v1.16.0", "v1.16.0"))
    # the same release name in two namespaces: keyed <namespace>/<name>
    _add_secret(kube, release_secret("metrics", "team-a", 1, "deployed", "prometheus-adapter", "4.0.0"))
    _add_secret(kube, release_secret("metrics", "team-b", 1, "deployed", "prometheus-adapter", "5.0.0"))
    # a Secret that only looks like Helm's (wrong type): never decoded
    _add_secret(kube, release_secret("impostor", "default", 1, "deployed", "impostor", "9.9.9", secret_type="Opaque"))


def test_helm_releases_through_the_client(kube):
    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    _seed_releases(kube)
    m, statuses = collect_cluster(lambda: connect(kube), node_name=NODE_NAME, helm=True)
    by = {s.name: s for s in statuses}
    assert by["k8s-helm"].status == "ok" and by["k8s-helm"].reason is None
    data = Snapshot(measurements=(m,)).lookup(("K8s", "helm"))
    assert data["gpu-operator.version"] == "v25.10.1"  # the deployed revision, not the superseded one
    assert data["gpu-operator.revision"] == "2" and data["gpu-operator.status"] == "deployed"
    assert data["gpu-operator.chart"] == "gpu-operator" and data["gpu-operator.namespace"] == "gpu-operator"
    assert data["gpu-operator.appVersion"] == "v25.10.1"
    assert data["gpu-operator.values-digest"] == values_digest({"driver": {"version": "580.82.07"}})
    assert data["cert-manager.version"] == "v1.16.0" and "cert-manager.appVersion" in data
    assert data["team-a/metrics.version"] == "4.0.0" and data["team-b/metrics.version"] == "5.0.0"
    assert "metrics.version" not in data
    assert not any(k.startswith("impostor") for k in data)
    # no value of the release leaks into the snapshot, only its digest
    assert "580.82.07" not in json.dumps(data)


def test_helm_is_opt_in(kube):
    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    _seed_releases(kube)
    m, statuses = collect_cluster(lambda: connect(kube), node_name=NODE_NAME)
    by = {s.name: s for s in statuses}
    assert by["k8s-helm"].status == "unavailable" and "--helm-releases" in by["k8s-helm"].reason
    assert m.subtype("helm") is None


def test_gzip_bomb_is_refused_by_name(kube, monkeypatch):
    _register(kube, *SECRETS)
    bomb = base64.b64encode(base64.b64encode(gzip.compress(b"{" + b" " * (8 * 1024 * 1024) + b"}"))).decode()
    _add_secret(kube, release_secret("bomb", "default", 1, "deployed", "x", "1.0.0", field=bomb))
    _add_secret(kube, release_secret("ok", "default", 1, "deployed", "ok", "1.0.0"))
    monkeypatch.setattr(helm_mod, "MAX_JSON", 1024 * 1024)
    m, statuses = collect_cluster(lambda: connect(kube), helm=True)
    st = {s.name: s for s in statuses}["k8s-helm"]
    assert st.status == "ok"
    assert "default/sh.helm.release.v1.bomb.v1" in st.reason and "gzip bomb" in st.reason
    assert m.subtype("helm").data["ok.version"] == "1.0.0"
    assert not any(k.startswith("bomb") for k in m.subtype("helm").data)


def test_secret_list_failure_fails_only_the_helm_part(kube):

    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    # no secrets resource registered: the emulator answers 404, which is a failure here
    m, statuses = collect_cluster(lambda: connect(kube), node_name=NODE_NAME, helm=True)
    by = {s.name: s for s in statuses}
    assert by["k8s-helm"].status == "failed" and "list secrets" in by["k8s-helm"].reason
    assert by["k8s-nodes"].status == "ok"


@pytest.mark.parametrize("field, fragment", [
    ("not base64!", "not base64"),
    (base64.b64encode(b"%%%").decode(), "not base64"),
    (base64.b64encode(base64.b64encode(b"\x1f\x8b\x08garbage")).decode(), "not valid gzip"),
    (base64.b64encode(base64.b64encode(b"[1, 2]")).decode(), "not an object"),
    (base64.b64encode(base64.b64encode(b"{no json")).decode(), "not JSON"),
    ("A" * (helm_mod.MAX_ENCODED + 4), "over the"),
])
def test_bad_release_fields_are_named(field, fragment):
    with pytest.raises(ReleaseError, match=fragment):
        decode_release(field)


def test_uncompressed_releases_still_decode():
    # decodeRelease skips gunzip when the magic bytes are absent (releases stored before compression)
    assert decode_release(_helm_field({"name": "old"}, compress=False)) == {"name": "old"}


def test_values_digest_is_canonical():
    assert values_digest({"b": 1, "a": {"y": 2, "x": 1}}) == values_digest({"a": {"x": 1, "y": 2}, "b": 1})
    assert values_digest({"a": 1}) != values_digest({"a": 2})
    assert values_digest(None) == values_digest({})


def test_hugepage_quantities():
    assert quantity_bytes("2Gi") == 2 * 2**30 and quantity_bytes("0") == 0 and quantity_bytes("1.5Gi") is None
    assert hugepage_counts({"hugepages-2Mi": "10256Mi", "hugepages-1Gi": "2Gi", "cpu": "4"}) == {"1Gi": 2, "2Mi": 5128}
    assert hugepage_counts({"hugepages-2Mi": "x"}) == {}


DRA_RESOURCES = (
    ("resource.nvidia.com/v1beta1/computedomains", "ComputeDomain", True),
    ("resource.k8s.io/v1/resourceslices", "ResourceSlice", False),
)


def dra_pod(name, container, node, ready):
    p = pod("nvidia-dra-driver", name, ["nvcr.io/nvidia/k8s-dra-driver-gpu:v25.8.1"])
    p["spec"]["containers"][0]["name"] = container
    p["spec"]["nodeName"] = node
    p["status"] = {"containerStatuses": [{"name": container, "ready": ready}]}
    return p


def _seed_dra(kube, plugin_ready=True, slices=True):
    _register(kube, *DRA_RESOURCES)
    kube.add_object("v1/pods", "nvidia-dra-driver", "ctrl", dra_pod("ctrl", "compute-domain", "cpu-node", True))
    kube.add_object("v1/pods", "nvidia-dra-driver", "plugin", dra_pod("plugin", "compute-domains", NODE_NAME, plugin_ready))
    if slices:
        kube.add_object("resource.k8s.io/v1/resourceslices", None, "s1", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "s1"},
            "spec": {"driver": "compute-domain.nvidia.com", "nodeName": NODE_NAME, "pool": {"name": NODE_NAME}}})
    kube.add_object("resource.k8s.io/v1/resourceslices", None, "s2", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "s2"},
        "spec": {"driver": "gpu.nvidia.com", "nodeName": NODE_NAME, "pool": {"name": NODE_NAME}}})


def test_dra_ready(kube):
    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    _seed_dra(kube)
    m, statuses = collect_cluster(lambda: connect(kube), node_name=NODE_NAME)
    assert {s.name: s.status for s in statuses}["k8s-dra"] == "ok"
    assert m.subtype("dra").data == {
        "computedomain-crd": True, "compute-domain-slices": 1, "compute-domain-slices-on-node": 1,
        "controller-pods": 1, "controller-ready": 1, "kubelet-plugin-on-node": True,
        "kubelet-plugin-pods": 1, "kubelet-plugin-ready": 1, "kubelet-plugin-ready-on-node": True,
    }


def test_dra_not_ready_and_not_installed(kube):
    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    _seed_dra(kube, plugin_ready=False, slices=False)
    m, _ = collect_cluster(lambda: connect(kube), node_name=NODE_NAME)
    dra = m.subtype("dra").data
    assert dra["kubelet-plugin-ready-on-node"] is False and dra["compute-domain-slices-on-node"] == 0


def test_dra_absent_cluster(kube):
    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    m, statuses = collect_cluster(lambda: connect(kube), node_name=NODE_NAME)
    st = {s.name: s for s in statuses}["k8s-dra"]
    assert st.status == "ok" and "ResourceSlices not served" in st.reason
    assert m.subtype("dra").data["computedomain-crd"] is False
    assert m.subtype("dra").data["kubelet-plugin-on-node"] is False


def _run(*args, env):
    proc = subprocess.run([sys.executable, "-m", "eidos", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_end_to_end_snapshot_then_component_verdicts(kube, host, clean_env, tmp_path, monkeypatch):
    import os

    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    _seed_releases(kube)
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig), "NODE_NAME": NODE_NAME,
           "EIDOS_NO_CACHE": "1"}
    env.pop("CI", None)
    out = tmp_path / "snap.yaml"
    proc = _run("snapshot", "--host-root", str(host), "--helm-releases", "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    proc = _run("validate", "--snapshot", str(out), "--service", "eks", "--accelerator", "h100",
                "--intent", "training", "-o", "json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    verdicts = {v["id"]: v for n in doc["nodes"] for v in n["verdicts"]}
    # gpu-operator v25.10.1 deployed, the catalog pins v25.10.1: pass, read from K8s.helm
    assert verdicts["component:gpu-operator"]["status"] == "pass"
    assert "K8s.helm" in verdicts["component:gpu-operator"]["expr"]
    # cert-manager v1.16.0 deployed where the recipe pins another version: a warning
    assert verdicts["component:cert-manager"]["status"] == "warn"


class _Pages:
    """A stand-in for Cluster.list_secrets_paged: yields the given pages, records the selectors."""

    def __init__(self, *pages):
        self.pages = pages
        self.asked = None

    def list_secrets_paged(self, label_selector, field_selector=None, *, page=20):
        self.asked = (label_selector, field_selector, page)
        yield from self.pages


def test_highest_deployed_revision_wins_across_pages():
    newer = release_secret("app", "ns", 7, "deployed", "app", "2.0.0")
    older = release_secret("app", "ns", 6, "deployed", "app", "1.0.0")
    cluster = _Pages([newer], [older])
    data, note = helm_mod.collect_helm(cluster)
    assert data["app.version"] == "2.0.0" and data["app.revision"] == "7" and note is None
    assert cluster.asked == ("owner=helm,status=deployed", "type=helm.sh/release.v1", 20)
    data, _ = helm_mod.collect_helm(_Pages([older], [newer]))
    assert data["app.version"] == "2.0.0"


def test_secret_count_is_bounded():
    pages = [[release_secret(f"r{i}", "ns", 1, "deployed", "c", "1.0.0")] for i in range(5)]
    data, note = helm_mod.collect_helm(_Pages(*pages), max_secrets=3)
    assert sorted(k for k in data if k.endswith(".version")) == ["r0.version", "r1.version", "r2.version"]
    assert "more than 3" in note


def test_no_releases_is_a_note():
    data, note = helm_mod.collect_helm(_Pages([]))
    assert data == {} and "no deployed Helm releases" in note


def test_deploy_agent_with_helm_releases_then_validate(kube, clean_env, tmp_path):
    """eidos' own agent path: the CLI reads the releases with the operator's identity, the
    agent pod (its Role) never asks for a Secret; validate then judges the components."""
    import os

    from test_cluster_agent import FakeKubelet, _leftovers, node_snapshot_text

    kube.add_object("v1/nodes", None, NODE_NAME, NODE)
    _seed_releases(kube)
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig), "EIDOS_NO_CACHE": "1"}
    env.pop("CI", None)
    out = tmp_path / "agent.yaml"
    with FakeKubelet(kube, "complete", node_snapshot_text()) as kubelet:
        proc = _run("snapshot", "--deploy-agent", "--image", "eidos:dev", "--helm-releases", "--timeout", "20",
                    "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert kubelet.violations == []
    assert all(not objs for objs in _leftovers(kube).values())
    proc = _run("validate", "--snapshot", str(out), "--service", "eks", "--accelerator", "h100",
                "--intent", "training", "-o", "json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    verdicts = {v["id"]: v for n in json.loads(proc.stdout)["nodes"] for v in n["verdicts"]}
    assert verdicts["component:gpu-operator"]["status"] == "pass"
    assert verdicts["component:cert-manager"]["status"] == "warn"
    assert verdicts["component:cert-manager"]["actual"] == {'K8s.helm["cert-manager.version"]': "v1.16.0"}


def test_hostile_values_do_not_break_the_digest():
    # a lone surrogate escape is valid JSON but not encodable UTF-8
    raw = b'{"name": "x", "config": {"k": "\\ud800", "deep": [[[1]]]}}'
    field = base64.b64encode(base64.b64encode(gzip.compress(raw))).decode()
    release = decode_release(field)
    assert values_digest(release["config"]).startswith("sha256:")
    assert values_digest({"k": "é"}) != values_digest({"k": "e"})
