"""The real EKS snapshots against the shipped rule base, every verdict written out with its reason."""

from __future__ import annotations

import pytest

from eidos.snapshot.io import load_snapshot
from eidos.validate.fleet import Validator
from eidos.validate.verdicts import Report
from tests.conftest import FIXTURES

SNAPSHOTS = FIXTURES / "snapshots"

NOT_APPLICABLE = "skip"

H100_TRAINING = {
    # eks-training replaces k8s-version with >= 1.30; the node runs v1.30.14-eks-3025e55.
    "requirement:k8s-version": "pass",
    # the recipe deploys gpu-operator v25.10.1; the cluster's operator image is v25.3.0 (the
    # operator's image tag is its chart version): deployed differs from the recipe -> warn
    "component:gpu-operator": "warn",
    # the reference snapshot has no Helm releases (K8s.helm) and these charts' versions are not
    # their images' tags: the deployed version is unknown, a warning-level rule -> skip
    # (aws-efa-k8s-device-plugin: added by h100-eks-training, rules/eks.eidos)
    "component:aws-efa-k8s-device-plugin": "skip",
    "component:cert-manager": "skip",
    "component:nvsentinel": "skip",
    "component:prometheus": "skip",
    "component:skyhook-operator": "skip",
    # EKS calendar in rules/checks.eidos (reviewed 2026-11-30): 1.30 left standard support on
    # 2025-07-23 (< 1.34) and extended support on 2026-07-23 (< 1.32): two warnings, no failure.
    "check:eks-standard-support:eks-version": "warn",
    "check:eks-standard-support:eks-extended": "warn",
    # GB200/B200-only checks do not apply to an H100 query.
    "check:dra-kubernetes:dra-version": NOT_APPLICABLE,
    "check:kernel-version:kernel": NOT_APPLICABLE,
    "check:driver-branch-blackwell:driver": NOT_APPLICABLE,
    "check:cuda-driver-version:cuda": NOT_APPLICABLE,
    "check:gb200-fabric:fabric-completed": NOT_APPLICABLE,
    "check:gb200-host-os:host-os": NOT_APPLICABLE,
    "check:driver-branch-ampere-ada:driver": NOT_APPLICABLE,
    # the reference agent collected no kubelet version: a warning-level value may be absent.
    "check:kubelet-version:kubelet": "skip",
    # kernel.numa_balancing is 1 on this node (0 is recommended for training).
    "check:numa-balancing:numa-balancing-off": "warn",
    # driver 570.133.20 >= R535 (and >= R550, although only H200 needs that).
    "check:driver-branch-hopper:driver": "pass",
    "check:driver-branch-hopper:h200-driver": "pass",
    # CUDA 12.8 >= 12.2.
    "check:cuda-driver-version-hopper:cuda": "pass",
    # gpu-count is 8.
    "check:gpus-visible:gpu-count": "pass",
    # the reference snapshot has no per-GPU subtypes (GPU.gpu0): MIG state is unknown, warning-level.
    "check:mig-disabled-for-training:mig-off": "skip",
    # nvidia and nvidia_uvm are loaded.
    "check:nvidia-modules:nvidia-kmod": "pass",
    "check:nvidia-modules:nvidia-uvm": "pass",
    # the module list was collected and has no nouveau: a measured absence.
    "check:nouveau-not-loaded:no-nouveau": "pass",
    # efa is loaded; the reference agent recorded no allocatable resources (warning-level).
    "check:efa-eks:efa-module": "pass",
    "check:efa-eks:efa-allocatable": "skip",
    # service is eks: the non-EKS GPUDirect check does not apply, the EKS one warns (no nvidia_peermem).
    "check:gpudirect-rdma:rdma-path": NOT_APPLICABLE,
    "check:gpudirect-rdma-eks:peermem": "warn",
    # the reference snapshot has no node labels: whether it is a vGPU guest is unknown (info-level).
    "check:vgpu-guest:not-vgpu": "skip",
    # containerd 1.7.24.
    "check:container-runtime:runtime-kind": "pass",
    "check:container-runtime:containerd-version": "pass",
    # the reference agent dropped /proc/sys/net: warning-level values, skipped.
    "check:network-sysctls:ip-forward": "skip",
    "check:network-sysctls:rmem-max": "skip",
    "check:network-sysctls:wmem-max": "skip",
    # rules/checks-gpu.eidos on a reference-agent snapshot: GPU.smi has the first GPU's
    # compatibility keys only, none of eidos' per-node counts, and SystemD has no
    # nvidia-fabricmanager unit; every count-based check is warning/info level -> skip
    "check:ecc-enabled:ecc-on": "skip",
    "check:ecc-uncorrectable:no-uncorrectable": "skip",
    "check:retired-pages-pending:none-pending": "skip",
    "check:remapped-rows:no-pending": "skip",
    "check:remapped-rows:no-failure": "skip",
    "check:pcie-link-width:full-width": "skip",
    "check:pcie-link-generation-capped:full-generation": "skip",
    "check:nvlink-links:all-active": "skip",
    "check:vgpu-guest-smi:not-vgpu": "skip",
    # HGX H100 (accelerator h100): fabric state and the fabricmanager unit are not in the
    # reference snapshot -> skip
    "check:fabric-manager:fabric-registered": "skip",
    "check:fabric-manager:fabricmanager-unit": "skip",
    # the first GPU's gpu.persistence-mode is Disabled (the fallback when no count exists)
    "check:persistence-mode:persistence": "warn",
    # rules/checks-node.eidos. GPUs vs allocatable: the reference agent recorded no allocatable,
    # so K8s.gpu-capacity cannot be derived (warning-level) -> skip.
    "check:gpu-allocatable:gpus-advertised": "skip",
    "check:gpu-allocatable:mig-advertised": "skip",
    # IMEX/ComputeDomains are GB200-only.
    "check:imex-compute-domain:computedomain-crd": NOT_APPLICABLE,
    "check:imex-compute-domain:dra-controller": NOT_APPLICABLE,
    "check:imex-compute-domain:kubelet-plugin": NOT_APPLICABLE,
    "check:imex-compute-domain:compute-domain-slices": NOT_APPLICABLE,
    # the Skyhook hugepage tuning is in H100 *inference* and GB200 EKS Ubuntu recipes only.
    "check:skyhook-hugepages:hugepages-2m-kernel": NOT_APPLICABLE,
    "check:skyhook-hugepages:hugepages-2m-allocatable": NOT_APPLICABLE,
    "check:skyhook-hugepages:hugepages-1g-allocatable": NOT_APPLICABLE,
    # IOMMU passthrough is a bare-metal (self-managed) check; this is EKS.
    "check:iommu-passthrough:iommu-pt": NOT_APPLICABLE,
}

