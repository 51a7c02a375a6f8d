"""Which GPU a node has, from nvidia-smi's product name or the GFD label, and what is said
when the model is unknown (an inference notice naming it, never a silent skip).

Product strings: nvidia-smi fixtures in tests/fixtures/nvidia-smi (T4, A10G, A100 40/80 GB,
RTX A5000, H100), the reference snapshots (H100 80GB HBM3, GB200), and the GFD label form
(spaces -> '-', '-SHARED' under time-slicing, '-MIG-<profile>' under the mixed strategy,
vGPU profiles such as GRID-A100-40C from tests/fixtures/k8s-nodes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eidos.engine.inference import infer_facts, notices
from eidos.lang.measurements import MISSING
from eidos.validate.fleet import Validator
from tests.conftest import FIXTURES
from tests.validate.helpers import snap

ROOT = Path(__file__).resolve().parents[2]
SMI = FIXTURES / "nvidia-smi"


def _infer(graph, data: dict):
    def lookup(op):
        return data.get(tuple(op.segments), MISSING)

    facts, _ = infer_facts(graph, lookup)
    return facts, notices(graph, lookup, facts)


@pytest.mark.parametrize(
    "model, expected",
    [
        ("NVIDIA H100 80GB HBM3", "h100"),  # SXM (reference H100 snapshot)
        ("NVIDIA H100 PCIe", "h100"),
        ("NVIDIA H100 NVL", "h100"),
        ("NVIDIA H200", "h200"),
        ("NVIDIA H200 NVL", "h200"),
        ("NVIDIA GH200 480GB", "gh200"),  # not h200: \b keeps the G
        ("NVIDIA GB200", "gb200"),  # not b200
        ("NVIDIA B200", "b200"),
        ("NVIDIA A100-SXM4-80GB", "a100"),
        ("NVIDIA A100-SXM4-40GB", "a100"),
        ("NVIDIA A100-PCIE-40GB", "a100"),
        ("NVIDIA A100 80GB PCIe", "a100"),
        ("NVIDIA L40S", "l40s"),
        ("NVIDIA L40", "l40"),  # not l4
        ("NVIDIA L4", "l4"),
        ("NVIDIA A10G", "a10g"),
        ("Tesla T4", "t4"),
        ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000"),
        # look-alikes that are other GPUs: no value (and a notice, tested below)
        ("NVIDIA A10", None),
        ("NVIDIA RTX A5000", None),
        ("Quadro RTX 6000", None),
        ("NVIDIA RTX 6000 Ada Generation", None),
    ],
)
def test_nvidia_smi_product_names(embedded_graph, model, expected):
    facts, _ = _infer(embedded_graph, {("GPU", "smi", "gpu.model"): model})
    assert facts.get("accelerator") == expected


@pytest.mark.parametrize(
    "label, expected",
    [
        ("NVIDIA-H100-80GB-HBM3", "h100"),
        ("NVIDIA-H100-80GB-HBM3-SHARED", "h100"),  # time-slicing suffix
        ("NVIDIA-GB200", "gb200"),
        ("NVIDIA-GH200-480GB", "gh200"),
        ("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", "a100"),  # mixed MIG strategy
        ("GRID-A100-40C", "a100"),  # vGPU profile (tests/fixtures/k8s-nodes)
        ("NVIDIA-L4", "l4"),
        ("NVIDIA-L40S", "l40s"),
        ("Tesla-T4", "t4"),
        ("NVIDIA-A10G", "a10g"),
        ("NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition", "rtx-pro-6000"),
    ],
)
def test_gfd_product_labels(embedded_graph, label, expected):
    facts, _ = _infer(embedded_graph, {("K8s", "node", "labels", "nvidia.com/gpu.product"): label})
    assert facts.get("accelerator") == expected


def test_nvidia_smi_outranks_the_gfd_label(embedded_graph):
    # the label can be stale (GFD relabels on its own schedule); nvidia-smi is this boot's truth
    facts, _ = _infer(embedded_graph, {("GPU", "smi", "gpu.model"): "NVIDIA H200",
                                       ("K8s", "node", "labels", "nvidia.com/gpu.product"): "NVIDIA-H100-80GB-HBM3"})
    assert facts["accelerator"] == "h200"


def test_unknown_model_gives_a_notice_naming_it_and_the_values(embedded_graph):
    facts, told = _infer(embedded_graph, {("GPU", "smi", "gpu.model"): "NVIDIA RTX A5000"})
    assert "accelerator" not in facts
    [n] = [n for n in told if n["fact"] == "accelerator"]
    assert n["kind"] == "unmatched"
    assert n["values"] == {'GPU.smi["gpu.model"]': "'NVIDIA RTX A5000'"}
    assert "NVIDIA RTX A5000" in n["message"] and "--accelerator" in n["message"]
    assert "h100" in n["message"] and "rtx-pro-6000" in n["message"]  # what it could map to


def test_intent_is_never_inferred_and_the_notice_says_so(embedded_graph):
    _, told = _infer(embedded_graph, {})
    [n] = [n for n in told if n["fact"] == "intent"]
    assert n["kind"] == "no-rule" and "--intent" in n["message"] and "training" in n["message"]


def test_kops_on_aws_is_not_eks_and_says_what_it_saw(embedded_graph):
    facts, told = _infer(embedded_graph, {("K8s", "server", "version"): "v1.30.2",
                                          ("K8s", "node", "provider-id"): "aws:///eu-west-1a/i-0123"})
    assert "service" not in facts
    [n] = [n for n in told if n["fact"] == "service"]
    assert "aws:///eu-west-1a/i-0123" in n["message"] and "v1.30.2" in n["message"]


def test_flag_given_facts_get_no_notice(embedded_graph):
    def lookup(op):
        return MISSING

    told = notices(embedded_graph, lookup, {}, given=("intent", "accelerator"))
    assert {n["fact"] for n in told} == {"service", "os", "platform", "nodes"}


def _vgpu_labels() -> dict:
    """The first node object of the VKS conformance evidence (a stream of JSON objects)."""
    text = (FIXTURES / "k8s-nodes" / "01-vks-vsphere-vgpu-grid-a100-4nodes-labels.json").read_text()
    first, _ = json.JSONDecoder().raw_decode(text)
    return first


def test_vgpu_guest_is_recognised(embedded_graph):
    labels = _vgpu_labels()
    assert labels["nvidia.com/gpu.product"] == "GRID-A100-40C"
    s = snap({"K8s": {"node": {"labels": labels}}})
    node = Validator(embedded_graph).node(s, "<vks>")
    # GRID-A100-40C is an A100 vGPU profile: accelerator a100 from the GFD label
    assert dict(node.criteria)["accelerator"] == "a100"
    by = {v.id: v for v in node.verdicts}
    # nvidia.com/vgpu.present=true: the info-level check reports it (warn, never failing the run)
    v = by["check:vgpu-guest:not-vgpu"]
    assert v.status == "warn" and v.severity == "info"
    assert v.actual == (('K8s.node.labels["nvidia.com/vgpu.present"]', "true"),)


def test_non_vgpu_node_passes_the_vgpu_check(embedded_graph):
    s = snap({"K8s": {"node": {"labels": {"nvidia.com/vgpu.present": "false",
                                          "nvidia.com/gpu.product": "NVIDIA-L4"}}}})
    by = {v.id: v for v in Validator(embedded_graph).node(s, "<l4>").verdicts}
    assert by["check:vgpu-guest:not-vgpu"].status == "pass"


def _snapshot_from_xml(tmp_path: Path, xml: Path) -> Path:
    """``eidos snapshot --host-root`` on a small host tree with a fake nvidia-smi printing ``xml``."""
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    (host / "etc/os-release").write_text((FIXTURES / "os" / "os-release-ubuntu-22.04").read_text())
    (host / "proc/sys/kernel").mkdir(parents=True)
    (host / "proc/sys/kernel/osrelease").write_text("6.8.0-1028-aws\n")
    (host / "proc/modules").write_text("nvidia_uvm 1 0 - Live 0x0\nnvidia 1 1 nvidia_uvm, Live 0x0\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f'#!/bin/sh\nexec /bin/cat "{xml}"\n')
    smi.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("KUBERNETES_SERVICE_HOST", "NODE_NAME", "CI")}
    env.update(PATH=str(bin_dir), KUBECONFIG=str(tmp_path / "none"))
    out = tmp_path / "snap.yaml"
    proc = subprocess.run([sys.executable, "-m", "eidos", "snapshot", "--host-root", str(host), "--no-cluster",
                           "--out", str(out)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return out


def _validate_json(path: Path, *flags: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "eidos", "validate", "-s", str(path), "-o", "json", *flags],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    "xml, accelerator",
    [
        ("07-tesla-t4-driver515-dtd-v11.xml", "t4"),  # product_name "Tesla T4"
        ("08-a10g-driver515-dtd-v11.xml", "a10g"),  # "NVIDIA A10G"
        ("02-a100-sxm4-80gb-driver535-dtd-v12.xml", "a100"),  # "NVIDIA A100-SXM4-80GB"
        ("03-a100-sxm4-40gb-mig-enabled-driver510-dtd-v11.xml", "a100"),  # MIG enabled, same product
    ],
)
def test_snapshot_from_real_nvidia_smi_xml_gives_the_accelerator(tmp_path, xml, accelerator):
    doc = _validate_json(_snapshot_from_xml(tmp_path, SMI / xml))
    node = doc["nodes"][0]
    assert node["criteria"]["accelerator"] == accelerator
    assert node["factSources"]["accelerator"].startswith("snapshot (rules/infer.eidos:")
    by = {v["id"]: v for v in node["verdicts"]}
    # the GPU checks apply (not every one skipped): one GPU visible, the modules loaded
    assert by["check:gpus-visible:gpu-count"]["status"] == "pass"
    assert by["check:nvidia-modules:nvidia-kmod"]["status"] == "pass"


def test_snapshot_from_t4_xml_judges_the_driver_branch(tmp_path):
    # Tesla T4 fixture: driver 515.105.01 < R525 -> the Ampere/Ada/Turing branch check fails
    doc = _validate_json(_snapshot_from_xml(tmp_path, SMI / "07-tesla-t4-driver515-dtd-v11.xml"))
    by = {v["id"]: v for v in doc["nodes"][0]["verdicts"]}
    assert by["check:driver-branch-ampere-ada:driver"]["status"] == "fail"


def test_snapshot_from_unknown_model_xml_names_it(tmp_path):
    # two RTX A5000s: not in the accelerator table -> a notice naming the model, in the
    # report (table and JSON), never a silent skip
    path = _snapshot_from_xml(tmp_path, SMI / "06-2x-rtx-a5000-multi-gpu-driver590-dtd-v13.xml")
    doc = _validate_json(path, "--intent", "training")
    node = doc["nodes"][0]
    assert "accelerator" not in node["criteria"]
    [n] = [n for n in node["notices"] if n.startswith("unknown accelerator")]
    assert "NVIDIA RTX A5000" in n
    table = subprocess.run([sys.executable, "-m", "eidos", "validate", "-s", str(path), "--intent", "training"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    assert "notice:   unknown accelerator: the snapshot has GPU.smi[\"gpu.model\"] = 'NVIDIA RTX A5000'" in table
