"""``eidos drift install|status|uninstall``: scheduled drift detection inside the cluster.

``install`` creates a CronJob (and its least-privilege RBAC and ConfigMaps) that snapshots a
GPU node on a schedule, keeps the last ``--keep`` snapshots, compares each with a baseline
ConfigMap, records the result and alerts a webhook on drift; ``status`` reads the recorded
result back (table, json, or Prometheus text); ``uninstall`` deletes everything by label.
``run`` is what the CronJob's pod executes (not listed in help). See docs/drift.md.

Exit codes: 0 done; 1 ``status --fail-on-drift`` and the last run found drift (or failed);
2 bad invocation; 3 the cluster was unreachable or refused, nothing installed, a run or its
alert failed, or uninstall could not delete something.
"""

from __future__ import annotations

import argparse
import json
import os

from eidos.cli import console
from eidos.cli.argtypes import kubeconfig_file, seconds
from eidos.cli.options import add_output_arguments
from eidos.errors import EnvironmentFailure, UsageError

ACTIONS = ("install", "status", "uninstall", "run")  # run: the CronJob's pod; not in help
FORMATS = ("table", "json", "prometheus")


def _count(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high}, got {value}")
        return value

    return parse


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "drift",
        help="scheduled drift detection in the cluster (drift install|status|uninstall)",
        description="install: a CronJob that snapshots a GPU node on --schedule, keeps the last --keep "
        "snapshots in ConfigMaps, compares each with the --baseline ConfigMap, records the result and "
        "alerts a webhook (from a Secret) on drift. status: the last result (table, json, prometheus). "
        "uninstall: delete everything, by label. See docs/drift.md and docs/security.md.",
    )
    p.set_defaults(run=run)
    if argv is None:
        return  # not the chosen command: its flags are never parsed, and their limits cost an import
    from eidos.drift.schedule import ALERT_FORMATS, MAX_KEEP, MAX_PARTS

    p.add_argument("action", choices=ACTIONS, metavar="ACTION", help="install, status or uninstall")
    p.add_argument("--name", default="default", help="installation name (default 'default'; uninstall: 'all' too)")
    p.add_argument("--namespace", default="gpu-operator",
                   help="namespace of the CronJob and its ConfigMaps (default gpu-operator; must allow hostPath pods)")
    p.add_argument("--kubeconfig", metavar="FILE", type=kubeconfig_file,
                   help="kubeconfig file (default KUBECONFIG, ~/.kube/config; in a pod: its service account)")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    ins = p.add_argument_group("install")
    ins.add_argument("--schedule", metavar="CRON", help="when to run: five cron fields or @hourly/@daily/…")
    ins.add_argument("--baseline", metavar="NAME",
                     help="ConfigMap in --namespace holding the baseline snapshot "
                     "(e.g. written by eidos snapshot --deploy-agent --out cm://NS/NAME)")
    ins.add_argument("--image", default=os.environ.get("EIDOS_AGENT_IMAGE"),
                     help="agent image built from the project's Dockerfile (default $EIDOS_AGENT_IMAGE)")
    ins.add_argument("--keep", type=_count(1, MAX_KEEP), default=5, metavar="N",
                     help="snapshots to keep (a ring of N ConfigMaps; default 5)")
    ins.add_argument("--max-parts", type=_count(1, MAX_PARTS), default=4, metavar="N",
                     help="ConfigMaps one compressed snapshot may span (default 4: about 4 MiB compressed)")
    ins.add_argument("--webhook-secret", metavar="SECRET",
                     help="Secret in --namespace whose key 'url' is the webhook to alert; mounted as a file, "
                     "never put in the CronJob")
    ins.add_argument("--alert-format", choices=ALERT_FORMATS, default="alertmanager",
                     help="webhook body: Alertmanager webhook payload (default) or plain JSON with 'text'")
    ins.add_argument("--ignore", action="append", default=[], metavar="GLOB",
                     help="also ignore paths matching GLOB, as in eidos diff (repeatable)")
    ins.add_argument("--node-selector", action="append", metavar="KEY=VALUE",
                     help="repeatable; default nvidia.com/gpu.present=true")
    ins.add_argument("--toleration", action="append", metavar="KEY[=VALUE][:EFFECT]",
                     help="repeatable; default tolerates nvidia.com/gpu:NoSchedule")
    ins.add_argument("--image-pull-secret", action="append", metavar="NAME", help="repeatable")
    ins.add_argument("--collector-timeout", type=seconds, default=20.0, metavar="SECONDS",
                     help="deadline for each collector (default 20)")
    ins.add_argument("--timeout", type=seconds, default=600.0, metavar="SECONDS",
                     help="deadline of one run's Job (default 600)")
    ins.add_argument("--suspend", action="store_true", help="install the CronJob suspended")
    st = p.add_argument_group("status")
    add_output_arguments(st, FORMATS, default="table", format_help="status format (default table)")
    st.add_argument("--fail-on-drift", action="store_true",
                    help="exit 1 when the last run found drift or failed")
    # the pod's own flags (drift run): not shown in help
    p.add_argument("--host-root", default="/", help=argparse.SUPPRESS)
    p.add_argument("--systemd-unit", action="append", help=argparse.SUPPRESS)
    p.add_argument("--webhook-file", help=argparse.SUPPRESS)
    p.add_argument("--webhook-timeout", type=seconds, default=10.0, help=argparse.SUPPRESS)
    p.add_argument("--webhook-retries", type=_count(0, 10), default=3, help=argparse.SUPPRESS)
    p.add_argument("--webhook-backoff", type=seconds, default=1.0, help=argparse.SUPPRESS)


