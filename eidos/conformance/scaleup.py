"""The cluster-autoscaling test: a pending pod asking for one GPU must make the node
autoscaler add capacity, whatever the provider.

The probe pod (in the test's own namespace, :mod:`eidos.conformance.behaviour`) requests
``nvidia.com/gpu: 1`` and, through a required node affinity, refuses every node that exists
now — so it can only run on a node the autoscaler adds, and an idle GPU does not hide a
missing autoscaler. Scale-up evidence, whichever comes first within the timeout:

* Karpenter (self-managed, or EKS Auto Mode): a ``NodeClaim`` (``karpenter.sh/v1``) that did
  not exist before the pod (karpenter.sh/docs/concepts/nodeclaims);
* the cluster autoscaler — self-managed on any provider, OKE's add-on, and the managed ones
  of GKE (including node auto-provisioning) and AKS, which run in the control plane and
  are invisible as Deployments: an Event ``TriggeredScaleUp`` on the pod (reason emitted by
  kubernetes/autoscaler cluster-autoscaler's event recorder, "pod triggered scale-up");
  ``NotTriggerScaleUp`` is recorded as the autoscaler's refusal;
* the pod bound to a node that did not exist before.

The pod is deleted with the namespace on every exit path; a node the autoscaler added is
then empty and removed by the autoscaler's own scale-down (Karpenter consolidation, the
cluster autoscaler's unneeded-node timer) — docs/conformance.md says so, since the test
costs one GPU node for a few minutes.
"""

from __future__ import annotations

from eidos.conformance.behaviour import ProbeOptions, container, events, own_namespace, pod_line, pod_spec, poll
from eidos.conformance.checks import Outcome
from eidos.errors import EnvironmentFailure

POD = "gpu-scale-up"
NODECLAIMS = "/apis/karpenter.sh/v1/nodeclaims"


def _nodeclaims(cluster, karpenter: bool) -> set[str]:
    if not karpenter:
        return set()
    doc = cluster.request("GET", NODECLAIMS)
    return {str((c.get("metadata") or {}).get("name")) for c in (doc.get("items") or []) if isinstance(c, dict)}


def probe_pod(ns: str, image: str, hostnames: list[str]) -> dict:
    one = {"nvidia.com/gpu": "1"}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": sorted(hostnames)}]}]}}} \
        if hostnames else {}
    spec = pod_spec([container(image, "sleep 600", {"requests": {"cpu": "10m", "memory": "16Mi", **one},
                                                      "limits": {"cpu": "10m", "memory": "16Mi", **one}})],
                    tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    **({"affinity": affinity} if affinity else {}))
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "eidos"}},
            "spec": spec}


def run_scale_up(cluster, probe, opts: ProbeOptions, warn, *, karpenter: bool) -> Outcome:
    what = (f"namespace {opts.namespace('scaleup')}: pod {POD} requesting nvidia.com/gpu: 1 with a node affinity "
            "excluding every existing node; wait for a new Karpenter NodeClaim, a TriggeredScaleUp event or a new node")
    lines: list[str] = []
    try:
        nodes = probe.list("v1", "nodes")
        before_nodes = {str((n.get("metadata") or {}).get("name")) for n in nodes}
        hostnames = sorted({str(((n.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/hostname")
                                or (n.get("metadata") or {}).get("name")) for n in nodes})
        before_claims = _nodeclaims(cluster, karpenter)
        lines.append(f"before: {len(before_nodes)} node(s), {len(before_claims)} NodeClaim(s)")
        with own_namespace(cluster, opts, "scaleup", warn) as ns:
            cluster.request("POST", f"/api/v1/namespaces/{ns}/pods", probe_pod(ns, opts.image, hostnames))

            def look() -> dict:  # the newest evidence first: what it follows is then read as well
                claims = sorted(_nodeclaims(cluster, karpenter) - before_claims)
                evs = [e for e in events(cluster, ns) if ((e.get("involvedObject") or {}).get("name")) == POD]
                pod = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{POD}")
                return {"pod": pod, "events": evs, "claims": claims}

            def scaled(seen: dict) -> bool:
                node = (seen["pod"].get("spec") or {}).get("nodeName")
                return bool(seen["claims"]) or any(e.get("reason") == "TriggeredScaleUp" for e in seen["events"]) \
                    or bool(node and node not in before_nodes)

            seen, timed_out = poll(look, scaled, opts)
            lines.append(pod_line(seen["pod"]))
            lines += [f"event {e.get('reason')} ({((e.get('source') or {}).get('component')) or e.get('reportingComponent') or '?'}): "
                      f"{str(e.get('message') or '')[:200]}" for e in seen["events"]]
            lines += [f"new NodeClaim {c}" for c in seen["claims"]]
            if timed_out:
                refused = [e for e in seen["events"] if e.get("reason") == "NotTriggerScaleUp"]
                why = (f"the autoscaler refused to scale up: {str(refused[-1].get('message') or '')[:200]}" if refused else
                       f"no scale-up within {opts.timeout:g}s for a pending pod requesting one GPU")
                return Outcome("gpu-node-scale-up", "fail", why, what=what, output=tuple(lines),
                               remedy="give the autoscaler a GPU node group (or Karpenter NodePool) with room to grow "
                                      "(max size above the current size, GPU limits not exhausted)")
            node = (seen["pod"].get("spec") or {}).get("nodeName")
            how = (f"Karpenter created NodeClaim {seen['claims'][0]}" if seen["claims"] else
                   "the cluster autoscaler reported TriggeredScaleUp" if any(
                       e.get("reason") == "TriggeredScaleUp" for e in seen["events"]) else
                   f"the pod ran on the new node {node}")
            return Outcome("gpu-node-scale-up", "pass", f"a pending GPU pod led to a scale-up: {how}",
                           what=what, output=tuple(lines))
    except EnvironmentFailure as err:
        return Outcome("gpu-node-scale-up", "error", f"could not run: {err.message}", what=what, output=tuple(lines),
                       remedy="the user running eidos needs the permissions listed in docs/security.md")
