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

import re
import threading
import time

import pytest
from kmock._internal import parsing as kmock_parsing

from tests.snapshot import snaphelpers
from tests.snapshot.snaphelpers import emulated_cluster

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
}

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

    put("v1/nodes", None, "gpu-node-1", _obj(
        "v1", "Node", "gpu-node-1",
        metadata={"labels": {"nvidia.com/gpu.present": "true", "karpenter.sh/nodepool": "gpu",
                             "nvidia.com/gpu.sharing-strategy": "time-slicing"}},
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
    # gang scheduling: KAI
    if broken != "gang":
        crd("queues.scheduling.run.ai")
        crd("podgroups.scheduling.run.ai")
        put("apps/v1/deployments", "kai-scheduler", "kai-scheduler-default",
            _ready_deployment("kai-scheduler-default", "kai-scheduler"))
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
    emu["get", re.compile(r".*/pods/no-claim/log$")] << (LEAKY_LOG if broken == "isolation" else ISOLATED_LOG).encode()


class FakeKubelet:
    """Schedules and completes the DRA test pods; remembers what eidos created."""

    def __init__(self, kube):
        self.kube = kube
        self.stop = threading.Event()
        self.pods: dict = {}
        self.claims: dict = {}
        self.namespaces: set = set()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def run(self):
        while not self.stop.is_set():
            for (ns, name), body in self.kube.live("v1/namespaces").items():
                if name.startswith("eidos-conformance-"):
                    self.namespaces.add(name)
            for key, body in self.kube.live("resource.k8s.io/v1/resourceclaims").items():
                self.claims[key] = body
            for (ns, name), body in self.kube.live("v1/pods").items():
                if not str(ns).startswith("eidos-conformance-") or (body.get("status") or {}).get("phase"):
                    continue
                self.pods[(ns, name)] = body
                spec = {**body["spec"], "nodeName": body["spec"].get("nodeName") or "gpu-node-1"}
                self.kube.add_object("v1/pods", ns, name, {**body, "spec": spec, "status": {"phase": "Succeeded"}})
            time.sleep(0.02)


@pytest.fixture
def patched_paths(monkeypatch):
    monkeypatch.setattr(kmock_parsing, "parse_path", _parse_path)


def cluster(tmp_path, monkeypatch, broken=None, version=SERVER_VERSION):
    monkeypatch.setattr(kmock_parsing, "parse_path", _parse_path)
    monkeypatch.setattr(snaphelpers, "SERVER_VERSION", version)  # the emulator's /version
    return emulated_cluster(tmp_path, monkeypatch, token="t0ken",
                            setup=lambda server: populate(server, broken, version))
