"""rules/checks-node.eidos: each check passes on a realistic snapshot and fails on an edited copy.

The bases are the real EKS snapshots in tests/fixtures/snapshots; the keys only eidos' own
agent collects (K8s.node allocatable/labels/hugepages, K8s.dra, per-GPU subtypes, OS.iommu,
OS.kernel.cmdline) are added with values such a node reports, and every failing variant is
one documented edit of that copy (tests/fixtures/README.md, "Derived snapshots").
"""

from __future__ import annotations

import copy
import itertools
import json

import pytest
import yaml

from eidos.snapshot.io import parse_snapshot
from eidos.validate.fleet import Validator
from eidos.validate.gpucapacity import gpu_capacity
from eidos.validate.plan import ClosureCache, applicability
from tests.conftest import FIXTURES

SNAPSHOTS = FIXTURES / "snapshots"
GB200 = {"service": "eks", "accelerator": "gb200", "os": "ubuntu", "intent": "training"}
H100_METAL = {"service": "self-managed", "accelerator": "h100", "intent": "training"}

# What eidos' agent records on a healthy GB200 node of the gb200-eks-ubuntu-training recipe:
# 4 GPUs advertised, no sharing, MIG disabled, the Skyhook tuning's huge pages, DRA ready.
GB200_AGENT = {
    "K8s": {
        "node": {
            "allocatable": {"cpu": 144, "nvidia.com/gpu": 4, "hugepages-2Mi": "10256Mi", "hugepages-1Gi": "2Gi"},
            "gpu-allocatable": 4,
            "hugepages": {"1Gi": 2, "2Mi": 5128},
            "labels": {"nvidia.com/gpu.product": "NVIDIA-GB200", "nvidia.com/gpu.count": "4",
                       "nvidia.com/gpu.replicas": "1", "nvidia.com/mig.strategy": "single"},
        },
        "dra": {"computedomain-crd": True, "compute-domain-slices": 18, "compute-domain-slices-on-node": 1,
                "controller-pods": 1, "controller-ready": 1, "kubelet-plugin-on-node": True,
                "kubelet-plugin-pods": 18, "kubelet-plugin-ready": 18, "kubelet-plugin-ready-on-node": True},
    },
    "GPU": {f"gpu{i}": {"mig-mode": "Disabled"} for i in range(4)},
}


def derive(name: str, add: dict, edits=()):
    """The real snapshot ``name`` with ``add`` merged in (type -> subtype -> keys) and each
    ``(type, subtype, key, value)`` edit applied (value None deletes the key)."""
    doc = yaml.safe_load((SNAPSHOTS / name).read_text())
    merged = copy.deepcopy(add)
    for mtype, subtype, key, value in edits:
        merged.setdefault(mtype, {}).setdefault(subtype, {})[key] = value
    for mtype, subs in merged.items():
        m = next((m for m in doc["measurements"] if m["type"] == mtype), None)
        if m is None:
            m = {"type": mtype, "subtypes": []}
            doc["measurements"].append(m)
        for sub, data in subs.items():
            st = next((s for s in m["subtypes"] if s["subtype"] == sub), None)
            if st is None:
                st = {"subtype": sub, "data": {}}
                m["subtypes"].append(st)
            for k, v in data.items():
                if v is None:
                    st["data"].pop(k, None)
                else:
                    st["data"][k] = v
    return parse_snapshot(json.dumps(doc), name)


def verdicts(graph, snapshot, facts, check):
    node = Validator(graph, flag_facts=facts).node(snapshot, "<derived>")
    return {v.id.split(":", 2)[2]: v for v in node.verdicts if v.id.startswith(f"check:{check}:")}


def statuses(graph, snapshot, facts, check):
    return {k: v.status for k, v in verdicts(graph, snapshot, facts, check).items()}


def _node(**changes):
    node = copy.deepcopy(GB200_AGENT["K8s"]["node"])
    for k, v in changes.items():
        node[k] = v
    return node


