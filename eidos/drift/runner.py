"""One scheduled drift run (``eidos drift run``, what the CronJob's pod executes).

1. read the installation's state from its result ConfigMap (runs, next ring slot, the
   fingerprint of the differences last seen and last alerted);
2. snapshot this node (the caller's ``take``: the node collectors on ``/host``);
3. store it in the next ring slot (:mod:`eidos.drift.store`: plain, gzip or split, never cut);
4. read the baseline ConfigMap and diff it against the new snapshot (:mod:`eidos.drift.diff`,
   the shipped noise rules plus the installation's ``--ignore`` globs);
5. alert on a *drift event* — a set of differences not seen in the previous run — once: a
   drift that persists does not alert again, a changed drift does, and the end of a drift
   sends ``resolved`` (:mod:`eidos.drift.alerts`). An alert that could not be delivered is
   retried by the next run;
6. record: ``result.json`` (this run), ``state.json``, ``diff.json`` (the ``eidos diff``
   document, :func:`eidos.drift.report.document`) and ``metrics.prom``
   (:mod:`eidos.drift.metrics`) in the result ConfigMap. A failed run records its error
   there too, then fails the Job.

Every ConfigMap touched exists already (install created them): the pod only ``get``s and
``patch``es them by name.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable

import attrs

from eidos.drift import store
from eidos.drift.schedule import result_configmap
from eidos.errors import EidosError, InputError

RESULT_KIND = "DriftRun"
# The pod snapshots its node only: cluster reads (nodes, pods, ClusterPolicy) would need a
# ClusterRole. A baseline taken with ``eidos snapshot --deploy-agent`` has a K8s measurement
# the run can never have, so it is out of the comparison rather than "removed" every run.
NODE_ONLY_IGNORE = ("K8s.*",)
# the result ConfigMap holds state, result and metrics too; past this the diff is left out
# (eidos diff cm://NS/BASELINE cm://NS/SLOT shows it in full)
MAX_DIFF_BYTES = 768 * 1024


@attrs.frozen
class RunOptions:
    name: str
    namespace: str
    baseline: str
    keep: int = 5
    max_parts: int = 4
    ignore: tuple[str, ...] = ()
    webhook_url: str | None = None  # read from the Secret's file; never logged
    alert_format: str = "alertmanager"
    webhook_timeout: float = 10.0
    webhook_retries: int = 3
    webhook_backoff: float = 1.0

    def slot(self, index: int) -> str:
        return f"eidos-drift-{self.name}-{index}"

    @property
    def result_name(self) -> str:
        return result_configmap(self.name)


def utc_now() -> str:
    return _dt.datetime.now(tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_record(cluster, namespace: str, name: str) -> tuple[dict, dict, dict | None]:
    """(state, last result, last diff document) from the result ConfigMap."""
    cm = cluster.get_configmap(namespace, result_configmap(name))
    data = cm.get("data") or {}
    where = f"cm://{namespace}/{result_configmap(name)}"
    return (_json(data, "state.json", where) or {}, _json(data, "result.json", where) or {},
            _json(data, "diff.json", where))


def _json(data: dict, key: str, where: str):
    text = data.get(key)
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InputError(f"{where}#{key}: not valid JSON") from None


def fingerprint(diff: dict) -> str:
    """Identity of a set of differences: the same drift on the next run has the same one."""
    items = []
    for node in diff.get("nodes", []):
        if node.get("status") == "same":
            continue
        items.append([node.get("node"), node.get("status"),
                      [[c.get("path"), c.get("kind"), c.get("after")] for c in node.get("changes", [])],
                      [[v.get("id"), v.get("after")] for v in node.get("verdicts", [])]])
    if not items:
        return ""
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


def compare(baseline_text: str, baseline_src: str, current, current_src: str, ignore: tuple[str, ...]) -> dict:
    """The ``eidos diff`` document of baseline -> current (one node, whatever its name)."""
    from eidos.drift.diff import default_noise, diff_fleets, values_of
    from eidos.drift.report import document
    from eidos.snapshot.io import parse_snapshot

    base = parse_snapshot(baseline_text, baseline_src)
    a_node, b_node = base.source_node or "baseline", current.source_node or "node"
    label = a_node if a_node == b_node else f"{a_node} -> {b_node}"
    report = diff_fleets({label: (baseline_src, values_of(base))}, {label: (current_src, values_of(current))},
                         (*default_noise(), *NODE_ONLY_IGNORE, *ignore))
    return document(report)


def run(cluster, opts: RunOptions, take: Callable[[], object], *, now: Callable[[], str] = utc_now,
        warn: Callable[[str], None] = lambda m: None, sleep=None) -> dict:
    """Do one run (module doc); return the recorded result. Raises after recording when the
    snapshot, storage or diff failed; an undelivered alert is in ``result["alert"]``."""
    from eidos.snapshot.io import dumps

    state, _last, last_diff = read_record(cluster, opts.namespace, opts.name)
    state = {"runs": 0, "nextSlot": 0, "snapshots": [], "driftEvents": 0, **state}
    state["runs"] = int(state["runs"]) + 1
    slot_index = int(state.get("nextSlot", 0)) % opts.keep
    slot = opts.slot(slot_index)
    result: dict = {"apiVersion": _api_version(), "kind": RESULT_KIND, "install": opts.name,
                    "namespace": opts.namespace, "baseline": opts.baseline}
    try:
        snapshot = take()
        text = dumps(snapshot, "yaml")
        enc = store.write(cluster, opts.namespace, slot, text, max_parts=opts.max_parts,
                          meta={"timestamp": snapshot.timestamp, "node": snapshot.source_node})
        entry = {"configMap": slot, "time": snapshot.timestamp, "node": snapshot.source_node,
                 "bytes": len(text.encode("utf-8")), "encoding": enc.encoding, "parts": enc.part_count}
        state["snapshots"] = [entry, *[s for s in state.get("snapshots", []) if s.get("configMap") != slot]][:opts.keep]
        state["nextSlot"] = (slot_index + 1) % opts.keep
        baseline_text = store.read(cluster, opts.namespace, opts.baseline)
        diff = compare(baseline_text, f"cm://{opts.namespace}/{opts.baseline}", snapshot,
                       f"cm://{opts.namespace}/{slot}", opts.ignore)
    except EidosError as err:
        result.update({"time": now(), "status": "error", "message": err.message})
        _record(cluster, opts, result, state, last_diff)
        raise
    stamp = now()
    fp = fingerprint(diff)
    if fp and fp != state.get("lastFingerprint"):
        state["driftEvents"] = int(state.get("driftEvents", 0)) + 1
        state["driftSince"] = stamp
    if not fp:
        state.pop("driftSince", None)
    state["lastFingerprint"] = fp
    state["lastSuccess"] = stamp
    result.update({"time": stamp, "status": "ok", "node": snapshot.source_node, "snapshot": slot,
                   "drift": bool(fp), "fingerprint": fp, "summary": diff.get("summary", {})})
    alert = _alert(opts, state, diff, last_diff, fp, stamp, warn, sleep)
    if alert:
        result["alert"] = alert
    _record(cluster, opts, result, state, diff)
    return result


def _alert(opts, state, diff, last_diff, fp, stamp, warn, sleep) -> dict | None:
    from eidos.drift import alerts

    alerted = state.get("alertedFingerprint", "")
    if not opts.webhook_url or fp == alerted:
        return None
    status = "firing" if fp else "resolved"
    body = alerts.BODIES[opts.alert_format](
        status=status, install=opts.name, namespace=opts.namespace, baseline=opts.baseline,
        diff=diff if fp else (last_diff or {}), fingerprint=fp or alerted,
        starts_at=state.get("driftSince", stamp) if fp else state.get("alertedAt", stamp),
        ends_at=None if fp else stamp)
    kw = {"sleep": sleep} if sleep else {}
    try:
        delivery = alerts.post(opts.webhook_url, body, timeout=opts.webhook_timeout,
                               retries=opts.webhook_retries, backoff=opts.webhook_backoff, warn=warn, **kw)
    except alerts.AlertFailed as err:
        return {"status": status, "delivered": False, "error": err.message}
    state["alertedFingerprint"] = fp
    state["alertedAt"] = stamp
    state["alertsSent"] = int(state.get("alertsSent", 0)) + 1
    return {"status": status, "delivered": True, "attempts": delivery.attempts}


def _record(cluster, opts: RunOptions, result: dict, state: dict, diff: dict | None) -> None:
    from eidos.drift.metrics import render

    diff_text = json.dumps(diff, sort_keys=True) if diff is not None else None
    if diff_text is not None and len(diff_text) > MAX_DIFF_BYTES:
        result["diffOmitted"] = (f"the diff is {len(diff_text)} bytes; see it with: eidos diff "
                                 f"cm://{opts.namespace}/{opts.baseline} cm://{opts.namespace}/{result.get('snapshot')}")
        diff_text = json.dumps({"summary": diff.get("summary", {}), "nodes": []}, sort_keys=True)
    metrics = render(namespace=opts.namespace, install=opts.name, result=result, state=state,
                     diff=json.loads(diff_text) if diff_text else None)
    data = {"result.json": json.dumps(result, sort_keys=True, indent=1),
            "state.json": json.dumps(state, sort_keys=True), "metrics.prom": metrics}
    if diff_text is not None:
        data["diff.json"] = diff_text
    cluster.patch("ConfigMap", opts.result_name, opts.namespace, {"data": data})


def _api_version() -> str:
    from eidos.api import API_VERSION

    return API_VERSION
