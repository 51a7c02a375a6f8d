"""The snapshot agent: run the node collectors on a GPU node through a Kubernetes Job.

One run, start to finish (every object is named for the run and labelled
``app.kubernetes.io/managed-by=eidos`` and ``eidos.dev/run=<run-id>``):

1. create the Job ``eidos-snapshot-<run-id>`` *suspended*, so no pod starts yet and the API
   server assigns the Job its uid;
2. create the run's ConfigMap ``eidos-snapshot-<run-id>`` (empty) and the ServiceAccount,
   Role and RoleBinding ``eidos-agent-<run-id>``, each with an ownerReference to the Job: when
   the Job goes (our cleanup, or ``ttlSecondsAfterFinished`` after a killed CLI's Job hits its
   ``activeDeadlineSeconds``), the garbage collector takes them with it;
3. resume the Job; its pod runs ``eidos snapshot --host-root /host --no-cluster -o
   cm://<ns>/eidos-snapshot-<run-id>``, which *patches* the pre-created ConfigMap;
4. poll the Job until it completes, fails or ``--timeout``; read the ConfigMap;
5. delete everything (Job with its pods, ConfigMap, RBAC) on success, failure, timeout and
   interruption, unless ``--no-cleanup``. What a SIGKILLed CLI left behind is found again by
   label: :func:`sweep` (``eidos snapshot --cleanup RUN|all``).

Least privilege (docs/security.md lists every privilege with its reason): the pod runs as a
fixed non-root uid with no capabilities, no privilege escalation, a read-only root
filesystem and the runtime's default seccomp profile; it mounts read-only only the host
paths the node collectors read (:data:`HOST_PATHS`), not the host's ``/``; its Role allows
``get``/``update``/``patch`` on its one ConfigMap by name and nothing else (``create`` cannot
be limited by ``resourceNames``, which is why the CLI pre-creates the ConfigMap). The
cluster-wide reads (nodes, pods, ClusterPolicy) are done by the CLI with the user's own
identity, so there is no ClusterRole and nothing cluster-scoped to leak or collide.

Library code does not print: warnings go to the caller's ``warn`` callable.
"""

from __future__ import annotations

import re
import secrets
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import attrs

from eidos.errors import EnvironmentFailure, UsageError
from eidos.snapshot.io import parse_snapshot
from eidos.snapshot.model import Snapshot

RUN_LABEL = "eidos.dev/run"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "eidos"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
DEFAULT_NODE_SELECTOR = {"nvidia.com/gpu.present": "true"}
DEFAULT_TOLERATIONS = ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)
HOST_MOUNT = "/host"
# The agent's fixed identity; the Dockerfile's USER is the same number (tests check both).
AGENT_UID = 65532
AGENT_GID = 65532
# (volume name, host path, hostPath type): exactly what the node collectors read, and no
# more. Each is mounted read-only at HOST_MOUNT + path. Types are strict (File, Directory)
# so the kubelet never creates a missing path on the host.
HOST_PATHS: tuple[tuple[str, str, str], ...] = (
    ("os-release", "/etc/os-release", "File"),  # os-release collector
    ("proc-sys", "/proc/sys", "Directory"),  # kernel and sysctl collectors
    ("proc-modules", "/proc/modules", "File"),  # kmod collector
    ("proc-cmdline", "/proc/cmdline", "File"),  # cmdline and kernel collectors
    ("dbus", "/run/dbus", "Directory"),  # systemd collector: systemctl talks D-Bus
)
# what --cleanup sweeps, in deletion order (the Job first: its pods go with it)
SWEEP_KINDS = ("Job", "ConfigMap", "RoleBinding", "Role", "ServiceAccount")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


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


def check_run_selector(run: str) -> str:
    """``--cleanup`` takes a run id or ``all``; anything else could widen the label selector
    (a ``,`` adds a term), so only a valid Kubernetes label value is accepted."""
    if run == "all" or _LABEL_VALUE.match(run):
        return run
    raise UsageError(
        f"--cleanup {run!r}: expected a run id (e.g. 3fa9c1, as in eidos-snapshot-3fa9c1) or 'all'"
    )


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
            MANAGED_BY_LABEL: MANAGED_BY,
            RUN_LABEL: self.run_id,
        }


