"""The GPU collector's health keys: per-GPU values from ``nvidia-smi -q -x`` and the node-level
counts rules/checks-gpu.eidos compares, on the real XMLs and the derived fault copies
(tests/fixtures/README.md lists each edit)."""

from __future__ import annotations

import os
import time

import pytest

from eidos.snapshot.collectors import HostContext, gpu
from eidos.snapshot.collectors.base import run_one
from tests.snapshot.snaphelpers import FIXTURES, make_exe

SMI = FIXTURES / "nvidia-smi"
COUNTS = ("persistence-disabled-gpus", "ecc-disabled-gpus", "ecc-uncorrectable-gpus",
          "retired-pages-pending-gpus", "remapped-rows-pending-gpus", "remapped-rows-failure-gpus",
          "pcie-width-degraded-gpus", "pcie-gen-capped-gpus", "vgpu-guest-gpus", "fabric-gpus",
          "fabric-incomplete-gpus")


def parse(name: str):
    subs = gpu.parse_smi_xml((SMI / name).read_text())
    return subs[0].data, [s.data for s in subs[1:]]


def counts(smi: dict) -> dict:
    return {k: smi[k] for k in COUNTS if k in smi}


def test_h100_sample_per_gpu_health_values():
    smi, gpus = parse("cns-sample-q-x.xml")
    g = gpus[0]
    # pci_gpu_link_info: max_link_gen 4, current 4, max_device_link_gen 5, widths 16x/16x
    assert (g["pcie-gen-max"], g["pcie-gen-current"], g["pcie-gen-device-max"]) == (4, 4, 5)
    assert (g["pcie-width-max"], g["pcie-width-current"]) == (16, 16)
    # v12+ counters: sram_uncorrectable_parity/_secded and dram_uncorrectable, all 0
    assert g["ecc-volatile-uncorrectable"] == 0 and g["ecc-aggregate-uncorrectable"] == 0
    assert g["remapped-rows-pending"] == "No" and g["remapped-rows-failure"] == "No"
    assert g["remapped-rows-correctable"] == 0 and g["remapped-rows-uncorrectable"] == 0
    assert g["retired-pages-pending"] == "N/A"  # Hopper remaps rows; kept verbatim
    assert "retired-pages-sbe" not in g and "retired-pages-dbe" not in g  # N/A is not an int
    assert g["virtualization-mode"] == "Pass-Through"
    for key in ("pcie-gen-max", "pcie-width-current", "ecc-volatile-uncorrectable", "remapped-rows-uncorrectable"):
        assert type(g[key]) is int, key
    assert counts(smi) == {
        "persistence-disabled-gpus": 8,  # every GPU prints Disabled
        "ecc-disabled-gpus": 0, "ecc-uncorrectable-gpus": 0,
        "remapped-rows-pending-gpus": 0, "remapped-rows-failure-gpus": 0,
        "pcie-width-degraded-gpus": 0,
        "pcie-gen-capped-gpus": 8,  # Gen5 GPUs on a Gen4 link
        "vgpu-guest-gpus": 0, "fabric-gpus": 8, "fabric-incomplete-gpus": 0,
    }
    # no GPU prints Yes/No for page retirement: the count is absent, not 0
    assert "retired-pages-pending-gpus" not in smi
    assert smi["virtualization-mode"] == "Pass-Through"


def test_derived_h100_faults_are_each_counted_once():
    smi, gpus = parse("90-h100-hgx-derived-faults.xml")
    assert counts(smi) == {
        "persistence-disabled-gpus": 8,
        "ecc-disabled-gpus": 1,  # GPU 1
        "ecc-uncorrectable-gpus": 1,  # GPU 5 (volatile dram_uncorrectable 1)
        "remapped-rows-pending-gpus": 1,  # GPU 5
        "remapped-rows-failure-gpus": 1,  # GPU 6
        "pcie-width-degraded-gpus": 1,  # GPU 7 at 8x
        "pcie-gen-capped-gpus": 8,
        "vgpu-guest-gpus": 0,
        "fabric-gpus": 8, "fabric-incomplete-gpus": 1,  # GPU 2 In Progress
    }
    assert gpus[5]["ecc-volatile-uncorrectable"] == 1 and gpus[5]["ecc-aggregate-uncorrectable"] == 0
    assert gpus[5]["remapped-rows-uncorrectable"] == 1
    assert gpus[7]["pcie-width-current"] == 8 and gpus[7]["pcie-width-max"] == 16
    assert gpus[2]["fabric-state"] == "In Progress"


