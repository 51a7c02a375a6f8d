"""The behavioural tests (gang scheduling, node scale-up, pod autoscaling) on the paths the
kmock clusters do not take: the other gang schedulers, the cluster autoscaler's events, a
managed provider, metrics the HPA test cannot use, interruption. The cluster is scripted
per request (``Dynamic``), so a scheduler or autoscaler can answer what the test created."""

from __future__ import annotations

import pytest

from eidos.conformance.behaviour import ProbeOptions, quantity
from eidos.conformance.checks import run_check
from eidos.conformance.gang import run_gang
from eidos.conformance.hpa import run_hpa
from eidos.conformance.network import run_network
from eidos.conformance.probe import Probe
from eidos.conformance.run import Context, RunOptions
from eidos.conformance.scaleup import run_scale_up
from tests.conformance.test_checks import Scripted, _ctx, _items

OPTS = ProbeOptions(run_id="x1", timeout=0.3, poll_interval=0.01)
GPU_NODE = {"metadata": {"name": "g1", "labels": {"kubernetes.io/hostname": "g1"}},
            "spec": {"providerID": "gce://p/z/g1"}, "status": {"allocatable": {"nvidia.com/gpu": "4"}}}


class Dynamic(Scripted):
    """Scripted, plus: POSTed objects are kept; ``react(cluster)`` runs before every GET so
    the scripted controller can answer; GET of a collection lists what was POSTed there."""

    def __init__(self, answers=None, crds=(), react=None):
        super().__init__(answers, crds)
        self.posted: dict = {}
        self.react = react or (lambda c: None)

    def request(self, method, path, body=None, query=None, *, text=False, content_type="application/json"):
        if method == "POST" and body is not None and (method, path) not in self.answers:
            self.calls.append((method, path))
            self.posted[f"{path}/{body['metadata']['name']}"] = body
            return body
        if method == "PATCH":
            self.calls.append((method, path, content_type))
            obj = self.posted[path]
            obj["spec"] = {**obj["spec"], **body["spec"]}
            return obj
        if method == "GET":
            self.react(self)
            if path in self.posted:
                self.calls.append((method, path))
                return self.posted[path]
            if path.endswith("/pods") and path not in self.answers:
                self.calls.append((method, path))
                return _items(*[b for p, b in self.posted.items() if p.rsplit("/", 1)[0] == path])
        return super().request(method, path, body, query, text=text)

    def pods(self, prefix):
        return {p.rsplit("/", 1)[1]: b for p, b in self.posted.items() if "/pods/" in p and
                p.rsplit("/", 1)[1].startswith(prefix)}


def _quick_ctx(cluster):
    return Context(Probe(cluster), RunOptions(version="1.35", version_source="flag", run_id="x1", timeout=0.3,
                                              poll_interval=0.01), lambda m: None)


def _dep(name, ns):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"replicas": 1}, "status": {"availableReplicas": 1}}


def _set(pod, node=None, phase="Pending", reason=None):
    if node:
        pod["spec"]["nodeName"] = node
    pod["status"] = {"phase": phase, **({"conditions": [{"type": "PodScheduled", "status": "False", "reason": reason,
                                                          "message": f"{reason} by the test"}]} if reason else {})}


# ---- gang scheduling ------------------------------------------------------------------------


