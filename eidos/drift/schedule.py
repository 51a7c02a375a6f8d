"""``eidos drift install|uninstall``: a CronJob that snapshots a GPU node and compares it.

One installation, named ``NAME`` (default ``default``), is these objects in ``--namespace``,
all labelled ``app.kubernetes.io/managed-by=eidos`` and ``eidos.dev/drift=NAME``:

* the CronJob ``eidos-drift-NAME`` (``concurrencyPolicy: Forbid``: two runs writing the
  same ring of ConfigMaps would race; the Kubernetes CronJobSpec reference: "Forbid: forbids
  concurrent runs, skipping next run if previous run hasn't finished yet"), created
  *suspended* so the API server gives it a uid before anything else exists;
* owned by it (ownerReferences, so deleting the CronJob lets the garbage collector take the
  rest): the ServiceAccount, Role and RoleBinding ``eidos-drift-NAME``; the result ConfigMap
  ``eidos-drift-NAME-result``; the ring of ``--keep`` snapshot slots ``eidos-drift-NAME-0..``
  and each slot's extra parts ``…-p1..`` (see :mod:`eidos.drift.store`).

Every ConfigMap is created here, by the user's identity, so the pod never needs ``create``
(which Kubernetes cannot limit with ``resourceNames``): its Role allows ``get`` on the
baseline, ``get``/``patch`` on the result ConfigMap and ``patch`` on the snapshot slots, by
name, nothing else.
The pod itself is the snapshot agent's (:func:`eidos.snapshot.agent.job_manifest`): same
non-root uid, no capabilities, read-only root filesystem, RuntimeDefault seccomp, only
:data:`~eidos.snapshot.agent.HOST_PATHS` mounted read-only. The webhook URL reaches it as a
file from a Secret volume: the CronJob names the Secret, never holds the URL.
"""

from __future__ import annotations

import copy
import re

import attrs

from eidos.errors import EnvironmentFailure, UsageError
from eidos.snapshot import agent
from eidos.snapshot.agent import MANAGED_BY, MANAGED_BY_LABEL

DRIFT_LABEL = "eidos.dev/drift"
WEBHOOK_MOUNT = "/etc/eidos/webhook"
WEBHOOK_KEY = "url"  # the Secret's key holding the URL
ALERT_FORMATS = ("alertmanager", "json")
# what uninstall deletes, in order: the CronJob first (its Jobs and their pods go with it)
UNINSTALL_KINDS = ("CronJob", "Job", "ConfigMap", "RoleBinding", "Role", "ServiceAccount")
MAX_KEEP = 100
MAX_PARTS = 16
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")
_CM_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?\-]+$")


def check_name(name: str, flag: str = "--name") -> str:
    """An installation name: a DNS label short enough that every derived object name
    (``eidos-drift-NAME-99-p15``) stays a valid one."""
    if not _NAME.match(name or ""):
        raise UsageError(f"{flag} {name!r}: expected lowercase letters, digits and '-' (at most 32)")
    return name


def check_schedule(text: str) -> str:
    """Five cron fields or a macro (what CronJob's ``schedule`` takes); the API server has the
    final word, this only catches the typo before anything is created."""
    fields = text.split()
    if len(fields) == 1 and fields[0] in _CRON_MACROS:
        return text.strip()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise UsageError(f"--schedule {text!r}: expected five cron fields (e.g. '0 * * * *') or @hourly/@daily/…")
    return " ".join(fields)