def _meta(opts: AgentOptions, name: str, owner_uid: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": opts.namespace, "labels": dict(opts.labels)}
    if owner_uid:
        # blockOwnerDeletion is left unset: setting it needs update on jobs/finalizers, a
        # permission the user would otherwise not need
        meta["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "Job", "name": opts.job_name, "uid": owner_uid}
        ]
    return meta


def _security_context() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": AGENT_UID,
        "runAsGroup": AGENT_GID,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def job_manifest(opts: AgentOptions) -> dict:
    """The agent Job, created suspended (resumed once the objects it owns exist)."""
    args = [
        "snapshot",
        "--host-root", HOST_MOUNT,
        "--no-cluster",
        "-o", "yaml",
        "--collector-timeout", f"{opts.collector_timeout:g}",
        "--out", f"cm://{opts.namespace}/{opts.configmap}",
    ]
    for unit in opts.systemd_units:
        args += ["--systemd-unit", unit]
    mounts = [
        {"name": name, "mountPath": HOST_MOUNT + path, "readOnly": True}
        for name, path, _ in HOST_PATHS
    ]
    volumes = [
        {"name": name, "hostPath": {"path": path, "type": kind}} for name, path, kind in HOST_PATHS
    ]
    pod_spec: dict = {
        "serviceAccountName": opts.agent_name,
        # the token is how the agent patches its ConfigMap; the Role allows nothing else
        "automountServiceAccountToken": True,
        "restartPolicy": "Never",
        # The sysctl collector needs the host's network namespace: /proc/sys/net shows the
        # reader's namespace, and net.core.rmem_max & co. exist only in the host's.
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "hostPID": False,
        "hostIPC": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": AGENT_UID,
            "runAsGroup": AGENT_GID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
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
                "securityContext": _security_context(),
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"memory": "512Mi"},
                },
                "volumeMounts": [*mounts, {"name": "tmp", "mountPath": "/tmp"}],
            }
        ],
        "volumes": [*volumes, {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    if opts.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in opts.image_pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(opts, opts.job_name),
        "spec": {
            "suspend": True,
            "backoffLimit": 0,
            "completions": 1,
            "parallelism": 1,
            # Kubernetes stops the pod even if this CLI is killed outright...
            "activeDeadlineSeconds": int(opts.timeout) + 60,
            # ...and then deletes the Job, whose owned objects the garbage collector removes
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": dict(opts.labels)}, "spec": pod_spec},
        },
    }


def owned_manifests(opts: AgentOptions, owner_uid: str | None = None) -> list[dict]:
    """The ConfigMap and RBAC objects, owned by the Job when its uid is known."""
    name = opts.agent_name
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(opts, opts.configmap, owner_uid),
            "data": {},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(opts, name, owner_uid)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(opts, name, owner_uid),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": [opts.configmap],
                    "verbs": ["get", "patch", "update"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(opts, name, owner_uid),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": opts.namespace}],
        },
    ]


def manifests(opts: AgentOptions, owner_uid: str | None = None) -> list[dict]:
    """Every object the run creates, in creation order (pure: no cluster needed)."""
    return [job_manifest(opts), *owned_manifests(opts, owner_uid)]


def cleanup_plan(opts: AgentOptions) -> list[tuple[str, str]]:
    """(kind, name) to delete, Job first (its pods and, by ownership, the rest go with it);
    the others are deleted explicitly too so nothing waits on the garbage collector."""
    return [
        ("Job", opts.job_name),
        ("ConfigMap", opts.configmap),
        ("RoleBinding", opts.agent_name),
        ("Role", opts.agent_name),
        ("ServiceAccount", opts.agent_name),
    ]


class Progress:
    """One self-overwriting status line on a terminal; silent otherwise or when CI=true.

    The CLI creates it (with its stderr); :func:`run_agent` defaults to a disabled one."""

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


