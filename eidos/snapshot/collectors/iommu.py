"""``OS.iommu``: whether the IOMMU translates device DMA, from ``<root>/sys/kernel/iommu_groups``.

Each subdirectory of ``/sys/kernel/iommu_groups`` is one IOMMU group; its ``type`` file
(Linux 5.11+, Documentation/ABI/testing/sysfs-kernel-iommu_groups) names the group's default
domain: ``identity`` (passthrough: DMA is not translated, what ``iommu=pt`` gives), ``DMA`` or
``DMA-FQ`` (translated, strict or lazy), ``blocked``, ``unmanaged`` (owned by VFIO and the
like). No groups at all means no IOMMU is in use. Recorded:

* ``groups`` — the number of groups;
* ``translated-groups`` — groups whose default domain translates DMA (``DMA``, ``DMA-FQ``);
  absent when some group's type could not be read (kernels before 5.11);
* ``types`` — group count per ``type`` value (``unknown`` when the file is absent).

NVIDIA's NCCL troubleshooting guide ("PCI Access Control Services (ACS)") explains why this
matters for GPU peer-to-peer: IO virtualization (VT-d/IOMMU) can redirect PCI point-to-point
traffic to the CPU root complex. The agent does not mount ``/sys`` (docs/security.md), so
there this collector reports ``unavailable``; a local ``eidos snapshot`` (``--host-root /``)
records it.
"""

from __future__ import annotations

from eidos.snapshot.collectors.base import Collector, CollectorFailed, HostContext, Unavailable
from eidos.snapshot.model import Subtype

ROOT = "sys/kernel/iommu_groups"
MAX_GROUPS = 4096
TRANSLATED = frozenset({"DMA", "DMA-FQ"})


def collect(ctx: HostContext):
    base = ctx.path(ROOT)
    if not base.is_dir():
        raise Unavailable(f"/{ROOT} does not exist under the host root (no IOMMU sysfs; the agent does not mount /sys)")
    try:
        names = sorted(p.name for p in base.iterdir() if p.name.isascii() and p.name.isdigit())
    except OSError as err:
        raise CollectorFailed(f"/{ROOT}: {err.strerror or err}") from None
    note = None
    if len(names) > MAX_GROUPS:
        note = f"{len(names)} IOMMU groups; types read for the first {MAX_GROUPS}"
    types: dict[str, int] = {}
    for name in names[:MAX_GROUPS]:
        try:
            kind = ctx.read(f"{ROOT}/{name}/type", 64).strip() or "unknown"
        except (OSError, CollectorFailed):
            kind = "unknown"
        types[kind] = types.get(kind, 0) + 1
    data: dict = {"groups": len(names), "types": dict(sorted(types.items()))}
    if "unknown" not in types and len(names) <= MAX_GROUPS:
        # without every group's type (kernels before 5.11 have no type file) the count of
        # translating groups is not known, so it is left out rather than guessed as 0
        data["translated-groups"] = sum(n for k, n in types.items() if k in TRANSLATED)
    return [Subtype("iommu", data)], note


COLLECTOR = Collector("iommu", "OS", collect)