@attrs.frozen
class DriftOptions:
    """One installation's settings (install writes them into the CronJob's pod args)."""

    name: str
    namespace: str
    baseline: str
    image: str = ""
    schedule: str = "0 * * * *"
    keep: int = 5
    max_parts: int = 4
    webhook_secret: str | None = None
    alert_format: str = "alertmanager"
    ignore: tuple[str, ...] = ()
    node_selector: dict = attrs.field(factory=lambda: dict(agent.DEFAULT_NODE_SELECTOR))
    tolerations: tuple = agent.DEFAULT_TOLERATIONS
    collector_timeout: float = 20.0
    timeout: float = 600.0
    image_pull_secrets: tuple[str, ...] = ()
    suspend: bool = False

    def __attrs_post_init__(self):
        check_name(self.name)
        if not _CM_NAME.match(self.baseline or ""):
            raise UsageError(f"--baseline {self.baseline!r}: not a valid ConfigMap name")
        if not 1 <= self.keep <= MAX_KEEP:
            raise UsageError(f"--keep {self.keep}: expected 1..{MAX_KEEP}")
        if not 1 <= self.max_parts <= MAX_PARTS:
            raise UsageError(f"--max-parts {self.max_parts}: expected 1..{MAX_PARTS}")
        if self.alert_format not in ALERT_FORMATS:
            raise UsageError(f"--alert-format {self.alert_format!r}: one of {', '.join(ALERT_FORMATS)}")
        if self.baseline in self.configmaps:
            raise UsageError(f"--baseline {self.baseline!r} is one of the installation's own ConfigMaps",
                             hint="copy it to another name first (the ring overwrites its slots)")
        if self.webhook_secret is not None and not _CM_NAME.match(self.webhook_secret):
            raise UsageError(f"--webhook-secret {self.webhook_secret!r}: not a valid Secret name")

    @property
    def object_name(self) -> str:
        return f"eidos-drift-{self.name}"

    @property
    def result_name(self) -> str:
        return result_configmap(self.name)

    def slot(self, index: int) -> str:
        return f"{self.object_name}-{index}"

    @property
    def configmaps(self) -> list[str]:
        """Every ConfigMap the pod writes: the result, each slot and its extra parts."""
        from eidos.drift.store import part_name

        names = [self.result_name]
        for i in range(self.keep):
            names.append(self.slot(i))
            names += [part_name(self.slot(i), j) for j in range(1, self.max_parts)]
        return names

    @property
    def labels(self) -> dict:
        return {"app.kubernetes.io/name": "eidos-drift", MANAGED_BY_LABEL: MANAGED_BY, DRIFT_LABEL: self.name}


def result_configmap(name: str) -> str:
    return f"eidos-drift-{name}-result"


def selector(name: str) -> str:
    """The label selector of one installation, or of all (``all``)."""
    if name == "all":
        return f"{MANAGED_BY_LABEL}={MANAGED_BY},{DRIFT_LABEL}"
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{DRIFT_LABEL}={check_name(name)}"


def run_args(opts: DriftOptions) -> list[str]:
    """The pod's ``eidos`` arguments: the hidden ``drift run`` action (eidos.drift.runner)."""
    args = [
        "drift", "run",
        "--name", opts.name,
        "--namespace", opts.namespace,
        "--baseline", opts.baseline,
        "--keep", str(opts.keep),
        "--max-parts", str(opts.max_parts),
        "--host-root", agent.HOST_MOUNT,
        "--collector-timeout", f"{opts.collector_timeout:g}",
    ]
    for glob in opts.ignore:
        args += ["--ignore", glob]
    if opts.webhook_secret:
        args += ["--webhook-file", f"{WEBHOOK_MOUNT}/{WEBHOOK_KEY}", "--alert-format", opts.alert_format]
    return args


def _meta(opts: DriftOptions, name: str, owner_uid: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": opts.namespace, "labels": dict(opts.labels)}
    if owner_uid:
        meta["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "CronJob", "name": opts.object_name, "uid": owner_uid}
        ]
    return meta


def cronjob_manifest(opts: DriftOptions) -> dict:
    """The CronJob, suspended: its pod is the snapshot agent's pod running ``drift run``."""
    job = agent.job_manifest(agent.AgentOptions(
        image=opts.image, namespace=opts.namespace, node_selector=dict(opts.node_selector),
        tolerations=tuple(opts.tolerations), timeout=opts.timeout,
        collector_timeout=opts.collector_timeout, image_pull_secrets=tuple(opts.image_pull_secrets),
        run_id="drift"))
    pod = copy.deepcopy(job["spec"]["template"]["spec"])
    pod["serviceAccountName"] = opts.object_name
    container = pod["containers"][0]
    container["args"] = run_args(opts)
    if opts.webhook_secret:
        pod["volumes"].append({"name": "webhook", "secret": {
            "secretName": opts.webhook_secret, "items": [{"key": WEBHOOK_KEY, "path": WEBHOOK_KEY}]}})
        container["volumeMounts"].append({"name": "webhook", "mountPath": WEBHOOK_MOUNT, "readOnly": True})
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(opts, opts.object_name),
        "spec": {
            "schedule": opts.schedule,
            "suspend": True,  # resumed by install once the objects it owns exist
            "concurrencyPolicy": "Forbid",
            # a run missed by more than this (controller down) is skipped, not started late
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": dict(opts.labels)},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": int(opts.timeout),
                    "ttlSecondsAfterFinished": 86400,
                    "template": {"metadata": {"labels": dict(opts.labels)}, "spec": pod},
                },
            },
        },
    }


