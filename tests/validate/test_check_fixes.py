"""Checks that used to mislead: GPUDirect RDMA, B200 held to GB200 rules, COS kernels,
and remedies for data a collector never delivered. Expected verdicts are written by hand,
each with its reason."""

from __future__ import annotations

import pytest

from eidos.snapshot.io import load_snapshot
from eidos.validate.fleet import Validator
from tests.conftest import FIXTURES
from tests.validate.helpers import collector, snap

SNAPSHOTS = FIXTURES / "snapshots"


def _by(graph, s, **facts):
    return {v.id: v for v in Validator(graph, flag_facts=facts).node(s, "<test>").verdicts}


# ------------------------------------------------------------------ GPUDirect RDMA


def test_self_managed_h100_training_has_no_error_level_peermem_failure(embedded_graph):
    # acceptance: the H100 fixture has no nvidia_peermem, but kernel 6.8.0-1024-aws >= 5.12,
    # ClusterPolicy driver.kernelModuleType=auto and driver 570.133.20 >= R560: the open
    # modules are in use, so DMA-BUF (NVIDIA's recommended path) is available -> pass
    s = load_snapshot(str(SNAPSHOTS / "cns-eks-h100.yaml"))
    by = _by(embedded_graph, s, service="self-managed", accelerator="h100", intent="training")
    v = by["check:gpudirect-rdma:rdma-path"]
    assert v.status == "pass" and v.severity == "warning"
    assert not [x for x in by.values() if "peermem" in x.expr and x.status in ("fail", "error")]


def _rdma(graph, kmod: dict, policy: dict, *, kernel="6.8.0-1024-aws", arch="Hopper", driver="570.133.20",
          service="self-managed"):
    s = snap({"OS": {"kmod": kmod, "sysctl": {"/proc/sys/kernel/osrelease": kernel}},
              "GPU": {"smi": {"driver": driver, "gpu.product-architecture": arch, "gpu-count": 8}},
              "K8s": {"policy": policy}})
    return _by(graph, s, service=service, accelerator="h100", intent="training")["check:gpudirect-rdma:rdma-path"]


def test_rdma_legacy_peermem_passes(embedded_graph):
    # nvidia_peermem loaded: the legacy path is there, whatever the modules' flavour
    assert _rdma(embedded_graph, {"nvidia": True, "nvidia_peermem": True},
                 {"driver.kernelModuleType": "proprietary"}).status == "pass"


def test_rdma_proprietary_modules_without_peermem_warn(embedded_graph):
    # proprietary modules (no DMA-BUF export) and no peermem: neither path -> a warning, not a failure
    v = _rdma(embedded_graph, {"nvidia": True}, {"driver.kernelModuleType": "proprietary"})
    assert v.status == "warn"
    assert "DMA-BUF" in v.remedy and "driver.rdma.enabled=true" in v.remedy


def test_rdma_old_kernel_has_no_dma_buf(embedded_graph):
    # open modules but kernel 5.10 (< 5.12, no DMA-BUF for RDMA) and no peermem -> warning
    v = _rdma(embedded_graph, {"nvidia": True}, {"driver.kernelModuleType": "open"}, kernel="5.10.0-28-amd64")
    assert v.status == "warn"


def test_rdma_auto_with_an_old_driver_is_not_open(embedded_graph):
    # kernelModuleType=auto picks the open modules only for R560+; R550 stays proprietary -> warning
    assert _rdma(embedded_graph, {"nvidia": True}, {"driver.kernelModuleType": "auto"},
                 driver="550.127.05").status == "warn"


def test_rdma_blackwell_is_always_open(embedded_graph):
    # Blackwell runs only the open modules: DMA-BUF with a 5.12+ kernel, no policy needed
    assert _rdma(embedded_graph, {"nvidia": True}, {}, arch="Blackwell").status == "pass"


