"""The agent fanned out over every GPU node: ``eidos snapshot --deploy-agent --all-nodes``.

One Job per GPU node, each pinned to its node by a required node affinity on the node's
name (``matchFields: metadata.name In [node]``, the same pinning the DaemonSet controller
gives its pods). Why not one Indexed Job or a DaemonSet (docs/security.md and docs/cli.md
say the same to users):

* an Indexed Job has one pod template, so index *i* cannot be pinned to node *i*; spreading
  its pods with pod anti-affinity lets a pending pod land on a node whose agent already
  finished (terminated pods no longer repel), so a node can be snapshotted twice and another
  never; and one pod's failure is the whole Job's unless ``backoffLimitPerIndex`` is there;
* a DaemonSet needs ``restartPolicy: Always``: an agent that finishes is restarted, and the
  set never "completes", so a finished node cannot be told from a crash-looping one;
* a Job per node gives each node its own completion or failure (``backoffLimit: 0``: a
  node's failure is recorded, never retried onto another node, never fatal for the others),
  targets exactly the nodes chosen here (no CPU node, whatever its labels), and a node that
  cannot take the pod shows as *its* pending pod.

A run, start to finish (every object labelled ``app.kubernetes.io/managed-by=eidos`` and
``eidos.dev/run=<run-id>``; see :mod:`eidos.snapshot.agent` for the single-node original):

1. list the nodes; the GPU nodes are those with ``nvidia.com/gpu`` allocatable > 0 or the
   label ``nvidia.com/gpu.present=true`` (``--node-selector`` replaces this with exact label
   matches); cordoned ones are recorded as failed at once;
2. create Job 0 *suspended* (the anchor: the ServiceAccount, Role and RoleBinding are owned
   by it, so a SIGKILLed CLI's RBAC goes with that Job's TTL), then the RBAC;
3. for each node *i*, create its ConfigMap ``eidos-snapshot-<run>-<i>`` (labelled with the
   node) and its Job ``eidos-snapshot-<run>-<i>``; resume Job 0;
4. poll the run's Jobs (one list per poll): a complete Job's ConfigMap is read and checked
   (its snapshot must name the node the Job was pinned to); a failed Job is recorded with
   its reason and log tail; at ``--timeout`` every unfinished node is recorded as
   unschedulable (its pod never got a node) or timed out;
5. delete the Jobs and RBAC, and the ConfigMaps of failed nodes (all of them when the
   snapshots went to a directory), on success, failure, timeout and interruption. The
   ConfigMaps of succeeded nodes are the result set, read back by ``cm://NS/?run=ID``
   (:mod:`eidos.snapshot.cmsource`) and removed by ``eidos snapshot --cleanup ID``.

API calls go through a small thread pool (creation and deletion are one request per object;
at thousands of nodes their latency, not bandwidth, is what costs). Library code does not
print: progress goes to a :class:`~eidos.snapshot.agent.Progress`, each node's outcome to
the caller's ``on_node`` callable.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import attrs

from eidos.errors import EidosError, EnvironmentFailure, UsageError
from eidos.snapshot import agent
from eidos.snapshot.agent import MANAGED_BY, MANAGED_BY_LABEL, RUN_LABEL, Progress
from eidos.snapshot.io import dumps, parse_snapshot

NODE_LABEL = "eidos.dev/node"  # on each ConfigMap and Job; also an annotation (names > 63 chars)
INDEX_LABEL = "eidos.dev/node-index"
COMPONENT_LABEL = "app.kubernetes.io/component"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
DEFAULT_WORKERS = 8
# one list of the run's Jobs per poll; at thousands of Jobs a list is large, so the interval
# grows with the fleet (2 s up to 500 nodes, then +1 s per 250 nodes, at most 30 s)
MAX_POLL_INTERVAL = 30.0
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

UNSCHEDULABLE = "unschedulable"
POD_FAILED = "pod failed"
TIMED_OUT = "timed out"
CORDONED = "cordoned"
BAD_SNAPSHOT = "bad snapshot"


@attrs.frozen
class FanoutOptions:
    """What ``--all-nodes`` was asked for. ``node_selector`` empty means "every GPU node"."""

    image: str
    namespace: str = "gpu-operator"
    node_selector: dict = attrs.field(factory=dict)
    tolerations: tuple = agent.DEFAULT_TOLERATIONS
    timeout: float = 600.0
    cleanup: bool = True
    collector_timeout: float = 20.0
    systemd_units: tuple[str, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    run_id: str = attrs.field(factory=agent.new_run_id)
    poll_interval: float | None = None  # None: grows with the fleet (see MAX_POLL_INTERVAL)
    workers: int = DEFAULT_WORKERS
    out_dir: Path | None = None  # snapshots written here (one file per node), ConfigMaps deleted
    fmt: str = "yaml"

    @property
    def agent_name(self) -> str:
        return f"eidos-agent-{self.run_id}"

    def object_name(self, index: int) -> str:
        """Job and ConfigMap of node ``index``: short (a Job name is at most 63 characters),
        whatever the node's name."""
        return f"eidos-snapshot-{self.run_id}-{index}"

    @property
    def labels(self) -> dict:
        return {"app.kubernetes.io/name": "eidos-agent", MANAGED_BY_LABEL: MANAGED_BY, RUN_LABEL: self.run_id}

    @property
    def selector(self) -> str:
        return f"{MANAGED_BY_LABEL}={MANAGED_BY},{RUN_LABEL}={self.run_id}"

    def interval(self, nodes: int) -> float:
        if self.poll_interval is not None:
            return self.poll_interval
        return min(MAX_POLL_INTERVAL, 2.0 + max(0, nodes - 500) / 250)


