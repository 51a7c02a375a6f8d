"""``eidos snapshot --deploy-agent --all-nodes``: the real ``kubernetes`` client against kmock
on loopback, a cluster of 50 GPU nodes and 6 CPU nodes, a fake job controller + kubelet
that 'runs' each agent Job on the node it is pinned to."""

from __future__ import annotations

import time

import pytest
from snaphelpers import BackgroundActor, rbac_allows

from eidos.errors import EnvironmentFailure, UsageError
from eidos.snapshot import io
from eidos.snapshot.agent import MANAGED_BY_LABEL, RUN_LABEL, Progress
from eidos.snapshot.cluster import Cluster
from eidos.snapshot.fanout import (
    BAD_SNAPSHOT,
    CORDONED,
    NODE_LABEL,
    POD_FAILED,
    TIMED_OUT,
    UNSCHEDULABLE,
    FanoutOptions,
    check_out_dir,
    is_gpu_node,
    manifests,
    run_fanout,
    select_nodes,
)
from eidos.snapshot.model import Measurement, Snapshot, Subtype

GPU_NODES = [f"gpu-{i:03d}.ec2.internal" for i in range(50)]
CPU_NODES = [f"cpu-{i}.ec2.internal" for i in range(6)]
AGENT_TOKEN = "fanout-agent-token"
RESOURCES = ("batch/v1/jobs", "v1/configmaps", "v1/serviceaccounts", "v1/pods",
             "rbac.authorization.k8s.io/v1/roles", "rbac.authorization.k8s.io/v1/rolebindings")


def node(name, *, gpus=0, present=None, unschedulable=False, labels=None):
    body = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "status": {"allocatable": {"cpu": "96", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}}}
    if present is not None:
        body["metadata"]["labels"]["nvidia.com/gpu.present"] = present
    if unschedulable:
        body["spec"] = {"unschedulable": True}
    return body


def add_cluster(kube, gpu=GPU_NODES, cpu=CPU_NODES, **extra):
    for i, name in enumerate(gpu):
        # half found by the device plugin's resource, half by GPU feature discovery's label only
        body = node(name, gpus=8) if i % 2 else node(name, present="true")
        kube.add_object("v1/nodes", None, name, body)
    for name in cpu:
        # a CPU node with a misleading label value and zero GPUs is still not a GPU node
        kube.add_object("v1/nodes", None, name, node(name, present="false", labels={"role": "cpu"}))
    for name, body in extra.items():
        kube.add_object("v1/nodes", None, name, body)


def snapshot_text(node_name):
    return io.dumps(Snapshot(
        metadata={"source-node": node_name, "timestamp": "2026-01-01T00:00:00Z", "version": "0.1.0"},
        measurements=(Measurement("OS", (Subtype("release", {"ID": "ubuntu", "VERSION_ID": "22.04"}),)),),
    ))


def _pinned(job):
    terms = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    (term,) = terms
    (expr,) = term["matchFields"]
    assert expr["key"] == "metadata.name" and expr["operator"] == "In"
    (name,) = expr["values"]
    return name


class RoleBound(Cluster):
    """The agent's client: kmock enforces no RBAC, so the create the agent's Role refuses
    (put_configmap's fallback when a ConfigMap was deleted under it) is refused here."""

    def _call(self, what, fn, *args, **kwargs):
        from eidos.snapshot.cluster import Forbidden

        if what.startswith("create "):
            raise Forbidden(f"{what}: forbidden by the agent's Role (HTTP 403)", 403)
        return super()._call(what, fn, *args, **kwargs)


