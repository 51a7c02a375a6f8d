"""``eidos validate --fabric`` on a cluster: from the CLI's flags to the test's log.

Picks the profile for the facts given, sizes the run from the GPU nodes the API server
shows (GPUs and fabric devices per node, from their allocatable resources), runs it
(:func:`eidos.fabric.workload.run_fabric`) and hands back the log to judge.
"""

from __future__ import annotations

from eidos.cli import console
from eidos.errors import UsageError
from eidos.fabric import profiles as profilemod
from eidos.fabric.workload import FabricOptions, run_fabric

DEFAULT_GPUS = 8


def _matches(node: dict, selector: dict) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _allocatable(node: dict, resource: str) -> int:
    raw = ((node.get("status") or {}).get("allocatable") or {}).get(resource)
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return 0


def size_run(nodes: list[dict], selector: dict, resources: tuple[str, ...], gpus_flag: int | None,
             prefixes: tuple[str, ...] = ()):
    """(gpus per node, ((resource, count),), matching GPU nodes) from the first matching GPU
    node; ``prefixes`` add every allocatable resource starting with one (``rdma/``)."""
    gpu_nodes = [n for n in nodes if _matches(n, selector) and _allocatable(n, "nvidia.com/gpu") > 0]
    if not gpu_nodes:
        shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        raise UsageError(f"no node matches the node selector {shown} with allocatable nvidia.com/gpu",
                         hint="check --node-selector (default: the profile's, else nvidia.com/gpu.present=true)")
    first = sorted(gpu_nodes, key=lambda n: n["metadata"]["name"])[0]
    gpus = gpus_flag if gpus_flag is not None else _allocatable(first, "nvidia.com/gpu") or DEFAULT_GPUS
    names = list(resources)
    allocatable = (first.get("status") or {}).get("allocatable") or {}
    names += sorted(r for r in allocatable if prefixes and r.startswith(prefixes) and r not in names)
    devices = tuple((r, _allocatable(first, r)) for r in names if _allocatable(first, r) > 0)
    return gpus, devices, len(gpu_nodes)


def run_on_cluster(args, facts: dict) -> tuple[str, str]:
    """(label, log) of one test run on the cluster of ``args.kubeconfig``."""
    from eidos.snapshot import agent
    from eidos.snapshot.cluster import Cluster

    if not facts:
        raise UsageError("--fabric on a cluster needs the facts that pick the test profile",
                         hint="pass --service and --accelerator (and --intent)")
    profilemod.check_test(args.test)
    nodes = int(facts.get("nodes") or 1)
    profile = profilemod.for_run(profilemod.select(facts), nodes)
    # --node-selector, else the profile's (GKE: the machine family's gke-accelerator label,
    # which tells A3 Mega from A3 High), else the GPU operator's nvidia.com/gpu.present
    selector = agent.parse_node_selector(args.node_selector) if args.node_selector \
        else dict(profile.node_selector) or dict(agent.DEFAULT_NODE_SELECTOR)
    cluster = Cluster.connect(args.kubeconfig, args.context, timeout=30)
    try:
        gpus, devices, available = size_run(cluster.list_nodes(), selector, profile.device_resources,
                                            args.gpus_per_node, profile.device_prefixes)
        if nodes > available:
            raise UsageError(f"--nodes {nodes}: only {available} GPU node(s) match the node selector")
        opts = FabricOptions(
            profile=profile, test=args.test, nodes=nodes, gpus_per_node=gpus,
            min_bytes=args.min_bytes, max_bytes=args.max_bytes, timeout=args.timeout,
            image=args.image, cleanup=args.cleanup, node_selector=selector,
            tolerations=tuple(agent.parse_toleration(t) for t in args.toleration)
            if args.toleration else agent.DEFAULT_TOLERATIONS,
            device_counts=devices,
        )
        console.notice(f"fabric test: profile {profile.name}, {nodes} node(s) x {gpus} GPU(s), "
                     f"{args.test} {args.min_bytes}..{args.max_bytes}, namespace {opts.namespace}")
        with agent.signals_interrupt():
            log = run_fabric(cluster, opts, agent.Progress(), warn=console.warning)
    finally:
        cluster.close()
    return f"{profile.name}/{opts.namespace}", log