def _gb200(node=None, gpus=None, dra=None, extra=()):
    add = copy.deepcopy(GB200_AGENT)
    if node is not None:
        add["K8s"]["node"] = node
    if gpus is not None:
        add["GPU"] = gpus
    if dra is not None:
        add["K8s"]["dra"] = {**add["K8s"]["dra"], **dra}
    return derive("cns-eks-gb200.yaml", add, extra)


# ---------------------------------------------------------------------------- gpu-allocatable

def test_gpu_allocatable_passes_on_a_healthy_node(embedded_graph):
    assert statuses(embedded_graph, _gb200(), GB200, "gpu-allocatable") == {
        "gpus-advertised": "pass", "mig-advertised": "pass"}


def test_gpu_allocatable_warns_when_the_device_plugin_dropped_a_gpu(embedded_graph):
    # edit: allocatable nvidia.com/gpu 4 -> 3 (one GPU marked unhealthy), nvidia-smi still sees 4
    snap = _gb200(_node(allocatable={**GB200_AGENT["K8s"]["node"]["allocatable"], "nvidia.com/gpu": 3}))
    v = verdicts(embedded_graph, snap, GB200, "gpu-allocatable")["gpus-advertised"]
    assert v.status == "warn" and v.severity == "warning"
    assert dict(v.actual)["K8s.gpu-capacity.missing"] == 1
    assert "device plugin" in v.remedy


@pytest.mark.parametrize("allocatable, expected", [
    ({"nvidia.com/gpu": 16}, "pass"),          # 4 GPUs x 4 replicas
    ({"nvidia.com/gpu.shared": 16}, "pass"),   # renameByDefault: advertised as gpu.shared
    ({"nvidia.com/gpu": 4}, "warn"),           # replicas label says 4, plugin advertises 1 each
    ({"nvidia.com/gpu": 12}, "warn"),          # one GPU's 4 replicas lost
])
def test_time_slicing_replicas_multiply_allocatable(embedded_graph, allocatable, expected):
    labels = {**GB200_AGENT["K8s"]["node"]["labels"], "nvidia.com/gpu.replicas": "4",
              "nvidia.com/gpu.sharing-strategy": "time-slicing"}
    snap = _gb200(_node(allocatable=allocatable, labels=labels))
    assert statuses(embedded_graph, snap, GB200, "gpu-allocatable")["gpus-advertised"] == expected


def _mig_gpus(enabled):
    return {f"gpu{i}": {"mig-mode": "Enabled" if i < enabled else "Disabled"} for i in range(4)}


def test_mig_mixed_counts_only_whole_gpus_and_wants_mig_resources(embedded_graph):
    labels = {**GB200_AGENT["K8s"]["node"]["labels"], "nvidia.com/mig.strategy": "mixed"}
    ok = _gb200(_node(labels=labels, allocatable={"nvidia.com/gpu": 2, "nvidia.com/mig-1g.23gb": 14}),
                gpus=_mig_gpus(2))
    assert statuses(embedded_graph, ok, GB200, "gpu-allocatable") == {
        "gpus-advertised": "pass", "mig-advertised": "pass"}
    # edit: MIG devices not advertised at all
    bad = _gb200(_node(labels=labels, allocatable={"nvidia.com/gpu": 2}), gpus=_mig_gpus(2))
    assert statuses(embedded_graph, bad, GB200, "gpu-allocatable") == {
        "gpus-advertised": "pass", "mig-advertised": "warn"}


def test_mig_single_strategy_is_not_guessed(embedded_graph):
    # nvidia.com/gpu counts MIG devices under the single strategy: no expectation, skip
    snap = _gb200(_node(allocatable={"nvidia.com/gpu": 28}), gpus=_mig_gpus(4))
    v = verdicts(embedded_graph, snap, GB200, "gpu-allocatable")["gpus-advertised"]
    assert v.status == "skip"
    assert "MIG single strategy" in gpu_capacity(snap)["note"]