class FakeNodes(BackgroundActor):
    """Job controller + kubelet + agent: each resumed (or never-suspended) Job is run on the
    node its affinity pins it to. ``outcomes`` maps a node to 'fail', 'hang', 'unschedulable'
    or 'wrong-node' (writes a snapshot naming another node); any other node completes, writing
    its snapshot through the real ``io.write_snapshot`` with the agent's own token."""

    join_timeout = 10

    def __init__(self, kube, outcomes=None):
        self.kube, self.outcomes = kube, dict(outcomes or {})
        super().__init__()
        self.handled: dict[str, str] = {}  # job name -> node it ran on
        self.roles_seen: dict = {}
        self.suspended_seen = set()
        self.error: BaseException | None = None

    def run(self):
        try:
            self._run()
        except Exception as err:  # noqa: BLE001 -- surfaced by the test
            self.error = err

    def _run(self):
        from kubernetes import client

        text = self.kube.kubeconfig.read_text().replace("s3cr3t-token-must-not-leak", AGENT_TOKEN)
        path = self.kube.kubeconfig.parent / "agent-kubeconfig"
        path.write_text(text)
        agent = Cluster.connect(str(path), timeout=5)
        agent.__class__ = RoleBound
        admin = Cluster.connect(str(self.kube.kubeconfig), timeout=5)
        batch = client.BatchV1Api(admin._api)
        while not self.stop.is_set():
            jobs = self.kube.live("batch/v1/jobs")
            if any(name not in self.handled for _, name in jobs):
                self.roles_seen.update(self.kube.live("rbac.authorization.k8s.io/v1/roles"))
            for (ns, name), job in sorted(jobs.items()):
                if name in self.handled:
                    continue
                if job["spec"].get("suspend"):
                    self.suspended_seen.add(name)
                    continue
                target = _pinned(job)
                self.handled[name] = target
                outcome = self.outcomes.get(target, "complete")
                labels = job["spec"]["template"]["metadata"]["labels"]
                pod_name = f"{name}-x1"
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": pod_name, "namespace": ns, "labels": dict(labels)},
                       "spec": {"nodeName": target}, "status": {"phase": "Running"}}
                if outcome == "unschedulable":
                    pod["spec"] = {}
                    pod["status"] = {"phase": "Pending", "conditions": [{
                        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": "0/56 nodes are available: 1 node(s) had untolerated taint "
                                   "{example.com/maintenance: }"}]}
                self.kube.add_object("v1/pods", ns, pod_name, pod)
                if outcome in ("hang", "unschedulable"):
                    continue
                args = job["spec"]["template"]["spec"]["containers"][0]["args"]
                cm, fmt = args[args.index("--out") + 1], args[args.index("-o") + 1]
                if outcome in ("complete", "wrong-node"):
                    who = GPU_NODES[0] if outcome == "wrong-node" else target
                    try:
                        io.write_snapshot(io.parse_snapshot(snapshot_text(who)), cm, fmt,
                                          cluster_factory=lambda: agent)
                    except EnvironmentFailure:  # the run was cleaned up under this agent
                        continue
                    cond = {"type": "Complete", "status": "True"}
                else:
                    cond = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                            "message": "Job has reached the specified backoff limit"}
                batch.patch_namespaced_job_status(name, ns, {"status": {"conditions": [cond]}},
                                                  _preload_content=False)
            time.sleep(0.02)


def leftovers(kube, *, keep_configmaps=False):
    out = {}
    for res in RESOURCES:
        if res == "v1/configmaps" and keep_configmaps:
            continue
        if res == "v1/pods":
            continue  # the Job controller's garbage collector removes pods; kmock has none
        live = kube.live(res)
        if live:
            out[res] = sorted(live)
    return out


def opts(**kw):
    # the timeout is only reached when something is wrong: kmock on a loaded 2-core machine
    # answers in 10-50 ms, and 50 nodes are a few hundred requests
    base = {"image": "eidos:dev", "timeout": 120, "poll_interval": 0.2, "workers": 4}
    base.update(kw)
    return FanoutOptions(**base)


def connect(kube):
    return Cluster.connect(str(kube.kubeconfig), timeout=5)


# ---- choosing nodes, manifests --------------------------------------------------------------


def test_gpu_nodes_are_chosen_by_resource_or_label_and_selector_overrides():
    gpu_res, gpu_label = node("a", gpus=4), node("b", present="true")
    cpu, zero = node("c", present="false"), node("d", gpus=0)
    assert [is_gpu_node(n) for n in (gpu_res, gpu_label, cpu, zero)] == [True, True, False, False]
    picked = select_nodes([node("z", gpus=1), cpu, node("m", present="true")])
    assert [n["metadata"]["name"] for n in picked] == ["m", "z"]
    # --node-selector: exact label matches replace the GPU test (a CPU pool may be asked for)
    assert [n["metadata"]["name"] for n in select_nodes([gpu_res, cpu], {"nvidia.com/gpu.present": "false"})] == ["c"]