@attrs.frozen
class NodeOutcome:
    """One node's result: ``source`` (where its snapshot is) when it succeeded, else
    ``reason`` (one of the constants above) and ``detail``."""

    node: str
    index: int
    source: str | None = None
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.source is not None


@attrs.frozen
class FanoutResult:
    run_id: str
    namespace: str
    outcomes: tuple[NodeOutcome, ...]
    created: int  # objects created in the cluster
    kept_configmaps: bool  # the succeeded nodes' ConfigMaps are the result set

    @property
    def succeeded(self) -> tuple[NodeOutcome, ...]:
        return tuple(o for o in self.outcomes if o.ok)

    @property
    def failed(self) -> tuple[NodeOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def set_uri(self) -> str:
        return f"cm://{self.namespace}/?run={self.run_id}"


# ---- choosing the nodes ------------------------------------------------------------------


def _gpu_allocatable(node: dict) -> float:
    value = ((node.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE)
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return 0.0


def is_gpu_node(node: dict, selector: dict | None = None) -> bool:
    """With a selector: every key=value is a label of the node. Without: the node offers
    ``nvidia.com/gpu`` (the device plugin's resource) or carries GPU feature discovery's
    ``nvidia.com/gpu.present=true`` (a GPU node whose plugin is not up yet still counts)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    if selector:
        return all(labels.get(k) == v for k, v in selector.items())
    return _gpu_allocatable(node) > 0 or labels.get(GPU_PRESENT_LABEL) == "true"


def select_nodes(nodes: list[dict], selector: dict | None = None) -> list[dict]:
    """The target nodes, sorted by name (the index order of the run's objects)."""
    chosen = [n for n in nodes if (n.get("metadata") or {}).get("name") and is_gpu_node(n, selector)]
    return sorted(chosen, key=lambda n: n["metadata"]["name"])


# ---- manifests ---------------------------------------------------------------------------


def _agent_options(opts: FanoutOptions) -> agent.AgentOptions:
    return agent.AgentOptions(
        image=opts.image, namespace=opts.namespace, node_selector={}, tolerations=opts.tolerations,
        timeout=opts.timeout, collector_timeout=opts.collector_timeout, systemd_units=opts.systemd_units,
        image_pull_secrets=opts.image_pull_secrets, run_id=opts.run_id)


def _node_labels(opts: FanoutOptions, index: int, node: str) -> dict:
    labels = {**opts.labels, INDEX_LABEL: str(index)}
    if _LABEL_VALUE.match(node):  # a label value is at most 63 characters; a node name 253
        labels[NODE_LABEL] = node
    return labels


def job_manifest(opts: FanoutOptions, index: int, node: str, *, suspend: bool = False) -> dict:
    """The single-node agent's Job (same pod, same security context, same host paths),
    pinned to ``node`` and writing to its own ConfigMap."""
    job = agent.job_manifest(_agent_options(opts))
    name = opts.object_name(index)
    labels = _node_labels(opts, index, node)
    job["metadata"] = {"name": name, "namespace": opts.namespace, "labels": labels,
                       "annotations": {NODE_LABEL: node}}
    spec = job["spec"]
    spec["suspend"] = suspend
    spec["template"]["metadata"] = {"labels": dict(labels)}
    pod = spec["template"]["spec"]
    pod.pop("nodeSelector", None)
    pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}
    args = pod["containers"][0]["args"]
    args[args.index("--out") + 1] = f"cm://{opts.namespace}/{name}"
    # JSON, the format the fleet reader loads fastest (docs/performance.md); still readable
    args[args.index("-o") + 1] = "json"
    return job


def configmap_manifest(opts: FanoutOptions, index: int, node: str) -> dict:
    """Pre-created, empty: the agent may only patch it (``create`` cannot be limited to a
    name). Not owned by the Job: a succeeded node's ConfigMap outlives the Job as the result."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": opts.object_name(index), "namespace": opts.namespace,
                         "labels": _node_labels(opts, index, node), "annotations": {NODE_LABEL: node}},
            "data": {}}


def rbac_manifests(opts: FanoutOptions, count: int, anchor_uid: str | None = None,
                   anchor_index: int = 0) -> list[dict]:
    """ServiceAccount, Role, RoleBinding shared by every agent of the run. The Role grants
    ``patch`` (the one verb the agent uses) on the run's ConfigMaps by name, nothing else."""
    def meta(name):
        m = {"name": name, "namespace": opts.namespace, "labels": dict(opts.labels)}
        if anchor_uid:
            m["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job",
                                     "name": opts.object_name(anchor_index), "uid": anchor_uid}]
        return m

    name = opts.agent_name
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(name),
         "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                    "resourceNames": [opts.object_name(i) for i in range(count)],
                    "verbs": ["patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(name),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": opts.namespace}]},
    ]