GB200_UBUNTU_TRAINING = {
    # gb200-eks-training replaces k8s-version with >= 1.33 (AWS: P6e-GB200 on EKS 1.33 and later); the node runs v1.33.5-eks-3025e55.
    "requirement:k8s-version": "pass",
    # the GB200 recipe pins gpu-operator v25.3.3; the operator image is v25.3.3 -> pass
    "component:gpu-operator": "pass",
    # the reference snapshot has no Helm releases (K8s.helm) and these charts' versions are not
    # their images' tags: the deployed version is unknown, a warning-level rule -> skip
    "component:cert-manager": "skip",
    "component:nvidia-dra-driver-gpu": "skip",
    "component:nvsentinel": "skip",
    "component:prometheus": "skip",
    "component:skyhook-operator": "skip",
    # OS.host comes from the kubelet's os-image "Ubuntu 22.04.5 LTS" (the reference agent's
    # OS.release, Ubuntu 24.04, is its container's and is not used): the host is Ubuntu, so
    # os-id passes, but it is 22.04, not the 24.04 the recipe wants — the report no longer
    # contradicts gb200-host-os.
    "requirement:os-id": "pass",
    "requirement:os-version": "fail",
    # kernel 6.8.0-1028-aws >= 6.8.
    "requirement:kernel": "pass",
    # 1.33 left standard support on 2026-07-29 (calendar reviewed 2026-11-30): warn; it is
    # inside extended support (>= 1.32): pass.
    "check:eks-standard-support:eks-version": "warn",
    "check:eks-standard-support:eks-extended": "pass",
    # 1.33.5 >= 1.32 for DRA.
    "check:dra-kubernetes:dra-version": "pass",
    # the host (kubelet os-image) is Ubuntu 22.04.5 LTS: 22.04 < 24.04, same answer as os-version.
    "check:gb200-host-os:host-os": "fail",
    "check:kernel-version:kernel": "pass",
    # numa_balancing is 0.
    "check:numa-balancing:numa-balancing-off": "pass",
    # driver 580.82.07 >= R570; CUDA 13.1 >= 12.8; 4 GPUs visible.
    "check:driver-branch-blackwell:driver": "pass",
    "check:cuda-driver-version:cuda": "pass",
    "check:gpus-visible:gpu-count": "pass",
    # no per-GPU data in the reference snapshot (warning-level).
    "check:gb200-fabric:fabric-completed": "skip",
    "check:mig-disabled-for-training:mig-off": "skip",
    "check:driver-branch-hopper:driver": NOT_APPLICABLE,
    "check:driver-branch-hopper:h200-driver": NOT_APPLICABLE,
    "check:cuda-driver-version-hopper:cuda": NOT_APPLICABLE,
    "check:driver-branch-ampere-ada:driver": NOT_APPLICABLE,
    "check:kubelet-version:kubelet": "skip",
    "check:nvidia-modules:nvidia-kmod": "pass",
    "check:nvidia-modules:nvidia-uvm": "pass",
    "check:nouveau-not-loaded:no-nouveau": "pass",  # kmod list without nouveau
    "check:efa-eks:efa-module": "pass",  # efa loaded
    "check:efa-eks:efa-allocatable": "skip",  # no allocatable in the reference snapshot
    "check:gpudirect-rdma:rdma-path": NOT_APPLICABLE,
    "check:gpudirect-rdma-eks:peermem": "warn",
    "check:vgpu-guest:not-vgpu": "skip",
    # containerd 1.7.27.
    "check:container-runtime:runtime-kind": "pass",
    "check:container-runtime:containerd-version": "pass",
    "check:network-sysctls:ip-forward": "skip",
    "check:network-sysctls:rmem-max": "skip",
    "check:network-sysctls:wmem-max": "skip",
    # rules/checks-gpu.eidos on a reference-agent snapshot: GPU.smi has the first GPU's
    # compatibility keys only, none of eidos' per-node counts, and SystemD has no
    # nvidia-fabricmanager unit; every count-based check is warning/info level -> skip
    "check:ecc-enabled:ecc-on": "skip",
    "check:ecc-uncorrectable:no-uncorrectable": "skip",
    "check:retired-pages-pending:none-pending": "skip",
    "check:remapped-rows:no-pending": "skip",
    "check:remapped-rows:no-failure": "skip",
    "check:pcie-link-width:full-width": "skip",
    "check:pcie-link-generation-capped:full-generation": "skip",
    "check:nvlink-links:all-active": "skip",
    "check:vgpu-guest-smi:not-vgpu": "skip",
    # GB200's fabric is gb200-fabric's (rules/checks.eidos): fabric-manager covers HGX only
    "check:fabric-manager:fabric-registered": NOT_APPLICABLE,
    "check:fabric-manager:fabricmanager-unit": NOT_APPLICABLE,
    # gpu.persistence-mode: Disabled on the first GPU
    "check:persistence-mode:persistence": "warn",
    # rules/checks-node.eidos. No allocatable in the reference snapshot: K8s.gpu-capacity is not
    # derivable (warning-level) -> skip.
    "check:gpu-allocatable:gpus-advertised": "skip",
    "check:gpu-allocatable:mig-advertised": "skip",
    # GB200 applies, but the reference agent collected no K8s.dra (eidos' k8s-dra collector):
    # warning-level values absent -> skip.
    "check:imex-compute-domain:computedomain-crd": "skip",
    "check:imex-compute-domain:dra-controller": "skip",
    "check:imex-compute-domain:kubelet-plugin": "skip",
    "check:imex-compute-domain:compute-domain-slices": "skip",
    # the gb200-eks-ubuntu-training recipe adds the Skyhook tuning (2 MiB x 5128, 1 GiB x 2):
    # /proc/sys/vm/nr_hugepages is 15841 >= 5128 -> pass; no kubelet allocatable in the
    # reference snapshot -> the allocatable requirements skip.
    "check:skyhook-hugepages:hugepages-2m-kernel": "pass",
    "check:skyhook-hugepages:hugepages-2m-allocatable": "skip",
    "check:skyhook-hugepages:hugepages-1g-allocatable": "skip",
    # EKS, not bare metal.
    "check:iommu-passthrough:iommu-pt": NOT_APPLICABLE,
}