def test_manifests_pin_each_job_to_its_node_with_the_agents_security():
    o = opts(run_id="abc123")
    objs = manifests(o, ["gpu-a", "gpu-b", "gpu-c"])
    kinds = [x["kind"] for x in objs]
    assert kinds == ["Job", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "ConfigMap", "Job",
                     "ConfigMap", "Job"]
    jobs = [x for x in objs if x["kind"] == "Job"]
    assert [_pinned(j) for j in jobs] == ["gpu-a", "gpu-b", "gpu-c"]
    assert jobs[0]["spec"]["suspend"] is True and not any(j["spec"]["suspend"] for j in jobs[1:])
    for i, job in enumerate(jobs):
        pod = job["spec"]["template"]["spec"]
        assert "nodeSelector" not in pod  # pinned by name, not by label
        assert job["spec"]["backoffLimit"] == 0  # a node's failure is never retried elsewhere
        assert pod["containers"][0]["args"][-1] == f"cm://gpu-operator/eidos-snapshot-abc123-{i}"
        assert pod["containers"][0]["securityContext"]["privileged"] is False
        assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert job["spec"]["template"]["metadata"]["labels"][RUN_LABEL] == "abc123"
    role = next(x for x in objs if x["kind"] == "Role")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": [f"eidos-snapshot-abc123-{i}" for i in range(3)],
                              "verbs": ["patch"]}]
    cms = [x for x in objs if x["kind"] == "ConfigMap"]
    assert [c["metadata"]["labels"][NODE_LABEL] for c in cms] == ["gpu-a", "gpu-b", "gpu-c"]
    assert all(o_["metadata"]["namespace"] == "gpu-operator" for o_ in objs)
    for x in objs:
        assert x["metadata"]["labels"][MANAGED_BY_LABEL] == "eidos"
    import kubernetes_validate

    for x in objs:
        kubernetes_validate.validate(x, "1.30", strict=True)


def test_long_node_names_are_annotated_not_labelled():
    long = "ip-10-0-0-1." + "a" * 60 + ".compute.internal"
    cm = next(x for x in manifests(opts(run_id="abc123"), [long]) if x["kind"] == "ConfigMap")
    assert NODE_LABEL not in cm["metadata"]["labels"]
    assert cm["metadata"]["annotations"][NODE_LABEL] == long


# ---- runs against the emulator --------------------------------------------------------------


def test_fifty_gpu_nodes_gathered_failures_reported_rbac_replayed(kube):
    # 50 healthy GPU nodes, three more whose agent fails or lies, a cordoned one, 6 CPU nodes
    bad = ["gpu-bad-0.ec2.internal", "gpu-bad-1.ec2.internal", "gpu-bad-2.ec2.internal"]
    failing = {bad[0]: "fail", bad[1]: "fail", bad[2]: "wrong-node"}
    add_cluster(kube, gpu=GPU_NODES + bad, **{"gpu-cordoned": node("gpu-cordoned", gpus=8, unschedulable=True)})
    seen: list = []
    o = opts(run_id="f00d01")
    start = kube.call(lambda: len(kube.emulator._requests))
    with FakeNodes(kube, failing) as fake:
        result = run_fanout(connect(kube), o, warn=pytest.fail, on_node=seen.append)
    assert fake.error is None
    # only GPU nodes were targeted, each exactly once, by the Job pinned to it
    targets = sorted(fake.handled.values())
    assert targets == sorted(GPU_NODES + bad) and not set(targets) & set(CPU_NODES)
    assert fake.suspended_seen == {o.object_name(0)}
    assert len(result.outcomes) == 54 and len(seen) == 54
    by = {x.node: x for x in result.outcomes}
    assert sorted(x.node for x in result.succeeded) == sorted(GPU_NODES)
    assert by[bad[0]].reason == POD_FAILED and "BackoffLimitExceeded" in by[bad[0]].detail
    assert by[bad[1]].reason == POD_FAILED
    assert by[bad[2]].reason == BAD_SNAPSHOT and GPU_NODES[0] in by[bad[2]].detail
    assert by["gpu-cordoned"].reason == CORDONED
    assert result.exit_code == 1
    # 50 snapshots kept, each in its own ConfigMap, of the right node; nothing else is left
    assert leftovers(kube, keep_configmaps=True) == {}
    cms = kube.live("v1/configmaps")
    assert len(cms) == 50
    for x in result.succeeded:
        snap = io.load_snapshot(x.source, cluster_factory=lambda: connect(kube))
        assert snap.source_node == x.node
    # every request the agents made is allowed by the Role the run created ...
    (role,) = fake.roles_seen.values()
    rules = role["rules"]
    requests = kube.call(lambda: list(kube.emulator._requests)[start:])
    agent_reqs = [r for r in requests if r.headers.get("Authorization") == f"Bearer {AGENT_TOKEN}"]
    assert len(agent_reqs) == 51  # 50 good + the wrong-node one
    assert all(rbac_allows(rules, "gpu-operator", r) for r in agent_reqs)
    # ... and nothing is granted beyond what is used: one verb, the run's ConfigMaps by name
    used = {(str(r.method.value), r.name) for r in agent_reqs}
    (rule,) = rules
    assert rule["verbs"] == ["patch"] and {m for m, _ in used} == {"PATCH"}
    granted = set(rule["resourceNames"])
    assert {n for _, n in used} <= granted
    assert granted - {n for _, n in used} == {o.object_name(i) for i in range(54)
                                              if by_index(result, i) in (bad[0], bad[1], "gpu-cordoned")}
    # the Role would refuse a create, another ConfigMap, or a read
    forged = [r for r in requests if r.name == "eidos-snapshot-f00d01-0"][:1]
    assert forged and not rbac_allows([{**rule, "resourceNames": ["other"]}], "gpu-operator", forged[0])