def test_mig_strategy_falls_back_to_the_cluster_policy():
    # no GFD label: the ClusterPolicy's mig.strategy (single in the reference snapshot) is used
    labels = {k: v for k, v in GB200_AGENT["K8s"]["node"]["labels"].items() if k != "nvidia.com/mig.strategy"}
    snap = _gb200(_node(labels=labels))
    assert gpu_capacity(snap)["mig-strategy"] == "single"


# ---------------------------------------------------------------------------- imex-compute-domain

def test_imex_ready_passes(embedded_graph):
    assert set(statuses(embedded_graph, _gb200(), GB200, "imex-compute-domain").values()) == {"pass"}


@pytest.mark.parametrize("edit, failing", [
    ({"computedomain-crd": False}, "computedomain-crd"),
    ({"controller-ready": 0}, "dra-controller"),
    ({"kubelet-plugin-ready-on-node": False}, "kubelet-plugin"),
    ({"compute-domain-slices-on-node": 0}, "compute-domain-slices"),
])
def test_imex_not_ready_warns_on_the_broken_part(embedded_graph, edit, failing):
    got = statuses(embedded_graph, _gb200(dra=edit), GB200, "imex-compute-domain")
    assert {k for k, s in got.items() if s == "warn"} == {failing}
    assert {k for k, s in got.items() if s == "pass"} == set(got) - {failing}


def test_imex_only_on_gb200(embedded_graph):
    got = statuses(embedded_graph, _gb200(dra={"computedomain-crd": False}), {**GB200, "accelerator": "b200"},
                   "imex-compute-domain")
    assert set(got.values()) == {"skip"}


# ---------------------------------------------------------------------------- skyhook-hugepages

def test_hugepages_pass_where_the_tuning_applies(embedded_graph):
    assert set(statuses(embedded_graph, _gb200(), GB200, "skyhook-hugepages").values()) == {"pass"}


@pytest.mark.parametrize("edit, failing", [
    # the kernel pool: tuning not applied (the node was not rebooted)
    ([("OS", "sysctl", "/proc/sys/vm/nr_hugepages", "0")], "hugepages-2m-kernel"),
    # pool allocated after the kubelet started: the kubelet advertises none
    ([("K8s", "node", "hugepages", {"1Gi": 2, "2Mi": 0})], "hugepages-2m-allocatable"),
    ([("K8s", "node", "hugepages", {"1Gi": 0, "2Mi": 5128})], "hugepages-1g-allocatable"),
])
def test_hugepages_missing_warn(embedded_graph, edit, failing):
    got = statuses(embedded_graph, _gb200(extra=edit), GB200, "skyhook-hugepages")
    assert {k for k, s in got.items() if s == "warn"} == {failing}


def test_hugepages_check_applies_exactly_where_a_recipe_adds_the_skyhook_tuning(embedded_graph):
    """The check's `when` mirrors the overlays that add customization-ubuntu.yaml (the only
    Skyhook customization, which sets hugepages): resolve every combination and compare."""
    from eidos import engine

    check = embedded_graph.checks["skyhook-hugepages"]
    cache = ClosureCache()
    facts = embedded_graph.facts
    names = ("service", "accelerator", "intent", "os")
    values = [facts[n].values for n in names]
    checked = 0
    for combo in itertools.product(*values):
        query = dict(zip(names, combo))
        resolved = engine.resolve(embedded_graph, query)
        tuned = any(c.name == "skyhook-operator" and (c.values or {}).get("customization") == "ubuntu"
                    for c in resolved.components)
        applies = applicability(check, query, cache) is None
        assert applies == tuned, query
        checked += tuned
    assert checked > 0  # some recipes do add the tuning


# ---------------------------------------------------------------------------- iommu-passthrough

def _h100(add=None):
    return derive("cns-eks-h100.yaml", add or {})


