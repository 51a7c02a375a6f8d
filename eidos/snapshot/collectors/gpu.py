"""``GPU``: every GPU from ``nvidia-smi -q -x``, plus flat summary keys.

The reference kept only the first GPU, so a node with mixed or half-broken GPUs looked fine.
Here each ``<gpu>`` becomes its own subtype ``gpu0``, ``gpu1``… (document order, which is
PCI bus order) and ``GPU.smi`` summarises the node:

* ``driver-version``, ``cuda-version``, ``gpu-count`` (int: ``<gpu>`` elements),
  ``attached-gpus`` (int, as nvidia-smi reports it), ``model`` and ``architecture`` (of the
  first GPU), ``models`` (sorted distinct product names), ``homogeneous`` (bool);
* the reference's key names, so rules written against its snapshots keep working:
  ``driver``, ``gpu.model``, ``gpu.product-architecture``, ``gpu.vbios-version``,
  ``gpu.gsp-firmware-version``, ``gpu.persistence-mode``, ``gpu.addressing-mode``,
  ``gpu.display-mode``, ``gpu.display-active`` (from the first GPU).

* for the health checks (rules/checks-gpu.eidos) node-level counts, each the number of GPUs
  in a bad state among the GPUs that report the value (``health_summary``): a rule compares
  ``GPU.smi["ecc-uncorrectable-gpus"] == 0``, and a key no GPU reports is left out so the
  check skips instead of passing on nothing.

Per-GPU keys are listed in ``GPU_FIELDS``, ``INT_FIELDS`` and ``WIDTH_FIELDS`` (plus the
uncorrectable ECC sums); elements a driver does not report are left out (so ``exists``
means something), text such as ``N/A`` is kept verbatim. Counts and sizes in MiB are ints.

NVLink link state is not in ``-q -x``; a second, best-effort ``nvidia-smi nvlink -s`` within
what is left of the deadline adds it (``parse_nvlink_status``); if it fails, the NVLink keys
are absent and the collector's status (still ``ok``) says why. ``nvidia-smi`` missing is ``unavailable``; a non-zero exit, a timeout or XML
that is not an ``nvidia_smi_log`` is ``failed`` with the reason.

At most ``MAX_GPUS`` per-GPU subtypes are recorded (``gpu-count`` stays the real count and
the status says so): a real node has at most a few dozen, and a broken or hostile
``nvidia-smi`` listing 20,000 must not turn into a snapshot that takes a minute to write.
"""

from __future__ import annotations

import re
import shutil
import time
import xml.etree.ElementTree as ET

from eidos.snapshot.collectors.base import (
    Collector,
    CollectorFailed,
    HostContext,
    Unavailable,
    first_line,
    run_command,
)
from eidos.snapshot.model import Subtype

# per-GPU key -> element paths tried in order (nvidia-smi DTD versions moved some of them)
GPU_FIELDS: dict[str, tuple[str, ...]] = {
    "product-name": ("product_name",),
    "product-brand": ("product_brand",),
    "architecture": ("product_architecture",),
    "uuid": ("uuid",),
    "serial": ("serial",),
    "pci-bus-id": ("pci/pci_bus_id",),
    "vbios-version": ("vbios_version",),
    "gsp-firmware-version": ("gsp_firmware_version",),
    "display-mode": ("display_mode",),
    "display-active": ("display_active",),
    "persistence-mode": ("persistence_mode",),
    "addressing-mode": ("addressing_mode",),
    "compute-mode": ("compute_mode",),
    "mig-mode": ("mig_mode/current_mig",),
    "mig-mode-pending": ("mig_mode/pending_mig",),
    "ecc-mode": ("ecc_mode/current_ecc",),
    "ecc-mode-pending": ("ecc_mode/pending_ecc",),
    "memory-total": ("fb_memory_usage/total",),
    "power-limit": ("gpu_power_readings/current_power_limit", "power_readings/power_limit"),
    "fabric-state": ("fabric/state",),
    "fabric-status": ("fabric/status",),
    "fabric-clique-id": ("fabric/cliqueId",),
    "fabric-cluster-uuid": ("fabric/clusterUuid",),
    "fabric-health-bandwidth": ("fabric/health/bandwidth",),
    "virtualization-mode": ("gpu_virtualization_mode/virtualization_mode",),
    "retired-pages-pending": ("retired_pages/pending_retirement",),
    "remapped-rows-pending": ("remapped_rows/remapped_row_pending",),
    "remapped-rows-failure": ("remapped_rows/remapped_row_failure",),
}
_LINK = "pci/pci_gpu_link_info/"
INT_FIELDS = {
    "minor-number": "minor_number",
    # PCIe: max is what this GPU *and* the slot can do, device-max what the GPU alone can
    "pcie-gen-max": _LINK + "pcie_gen/max_link_gen",
    "pcie-gen-current": _LINK + "pcie_gen/current_link_gen",
    "pcie-gen-device-max": _LINK + "pcie_gen/max_device_link_gen",
    "retired-pages-sbe": "retired_pages/multiple_single_bit_retirement/retired_count",
    "retired-pages-dbe": "retired_pages/double_bit_retirement/retired_count",
    "remapped-rows-correctable": "remapped_rows/remapped_row_corr",
    "remapped-rows-uncorrectable": "remapped_rows/remapped_row_unc",
}
# "16x" -> 16
WIDTH_FIELDS = {
    "pcie-width-max": _LINK + "link_widths/max_link_width",
    "pcie-width-current": _LINK + "link_widths/current_link_width",
}
_WIDTH = re.compile(r"([0-9]{1,3})x")
MAX_GPUS = 1024
_MIB = re.compile(r"\s*([0-9]{1,18})\s*MiB\s*")
# ASCII digits only: str.isdigit() and \d also accept "²" and "٣", which int() refuses
_COUNT = re.compile(r"[0-9]{1,18}")
COMPAT_KEYS = {
    "gpu.model": "product-name",
    "gpu.product-architecture": "architecture",
    "gpu.vbios-version": "vbios-version",
    "gpu.gsp-firmware-version": "gsp-firmware-version",
    "gpu.persistence-mode": "persistence-mode",
    "gpu.addressing-mode": "addressing-mode",
    "gpu.display-mode": "display-mode",
    "gpu.display-active": "display-active",
}