def by_index(result, i):
    return next(x.node for x in result.outcomes if x.index == i)


def test_out_dir_writes_one_file_per_node_and_deletes_every_object(kube, tmp_path):
    add_cluster(kube, gpu=GPU_NODES[:6])
    out = tmp_path / "fleet"
    with FakeNodes(kube, {GPU_NODES[2]: "fail"}):
        result = run_fanout(connect(kube), opts(out_dir=out, fmt="json"), warn=pytest.fail)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.json" for n in GPU_NODES[:6] if n != GPU_NODES[2])
    for p in out.iterdir():
        assert io.load_snapshot(str(p)).source_node == p.name[:-len(".json")]
    assert result.exit_code == 1 and leftovers(kube) == {}


def test_timeout_records_unschedulable_and_hung_nodes_and_cleans_up(kube):
    add_cluster(kube, gpu=GPU_NODES[:5], cpu=[])
    with FakeNodes(kube, {GPU_NODES[1]: "unschedulable", GPU_NODES[4]: "hang"}):
        started = time.monotonic()
        result = run_fanout(connect(kube), opts(timeout=1.5), warn=pytest.fail)
        assert time.monotonic() - started < 10
    by = {x.node: x for x in result.outcomes}
    assert by[GPU_NODES[1]].reason == UNSCHEDULABLE and "untolerated taint" in by[GPU_NODES[1]].detail
    assert by[GPU_NODES[4]].reason == TIMED_OUT and "Running" in by[GPU_NODES[4]].detail
    assert len(result.succeeded) == 3
    assert leftovers(kube, keep_configmaps=True) == {}
    assert len(kube.live("v1/configmaps")) == 3  # only the succeeded nodes' snapshots remain


def test_ctrl_c_deletes_everything_including_collected_snapshots(kube):
    add_cluster(kube, gpu=GPU_NODES[:8], cpu=[])

    class Interrupting(Progress):
        def update(self, text):
            if text.startswith("agents ("):
                raise KeyboardInterrupt

    with FakeNodes(kube, {n: "hang" for n in GPU_NODES[4:8]}), pytest.raises(KeyboardInterrupt):
        run_fanout(connect(kube), opts(), Interrupting(enabled=False), warn=pytest.fail)
    assert leftovers(kube) == {}


def test_interrupt_while_creating_leaves_nothing(kube):
    add_cluster(kube, gpu=GPU_NODES[:20], cpu=[])
    real = Cluster.create
    count = {"n": 0}

    class Stopping(Cluster):
        def create(self, manifest):
            count["n"] += 1
            if count["n"] == 12:
                raise KeyboardInterrupt
            return real(self, manifest)

    cluster = connect(kube)
    cluster.__class__ = Stopping
    with pytest.raises(KeyboardInterrupt):
        run_fanout(cluster, opts(workers=1), warn=pytest.fail)
    assert leftovers(kube) == {}


