"""Cluster module, K8s collector and the agent lifecycle: the real ``kubernetes`` client
against a kmock API emulator on loopback."""

from __future__ import annotations

import re
import time

import pytest
from snaphelpers import BackgroundActor, rbac_allows

from eidos.errors import EnvironmentFailure, InputError
from eidos.snapshot import io
from eidos.snapshot.agent import (
    AGENT_UID,
    HOST_PATHS,
    MANAGED_BY_LABEL,
    RUN_LABEL,
    AgentFailed,
    AgentOptions,
    AgentWarning,
    Progress,
    cleanup_plan,
    manifests,
    parse_node_selector,
    parse_toleration,
    run_agent,
    sweep,
)
from eidos.snapshot.cluster import Cluster, ClusterError, NotFound, Unreachable
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
    by_status = {s.name: s.status for s in statuses}
    assert by_status == {**dict.fromkeys(("k8s-server", "k8s-nodes", "k8s-images", "k8s-policy", "k8s-dra"), "ok"), "k8s-helm": "unavailable"}
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


AGENT_TOKEN = "agent-sa-token"
OWNED_KINDS = ["ConfigMap", "ServiceAccount", "Role", "RoleBinding"]


def test_manifests_are_least_privilege_and_per_run():
    opts = AgentOptions(image="registry.example/eidos:0.1.0", run_id="abc123")
    objs = manifests(opts, owner_uid="6f1e0c2a-0000-4000-8000-000000000001")
    # the Job comes first (suspended) so everything else can be owned by it
    assert [o["kind"] for o in objs] == ["Job", *OWNED_KINDS]
    job, cm, sa, role, binding = objs
    assert job["spec"]["suspend"] is True
    assert all(o["metadata"]["namespace"] == "gpu-operator" for o in objs)  # nothing cluster-scoped
    assert all(o["metadata"]["name"].endswith("-abc123") for o in objs)
    for meta in [o["metadata"] for o in objs] + [job["spec"]["template"]["metadata"]]:
        assert meta["labels"][MANAGED_BY_LABEL] == "eidos" and meta["labels"][RUN_LABEL] == "abc123"
    assert "ownerReferences" not in job["metadata"]
    for obj in objs[1:]:
        assert obj["metadata"]["ownerReferences"] == [{
            "apiVersion": "batch/v1", "kind": "Job", "name": job["metadata"]["name"],
            "uid": "6f1e0c2a-0000-4000-8000-000000000001"}]
    # RBAC: get/update/patch of its own pre-created ConfigMap, by name, and nothing else
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": [cm["metadata"]["name"]],
                              "verbs": ["get", "patch", "update"]}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                    "namespace": "gpu-operator"}]
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == sa["metadata"]["name"]
    c = pod_spec["containers"][0]
    assert c["args"][:4] == ["snapshot", "--host-root", "/host", "--no-cluster"]
    assert c["args"][-2:] == ["--out", "cm://gpu-operator/eidos-snapshot-abc123"]
    # the pod: non-root, no capabilities, no escalation, read-only root, RuntimeDefault seccomp
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"]["runAsUser"] == AGENT_UID != 0
    assert pod_spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == AGENT_UID
    assert sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}  # nothing added back
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_spec["hostPID"] is False and pod_spec["hostIPC"] is False
    assert pod_spec["hostNetwork"] is True  # the sysctl collector's net.* values (docs/security.md)
    # host paths: exactly the collectors' files, read-only, never the host's /, never created
    host_volumes = {v["name"]: v["hostPath"] for v in pod_spec["volumes"] if "hostPath" in v}
    assert sorted(h["path"] for h in host_volumes.values()) == sorted(
        ["/etc/os-release", "/proc/sys", "/proc/modules", "/proc/cmdline", "/run/dbus"])
    assert all(h["type"] in ("File", "Directory") for h in host_volumes.values())
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    for name, hp in host_volumes.items():
        assert mounts[name]["readOnly"] is True
        assert mounts[name]["mountPath"] == "/host" + hp["path"]
        assert "mountPropagation" not in mounts[name]
    assert {m["name"] for m in c["volumeMounts"]} - set(host_volumes) == {"tmp"}
    assert pod_spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    # the manifests are valid Kubernetes objects
    import kubernetes_validate

    for obj in objs:
        kubernetes_validate.validate(obj, "1.30", strict=True)


def _agent_view(host, view, paths=HOST_PATHS):
    """Copy only the host paths the agent mounts from a full fake host into ``view``."""
    import shutil

    for _, path, kind in paths:
        src, dst = host / path.lstrip("/"), view / path.lstrip("/")
        if not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if kind == "Directory":
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    return view