def test_turing_page_retirement_and_old_dtd():
    smi, [g] = parse("07-tesla-t4-driver515-dtd-v11.xml")
    assert (g["retired-pages-sbe"], g["retired-pages-dbe"], g["retired-pages-pending"]) == (0, 0, "No")
    assert "remapped-rows-pending" not in g  # <remapped_rows>N/A</remapped_rows> has no children
    assert "pcie-gen-device-max" not in g  # DTD v11 has no max_device_link_gen
    assert counts(smi) == {"persistence-disabled-gpus": 1, "ecc-disabled-gpus": 0, "ecc-uncorrectable-gpus": 0,
                           "retired-pages-pending-gpus": 0, "pcie-width-degraded-gpus": 1, "vgpu-guest-gpus": 0}
    smi, _ = parse("91-tesla-t4-derived-retirement-pending.xml")
    assert smi["retired-pages-pending-gpus"] == 1


def test_a5000_ecc_off_and_persistence_on():
    smi, gpus = parse("06-2x-rtx-a5000-multi-gpu-driver590-dtd-v13.xml")
    assert smi["persistence-disabled-gpus"] == 0 and smi["ecc-disabled-gpus"] == 2
    # ECC off: every counter is N/A, so there is no uncorrectable count to judge
    assert "ecc-uncorrectable-gpus" not in smi and "ecc-volatile-uncorrectable" not in gpus[0]
    # idle: Gen1 of Gen4, but the max is the max -> not capped; widths 16x/16x
    assert gpus[0]["pcie-gen-current"] == 1 and smi["pcie-gen-capped-gpus"] == 0
    assert smi["fabric-gpus"] == 0 and smi["fabric-incomplete-gpus"] == 0  # fabric N/A


def test_vgpu_guest_counted():
    smi, [g] = parse("92-a10g-derived-vgpu-guest.xml")
    assert g["virtualization-mode"] == "VGPU" and smi["vgpu-guest-gpus"] == 1
    assert parse("08-a10g-driver515-dtd-v11.xml")[0]["vgpu-guest-gpus"] == 0


OLD_ECC = """<nvidia_smi_log><gpu id="0">
<ecc_errors><volatile><single_bit><total>7</total></single_bit><double_bit><total>{v}</total></double_bit></volatile>
<aggregate><single_bit><total>9</total></single_bit><double_bit><total>{a}</total></double_bit></aggregate></ecc_errors>
<pci><pci_gpu_link_info><link_widths><max_link_width>{w}</max_link_width><current_link_width>8x</current_link_width>
</link_widths></pci_gpu_link_info></pci></gpu></nvidia_smi_log>"""


@pytest.mark.parametrize("v, a, volatile, aggregate, bad", [
    ("0", "0", 0, 0, 0),
    ("2", "0", 2, 0, 1),  # single-bit errors (7, 9) are correctable and never counted
    ("0", "3", 0, 3, 1),  # aggregate alone is enough
    ("N/A", "N/A", None, None, None),  # nothing reported -> no key, no count
])
def test_pre_v12_double_bit_counters(v, a, volatile, aggregate, bad):
    subs = gpu.parse_smi_xml(OLD_ECC.format(v=v, a=a, w="16x"))
    smi, g = subs[0].data, subs[1].data
    assert g.get("ecc-volatile-uncorrectable") == volatile
    assert g.get("ecc-aggregate-uncorrectable") == aggregate
    assert smi.get("ecc-uncorrectable-gpus") == bad


@pytest.mark.parametrize("width, expected", [("16x", 16), ("N/A", None), ("²x", None), ("16", None), ("1000x", None)])
def test_link_width_only_ascii_digits_with_x(width, expected):
    subs = gpu.parse_smi_xml(OLD_ECC.format(v="0", a="0", w=width))
    assert subs[1].data.get("pcie-width-max") == expected
    # a width that is not a number is not judged: no count rather than a false "degraded"
    assert subs[0].data.get("pcie-width-degraded-gpus") == (None if expected is None else 1)


def test_fabric_state_without_status_and_counts_absent_without_gpus():
    xml = ("<nvidia_smi_log><gpu id='0'><fabric><state>Not Started</state></fabric></gpu>"
           "<gpu id='1'><fabric><state>Completed</state></fabric></gpu></nvidia_smi_log>")
    smi = gpu.parse_smi_xml(xml)[0].data
    assert (smi["fabric-gpus"], smi["fabric-incomplete-gpus"]) == (2, 1)
    empty = gpu.parse_smi_xml("<nvidia_smi_log><attached_gpus>0</attached_gpus></nvidia_smi_log>")[0].data
    assert not set(COUNTS) & set(empty)


NVLINK = SMI / "nvlink"


def test_nvlink_status_of_two_bridged_h100_pcie():
    # real output (HPE DL380a, tests/fixtures/README.md): 18 links each, 12 up, 6 <inactive>
    links = gpu.parse_nvlink_status((NVLINK / "01-2x-h100-pcie-bridged-nvlink-s.txt").read_text())
    assert links == {
        "uuid:GPU-6968dfc2-d444-d92c-c36b-6abe53445cb9": {"nvlink-links": 18, "nvlink-active": 12, "nvlink-inactive": 6},
        "uuid:GPU-9b1446e2-8a89-4cf6-b68c-a98d99e958d3": {"nvlink-links": 18, "nvlink-active": 12, "nvlink-inactive": 6},
    }