def run(graph, name, **facts):
    node = Validator(graph, flag_facts=facts).node(load_snapshot(str(SNAPSHOTS / name)), name)
    return node, {v.id: v for v in node.verdicts}


def test_h100_eks_training(embedded_graph):
    node, by = run(embedded_graph, "cns-eks-h100.yaml", service="eks", accelerator="h100", intent="training")
    assert node.node == "ip-10-0-158-18.ec2.internal"
    assert node.overlays == ("base", "eks", "eks-training", "h100-eks-training")
    assert {k: v.status for k, v in by.items()} == H100_TRAINING
    assert by["requirement:k8s-version"].actual == (("K8s.server.version", "v1.30.14-eks-3025e55"),)
    assert by["requirement:k8s-version"].source == "rules/eks.eidos:14"
    assert by["check:numa-balancing:numa-balancing-off"].remedy.startswith("Turn it off: sysctl -w kernel.numa_balancing=0")
    assert Report((node,)).exit_code == 0  # only warnings: exit 0 at --fail-on error
    assert Report((node,), fail_on="warning").exit_code == 1


def test_gb200_eks_ubuntu_training(embedded_graph):
    node, by = run(embedded_graph, "cns-eks-gb200.yaml", service="eks", accelerator="gb200", os="ubuntu",
                   intent="training")
    assert node.overlays == ("base", "eks", "eks-training", "gb200-eks-training", "gb200-eks-ubuntu-training")
    assert {k: v.status for k, v in by.items()} == GB200_UBUNTU_TRAINING
    host = by["check:gb200-host-os:host-os"]
    assert host.actual == (("OS.host.VERSION_ID", "22.04"),)
    assert "kubelet os-image" in host.reason and "Ubuntu 22.04.5 LTS" in host.reason
    assert "Ubuntu 24.04" in host.remedy
    assert by["requirement:os-version"].actual == (("OS.host.VERSION_ID", "22.04"),)
    assert Report((node,)).exit_code == 1  # an error-severity check failed