def _connect(args):
    from eidos.snapshot.cluster import Cluster

    return Cluster.connect(args.kubeconfig, args.context)


# flags that mean something to one action only: given to another, they would be ignored
# silently, so they are refused (None/False/[]/the default means "not given")
_ONLY = {
    "install": (("schedule", None), ("webhook_secret", None), ("suspend", False), ("node_selector", None),
                ("toleration", None), ("image_pull_secret", None), ("timeout", 600.0)),
    "status": (("output", "table"), ("out", None), ("fail_on_drift", False)),
    "run": (("host_root", "/"), ("webhook_file", None), ("systemd_unit", None)),
}
_SHARED = {"baseline": ("install", "run"), "keep": ("install", "run"), "max_parts": ("install", "run"),
           "ignore": ("install", "run"), "alert_format": ("install", "run"), "collector_timeout": ("install", "run")}
_DEFAULTS = {"baseline": None, "keep": 5, "max_parts": 4, "ignore": [], "alert_format": "alertmanager",
             "collector_timeout": 20.0}


def _check_flags(args) -> None:
    for action, flags in _ONLY.items():
        if action == args.action:
            continue
        for dest, default in flags:
            if getattr(args, dest) != default:
                raise UsageError(f"--{dest.replace('_', '-')} goes with drift {action}, not drift {args.action}")
    for dest, actions in _SHARED.items():
        if args.action not in actions and getattr(args, dest) != _DEFAULTS[dest]:
            raise UsageError(f"--{dest.replace('_', '-')} goes with drift install, not drift {args.action}")


def run(args) -> int:
    _check_flags(args)
    action = {"install": _install, "status": _status, "uninstall": _uninstall, "run": _run}[args.action]
    return action(args)


