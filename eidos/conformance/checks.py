"""The conformance checks: each reads the cluster (through :class:`~eidos.conformance.probe.Probe`)
or runs a workload, and returns an :class:`Outcome`.

Rules every check follows (the predecessor broke each of them, ref-aicr §3.8):

* a check that could not run returns ``error`` (the API failed) or ``skip`` (a prerequisite
  is missing, or behavioural tests were turned off), with the reason; never ``pass``;
* nothing is assumed from the provider: a cluster autoscaler is found as objects on the
  cluster (Karpenter NodePools, a cluster-autoscaler Deployment, the autoscaler's status
  ConfigMap naming a GPU node group), on every provider alike;
* DRA is judged on ``resource.k8s.io/v1`` (GA in Kubernetes 1.34), never on a beta version;
* accelerator metrics (the exporter's own endpoint) and AI service metrics (Prometheus
  scraping targets) are separate checks of separate requirements.

Names of the components looked for, with their origin:

* KAI Scheduler — CRDs ``queues``/``podgroups.scheduling.run.ai``, Deployment
  ``kai-scheduler-default`` (github.com/NVIDIA/KAI-Scheduler, deployments/ Helm chart);
* Kueue — CRDs ``clusterqueues``/``workloads.kueue.x-k8s.io``, Deployment
  ``kueue-controller-manager`` (kueue.sigs.k8s.io installation; release manifests.yaml);
* Volcano — CRDs ``podgroups``/``queues.scheduling.volcano.sh``, Deployment
  ``volcano-scheduler`` (volcano.sh installer/volcano-development.yaml);
* scheduler-plugins coscheduling — CRD ``podgroups.scheduling.x-k8s.io``, Deployment
  ``scheduler-plugins-scheduler`` (kubernetes-sigs/scheduler-plugins,
  manifests/install/charts/as-a-second-scheduler);
* Karpenter — CRD ``nodepools.karpenter.sh`` (``karpenter.sh/v1``), Deployment ``karpenter``
  (karpenter.sh docs, getting started chart);
* DCGM exporter — DaemonSet/Service ``nvidia-dcgm-exporter`` on port 9400 and the metrics
  ``DCGM_FI_DEV_GPU_UTIL`` (utilisation) and ``DCGM_FI_DEV_FB_USED`` (frame-buffer memory
  used) (NVIDIA GPU Operator; github.com/NVIDIA/dcgm-exporter default-counters.csv);
* Prometheus — the ``prometheus-operated`` Service the Prometheus Operator creates
  (label ``operated-prometheus=true``, port ``web`` 9090) and the HTTP API ``/api/v1/query``
  (prometheus.io/docs/prometheus/latest/querying/api);
* Gateway API — ``gateways``/``httproutes.gateway.networking.k8s.io``, GatewayClass
  condition ``Accepted`` and Gateway condition ``Programmed`` (gateway-api.sigs.k8s.io
  API reference); Inference Extension — ``inferencepools.inference.networking.k8s.io`` (v1)
  or ``.x-k8s.io`` (alpha) (gateway-api-inference-extension.sigs.k8s.io);
* Kubeflow Trainer — CRD ``trainjobs.trainer.kubeflow.org`` (v1alpha1), whose validating
  webhook rejects a TrainJob naming a runtime that does not exist (kubeflow/trainer
  pkg/webhooks; the predecessor's robust-controller check, ref-aicr §3.8);
* GPU Operator — ``ClusterPolicy`` (``nvidia.com/v1``) ``status.state: ready``; GPU sharing
  as GPU Feature Discovery's ``nvidia.com/gpu.sharing-strategy`` label (``time-slicing``,
  ``mps``) or MIG resources ``nvidia.com/mig-*`` (NVIDIA GPU Operator docs, "Time-Slicing
  GPUs in Kubernetes" and "GPU Operator with MIG").
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from eidos.conformance.probe import Probe, condition, deployment_ready, gpu_nodes, name_of
from eidos.errors import EnvironmentFailure


@attrs.frozen
class Outcome:
    check: str
    status: str  # pass | fail | error | skip
    reason: str
    remedy: str = ""
    what: str = ""  # what was run or read, for the evidence document
    output: tuple[str, ...] = ()


@attrs.frozen
class Check:
    id: str
    title: str
    what: str
    fn: Callable
    #: a behavioural test (it creates pods): skipped, without calling ``fn``, under --no-workloads
    workload: bool = False


CHECKS: dict[str, Check] = {}
NO_WORKLOADS = "behavioural test not run (--no-workloads)"


def check(cid: str, title: str, what: str, *, workload: bool = False):
    def register(fn):
        CHECKS[cid] = Check(cid, title, what, fn, workload)
        return fn

    return register


def run_check(cid: str, ctx) -> Outcome:
    """One check, with every API failure turned into an ``error`` outcome."""
    c = CHECKS[cid]
    try:
        out = Outcome(cid, "skip", NO_WORKLOADS) if c.workload and not ctx.opts.workloads else c.fn(ctx)
    except EnvironmentFailure as err:
        out = Outcome(cid, "error", f"could not run: {err.message}",
                      remedy="check the API server is reachable and the credentials may read it")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        # an object or answer not shaped as the API documents it: the check cannot judge it
        out = Outcome(cid, "error", f"could not judge the cluster's answer ({type(err).__name__}: {err})")
    return attrs.evolve(out, check=cid, what=out.what or c.what)


def _deployments(probe: Probe, names: tuple[str, ...]) -> list[dict]:
    return [d for d in probe.list("apps/v1", "deployments")
            if (d.get("metadata") or {}).get("name") in names]


# ---- DRA -------------------------------------------------------------------------------

DRA_GV = "resource.k8s.io/v1"
DRA_RESOURCES = ("deviceclasses", "resourceclaims", "resourceslices")
GPU_DRIVER = "gpu.nvidia.com"


@check("dra-api", "resource.k8s.io/v1 is served",
       "GET /apis/resource.k8s.io/v1 (API discovery)")
def dra_api(ctx) -> Outcome:
    served = ctx.probe.served(DRA_GV)
    if served is None:
        return Outcome("dra-api", "fail", "resource.k8s.io/v1 is not served by the API server",
                       remedy="use Kubernetes 1.34 or later (DRA is GA there) with the resource.k8s.io/v1 API enabled")
    missing = [r for r in DRA_RESOURCES if r not in served]
    if missing:
        return Outcome("dra-api", "fail", f"resource.k8s.io/v1 does not serve {', '.join(missing)}",
                       remedy="enable the DynamicResourceAllocation feature and the resource.k8s.io/v1 API")
    return Outcome("dra-api", "pass", "resource.k8s.io/v1 serves " + ", ".join(DRA_RESOURCES),
                   output=tuple(f"served: {r}" for r in sorted(served)))


def gpu_device_class(probe: Probe) -> tuple[str | None, list[str]]:
    """The DeviceClass for GPUs (the NVIDIA DRA driver's ``gpu.nvidia.com``, or one whose
    selector names that driver) and a description of what was found."""
    if probe.served(DRA_GV) is None:
        return None, ["resource.k8s.io/v1 not served"]
    found = []
    chosen = None
    for dc in probe.list(DRA_GV, "deviceclasses"):
        name = (dc.get("metadata") or {}).get("name")
        exprs = " ".join(str(((s or {}).get("cel") or {}).get("expression", ""))
                         for s in ((dc.get("spec") or {}).get("selectors") or []))
        found.append(f"DeviceClass {name}: {exprs or '(no selector)'}")
        if chosen is None and (name == GPU_DRIVER or GPU_DRIVER in exprs):
            chosen = name
    return chosen, found


@check("dra-device-class", "a GPU DeviceClass and GPU ResourceSlices exist",
       "list deviceclasses and resourceslices (resource.k8s.io/v1)")
def dra_device_class(ctx) -> Outcome:
    cls, found = gpu_device_class(ctx.probe)
    if ctx.probe.served(DRA_GV) is None:
        return Outcome("dra-device-class", "skip", "resource.k8s.io/v1 is not served", output=tuple(found))
    if cls is None:
        return Outcome("dra-device-class", "fail", f"no DeviceClass selects driver {GPU_DRIVER}",
                       remedy="install the NVIDIA DRA driver for GPUs (it creates DeviceClass gpu.nvidia.com)",
                       output=tuple(found))
    slices = [s for s in ctx.probe.list(DRA_GV, "resourceslices")
              if (s.get("spec") or {}).get("driver") == GPU_DRIVER]
    devices = sum(len((s.get("spec") or {}).get("devices") or []) for s in slices)
    out = tuple(found) + tuple(f"ResourceSlice {name_of(s)}: {len((s.get('spec') or {}).get('devices') or [])} device(s)"
                               for s in slices)
    if not devices:
        return Outcome("dra-device-class", "fail", f"DeviceClass {cls} exists but no ResourceSlice publishes a GPU",
                       remedy="check the DRA driver's kubelet plugin runs on the GPU nodes", output=out)
    return Outcome("dra-device-class", "pass",
                   f"DeviceClass {cls}; {devices} GPU device(s) in {len(slices)} ResourceSlice(s)", output=out)


@check("dra-claim-pod", "a ResourceClaim-backed pod runs and sees its GPU",
       "create a ResourceClaim (1 GPU) and a pod using it in a run namespace; read the pod's log")
def dra_claim_pod(ctx) -> Outcome:
    return ctx.dra_run().claim


@check("dra-isolation", "a pod without a claim sees no GPU",
       "run a pod without a ResourceClaim on the GPU node the claim pod used; read its log")
def dra_isolation(ctx) -> Outcome:
    return ctx.dra_run().isolation


# ---- scheduling ----------------------------------------------------------------------------

# (name, CRDs, controller Deployments). Checked against upstream on 2026-11-30:
# KAI: deployments/kai-scheduler/crds/scheduling.run.ai_{queues,podgroups}.yaml and
#   SchedulerDeploymentName = "kai-scheduler-default" (test/e2e/modules/constant/constant.go),
#   github.com/NVIDIA/KAI-Scheduler @ 72de64fc;
# scheduler-plugins: manifests/coscheduling/crd.yaml (podgroups.scheduling.x-k8s.io) and the
#   as-a-second-scheduler chart's Deployment scheduler-plugins-scheduler,
#   github.com/kubernetes-sigs/scheduler-plugins @ 903da7df;
# Kueue: its manager Deployment kueue-controller-manager (kueue.sigs.k8s.io installation);
# Volcano: the volcano-scheduler Deployment in volcano-system (volcano.sh installation).
GANG_SCHEDULERS = (
    ("KAI Scheduler", ("queues.scheduling.run.ai", "podgroups.scheduling.run.ai"), ("kai-scheduler-default",)),
    ("Kueue", ("clusterqueues.kueue.x-k8s.io", "workloads.kueue.x-k8s.io"), ("kueue-controller-manager",)),
    ("Volcano", ("podgroups.scheduling.volcano.sh", "queues.scheduling.volcano.sh"), ("volcano-scheduler",)),
    ("scheduler-plugins coscheduling", ("podgroups.scheduling.x-k8s.io",), ("scheduler-plugins-scheduler",)),
)


def ready_gang_schedulers(probe: Probe) -> tuple[list[str], list[str]]:
    """The gang schedulers installed with a ready controller, in GANG_SCHEDULERS order, and
    what was found of each."""
    lines, ready = [], []
    for name, crds, deps in GANG_SCHEDULERS:
        have = [c for c in crds if probe.crd(c)]
        if not have:
            lines.append(f"{name}: not installed (no {crds[0]})")
            continue
        found = _deployments(probe, deps)
        ok = [d for d in found if deployment_ready(d)]
        lines.append(f"{name}: CRDs {', '.join(have)}; controller "
                     + (", ".join(f"{name_of(d)} {'ready' if deployment_ready(d) else 'not ready'}" for d in found)
                        or f"{deps[0]} not found"))
        if len(have) == len(crds) and ok:
            ready.append(name)
    return ready, lines


@check("gang-scheduler", "a gang scheduler is installed and its controller is ready",
       "look up the CRDs and controller Deployments of KAI Scheduler, Kueue, Volcano and the "
       "scheduler-plugins coscheduling plugin")
def gang_scheduler(ctx) -> Outcome:
    ready, lines = ready_gang_schedulers(ctx.probe)
    if ready:
        return Outcome("gang-scheduler", "pass", f"{', '.join(ready)} installed, controller ready", output=tuple(lines))
    return Outcome("gang-scheduler", "fail", "no gang scheduler with a ready controller",
                   remedy="install one of KAI Scheduler, Kueue, Volcano or scheduler-plugins coscheduling",
                   output=tuple(lines))


@check("gang-all-or-nothing", "a pod group is placed all-or-nothing",
       "through the installed gang scheduler, a group that fits runs all its pods and a group larger "
       "than what fits places none (eidos/conformance/gang.py)", workload=True)
def gang_all_or_nothing(ctx) -> Outcome:
    ready, _ = ready_gang_schedulers(ctx.probe)
    if not ready:
        return Outcome("gang-all-or-nothing", "skip", "cannot run: no gang scheduler with a ready controller")
    from eidos.conformance.gang import run_gang

    return run_gang(ctx.probe.cluster, ctx.probe, ready[0], ctx.probe_options(), ctx.warn)


# Providers whose cluster autoscaler runs in the control plane, invisible as a Deployment:
# GKE (cluster autoscaler and node auto-provisioning, cloud.google.com/kubernetes-engine/docs/
# concepts/cluster-autoscaler) and AKS (learn.microsoft.com/azure/aks/cluster-autoscaler);
# the providerID schemes are the cloud providers' (gce://, azure://).
MANAGED_AUTOSCALER = {"gce": "GKE's cluster autoscaler / node auto-provisioning", "azure": "AKS's cluster autoscaler"}

NODE_GROUP_LABELS = ("eks.amazonaws.com/nodegroup", "cloud.google.com/gke-nodepool",
                     "kubernetes.azure.com/agentpool", "karpenter.sh/nodepool")


@check("gpu-node-autoscaler", "a node autoscaler can scale a GPU node group",
       "look up Karpenter NodePools with GPU capacity, cluster-autoscaler Deployments and the "
       "autoscaler's status ConfigMap kube-system/cluster-autoscaler-status, against the GPU nodes' groups")
def gpu_node_autoscaler(ctx) -> Outcome:
    nodes = ctx.probe.list("v1", "nodes")
    gpus = gpu_nodes(nodes)
    providers = sorted({_provider(n) for n in nodes})
    lines = [f"nodes: {len(nodes)}, GPU nodes: {len(gpus)}, providers: {', '.join(providers) or 'none'}"]
    groups = sorted({f"{k}={v}" for n in gpus for k, v in ((n.get("metadata") or {}).get("labels") or {}).items()
                     if k in NODE_GROUP_LABELS})
    lines.append("GPU node groups: " + (", ".join(groups) or "none"))
    # Karpenter
    if ctx.probe.crd("nodepools.karpenter.sh"):
        pools = ctx.probe.list("karpenter.sh/v1", "nodepools")
        gpu_pools = [p for p in pools if _gpu_nodepool(p)]
        ctrl = [d for d in _deployments(ctx.probe, ("karpenter",)) if deployment_ready(d)]
        lines.append(f"Karpenter: {len(pools)} NodePool(s), GPU: {', '.join(name_of(p) for p in gpu_pools) or 'none'}; "
                     f"controller {'ready' if ctrl else 'not ready or not found'}")
        if gpu_pools and ctrl:
            return Outcome("gpu-node-autoscaler", "pass",
                           f"Karpenter NodePool {name_of(gpu_pools[0])} can provision GPU nodes", output=tuple(lines))
    # cluster-autoscaler (self-managed)
    cas = [d for d in ctx.probe.list("apps/v1", "deployments")
           if "cluster-autoscaler" in str((d.get("metadata") or {}).get("name", ""))]
    for d in cas:
        lines.append(f"cluster-autoscaler Deployment {name_of(d)}: {'ready' if deployment_ready(d) else 'not ready'}")
    status = ctx.probe.get("/api/v1/namespaces/kube-system/configmaps/cluster-autoscaler-status")
    status_text = str(((status or {}).get("data") or {}).get("status", ""))
    named = [g for g in groups if g.split("=", 1)[1] and g.split("=", 1)[1] in status_text]
    lines.append("cluster-autoscaler-status: " + ("absent" if status is None else
                                                   f"names GPU node group(s): {', '.join(named) or 'none'}"))
    if any(deployment_ready(d) for d in cas) and groups:
        return Outcome("gpu-node-autoscaler", "pass",
                       "cluster-autoscaler is ready and GPU nodes belong to node groups " + ", ".join(groups),
                       output=tuple(lines))
    if named:
        return Outcome("gpu-node-autoscaler", "pass",
                       "the cluster autoscaler's status names GPU node group(s) " + ", ".join(named), output=tuple(lines))
    managed = [p for p in providers if p in MANAGED_AUTOSCALER]
    if managed and gpus and status is None:  # a status that names no GPU group is evidence against
        return Outcome("gpu-node-autoscaler", "pass",
                       f"{MANAGED_AUTOSCALER[managed[0]]} runs in the provider's control plane; whether it adds a GPU "
                       "node is tested by gpu-node-scale-up", output=tuple(lines))
    return Outcome("gpu-node-autoscaler", "fail", "no autoscaler found that manages a GPU node group",
                   remedy="install Karpenter with a NodePool for GPU nodes (limits or requirements on nvidia.com/gpu), "
                          "or enable the cluster autoscaler on the GPU node group",
                   output=tuple(lines))


def _provider(node: dict) -> str:
    """The providerID's scheme (aws, gce, azure); OCI's ids are bare OCIDs (ocid1.instance...)."""
    pid = str((node.get("spec") or {}).get("providerID", ""))
    if pid.startswith("ocid1."):
        return "oci"
    return pid.split("://")[0] if "://" in pid else "unknown"


@check("gpu-node-scale-up", "a pending GPU pod makes the node autoscaler add capacity",
       "create a pod requesting one GPU that no existing node may take; wait for a new Karpenter NodeClaim, "
       "a TriggeredScaleUp event or a new node (eidos/conformance/scaleup.py)", workload=True)
def gpu_node_scale_up(ctx) -> Outcome:
    found = gpu_node_autoscaler(ctx)
    if found.status != "pass":
        return Outcome("gpu-node-scale-up", "skip", "cannot run: no node autoscaler found (see gpu-node-autoscaler)")
    from eidos.conformance.scaleup import run_scale_up

    return run_scale_up(ctx.probe.cluster, ctx.probe, ctx.probe_options(), ctx.warn,
                        karpenter=ctx.probe.crd("nodepools.karpenter.sh"))


def _gpu_nodepool(pool: dict) -> bool:
    spec = pool.get("spec") or {}
    if "nvidia.com/gpu" in (spec.get("limits") or {}):
        return True
    tmpl = ((spec.get("template") or {}).get("spec")) or {}
    for r in tmpl.get("requirements") or []:
        if "gpu" in str((r or {}).get("key", "")).lower():
            return True
    return any("nvidia.com/gpu" == (t or {}).get("key") for t in tmpl.get("taints") or [])


@check("gpu-custom-metrics", "a GPU metric is served by the custom or external metrics API",
       "GET apiservices v1beta1.custom.metrics.k8s.io and v1beta1.external.metrics.k8s.io "
       "(Available), then their discovery documents for GPU metrics")
def gpu_custom_metrics(ctx) -> Outcome:
    lines, metrics = [], []
    for api in ("custom.metrics.k8s.io", "external.metrics.k8s.io"):
        svc = ctx.probe.get(f"/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.{api}")
        if svc is None:
            lines.append(f"APIService v1beta1.{api}: not registered")
            continue
        if not condition(svc, "Available"):
            lines.append(f"APIService v1beta1.{api}: not Available")
            continue
        served = ctx.probe.served(f"{api}/v1beta1") or ()
        gpu = [m for m in served if re.search(r"gpu|dcgm", m, re.IGNORECASE)]
        lines.append(f"APIService v1beta1.{api}: Available; {len(served)} metric(s), GPU: {', '.join(gpu[:8]) or 'none'}")
        metrics += [f"{api}: {m}" for m in gpu]
    if metrics:
        return Outcome("gpu-custom-metrics", "pass", f"{len(metrics)} GPU metric(s) available to the HPA",
                       output=tuple(lines))
    return Outcome("gpu-custom-metrics", "fail", "no GPU metric is served to the HorizontalPodAutoscaler",
                   remedy="install a metrics adapter (e.g. prometheus-adapter) exposing DCGM GPU metrics "
                          "through custom.metrics.k8s.io or external.metrics.k8s.io",
                   output=tuple(lines))


@check("gpu-hpa-scaling", "an HPA on a GPU metric scales a Deployment up and back down",
       "a probe Deployment and an autoscaling/v2 HPA on an external DCGM metric; the target is moved below "
       "and then far above the metric's value (eidos/conformance/hpa.py)", workload=True)
def gpu_hpa_scaling(ctx) -> Outcome:
    from eidos.conformance.hpa import run_hpa

    return run_hpa(ctx.probe.cluster, ctx.probe, ctx.probe_options(), ctx.warn)


# ---- observability ----------------------------------------------------------------------------

DCGM_NAME = "nvidia-dcgm-exporter"
DCGM_PORT = 9400
DCGM_REQUIRED = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED")
DCGM_OPTIONAL = ("DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE")


def _dcgm_daemonsets(probe: Probe) -> list[dict]:
    return [d for d in probe.list("apps/v1", "daemonsets")
            if (d.get("metadata") or {}).get("name") == DCGM_NAME
            or ((d.get("metadata") or {}).get("labels") or {}).get("app") == DCGM_NAME]


@check("dcgm-exporter", "the DCGM exporter runs on GPU nodes",
       "list DaemonSets named or labelled app=nvidia-dcgm-exporter; read numberReady")
def dcgm_exporter(ctx) -> Outcome:
    sets = _dcgm_daemonsets(ctx.probe)
    lines = tuple(f"DaemonSet {name_of(d)}: {int((d.get('status') or {}).get('numberReady') or 0)} ready of "
                  f"{int((d.get('status') or {}).get('desiredNumberScheduled') or 0)}" for d in sets)
    if any(int((d.get("status") or {}).get("numberReady") or 0) >= 1 for d in sets):
        return Outcome("dcgm-exporter", "pass", "the DCGM exporter has ready pods", output=lines)
    return Outcome("dcgm-exporter", "fail",
                   "no ready DCGM exporter" if sets else "no DCGM exporter DaemonSet",
                   remedy="enable dcgmExporter in the GPU Operator (or install dcgm-exporter) on the GPU nodes",
                   output=lines)


@check("dcgm-metrics", "the exporter's endpoint serves GPU utilisation and memory metrics",
       f"GET the {DCGM_NAME} Service's /metrics through the API server's service proxy")
def dcgm_metrics(ctx) -> Outcome:
    services = [s for s in ctx.probe.list("v1", "services") if (s.get("metadata") or {}).get("name") == DCGM_NAME]
    if not services:
        return Outcome("dcgm-metrics", "fail", f"no Service {DCGM_NAME}",
                       remedy="enable the DCGM exporter's Service (GPU Operator dcgmExporter)")
    svc = services[0]
    ns, name = svc["metadata"].get("namespace", "default"), svc["metadata"]["name"]
    port = _port(svc, ("gpu-metrics", "metrics"), DCGM_PORT)
    path = f"/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/metrics"
    text = ctx.probe.cluster.request("GET", path, text=True)
    present = {m for m in DCGM_REQUIRED + DCGM_OPTIONAL if re.search(rf"^{m}[{{ ]", text, re.MULTILINE)}
    sample = tuple(line for line in text.splitlines() if line.split("{")[0].split(" ")[0] in present)[:12]
    missing = [m for m in DCGM_REQUIRED if m not in present]
    what = f"GET {path}"
    if missing:
        return Outcome("dcgm-metrics", "fail", "DCGM metrics missing: " + ", ".join(missing), what=what,
                       remedy="enable the utilisation and memory counters in the exporter's metrics CSV",
                       output=sample)
    return Outcome("dcgm-metrics", "pass", "metrics present: " + ", ".join(sorted(present)), what=what, output=sample)


def _port(svc: dict, names: tuple[str, ...], default: int) -> int:
    ports = (svc.get("spec") or {}).get("ports") or []
    for p in ports:
        if (p or {}).get("name") in names:
            return int(p.get("port"))
    for p in ports:
        if int((p or {}).get("port") or 0) == default:
            return default
    return int(ports[0].get("port")) if ports else default


@check("prometheus-scrape", "Prometheus discovers and scrapes workload metrics",
       "find the Prometheus Service (operated-prometheus=true or app.kubernetes.io/name=prometheus), "
       "query `up` through the API server's service proxy")
def prometheus_scrape(ctx) -> Outcome:
    services = [s for s in ctx.probe.list("v1", "services")
                if ((s.get("metadata") or {}).get("labels") or {}).get("operated-prometheus") == "true"
                or ((s.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name") == "prometheus"]
    crds = [c for c in ("servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com") if ctx.probe.crd(c)]
    lines = [f"Prometheus Operator CRDs: {', '.join(crds) or 'none'}",
             f"Prometheus Services: {', '.join(name_of(s) for s in services) or 'none'}"]
    if not services:
        return Outcome("prometheus-scrape", "fail", "no Prometheus Service found",
                       remedy="install a Prometheus (e.g. kube-prometheus-stack) that scrapes workloads via "
                              "ServiceMonitors/PodMonitors", output=tuple(lines))
    svc = services[0]
    ns, name = svc["metadata"].get("namespace", "default"), svc["metadata"]["name"]
    port = _port(svc, ("web", "http-web"), 9090)
    path = f"/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/api/v1/query"
    answer = ctx.probe.cluster.request("GET", path, query={"query": "up"})
    results = ((answer.get("data") or {}).get("result")) or [] if isinstance(answer, dict) else []
    up = [r for r in results if isinstance(r, dict) and str((r.get("value") or [None, ""])[1]) == "1"]
    jobs = sorted({str((r.get("metric") or {}).get("job", "?")) for r in up})
    lines.append(f"query up: {len(results)} target(s), {len(up)} up; jobs: {', '.join(jobs) or 'none'}")
    what = f"GET {path}?query=up"
    if not up:
        return Outcome("prometheus-scrape", "fail", "Prometheus scrapes no target successfully", what=what,
                       remedy="add a ServiceMonitor or PodMonitor for the workloads and check the targets are up",
                       output=tuple(lines))
    return Outcome("prometheus-scrape", "pass", f"Prometheus scrapes {len(up)} target(s) ({len(jobs)} job(s))",
                   what=what, output=tuple(lines))


# ---- networking ---------------------------------------------------------------------------------

GATEWAY_GV = "gateway.networking.k8s.io/v1"


@check("gateway-api", "Gateway API is installed and a Gateway is programmed",
       "look up the Gateway API CRDs; list GatewayClasses (Accepted) and Gateways (Programmed)")
def gateway_api(ctx) -> Outcome:
    crds = ("gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io")
    missing = [c for c in crds if not ctx.probe.crd(c)]
    if missing:
        return Outcome("gateway-api", "fail", "Gateway API CRDs missing: " + ", ".join(missing),
                       remedy="install the Gateway API CRDs and an implementation (e.g. kgateway, Istio, Envoy Gateway)")
    classes = ctx.probe.list(GATEWAY_GV, "gatewayclasses")
    gateways = ctx.probe.list(GATEWAY_GV, "gateways")
    lines = tuple(f"GatewayClass {name_of(c)}: Accepted={condition(c, 'Accepted')}" for c in classes) + \
        tuple(f"Gateway {name_of(g)}: Programmed={condition(g, 'Programmed')}" for g in gateways)
    programmed = [g for g in gateways if condition(g, "Programmed")]
    if not any(condition(c, "Accepted") for c in classes):
        return Outcome("gateway-api", "fail", "no GatewayClass is Accepted by a controller", output=lines,
                       remedy="install a Gateway API implementation whose controller accepts its GatewayClass")
    if not programmed:
        return Outcome("gateway-api", "fail", "no Gateway is Programmed", output=lines,
                       remedy="create a Gateway of an accepted GatewayClass and check its data plane is programmed")
    return Outcome("gateway-api", "pass", f"Gateway {name_of(programmed[0])} is Programmed", output=lines)


@check("inference-extension", "the Gateway API Inference Extension is installed with an InferencePool",
       "look up the InferencePool CRD (inference.networking.k8s.io, or x-k8s.io alpha); list InferencePools")
def inference_extension(ctx) -> Outcome:
    for group, version in (("inference.networking.k8s.io", "v1"), ("inference.networking.x-k8s.io", "v1alpha2")):
        if ctx.probe.crd(f"inferencepools.{group}"):
            pools = ctx.probe.list(f"{group}/{version}", "inferencepools")
            lines = tuple(f"InferencePool {name_of(p)} ({group}/{version})" for p in pools)
            if pools:
                return Outcome("inference-extension", "pass", f"{len(pools)} InferencePool(s) ({group})", output=lines)
            return Outcome("inference-extension", "fail", f"the InferencePool CRD ({group}) is installed, but no InferencePool",
                           remedy="deploy a model server behind an InferencePool and route to it with an HTTPRoute")
    return Outcome("inference-extension", "fail", "the Gateway API Inference Extension CRDs are not installed",
                   remedy="install the Gateway API Inference Extension CRDs and an implementation that supports them")


@check("hpn-attach", "a pod gets a high-performance network device it asks for",
       "find a DRA network DeviceClass (dra.net) or EFA/RDMA extended resources; a pod asking for one must "
       "see the attached interface or RDMA device (eidos/conformance/network.py)", workload=True)
def hpn_attach(ctx) -> Outcome:
    from eidos.conformance.network import run_network

    return run_network(ctx.probe.cluster, ctx.probe, ctx.probe_options(), ctx.warn)


# ---- operators ------------------------------------------------------------------------------------

TRAINER_GV = "trainer.kubeflow.org/v1alpha1"


@check("ai-operator-webhook", "an AI operator's admission webhook rejects an invalid object",
       "server-side dry-run create of a Kubeflow TrainJob naming a ClusterTrainingRuntime that does not exist; "
       "the API server must answer with the operator's admission webhook denial")
def ai_operator_webhook(ctx) -> Outcome:
    if not ctx.probe.crd("trainjobs.trainer.kubeflow.org"):
        return Outcome("ai-operator-webhook", "fail", "no supported AI operator (Kubeflow Trainer) is installed",
                       remedy="install an AI operator with a CRD and validating webhook (e.g. Kubeflow Trainer); "
                              "for another operator add the evidence by hand")
    from eidos.snapshot.cluster import ClusterError

    runtime = f"eidos-conformance-missing-{ctx.run_id}"
    body = {"apiVersion": TRAINER_GV, "kind": "TrainJob",
            "metadata": {"name": f"eidos-conformance-{ctx.run_id}", "namespace": "default"},
            "spec": {"runtimeRef": {"name": runtime, "kind": "ClusterTrainingRuntime",
                                    "apiGroup": "trainer.kubeflow.org"}}}
    path = f"/apis/{TRAINER_GV}/namespaces/default/trainjobs"
    what = f"POST {path}?dryRun=All (TrainJob with runtimeRef {runtime})"
    try:
        ctx.probe.cluster.request("POST", path, body, query={"dryRun": "All"})
    except ClusterError as err:
        if err.status in (400, 403, 422) and "admission webhook" in err.message:
            return Outcome("ai-operator-webhook", "pass", "the Kubeflow Trainer webhook rejected the invalid TrainJob",
                           what=what, output=(err.message,))
        if err.status in (401, 403):
            return Outcome("ai-operator-webhook", "error", f"not allowed to test the webhook: {err.message}", what=what,
                           remedy="grant create on trainjobs.trainer.kubeflow.org (dry run only) to the user running eidos")
        return Outcome("ai-operator-webhook", "fail", f"the TrainJob was refused, but not by a webhook: {err.message}",
                       what=what, remedy="check the Kubeflow Trainer controller and its validating webhook are running",
                       output=(err.message,))
    return Outcome("ai-operator-webhook", "fail", "the API server accepted a TrainJob naming a missing runtime",
                   what=what, remedy="check the Kubeflow Trainer validating webhook is registered and reachable")


# ---- accelerators (SHOULD) --------------------------------------------------------------------------


@check("gpu-operator-ready", "the GPU Operator manages drivers and runtime, and is ready",
       "list ClusterPolicies (nvidia.com/v1); read status.state")
def gpu_operator_ready(ctx) -> Outcome:
    if not ctx.probe.crd("clusterpolicies.nvidia.com"):
        return Outcome("gpu-operator-ready", "fail", "the NVIDIA GPU Operator is not installed",
                       remedy="install the GPU Operator (or document the platform's own driver/runtime management)")
    policies = ctx.probe.list("nvidia.com/v1", "clusterpolicies")
    lines = tuple(f"ClusterPolicy {name_of(p)}: state={(p.get('status') or {}).get('state')}" for p in policies)
    if any((p.get("status") or {}).get("state") == "ready" for p in policies):
        return Outcome("gpu-operator-ready", "pass", "a ClusterPolicy is ready", output=lines)
    return Outcome("gpu-operator-ready", "fail", "no ClusterPolicy is ready", output=lines,
                   remedy="inspect the GPU Operator's operand pods (driver, toolkit, device plugin)")


@check("gpu-sharing", "GPUs are shared (time-slicing, MPS or MIG)",
       "read the GPU nodes' nvidia.com/gpu.sharing-strategy label and nvidia.com/mig-* resources")
def gpu_sharing(ctx) -> Outcome:
    lines = []
    for n in gpu_nodes(ctx.probe.list("v1", "nodes")):
        labels = (n.get("metadata") or {}).get("labels") or {}
        mig = sorted(k for k in ((n.get("status") or {}).get("allocatable") or {}) if k.startswith("nvidia.com/mig-"))
        strategy = labels.get("nvidia.com/gpu.sharing-strategy", "")
        if strategy in ("time-slicing", "mps") or mig:
            lines.append(f"node {name_of(n)}: sharing-strategy={strategy or 'none'}, MIG: {', '.join(mig) or 'none'}")
    if lines:
        return Outcome("gpu-sharing", "pass", f"{len(lines)} GPU node(s) share GPUs", output=tuple(lines))
    return Outcome("gpu-sharing", "fail", "no GPU node shares its GPUs",
                   remedy="configure time-slicing or MPS in the device plugin, or a MIG profile")