def test_facts_inferred_from_snapshot_with_flags_overriding(embedded_graph):
    node, _ = run(embedded_graph, "cns-eks-gb200.yaml", intent="training")
    crit = dict(node.criteria)
    assert crit == {"accelerator": "gb200", "intent": "training", "os": "ubuntu", "service": "eks"}
    origins = dict(node.fact_sources)
    assert origins["intent"] == "flag" and origins["service"].startswith("snapshot (rules/infer.eidos:")
    node, _ = run(embedded_graph, "cns-eks-gb200.yaml", accelerator="h100")
    assert dict(node.criteria)["accelerator"] == "h100" and dict(node.fact_sources)["accelerator"] == "flag"


@pytest.mark.parametrize("name", ["cns-eks-h100.yaml", "cns-eks-gb200.yaml", "aicr-mock-training.yaml"])
def test_every_non_pass_verdict_has_a_reason_and_every_failure_a_remedy(embedded_graph, name):
    _, by = run(embedded_graph, name, intent="training")
    for v in by.values():
        if v.status != "pass":
            assert v.reason, v.id
        if v.status in ("fail", "warn", "error"):
            assert v.remedy and v.source.startswith("rules/"), v.id


# H100 fixture as an inference cluster (facts: service, accelerator, os inferred; intent flag).
# The resolved recipe carries two k8s-version requirements (eks and h100-inference each
# replace base's; both hold), so each verdict id names its overlay and stays unique.
H100_INFERENCE = [
    # eks overlay: >= 1.28; the node runs v1.30.14-eks-3025e55
    ("requirement:k8s-version@eks", "pass"),
    # h100-inference overlay: >= 1.31; 1.30.14 is older
    ("requirement:k8s-version@h100-inference", "fail"),
    # the host is Ubuntu (kubelet os-image "Ubuntu 22.04.5 LTS")...
    ("requirement:os-id", "pass"),
    # ...22.04, not >= 24.04 (the reference agent's container said 24.04: no longer believed)
    ("requirement:os-version", "fail"),
    # kernel 6.8.0-1024-aws >= 6.8
    ("requirement:kernel", "pass"),
    # deployed versions: the operator image v25.3.0 is not the recipe's v25.10.1; the other
    # charts have no version in the reference snapshot (no K8s.helm) -> skip (the EFA device
    # plugin comes with h100-eks-inference, rules/eks.eidos)
    ("component:aws-efa-k8s-device-plugin", "skip"),
    ("component:cert-manager", "skip"),
    ("component:gpu-operator", "warn"),
    ("component:network-operator", "skip"),
    ("component:nvsentinel", "skip"),
    ("component:prometheus", "skip"),
    ("component:prometheus-adapter", "skip"),
    ("component:skyhook-operator", "skip"),
    ("check:container-runtime:runtime-kind", "pass"),  # containerd
    ("check:container-runtime:containerd-version", "pass"),  # 1.7.24 >= 1.7
    ("check:cuda-driver-version:cuda", NOT_APPLICABLE),  # Blackwell only
    ("check:cuda-driver-version-hopper:cuda", "pass"),  # CUDA 12.8 >= 12.2
    ("check:dra-kubernetes:dra-version", NOT_APPLICABLE),  # GB200 only
    ("check:driver-branch-ampere-ada:driver", NOT_APPLICABLE),
    ("check:driver-branch-blackwell:driver", NOT_APPLICABLE),
    ("check:driver-branch-hopper:driver", "pass"),  # 570.133.20 >= 535
    ("check:driver-branch-hopper:h200-driver", "pass"),  # not an H200
    # rules/checks-gpu.eidos (reference snapshot: no per-node GPU counts -> warning/info skip)
    ("check:ecc-enabled:ecc-on", "skip"),
    ("check:ecc-uncorrectable:no-uncorrectable", "skip"),
    # 1.30 is past standard (2025-07-23) and extended (2026-07-23) support
    ("check:efa-eks:efa-module", NOT_APPLICABLE),  # training only
    ("check:efa-eks:efa-allocatable", NOT_APPLICABLE),
    ("check:eks-standard-support:eks-version", "warn"),
    ("check:eks-standard-support:eks-extended", "warn"),
    ("check:fabric-manager:fabric-registered", "skip"),  # no fabric state in the snapshot
    ("check:fabric-manager:fabricmanager-unit", "skip"),  # no nvidia-fabricmanager unit recorded
    ("check:gb200-fabric:fabric-completed", NOT_APPLICABLE),
    ("check:gb200-host-os:host-os", NOT_APPLICABLE),
    # rules/checks-node.eidos: no allocatable in the reference snapshot -> no K8s.gpu-capacity
    ("check:gpu-allocatable:gpus-advertised", "skip"),
    ("check:gpu-allocatable:mig-advertised", "skip"),
    ("check:gpudirect-rdma:rdma-path", NOT_APPLICABLE),  # training only, and not on EKS
    ("check:gpudirect-rdma-eks:peermem", NOT_APPLICABLE),  # training only
    ("check:gpus-visible:gpu-count", "pass"),  # 8 GPUs
    ("check:imex-compute-domain:computedomain-crd", NOT_APPLICABLE),  # GB200 only
    ("check:imex-compute-domain:dra-controller", NOT_APPLICABLE),
    ("check:imex-compute-domain:kubelet-plugin", NOT_APPLICABLE),
    ("check:imex-compute-domain:compute-domain-slices", NOT_APPLICABLE),
    ("check:iommu-passthrough:iommu-pt", NOT_APPLICABLE),  # bare-metal training only
    ("check:kernel-version:kernel", NOT_APPLICABLE),  # GB200 only
    # the training-only checks do not apply to an inference cluster
    ("check:kubelet-version:kubelet", NOT_APPLICABLE),
    ("check:mig-disabled-for-training:mig-off", NOT_APPLICABLE),
    ("check:network-sysctls:ip-forward", NOT_APPLICABLE),
    ("check:network-sysctls:rmem-max", NOT_APPLICABLE),
    ("check:network-sysctls:wmem-max", NOT_APPLICABLE),
    ("check:nouveau-not-loaded:no-nouveau", "pass"),  # kmod list without nouveau
    ("check:numa-balancing:numa-balancing-off", NOT_APPLICABLE),
    ("check:nvidia-modules:nvidia-kmod", "pass"),
    ("check:nvidia-modules:nvidia-uvm", "pass"),
    ("check:nvlink-links:all-active", "skip"),  # no nvlink -s data
    ("check:pcie-link-generation-capped:full-generation", "skip"),
    ("check:pcie-link-width:full-width", "skip"),
    ("check:persistence-mode:persistence", "warn"),  # first GPU: gpu.persistence-mode Disabled
    ("check:remapped-rows:no-pending", "skip"),
    ("check:remapped-rows:no-failure", "skip"),
    ("check:retired-pages-pending:none-pending", "skip"),
    # h100-inference adds the Skyhook Ubuntu tuning (hugepages=5128 of 2 MiB, 2 of 1 GiB):
    # /proc/sys/vm/nr_hugepages is 21121 >= 5128 -> pass; the reference agent recorded no
    # kubelet allocatable (warning-level) -> skip
    ("check:skyhook-hugepages:hugepages-2m-kernel", "pass"),
    ("check:skyhook-hugepages:hugepages-2m-allocatable", "skip"),
    ("check:skyhook-hugepages:hugepages-1g-allocatable", "skip"),
    # the reference snapshot has no node labels: unknown, info-level -> skip
    ("check:vgpu-guest:not-vgpu", "skip"),
    ("check:vgpu-guest-smi:not-vgpu", "skip"),  # no vgpu-guest-gpus count, info-level
]