def manifests(opts: FanoutOptions, nodes: list[str]) -> list[dict]:
    """Every object a run over ``nodes`` creates (pure: no cluster needed)."""
    out = [job_manifest(opts, 0, nodes[0], suspend=True)] if nodes else []
    out += rbac_manifests(opts, len(nodes)) if nodes else []
    for i, node in enumerate(nodes):
        out.append(configmap_manifest(opts, i, node))
        if i:
            out.append(job_manifest(opts, i, node))
    return out


# ---- the run -----------------------------------------------------------------------------


class _Run:
    """The mutable state of one run: what was created (for cleanup), what finished."""

    def __init__(self, cluster, opts: FanoutOptions, progress: Progress, on_node):
        self.cluster, self.opts, self.progress, self.on_node = cluster, opts, progress, on_node
        self.created: list[tuple[str, str]] = []  # (kind, name), attempted, in creation order
        self.outcomes: dict[int, NodeOutcome] = {}
        self.nodes: list[str] = []
        self.lock = threading.Lock()
        self.started = 0
        self.pool = futures.ThreadPoolExecutor(max(1, opts.workers), thread_name_prefix="eidos-fanout")

    def record(self, outcome: NodeOutcome) -> None:
        self.outcomes[outcome.index] = outcome
        self.on_node(outcome)

    def status(self, what: str) -> None:
        done = len(self.outcomes)
        failed = sum(1 for o in self.outcomes.values() if not o.ok)
        with self.lock:
            self.progress.update(f"{what}: {done}/{len(self.nodes)} nodes done, {failed} failed")

    def deployed(self) -> None:
        """One more node's objects exist (called from the pool's threads)."""
        with self.lock:
            self.started += 1
            if self.started % 50 == 0 or self.started == len(self.nodes):
                self.progress.update(f"creating agent Jobs: {self.started}/{len(self.nodes)} nodes")

    def create(self, manifest: dict) -> dict:
        self.created.append((manifest["kind"], manifest["metadata"]["name"]))
        return self.cluster.create(manifest)

    def parallel(self, fn, items) -> None:
        """``fn`` over ``items`` on the pool; the first error is raised once all finished
        (nothing may still be creating while cleanup runs)."""
        pending = [self.pool.submit(fn, item) for item in items]
        try:
            for f in futures.as_completed(pending):
                f.result()
        except BaseException:
            for f in pending:
                f.cancel()
            futures.wait(pending)
            raise


