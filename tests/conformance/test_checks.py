"""The checks on their own, against a scripted cluster: the paths the kmock clusters do not
take (other gang schedulers and autoscalers, API failures, interruption of the DRA run)."""

from __future__ import annotations

import pytest

from eidos.conformance.checks import run_check
from eidos.conformance.probe import Probe
from eidos.conformance.run import Context, RunOptions
from eidos.conformance.workload import DraOptions, run_dra
from eidos.snapshot.cluster import ClusterError, Forbidden, NotFound


class Scripted:
    """``request``/``crd_exists``/``create``/``delete`` answered from ``answers`` (path ->
    value or exception); every call recorded."""

    description = "scripted"

    def __init__(self, answers=None, crds=()):
        self.answers, self.crds, self.calls = dict(answers or {}), set(crds), []

    def request(self, method, path, body=None, query=None, *, text=False):
        self.calls.append((method, path))
        for key in ((method, path), path):
            if key in self.answers:
                value = self.answers[key]
                if isinstance(value, BaseException):
                    raise value
                return value
        raise NotFound(f"{method} {path}: not found", 404)

    def crd_exists(self, name):
        return name in self.crds

    def server_version(self):
        return {"gitVersion": "v1.35.0"}

    def create(self, manifest):
        self.calls.append(("create", manifest["kind"], manifest["metadata"]["name"]))
        return manifest

    def delete(self, kind, name, namespace=None):
        self.calls.append(("delete", kind, name))
        return True

    def pod_log(self, ns, name, **kw):
        return self.answers.get(("log", name), "")


def _ctx(cluster):
    return Context(Probe(cluster), RunOptions(version="1.35", version_source="flag", run_id="x1"), lambda m: None)


def _items(*objs):
    return {"items": list(objs)}


def _dep(name, ns, available=1, replicas=1):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"replicas": replicas},
            "status": {"availableReplicas": available}}


def test_kueue_counts_as_gang_scheduler_only_when_ready():
    crds = {"clusterqueues.kueue.x-k8s.io", "workloads.kueue.x-k8s.io"}
    ready = Scripted({"/apis/apps/v1/deployments": _items(_dep("kueue-controller-manager", "kueue-system"))}, crds)
    assert run_check("gang-scheduler", _ctx(ready)).status == "pass"
    down = Scripted({"/apis/apps/v1/deployments": _items(_dep("kueue-controller-manager", "kueue-system", 0))}, crds)
    out = run_check("gang-scheduler", _ctx(down))
    assert out.status == "fail" and any("not ready" in line for line in out.output)


def test_cluster_autoscaler_deployment_with_gpu_node_groups_passes():
    nodes = _items({"metadata": {"name": "g", "labels": {"eks.amazonaws.com/nodegroup": "gpu-ng"}},
                    "spec": {"providerID": "aws:///x"}, "status": {"allocatable": {"nvidia.com/gpu": "8"}}})
    c = Scripted({"/api/v1/nodes": nodes,
                  "/apis/apps/v1/deployments": _items(_dep("cluster-autoscaler", "kube-system"))})
    assert run_check("gpu-node-autoscaler", _ctx(c)).status == "pass"


def test_managed_autoscaler_status_must_name_the_gpu_node_group():
    nodes = _items({"metadata": {"name": "g", "labels": {"cloud.google.com/gke-nodepool": "h100-pool"}},
                    "spec": {"providerID": "gce://p/z/g"}, "status": {"allocatable": {"nvidia.com/gpu": "8"}}})
    status = "/api/v1/namespaces/kube-system/configmaps/cluster-autoscaler-status"
    named = Scripted({"/api/v1/nodes": nodes, status: {"data": {"status": "NodeGroups:\n  Name: h100-pool\n"}}})
    assert run_check("gpu-node-autoscaler", _ctx(named)).status == "pass"
    other = Scripted({"/api/v1/nodes": nodes, status: {"data": {"status": "NodeGroups:\n  Name: cpu-pool\n"}}})
    assert run_check("gpu-node-autoscaler", _ctx(other)).status == "fail"


