"""The snapshot agent: run the node collectors on a GPU node through a Kubernetes Job.

One run, start to finish:

1. create a ServiceAccount, a Role and a RoleBinding, all named ``eidos-agent-<run-id>``
   and labelled ``eidos.dev/run-id=<run-id>``;
2. create a Job ``eidos-snapshot-<run-id>`` whose pod mounts the host at ``/host`` read-only
   and runs ``eidos snapshot --host-root /host --no-cluster -o cm://<ns>/eidos-snapshot-<run-id>``;
3. poll the Job (with progress on a terminal) until it completes, fails or ``--timeout``;
4. read the ConfigMap, add the cluster view (``K8s``) collected here with the caller's own
   credentials, and hand the snapshot back for writing wherever ``-o`` says;
5. delete everything it created (Job with its pods, ConfigMap, RBAC) on success, failure,
   timeout and Ctrl-C, unless ``--no-cleanup``.

Least privilege: the agent's only permission is to create its one ConfigMap (and get/patch
that name). It needs no ClusterRole at all, because the cluster-wide reads (nodes, pods,
ClusterPolicy) are done by the CLI with the user's identity, which has to be able to create
the Job anyway. So there are no cluster-scoped objects to collide between runs or to leak,
and every object name carries the run id.
"""

from __future__ import annotations

import secrets
import signal
import sys
import threading
import time
from typing import TextIO

import attrs

from eidos.errors import EnvironmentFailure, UsageError
from eidos.snapshot.io import parse_snapshot
from eidos.snapshot.model import Snapshot

RUN_LABEL = "eidos.dev/run-id"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
DEFAULT_NODE_SELECTOR = {"nvidia.com/gpu.present": "true"}
DEFAULT_TOLERATIONS = ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)
HOST_MOUNT = "/host"