@pytest.mark.parametrize("name, inactive_gpus", [
    ("90-8x-h100-hgx-derived-all-active-nvlink-s.txt", 0),
    ("91-8x-h100-hgx-derived-one-inactive-nvlink-s.txt", 1),
])
def test_nvlink_merged_into_the_gpus_by_uuid(name, inactive_gpus):
    subs = gpu.parse_smi_xml((SMI / "cns-sample-q-x.xml").read_text())
    gpu.merge_nvlink(subs, gpu.parse_nvlink_status((NVLINK / name).read_text()))
    smi, gpus = subs[0].data, [s.data for s in subs[1:]]
    assert smi["nvlink-gpus"] == 8 and smi["nvlink-inactive-gpus"] == inactive_gpus
    assert all(g["nvlink-links"] == 18 for g in gpus)
    assert gpus[3]["nvlink-inactive"] == inactive_gpus and gpus[3]["nvlink-active"] == 18 - inactive_gpus


def test_nvlink_without_uuid_matches_by_index_and_empty_output_means_no_nvlink():
    subs = gpu.parse_smi_xml((SMI / "06-2x-rtx-a5000-multi-gpu-driver590-dtd-v13.xml").read_text())
    gpu.merge_nvlink(subs, gpu.parse_nvlink_status("GPU 1: NVIDIA RTX A5000\n\t Link 0: <inactive>\n"
                                                   "\t Link 1: 14.062 GB/s\n\t Link 2: weird\n"))
    assert "nvlink-links" not in subs[1].data
    assert (subs[2].data["nvlink-links"], subs[2].data["nvlink-active"], subs[2].data["nvlink-inactive"]) == (3, 1, 1)
    assert (subs[0].data["nvlink-gpus"], subs[0].data["nvlink-inactive-gpus"]) == (1, 1)
    subs = gpu.parse_smi_xml((SMI / "07-tesla-t4-driver515-dtd-v11.xml").read_text())
    gpu.merge_nvlink(subs, gpu.parse_nvlink_status(""))
    assert (subs[0].data["nvlink-gpus"], subs[0].data["nvlink-inactive-gpus"]) == (0, 0)


def test_nvlink_parse_is_bounded():
    text = "GPU 0: X (UUID: GPU-a)\n" + "".join(f" Link {i % 1000}: <inactive>\n" for i in range(5000))
    links = gpu.parse_nvlink_status(text)
    assert links["uuid:GPU-a"]["nvlink-links"] == gpu.MAX_NVLINKS
    # links before any GPU line belong to nothing
    assert gpu.parse_nvlink_status(" Link 0: 26.562 GB/s\n") == {}
    # a hostile overlong line is skipped, quickly (not run through the regexes)
    start = time.monotonic()
    assert gpu.parse_nvlink_status("GPU 0: " + " " * 200_000 + "x\n" + "GPU 1: Y" + "(" * 100_000) == {}
    assert time.monotonic() - start < 1


def _fake_smi(bin_dir, nvlink_script: str):
    xml = SMI / "cns-sample-q-x.xml"
    make_exe(bin_dir, "nvidia-smi", f'[ "$1 $2" = "nvlink -s" ] && {{ {nvlink_script}\n}}\n'
                                     f'[ "$1 $2" = "-q -x" ] || exit 9\nexec /bin/cat "{xml}"\n')


def _run(host, timeout=5.0):
    return run_one(gpu.COLLECTOR, HostContext(root=host, timeout=timeout, env=dict(os.environ)))


def test_collector_runs_nvlink_status(host, clean_env):
    _fake_smi(clean_env, f'exec /bin/cat "{NVLINK / "91-8x-h100-hgx-derived-one-inactive-nvlink-s.txt"}"')
    out = _run(host)
    assert out.status.status == "ok" and out.status.reason is None
    assert out.subtypes[0].data["nvlink-inactive-gpus"] == 1 and out.subtypes[4].data["nvlink-inactive"] == 1


def test_failing_nvlink_status_keeps_the_gpu_data_and_says_why(host, clean_env):
    _fake_smi(clean_env, 'echo "Failed to initialize NVML"; exit 3')
    out = _run(host)
    assert out.status.status == "ok" and len(out.subtypes) == 9
    assert "nvidia-smi nvlink -s exited with status 3: Failed to initialize NVML" in out.status.reason
    assert "nvlink-gpus" not in out.subtypes[0].data  # unknown, not "no NVLink"


def test_hanging_nvlink_status_is_bounded_by_the_collector_deadline(host, clean_env):
    _fake_smi(clean_env, "/bin/sleep 30")
    start = time.monotonic()
    out = _run(host, timeout=1.5)
    assert time.monotonic() - start < 5
    assert out.status.status == "ok" and "timed out" in out.status.reason
    assert out.subtypes[0].data["gpu-count"] == 8 and "nvlink-gpus" not in out.subtypes[0].data
