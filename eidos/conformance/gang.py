"""The gang-scheduling test: all-or-nothing placement of a pod group, through whichever gang
scheduler is installed (KAI Scheduler, Kueue, Volcano, scheduler-plugins coscheduling).

Two groups in the test's own namespace (:mod:`eidos.conformance.behaviour`):

* ``fits`` — 2 pods of 10m CPU / 16Mi each, the group's minimum 2: both must be placed and
  reach Running (or Succeeded);
* ``too-big`` — one pod more than there are GPU nodes, each asking for as many GPUs as the
  largest GPU node has, the group's minimum all of them: any one pod could be placed on an
  idle GPU node, the whole group cannot. None may be bound to a node; each must carry the
  ``PodScheduled=False`` condition the scheduler (or Kueue's admission gate) writes, with its
  reason, which the evidence quotes.

A scheduler that places pods one by one binds some of ``too-big`` (or, on a full cluster,
leaves all of them pending without a gang — which the ``fits`` group rules out as the
cause). The verdicts come only from the pods' ``spec.nodeName``, ``status.phase`` and
``PodScheduled`` condition.

How each scheduler is asked for a group (checked against upstream on 2026-11-30):

* KAI Scheduler — ``PodGroup`` ``scheduling.run.ai/v2alpha2`` (``spec.minMember``,
  ``spec.queue``), the pod annotation ``pod-group-name`` and label ``kai.scheduler/queue``,
  ``schedulerName: kai-scheduler`` (pkg/common/constants/constants.go; pods with the
  annotation and no owner keep their group, pkg/podgrouper/pod_controller.go); the queue is
  ``default-queue`` (docs/quickstart/default-queues.yaml, ``scheduling.run.ai/v2``) or else
  the first queue with a ``parentQueue`` (a leaf) — github.com/NVIDIA/KAI-Scheduler @ 72de64fc;
* Kueue — a pod group: labels ``kueue.x-k8s.io/queue-name`` and ``kueue.x-k8s.io/pod-group-name``,
  annotation ``kueue.x-k8s.io/pod-group-total-count``; Kueue gates the pods
  (``kueue.x-k8s.io/admission``) until the whole group is admitted. The test's LocalQueue
  (``kueue.x-k8s.io/v1beta1``) points at a ClusterQueue covering ``nvidia.com/gpu``
  (site/content/en/docs/tasks/run/plain_pods.md, pkg/controller/jobs/pod/constants) —
  github.com/kubernetes-sigs/kueue @ ff69552e79;
* Volcano — ``PodGroup`` ``scheduling.volcano.sh/v1beta1`` (``spec.minMember``, queue
  ``default``), pod annotation ``scheduling.k8s.io/group-name``, ``schedulerName: volcano``
  (staging/src/volcano.sh/apis/pkg/apis/scheduling/v1beta1/labels.go and types.go
  DefaultQueue) — github.com/volcano-sh/volcano @ ed72c7c81;
* scheduler-plugins coscheduling — ``PodGroup`` ``scheduling.x-k8s.io/v1alpha1``
  (``spec.minMember``), pod label ``scheduling.x-k8s.io/pod-group``, ``schedulerName:
  scheduler-plugins-scheduler`` (scheduler-plugins.sigs.k8s.io/docs/plugins/coscheduling and
  the as-a-second-scheduler chart).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

from eidos.conformance.behaviour import ProbeOptions, container, own_namespace, pod_condition, pod_line, pod_spec, poll
from eidos.conformance.checks import Outcome
from eidos.errors import EnvironmentFailure

FIT_SIZE = 2
SMALL = {"cpu": "10m", "memory": "16Mi"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@attrs.frozen
class Group:
    """How one scheduler is asked to place a group: objects to create first (API path, body),
    and what each pod of the group carries."""

    objects: tuple[tuple[str, dict], ...]
    labels: dict
    annotations: dict
    scheduler_name: str | None


def _kai(ns: str, name: str, size: int, queue: str) -> Group:
    pg = {"apiVersion": "scheduling.run.ai/v2alpha2", "kind": "PodGroup",
          "metadata": {"name": name, "namespace": ns}, "spec": {"minMember": size, "queue": queue}}
    return Group(((f"/apis/scheduling.run.ai/v2alpha2/namespaces/{ns}/podgroups", pg),),
                 {"kai.scheduler/queue": queue}, {"pod-group-name": name}, "kai-scheduler")


def _kueue(ns: str, name: str, size: int, queue: str) -> Group:
    return Group((), {"kueue.x-k8s.io/queue-name": "eidos-gang", "kueue.x-k8s.io/pod-group-name": name},
                 {"kueue.x-k8s.io/pod-group-total-count": str(size)}, None)


def _volcano(ns: str, name: str, size: int, queue: str) -> Group:
    pg = {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
          "metadata": {"name": name, "namespace": ns}, "spec": {"minMember": size, "queue": queue}}
    return Group(((f"/apis/scheduling.volcano.sh/v1beta1/namespaces/{ns}/podgroups", pg),),
                 {}, {"scheduling.k8s.io/group-name": name}, "volcano")


def _coscheduling(ns: str, name: str, size: int, queue: str) -> Group:
    pg = {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
          "metadata": {"name": name, "namespace": ns}, "spec": {"minMember": size}}
    return Group(((f"/apis/scheduling.x-k8s.io/v1alpha1/namespaces/{ns}/podgroups", pg),),
                 {"scheduling.x-k8s.io/pod-group": name}, {}, "scheduler-plugins-scheduler")


BUILDERS: dict[str, Callable[[str, str, int, str], Group]] = {
    "KAI Scheduler": _kai, "Kueue": _kueue, "Volcano": _volcano, "scheduler-plugins coscheduling": _coscheduling,
}


def queue_for(scheduler: str, probe) -> tuple[str | None, str]:
    """The queue the test's groups go to, or None with the reason it cannot be chosen."""
    if scheduler == "KAI Scheduler":
        queues = probe.list("scheduling.run.ai/v2", "queues")
        names = [str((q.get("metadata") or {}).get("name")) for q in queues]
        if "default-queue" in names:
            return "default-queue", "KAI queue default-queue"
        leaves = [str((q.get("metadata") or {}).get("name")) for q in queues if (q.get("spec") or {}).get("parentQueue")]
        return (leaves[0], f"KAI queue {leaves[0]} (a leaf queue)") if leaves else (None, "no KAI leaf queue")
    if scheduler == "Kueue":
        for cq in probe.list("kueue.x-k8s.io/v1beta1", "clusterqueues"):
            covered = {str(r) for g in ((cq.get("spec") or {}).get("resourceGroups") or [])
                       for r in (g or {}).get("coveredResources") or []}
            if "nvidia.com/gpu" in covered:
                name = str((cq.get("metadata") or {}).get("name"))
                return name, f"Kueue ClusterQueue {name} (covers nvidia.com/gpu)"
        return None, "no Kueue ClusterQueue covers nvidia.com/gpu"
    if scheduler == "Volcano":
        return "default", "Volcano queue default"
    return "", "no queue (coscheduling has none)"


