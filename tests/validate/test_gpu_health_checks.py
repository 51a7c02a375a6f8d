"""rules/checks-gpu.eidos end to end: ``eidos snapshot --host-root`` on a host tree whose fake
nvidia-smi prints a real XML (passing cases) or a derived fault copy (failing cases,
tests/fixtures/README.md), then ``eidos validate``; every verdict of every new check written
out with its reason. The systemd half of fabric-manager is judged on built snapshots (the
systemd collector needs the host's D-Bus, which a test host tree has not got)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eidos.validate.fleet import Validator
from tests.conftest import FIXTURES
from tests.validate.helpers import snap

ROOT = Path(__file__).resolve().parents[2]
SMI = FIXTURES / "nvidia-smi"
NA = "skip"  # the check's `when` does not hold for the inferred accelerator
CHECKS = ("check:persistence-mode:persistence", "check:ecc-enabled:ecc-on",
          "check:ecc-uncorrectable:no-uncorrectable", "check:retired-pages-pending:none-pending",
          "check:remapped-rows:no-pending", "check:remapped-rows:no-failure",
          "check:pcie-link-width:full-width", "check:pcie-link-generation-capped:full-generation",
          "check:fabric-manager:fabric-registered", "check:fabric-manager:fabricmanager-unit",
          "check:nvlink-links:all-active", "check:vgpu-guest-smi:not-vgpu")
# what the fake `nvidia-smi nvlink -s` prints next to each XML (tests/fixtures/nvidia-smi/nvlink);
# XMLs not listed get empty output, which is what nvidia-smi prints when no GPU has NVLink
NVLINK = {
    "cns-sample-q-x.xml": "90-8x-h100-hgx-derived-all-active-nvlink-s.txt",
    "90-h100-hgx-derived-faults.xml": "91-8x-h100-hgx-derived-one-inactive-nvlink-s.txt",
}

EXPECTED = {
    # 8x H100 80GB HBM3 (HGX): every GPU prints persistence Disabled; ECC on, no errors; Hopper
    # remaps rows (page retirement N/A -> no count, skip); 16x/16x; Gen4 link for Gen5 GPUs
    # (info -> warn); fabric Completed/Success on all 8; no SystemD data -> unit unknown, skip;
    # all 18 NVLinks of all 8 GPUs active (nvlink -s, derived from the HPE output's format)
    "cns-sample-q-x.xml": {
        "check:persistence-mode:persistence": "warn", "check:ecc-enabled:ecc-on": "pass",
        "check:ecc-uncorrectable:no-uncorrectable": "pass", "check:retired-pages-pending:none-pending": "skip",
        "check:remapped-rows:no-pending": "pass", "check:remapped-rows:no-failure": "pass",
        "check:pcie-link-width:full-width": "pass", "check:pcie-link-generation-capped:full-generation": "warn",
        "check:fabric-manager:fabric-registered": "pass", "check:fabric-manager:fabricmanager-unit": "skip",
        "check:nvlink-links:all-active": "pass",
        "check:vgpu-guest-smi:not-vgpu": "pass"},
    # the same node with one fault per GPU (GPU 1 ECC off, 2 fabric In Progress, 5 uncorrectable
    # error + remap pending, 6 remap failure, 7 at x8; nvlink -s: GPU 3 link 7 inactive):
    # each of those checks warns
    "90-h100-hgx-derived-faults.xml": {
        "check:persistence-mode:persistence": "warn", "check:ecc-enabled:ecc-on": "warn",
        "check:ecc-uncorrectable:no-uncorrectable": "warn", "check:retired-pages-pending:none-pending": "skip",
        "check:remapped-rows:no-pending": "warn", "check:remapped-rows:no-failure": "warn",
        "check:pcie-link-width:full-width": "warn", "check:pcie-link-generation-capped:full-generation": "warn",
        "check:fabric-manager:fabric-registered": "warn", "check:fabric-manager:fabricmanager-unit": "skip",
        "check:nvlink-links:all-active": "warn",
        "check:vgpu-guest-smi:not-vgpu": "pass"},
    # Tesla T4 (Turing, cloud VM pass-through): page retirement reported (0/0, pending No),
    # rows N/A; the real file's link is x8 of x16 (warn: the platform or a fault, the remedy
    # says to compare with the instance type); DTD v11 has no device max gen -> skip; not an
    # NVSwitch accelerator
    "07-tesla-t4-driver515-dtd-v11.xml": {
        "check:persistence-mode:persistence": "warn", "check:ecc-enabled:ecc-on": "pass",
        "check:ecc-uncorrectable:no-uncorrectable": "pass", "check:retired-pages-pending:none-pending": "pass",
        "check:remapped-rows:no-pending": "skip", "check:remapped-rows:no-failure": "skip",
        "check:pcie-link-width:full-width": "warn", "check:pcie-link-generation-capped:full-generation": "skip",
        "check:fabric-manager:fabric-registered": NA, "check:fabric-manager:fabricmanager-unit": NA,
        "check:nvlink-links:all-active": NA,
        "check:vgpu-guest-smi:not-vgpu": "pass"},
    # the T4 with pending retirement Yes
    "91-tesla-t4-derived-retirement-pending.xml": {
        "check:persistence-mode:persistence": "warn", "check:ecc-enabled:ecc-on": "pass",
        "check:ecc-uncorrectable:no-uncorrectable": "pass", "check:retired-pages-pending:none-pending": "warn",
        "check:remapped-rows:no-pending": "skip", "check:remapped-rows:no-failure": "skip",
        "check:pcie-link-width:full-width": "warn", "check:pcie-link-generation-capped:full-generation": "skip",
        "check:fabric-manager:fabric-registered": NA, "check:fabric-manager:fabricmanager-unit": NA,
        "check:nvlink-links:all-active": NA,
        "check:vgpu-guest-smi:not-vgpu": "pass"},
    # A10G (Ampere, pass-through): rows No/No, pages N/A; x8 of x16 as reported
    "08-a10g-driver515-dtd-v11.xml": {
        "check:persistence-mode:persistence": "warn", "check:ecc-enabled:ecc-on": "pass",
        "check:ecc-uncorrectable:no-uncorrectable": "pass", "check:retired-pages-pending:none-pending": "skip",
        "check:remapped-rows:no-pending": "pass", "check:remapped-rows:no-failure": "pass",
        "check:pcie-link-width:full-width": "warn", "check:pcie-link-generation-capped:full-generation": "skip",
        "check:fabric-manager:fabric-registered": NA, "check:fabric-manager:fabricmanager-unit": NA,
        "check:nvlink-links:all-active": NA,
        "check:vgpu-guest-smi:not-vgpu": "pass"},
    # the A10G as a vGPU guest: the info-level check reports it (warn, never failing)
    "92-a10g-derived-vgpu-guest.xml": {
        "check:persistence-mode:persistence": "warn", "check:ecc-enabled:ecc-on": "pass",
        "check:ecc-uncorrectable:no-uncorrectable": "pass", "check:retired-pages-pending:none-pending": "skip",
        "check:remapped-rows:no-pending": "pass", "check:remapped-rows:no-failure": "pass",
        "check:pcie-link-width:full-width": "warn", "check:pcie-link-generation-capped:full-generation": "skip",
        "check:fabric-manager:fabric-registered": NA, "check:fabric-manager:fabricmanager-unit": NA,
        "check:nvlink-links:all-active": NA,
        "check:vgpu-guest-smi:not-vgpu": "warn"},
    # A100-SXM4-80GB, driver 535: rows and pages N/A (skip); Gen4 x16 of Gen4 x16 (pass)
    "02-a100-sxm4-80gb-driver535-dtd-v12.xml": {
        "check:persistence-mode:persistence": "warn", "check:ecc-enabled:ecc-on": "pass",
        "check:ecc-uncorrectable:no-uncorrectable": "pass", "check:retired-pages-pending:none-pending": "skip",
        "check:remapped-rows:no-pending": "skip", "check:remapped-rows:no-failure": "skip",
        "check:pcie-link-width:full-width": "pass", "check:pcie-link-generation-capped:full-generation": "pass",
        "check:fabric-manager:fabric-registered": NA, "check:fabric-manager:fabricmanager-unit": NA,
        "check:nvlink-links:all-active": NA,
        "check:vgpu-guest-smi:not-vgpu": "pass"},
    # 2x RTX A5000 (no accelerator fact): persistence Enabled on both (pass); ECC off, so no
    # uncorrectable count (skip) and ecc-enabled does not apply; Gen1 at idle is not judged
    "06-2x-rtx-a5000-multi-gpu-driver590-dtd-v13.xml": {
        "check:persistence-mode:persistence": "pass", "check:ecc-enabled:ecc-on": NA,
        "check:ecc-uncorrectable:no-uncorrectable": "skip", "check:retired-pages-pending:none-pending": "skip",
        "check:remapped-rows:no-pending": "pass", "check:remapped-rows:no-failure": "pass",
        "check:pcie-link-width:full-width": "pass", "check:pcie-link-generation-capped:full-generation": "pass",
        "check:fabric-manager:fabric-registered": NA, "check:fabric-manager:fabricmanager-unit": NA,
        "check:nvlink-links:all-active": NA,
        "check:vgpu-guest-smi:not-vgpu": "pass"},
}


def _snapshot(tmp: Path, xml: Path, nvlink: Path | None) -> Path:
    host = tmp / "host"
    (host / "etc").mkdir(parents=True)
    (host / "etc/os-release").write_text((FIXTURES / "os" / "os-release-ubuntu-22.04").read_text())
    (host / "proc/sys/kernel").mkdir(parents=True)
    (host / "proc/sys/kernel/osrelease").write_text("6.8.0-1028-aws\n")
    (host / "proc/modules").write_text("nvidia_uvm 1 0 - Live 0x0\nnvidia 1 1 nvidia_uvm, Live 0x0\n")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    links = f'exec /bin/cat "{nvlink}"' if nvlink else "exit 0"
    smi.write_text(f'#!/bin/sh\n[ "$1 $2" = "nvlink -s" ] && {links}\n'
                   f'[ "$1 $2" = "-q -x" ] || exit 9\nexec /bin/cat "{xml}"\n')
    smi.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("KUBERNETES_SERVICE_HOST", "NODE_NAME", "CI")}
    env.update(PATH=str(bin_dir), KUBECONFIG=str(tmp / "none"))
    out = tmp / "snap.yaml"
    proc = subprocess.run([sys.executable, "-m", "eidos", "snapshot", "--host-root", str(host), "--no-cluster",
                           "--out", str(out)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """xml name -> {verdict id: verdict} from `eidos validate -o json` (one snapshot each)."""
    out = {}
    for name in EXPECTED:
        links = SMI / "nvlink" / NVLINK[name] if name in NVLINK else None
        path = _snapshot(tmp_path_factory.mktemp(name.split(".")[0]), SMI / name, links)
        proc = subprocess.run([sys.executable, "-m", "eidos", "validate", "-s", str(path), "-o", "json",
                               "--intent", "training"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                              check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        out[name] = {v["id"]: v for v in json.loads(proc.stdout)["nodes"][0]["verdicts"]}
    return out


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_gpu_health_verdict(reports, name):
    by = reports[name]
    assert {c: by[c]["status"] for c in CHECKS} == EXPECTED[name]
    for c in CHECKS:
        v = by[c]
        assert v["source"].startswith("rules/checks-gpu.eidos:"), c
        if v["status"] != "pass":
            assert v["reason"], c
        if v["status"] == "warn":
            assert v["remedy"], c


def test_failing_verdicts_name_the_count(reports):
    by = reports["90-h100-hgx-derived-faults.xml"]
    assert by["check:fabric-manager:fabric-registered"]["actual"] == {"GPU.smi.fabric-incomplete-gpus": 1}
    assert "reset" in by["check:remapped-rows:no-pending"]["remedy"]
    assert "RMA" in by["check:remapped-rows:no-failure"]["remedy"]
    # the info-level gen check and vGPU check never fail a run; warnings do not at --fail-on error
    assert by["check:pcie-link-generation-capped:full-generation"]["severity"] == "info"


def test_the_nvswitch_accelerators_only_get_the_fabric_check(embedded_graph):
    s = snap({"GPU": {"smi": {"gpu.model": "NVIDIA GB200", "fabric-gpus": 4, "fabric-incomplete-gpus": 4}}})
    by = {v.id: v for v in Validator(embedded_graph).node(s, "<gb200>").verdicts}
    # GB200 NVL72 is gb200-fabric's (rules/checks.eidos), not a second verdict here
    assert by["check:fabric-manager:fabric-registered"].status == "skip"
    assert "accelerator" in by["check:fabric-manager:fabric-registered"].reason


def _fm(embedded_graph, unit: dict | None, fabric_gpus: int):
    data = {"GPU": {"smi": {"gpu.model": "NVIDIA H100 80GB HBM3", "fabric-gpus": fabric_gpus,
                            "fabric-incomplete-gpus": 0}}}
    if unit is not None:
        data["SystemD"] = {"nvidia-fabricmanager.service": unit}
    by = {v.id: v for v in Validator(embedded_graph).node(snap(data), "<hgx>").verdicts}
    return by["check:fabric-manager:fabricmanager-unit"].status


@pytest.mark.parametrize("unit, fabric_gpus, expected", [
    # host-driver HGX: the unit is installed and running
    ({"LoadState": "loaded", "ActiveState": "active"}, 8, "pass"),
    # installed but failed (NVSentinel issue 883's node): warn
    ({"LoadState": "loaded", "ActiveState": "failed"}, 8, "warn"),
    # GPU Operator: Fabric Manager runs in the driver container, no unit on the host
    ({"LoadState": "not-found", "ActiveState": "inactive"}, 8, "pass"),
    # an installed but idle unit on a GPU outside any NVSwitch fabric (PCIe H100) is fine
    ({"LoadState": "loaded", "ActiveState": "failed"}, 0, "pass"),
    # no SystemD data on an NVSwitch system: nothing to judge
    (None, 8, "skip"),
])
def test_fabricmanager_unit(embedded_graph, unit, fabric_gpus, expected):
    assert _fm(embedded_graph, unit, fabric_gpus) == expected


@pytest.mark.parametrize("mode, expected", [("Enabled", "pass"), ("Disabled", "warn")])
def test_persistence_from_a_reference_snapshot_uses_the_first_gpu(embedded_graph, mode, expected):
    # the reference agent records GPU.smi["gpu.persistence-mode"] only (no per-GPU count)
    s = snap({"GPU": {"smi": {"gpu.model": "NVIDIA H100 80GB HBM3", "gpu.persistence-mode": mode}}})
    by = {v.id: v for v in Validator(embedded_graph).node(s, "<ref>").verdicts}
    assert by["check:persistence-mode:persistence"].status == expected


def test_persistence_count_outranks_the_first_gpu(embedded_graph):
    # eidos' agent: the first GPU is Enabled but another is not -> the count decides
    s = snap({"GPU": {"smi": {"gpu.model": "NVIDIA H100 80GB HBM3", "gpu.persistence-mode": "Enabled",
                              "persistence-disabled-gpus": 1}}})
    by = {v.id: v for v in Validator(embedded_graph).node(s, "<mixed>").verdicts}
    assert by["check:persistence-mode:persistence"].status == "warn"


@pytest.mark.parametrize("inactive, fabric_gpus, expected", [
    (0, 8, "pass"),
    (1, 8, "warn"),
    # two bridged H100 PCIe (tests/fixtures/nvidia-smi/nvlink/01-…): 6 of 18 links inactive on
    # both GPUs by design, and no NVSwitch fabric (state N/A) -> not judged
    (2, 0, "pass"),
])
def test_nvlink_links_only_judged_on_an_nvswitch_fabric(embedded_graph, inactive, fabric_gpus, expected):
    s = snap({"GPU": {"smi": {"gpu.model": "NVIDIA H100 PCIe", "nvlink-gpus": 2, "nvlink-inactive-gpus": inactive,
                              "fabric-gpus": fabric_gpus}}})
    by = {v.id: v for v in Validator(embedded_graph).node(s, "<h100>").verdicts}
    assert by["check:nvlink-links:all-active"].status == expected