def run_fanout(cluster, opts: FanoutOptions, progress: Progress | None = None, *,
               warn: Callable[[str], None] | None = None,
               on_node: Callable[[NodeOutcome], None] | None = None) -> FanoutResult:
    """Snapshot every target node; never raises for one node's failure (it is an outcome).
    Raises :class:`EnvironmentFailure` when the run itself cannot proceed (listing nodes,
    creating objects), :class:`~eidos.snapshot.agent.Interrupted`/``KeyboardInterrupt`` on a
    signal; the run's objects are deleted before either propagates."""
    progress = progress or Progress(enabled=False)
    warn = warn or agent._default_warn
    run = _Run(cluster, opts, progress, on_node or (lambda outcome: None))
    if opts.out_dir is not None:
        opts.out_dir.mkdir(parents=True, exist_ok=True)
    ok = False
    try:
        progress.update("listing nodes")
        targets = select_nodes(cluster.list_nodes(), opts.node_selector)
        if not targets:
            what = (", ".join(f"{k}={v}" for k, v in sorted(opts.node_selector.items()))
                    if opts.node_selector else f"{GPU_RESOURCE} allocatable or {GPU_PRESENT_LABEL}=true")
            raise EnvironmentFailure(f"no node matches {what}: nothing to snapshot",
                                     hint="check --node-selector, or that the GPU operator's device plugin runs")
        run.nodes = [n["metadata"]["name"] for n in targets]
        _deploy(run, targets)
        _wait(run)
        ok = True
    finally:
        run.pool.shutdown(wait=True, cancel_futures=True)
        progress.done()
        _finish(run, keep_results=ok and opts.out_dir is None, warn=warn)
    outcomes = tuple(run.outcomes[i] for i in sorted(run.outcomes))
    return FanoutResult(opts.run_id, opts.namespace, outcomes, len(run.created),
                        kept_configmaps=opts.out_dir is None)


def _deploy(run: _Run, targets: list[dict]) -> None:
    opts = run.opts
    schedulable = [(i, n) for i, n in enumerate(run.nodes) if not (targets[i].get("spec") or {}).get("unschedulable")]
    for i, node in enumerate(run.nodes):
        if (targets[i].get("spec") or {}).get("unschedulable"):
            run.record(NodeOutcome(node, i, reason=CORDONED, detail="node is cordoned (spec.unschedulable)"))
    if not schedulable:
        return
    anchor_index, anchor_node = schedulable[0]
    run.status("creating objects")
    anchor = run.create(job_manifest(opts, anchor_index, anchor_node, suspend=True))
    uid = (anchor.get("metadata") or {}).get("uid") if isinstance(anchor, dict) else None
    for manifest in rbac_manifests(opts, len(run.nodes), uid, anchor_index):
        run.create(manifest)

    def one(item):
        i, node = item
        run.create(configmap_manifest(opts, i, node))
        if i != anchor_index:
            run.create(job_manifest(opts, i, node))
        run.deployed()

    run.parallel(one, schedulable)
    run.cluster.patch("Job", opts.object_name(anchor_index), opts.namespace, {"spec": {"suspend": False}})
    run.status("agents started")