def test_environment_failure_cleans_up_and_exits_3(kube):
    add_cluster(kube, gpu=GPU_NODES[:4], cpu=[])
    from eidos.snapshot.cluster import ClusterError

    class Breaks(Cluster):
        def list_objects(self, kind, namespace, label_selector=None):
            raise ClusterError("list Job in gpu-operator: internal error (HTTP 500)", 500)

    cluster = connect(kube)
    cluster.__class__ = Breaks
    with pytest.raises(EnvironmentFailure) as info:
        run_fanout(cluster, opts(), warn=pytest.fail)
    assert info.value.exit_code == 3
    assert leftovers(kube) == {}


def test_no_gpu_node_is_an_environment_failure(kube):
    add_cluster(kube, gpu=[])
    with pytest.raises(EnvironmentFailure, match="no node matches nvidia.com/gpu allocatable"):
        run_fanout(connect(kube), opts())
    assert leftovers(kube) == {}


def test_out_must_be_a_directory(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    for bad in ("-", "cm://gpu-operator/x", str(f)):
        with pytest.raises(UsageError):
            check_out_dir(bad)
    assert check_out_dir(None) is None and check_out_dir(str(tmp_path / "new")) == tmp_path / "new"


# ---- the CLI and the cm:// read-back --------------------------------------------------------


def test_cli_all_nodes_then_validate_the_set_from_configmaps(kube, capsys):
    from eidos.cli.main import main

    # 12 GPU nodes here (the 50-node run is the test above; kmock is slow on 2 loaded cores)
    add_cluster(kube, gpu=GPU_NODES[:12])
    failing = {GPU_NODES[5]: "fail", GPU_NODES[6]: "fail"}
    with FakeNodes(kube, failing):
        code = main(["snapshot", "--deploy-agent", "--all-nodes", "--image", "eidos:dev", "--timeout", "120"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"node {GPU_NODES[5]}: pod failed" in err and f"node {GPU_NODES[6]}: pod failed" in err
    assert "10/12 node snapshots in cm://gpu-operator/?run=" in err
    run_id = err.split("?run=")[1].split(";")[0].split()[0]
    assert leftovers(kube, keep_configmaps=True) == {}
    code = main(["validate", "--snapshot", f"cm://gpu-operator/?run={run_id}", "-o", "json", "--jobs", "1"])
    out, err = capsys.readouterr()
    import json

    report = json.loads(out)
    nodes = report.get("nodes") if isinstance(report, dict) else None
    assert nodes is not None and len(nodes) == 10, (list(report) if isinstance(report, dict) else report)
    # one report entry per succeeded node, in node order, each read from its own ConfigMap
    expected = [n for n in GPU_NODES[:12] if n not in failing]
    assert [n["node"] for n in nodes] == expected
    assert all(n["snapshot"].startswith("cm://gpu-operator/eidos-snapshot-") for n in nodes)
    assert all(n["verdicts"] for n in nodes)  # judged, not just listed
    assert code in (0, 1)
    # a run that left nothing is a clear input error
    code = main(["validate", "--snapshot", "cm://gpu-operator/?run=000000"])
    assert code == 2 and "no snapshot of run 000000" in capsys.readouterr().err
    # the sweep removes the set
    assert main(["snapshot", "--cleanup", run_id]) == 0
    assert kube.live("v1/configmaps") == {}


def test_cli_flag_errors(capsys):
    from eidos.cli.main import main

    assert main(["snapshot", "--all-nodes"]) == 2
    assert "needs --deploy-agent" in capsys.readouterr().err
    assert main(["snapshot", "--deploy-agent", "--all-nodes", "--image", "x", "--out", "-"]) == 2
    assert main(["validate", "--snapshot", "cm://gpu-operator/?run=a,b"]) == 2


def test_cli_sigterm_deletes_every_object_and_exits_143(kube, capsys, monkeypatch):
    import os
    import signal

    from eidos.cli.main import main
    from eidos.snapshot import agent

    add_cluster(kube, gpu=GPU_NODES[:6], cpu=[])

    class Terminating(Progress):
        def __init__(self, *a, **kw):
            super().__init__(enabled=False)

        def update(self, text):
            if text.startswith("agents ("):
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(agent, "Progress", Terminating)
    with FakeNodes(kube, {n: "hang" for n in GPU_NODES[3:6]}):
        code = main(["snapshot", "--deploy-agent", "--all-nodes", "--image", "eidos:dev"])
    assert code == 128 + signal.SIGTERM
    assert "interrupted (SIGTERM)" in capsys.readouterr().err
    assert leftovers(kube) == {}  # the three collected snapshots went too: no result was promised
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_no_cleanup_keeps_every_object_and_says_how_to_remove_them(kube):
    add_cluster(kube, gpu=GPU_NODES[:3], cpu=[])
    told: list = []
    o = opts(run_id="beef01", cleanup=False)
    with FakeNodes(kube, {GPU_NODES[1]: "fail"}):
        result = run_fanout(connect(kube), o, warn=told.append)
    assert result.exit_code == 1
    left = leftovers(kube)
    assert len(left["batch/v1/jobs"]) == 3 and len(left["v1/configmaps"]) == 3
    assert told == [f"kept the objects of agent run beef01 (--no-cleanup); remove them with: "
                    f"eidos snapshot --cleanup beef01 --namespace gpu-operator"]
    from eidos.snapshot.agent import sweep

    assert all(r.error is None for r in sweep(connect(kube), "gpu-operator", "beef01"))
    assert leftovers(kube) == {}


def test_cli_no_gpu_node_exits_3_and_creates_nothing(kube, capsys):
    from eidos.cli.main import main

    add_cluster(kube, gpu=[])
    assert main(["snapshot", "--deploy-agent", "--all-nodes", "--image", "eidos:dev"]) == 3
    assert "no node matches" in capsys.readouterr().err
    assert leftovers(kube) == {}


def test_rbac_is_owned_by_the_first_job_created_even_when_node_0_is_cordoned(kube):
    """A real API server answers a create with the uid (kmock does not: a route adds it)."""
    import re

    def with_uid(request):
        body = dict(request.data)
        body["metadata"] = {**body.get("metadata", {}), "uid": "0b8f3a52-1d2e-4c6f-9a7b-3c4d5e6f7a80"}
        return body

    kube.call(lambda: kube.emulator["post", re.compile(r".*/jobs$")] << with_uid)
    kube.add_object("v1/nodes", None, "gpu-a", node("gpu-a", gpus=8, unschedulable=True))
    kube.add_object("v1/nodes", None, "gpu-b", node("gpu-b", gpus=8))
    kube.add_object("v1/nodes", None, "gpu-c", node("gpu-c", gpus=8))
    o = opts(run_id="0a0b0c")
    cluster = connect(kube)
    seen = {}
    real_create = cluster.create

    def recording_create(manifest):
        seen[manifest["kind"]] = manifest
        return real_create(manifest)

    cluster.create = recording_create
    with FakeNodes(kube):
        result = run_fanout(cluster, o, warn=pytest.fail)
    assert [x.reason for x in result.outcomes] == [CORDONED, None, None]
    for kind in ("ServiceAccount", "Role", "RoleBinding"):
        assert seen[kind]["metadata"]["ownerReferences"] == [{
            "apiVersion": "batch/v1", "kind": "Job", "name": o.object_name(1),
            "uid": "0b8f3a52-1d2e-4c6f-9a7b-3c4d5e6f7a80"}]
    assert "ownerReferences" not in seen["ConfigMap"]["metadata"]  # results outlive their Job


def test_leftover_message_names_at_most_the_limit_and_how_to_remove_the_rest():
    # catches a fan-out warning that drops the count of unnamed objects, or names a run
    # id / namespace other than the run's own in the cleanup command
    from eidos.snapshot.agent import leftover_message

    o = opts(run_id="f00d02")
    failures = [("Job", f"eidos-snapshot-f00d02-{i}", "Forbidden") for i in range(13)]
    text = leftover_message(o, failures, limit=10)
    lines = text.splitlines()
    assert lines[0] == "could not delete every agent object:"
    assert [ln for ln in lines if ln.startswith("  Job ")] == [
        f"  Job {o.namespace}/eidos-snapshot-f00d02-{i}: Forbidden" for i in range(10)]
    assert "  … and 3 more" in lines
    assert lines[-1] == f"  remove them with: eidos snapshot --cleanup f00d02 --namespace {o.namespace}"
    assert "more" not in leftover_message(o, failures[:2])
