"""Collectors and the one function that runs them all: :func:`take_snapshot`.

Node collectors (``os-release``, ``kernel``, ``sysctl``, ``kmod``, ``cmdline``, ``iommu``,
``systemd``, ``gpu``) read below a host root; the cluster collectors (``k8s-*``) use the Kubernetes API.
They run concurrently, each under a deadline, and every one of them reports a status in
the snapshot; a failure is recorded, never fatal.
"""

from __future__ import annotations

import datetime as _dt
import socket
import threading
from collections.abc import Mapping

from eidos import __version__
from eidos.errors import UsageError
from eidos.snapshot.collectors import cmdline, gpu, iommu, kernel, kmod, os_release, systemd
from eidos.snapshot.collectors.base import CollectorFailed, HostContext, run_collectors
from eidos.snapshot.collectors.k8s import GPU_NAMESPACES, PARTS, collect_cluster
from eidos.snapshot.model import (
    API_VERSION,
    KIND,
    STATUS_FAILED,
    STATUS_UNAVAILABLE,
    CollectorStatus,
    Snapshot,
)


def node_collectors(units: tuple[str, ...] = systemd.DEFAULT_UNITS):
    return [
        os_release.COLLECTOR,
        kernel.KERNEL,
        kernel.SYSCTL,
        kmod.COLLECTOR,
        cmdline.COLLECTOR,
        iommu.COLLECTOR,
        systemd.make_collector(units) if units != systemd.DEFAULT_UNITS else systemd.COLLECTOR,
        gpu.COLLECTOR,
    ]


def node_name(ctx: HostContext) -> str:
    """The Kubernetes node name if the agent was told (downward API), else the host name."""
    for var in ("NODE_NAME", "KUBERNETES_NODE_NAME"):
        if ctx.env.get(var):
            return ctx.env[var]
    try:
        name = ctx.read("proc/sys/kernel/hostname", 4096).strip()
        if name:
            return name
    except (OSError, CollectorFailed):
        pass  # no readable host name under the root: fall back to this machine's
    return socket.gethostname()


_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last instant RFC 3339 can write


def timestamp(env: Mapping[str, str]) -> str:
    """UTC RFC 3339; honours SOURCE_DATE_EPOCH for reproducible output.

    A malformed or out-of-range value is the caller's mistake (exit 2), as the
    reproducible-builds specification asks, never a silent fallback or a crash.
    """
    epoch = env.get("SOURCE_DATE_EPOCH")
    if not epoch:
        moment = _dt.datetime.now(tz=_dt.UTC)
    elif epoch.isascii() and epoch.isdigit() and len(epoch) <= 12 and int(epoch) <= _MAX_EPOCH:
        moment = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
    else:
        shown = epoch if len(epoch) <= 40 else epoch[:40] + "..."
        raise UsageError(
            f"SOURCE_DATE_EPOCH={shown!r}: expected whole seconds since 1970-01-01 UTC, "
            f"from 0 to {_MAX_EPOCH} (9999-12-31T23:59:59Z)",
            hint="unset it, or set it to the output of 'date +%s'",
        )
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def cluster_disabled(reason: str) -> list[CollectorStatus]:
    return [CollectorStatus(p, "K8s", STATUS_UNAVAILABLE, reason) for p in PARTS]


def take_snapshot(
    ctx: HostContext,
    *,
    units: tuple[str, ...] = systemd.DEFAULT_UNITS,
    cluster: bool = True,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespaces: tuple[str, ...] = GPU_NAMESPACES,
    helm: bool = False,
) -> Snapshot:
    """Collect everything this environment offers into one (possibly partial) snapshot."""
    name = node_name(ctx)
    stamp = timestamp(ctx.env)  # before collecting: a bad SOURCE_DATE_EPOCH fails fast
    k8s_box: dict = {}
    k8s_thread = None
    if not cluster:
        k8s_box["result"] = (None, cluster_disabled("disabled (--no-cluster)"))
    else:
        from eidos.snapshot.cluster import config_available

        if not config_available(kubeconfig, ctx.env):
            k8s_box["result"] = (
                None,
                cluster_disabled("no kubeconfig found and not running inside a cluster"),
            )
        else:
            def run_k8s():
                from eidos.snapshot.cluster import Cluster

                try:
                    k8s_box["result"] = collect_cluster(
                        lambda: Cluster.connect(kubeconfig, context, timeout=ctx.timeout, env=ctx.env),
                        node_name=name,
                        namespaces=namespaces,
                        helm=helm,
                    )
                except Exception as err:  # recorded in every K8s status, never lost or called a timeout
                    reason = f"{type(err).__name__}: {err}"[:300]
                    k8s_box["result"] = (
                        None, [CollectorStatus(p, "K8s", STATUS_FAILED, reason) for p in PARTS]
                    )

            k8s_thread = threading.Thread(target=run_k8s, name="collector-k8s", daemon=True)
            k8s_thread.start()
    measurements, statuses = run_collectors(node_collectors(units), ctx)
    if k8s_thread is not None:
        # each API call has its own timeout; allow for connect + the parts' calls
        k8s_thread.join(ctx.timeout * 8 + 10)
    k8s_measurement, k8s_statuses = k8s_box.get(
        "result", (None, cluster_disabled(f"timed out after {ctx.timeout:g}s"))
    )
    if k8s_measurement is not None:
        measurements.append(k8s_measurement)
    statuses.extend(k8s_statuses)
    return Snapshot(
        api_version=API_VERSION,
        kind=KIND,
        metadata={"source-node": name, "timestamp": stamp, "version": __version__},
        measurements=tuple(measurements),
        collectors=tuple(statuses),
    )


__all__ = ["GPU_NAMESPACES", "HostContext", "node_collectors", "take_snapshot"]