def _text(node: ET.Element, path: str) -> str | None:
    el = node.find(path)
    if el is None or el.text is None:
        return None
    return " ".join(el.text.split())


def _uncorrectable(scope: ET.Element | None) -> int | None:
    """Uncorrectable ECC errors in one ``<volatile>`` or ``<aggregate>`` block, summed over
    the counters the DTD version has: ``dram_uncorrectable``, ``sram_uncorrectable`` (v12),
    ``sram_uncorrectable_parity``/``_secded`` (newer), or ``double_bit/total`` (older
    drivers). ``None`` when no counter is a number (``N/A`` on GPUs without ECC or in MIG)."""
    if scope is None:
        return None
    counts = [_text(child, ".") for child in scope if "uncorrectable" in child.tag]
    counts.append(_text(scope, "double_bit/total"))
    numbers = [int(c) for c in counts if c is not None and _COUNT.fullmatch(c)]
    return sum(numbers) if numbers else None


def parse_gpu(gpu: ET.Element, index: int) -> dict:
    data: dict = {"index": index}
    for key, paths in GPU_FIELDS.items():
        for path in paths:
            value = _text(gpu, path)
            if value is not None:
                data[key] = value
                break
    if "pci-bus-id" not in data and gpu.get("id"):
        data["pci-bus-id"] = gpu.get("id")
    for key, path in INT_FIELDS.items():
        value = _text(gpu, path)
        if value is not None and _COUNT.fullmatch(value):
            data[key] = int(value)
    for key, path in WIDTH_FIELDS.items():
        value = _text(gpu, path)
        m = _WIDTH.fullmatch(value or "")
        if m:
            data[key] = int(m.group(1))
    for scope in ("volatile", "aggregate"):
        total = _uncorrectable(gpu.find(f"ecc_errors/{scope}"))
        if total is not None:
            data[f"ecc-{scope}-uncorrectable"] = total
    m = _MIB.fullmatch(data.get("memory-total", ""))
    if m:
        data["memory-total-mib"] = int(m.group(1))
    mig = gpu.find("mig_devices")
    if mig is not None:
        data["mig-devices"] = len(mig.findall("mig_device"))
    return data


# `nvidia-smi nvlink -s`: "GPU 0: NVIDIA H100 PCIe (UUID: GPU-…)", then one line per link,
# "Link 0: 26.562 GB/s" (active, at that speed) or "Link 4: <inactive>"
_NVLINK_GPU = re.compile(r"GPU ([0-9]{1,5}): .*?(?:\(UUID: (GPU-[0-9A-Za-z-]{1,80})\))?\s*")
_NVLINK_LINK = re.compile(r"Link ([0-9]{1,3}): (.*)")
_NVLINK_SPEED = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})? GB/s")
MAX_NVLINKS = 64  # per GPU; NVLink 4/5 GPUs have 18