class AgentWarning(UserWarning):
    """Category used when :func:`run_agent` is given no ``warn`` callable."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived; raised in the main thread so ``finally`` blocks
    (the agent's cleanup) run before the process exits with ``128 + signum``."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


INTERRUPT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextmanager
def signals_interrupt(signals: tuple[int, ...] = INTERRUPT_SIGNALS) -> Iterator[None]:
    """Turn the given signals into :class:`Interrupted` for the duration (main thread only;
    elsewhere Python cannot install handlers, and this is a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _default_warn(message: str) -> None:
    warnings.warn(message, AgentWarning, stacklevel=3)


def run_agent(
    cluster,
    opts: AgentOptions,
    progress: Progress | None = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> Snapshot:
    """Deploy, wait, read, clean up. Returns the node snapshot the agent wrote.

    ``warn`` receives what the caller should tell the user but that does not fail the run
    (objects that could not be deleted, with the command that removes them)."""
    progress = progress or Progress(enabled=False)
    warn = warn or _default_warn
    try:
        progress.update(f"creating Job {opts.job_name} (suspended)")
        job = cluster.create(job_manifest(opts))
        # an API server always returns the uid; without one (an emulator) there can be no
        # ownerReference, and the label sweep is what remains
        owner_uid = (job.get("metadata") or {}).get("uid") if isinstance(job, dict) else None
        for manifest in owned_manifests(opts, owner_uid):
            progress.update(f"creating {manifest['kind']} {manifest['metadata']['name']}")
            cluster.create(manifest)
        progress.update(f"starting Job {opts.job_name}")
        cluster.patch("Job", opts.job_name, opts.namespace, {"spec": {"suspend": False}})
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
                warn(leftover_message(opts, failures))
        else:
            warn(
                f"kept the objects of agent run {opts.run_id} (--no-cleanup); remove them with: "
                f"eidos snapshot --cleanup {opts.run_id} --namespace {opts.namespace}"
            )


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
    """Delete the run's objects; a second Ctrl-C (or a SIGTERM after the SIGINT) must not
    leave half of them behind, so the interrupting signals are ignored until done."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in INTERRUPT_SIGNALS} if in_main else {}
    try:
        failures = []
        for kind, name in cleanup_plan(opts):
            try:
                cluster.delete(kind, name, opts.namespace)
            except EnvironmentFailure as err:
                failures.append((kind, name, err.message))
        return failures
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def leftover_message(opts, failures, limit: int | None = None) -> str:
    """What could not be deleted (at most ``limit`` objects named) and the command that
    removes it; ``opts`` is the one-node agent's or the fan-out's options."""
    shown = failures if limit is None else failures[:limit]
    lines = ["could not delete every agent object:"]
    lines += [f"  {kind} {opts.namespace}/{name}: {why}" for kind, name, why in shown]
    if len(failures) > len(shown):
        lines.append(f"  … and {len(failures) - len(shown)} more")
    lines.append(
        f"  remove them with: eidos snapshot --cleanup {opts.run_id} --namespace {opts.namespace}"
    )
    return "\n".join(lines)


@attrs.frozen
class SweepResult:
    """One object :func:`sweep` found: deleted, or why not (``error``)."""

    kind: str
    name: str
    run: str
    error: str | None = None


def sweep_selector(run: str) -> str:
    """Objects of one run, or of every run (``all``). Requiring the run label keeps
    ``all`` away from snapshot ConfigMaps users wrote with ``--out cm://…`` (those carry
    ``managed-by=eidos`` but belong to nobody's run)."""
    run = check_run_selector(run)
    return f"{MANAGED_BY_LABEL}={MANAGED_BY}," + (RUN_LABEL if run == "all" else f"{RUN_LABEL}={run}")


def sweep(cluster, namespace: str, run: str) -> list[SweepResult]:
    """Delete, by label, what agent runs left in ``namespace`` (a SIGKILLed CLI, a lost
    connection, ``--no-cleanup``). A kind that cannot be listed is reported as one result
    with the error and an empty name."""
    selector = sweep_selector(run)
    results: list[SweepResult] = []
    for kind in SWEEP_KINDS:
        try:
            objs = cluster.list_objects(kind, namespace, label_selector=selector)
        except EnvironmentFailure as err:
            results.append(SweepResult(kind, "", run, err.message))
            continue
        for obj in sorted(objs, key=lambda o: (o.get("metadata") or {}).get("name", "")):
            meta = obj.get("metadata") or {}
            name = meta.get("name")
            if not isinstance(name, str) or not name:
                continue
            owner_run = str((meta.get("labels") or {}).get(RUN_LABEL, ""))
            try:
                cluster.delete(kind, name, namespace)
                results.append(SweepResult(kind, name, owner_run))
            except EnvironmentFailure as err:
                results.append(SweepResult(kind, name, owner_run, err.message))
    return results