def test_rdma_check_does_not_apply_on_gke(embedded_graph):
    # GKE uses GPUDirect-TCPX/TCPXO or its own RDMA stack, never nvidia_peermem
    v = _rdma(embedded_graph, {"nvidia": True}, {}, service="gke")
    assert v.status == "skip" and "not applicable" in v.reason


# ------------------------------------------------------------------ B200 is not GB200


def test_x86_hgx_b200_is_not_held_to_gb200_rules(embedded_graph):
    # an x86 HGX B200 on Kubernetes 1.31 and a 6.5 kernel: no DRA (ComputeDomains are GB200
    # NVL72) and no kernel 6.8 requirement (Grace arm64 only); the Blackwell driver rules stay
    s = snap({"K8s": {"server": {"version": "v1.31.4"}},
              "OS": {"sysctl": {"/proc/sys/kernel/osrelease": "6.5.0-45-generic"}, "kmod": {"nvidia": True}},
              "GPU": {"smi": {"driver": "570.124.06", "cuda-version": "12.8", "gpu-count": 8,
                              "gpu.model": "NVIDIA B200"}}})
    by = _by(embedded_graph, s, service="self-managed", accelerator="b200")
    assert by["check:dra-kubernetes:dra-version"].status == "skip"
    assert by["check:kernel-version:kernel"].status == "skip"
    assert by["check:driver-branch-blackwell:driver"].status == "pass"
    assert by["check:cuda-driver-version:cuda"].status == "pass"
    # the same data as GB200 fails both (1.31 < 1.32; 6.5 < 6.8)
    by = _by(embedded_graph, s, service="self-managed", accelerator="gb200")
    assert by["check:dra-kubernetes:dra-version"].status == "fail"
    assert by["check:kernel-version:kernel"].status == "fail"


# ------------------------------------------------------------------ COS kernels


def test_cos_kernel_version_is_judged_not_errored(embedded_graph):
    # GKE COS 6.6.72+: a version (the '+' is a build tag) -> 6.6 < 6.8 is a plain fail for GB200
    s = snap({"OS": {"sysctl": {"/proc/sys/kernel/osrelease": "6.6.72+"}}})
    v = _by(embedded_graph, s, service="gke", accelerator="gb200")["check:kernel-version:kernel"]
    assert v.status == "fail", v.reason


# ------------------------------------------------------------------ remedies for missing data


def test_no_cluster_snapshot_errors_say_retake_not_upgrade(embedded_graph):
    # an eidos snapshot taken with --no-cluster: the K8s collectors are recorded unavailable;
    # the error-severity k8s-version requirement cannot be judged -> its fix is to re-take the
    # snapshot with cluster access, not "upgrade the control plane"
    s = snap({"OS": {"release": {"ID": "ubuntu", "VERSION_ID": "24.04"}, "kmod": {"nvidia": True}},
              "GPU": {"smi": {"driver": "580.82.07", "cuda-version": "13.0", "gpu-count": 4}}},
             collectors=[collector("os-release", "OS", "ok"),
                         collector("k8s-server", "K8s", "unavailable", "--no-cluster"),
                         collector("k8s-nodes", "K8s", "unavailable", "--no-cluster")])
    by = _by(embedded_graph, s, service="eks", accelerator="gb200", os="ubuntu", intent="training")
    v = by["requirement:k8s-version"]
    assert v.status == "error"
    assert "k8s-server collector unavailable: --no-cluster" in v.reason
    assert v.remedy.startswith("Re-take the snapshot with access to the cluster")
    assert "without --no-cluster" in v.remedy and "eksctl upgrade" not in v.remedy
    # the OS came from eidos' host-root os-release: judged, not errored
    assert by["requirement:os-version"].status == "pass"
    # a real failure keeps the rule's own remedy
    assert by["check:gb200-host-os:host-os"].status == "pass"


