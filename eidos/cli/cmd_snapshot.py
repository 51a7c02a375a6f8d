"""``eidos snapshot``: capture this node (and its cluster) or deploy the agent to a GPU node.

Exit codes: 0 a snapshot was written (collectors that failed or were unavailable are
recorded inside it); 2 bad flags or unreadable input; 3 the cluster was unreachable, the
agent failed or timed out, or the output could not be written. A SIGINT/SIGTERM/SIGHUP while
the agent runs deletes its objects, then exits 128 + the signal number. ``--cleanup RUN|all``
exits 0 when nothing of the run is left, 3 when something could not be deleted.
``--deploy-agent --all-nodes`` (one agent Job per GPU node, :mod:`eidos.snapshot.fanout`)
exits 0 when every node's snapshot was taken, 1 when some node failed (each one named on
stderr with its reason), 3 when the run itself could not proceed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from eidos.cli import console
from eidos.cli.argtypes import kubeconfig_file, seconds
from eidos.cli.options import add_legacy_format_argument, add_output_arguments, finish_output
from eidos.errors import UsageError

FORMATS = ("yaml", "json")

DEFAULT_COLLECTOR_TIMEOUT = 20.0
DEFAULT_AGENT_TIMEOUT = 300.0
FANOUT_TIMEOUT = 600.0  # --all-nodes: image pulls and scheduling over many nodes take longer


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "snapshot",
        help="capture a snapshot of this node and its cluster, or of a GPU node via an agent Job",
        description=(
            "Collect OS, kernel, systemd, GPU and Kubernetes facts into a snapshot document. "
            "Collectors that cannot run here are recorded as unavailable or failed, with the "
            "reason; the snapshot is still written. With --deploy-agent, a short-lived Job "
            "collects on a GPU node instead."
        ),
    )
    out = p.add_argument_group("output")
    add_output_arguments(
        out,
        FORMATS,
        default=None,
        format_help="document format (default: json when --out ends in .json, else yaml)",
        out_metavar="DEST",
        out_help="file path, '-' for stdout (default) or cm://namespace/name",
        legacy_destination=True,
    )
    add_legacy_format_argument(out, FORMATS)
    local = p.add_argument_group("collection")
    local.add_argument("--host-root", default="/", metavar="DIR",
                       help="where the host's / is mounted (default /; the agent uses /host)")
    local.add_argument("--collector-timeout", type=seconds, default=DEFAULT_COLLECTOR_TIMEOUT,
                       metavar="SECONDS", help="deadline for each collector (default 20)")
    local.add_argument("--systemd-unit", action="append", metavar="UNIT",
                       help="systemd unit to record (repeatable; default containerd, docker, kubelet, nvidia-fabricmanager)")
    cl = p.add_argument_group("cluster")
    cl.add_argument("--no-cluster", action="store_true", help="do not contact a Kubernetes API")
    cl.add_argument("--kubeconfig", metavar="FILE", type=kubeconfig_file,
                    help="kubeconfig file (default KUBECONFIG, ~/.kube/config); must exist")
    cl.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    cl.add_argument("--image-namespace", action="append", metavar="NS",
                    help="namespace whose pod images are recorded (repeatable; default GPU operator namespaces)")
    cl.add_argument("--helm-releases", action="store_true",
                    help="also record the cluster's Helm releases (K8s.helm); needs list on Secrets "
                         "cluster-wide, see docs/security.md")
    ag = p.add_argument_group("agent")
    ag.add_argument("--deploy-agent", action="store_true",
                    help="run the collectors on a GPU node through a Job")
    ag.add_argument("--all-nodes", action="store_true",
                    help="with --deploy-agent: one agent Job per GPU node (nvidia.com/gpu allocatable "
                         "or nvidia.com/gpu.present=true; --node-selector overrides), snapshots kept "
                         "in ConfigMaps (read back with cm://NAMESPACE/?run=ID) or, with --out DIR, "
                         "one file per node; exit 1 when some node failed")
    ag.add_argument("--namespace", default="gpu-operator",
                    help="namespace for the agent's objects (default gpu-operator; must allow hostPath pods)")
    ag.add_argument("--image", default=os.environ.get("EIDOS_AGENT_IMAGE"),
                    help="agent image built from the project's Dockerfile (default $EIDOS_AGENT_IMAGE)")
    ag.add_argument("--image-pull-secret", action="append", metavar="NAME", help="repeatable")
    ag.add_argument("--node-selector", action="append", metavar="KEY=VALUE",
                    help="repeatable; default nvidia.com/gpu.present=true")
    ag.add_argument("--toleration", action="append", metavar="KEY[=VALUE][:EFFECT]",
                    help="repeatable; default tolerates nvidia.com/gpu:NoSchedule; '*' tolerates all")
    ag.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                    help="how long to wait for the agent Job (default 300; 600 with --all-nodes)")
    ag.add_argument("--no-cleanup", dest="cleanup", action="store_false",
                    help="keep the agent's objects afterwards, for debugging")
    ag.add_argument("--cleanup", dest="cleanup_run", metavar="RUN|all",
                    help="delete, by label, what agent run RUN (or every run) left in "
                         "--namespace, then exit")
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos.snapshot import io

    finish_output(args, FORMATS)
    if args.all_nodes and not args.deploy_agent:
        raise UsageError("--all-nodes fans the agent out; it needs --deploy-agent")
    if args.all_nodes:
        from eidos.snapshot.fanout import check_out_dir

        check_out_dir(args.out)  # fail on a bad --out before anything is created
    destination = args.out or "-"
    fmt = io.format_for(destination, args.output)
    if io.is_configmap(destination):
        io.parse_cm_uri(destination)  # fail on a bad URI before collecting anything

    def cluster_factory():
        from eidos.snapshot.cluster import Cluster

        return Cluster.connect(args.kubeconfig, args.context, timeout=args.collector_timeout)

    if args.cleanup_run is not None:
        return _sweep(args, cluster_factory)
    if args.all_nodes:
        return _all_nodes(args, cluster_factory)
    if args.deploy_agent:
        from eidos.snapshot.agent import Interrupted

        try:
            snapshot = _agent(args, cluster_factory)
        except Interrupted as stop:  # the agent's objects are already deleted
            console.error(f"interrupted ({stop.signal_name})")
            return stop.exit_status
    else:
        snapshot = _local(args)
    io.write_snapshot(snapshot, destination, fmt, cluster_factory=cluster_factory)
    _summary(snapshot, destination)
    return 0


def _local(args):
    from eidos.snapshot.collectors import GPU_NAMESPACES, HostContext, take_snapshot
    from eidos.snapshot.collectors.systemd import DEFAULT_UNITS

    root = Path(args.host_root)
    if not root.is_dir():
        raise UsageError(f"--host-root {args.host_root}: not a directory")
    ctx = HostContext(root=root, timeout=args.collector_timeout, env=dict(os.environ))
    return take_snapshot(
        ctx,
        units=tuple(args.systemd_unit or DEFAULT_UNITS),
        cluster=not args.no_cluster,
        kubeconfig=args.kubeconfig,
        context=args.context,
        namespaces=tuple(args.image_namespace or GPU_NAMESPACES),
        helm=args.helm_releases,
    )


def _agent(args, cluster_factory):
    from eidos.snapshot import agent
    from eidos.snapshot.collectors import GPU_NAMESPACES
    from eidos.snapshot.collectors.k8s import collect_cluster

    _check_agent_flags(args)
    opts = agent.AgentOptions(**_agent_settings(args, dict(agent.DEFAULT_NODE_SELECTOR), DEFAULT_AGENT_TIMEOUT))
    cluster = cluster_factory()
    try:
        with agent.signals_interrupt():
            snapshot = agent.run_agent(cluster, opts, agent.Progress(), warn=_warn)
        measurement, statuses = collect_cluster(
            lambda: cluster,
            node_name=snapshot.source_node,
            namespaces=tuple(args.image_namespace or GPU_NAMESPACES),
            close=False,
            helm=args.helm_releases,
        )
        return snapshot.replace_type(measurement, tuple(statuses), "K8s")
    finally:
        cluster.close()


def _agent_settings(args, default_selector: dict, default_timeout: float) -> dict:
    """The agent flags both the one-node agent and the fan-out take, parsed once."""
    from eidos.snapshot import agent

    return dict(
        image=args.image,
        namespace=args.namespace,
        node_selector=agent.parse_node_selector(args.node_selector) if args.node_selector else default_selector,
        tolerations=tuple(agent.parse_toleration(t) for t in args.toleration)
        if args.toleration else agent.DEFAULT_TOLERATIONS,
        timeout=default_timeout if args.timeout is None else args.timeout,
        cleanup=args.cleanup,
        collector_timeout=args.collector_timeout,
        systemd_units=tuple(args.systemd_unit or ()),
        image_pull_secrets=tuple(args.image_pull_secret or ()),
    )


def _check_agent_flags(args) -> None:
    if args.no_cluster:
        raise UsageError("--deploy-agent needs a cluster; drop --no-cluster")
    if args.host_root != "/":
        raise UsageError("--host-root applies to local collection; the agent always uses /host")
    if not args.image:
        raise UsageError(
            "--deploy-agent needs the agent image: pass --image or set EIDOS_AGENT_IMAGE",
            hint="build it from the repository's Dockerfile (see docs/snapshot.md)",
        )


def _all_nodes(args, cluster_factory) -> int:
    """``--deploy-agent --all-nodes``: 0 every node's snapshot was taken, 1 some node failed
    (each named on stderr with its reason), 3 the run itself could not proceed."""
    from eidos.snapshot import agent, fanout

    _check_agent_flags(args)
    out_dir = fanout.check_out_dir(args.out)
    # no default selector: empty means every GPU node (fanout.select_nodes)
    opts = fanout.FanoutOptions(**_agent_settings(args, {}, FANOUT_TIMEOUT), out_dir=out_dir, fmt=args.output or "yaml")

    def on_node(outcome) -> None:
        if not outcome.ok:
            console.warning(f"node {outcome.node}: {outcome.reason}: {outcome.detail}")

    cluster = cluster_factory()
    try:
        with agent.signals_interrupt():
            result = fanout.run_fanout(cluster, opts, agent.Progress(), warn=_warn, on_node=on_node)
    except agent.Interrupted as stop:  # the run's objects are already deleted
        console.error(f"interrupted ({stop.signal_name})")
        return stop.exit_status
    finally:
        cluster.close()
    total, failed = len(result.outcomes), len(result.failed)
    where = str(out_dir) if out_dir is not None else result.set_uri
    console.notice(f"run {result.run_id}: {total - failed}/{total} node snapshots in {where}"
                   + (f"; {failed} failed" if failed else ""))
    if failed:
        by_reason: dict[str, int] = {}
        for o in result.failed:
            by_reason[o.reason] = by_reason.get(o.reason, 0) + 1
        console.notice("failed: " + ", ".join(f"{n} {r}" for r, n in sorted(by_reason.items())))
    return result.exit_code


def _warn(message: str) -> None:
    console.warning(message)


def _sweep(args, cluster_factory) -> int:
    """``--cleanup RUN|all``: 0 when nothing is left, 3 when something could not be deleted."""
    from eidos.snapshot import agent

    agent.check_run_selector(args.cleanup_run)
    if args.deploy_agent:
        raise UsageError("--cleanup removes leftovers of earlier runs; drop --deploy-agent")
    cluster = cluster_factory()
    try:
        results = agent.sweep(cluster, args.namespace, args.cleanup_run)
    finally:
        cluster.close()
    console.removals(results, args.namespace)
    if not results:
        which = "of any run" if args.cleanup_run == "all" else f"of run {args.cleanup_run}"
        console.notice(f"no agent objects {which} in {args.namespace}")
    return 3 if any(r.error for r in results) else 0


def _summary(snapshot, destination: str) -> None:
    """One line on a terminal when writing to a file; nothing in pipes and CI."""
    if destination == "-" or not console.interactive(sys.stderr):
        return
    counts: dict[str, int] = {}
    for c in snapshot.collectors:
        counts[c.status] = counts.get(c.status, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    console.notice(f"wrote {destination} (collectors: {parts})")
