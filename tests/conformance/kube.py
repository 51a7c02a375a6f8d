"""A kmock cluster that is (or, with ``broken``, is not) CNCF AI conformant, for the real
``kubernetes`` client.

Every object is a plausible, minimal version of what the component installs (names from
the sources eidos/conformance/checks.py cites); the DCGM scrape and the Prometheus answer
are served on the API server's service-proxy paths, as a real API server relays them. A
:class:`FakeKubelet` thread plays scheduler and kubelet for the DRA test pods: it puts each
pod on ``gpu-node-1`` and marks it Succeeded; the pods' logs are served per pod name.

``broken`` names one capability to leave out or break (see ``BROKEN``).
"""

from __future__ import annotations

import math
import re
import time

import pytest
from kmock._internal import parsing as kmock_parsing

from tests.snapshot import snaphelpers
from tests.snapshot.snaphelpers import BackgroundActor, emulated_cluster

RESOURCES = (
    ("v1/namespaces", "Namespace", False),
    ("v1/services", "Service", True),
    ("apiextensions.k8s.io/v1/customresourcedefinitions", "CustomResourceDefinition", False),
    ("apps/v1/deployments", "Deployment", True),
    ("apps/v1/daemonsets", "DaemonSet", True),
    ("apiregistration.k8s.io/v1/apiservices", "APIService", False),
    ("karpenter.sh/v1/nodepools", "NodePool", False),
    ("gateway.networking.k8s.io/v1/gatewayclasses", "GatewayClass", False),
    ("gateway.networking.k8s.io/v1/gateways", "Gateway", True),
    ("gateway.networking.k8s.io/v1/httproutes", "HTTPRoute", True),
    ("inference.networking.k8s.io/v1/inferencepools", "InferencePool", True),
    ("trainer.kubeflow.org/v1alpha1/trainjobs", "TrainJob", True),
    ("v1/events", "Event", True),
    ("scheduling.run.ai/v2/queues", "Queue", False),
    ("scheduling.run.ai/v2alpha2/podgroups", "PodGroup", True),
    ("karpenter.sh/v1/nodeclaims", "NodeClaim", False),
    ("autoscaling/v2/horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
)
DRA_RESOURCES = (
    ("resource.k8s.io/v1/deviceclasses", "DeviceClass", False),
    ("resource.k8s.io/v1/resourceclaims", "ResourceClaim", True),
    ("resource.k8s.io/v1/resourceslices", "ResourceSlice", False),
)
BROKEN = {
    # name -> the requirement it must make fail (exit 1, not claimed)
    "dra": "dra_support",
    "isolation": "secure_accelerator_access",
    "gang": "gang_scheduling",
    "autoscaler": "cluster_autoscaling",
    "custom-metrics": "pod_autoscaling",
    "dcgm": "accelerator_metrics",
    "dcgm-memory-metric": "accelerator_metrics",
    "prometheus": "ai_service_metrics",
    "gateway": "ai_inference",
    "webhook": "robust_controller",
    # the behavioural ones: the component is there, it does not behave
    "gang-partial": "gang_scheduling",  # the scheduler places pods one by one
    "no-scale-up": "cluster_autoscaling",  # Karpenter installed, never provisions
    "hpa-stuck": "pod_autoscaling",  # the HPA cannot read the metric
}
SLOW = {"no-scale-up", "hpa-stuck"}  # they wait for the timeout: run with a short one
GPU_CAPACITY = 8  # gpu-node-1's allocatable nvidia.com/gpu
GPU_METRIC_VALUE = 37.0  # DCGM_FI_DEV_GPU_UTIL as the external metrics API serves it

SERVER_VERSION = {"major": "1", "minor": "35", "gitVersion": "v1.35.2", "gitCommit": "0" * 40,
                  "gitTreeState": "clean", "buildDate": "2026-09-01T00:00:00Z", "goVersion": "go1.25.1",
                  "compiler": "gc", "platform": "linux/amd64"}

CLAIM_LOG = "device: /dev/nvidia0\neidos-gpu-devices: 1\n"
ISOLATED_LOG = "eidos-gpu-devices: 0\n"
LEAKY_LOG = "".join(f"device: /dev/nvidia{i}\n" for i in range(8)) + "eidos-gpu-devices: 8\n"
# dcgm-exporter's text format, as default-counters.csv names the fields (values invented)
DCGM_METRICS = """# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1"} 37
# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1"} 1024
# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
# TYPE DCGM_FI_DEV_GPU_TEMP gauge
DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1"} 41
"""
WEBHOOK_DENIAL = ('admission webhook "validator.trainjob.trainer.kubeflow.org" denied the request: '
                  'spec.runtimeRef: Invalid value: "eidos-conformance-missing": ClusterTrainingRuntime not found')

_kmock_parse_path = kmock_parsing.parse_path


def _parse_path(path: str):
    """kmock 0.8 reads /api/v1/namespaces[/NAME] as a namespaced path (see
    tests/fabric/test_fabric_cluster.py, where this patch comes from)."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) in (3, 4):
        return kmock_parsing.ParsedPath("", "v1", "namespaces", None, parts[3] if len(parts) == 4 else None)
    return _kmock_parse_path(path)


def _obj(api, kind, name, ns=None, **rest):
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    meta.update(rest.pop("metadata", {}))
    return {"apiVersion": api, "kind": kind, "metadata": meta, **rest}


def _ready_deployment(name, ns):
    return _obj("apps/v1", "Deployment", name, ns, spec={"replicas": 1},
                status={"replicas": 1, "readyReplicas": 1, "availableReplicas": 1})


def _true(kind):
    return {"conditions": [{"type": kind, "status": "True"}]}


def populate(server, broken: str | None, version: dict) -> None:
    """Runs on the emulator's loop."""
    import kmock

    emu = server.emulator
    resources = RESOURCES + (() if broken == "dra" else DRA_RESOURCES)
    for res, kind, namespaced in resources:
        emu.resources[res] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)
    objects = emu.objects

    def put(res, ns, name, body):
        objects[(res, ns, name)] = body

    def crd(name):
        put("apiextensions.k8s.io/v1/customresourcedefinitions", None, name,
            _obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", name))

    server.broken = broken
    put("v1/nodes", None, "gpu-node-1", _obj(
        "v1", "Node", "gpu-node-1",
        metadata={"labels": {"nvidia.com/gpu.present": "true", "karpenter.sh/nodepool": "gpu",
                             "nvidia.com/gpu.sharing-strategy": "time-slicing", "kubernetes.io/hostname": "gpu-node-1"}},
        spec={"providerID": "aws:///us-east-1a/i-0123456789abcdef0"},
        status={"allocatable": {"nvidia.com/gpu": "8", "cpu": "192"}}))
    put("v1/nodes", None, "cpu-node-1", _obj("v1", "Node", "cpu-node-1",
                                             spec={"providerID": "aws:///us-east-1a/i-0fedcba9876543210"},
                                             status={"allocatable": {"cpu": "16"}}))
    # DRA
    if broken != "dra":
        put("resource.k8s.io/v1/deviceclasses", None, "gpu.nvidia.com", _obj(
            "resource.k8s.io/v1", "DeviceClass", "gpu.nvidia.com",
            spec={"selectors": [{"cel": {"expression": "device.driver == 'gpu.nvidia.com' && "
                                                       "device.attributes['gpu.nvidia.com'].type == 'gpu'"}}]}))
        put("resource.k8s.io/v1/resourceslices", None, "gpu-node-1-gpu.nvidia.com-x", _obj(
            "resource.k8s.io/v1", "ResourceSlice", "gpu-node-1-gpu.nvidia.com-x",
            spec={"driver": "gpu.nvidia.com", "nodeName": "gpu-node-1",
                  "pool": {"name": "gpu-node-1", "generation": 1, "resourceSliceCount": 1},
                  "devices": [{"name": f"gpu-{i}"} for i in range(8)]}))
        # high-performance networking: DRANET (kubernetes-sigs/dranet), its class and one RDMA NIC
        put("resource.k8s.io/v1/deviceclasses", None, "dra.net", _obj(
            "resource.k8s.io/v1", "DeviceClass", "dra.net",
            spec={"selectors": [{"cel": {"expression": "device.driver == 'dra.net'"}}]}))
        put("resource.k8s.io/v1/resourceslices", None, "gpu-node-1-dra.net-x", _obj(
            "resource.k8s.io/v1", "ResourceSlice", "gpu-node-1-dra.net-x",
            spec={"driver": "dra.net", "nodeName": "gpu-node-1",
                  "pool": {"name": "gpu-node-1", "generation": 1, "resourceSliceCount": 1},
                  "devices": [{"name": "eth1", "attributes": {"dra.net/rdma": {"bool": True}}}]}))
    # gang scheduling: KAI
    if broken != "gang":
        crd("queues.scheduling.run.ai")
        crd("podgroups.scheduling.run.ai")
        put("apps/v1/deployments", "kai-scheduler", "kai-scheduler-default",
            _ready_deployment("kai-scheduler-default", "kai-scheduler"))
        put("scheduling.run.ai/v2/queues", None, "default-parent-queue",
            _obj("scheduling.run.ai/v2", "Queue", "default-parent-queue", spec={}))
        put("scheduling.run.ai/v2/queues", None, "default-queue",
            _obj("scheduling.run.ai/v2", "Queue", "default-queue", spec={"parentQueue": "default-parent-queue"}))
    # cluster autoscaling: Karpenter with a GPU NodePool
    if broken != "autoscaler":
        crd("nodepools.karpenter.sh")
        put("karpenter.sh/v1/nodepools", None, "gpu", _obj(
            "karpenter.sh/v1", "NodePool", "gpu",
            spec={"limits": {"nvidia.com/gpu": "64"},
                  "template": {"spec": {"requirements": [{"key": "karpenter.k8s.aws/instance-gpu-manufacturer",
                                                          "operator": "In", "values": ["nvidia"]}]}}}))
        put("apps/v1/deployments", "kube-system", "karpenter", _ready_deployment("karpenter", "kube-system"))
    # pod autoscaling: prometheus-adapter serving DCGM metrics
    if broken != "custom-metrics":
        put("apiregistration.k8s.io/v1/apiservices", None, "v1beta1.custom.metrics.k8s.io", _obj(
            "apiregistration.k8s.io/v1", "APIService", "v1beta1.custom.metrics.k8s.io", status=_true("Available")))
        emu["get", re.compile(r"^/apis/custom\.metrics\.k8s\.io/v1beta1/?$")] << {
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "custom.metrics.k8s.io/v1beta1",
            "resources": [{"name": "pods/DCGM_FI_DEV_GPU_UTIL", "namespaced": True, "kind": "MetricValueList",
                           "verbs": ["get"]},
                          {"name": "namespaces/DCGM_FI_DEV_GPU_UTIL", "namespaced": False,
                           "kind": "MetricValueList", "verbs": ["get"]}]}
        # prometheus-adapter externalRules: the metric summed over the cluster's GPUs
        put("apiregistration.k8s.io/v1/apiservices", None, "v1beta1.external.metrics.k8s.io", _obj(
            "apiregistration.k8s.io/v1", "APIService", "v1beta1.external.metrics.k8s.io", status=_true("Available")))
        emu["get", re.compile(r"^/apis/external\.metrics\.k8s\.io/v1beta1/?$")] << {
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "external.metrics.k8s.io/v1beta1",
            "resources": [{"name": "DCGM_FI_DEV_GPU_UTIL", "namespaced": True, "kind": "ExternalMetricValueList",
                           "verbs": ["get"]}]}
        emu["get", re.compile(r"^/apis/external\.metrics\.k8s\.io/v1beta1/namespaces/[^/]+/DCGM_FI_DEV_GPU_UTIL$")] << {
            "kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1", "metadata": {},
            "items": [{"metricName": "DCGM_FI_DEV_GPU_UTIL", "metricLabels": {"gpu": "0", "Hostname": "gpu-node-1"},
                       "timestamp": "2026-11-30T12:00:00Z", "value": f"{GPU_METRIC_VALUE:g}"}]}
    # accelerator metrics: DCGM exporter
    if broken != "dcgm":
        put("apps/v1/daemonsets", "gpu-operator", "nvidia-dcgm-exporter", _obj(
            "apps/v1", "DaemonSet", "nvidia-dcgm-exporter", "gpu-operator",
            metadata={"labels": {"app": "nvidia-dcgm-exporter"}},
            status={"desiredNumberScheduled": 1, "numberReady": 1}))
        put("v1/services", "gpu-operator", "nvidia-dcgm-exporter", _obj(
            "v1", "Service", "nvidia-dcgm-exporter", "gpu-operator",
            spec={"ports": [{"name": "gpu-metrics", "port": 9400}]}))
        text = DCGM_METRICS
        if broken == "dcgm-memory-metric":
            text = "\n".join(line for line in text.splitlines() if "FB_USED" not in line) + "\n"
        emu["get", re.compile(r"^/api/v1/namespaces/gpu-operator/services/nvidia-dcgm-exporter:9400/proxy/metrics$")] \
            << text.encode()
    # AI service metrics: Prometheus (operator) scraping targets
    crd("servicemonitors.monitoring.coreos.com")
    if broken != "prometheus":
        put("v1/services", "monitoring", "prometheus-operated", _obj(
            "v1", "Service", "prometheus-operated", "monitoring",
            metadata={"labels": {"operated-prometheus": "true"}},
            spec={"ports": [{"name": "web", "port": 9090}]}))
        emu["get", re.compile(r"^/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/query")] \
            << {"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"__name__": "up", "job": "vllm", "namespace": "inference"}, "value": [1764500000, "1"]},
                {"metric": {"__name__": "up", "job": "nvidia-dcgm-exporter"}, "value": [1764500000, "1"]}]}}
    # inference gateway
    crd("gateways.gateway.networking.k8s.io")
    crd("httproutes.gateway.networking.k8s.io")
    crd("inferencepools.inference.networking.k8s.io")
    put("gateway.networking.k8s.io/v1/gatewayclasses", None, "kgateway", _obj(
        "gateway.networking.k8s.io/v1", "GatewayClass", "kgateway", status=_true("Accepted")))
    put("gateway.networking.k8s.io/v1/gateways", "kgateway-system", "inference-gateway", _obj(
        "gateway.networking.k8s.io/v1", "Gateway", "inference-gateway", "kgateway-system",
        status={"conditions": [{"type": "Programmed", "status": "False" if broken == "gateway" else "True"}]}))
    put("inference.networking.k8s.io/v1/inferencepools", "inference", "llama", _obj(
        "inference.networking.k8s.io/v1", "InferencePool", "llama", "inference"))
    # robust controller: Kubeflow Trainer and its webhook
    crd("trainjobs.trainer.kubeflow.org")
    if broken != "webhook":
        emu["post", re.compile(r"^/apis/trainer\.kubeflow\.org/v1alpha1/namespaces/default/trainjobs")] << 422 << {
            "apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 422, "reason": "Invalid",
            "message": WEBHOOK_DENIAL}
    else:
        emu["post", re.compile(r"^/apis/trainer\.kubeflow\.org/v1alpha1/namespaces/default/trainjobs")] << 201 << {
            "apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": {"name": "accepted"}}
    # driver/runtime management: GPU Operator
    crd("clusterpolicies.nvidia.com")
    put("nvidia.com/v1/clusterpolicies", None, "cluster-policy", _obj(
        "nvidia.com/v1", "ClusterPolicy", "cluster-policy", status={"state": "ready"}))
    # the DRA test pods' logs
    emu["get", re.compile(r".*/pods/dra-gpu/log$")] << CLAIM_LOG.encode()
    emu["get", re.compile(r".*/pods/net-attach/log$")] << (
        "eidos-net-devices: 0\n" if broken == "hpn" else
        "interface: eth1\nrdma: /dev/infiniband/uverbs0\neidos-net-devices: 2\n").encode()
    emu["get", re.compile(r".*/pods/no-claim/log$")] << (LEAKY_LOG if broken == "isolation" else ISOLATED_LOG).encode()