def test_key_missing_from_a_present_subtype_points_at_eidos_collectors(embedded_graph):
    # the reference agent's K8s.node has no kubelet-version; for an error-severity rule that
    # needs it the remedy is eidos' own collectors, not cluster access (it had that)
    from eidos.validate.evaluate import retake_remedy
    from eidos.validate.hostos import HostView

    s = HostView(load_snapshot(str(SNAPSHOTS / "cns-eks-h100.yaml")))

    class Op:
        segments = ("K8s", "node", "kubelet-version")
        name = 'K8s.node["kubelet-version"]'

    text = retake_remedy(s, [Op()])
    assert "eidos' own collectors" in text and "K8s.node without these keys" in text
    assert 'K8s.node["kubelet-version"]' in text


@pytest.mark.parametrize("name", ["cns-eks-h100.yaml", "cns-eks-gb200.yaml", "aicr-mock-training.yaml"])
def test_every_error_verdict_on_the_fixtures_says_retake(embedded_graph, name):
    s = load_snapshot(str(SNAPSHOTS / name))
    by = _by(embedded_graph, s, service="eks", accelerator="gb200", os="ubuntu", intent="training")
    errors = [v for v in by.values() if v.status == "error"]
    for v in errors:
        assert v.remedy.startswith("Re-take the snapshot"), (v.id, v.remedy)
    if name == "aicr-mock-training.yaml":  # no GPU, kmod, sysctl or node data in the mock
        assert errors


# ------------------------------------------------------------------ nouveau, EFA


def test_nouveau_loaded_fails_and_absent_passes(embedded_graph):
    # nouveau in the collected module list: the NVIDIA driver cannot own the GPU -> fail
    s = snap({"OS": {"kmod": {"nouveau": True, "drm": True}}})
    assert _by(embedded_graph, s, accelerator="l4")["check:nouveau-not-loaded:no-nouveau"].status == "fail"
    # the list was collected and lacks nouveau: a measured absence -> pass
    s = snap({"OS": {"kmod": {"nvidia": True}}})
    v = _by(embedded_graph, s, accelerator="l4")["check:nouveau-not-loaded:no-nouveau"]
    assert v.status == "pass" and "absent from the collected data" in v.reason
    # no module list at all: nothing measured -> skip
    s = snap({"K8s": {"server": {"version": "v1.31.0"}}})
    assert _by(embedded_graph, s, accelerator="l4")["check:nouveau-not-loaded:no-nouveau"].status == "skip"


def test_efa_on_eks_training(embedded_graph):
    facts = dict(service="eks", accelerator="h100", intent="training")
    # eidos snapshot of a p5 node: efa loaded, the device plugin advertises 32 interfaces
    s = snap({"OS": {"kmod": {"efa": True}},
              "K8s": {"node": {"allocatable": {"nvidia.com/gpu": 8, "vpc.amazonaws.com/efa": 32}}}})
    by = _by(embedded_graph, s, **facts)
    assert by["check:efa-eks:efa-module"].status == "pass"
    assert by["check:efa-eks:efa-allocatable"].status == "pass"
    # no efa module and no EFA resource (device plugin missing): two warnings, no failure
    s = snap({"OS": {"kmod": {"nvidia": True}}, "K8s": {"node": {"allocatable": {"nvidia.com/gpu": 8}}}})
    by = _by(embedded_graph, s, **facts)
    assert by["check:efa-eks:efa-module"].status == "warn"
    assert by["check:efa-eks:efa-allocatable"].status == "skip"  # the key is absent, warning-level
    s = snap({"OS": {"kmod": {"efa": True}},
              "K8s": {"node": {"allocatable": {"nvidia.com/gpu": 8, "vpc.amazonaws.com/efa": 0}}}})
    assert _by(embedded_graph, s, **facts)["check:efa-eks:efa-allocatable"].status == "warn"
    # not EKS: does not apply
    assert _by(embedded_graph, s, service="gke", accelerator="h100", intent="training")[
        "check:efa-eks:efa-module"].status == "skip"