def parse_node_selector(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--node-selector {item!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def parse_toleration(text: str) -> dict:
    """``key=value:Effect`` (Equal), ``key:Effect`` (Exists), ``key=value`` / ``key`` (any
    effect), ``*`` or ``*:Effect`` (every taint; must be asked for explicitly)."""
    spec, sep, effect = text.rpartition(":") if ":" in text else (text, "", "")
    effect = effect.strip()
    if sep and effect not in EFFECTS:
        raise UsageError(f"--toleration {text!r}: effect must be one of {', '.join(EFFECTS)}")
    spec = spec.strip()
    if not spec:
        raise UsageError(f"--toleration {text!r}: expected key[=value][:Effect]")
    tol: dict = {}
    if spec == "*":
        tol["operator"] = "Exists"
    else:
        key, eq, value = spec.partition("=")
        if not key.strip():
            raise UsageError(f"--toleration {text!r}: the key is empty")
        tol["key"] = key.strip()
        if eq:
            tol["operator"] = "Equal"
            tol["value"] = value.strip()
        else:
            tol["operator"] = "Exists"
    if effect:
        tol["effect"] = effect
    return tol


def new_run_id() -> str:
    return secrets.token_hex(3)


@attrs.frozen
class AgentOptions:
    image: str
    namespace: str = "gpu-operator"
    node_selector: dict = attrs.field(factory=lambda: dict(DEFAULT_NODE_SELECTOR))
    tolerations: tuple = DEFAULT_TOLERATIONS
    timeout: float = 300.0
    cleanup: bool = True
    collector_timeout: float = 20.0
    systemd_units: tuple[str, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    run_id: str = attrs.field(factory=new_run_id)
    poll_interval: float = 2.0

    @property
    def agent_name(self) -> str:
        return f"eidos-agent-{self.run_id}"

    @property
    def job_name(self) -> str:
        return f"eidos-snapshot-{self.run_id}"

    @property
    def configmap(self) -> str:
        return f"eidos-snapshot-{self.run_id}"

    @property
    def labels(self) -> dict:
        return {
            "app.kubernetes.io/name": "eidos-agent",
            "app.kubernetes.io/managed-by": "eidos",
            RUN_LABEL: self.run_id,
        }


def manifests(opts: AgentOptions) -> list[dict]:
    """Every object the run creates, in creation order (pure: no cluster needed)."""
    ns, name, labels = opts.namespace, opts.agent_name, opts.labels

    def meta(obj_name: str) -> dict:
        return {"name": obj_name, "namespace": ns, "labels": dict(labels)}

    args = [
        "snapshot",
        "--host-root", HOST_MOUNT,
        "--no-cluster",
        "--format", "yaml",
        "--collector-timeout", f"{opts.collector_timeout:g}",
        "-o", f"cm://{ns}/{opts.configmap}",
    ]
    for unit in opts.systemd_units:
        args += ["--systemd-unit", unit]
    pod_spec: dict = {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        # /proc/sys/net shows the reader's network namespace; the host's is what we want
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "nodeSelector": dict(opts.node_selector),
        "tolerations": [dict(t) for t in opts.tolerations],
        "containers": [
            {
                "name": "eidos",
                "image": opts.image,
                "command": ["eidos"],
                "args": args,
                "env": [
                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    # lets the NVIDIA container runtime inject nvidia-smi without claiming a GPU
                    {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
                    {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "utility"},
                ],
                "securityContext": {
                    "runAsUser": 0,
                    "privileged": False,
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]},
                },
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"memory": "512Mi"},
                },
                "volumeMounts": [
                    {"name": "host", "mountPath": HOST_MOUNT, "readOnly": True,
                     "mountPropagation": "HostToContainer"},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            {"name": "host", "hostPath": {"path": "/", "type": "Directory"}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if opts.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in opts.image_pull_secrets]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(name),
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": [opts.configmap],
                    "verbs": ["get", "patch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(name),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta(opts.job_name),
            "spec": {
                "backoffLimit": 0,
                "completions": 1,
                "parallelism": 1,
                # Kubernetes stops the pod even if this CLI is killed outright...
                "activeDeadlineSeconds": int(opts.timeout) + 60,
                # ...and garbage-collects the Job if cleanup never ran
                "ttlSecondsAfterFinished": 3600,
                "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
            },
        },
    ]


def cleanup_plan(opts: AgentOptions) -> list[tuple[str, str]]:
    """(kind, name) to delete, reverse creation order; the ConfigMap goes too."""
    return [
        ("Job", opts.job_name),
        ("ConfigMap", opts.configmap),
        ("RoleBinding", opts.agent_name),
        ("Role", opts.agent_name),
        ("ServiceAccount", opts.agent_name),
    ]


class Progress:
    """One self-overwriting status line on a terminal; silent otherwise or when CI=true."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        if enabled is None:
            from eidos.cli.console import is_ci  # the one reading of CI

            ci = is_ci()
            enabled = bool(getattr(self.stream, "isatty", lambda: False)()) and not ci
        self.enabled = enabled
        self._shown = False

    def update(self, text: str) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._shown = True

    def done(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


class AgentFailed(EnvironmentFailure):
    """The agent Job ran and failed, or never finished in time."""


def run_agent(cluster, opts: AgentOptions, progress: Progress | None = None) -> Snapshot:
    """Deploy, wait, read, clean up. Returns the node snapshot the agent wrote."""
    progress = progress or Progress(enabled=False)
    try:
        for manifest in manifests(opts):
            progress.update(f"creating {manifest['kind']} {manifest['metadata']['name']}")
            cluster.create(manifest)
        _wait(cluster, opts, progress)
        progress.update("reading the snapshot")
        cm = cluster.get_configmap(opts.namespace, opts.configmap)
        text = (cm.get("data") or {}).get("snapshot.yaml")
        if not isinstance(text, str):
            raise AgentFailed(
                f"agent finished but ConfigMap {opts.namespace}/{opts.configmap} has no snapshot.yaml"
            )
        return parse_snapshot(text, f"cm://{opts.namespace}/{opts.configmap}")
    finally:
        progress.done()
        if opts.cleanup:
            failures = _cleanup_uninterrupted(cluster, opts)
            if failures:
                _warn_leftovers(opts, failures)


def _wait(cluster, opts: AgentOptions, progress: Progress) -> None:
    start = time.monotonic()
    deadline = start + opts.timeout
    state = "waiting for the pod"
    while True:
        job = cluster.read_job(opts.namespace, opts.job_name)
        status = job.get("status") or {}
        conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
        if _true(conditions.get("Complete")) or (status.get("succeeded") or 0) > 0:
            return
        if _true(conditions.get("Failed")) or (status.get("failed") or 0) > 0:
            cond = conditions.get("Failed") or {}
            why = ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x) or "pod failed"
            raise AgentFailed(
                f"agent Job {opts.namespace}/{opts.job_name} failed: {why}{_log_excerpt(cluster, opts)}",
                hint="rerun with --no-cleanup to inspect the Job and its pod",
            )
        state = _pod_state(cluster, opts) or state
        elapsed = time.monotonic() - start
        if time.monotonic() >= deadline:
            raise AgentFailed(
                f"agent Job {opts.namespace}/{opts.job_name} did not finish within "
                f"{opts.timeout:g}s (last state: {state})",
                hint="check --node-selector/--toleration match a GPU node, or raise --timeout",
            )
        progress.update(f"agent {opts.job_name}: {state} ({elapsed:.0f}s)")
        time.sleep(min(opts.poll_interval, max(deadline - time.monotonic(), 0.01)))


def _true(cond) -> bool:
    return isinstance(cond, dict) and str(cond.get("status")) == "True"


def _agent_pods(cluster, opts: AgentOptions) -> list[dict]:
    try:
        return cluster.list_pods(opts.namespace, label_selector=f"{RUN_LABEL}={opts.run_id}")
    except EnvironmentFailure:
        return []


def _pod_state(cluster, opts: AgentOptions) -> str | None:
    """A short human description: phase plus the most telling waiting/scheduling reason."""
    pods = _agent_pods(cluster, opts)
    if not pods:
        return None
    pod = pods[0]
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    for cs in status.get("containerStatuses") or []:
        waiting = ((cs or {}).get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return f"{phase}, {waiting['reason']}"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"{phase}, unschedulable: {cond.get('message') or cond.get('reason')}"
    return f"pod {phase}"


def _log_excerpt(cluster, opts: AgentOptions, lines: int = 20) -> str:
    pods = _agent_pods(cluster, opts)
    if not pods:
        return ""
    name = (pods[0].get("metadata") or {}).get("name")
    if not name:
        return ""
    try:
        log = cluster.pod_log(opts.namespace, name, tail_lines=lines)
    except EnvironmentFailure:
        return ""
    tail = [line for line in log.splitlines() if line.strip()][-lines:]
    if not tail:
        return ""
    return "\n  last agent log lines:\n" + "\n".join(f"    {line}" for line in tail)


def _cleanup_uninterrupted(cluster, opts: AgentOptions) -> list[tuple[str, str, str]]:
    """Delete the run's objects; a second Ctrl-C must not leave half of them behind."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
    try:
        failures = []
        for kind, name in cleanup_plan(opts):
            try:
                cluster.delete(kind, name, opts.namespace)
            except EnvironmentFailure as err:
                failures.append((kind, name, err.message))
        return failures
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)


def _warn_leftovers(opts: AgentOptions, failures) -> None:
    print("eidos: warning: could not delete every agent object:", file=sys.stderr)
    for kind, name, why in failures:
        print(f"  {kind} {opts.namespace}/{name}: {why}", file=sys.stderr)
    print(
        f"  remove them with: kubectl -n {opts.namespace} delete job,configmap,rolebinding,"
        f"role,serviceaccount -l {RUN_LABEL}={opts.run_id}",
        file=sys.stderr,
    )