def parse_nvlink_status(text: str) -> dict[str, dict[str, int]]:
    """``nvidia-smi nvlink -s`` -> {"uuid:GPU-…" or "index:N": {nvlink-links, nvlink-active,
    nvlink-inactive}}. A line that is neither a speed nor ``<inactive>`` counts as a link but
    as neither state; GPUs past ``MAX_GPUS`` and links past ``MAX_NVLINKS`` are ignored."""
    out: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) > 512:  # real lines are < 100 characters; keeps the regexes linear
            continue
        m = _NVLINK_GPU.fullmatch(line)
        if m:
            if len(out) >= MAX_GPUS:
                current = None
                continue
            key = f"uuid:{m.group(2)}" if m.group(2) else f"index:{int(m.group(1))}"
            current = out.setdefault(key, {"nvlink-links": 0, "nvlink-active": 0, "nvlink-inactive": 0})
            continue
        m = _NVLINK_LINK.fullmatch(line)
        if m is None or current is None or current["nvlink-links"] >= MAX_NVLINKS:
            continue
        current["nvlink-links"] += 1
        state = m.group(2).strip()
        if state == "<inactive>":
            current["nvlink-inactive"] += 1
        elif _NVLINK_SPEED.fullmatch(state):
            current["nvlink-active"] += 1
    return out


def merge_nvlink(subtypes: list[Subtype], links: dict[str, dict[str, int]]) -> None:
    """Add the per-GPU link counts (matched by UUID, else by nvidia-smi index) and the node
    counts ``nvlink-gpus`` (GPUs with NVLinks) and ``nvlink-inactive-gpus`` (of those, with
    an inactive link). Empty output means no GPU has NVLink: both counts are 0."""
    smi, gpus = subtypes[0].data, [s.data for s in subtypes[1:]]
    for g in gpus:
        found = links.get(f"uuid:{g.get('uuid')}") or links.get(f"index:{g['index']}")
        if found:
            g.update(found)
    on = [g for g in gpus if g.get("nvlink-links", 0) > 0]
    smi["nvlink-gpus"] = len(on)
    smi["nvlink-inactive-gpus"] = sum(1 for g in on if g["nvlink-inactive"] > 0)


def _count(gpus: list[dict], judged, bad) -> int | None:
    """How many GPUs ``bad`` holds for, among those ``judged`` holds for; ``None`` (key left
    out) when no GPU reports the value at all, so a rule on it skips instead of passing."""
    seen = [g for g in gpus if judged(g)]
    return sum(1 for g in seen if bad(g)) if seen else None


def _has(*keys):
    return lambda g: all(isinstance(g.get(k), int) for k in keys)


def _one_of(key, *values):
    return lambda g: g.get(key) in values


def health_summary(gpus: list[dict]) -> dict:
    """Node-level counts the health checks compare (rules/checks-gpu.eidos): each is the
    number of GPUs in a bad state among the GPUs that report the value."""
    fabric = [g for g in gpus if "fabric-state" in g]
    counts = {
        "persistence-disabled-gpus": _count(
            gpus, _one_of("persistence-mode", "Enabled", "Disabled"),
            lambda g: g["persistence-mode"] == "Disabled"),
        "ecc-disabled-gpus": _count(
            gpus, _one_of("ecc-mode", "Enabled", "Disabled"), lambda g: g["ecc-mode"] == "Disabled"),
        "ecc-uncorrectable-gpus": _count(
            gpus, lambda g: "ecc-volatile-uncorrectable" in g or "ecc-aggregate-uncorrectable" in g,
            lambda g: g.get("ecc-volatile-uncorrectable", 0) > 0 or g.get("ecc-aggregate-uncorrectable", 0) > 0),
        "retired-pages-pending-gpus": _count(
            gpus, _one_of("retired-pages-pending", "Yes", "No"), lambda g: g["retired-pages-pending"] == "Yes"),
        "remapped-rows-pending-gpus": _count(
            gpus, _one_of("remapped-rows-pending", "Yes", "No"), lambda g: g["remapped-rows-pending"] == "Yes"),
        "remapped-rows-failure-gpus": _count(
            gpus, _one_of("remapped-rows-failure", "Yes", "No"), lambda g: g["remapped-rows-failure"] == "Yes"),
        "pcie-width-degraded-gpus": _count(
            gpus, _has("pcie-width-max", "pcie-width-current"),
            lambda g: g["pcie-width-current"] < g["pcie-width-max"]),
        "pcie-gen-capped-gpus": _count(
            gpus, _has("pcie-gen-max", "pcie-gen-device-max"),
            lambda g: g["pcie-gen-max"] < g["pcie-gen-device-max"]),
        "vgpu-guest-gpus": _count(
            gpus, lambda g: "virtualization-mode" in g, lambda g: g["virtualization-mode"] == "VGPU"),
    }
    out = {k: v for k, v in counts.items() if v is not None}
    if fabric:
        # N/A: the GPU is not attached to an NVSwitch fabric (PCIe cards, pre-Hopper drivers)
        on = [g for g in fabric if g["fabric-state"] != "N/A"]
        out["fabric-gpus"] = len(on)
        out["fabric-incomplete-gpus"] = sum(
            1 for g in on if g["fabric-state"] != "Completed" or g.get("fabric-status", "Success") != "Success")
    if "virtualization-mode" in (gpus[0] if gpus else {}):
        out["virtualization-mode"] = gpus[0]["virtualization-mode"]
    return out