def _pod(ns: str, name: str, group: Group, image: str, resources: dict, *, gpu: bool) -> dict:
    extra: dict = {"tolerations": [GPU_TOLERATION]} if gpu else {}
    if group.scheduler_name:
        extra["schedulerName"] = group.scheduler_name
    meta = {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "eidos", **group.labels}}
    if group.annotations:
        meta["annotations"] = dict(group.annotations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": pod_spec([container(image, "sleep 600", resources)], **extra)}


def _pods(cluster, ns: str, names: list[str]) -> list[dict]:
    doc = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
    by_name = {(p.get("metadata") or {}).get("name"): p for p in (doc.get("items") or []) if isinstance(p, dict)}
    return [by_name.get(n) or {"metadata": {"name": n}} for n in names]


def gpu_sizing(nodes: list[dict]) -> tuple[int, int]:
    """(GPU nodes, the largest node's allocatable nvidia.com/gpu)."""
    counts = []
    for n in nodes:
        try:
            counts.append(int(str(((n.get("status") or {}).get("allocatable") or {}).get("nvidia.com/gpu", "0"))))
        except ValueError:
            continue
    counts = [c for c in counts if c > 0]
    return len(counts), max(counts, default=0)


def run_gang(cluster, probe, scheduler: str, opts: ProbeOptions, warn) -> Outcome:
    """Both groups through ``scheduler``; never raises for the cluster's answers."""
    what = (f"namespace {opts.namespace('gang')}: through {scheduler}, group 'fits' ({FIT_SIZE} pods of 10m CPU, "
            "minimum all) must all run; group 'too-big' (GPU nodes + 1 pods, each the largest node's GPU count, "
            "minimum all) must place none")
    lines = [f"scheduler under test: {scheduler}"]
    try:
        queue, how = queue_for(scheduler, probe)
        lines.append(how)
        if queue is None:
            return Outcome("gang-all-or-nothing", "error", f"cannot run: {how}", what=what, output=tuple(lines),
                           remedy="create a queue the test may submit to (see docs/conformance.md)")
        nodes, per_pod = gpu_sizing(probe.list("v1", "nodes"))
        if not per_pod:
            return Outcome("gang-all-or-nothing", "error", "cannot size the group: no node has nvidia.com/gpu allocatable",
                           what=what, output=tuple(lines))
        big = nodes + 1
        lines.append(f"GPU nodes: {nodes}, largest: {per_pod} GPU(s); 'too-big' = {big} pods x {per_pod} GPU(s)")
        with own_namespace(cluster, opts, "gang", warn) as ns:
            if scheduler == "Kueue":
                cluster.request("POST", f"/apis/kueue.x-k8s.io/v1beta1/namespaces/{ns}/localqueues",
                                {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
                                 "metadata": {"name": "eidos-gang", "namespace": ns},
                                 "spec": {"clusterQueue": queue}})
            build = BUILDERS[scheduler]
            fit = _submit(cluster, ns, "fits", build(ns, "fits", FIT_SIZE, queue), FIT_SIZE, opts.image,
                          {"requests": SMALL, "limits": SMALL}, gpu=False)
            pods, timed_out = poll(lambda: _pods(cluster, ns, fit), _settled_running, opts)
            lines += ["group 'fits':"] + [pod_line(p) for p in pods]
            running = [p for p in pods if (p.get("status") or {}).get("phase") in ("Running", "Succeeded")]
            if len(running) < FIT_SIZE:
                why = (f"the group that fits was not placed: {len(running)} of {FIT_SIZE} pods running"
                       + (f" after {opts.timeout:g}s" if timed_out else ""))
                return Outcome("gang-all-or-nothing", "fail", why, what=what, output=tuple(lines),
                               remedy=f"check {scheduler} schedules pod groups (its scheduler logs, the queue's quota)")
            gpus = {"nvidia.com/gpu": str(per_pod)}
            too_big = _submit(cluster, ns, "too-big", build(ns, "too-big", big, queue), big, opts.image,
                              {"requests": {**SMALL, **gpus}, "limits": {**SMALL, **gpus}}, gpu=True)
            pods, timed_out = poll(lambda: _pods(cluster, ns, too_big), _bound_or_all_unschedulable, opts)
            if not any(_bound(p) for p in pods) and not timed_out:  # one more look: nothing bound a cycle later
                time.sleep(min(opts.poll_interval, 1.0))
                pods = _pods(cluster, ns, too_big)
            lines += ["group 'too-big':"] + [pod_line(p) for p in pods]
            bound = [p for p in pods if _bound(p)]
            if bound:
                return Outcome("gang-all-or-nothing", "fail",
                               f"{len(bound)} of {big} pods of a group that cannot fit were placed (not all-or-nothing)",
                               what=what, output=tuple(lines),
                               remedy=f"check the pods reach {scheduler} (schedulerName, group annotations) and its "
                                      "gang plugin is enabled")
            if timed_out:
                return Outcome("gang-all-or-nothing", "fail",
                               f"the scheduler did not act on the group within {opts.timeout:g}s (no PodScheduled condition)",
                               what=what, output=tuple(lines),
                               remedy=f"check {scheduler} is running and watches the namespace")
            reasons = sorted({str((pod_condition(p, "PodScheduled") or {}).get("reason") or "") for p in pods})
            return Outcome("gang-all-or-nothing", "pass",
                           f"{scheduler}: the group that fits ran ({FIT_SIZE}/{FIT_SIZE}); none of the {big} pods of "
                           f"the group that cannot fit was placed ({', '.join(r for r in reasons if r) or 'pending'})",
                           what=what, output=tuple(lines))
    except EnvironmentFailure as err:
        return Outcome("gang-all-or-nothing", "error", f"could not run: {err.message}", what=what, output=tuple(lines),
                       remedy="the user running eidos needs the permissions listed in docs/security.md")


def _submit(cluster, ns: str, name: str, group: Group, size: int, image: str, resources: dict, *, gpu: bool) -> list[str]:
    for path, body in group.objects:
        cluster.request("POST", path, body)
    names = [f"{name}-{i}" for i in range(size)]
    for pod in names:
        cluster.request("POST", f"/api/v1/namespaces/{ns}/pods", _pod(ns, pod, group, image, resources, gpu=gpu))
    return names


def _bound(pod: dict) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _settled_running(pods: list[dict]) -> bool:
    phases = [(p.get("status") or {}).get("phase") for p in pods]
    return all(ph in ("Running", "Succeeded") for ph in phases) or "Failed" in phases


def _bound_or_all_unschedulable(pods: list[dict]) -> bool:
    if any(_bound(p) for p in pods):
        return True
    return all(str((pod_condition(p, "PodScheduled") or {}).get("status")) == "False" for p in pods)
