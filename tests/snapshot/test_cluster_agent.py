"""Cluster module, K8s collector and the agent lifecycle: the real ``kubernetes`` client
against a kmock API emulator on loopback."""

from __future__ import annotations

import threading
import time

import pytest

from eidos.errors import EnvironmentFailure, InputError
from eidos.snapshot import io
from eidos.snapshot.agent import (
    RUN_LABEL,
    AgentFailed,
    AgentOptions,
    Progress,
    cleanup_plan,
    manifests,
    parse_node_selector,
    parse_toleration,
    run_agent,
)
from eidos.snapshot.cluster import Cluster, NotFound, Unreachable
from eidos.snapshot.collectors.k8s import collect_cluster, split_image
from eidos.snapshot.model import Measurement, Snapshot, Subtype

NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": "ip-10-0-160-248.ec2.internal",
        "labels": {
            "nvidia.com/gpu.product": "NVIDIA-GB200",
            "nvidia.com/gpu.count": "4",
            "node.kubernetes.io/instance-type": "p6e-gb200.36xlarge",
            "feature.node.kubernetes.io/cpu-cpuid.AVX": "true",
        },
    },
    "spec": {"providerID": "aws:///us-east-1-dfw-2a/i-03f2b75345f7ccfb4",
             "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
    "status": {
        "allocatable": {"cpu": "144", "nvidia.com/gpu": "4", "vpc.amazonaws.com/efa": "16"},
        "nodeInfo": {
            "kernelVersion": "6.8.0-1028-aws",
            "osImage": "Ubuntu 22.04.5 LTS",
            "operatingSystem": "linux",
            "architecture": "arm64",
            "kubeletVersion": "v1.33.5-eks-3025e55",
            "containerRuntimeVersion": "containerd://1.7.27",
        },
    },
}


def pod(ns, name, images, labels=None):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"containers": [{"name": f"c{i}", "image": img} for i, img in enumerate(images)]},
    }


def connect(kube) -> Cluster:
    return Cluster.connect(str(kube.kubeconfig), timeout=5)


def test_server_version_nodes_and_configmap_round_trip(kube):
    kube.add_object("v1/nodes", None, NODE["metadata"]["name"], NODE)
    cluster = connect(kube)
    assert "s3cr3t" not in repr(cluster)
    assert cluster.server_version()["gitVersion"] == "v1.33.5-eks-3025e55"
    assert [n["metadata"]["name"] for n in cluster.list_nodes()] == [NODE["metadata"]["name"]]
    with pytest.raises(NotFound):
        cluster.get_configmap("gpu-operator", "nope")
    snap = Snapshot(
        metadata={"source-node": "n1", "timestamp": "2026-01-01T00:00:00Z"},
        measurements=(Measurement("OS", (Subtype("release", {"VERSION_ID": "24.04", "n": 1}),)),),
    )
    io.write_snapshot(snap, "cm://gpu-operator/snap", cluster_factory=lambda: cluster)
    io.write_snapshot(snap, "cm://gpu-operator/snap", "json", cluster_factory=lambda: cluster)  # update
    cm = cluster.get_configmap("gpu-operator", "snap")
    assert cm["data"]["format"] == "json"
    back = io.load_snapshot("cm://gpu-operator/snap", cluster_factory=lambda: cluster)
    assert back == snap and back.lookup(("OS", "release", "VERSION_ID")) == "24.04"
    cluster.close()


def test_kubeconfig_problems_are_clear(tmp_path, kube):
    with pytest.raises(InputError, match="kubeconfig file not found"):
        Cluster.connect(str(tmp_path / "missing"))
    with pytest.raises(InputError) as info:
        Cluster.connect(str(kube.kubeconfig), context="no-such-context")
    assert "s3cr3t" not in info.value.message


def test_unreachable_server(tmp_path):
    cfg = tmp_path / "kc"
    cfg.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: s3cr3t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    cluster = Cluster.connect(str(cfg), timeout=2)
    with pytest.raises(Unreachable) as info:
        cluster.server_version()
    assert info.value.exit_code == 3 and "s3cr3t" not in info.value.message
    m, statuses = collect_cluster(lambda: cluster)
    assert m is None
    by = {s.name: s for s in statuses}
    assert by["k8s-server"].status == "failed"
    assert by["k8s-images"].status == "unavailable"