def parse_smi_xml(text: str, max_gpus: int | None = None) -> list[Subtype]:
    """``nvidia-smi -q -x`` output -> ``smi`` summary + one subtype per GPU (the first
    ``max_gpus``; ``gpu-count`` counts them all)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise CollectorFailed(f"nvidia-smi printed invalid XML: {err}") from None
    if root.tag != "nvidia_smi_log":
        raise CollectorFailed(f"nvidia-smi XML has root <{root.tag}>, expected <nvidia_smi_log>")
    elements = root.findall("gpu")
    limit = MAX_GPUS if max_gpus is None else max_gpus
    gpus = [parse_gpu(g, i) for i, g in enumerate(elements[:limit])]
    smi: dict = {"gpu-count": len(elements)}
    for key, path in (("driver-version", "driver_version"), ("cuda-version", "cuda_version")):
        value = _text(root, path)
        if value is not None:
            smi[key] = value
    if "driver-version" in smi:
        smi["driver"] = smi["driver-version"]
    attached = _text(root, "attached_gpus")
    if attached is not None and _COUNT.fullmatch(attached):
        smi["attached-gpus"] = int(attached)
    if gpus:
        first = gpus[0]
        models = sorted({g["product-name"] for g in gpus if "product-name" in g})
        if "product-name" in first:
            smi["model"] = first["product-name"]
        if "architecture" in first:
            smi["architecture"] = first["architecture"]
        smi["models"] = models
        smi["homogeneous"] = len(models) <= 1 and len(
            {g.get("vbios-version") for g in gpus}
        ) <= 1
        for compat, key in COMPAT_KEYS.items():
            if key in first:
                smi[compat] = first[key]
        smi.update(health_summary(gpus))
    return [Subtype("smi", smi)] + [Subtype(f"gpu{g['index']}", g) for g in gpus]


def collect(ctx: HostContext) -> list[Subtype]:
    exe = shutil.which("nvidia-smi", path=ctx.env.get("PATH"))
    if exe is None:
        raise Unavailable("nvidia-smi not found on PATH (no NVIDIA driver or GPU here)")
    started = time.monotonic()
    result = run_command([exe, "-q", "-x"], ctx.timeout, ctx.env)
    if result.returncode != 0:
        msg = first_line(result.stdout + "\n" + result.stderr) or "no output"
        raise CollectorFailed(f"nvidia-smi exited with status {result.returncode}: {msg}")
    subtypes = parse_smi_xml(result.stdout)
    notes = []
    count = subtypes[0].data["gpu-count"]
    if count > MAX_GPUS:
        notes.append(f"{count} GPUs listed; recorded the first {MAX_GPUS}")
    note = _collect_nvlink(exe, ctx, subtypes, ctx.timeout - (time.monotonic() - started))
    if note:
        notes.append(note)
    return (subtypes, "; ".join(notes)) if notes else subtypes


def _collect_nvlink(exe: str, ctx: HostContext, subtypes: list[Subtype], budget: float) -> str | None:
    """NVLink link state from ``nvidia-smi nvlink -s`` (``-q -x`` has none). Best effort
    within what is left of the collector's deadline: a failure leaves the NVLink keys out
    (the checks on them skip) and is noted in the status, never failing the GPU data."""
    if len(subtypes) == 1:
        return None  # no GPU recorded
    if budget < 1.0:
        return "nvidia-smi nvlink -s skipped: no time left"
    try:
        result = run_command([exe, "nvlink", "-s"], budget, ctx.env)
    except (CollectorFailed, Unavailable) as err:
        return f"nvidia-smi nvlink -s: {err}"
    if result.returncode != 0:
        msg = first_line(result.stdout + "\n" + result.stderr) or "no output"
        return f"nvidia-smi nvlink -s exited with status {result.returncode}: {msg}"
    merge_nvlink(subtypes, parse_nvlink_status(result.stdout))
    return None


COLLECTOR = Collector("gpu", "GPU", collect)