class FakeKubelet(BackgroundActor):
    """Plays the cluster's controllers for eidos' test objects; remembers what eidos created.

    * the DRA run's pods (namespace ``eidos-conformance-<id>``): put on ``gpu-node-1``, Succeeded;
    * the gang test (``…-gang``): KAI Scheduler — a group is placed only once ``minMember`` of
      its pods exist and all of them fit in gpu-node-1's free GPUs, else every pod gets
      ``PodScheduled=False`` (``gang-partial``: pods placed one by one while GPUs last);
    * the scale-up test (``…-scaleup``): the pod stays Pending (Unschedulable) and Karpenter
      creates a NodeClaim and a ``Nominated`` event (``no-scale-up``: nothing happens);
    * the HPA test (``…-hpa``): the HPA controller's arithmetic for a ``Value`` target,
      desired = ceil(current x value / target) within min/max, written to the HPA's status
      and the Deployment's replicas (``hpa-stuck``: ScalingActive=False, no metric).
    """

    def __init__(self, kube):
        self.kube = kube
        self.broken = getattr(kube, "broken", None)
        super().__init__()
        self.pods: dict = {}
        self.claims: dict = {}
        self.namespaces: set = set()
        self.objects: dict = {}  # (resource, ns, name) -> body, everything eidos created in its namespaces

    def run(self):
        while not self.stop.is_set():
            for (ns, name), body in self.kube.live("v1/namespaces").items():
                if name.startswith("eidos-conformance-"):
                    self.namespaces.add(name)
            for key, body in self.kube.live("resource.k8s.io/v1/resourceclaims").items():
                self.claims[key] = body
            for res in ("scheduling.run.ai/v2alpha2/podgroups", "autoscaling/v2/horizontalpodautoscalers",
                        "apps/v1/deployments"):
                for (ns, name), body in self.kube.live(res).items():
                    if str(ns).startswith("eidos-conformance-"):
                        self.objects[(res, ns, name)] = body
            pods = {k: v for k, v in self.kube.live("v1/pods").items() if str(k[0]).startswith("eidos-conformance-")}
            for key, body in pods.items():
                self.pods.setdefault(key, body)
            self._dra(pods)
            self._gang(pods)
            self._scale_up(pods)
            self._hpa()
            time.sleep(0.02)

    def _put_pod(self, ns, name, body, node, phase, condition=None):
        spec = {**body["spec"], **({"nodeName": node} if node else {})}
        status = {"phase": phase, **({"conditions": [condition]} if condition else {})}
        self.kube.add_object("v1/pods", ns, name, {**body, "spec": spec, "status": status})

    def _dra(self, pods):
        for (ns, name), body in pods.items():
            if (re.fullmatch(r"eidos-conformance-[a-z0-9]+", ns) or ns.endswith("-net")) \
                    and not (body.get("status") or {}).get("phase"):
                self._put_pod(ns, name, body, body["spec"].get("nodeName") or "gpu-node-1", "Succeeded")

    def _gang(self, pods):
        groups: dict = {}
        for (ns, name), body in pods.items():
            if ns.endswith("-gang") and not (body.get("status") or {}).get("phase"):
                group = (body["metadata"].get("annotations") or {}).get("pod-group-name")
                groups.setdefault((ns, group), []).append((name, body))
        used = sum(_gpus(b) for (ns, _), b in pods.items() if ns.endswith("-gang") and b["spec"].get("nodeName"))
        for (ns, group), members in sorted(groups.items(), key=str):
            pg = self.kube.live("scheduling.run.ai/v2alpha2/podgroups").get((ns, group))
            if pg is None:
                continue
            need = sum(_gpus(b) for _, b in members)
            unschedulable = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                             "message": f"PodGroup {group}: not enough resources for the gang "
                                        f"(minMember {pg['spec']['minMember']})"}
            if self.broken == "gang-partial":
                for name, body in members:
                    if used + _gpus(body) <= GPU_CAPACITY:
                        used += _gpus(body)
                        self._put_pod(ns, name, body, "gpu-node-1", "Running")
                    else:
                        self._put_pod(ns, name, body, None, "Pending", unschedulable)
            elif len(members) >= pg["spec"]["minMember"] and used + need <= GPU_CAPACITY:
                used += need
                for name, body in members:
                    self._put_pod(ns, name, body, "gpu-node-1", "Running")
            elif len(members) >= pg["spec"]["minMember"]:
                for name, body in members:
                    self._put_pod(ns, name, body, None, "Pending", unschedulable)

    def _scale_up(self, pods):
        for (ns, name), body in pods.items():
            if not ns.endswith("-scaleup"):
                continue
            if not (body.get("status") or {}).get("phase"):  # the scheduler first, Karpenter on a later pass
                self._put_pod(ns, name, body, None, "Pending", {
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."})
                continue
            if self.broken == "no-scale-up" or self.kube.live("karpenter.sh/v1/nodeclaims"):
                continue
            self.kube.add_object("v1/events", ns, f"{name}.nominated", {
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.nominated", "namespace": ns},
                "involvedObject": {"kind": "Pod", "name": name, "namespace": ns}, "reason": "Nominated",
                "message": "Pod should schedule on: nodeclaim/gpu-x7k2p", "source": {"component": "karpenter"}})
            self.kube.add_object("karpenter.sh/v1/nodeclaims", None, "gpu-x7k2p", {
                "apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
                "metadata": {"name": "gpu-x7k2p", "labels": {"karpenter.sh/nodepool": "gpu"}},
                "spec": {"requirements": [{"key": "karpenter.k8s.aws/instance-gpu-manufacturer",
                                           "operator": "In", "values": ["nvidia"]}]}})

    def _hpa(self):
        for (ns, name), h in self.kube.live("autoscaling/v2/horizontalpodautoscalers").items():
            if not ns.endswith("-hpa"):
                continue
            dep_name = h["spec"]["scaleTargetRef"]["name"]
            dep = self.kube.live("apps/v1/deployments").get((ns, dep_name))
            if dep is None:
                continue
            current = int(dep["spec"].get("replicas") or 1)
            ext = h["spec"]["metrics"][0]["external"]
            if self.broken == "hpa-stuck":
                status = {"currentReplicas": current, "desiredReplicas": current, "conditions": [
                    {"type": "ScalingActive", "status": "False", "reason": "FailedGetExternalMetric",
                     "message": "the HPA was unable to compute the replica count: unable to get external metric"}]}
            else:
                target = _quantity(ext["target"]["value"])
                desired = min(h["spec"]["maxReplicas"], max(h["spec"].get("minReplicas", 1),
                                                            math.ceil(current * GPU_METRIC_VALUE / target)))
                status = {"currentReplicas": current, "desiredReplicas": desired,
                          "currentMetrics": [{"type": "External", "external": {
                              "metric": {"name": ext["metric"]["name"]}, "current": {"value": f"{GPU_METRIC_VALUE:g}"}}}],
                          "conditions": [{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}]}
                if desired != current:
                    self.kube.add_object("apps/v1/deployments", ns, dep_name,
                                         {**dep, "spec": {**dep["spec"], "replicas": desired}})
            if h.get("status") != status:
                self.kube.add_object("autoscaling/v2/horizontalpodautoscalers", ns, name, {**h, "status": status})


def _gpus(pod: dict) -> int:
    return sum(int(((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu", 0))
               for c in pod["spec"]["containers"])


def _quantity(text: str) -> float:
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


@pytest.fixture
def patched_paths(monkeypatch):
    monkeypatch.setattr(kmock_parsing, "parse_path", _parse_path)


def cluster(tmp_path, monkeypatch, broken=None, version=SERVER_VERSION):
    monkeypatch.setattr(kmock_parsing, "parse_path", _parse_path)
    monkeypatch.setattr(snaphelpers, "SERVER_VERSION", version)  # the emulator's /version
    return emulated_cluster(tmp_path, monkeypatch, token="t0ken",
                            setup=lambda server: populate(server, broken, version))