# The later reference's mock snapshot (K8s.server v1.33.0, a Helm list, OS.release ID only;
# no GPU, kmod, sysctl or node data), judged as EKS H100 training.
AICR_MOCK_H100_TRAINING = {
    "requirement:k8s-version": "pass",  # v1.33.0 >= 1.30 (eks-training)
    # deployed (K8s.helm) against the recipe: cert-manager v1.17.2 and gpu-operator v25.10.1
    # match; nvsentinel v0.10.0 (recipe v0.6.0), kube-prometheus-stack 82.8.0 (81.2.2, found
    # under the chart's release name) and skyhook-operator v0.14.0 (v0.11.1) do not -> warn
    "component:cert-manager": "pass",
    "component:gpu-operator": "pass",
    # h100-eks-training adds the EFA device plugin; the mock's Helm list has no such release
    "component:aws-efa-k8s-device-plugin": "skip",
    "component:nvsentinel": "warn",
    "component:prometheus": "warn",
    "component:skyhook-operator": "warn",
    # no K8s.node: the warning-level runtime kind may be absent; the error-level containerd
    # version cannot be judged -> error (remedy: re-take with cluster access)
    "check:container-runtime:runtime-kind": "skip",
    "check:container-runtime:containerd-version": "error",
    "check:cuda-driver-version:cuda": NOT_APPLICABLE,
    "check:cuda-driver-version-hopper:cuda": "skip",  # no GPU data, warning-level
    "check:dra-kubernetes:dra-version": NOT_APPLICABLE,
    "check:driver-branch-ampere-ada:driver": NOT_APPLICABLE,
    "check:driver-branch-blackwell:driver": NOT_APPLICABLE,
    # no GPU measurement: the error-level driver checks cannot be judged
    "check:driver-branch-hopper:driver": "error",
    "check:driver-branch-hopper:h200-driver": "error",
    "check:eks-standard-support:eks-version": "warn",  # 1.33 left standard support 2026-07-29
    "check:eks-standard-support:eks-extended": "pass",  # 1.33 >= 1.32
    "check:gb200-fabric:fabric-completed": NOT_APPLICABLE,
    "check:gb200-host-os:host-os": NOT_APPLICABLE,
    "check:gpudirect-rdma:rdma-path": NOT_APPLICABLE,  # EKS
    "check:gpudirect-rdma-eks:peermem": "skip",  # no OS.kmod, warning-level
    "check:gpus-visible:gpu-count": "error",  # no GPU measurement
    "check:kernel-version:kernel": NOT_APPLICABLE,
    "check:kubelet-version:kubelet": "skip",  # no K8s.node, warning-level
    "check:mig-disabled-for-training:mig-off": "skip",
    "check:network-sysctls:ip-forward": "skip",  # no OS.sysctl, warning-level
    "check:network-sysctls:rmem-max": "skip",
    "check:network-sysctls:wmem-max": "skip",
    "check:numa-balancing:numa-balancing-off": "skip",
    "check:nvidia-modules:nvidia-kmod": "error",  # no OS.kmod
    "check:nvidia-modules:nvidia-uvm": "error",
    # no OS.kmod at all: "not exists" holds but nothing was measured -> skip
    "check:nouveau-not-loaded:no-nouveau": "skip",
    # no OS.kmod and no K8s.node: both warning-level EFA values may be absent
    "check:efa-eks:efa-module": "skip",
    "check:efa-eks:efa-allocatable": "skip",
    "check:vgpu-guest:not-vgpu": "skip",
    # rules/checks-gpu.eidos: no GPU or SystemD measurement at all; every check is warning or
    # info level -> skip (persistence too: neither the count nor the first GPU's key exists)
    "check:ecc-enabled:ecc-on": "skip",
    "check:ecc-uncorrectable:no-uncorrectable": "skip",
    "check:retired-pages-pending:none-pending": "skip",
    "check:remapped-rows:no-pending": "skip",
    "check:remapped-rows:no-failure": "skip",
    "check:pcie-link-width:full-width": "skip",
    "check:pcie-link-generation-capped:full-generation": "skip",
    "check:fabric-manager:fabric-registered": "skip",
    "check:fabric-manager:fabricmanager-unit": "skip",
    "check:nvlink-links:all-active": "skip",
    "check:persistence-mode:persistence": "skip",
    "check:vgpu-guest-smi:not-vgpu": "skip",
    # rules/checks-node.eidos: no GPU or node data -> K8s.gpu-capacity not derivable (warning-level)
    "check:gpu-allocatable:gpus-advertised": "skip",
    "check:gpu-allocatable:mig-advertised": "skip",
    "check:imex-compute-domain:computedomain-crd": NOT_APPLICABLE,  # GB200 only
    "check:imex-compute-domain:dra-controller": NOT_APPLICABLE,
    "check:imex-compute-domain:kubelet-plugin": NOT_APPLICABLE,
    "check:imex-compute-domain:compute-domain-slices": NOT_APPLICABLE,
    "check:skyhook-hugepages:hugepages-2m-kernel": NOT_APPLICABLE,  # H100 training: no Skyhook tuning
    "check:skyhook-hugepages:hugepages-2m-allocatable": NOT_APPLICABLE,
    "check:skyhook-hugepages:hugepages-1g-allocatable": NOT_APPLICABLE,
    "check:iommu-passthrough:iommu-pt": NOT_APPLICABLE,  # EKS
}