def test_k8s_collector(kube):
    kube.add_object("v1/nodes", None, NODE["metadata"]["name"], NODE)
    kube.add_object("v1/pods", "gpu-operator", "op", pod("gpu-operator", "op", [
        "nvcr.io/nvidia/gpu-operator:v25.3.3",
        "nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.8.0",
    ]))
    kube.add_object("v1/pods", "gpu-operator", "drv", pod("gpu-operator", "drv", [
        "nvcr.io/nvidia/driver:580.82.07-ubuntu22.04",
        "example.com/other/driver:1.0",  # same short name, other registry: both kept
        "registry.k8s.io/nfd/node-feature-discovery:v0.17.2@sha256:abcd",
    ]))
    kube.add_object("v1/pods", "gpu-operator", "agent", pod("gpu-operator", "agent", ["eidos:dev"], {RUN_LABEL: "x"}))
    kube.add_object("v1/pods", "default", "app", pod("default", "app", ["nginx:1.27"]))
    kube.add_object("nvidia.com/v1/clusterpolicies", None, "cluster-policy", {
        "apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"},
        "spec": {"driver": {"version": "580.82.07", "rdma": {"enabled": True}}, "cdi": {"enabled": True}},
    })
    m, statuses = collect_cluster(lambda: connect(kube), node_name=NODE["metadata"]["name"])
    assert {s.name: s.status for s in statuses} == dict.fromkeys(("k8s-server", "k8s-nodes", "k8s-images", "k8s-policy"), "ok")
    snap = Snapshot(measurements=(m,))
    assert snap.lookup(("K8s", "server", "version")) == "v1.33.5-eks-3025e55"
    assert snap.lookup(("K8s", "node", "provider")) == "eks"
    assert snap.lookup(("K8s", "node", "kubelet-version")) == "v1.33.5-eks-3025e55"
    assert snap.lookup(("K8s", "node", "container-runtime-version")) == "1.7.27"
    assert snap.lookup(("K8s", "node", "instance-type")) == "p6e-gb200.36xlarge"
    assert snap.lookup(("K8s", "node", "gpu-allocatable")) == 4
    assert snap.lookup(("K8s", "node", "allocatable", "vpc.amazonaws.com/efa")) == 16
    assert snap.lookup(("K8s", "node", "labels", "nvidia.com/gpu.product")) == "NVIDIA-GB200"
    assert snap.lookup(("K8s", "node", "labels", "feature.node.kubernetes.io/cpu-cpuid.AVX")) is not True
    assert snap.lookup(("K8s", "node", "taints")) == ["nvidia.com/gpu:NoSchedule"]
    assert snap.lookup(("K8s", "cluster", "gpu-allocatable")) == 4
    assert snap.lookup(("K8s", "cluster", "gpu-products")) == ["NVIDIA-GB200"]
    images = m.subtype("image").data
    assert images == {
        "nvcr.io/nvidia/gpu-operator": "v25.3.3",
        "nvcr.io/nvidia/cloud-native/k8s-driver-manager": "v0.8.0",
        "nvcr.io/nvidia/driver": "580.82.07-ubuntu22.04",
        "example.com/other/driver": "1.0",
        "registry.k8s.io/nfd/node-feature-discovery": "v0.17.2",
    }
    assert snap.lookup(("K8s", "policy", "driver", "version")) == "580.82.07"
    assert snap.lookup(("K8s", "policy", "driver", "rdma", "enabled")) is True


@pytest.mark.parametrize("ref, expected", [
    ("nginx", ("nginx", "latest")),
    ("nginx:1.21", ("nginx", "1.21")),
    ("localhost:5000/img", ("localhost:5000/img", "latest")),
    ("localhost:5000/img:v1", ("localhost:5000/img", "v1")),
    ("img@sha256:ab", ("img", "sha256:ab")),
])
def test_split_image(ref, expected):
    assert split_image(ref) == expected


def test_flag_parsing():
    assert parse_node_selector(["a=b", "k=v=w"]) == {"a": "b", "k": "v=w"}
    assert parse_toleration("k=v:NoSchedule") == {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}
    assert parse_toleration("k:NoExecute") == {"key": "k", "operator": "Exists", "effect": "NoExecute"}
    assert parse_toleration("*") == {"operator": "Exists"}
    for bad in ("k:Sometimes", ":NoSchedule", "=v"):
        with pytest.raises(EnvironmentFailure.__mro__[1]):
            parse_toleration(bad)
    with pytest.raises(EnvironmentFailure.__mro__[1]):
        parse_node_selector(["novalue"])


def test_manifests_are_least_privilege_and_per_run():
    opts = AgentOptions(image="registry.example/eidos:0.1.0", run_id="abc123")
    objs = manifests(opts)
    assert [o["kind"] for o in objs] == ["ServiceAccount", "Role", "RoleBinding", "Job"]
    assert all(o["metadata"]["namespace"] == "gpu-operator" for o in objs)  # nothing cluster-scoped
    assert all(o["metadata"]["name"].endswith("-abc123") for o in objs)
    role = objs[1]
    verbs = {v for r in role["rules"] for v in r["verbs"]}
    assert verbs == {"create", "get", "patch"} and {r["resources"][0] for r in role["rules"]} == {"configmaps"}
    pod_spec = objs[3]["spec"]["template"]["spec"]
    c = pod_spec["containers"][0]
    assert c["args"][:4] == ["snapshot", "--host-root", "/host", "--no-cluster"]
    assert c["args"][-2:] == ["-o", "cm://gpu-operator/eidos-snapshot-abc123"]
    assert {"name": "host", "mountPath": "/host", "readOnly": True, "mountPropagation": "HostToContainer"} in c["volumeMounts"]
    assert c["securityContext"]["privileged"] is False
    assert pod_spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    # the manifests are valid Kubernetes objects
    import kubernetes_validate

    for obj in objs:
        kubernetes_validate.validate(obj, "1.30", strict=True)


