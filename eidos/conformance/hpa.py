"""The pod-autoscaling test: a HorizontalPodAutoscaler on a GPU metric scales a probe
Deployment up, and back down when the metric falls below its target.

eidos cannot load the cluster's GPUs, so it moves the target instead of the metric: it
reads the GPU metric's current value from the external metrics API
(``/apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>``, as the HPA controller
does), creates an ``autoscaling/v2`` HPA whose ``External`` metric target is a quarter of
that value (so the desired replicas are 4x the current, capped at ``maxReplicas`` 3), and
waits for the HPA to report the metric in ``status.currentMetrics`` and ``desiredReplicas``
above 1, and for the Deployment's replicas to follow. It then raises the target a
thousandfold above the value (the metric is now far below target) and waits for both to
return to 1. ``behavior.scaleDown.stabilizationWindowSeconds: 0`` lifts the default
five-minute scale-down window (kubernetes.io/docs/tasks/run-application/
horizontal-pod-autoscale, "Stabilization window"; the autoscaling/v2 API reference for the
``External`` metric source, ``Value`` target and ``currentMetrics``). The HPA's replica
arithmetic for a ``Value`` target: desired = ceil(current replicas x value / target).

The metric is the first DCGM metric the external metrics API serves with a value above 0
(``DCGM_FI_DEV_GPU_UTIL`` first; an idle GPU's utilisation is 0, its temperature and power
are not — the DCGM exporter's default-counters.csv). A GPU metric served only per pod or
namespace (``custom.metrics.k8s.io``) belongs to the GPU workloads' own namespaces, where
the test's HPA cannot point: the check then reports an ``error`` saying so, never a pass.
"""

from __future__ import annotations

import math

from eidos.conformance.behaviour import ProbeOptions, container, own_namespace, poll, quantity
from eidos.conformance.checks import Outcome
from eidos.errors import EnvironmentFailure

EXTERNAL = "external.metrics.k8s.io/v1beta1"
METRICS = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP")
DEPLOYMENT, HPA, MAX_REPLICAS = "gpu-metric-probe", "gpu-metric-probe", 3


def deployment(ns: str, image: str) -> dict:
    labels = {"app.kubernetes.io/name": DEPLOYMENT, "app.kubernetes.io/managed-by": "eidos"}
    small = {"cpu": "10m", "memory": "16Mi"}
    spec = {"automountServiceAccountToken": False, "terminationGracePeriodSeconds": 1,
            "containers": [container(image, "sleep 3600", {"requests": small, "limits": small})]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": DEPLOYMENT, "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": DEPLOYMENT}},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def hpa(ns: str, metric: str, target_milli: int) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": HPA, "namespace": ns},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": DEPLOYMENT},
                     "minReplicas": 1, "maxReplicas": MAX_REPLICAS,
                     "metrics": [{"type": "External", "external": {
                         "metric": {"name": metric}, "target": {"type": "Value", "value": f"{max(target_milli, 1)}m"}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0},
                                  "scaleUp": {"stabilizationWindowSeconds": 0}}}}


def served_gpu_metrics(probe) -> list[str]:
    served = probe.served(EXTERNAL) or ()
    return [m for m in METRICS if m in served]


def _value(cluster, ns: str, metric: str) -> float:
    doc = cluster.request("GET", f"/apis/{EXTERNAL}/namespaces/{ns}/{metric}")
    return sum(quantity((i or {}).get("value", "0")) for i in (doc.get("items") or []))


def _hpa_line(h: dict) -> str:
    st = h.get("status") or {}
    cur = []
    for m in st.get("currentMetrics") or []:
        ext = (m or {}).get("external") or {}
        cur.append(f"{(ext.get('metric') or {}).get('name')}={(ext.get('current') or {}).get('value')}")
    conds = ", ".join(f"{c.get('type')}={c.get('status')} {c.get('reason') or ''}".rstrip()
                      for c in st.get("conditions") or [] if isinstance(c, dict))
    return (f"HPA: desired replicas {st.get('desiredReplicas')}, "
            f"metrics {', '.join(cur) or 'none'}; {conds or 'no conditions'}")[:300]