def test_h100_inference_every_verdict(embedded_graph):
    node = Validator(embedded_graph, flag_facts={"intent": "inference"}).node(
        load_snapshot(str(SNAPSHOTS / "cns-eks-h100.yaml")), "cns-eks-h100.yaml")
    assert node.overlays == ("base", "eks", "monitoring-hpa", "h100-inference", "h100-eks-inference")
    assert [(v.id, v.status) for v in node.verdicts] == H100_INFERENCE


def test_aicr_mock_every_verdict(embedded_graph):
    node, by = run(embedded_graph, "aicr-mock-training.yaml", service="eks", accelerator="h100", intent="training")
    assert {k: v.status for k, v in by.items()} == AICR_MOCK_H100_TRAINING
    for v in by.values():
        if v.status == "error":
            assert v.remedy.startswith("Re-take the snapshot"), v.id


def test_verdict_ids_are_unique_on_every_fixture(embedded_graph):
    # JUnit test names, SARIF rule ids and --only/--skip all key on the id: two verdicts
    # with one id would be merged or hidden by any of them
    for fixture, facts in (("cns-eks-h100.yaml", {"intent": "inference"}),
                           ("cns-eks-h100.yaml", {"intent": "training"}),
                           ("cns-eks-gb200.yaml", {"intent": "training"})):
        node, _ = run(embedded_graph, fixture, **facts)
        ids = [v.id for v in node.verdicts]
        assert len(ids) == len(set(ids)), (fixture, facts)