def _install(args) -> int:
    from eidos.drift import schedule
    from eidos.snapshot import agent

    if not args.schedule:
        raise UsageError("drift install needs --schedule (e.g. '0 * * * *')")
    if not args.baseline:
        raise UsageError("drift install needs --baseline NAME (a ConfigMap holding the baseline snapshot)",
                         hint="eidos snapshot --deploy-agent --out cm://NAMESPACE/NAME writes one")
    if not args.image:
        raise UsageError("drift install needs the agent image: pass --image or set EIDOS_AGENT_IMAGE",
                         hint="build it from the repository's Dockerfile (see docs/snapshot.md)")
    opts = schedule.DriftOptions(
        name=args.name, namespace=args.namespace, baseline=args.baseline, image=args.image,
        schedule=schedule.check_schedule(args.schedule), keep=args.keep, max_parts=args.max_parts,
        webhook_secret=args.webhook_secret, alert_format=args.alert_format, ignore=tuple(args.ignore),
        node_selector=agent.parse_node_selector(args.node_selector)
        if args.node_selector else dict(agent.DEFAULT_NODE_SELECTOR),
        tolerations=tuple(agent.parse_toleration(t) for t in args.toleration)
        if args.toleration else agent.DEFAULT_TOLERATIONS,
        image_pull_secrets=tuple(args.image_pull_secret or ()),
        collector_timeout=args.collector_timeout, timeout=args.timeout, suspend=args.suspend)
    from eidos.snapshot.cluster import ClusterError, NotFound

    cluster = _connect(args)
    try:
        created = schedule.install(cluster, opts)
        try:
            cluster.get_configmap(opts.namespace, opts.baseline)
        except NotFound:
            console.warning(f"baseline ConfigMap {opts.namespace}/{opts.baseline} does not exist yet: runs fail "
                            f"until it does (eidos snapshot --deploy-agent --out cm://{opts.namespace}/{opts.baseline})")
        except ClusterError:
            pass  # a courtesy check (the user may not be allowed to read it); the runs will say
    finally:
        cluster.close()
    console.notice(f"installed drift {opts.name!r} in {opts.namespace}: CronJob {opts.object_name} "
                   f"({opts.schedule}{', suspended' if opts.suspend else ''}), {len(created)} object(s); "
                   f"baseline cm://{opts.namespace}/{opts.baseline}")
    return 0


def _uninstall(args) -> int:
    from eidos.drift import schedule

    if args.name != "all":
        schedule.check_name(args.name)
    cluster = _connect(args)
    try:
        removed = schedule.uninstall(cluster, args.namespace, args.name)
    finally:
        cluster.close()
    console.removals(removed, args.namespace)
    if not removed:
        console.notice(f"no drift objects of {args.name!r} in {args.namespace}")
    return 3 if any(r.error for r in removed) else 0


def _run(args) -> int:
    """The CronJob pod's action: snapshot this node, store, compare, record, alert."""
    from pathlib import Path

    from eidos.drift import alerts, runner, schedule
    from eidos.snapshot.collectors import HostContext, take_snapshot
    from eidos.snapshot.collectors.systemd import DEFAULT_UNITS

    schedule.check_name(args.name)
    if not args.baseline:
        raise UsageError("drift run needs --baseline NAME")
    root = Path(args.host_root)
    if not root.is_dir():
        raise UsageError(f"--host-root {args.host_root}: not a directory")
    url = alerts.read_url(args.webhook_file) if args.webhook_file else None
    opts = runner.RunOptions(
        name=args.name, namespace=args.namespace, baseline=args.baseline, keep=args.keep,
        max_parts=args.max_parts, ignore=tuple(args.ignore), webhook_url=url, alert_format=args.alert_format,
        webhook_timeout=args.webhook_timeout, webhook_retries=args.webhook_retries,
        webhook_backoff=args.webhook_backoff)

    def take():
        ctx = HostContext(root=root, timeout=args.collector_timeout, env=dict(os.environ))
        return take_snapshot(ctx, units=tuple(args.systemd_unit or DEFAULT_UNITS), cluster=False)

    cluster = _connect(args)
    try:
        result = runner.run(cluster, opts, take, warn=console.warning)
    finally:
        cluster.close()
    summary = result.get("summary", {})
    console.notice(f"drift {opts.name}: stored {result['snapshot']}; "
                   + (f"{summary.get('changes', 0)} change(s) from baseline {opts.baseline}" if result["drift"]
                      else f"no drift from baseline {opts.baseline}"))
    alert = result.get("alert")
    if alert and not alert["delivered"]:
        raise EnvironmentFailure(f"drift {alert['status']} alert not delivered: {alert['error']}",
                                 hint="the next run retries it")
    if alert:
        console.notice(f"alert ({alert['status']}) delivered after {alert['attempts']} attempt(s)")
    return 0