def run_hpa(cluster, probe, opts: ProbeOptions, warn) -> Outcome:
    what = (f"namespace {opts.namespace('hpa')}: Deployment {DEPLOYMENT} (1 replica) and an autoscaling/v2 HPA on an "
            "external DCGM metric; target below the metric's value (must scale up), then far above it (must scale "
            "back to 1); judged from the HPA status and the Deployment's replicas")
    lines: list[str] = []
    try:
        metrics = served_gpu_metrics(probe)
        lines.append(f"external metrics API GPU metrics: {', '.join(metrics) or 'none'}")
        if not metrics:
            return Outcome("gpu-hpa-scaling", "error",
                           "cannot run: no DCGM metric is served by the external metrics API (the HPA test needs one)",
                           what=what, output=tuple(lines),
                           remedy="expose a DCGM metric through external.metrics.k8s.io (prometheus-adapter "
                                  "externalRules, or KEDA), or add the pod-autoscaling evidence by hand")
        with own_namespace(cluster, opts, "hpa", warn) as ns:
            values = {}
            for m in metrics:
                values[m] = _value(cluster, ns, m)
                lines.append(f"{m} = {values[m]:g}")
                if values[m] > 0:
                    break
            metric = next((m for m in metrics if values.get(m, 0) > 0), None)
            if metric is None:
                return Outcome("gpu-hpa-scaling", "error",
                               "cannot run: every served GPU metric is 0 now, so no target can be below it",
                               what=what, output=tuple(lines),
                               remedy="serve a GPU metric that is above 0 on idle GPUs (DCGM_FI_DEV_GPU_TEMP, "
                                      "DCGM_FI_DEV_POWER_USAGE) through the external metrics API")
            value = values[metric]
            cluster.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", deployment(ns, opts.image))
            low = int(value * 1000 / 4)
            path = f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
            cluster.request("POST", path, hpa(ns, metric, low))
            lines.append(f"HPA target {metric} = {low}m (value {value:g}): expect {MAX_REPLICAS} replicas")

            def look() -> tuple[dict, dict]:
                return (cluster.request("GET", f"{path}/{HPA}"),
                        cluster.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{DEPLOYMENT}"))

            def replicas(seen) -> tuple[int, int, bool]:
                h, d = seen
                st = h.get("status") or {}
                reported = any(((m or {}).get("external") or {}).get("metric", {}).get("name") == metric
                               for m in st.get("currentMetrics") or [])
                return int(st.get("desiredReplicas") or 0), int((d.get("spec") or {}).get("replicas") or 0), reported

            up, timed_out = poll(look, lambda s: replicas(s)[0] > 1 and replicas(s)[1] > 1 and replicas(s)[2], opts)
            scaled_to = replicas(up)[1]
            lines += ["scale up: " + _hpa_line(up[0]), f"scale up: Deployment replicas {scaled_to}"]
            if timed_out:
                return Outcome("gpu-hpa-scaling", "fail",
                               f"the HPA did not scale the Deployment up on {metric} within {opts.timeout:g}s",
                               what=what, output=tuple(lines),
                               remedy="check the HPA's conditions (ScalingActive, AbleToScale) and that the metrics "
                                      "adapter answers for the HPA's namespace")
            high = int(math.ceil(value * 1000 * 1000))
            cluster.request("PATCH", f"{path}/{HPA}", {"spec": hpa(ns, metric, high)["spec"]},
                            content_type="application/merge-patch+json")
            lines.append(f"HPA target {metric} = {high}m: expect 1 replica")
            down, timed_out = poll(look, lambda s: replicas(s)[0] == 1 and replicas(s)[1] == 1, opts)
            lines += ["scale down: " + _hpa_line(down[0]), f"scale down: Deployment replicas {replicas(down)[1]}"]
            if timed_out:
                return Outcome("gpu-hpa-scaling", "fail",
                               f"the HPA scaled up but not back down within {opts.timeout:g}s once {metric} was "
                               "below its target", what=what, output=tuple(lines),
                               remedy="check the HPA's scale-down behaviour and conditions (kubectl describe hpa)")
            return Outcome("gpu-hpa-scaling", "pass",
                           f"the HPA on {metric} scaled the Deployment 1 -> {scaled_to} -> 1",
                           what=what, output=tuple(lines))
    except EnvironmentFailure as err:
        return Outcome("gpu-hpa-scaling", "error", f"could not run: {err.message}", what=what, output=tuple(lines),
                       remedy="the user running eidos needs the permissions listed in docs/security.md")