def _condition(job: dict, kind: str) -> dict | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == kind and str(c.get("status")) == "True":
            return c
    return None


def _wait(run: _Run) -> None:
    opts = run.opts
    index_of = {opts.object_name(i): i for i in range(len(run.nodes))}
    start = time.monotonic()
    deadline = start + opts.timeout
    interval = opts.interval(len(run.nodes))
    while len(run.outcomes) < len(run.nodes):
        jobs = run.cluster.list_objects("Job", opts.namespace, label_selector=opts.selector)
        finished = []
        for job in jobs:
            i = index_of.get((job.get("metadata") or {}).get("name"))
            if i is None or i in run.outcomes:
                continue
            status = job.get("status") or {}
            if _condition(job, "Complete") or (status.get("succeeded") or 0) > 0:
                finished.append((i, True, None))
            elif _condition(job, "Failed") or (status.get("failed") or 0) > 0:
                finished.append((i, False, _condition(job, "Failed") or {}))
        if finished:
            run.parallel(lambda item: _collect(run, *item), finished)
        elapsed = time.monotonic() - start
        run.status(f"agents ({elapsed:.0f}s)")
        if len(run.outcomes) >= len(run.nodes):
            return
        if time.monotonic() >= deadline:
            _expire(run)
            return
        time.sleep(min(interval, max(deadline - time.monotonic(), 0.01)))


def _collect(run: _Run, index: int, complete: bool, failed_cond: dict | None) -> None:
    """Read a finished node's snapshot (or its failure) into an outcome."""
    opts, node = run.opts, run.nodes[index]
    name = opts.object_name(index)
    if not complete:
        why = ": ".join(x for x in (failed_cond.get("reason"), failed_cond.get("message")) if x) or "the pod failed"
        run.record(NodeOutcome(node, index, reason=POD_FAILED, detail=why + _log_tail(run, index)))
        return
    uri = f"cm://{opts.namespace}/{name}"
    try:
        cm = run.cluster.get_configmap(opts.namespace, name)
        data = cm.get("data") or {}
        text = next((data[k] for k in ("snapshot.yaml", "snapshot.json") if isinstance(data.get(k), str)), None)
        if text is None:
            raise EnvironmentFailure(f"{uri}: the agent finished but wrote no snapshot")
        snap = parse_snapshot(text, uri)
        if snap.source_node != node:
            # every agent of a run shares one ServiceAccount: a snapshot naming another node is
            # a mix-up (or a pod writing where it should not), never silently accepted
            raise EnvironmentFailure(f"{uri}: snapshot is of node {snap.source_node!r}, expected {node!r}")
    except EidosError as err:
        run.record(NodeOutcome(node, index, reason=BAD_SNAPSHOT, detail=err.message))
        return
    if opts.out_dir is not None:
        from eidos.io.output import write_atomic

        ext = "json" if opts.fmt == "json" else "yaml"
        path = opts.out_dir / f"{node}.{ext}"
        same = (opts.fmt == "json") == text.lstrip().startswith("{")  # the agent's text is canonical
        write_atomic(path, text if same else dumps(snap, opts.fmt))
        run.record(NodeOutcome(node, index, source=str(path)))
    else:
        run.record(NodeOutcome(node, index, source=uri))