def _status(args) -> int:
    from eidos.drift import runner, schedule
    from eidos.drift.metrics import render as prometheus
    from eidos.io.output import emit
    from eidos.snapshot.cluster import NotFound

    schedule.check_name(args.name)
    cluster = _connect(args)
    try:
        try:
            state, result, diff = runner.read_record(cluster, args.namespace, args.name)
        except NotFound:
            raise EnvironmentFailure(f"drift {args.name!r} is not installed in {args.namespace}",
                                     hint="eidos drift install --schedule CRON --baseline NAME …") from None
        crons = cluster.list_objects("CronJob", args.namespace, label_selector=schedule.selector(args.name))
    finally:
        cluster.close()
    cron = crons[0] if crons else None
    if args.output == "prometheus":
        text = prometheus(namespace=args.namespace, install=args.name, result=result, state=state, diff=diff)
    elif args.output == "json":
        text = json.dumps(_document(args, cron, state, result, diff), indent=2, sort_keys=True) + "\n"
    else:
        text = _table(args, cron, state, result, diff)
    emit(text, args.out)
    failed = result.get("status") == "error"
    return 1 if args.fail_on_drift and (result.get("drift") or failed) else 0


def _cron_info(cron: dict | None) -> dict | None:
    if cron is None:
        return None
    spec, status = cron.get("spec") or {}, cron.get("status") or {}
    return {"name": (cron.get("metadata") or {}).get("name"), "schedule": spec.get("schedule"),
            "suspend": bool(spec.get("suspend")), "lastScheduleTime": status.get("lastScheduleTime"),
            "lastSuccessfulTime": status.get("lastSuccessfulTime")}


def _document(args, cron, state, result, diff) -> dict:
    from eidos.api import API_VERSION

    return {"apiVersion": API_VERSION, "kind": "DriftStatus", "install": args.name, "namespace": args.namespace,
            "cronJob": _cron_info(cron), "lastRun": result or None, "state": state, "diff": diff}


def _table(args, cron, state, result, diff) -> str:
    info = _cron_info(cron)
    lines = [f"drift {args.name} in {args.namespace}"]
    if info:
        lines.append(f"  CronJob {info['name']}: schedule {info['schedule']!r}"
                     f"{' (suspended)' if info['suspend'] else ''}")
    else:
        lines.append("  CronJob: missing (uninstalled or deleted by hand)")
    if not result:
        lines.append("  no run recorded yet")
        return "\n".join(lines) + "\n"
    lines.append(f"  runs: {state.get('runs', 0)}, drift events: {state.get('driftEvents', 0)}, "
                 f"last success: {state.get('lastSuccess') or 'never'}")
    if result.get("status") == "error":
        lines.append(f"  last run {result.get('time')}: FAILED: {result.get('message')}")
    else:
        s = result.get("summary", {})
        what = (f"DRIFT: {s.get('changes', 0)} change(s), {s.get('verdictChanges', 0)} verdict change(s)"
                if result.get("drift") else "no drift")
        lines.append(f"  last run {result.get('time')}: node {result.get('node')}, {what} from baseline "
                     f"{result.get('baseline')} (snapshot {result.get('snapshot')})")
    alert = result.get("alert")
    if alert:
        lines.append(f"  alert ({alert['status']}): " + ("delivered" if alert.get("delivered")
                                                         else f"NOT delivered: {alert.get('error')}"))
    for snap in state.get("snapshots", []):
        lines.append(f"  kept: {snap.get('configMap')}  {snap.get('time')}  {snap.get('node')}  "
                     f"{snap.get('bytes')} bytes, {snap.get('encoding')}"
                     + (f" in {snap.get('parts')} parts" if (snap.get('parts') or 1) > 1 else ""))
    drifted = [n for n in (diff or {}).get("nodes", []) if n.get("status") != "same"]
    if drifted and result.get("status") == "error":
        lines.append("  differences at the last successful run:")
    for node in drifted:
        lines.append(f"  {node.get('node')}: {node.get('status')}")
        for c in node.get("changes", []):
            if c["kind"] == "changed":
                how = f"  ({c['direction']})" if c.get("direction") else ""
                lines.append(f"    ~ {c['path']}: {json.dumps(c.get('before'))} -> {json.dumps(c.get('after'))}{how}")
            else:
                sign = "+" if c["kind"] == "added" else "-"
                value = c.get("after") if c["kind"] == "added" else c.get("before")
                lines.append(f"    {sign} {c['path']} = {json.dumps(value)}")
    if result.get("diffOmitted"):
        lines.append(f"  {result['diffOmitted']}")
    return "\n".join(lines) + "\n"