def _node_snapshot(root, env):
    from eidos.snapshot.collectors import HostContext, take_snapshot

    snap = take_snapshot(HostContext(root=root, timeout=5, env=env), cluster=False)
    statuses = {c.name: (c.status, c.reason) for c in snap.collectors}
    return {m.type: m for m in snap.measurements}, statuses


def test_host_paths_are_exactly_what_the_collectors_read(host, clean_env, tmp_path):
    """The agent's mounts are enough: a host root holding only them gives the same snapshot
    as the whole host (extra host files such as /etc/shadow change nothing); and each one is
    needed: without it some collector loses data."""
    from snaphelpers import make_exe

    (host / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (host / "var/lib/kubelet").mkdir(parents=True)
    (host / "var/lib/kubelet/config.yaml").write_text("kind: KubeletConfiguration\n")
    (host / "run/dbus").mkdir(parents=True)
    (host / "run/dbus/system_bus_socket").write_text("")  # the collector only checks it exists
    make_exe(clean_env, "systemctl",
             '[ -n "$DBUS_SYSTEM_BUS_ADDRESS" ] || exit 1\n'
             'printf "Id=kubelet.service\\nActiveState=active\\nNRestarts=0\\n\\n"\n')
    env = {"PATH": str(clean_env), "NODE_NAME": "n1", "SOURCE_DATE_EPOCH": "0"}
    full, full_status = _node_snapshot(host, env)
    assert full_status["systemd"][0] == "ok" and full_status["sysctl"][0] == "ok"
    view, view_status = _node_snapshot(_agent_view(host, tmp_path / "view"), env)
    assert view == full and view_status == full_status
    for name, _, _ in HOST_PATHS:
        partial = [hp for hp in HOST_PATHS if hp[0] != name]
        root = _agent_view(host, tmp_path / f"without-{name}", partial)
        got, got_status = _node_snapshot(root, env)
        assert (got, got_status) != (full, full_status), f"{name} is mounted but not needed"




class FakeKubelet(BackgroundActor):
    """Plays job controller + kubelet + the agent pod: when the agent Job is resumed, it
    'runs' it: writes the snapshot through the real ``io.write_snapshot`` with the agent's
    own credentials (``AGENT_TOKEN``), then sets the Job's status, or fails it. It records
    what existed when the pod started and every request the 'agent' made that its Role
    would have refused."""

    def __init__(self, kube, outcome: str, snapshot_text: str | None = None):
        self.kube, self.outcome, self.text = kube, outcome, snapshot_text
        super().__init__()
        self.seen: dict = {}
        self.violations: list = []
        self.agent_requests = 0
        self.suspended_seen = False

    def _agent_cluster(self):
        text = self.kube.kubeconfig.read_text().replace("s3cr3t-token-must-not-leak", AGENT_TOKEN)
        path = self.kube.kubeconfig.parent / "agent-kubeconfig"
        path.write_text(text)
        return Cluster.connect(str(path), timeout=5)

    def run(self):
        cluster = Cluster.connect(str(self.kube.kubeconfig), timeout=5)
        while not self.stop.is_set():
            jobs = self.kube.live("batch/v1/jobs")
            if jobs:
                (ns, name), job = next(iter(jobs.items()))
                if job["spec"].get("suspend"):  # the job controller starts no pod yet
                    self.suspended_seen = True
                    time.sleep(0.01)
                    continue
                self.seen = _leftovers(self.kube)
                labels = job["spec"]["template"]["metadata"]["labels"]
                pod_name = f"{name}-xyz"
                self.kube.add_object("v1/pods", ns, pod_name, {
                    **pod(ns, pod_name, ["eidos:dev"], dict(labels)), "status": {"phase": "Running"}})
                if self.outcome == "hang":
                    return
                cm = job["spec"]["template"]["spec"]["containers"][0]["args"][-1]
                if self.outcome == "complete":
                    start = self.kube.call(lambda: len(self.kube.emulator._requests))
                    agent = self._agent_cluster()
                    io.write_snapshot(io.parse_snapshot(self.text), cm, "yaml",
                                      cluster_factory=lambda agent=agent: agent)
                    self._audit(ns, job, start)
                    cond = {"type": "Complete", "status": "True"}
                else:
                    cond = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                            "message": "Job has reached the specified backoff limit"}
                from kubernetes import client

                client.BatchV1Api(cluster._api).patch_namespaced_job_status(
                    name, ns, {"status": {"conditions": [cond]}}, _preload_content=False)
                return
            time.sleep(0.02)

    def _audit(self, ns, job, start):
        sa = job["spec"]["template"]["spec"]["serviceAccountName"]
        role = self.seen["rbac.authorization.k8s.io/v1/roles"].get((ns, sa)) or {}
        requests = self.kube.call(lambda: list(self.kube.emulator._requests)[start:])
        for req in requests:
            if req.headers.get("Authorization") != f"Bearer {AGENT_TOKEN}":
                continue
            self.agent_requests += 1
            if not rbac_allows(role.get("rules") or [], ns, req):
                self.violations.append((str(req.method.value), str(req.url)))