def test_gke_without_a_scale_up_is_not_passed_by_provider():
    """GKE's autoscaler runs in the control plane: found 'managed', never claimed without the
    scale-up test (tests/conformance/test_behaviour.py runs it); --no-workloads leaves the
    requirement unestablished."""
    from eidos.conformance import requirements as reqs
    from eidos.conformance.run import judge

    nodes = _items({"metadata": {"name": "g", "labels": {"cloud.google.com/gke-nodepool": "h100-pool"}},
                    "spec": {"providerID": "gce://p/z/g"}, "status": {"allocatable": {"nvidia.com/gpu": "8"}}})
    c = Scripted({"/api/v1/nodes": nodes})
    ctx = Context(Probe(c), RunOptions(version="1.35", version_source="flag", run_id="x1", workloads=False),
                  lambda m: None)
    outcomes = (run_check("gpu-node-autoscaler", ctx), run_check("gpu-node-scale-up", ctx))
    assert [o.status for o in outcomes] == ["pass", "skip"]
    rset = reqs.load("1.35")
    req = next(r for r in rset.requirements if r.id == "cluster_autoscaling")
    assert judge(req, rset, reqs.load_mapping().get(req.id), outcomes).status == "error"


def test_api_failure_is_an_error_never_a_pass():
    c = Scripted({"/apis/resource.k8s.io/v1": ClusterError("GET /apis/resource.k8s.io/v1: boom (HTTP 500)", 500)})
    out = run_check("dra-api", _ctx(c))
    assert out.status == "error" and "boom" in out.reason


def test_rbac_denial_of_the_dry_run_is_an_error_not_a_webhook_pass():
    path = "/apis/trainer.kubeflow.org/v1alpha1/namespaces/default/trainjobs"
    c = Scripted({("POST", path): Forbidden('trainjobs is forbidden: User "u" cannot create', 403)},
                 {"trainjobs.trainer.kubeflow.org"})
    assert run_check("ai-operator-webhook", _ctx(c)).status == "error"


def test_dcgm_without_the_utilisation_metric_fails():
    svc = {"metadata": {"name": "nvidia-dcgm-exporter", "namespace": "gpu-operator"},
           "spec": {"ports": [{"name": "gpu-metrics", "port": 9400}]}}
    path = "/api/v1/namespaces/gpu-operator/services/nvidia-dcgm-exporter:9400/proxy/metrics"
    # a comment naming the metric is not the metric
    c = Scripted({"/api/v1/services": _items(svc), path: "# HELP DCGM_FI_DEV_GPU_UTIL x\nDCGM_FI_DEV_FB_USED{gpu=\"0\"} 1\n"})
    out = run_check("dcgm-metrics", _ctx(c))
    assert out.status == "fail" and "DCGM_FI_DEV_GPU_UTIL" in out.reason


def test_prometheus_with_only_down_targets_fails():
    svc = {"metadata": {"name": "prometheus-operated", "namespace": "m", "labels": {"operated-prometheus": "true"}},
           "spec": {"ports": [{"name": "web", "port": 9090}]}}
    path = "/api/v1/namespaces/m/services/prometheus-operated:9090/proxy/api/v1/query"
    c = Scripted({"/api/v1/services": _items(svc),
                  path: {"status": "success", "data": {"result": [{"metric": {"job": "a"}, "value": [0, "0"]}]}}})
    assert run_check("prometheus-scrape", _ctx(c)).status == "fail"


def test_interrupted_dra_run_still_deletes_its_namespace():
    c = Scripted({"/api/v1/namespaces/eidos-conformance-x1/pods/dra-gpu": KeyboardInterrupt()})
    c.answers[("POST", "/apis/resource.k8s.io/v1/namespaces/eidos-conformance-x1/resourceclaims")] = {}
    c.answers[("POST", "/api/v1/namespaces/eidos-conformance-x1/pods")] = {}
    with pytest.raises(KeyboardInterrupt):
        run_dra(c, DraOptions(run_id="x1", device_class="gpu.nvidia.com", timeout=5, poll_interval=0.01))
    assert ("delete", "Namespace", "eidos-conformance-x1") in c.calls


def test_pod_that_never_finishes_fails_and_cleans_up():
    ns = "eidos-conformance-x1"
    c = Scripted({f"/api/v1/namespaces/{ns}/pods/dra-gpu": {"status": {"phase": "Pending"}},
                  ("POST", f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaims"): {},
                  ("POST", f"/api/v1/namespaces/{ns}/pods"): {}})
    run = run_dra(c, DraOptions(run_id="x1", device_class="gpu.nvidia.com", timeout=0.2, poll_interval=0.01))
    assert run.claim.status == "fail" and "did not finish within" in run.claim.reason
    assert run.isolation.status == "skip"
    assert ("delete", "Namespace", ns) in c.calls


def test_malformed_answer_is_an_error_not_a_crash():
    svc = {"metadata": {"name": "nvidia-dcgm-exporter", "namespace": "gpu-operator"},
           "spec": {"ports": [{"name": "gpu-metrics", "port": None}]}}
    out = run_check("dcgm-metrics", _ctx(Scripted({"/api/v1/services": _items(svc)})))
    assert out.status == "error" and "could not judge" in out.reason