def _expire(run: _Run) -> None:
    """At the deadline: each unfinished node is unschedulable (its pod never got a node) or
    timed out (it did, and did not finish), with the pod's last state."""
    opts = run.opts
    try:
        pods = run.cluster.list_pods(opts.namespace, label_selector=opts.selector)
    except EnvironmentFailure:
        pods = []
    by_index: dict[int, dict] = {}
    for pod in pods:
        try:
            by_index[int(((pod.get("metadata") or {}).get("labels") or {}).get(INDEX_LABEL, ""))] = pod
        except ValueError:
            continue
    for i, node in enumerate(run.nodes):
        if i in run.outcomes:
            continue
        pod = by_index.get(i)
        status = (pod or {}).get("status") or {}
        sched = next((c for c in status.get("conditions") or []
                      if isinstance(c, dict) and c.get("type") == "PodScheduled"), None)
        if pod is None:
            reason, detail = TIMED_OUT, "no agent pod was created"
        elif sched and str(sched.get("status")) == "False":
            reason, detail = UNSCHEDULABLE, sched.get("message") or sched.get("reason") or "pod not scheduled"
        else:
            reason, detail = TIMED_OUT, f"pod {status.get('phase') or 'Pending'}"
            for cs in status.get("containerStatuses") or []:
                waiting = ((cs or {}).get("state") or {}).get("waiting") or {}
                if waiting.get("reason"):
                    detail += f", {waiting['reason']}"
        run.record(NodeOutcome(node, i, reason=reason, detail=f"{detail} (after {opts.timeout:g}s)"))


def _log_tail(run: _Run, index: int, lines: int = 5) -> str:
    opts = run.opts
    try:
        pods = run.cluster.list_pods(opts.namespace, label_selector=f"{opts.selector},{INDEX_LABEL}={index}")
        if not pods:
            return ""
        log = run.cluster.pod_log(opts.namespace, pods[0]["metadata"]["name"], tail_lines=lines)
    except (EnvironmentFailure, KeyError, TypeError):
        return ""
    tail = [line for line in log.splitlines() if line.strip()][-lines:]
    return ("; last log lines: " + " | ".join(tail)) if tail else ""


def _finish(run: _Run, *, keep_results: bool, warn: Callable[[str], None]) -> None:
    """Delete what the run created: Jobs first (their pods go with them), then the RBAC,
    then every ConfigMap except the succeeded nodes' when they are the result set."""
    opts = run.opts
    if not run.created:
        return
    if not opts.cleanup:
        warn(f"kept the objects of agent run {opts.run_id} (--no-cleanup); remove them with: "
             f"eidos snapshot --cleanup {opts.run_id} --namespace {opts.namespace}")
        return
    kept = {opts.object_name(o.index) for o in run.outcomes.values() if o.ok} if keep_results else set()
    order = {"Job": 0, "RoleBinding": 1, "Role": 2, "ServiceAccount": 3, "ConfigMap": 4}
    doomed = sorted({(k, n) for k, n in run.created if not (k == "ConfigMap" and n in kept)},
                    key=lambda kn: (order.get(kn[0], 9), kn[1]))
    failures: list[tuple[str, str, str]] = []

    def delete(kind_name):
        kind, name = kind_name
        try:
            run.cluster.delete(kind, name, opts.namespace)
        except EnvironmentFailure as err:
            failures.append((kind, name, err.message))

    from eidos.snapshot.runspace import signals_ignored

    with signals_ignored(), futures.ThreadPoolExecutor(max(1, opts.workers)) as pool:
        list(pool.map(delete, doomed))
    if failures:
        failures.sort()
        warn(agent.leftover_message(opts, failures, limit=10))


def check_out_dir(out: str | None) -> Path | None:
    """``--out`` for ``--all-nodes``: absent (the ConfigMaps are the result) or a directory."""
    if out is None:
        return None
    if out == "-" or out.startswith("cm://"):
        raise UsageError(f"--all-nodes --out {out!r}: give a directory (one file per node), or no --out "
                         "to keep the snapshots in ConfigMaps (read back with cm://NAMESPACE/?run=ID)")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--all-nodes --out {out}: not a directory")
    return path