def _add_pod_resource_and_log(kube, text="collector gpu: nvidia-smi exited with status 9"):
    import re as _re

    kube.call(lambda: kube.emulator["get", _re.compile(r".*/pods/[^/]+/log$")] << text.encode())


def _leftovers(kube):
    return {res: kube.live(res) for res in ("batch/v1/jobs", "v1/configmaps", "v1/serviceaccounts",
                                              "rbac.authorization.k8s.io/v1/roles",
                                              "rbac.authorization.k8s.io/v1/rolebindings")}


def agent_opts(**kw):
    base = {"image": "eidos:dev", "namespace": "gpu-operator", "timeout": 10, "poll_interval": 0.05}
    base.update(kw)
    return AgentOptions(**base)


def node_snapshot_text():
    snap = Snapshot(
        metadata={"source-node": NODE["metadata"]["name"], "timestamp": "2026-01-01T00:00:00Z", "version": "0.1.0"},
        measurements=(Measurement("OS", (Subtype("release", {"ID": "ubuntu", "VERSION_ID": "22.04"}),)),),
    )
    return io.dumps(snap)


def _job_uids(kube, uid="0b8f3a52-1d2e-4c6f-9a7b-3c4d5e6f7a80", posted: list | None = None):
    """kmock stores what was posted; a real API server answers a create with the uid.

    ``posted`` collects each created Job's ``spec.suspend``, so a test can tell the Job was
    created suspended without racing the fake kubelet's poll against the resume."""

    def with_uid(request):
        body = dict(request.data)
        if posted is not None:
            posted.append((body.get("spec") or {}).get("suspend"))
        body["metadata"] = {**body.get("metadata", {}), "uid": uid}
        return body

    kube.call(lambda: kube.emulator["post", re.compile(r".*/jobs$")] << with_uid)
    return uid


def test_agent_success_reads_snapshot_and_cleans_up(kube):
    posted: list = []
    uid = _job_uids(kube, posted=posted)
    cluster = connect(kube)
    with FakeKubelet(kube, "complete", node_snapshot_text()) as kubelet:
        snap = run_agent(cluster, agent_opts(), warn=pytest.fail)
    assert snap.lookup(("OS", "release", "VERSION_ID")) == "22.04"
    assert posted == [True]  # the Job was created suspended, waiting for its objects
    # when the pod started, its ServiceAccount, RBAC and ConfigMap existed, owned by the Job
    for res, objs in kubelet.seen.items():
        assert len(objs) == 1, res
        (obj,) = objs.values()
        if obj["kind"] != "Job":
            assert obj["metadata"]["ownerReferences"][0]["uid"] == uid
    # the agent wrote its snapshot with nothing its Role does not grant (no create)
    assert kubelet.agent_requests >= 1 and kubelet.violations == []
    left = _leftovers(kube)
    assert all(not objs for objs in left.values()), left


def test_agent_role_would_refuse_a_create(kube):
    """The audit above can fail: writing a ConfigMap that was not pre-created needs create."""
    cluster = connect(kube)
    opts = agent_opts(run_id="feed01")
    role = manifests(opts)[3]
    cluster.put_configmap("gpu-operator", "someone-else", {"x": "1"})
    requests = kube.call(lambda: list(kube.emulator._requests))
    verbs = [(str(r.method.value), rbac_allows(role["rules"], "gpu-operator", r)) for r in requests]
    assert ("POST", False) in verbs  # 404 on patch, then create: refused by the Role


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
    told = []
    with pytest.raises(AgentFailed):
        run_agent(cluster, opts, warn=told.append)
    left = _leftovers(kube)
    assert ("gpu-operator", opts.job_name) in left["batch/v1/jobs"]
    assert len(cleanup_plan(opts)) == 5
    assert told and f"eidos snapshot --cleanup {opts.run_id}" in told[0]