def test_iommu_passthrough_or_off(embedded_graph):
    identity = {"OS": {"iommu": {"groups": 180, "translated-groups": 0, "types": {"identity": 180}}}}
    assert statuses(embedded_graph, _h100(identity), H100_METAL, "iommu-passthrough") == {"iommu-pt": "pass"}
    cmdline = {"OS": {"kernel": {"cmdline": "BOOT_IMAGE=/vmlinuz ro intel_iommu=on iommu=pt"}}}
    assert statuses(embedded_graph, _h100(cmdline), H100_METAL, "iommu-passthrough") == {"iommu-pt": "pass"}
    off = {"OS": {"kernel": {"cmdline": "ro amd_iommu=off quiet"}}}
    assert statuses(embedded_graph, _h100(off), H100_METAL, "iommu-passthrough") == {"iommu-pt": "pass"}


def test_iommu_translating_dma_warns(embedded_graph):
    # edit: every IOMMU group in a translating (DMA-FQ) domain, no iommu=pt on the command line
    add = {"OS": {"iommu": {"groups": 180, "translated-groups": 180, "types": {"DMA-FQ": 180}},
                  "kernel": {"cmdline": "BOOT_IMAGE=/vmlinuz ro intel_iommu=on"}}}
    v = verdicts(embedded_graph, _h100(add), H100_METAL, "iommu-passthrough")["iommu-pt"]
    assert v.status == "warn" and "iommu=pt" in v.remedy and "ACSCtl" in v.remedy


def test_iommu_unknown_without_evidence_and_not_on_cloud(embedded_graph):
    # the agent does not mount /sys and the command line says nothing: unknown -> skip, never a guess
    add = {"OS": {"kernel": {"cmdline": "BOOT_IMAGE=/vmlinuz ro"}}}
    assert statuses(embedded_graph, _h100(add), H100_METAL, "iommu-passthrough") == {"iommu-pt": "skip"}
    # a "pt" substring elsewhere is not the parameter
    add = {"OS": {"iommu": {"groups": 4, "translated-groups": 4, "types": {"DMA": 4}},
                  "kernel": {"cmdline": "ro xiommu=pt"}}}
    assert statuses(embedded_graph, _h100(add), H100_METAL, "iommu-passthrough") == {"iommu-pt": "warn"}
    assert statuses(embedded_graph, _h100(add), {**H100_METAL, "service": "eks"}, "iommu-passthrough") == {
        "iommu-pt": "skip"}


def test_single_gpu_node_passes(embedded_graph):
    add = {"OS": {"iommu": {"groups": 4, "translated-groups": 4, "types": {"DMA": 4}}},
           "GPU": {"smi": {"gpu-count": 1}}}
    assert statuses(embedded_graph, _h100(add), H100_METAL, "iommu-passthrough") == {"iommu-pt": "pass"}


def test_component_skip_names_the_helm_opt_in(embedded_graph):
    # an eidos snapshot taken without --helm-releases: the component verdicts say how to get them
    from tests.validate.helpers import collector, snap

    s = snap({"K8s": {"server": {"version": "v1.33.5"}}},
             collectors=[collector("k8s-helm", "K8s", "unavailable",
                                   "not requested: Helm releases are read only with --helm-releases")])
    node = Validator(embedded_graph, flag_facts={"service": "eks", "accelerator": "h100",
                                                 "intent": "training"}).node(s, "<s>")
    v = {v.id: v for v in node.verdicts}["component:cert-manager"]
    assert v.status == "skip" and "--helm-releases" in v.reason


def test_device_plugin_disabled_is_not_a_lost_gpu(embedded_graph):
    # edit: the ClusterPolicy disables the device plugin (GPUs through DRA); allocatable 0
    snap = _gb200(_node(allocatable={"cpu": 144}), extra=[("K8s", "policy", "devicePlugin.enabled", "false")])
    assert statuses(embedded_graph, snap, GB200, "gpu-allocatable")["gpus-advertised"] == "skip"
    assert "devicePlugin.enabled=false" in gpu_capacity(snap)["note"]