def owned_manifests(opts: DriftOptions, owner_uid: str | None = None) -> list[dict]:
    """RBAC and every ConfigMap the pod will patch (empty now), owned by the CronJob."""
    name = opts.object_name
    import json

    state = {"runs": 0, "nextSlot": 0, "snapshots": []}
    out: list[dict] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(opts, name, owner_uid)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(opts, name, owner_uid),
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [opts.baseline],
                 "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [opts.result_name],
                 "verbs": ["get", "patch"]},
                {"apiGroups": [""], "resources": ["configmaps"],
                 "resourceNames": [n for n in opts.configmaps if n != opts.result_name], "verbs": ["patch"]},
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
    for cm in opts.configmaps:
        data = {"state.json": json.dumps(state, sort_keys=True)} if cm == opts.result_name else {}
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(opts, cm, owner_uid), "data": data})
    return out


def manifests(opts: DriftOptions, owner_uid: str | None = None) -> list[dict]:
    """Everything install creates, in creation order (pure)."""
    return [cronjob_manifest(opts), *owned_manifests(opts, owner_uid)]


class AlreadyInstalled(EnvironmentFailure):
    pass


def install(cluster, opts: DriftOptions, progress=None) -> list[tuple[str, str]]:
    """Create the CronJob (suspended), the objects it owns, then resume it unless
    ``opts.suspend``. A failure part-way removes what was created. Returns (kind, name)."""
    from eidos.snapshot.cluster import Conflict

    progress = progress or (lambda text: None)
    if cluster.list_objects("CronJob", opts.namespace, label_selector=selector(opts.name)):
        raise AlreadyInstalled(f"drift {opts.name!r} is already installed in {opts.namespace}",
                               hint=f"eidos drift uninstall --name {opts.name} --namespace {opts.namespace}")
    created: list[tuple[str, str]] = []
    try:
        progress(f"creating CronJob {opts.object_name} (suspended)")
        try:
            cron = cluster.create(cronjob_manifest(opts))
        except Conflict:
            raise AlreadyInstalled(
                f"CronJob {opts.namespace}/{opts.object_name} already exists (not labelled as drift {opts.name!r})",
                hint="choose another --name") from None
        created.append(("CronJob", opts.object_name))
        uid = (cron.get("metadata") or {}).get("uid") if isinstance(cron, dict) else None
        for manifest in owned_manifests(opts, uid):
            progress(f"creating {manifest['kind']} {manifest['metadata']['name']}")
            cluster.create(manifest)
            created.append((manifest["kind"], manifest["metadata"]["name"]))
        if not opts.suspend:
            cluster.patch("CronJob", opts.object_name, opts.namespace, {"spec": {"suspend": False}})
    except BaseException:
        for kind, name in reversed(created):
            try:
                cluster.delete(kind, name, opts.namespace)
            except EnvironmentFailure:
                pass  # uninstall by label finds it again
        raise
    return created


@attrs.frozen
class Removed:
    kind: str
    name: str
    error: str | None = None


def uninstall(cluster, namespace: str, name: str) -> list[Removed]:
    """Delete, by label, every object of installation ``name`` (or ``all``) in ``namespace``:
    the CronJob, the Jobs it started (with their pods), ConfigMaps and RBAC. The baseline
    ConfigMap is the user's and carries no drift label: it stays."""
    sel = selector(name)
    out: list[Removed] = []
    for kind in UNINSTALL_KINDS:
        try:
            objs = cluster.list_objects(kind, namespace, label_selector=sel)
        except EnvironmentFailure as err:
            out.append(Removed(kind, "", err.message))
            continue
        for obj in sorted(objs, key=lambda o: (o.get("metadata") or {}).get("name", "")):
            obj_name = (obj.get("metadata") or {}).get("name")
            if not isinstance(obj_name, str) or not obj_name:
                continue
            try:
                cluster.delete(kind, obj_name, namespace)
                out.append(Removed(kind, obj_name))
            except EnvironmentFailure as err:
                out.append(Removed(kind, obj_name, err.message))
    return out