class _DeleteFails:
    """A Cluster whose deletes of one kind are forbidden (as with a narrow user Role)."""

    def __init__(self, cluster, kind):
        self._cluster, self._kind = cluster, kind

    def __getattr__(self, name):
        return getattr(self._cluster, name)

    def delete(self, kind, name, namespace=None):
        if kind == self._kind:
            raise ClusterError(f"delete {kind} {namespace}/{name}: forbidden (HTTP 403)", 403)
        return self._cluster.delete(kind, name, namespace)


def test_leftover_warnings_go_to_the_caller_never_to_stderr(kube, capsys):
    cluster = _DeleteFails(connect(kube), "Role")
    told = []
    opts = agent_opts(run_id="c0ffee")
    with FakeKubelet(kube, "complete", node_snapshot_text()):
        run_agent(cluster, opts, warn=told.append)
    assert capsys.readouterr() == ("", "")  # the library printed nothing
    assert len(told) == 1
    assert "Role gpu-operator/eidos-agent-c0ffee: delete Role" in told[0]
    assert "eidos snapshot --cleanup c0ffee --namespace gpu-operator" in told[0]
    # without a warn callable the message is a Python warning the caller can filter
    opts2 = agent_opts(run_id="c0ffef")
    with FakeKubelet(kube, "complete", node_snapshot_text()), pytest.warns(AgentWarning, match="c0ffef"):
        run_agent(cluster, opts2)
    assert capsys.readouterr() == ("", "")


def _plant_run(kube, ns, run, *, labels=None):
    opts = agent_opts(namespace=ns, run_id=run)
    resources = {"Job": "batch/v1/jobs", "ConfigMap": "v1/configmaps", "ServiceAccount": "v1/serviceaccounts",
                 "Role": "rbac.authorization.k8s.io/v1/roles",
                 "RoleBinding": "rbac.authorization.k8s.io/v1/rolebindings"}
    for obj in manifests(opts):
        if labels is not None:
            obj["metadata"]["labels"] = labels
        kube.add_object(resources[obj["kind"]], ns, obj["metadata"]["name"], obj)
    return opts


def test_sweep_removes_only_eidos_run_objects(kube):
    _plant_run(kube, "gpu-operator", "aaaaaa")
    _plant_run(kube, "gpu-operator", "bbbbbb")
    _plant_run(kube, "other-ns", "aaaaaa")
    # look-alikes that must survive: no run label, or not managed by eidos
    _plant_run(kube, "gpu-operator", "cccccc", labels={MANAGED_BY_LABEL: "eidos"})
    _plant_run(kube, "gpu-operator", "dddddd", labels={RUN_LABEL: "dddddd", MANAGED_BY_LABEL: "helm"})
    kube.add_object("v1/configmaps", "gpu-operator", "snap", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "snap", "namespace": "gpu-operator", "labels": {MANAGED_BY_LABEL: "eidos"}}})
    cluster = connect(kube)

    def names(ns):
        return {(res.rsplit("/", 1)[-1], name) for res, objs in _leftovers(kube).items()
                for (n, name) in objs if n == ns}

    results = sweep(cluster, "gpu-operator", "aaaaaa")
    assert len(results) == 5 and all(r.error is None and r.run == "aaaaaa" for r in results)
    assert [r.kind for r in results] == ["Job", "ConfigMap", "RoleBinding", "Role", "ServiceAccount"]
    assert not any(name.endswith("aaaaaa") for _, name in names("gpu-operator"))
    assert any(name.endswith("bbbbbb") for _, name in names("gpu-operator"))
    results = sweep(cluster, "gpu-operator", "all")
    assert {r.run for r in results} == {"bbbbbb"} and len(results) == 5
    survivors = names("gpu-operator")
    assert ("configmaps", "snap") in survivors
    assert sum(name.endswith("cccccc") for _, name in survivors) == 5
    assert sum(name.endswith("dddddd") for _, name in survivors) == 5
    assert len(names("other-ns")) == 5
    assert sweep(cluster, "gpu-operator", "all") == []


@pytest.mark.parametrize("bad", ["a,b", "x=y", "", "-abc", "a" * 64, "run id"])
def test_sweep_refuses_selector_injection(kube, bad):
    with pytest.raises(EnvironmentFailure.__mro__[1]) as info:
        sweep(connect(kube), "gpu-operator", bad)
    assert info.value.exit_code == 2


def test_no_home_directory_means_in_cluster(monkeypatch):
    """The agent runs as a uid with no passwd entry; without HOME, ``~`` cannot expand and
    the in-cluster service account must still be found (not an internal error)."""
    import pwd

    from eidos.snapshot.cluster import config_available

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    assert config_available(env={"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) is True
    assert config_available(env={}) is False