def test_kueue_group_waits_gated_as_a_whole():
    def kueue(c):  # admits 'fits' (2 pods); keeps 'too-big' gated once all its pods exist
        for name, pod in c.pods("fits").items():
            _set(pod, "g1", "Running")
        big = c.pods("too-big")
        if len(big) == 2:
            for pod in big.values():
                _set(pod, reason="SchedulingGated")

    cq = {"metadata": {"name": "gpu-cq"}, "spec": {"resourceGroups": [
        {"coveredResources": ["cpu", "memory", "nvidia.com/gpu"]}]}}
    c = Dynamic({"/apis/kueue.x-k8s.io/v1beta1/clusterqueues": _items({"metadata": {"name": "cpu-only"}, "spec": {}}, cq),
                 "/api/v1/nodes": _items(GPU_NODE)}, react=kueue)
    out = run_gang(c, Probe(c), "Kueue", OPTS, lambda m: None)
    assert out.status == "pass", out
    ns = "eidos-conformance-x1-gang"
    lq = c.posted[f"/apis/kueue.x-k8s.io/v1beta1/namespaces/{ns}/localqueues/eidos-gang"]
    assert lq["spec"] == {"clusterQueue": "gpu-cq"}
    big = c.pods("too-big")
    assert sorted(big) == ["too-big-0", "too-big-1"]
    for pod in big.values():
        assert pod["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "eidos-gang"
        assert pod["metadata"]["labels"]["kueue.x-k8s.io/pod-group-name"] == "too-big"
        assert pod["metadata"]["annotations"] == {"kueue.x-k8s.io/pod-group-total-count": "2"}
        assert "schedulerName" not in pod["spec"]  # Kueue gates; the default scheduler places
        assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert "SchedulingGated" in out.reason
    assert ("delete", "Namespace", ns) in c.calls


def test_kueue_without_a_gpu_cluster_queue_cannot_run():
    c = Dynamic({"/apis/kueue.x-k8s.io/v1beta1/clusterqueues": _items({"metadata": {"name": "cpu"}, "spec": {}}),
                 "/api/v1/nodes": _items(GPU_NODE)})
    out = run_gang(c, Probe(c), "Kueue", OPTS, lambda m: None)
    assert out.status == "error" and "covers nvidia.com/gpu" in out.reason
    assert not any(call[0] == "create" for call in c.calls)  # nothing was created


def test_volcano_placing_pods_one_by_one_fails():
    def one_by_one(c):
        for pod in c.pods("fits").values():
            _set(pod, "g1", "Running")
        big = c.pods("too-big")
        for i, (name, pod) in enumerate(sorted(big.items())):
            _set(pod, "g1", "Running") if i == 0 else _set(pod, reason="Unschedulable")

    c = Dynamic({"/api/v1/nodes": _items(GPU_NODE)}, react=one_by_one)
    out = run_gang(c, Probe(c), "Volcano", OPTS, lambda m: None)
    assert out.status == "fail" and "1 of 2 pods of a group that cannot fit were placed" in out.reason
    assert out.remedy
    pg = c.posted["/apis/scheduling.volcano.sh/v1beta1/namespaces/eidos-conformance-x1-gang/podgroups/too-big"]
    assert pg["spec"] == {"minMember": 2, "queue": "default"}
    pod = c.pods("too-big")["too-big-0"]
    assert pod["spec"]["schedulerName"] == "volcano"
    assert pod["metadata"]["annotations"] == {"scheduling.k8s.io/group-name": "too-big"}
    assert ("delete", "Namespace", "eidos-conformance-x1-gang") in c.calls


def test_coscheduling_that_never_looks_at_the_group_fails_after_the_timeout():
    def fits_only(c):
        for pod in c.pods("fits").values():
            _set(pod, "g1", "Running")

    c = Dynamic({"/api/v1/nodes": _items(GPU_NODE)}, react=fits_only)
    out = run_gang(c, Probe(c), "scheduler-plugins coscheduling", OPTS, lambda m: None)
    assert out.status == "fail" and "did not act on the group" in out.reason
    pod = c.pods("too-big")["too-big-1"]
    assert pod["spec"]["schedulerName"] == "scheduler-plugins-scheduler"
    assert pod["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] == "too-big"


def test_a_group_that_fits_but_does_not_run_fails():
    c = Dynamic({"/api/v1/nodes": _items(GPU_NODE)})  # nobody schedules anything
    out = run_gang(c, Probe(c), "Volcano", OPTS, lambda m: None)
    assert out.status == "fail" and "0 of 2 pods running" in out.reason
    assert not c.pods("too-big")  # the second group is not tried


def test_interrupted_gang_run_deletes_its_namespace():
    c = Dynamic({"/api/v1/nodes": _items(GPU_NODE),
                 "/api/v1/namespaces/eidos-conformance-x1-gang/pods": KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        run_gang(c, Probe(c), "Volcano", OPTS, lambda m: None)
    assert ("delete", "Namespace", "eidos-conformance-x1-gang") in c.calls


def test_gang_check_through_the_context_picks_the_ready_scheduler():
    crds = {"podgroups.scheduling.volcano.sh", "queues.scheduling.volcano.sh"}
    c = Dynamic({"/apis/apps/v1/deployments": _items(_dep("volcano-scheduler", "volcano-system")),
                 "/api/v1/nodes": _items(GPU_NODE)}, crds)
    out = run_check("gang-all-or-nothing", _quick_ctx(c))
    assert out.status == "fail" and "Volcano" in out.output[0]  # it ran (nothing schedules here)
    none = run_check("gang-all-or-nothing", _quick_ctx(Dynamic({"/api/v1/nodes": _items(GPU_NODE)})))
    assert none.status == "skip" and "no gang scheduler" in none.reason


# ---- node scale-up ----------------------------------------------------------------------------------

SCALE_NS = "eidos-conformance-x1-scaleup"


def _event(reason, message, component="cluster-autoscaler"):
    return {"reason": reason, "message": message, "involvedObject": {"name": "gpu-scale-up"},
            "source": {"component": component}}


def test_gke_managed_autoscaler_must_show_a_scale_up():
    """GKE's autoscaler is invisible in the cluster: presence passes only as 'managed', and
    the requirement rests on the scale-up the test observes."""
    events = []
    c = Dynamic({"/api/v1/nodes": _items(GPU_NODE), f"/api/v1/namespaces/{SCALE_NS}/events": {"items": events}})
    assert "tested by gpu-node-scale-up" in run_check("gpu-node-autoscaler", _ctx(c)).reason
    out = run_scale_up(c, Probe(c), OPTS, lambda m: None, karpenter=False)
    assert out.status == "fail" and "no scale-up within" in out.reason and out.remedy
    pod = c.posted[f"/api/v1/namespaces/{SCALE_NS}/pods/gpu-scale-up"]
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["g1"]
    assert ("delete", "Namespace", SCALE_NS) in c.calls
    events.append(_event("TriggeredScaleUp", "pod triggered scale-up: [{gpu-pool 1->2 (max: 4)}]"))
    c2 = Dynamic({"/api/v1/nodes": _items(GPU_NODE), f"/api/v1/namespaces/{SCALE_NS}/events": {"items": events}})
    out = run_scale_up(c2, Probe(c2), OPTS, lambda m: None, karpenter=False)
    assert out.status == "pass" and "TriggeredScaleUp" in out.reason
    assert any("gpu-pool 1->2" in line for line in out.output)


def test_autoscaler_refusal_is_quoted():
    events = [_event("NotTriggerScaleUp", "pod didn't trigger scale-up: 1 max node group size reached")]
    c = Dynamic({"/api/v1/nodes": _items(GPU_NODE), f"/api/v1/namespaces/{SCALE_NS}/events": {"items": events}})
    out = run_scale_up(c, Probe(c), OPTS, lambda m: None, karpenter=False)
    assert out.status == "fail" and "max node group size reached" in out.reason


def test_aws_without_any_autoscaler_fails_without_creating_a_pod():
    node = {**GPU_NODE, "spec": {"providerID": "aws:///us-east-1a/i-0"}}
    c = Dynamic({"/api/v1/nodes": _items(node)})
    assert run_check("gpu-node-autoscaler", _ctx(c)).status == "fail"
    out = run_check("gpu-node-scale-up", _ctx(c))
    assert out.status == "skip" and not any(call[0] == "create" for call in c.calls)


# ---- pod autoscaling --------------------------------------------------------------------------------


def _available(api):
    return {"status": {"conditions": [{"type": "Available", "status": "True"}]}}


def test_gpu_metric_only_per_pod_cannot_be_used_by_the_hpa_test():
    c = Dynamic({"/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.custom.metrics.k8s.io": _available("c"),
                 "/apis/custom.metrics.k8s.io/v1beta1": {"resources": [{"name": "pods/DCGM_FI_DEV_GPU_UTIL"}]}})
    assert run_check("gpu-custom-metrics", _ctx(c)).status == "pass"
    out = run_check("gpu-hpa-scaling", _ctx(c))
    assert out.status == "error" and "external metrics API" in out.reason and out.remedy
    assert not any(call[0] == "create" for call in c.calls)


def test_idle_gpus_fall_back_to_a_metric_above_zero_or_error():
    ns = "eidos-conformance-x1-hpa"
    base = f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}"
    served = {"/apis/external.metrics.k8s.io/v1beta1": {"resources": [{"name": "DCGM_FI_DEV_GPU_UTIL"},
                                                                      {"name": "DCGM_FI_DEV_GPU_TEMP"}]}}
    zero = {"items": [{"value": "0"}]}
    c = Dynamic({**served, f"{base}/DCGM_FI_DEV_GPU_UTIL": zero, f"{base}/DCGM_FI_DEV_GPU_TEMP": zero})
    out = run_hpa(c, Probe(c), OPTS, lambda m: None)
    assert out.status == "error" and "every served GPU metric is 0" in out.reason
    assert ("delete", "Namespace", ns) in c.calls

    def hpa_controller(c):  # scales on whatever target it is given: value 41 (two GPUs), Value target
        h = c.posted.get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/gpu-metric-probe")
        d = c.posted.get(f"/apis/apps/v1/namespaces/{ns}/deployments/gpu-metric-probe")
        if not h or not d:
            return
        target = quantity(h["spec"]["metrics"][0]["external"]["target"]["value"])
        cur = d["spec"]["replicas"]
        want = min(3, max(1, -(-cur * 41 // target)))
        d["spec"]["replicas"] = int(want)
        h["status"] = {"desiredReplicas": int(want), "currentReplicas": cur, "currentMetrics": [
            {"type": "External", "external": {"metric": {"name": "DCGM_FI_DEV_GPU_TEMP"}, "current": {"value": "41"}}}]}

    temp = {"items": [{"value": "40500m"}, {"value": "500m"}]}
    c = Dynamic({**served, f"{base}/DCGM_FI_DEV_GPU_UTIL": zero, f"{base}/DCGM_FI_DEV_GPU_TEMP": temp},
                react=hpa_controller)
    out = run_hpa(c, Probe(c), OPTS, lambda m: None)
    assert out.status == "pass" and "DCGM_FI_DEV_GPU_TEMP" in out.reason and "1 -> 3 -> 1" in out.reason
    patch = [call for call in c.calls if call[0] == "PATCH"]
    assert patch and patch[0][2] == "application/merge-patch+json"


def test_quantity():
    assert quantity("37") == 37 and quantity("37500m") == 37.5 and quantity("1.5k") == 1500
    assert quantity("2Ki") == 2048
    with pytest.raises(ValueError):
        quantity("lots")


# ---- high-performance networking --------------------------------------------------------------------


def test_efa_device_plugin_resource_is_asked_for_and_must_be_seen():
    node = {"metadata": {"name": "p5"}, "status": {"allocatable": {"vpc.amazonaws.com/efa": "32", "cpu": "192"}}}

    def kubelet(c):
        for pod in c.pods("net-attach").values():
            pod["status"] = {"phase": "Succeeded"}

    c = Dynamic({"/api/v1/nodes": _items(node), ("log", "net-attach"): "rdma: /dev/infiniband/uverbs0\neidos-net-devices: 1\n"},
                react=kubelet)
    out = run_network(c, Probe(c), OPTS, lambda m: None)
    assert out.status == "pass" and "vpc.amazonaws.com/efa: 1" in out.reason
    pod = c.pods("net-attach")["net-attach"]
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {"vpc.amazonaws.com/efa": "1"}
    assert "resourceClaims" not in pod["spec"]
    assert ("delete", "Namespace", "eidos-conformance-x1-net") in c.calls
    c.answers[("log", "net-attach")] = "eidos-net-devices: 0\n"  # the plugin advertises, attaches nothing
    c.posted.clear()
    out = run_network(c, Probe(c), OPTS, lambda m: None)
    assert out.status == "fail" and "saw no high-performance network device" in out.reason


def test_no_network_resource_fails_without_creating_anything():
    node = {"metadata": {"name": "n"}, "status": {"allocatable": {"rdma/hca": "0", "cpu": "8"}}}
    c = Dynamic({"/api/v1/nodes": _items(node)})
    out = run_network(c, Probe(c), OPTS, lambda m: None)
    assert out.status == "fail" and out.remedy and any("rdma/hca=0" in line for line in out.output)
    assert not any(call[0] == "create" for call in c.calls)
