"""``K8s.gpu-capacity``: GPUs nvidia-smi sees against what the node advertises to the scheduler.

A rule compares a path with a constant, never two paths, so "``nvidia.com/gpu`` allocatable
equals the GPUs on the node" is derived here, at validation, from values the snapshot
already has (eidos' own agent: ``GPU.smi["gpu-count"]``, ``K8s.node.allocatable``,
``K8s.node.labels``, per-GPU ``GPU.gpuN["mig-mode"]``), and checked by
``rules/checks-node.eidos`` (``gpu-allocatable``) as ``K8s.gpu-capacity.missing == 0``.

The expected count, and why (sources in the check's ``doc``):

* **time-slicing / MPS** — GPU Feature Discovery labels the node ``nvidia.com/gpu.replicas``
  (NVIDIA k8s-device-plugin README, GFD label table; GPU Operator "Time-Slicing GPUs in
  Kubernetes"), and the device plugin advertises ``gpu-count × replicas``; with
  ``renameByDefault`` they are advertised as ``nvidia.com/gpu.shared`` instead, so both
  resources are counted;
* **MIG, mixed strategy** — a GPU with MIG enabled is advertised as ``nvidia.com/mig-<profile>``
  resources and not as ``nvidia.com/gpu`` (GPU Operator "GPU Operator with MIG"), so only
  the GPUs with MIG disabled are expected under ``nvidia.com/gpu``;
* **device plugin disabled** (ClusterPolicy ``devicePlugin.enabled=false``, e.g. GPUs
  allocated through the DRA driver instead) — nothing is advertised as ``nvidia.com/gpu`` by
  design: no expectation is derived;
* **MIG, single strategy** — ``nvidia.com/gpu`` counts MIG devices, whose number the snapshot
  does not say: no expectation is derived (``missing`` is absent and the check skips, with
  ``K8s.gpu-capacity.note`` saying why), rather than a guess.

``missing`` is ``max(0, expected - advertised)``: more than expected (an extra sharing
replica not yet labelled) is not a lost GPU. Nothing here changes the snapshot.
"""

from __future__ import annotations

from typing import Any

from eidos.lang.measurements import MISSING

SUBTYPE = ("K8s", "gpu-capacity")
_GPU = "nvidia.com/gpu"
_SHARED = "nvidia.com/gpu.shared"
_MIG_PREFIX = "nvidia.com/mig-"


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def gpu_capacity(snapshot) -> dict | None:
    """The derived mapping, or None when the snapshot lacks the allocatable or the smi count."""
    count = _int(snapshot.lookup(("GPU", "smi", "gpu-count")))
    allocatable = snapshot.lookup(("K8s", "node", "allocatable"))
    if count is None or not isinstance(allocatable, dict):
        return None
    labels = snapshot.lookup(("K8s", "node", "labels"))
    labels = labels if isinstance(labels, dict) else {}
    replicas = _int(labels.get("nvidia.com/gpu.replicas")) or 1
    strategy = labels.get("nvidia.com/mig.strategy")
    if not isinstance(strategy, str):
        policy = snapshot.lookup(("K8s", "policy", "mig", "strategy"))
        strategy = policy if isinstance(policy, str) else "none"
    mig_on = 0
    for i in range(min(count, 64)):
        mode = snapshot.lookup(("GPU", f"gpu{i}", "mig-mode"))
        if isinstance(mode, str) and mode.strip().lower() == "enabled":
            mig_on += 1
    advertised = sum(_int(allocatable.get(k)) or 0 for k in (_GPU, _SHARED))
    mig_advertised = sum(_int(v) or 0 for k, v in allocatable.items() if k.startswith(_MIG_PREFIX))
    out: dict[str, Any] = {
        "smi-gpu-count": count,
        "replicas": replicas,
        "mig-strategy": strategy,
        "mig-enabled-gpus": mig_on,
        "advertised": advertised,
        "mig-advertised": mig_advertised,
    }
    plugin = snapshot.lookup(("K8s", "policy", "devicePlugin", "enabled"))
    if plugin is False or (isinstance(plugin, str) and plugin.strip().lower() == "false"):
        out["note"] = ("the ClusterPolicy disables the device plugin (devicePlugin.enabled=false): "
                       "GPUs are not advertised as nvidia.com/gpu (DRA allocation?); no expectation derived")
        return out
    if mig_on and strategy == "single":
        out["note"] = ("MIG single strategy: nvidia.com/gpu counts MIG devices, which the snapshot "
                       "does not count; no expectation derived")
        return out
    whole = count - mig_on if strategy == "mixed" else count
    out["expected"] = whole * replicas
    out["missing"] = max(0, out["expected"] - advertised)
    # mixed strategy with MIG on: the MIG devices must show up as nvidia.com/mig-* resources
    out["mig-missing"] = bool(mig_on and strategy == "mixed" and mig_advertised == 0)
    return out


class GpuCapacityView:
    """A snapshot with the derived ``K8s.gpu-capacity`` subtype; everything else delegated."""

    __slots__ = ("_snapshot", "_capacity")

    def __init__(self, snapshot) -> None:
        self._snapshot = snapshot
        self._capacity = gpu_capacity(snapshot)

    def lookup(self, segments: tuple) -> Any:
        segments = tuple(segments)
        if segments[:2] == SUBTYPE:
            if self._capacity is None:
                return MISSING
            if len(segments) == 2:
                return dict(self._capacity)
            if len(segments) == 3 and segments[2] in self._capacity:
                return self._capacity[segments[2]]
            return MISSING
        return self._snapshot.lookup(segments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._snapshot, name)