class FakeKubelet:
    """Plays job controller + kubelet: when the agent Job appears, it 'runs' it by writing the
    ConfigMap (as the agent would) and setting the Job's status, or failing it."""

    def __init__(self, kube, outcome: str, snapshot_text: str | None = None):
        self.kube, self.outcome, self.text = kube, outcome, snapshot_text
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def run(self):
        cluster = Cluster.connect(str(self.kube.kubeconfig), timeout=5)
        while not self.stop.is_set():
            jobs = self.kube.live("batch/v1/jobs")
            if jobs:
                (ns, name), job = next(iter(jobs.items()))
                labels = job["spec"]["template"]["metadata"]["labels"]
                pod_name = f"{name}-xyz"
                self.kube.add_object("v1/pods", ns, pod_name, {
                    **pod(ns, pod_name, ["eidos:dev"], dict(labels)), "status": {"phase": "Running"}})
                if self.outcome == "hang":
                    return
                cm = job["spec"]["template"]["spec"]["containers"][0]["args"][-1]
                if self.outcome == "complete":
                    cm_ns, cm_name = io.parse_cm_uri(cm)
                    cluster.put_configmap(cm_ns, cm_name, {"snapshot.yaml": self.text, "format": "yaml"})
                    cond = {"type": "Complete", "status": "True"}
                else:
                    cond = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                            "message": "Job has reached the specified backoff limit"}
                from kubernetes import client

                client.BatchV1Api(cluster._api).patch_namespaced_job_status(
                    name, ns, {"status": {"conditions": [cond]}}, _preload_content=False)
                return
            time.sleep(0.02)


def _add_pod_resource_and_log(kube, text="collector gpu: nvidia-smi exited with status 9"):
    import re as _re

    kube.call(lambda: kube.emulator["get", _re.compile(r".*/pods/[^/]+/log$")] << text.encode())


def _leftovers(kube):
    return {res: kube.live(res) for res in ("batch/v1/jobs", "v1/configmaps", "v1/serviceaccounts",
                                              "rbac.authorization.k8s.io/v1/roles",
                                              "rbac.authorization.k8s.io/v1/rolebindings")}


def agent_opts(**kw):
    base = dict(image="eidos:dev", namespace="gpu-operator", timeout=10, poll_interval=0.05)
    base.update(kw)
    return AgentOptions(**base)


def node_snapshot_text():
    snap = Snapshot(
        metadata={"source-node": NODE["metadata"]["name"], "timestamp": "2026-01-01T00:00:00Z", "version": "0.1.0"},
        measurements=(Measurement("OS", (Subtype("release", {"ID": "ubuntu", "VERSION_ID": "22.04"}),)),),
    )
    return io.dumps(snap)


def test_agent_success_reads_snapshot_and_cleans_up(kube):
    cluster = connect(kube)
    with FakeKubelet(kube, "complete", node_snapshot_text()):
        snap = run_agent(cluster, agent_opts())
    assert snap.lookup(("OS", "release", "VERSION_ID")) == "22.04"
    left = _leftovers(kube)
    assert all(not objs for objs in left.values()), left


def test_agent_job_failure_reports_logs_and_cleans_up(kube):
    _add_pod_resource_and_log(kube)
    cluster = connect(kube)
    with FakeKubelet(kube, "fail"), pytest.raises(AgentFailed) as info:
        run_agent(cluster, agent_opts())
    msg = info.value.message
    assert "BackoffLimitExceeded" in msg and "nvidia-smi exited with status 9" in msg
    assert info.value.exit_code == 3
    assert all(not objs for objs in _leftovers(kube).values())


def test_agent_timeout_cleans_up(kube):
    cluster = connect(kube)
    with FakeKubelet(kube, "hang"):
        start = time.monotonic()
        with pytest.raises(AgentFailed, match="did not finish within 0.5s"):
            run_agent(cluster, agent_opts(timeout=0.5))
        assert time.monotonic() - start < 5
    assert all(not objs for objs in _leftovers(kube).values())


def test_agent_ctrl_c_cleans_up_and_no_cleanup_keeps(kube):
    class Interrupting(Progress):
        def update(self, text):
            if text.startswith("agent "):
                raise KeyboardInterrupt

    cluster = connect(kube)
    with FakeKubelet(kube, "hang"), pytest.raises(KeyboardInterrupt):
        run_agent(cluster, agent_opts(), Interrupting(enabled=False))
    assert all(not objs for objs in _leftovers(kube).values())

    opts = agent_opts(timeout=0.3, cleanup=False)
    with pytest.raises(AgentFailed):
        run_agent(cluster, opts)
    left = _leftovers(kube)
    assert ("gpu-operator", opts.job_name) in left["batch/v1/jobs"]
    assert len(cleanup_plan(opts)) == 5
