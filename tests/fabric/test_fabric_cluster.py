"""``eidos validate --fabric`` on a cluster: the real ``kubernetes`` client against kmock.

A fake controller plays the Job controller / MPI operator and the test's pod: when the
workload appears it starts a pod, serves a real nccl-tests log (tests/fixtures/nccl) as the
pod's log and marks the workload finished (or failed, or never finishes). The tests check
what eidos created (namespace, Job or MPIJob, their pod specs), that the verdict comes from
the pod's log, and that the run's namespace is gone afterwards on every path.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from kmock._internal import parsing as kmock_parsing

from eidos.errors import EnvironmentFailure, UsageError
from eidos.fabric import profiles
from eidos.fabric.workload import (
    FabricOptions,
    FabricRunFailed,
    job_manifest,
    mpijob_manifest,
    run_fabric,
)
from eidos.snapshot.agent import Interrupted, Progress
from eidos.snapshot.cluster import Cluster
from tests.conftest import FIXTURES, run_eidos
from tests.snapshot.snaphelpers import emulated_cluster

NCCL = FIXTURES / "nccl"
EXTRA_RESOURCES = (
    ("v1/namespaces", "Namespace", False),
    ("kubeflow.org/v2beta1/mpijobs", "MPIJob", True),
    ("apiextensions.k8s.io/v1/customresourcedefinitions", "CustomResourceDefinition", False),
    ("resource.nvidia.com/v1beta1/computedomains", "ComputeDomain", True),
)


_kmock_parse_path = kmock_parsing.parse_path


def _parse_path(path: str):
    """kmock (0.8) reads /api/v1/namespaces[/NAME] as a namespaced path and fails on the
    collection (it unpacks a namespace that is not there); the Namespace resource itself is
    what these paths are, as in Kubernetes' API."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) in (3, 4):
        return kmock_parsing.ParsedPath("", "v1", "namespaces", None, parts[3] if len(parts) == 4 else None)
    return _kmock_parse_path(path)


def gpu_node(name, gpus=8, efa=32, labels=None):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"nvidia.com/gpu.present": "true", **(labels or {})}},
            "status": {"allocatable": {"nvidia.com/gpu": str(gpus), "vpc.amazonaws.com/efa": str(efa)}}}


@pytest.fixture
def kube(tmp_path, monkeypatch):
    import kmock

    def register(server):
        for res, kind, namespaced in EXTRA_RESOURCES:
            server.emulator.resources[res] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)

    monkeypatch.setattr(kmock_parsing, "parse_path", _parse_path)
    with emulated_cluster(tmp_path, monkeypatch, token="t0ken", setup=register) as server:
        yield server


class FakeController:
    """Runs the workload eidos creates: outcome 'succeed', 'fail' or 'hang'; ``log`` is what
    the test pod prints."""

    def __init__(self, kube, outcome="succeed", log=""):
        self.kube, self.outcome, self.log = kube, outcome, log
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.workload = None
        self.kind = None

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def run(self):
        kube = self.kube
        while not self.stop.is_set():
            found = [("Job", k, v) for k, v in kube.live("batch/v1/jobs").items()]
            found += [("MPIJob", k, v) for k, v in kube.live("kubeflow.org/v2beta1/mpijobs").items()]
            if not found:
                time.sleep(0.02)
                continue
            self.kind, (ns, name), body = found[0]
            self.workload = body
            if self.kind == "Job":
                labels = body["spec"]["template"]["metadata"]["labels"]
                pod_name = f"{name}-abcde"
            else:
                labels = body["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["metadata"]["labels"]
                pod_name = f"{name}-launcher"
            kube.add_object("v1/pods", ns, pod_name, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns, "labels": dict(labels)},
                "status": {"phase": "Running"}})
            log = self.log.encode()
            kube.call(lambda: kube.emulator["get", re.compile(r".*/pods/[^/]+/log$")] << log)
            if self.outcome == "hang":
                return
            if self.kind == "Job":
                cond = {"type": "Complete", "status": "True"} if self.outcome == "succeed" else \
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
                kube.add_object("batch/v1/jobs", ns, name, {**body, "status": {"conditions": [cond]}})
            else:
                cond = {"type": "Succeeded" if self.outcome == "succeed" else "Failed", "status": "True",
                        "reason": "MPIJobSucceeded" if self.outcome == "succeed" else "MPIJobFailed"}
                kube.add_object("kubeflow.org/v2beta1/mpijobs", ns, name, {**body, "status": {"conditions": [cond]}})
            return


def _cluster(kube) -> Cluster:
    return Cluster.connect(str(kube.kubeconfig), timeout=5)


def _opts(**kw) -> FabricOptions:
    base = dict(profile=profiles.select({"service": "eks", "accelerator": "h100"}), timeout=10,
                poll_interval=0.05, run_id="r1")
    base.update(kw)
    return FabricOptions(**base)


def _namespaces(kube) -> set:
    return {name for (_ns, name) in kube.live("v1/namespaces")}


def test_single_node_run_returns_the_pod_log_and_removes_the_namespace(kube):
    log = (NCCL / "aicr-testdata-eks-h100-16g.txt").read_text()
    with FakeController(kube, "succeed", log) as ctl:
        got = run_fabric(_cluster(kube), _opts())
    assert got == log
    assert ctl.kind == "Job"
    assert "eidos-fabric-r1" not in _namespaces(kube)
    pod = ctl.workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "8"}
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"] == {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}}
    assert "-g 8" in container["command"][-1] and "all_reduce_perf" in container["command"][-1]


def test_multi_node_run_is_an_mpijob_with_efa(kube):
    _crd(kube, "mpijobs.kubeflow.org")
    log = (NCCL / "08-aws-p5-2node-efa-openmpi-rank-prefix.txt").read_text()
    opts = _opts(nodes=2, device_counts=(("vpc.amazonaws.com/efa", 32),))
    with FakeController(kube, "succeed", log) as ctl:
        got = run_fabric(_cluster(kube), opts)
    assert got == log and ctl.kind == "MPIJob"
    spec = ctl.workload["spec"]
    assert spec["slotsPerWorker"] == 8 and spec["mpiReplicaSpecs"]["Worker"]["replicas"] == 2
    worker = spec["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"] == {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32"}
    launcher = spec["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    assert launcher["command"][:5] == ["/opt/amazon/openmpi/bin/mpirun", "--allow-run-as-root", "-np", "16",
                                       "-bind-to"]
    assert "FI_PROVIDER" in launcher["command"] and "resources" not in launcher or not launcher["resources"]
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_multi_node_without_the_mpi_operator_creates_nothing(kube):
    with pytest.raises(EnvironmentFailure, match="MPI operator"):
        run_fabric(_cluster(kube), _opts(nodes=2))
    assert not _namespaces(kube)


def test_multi_node_on_a_single_node_profile_is_refused(kube):
    gke = profiles.select({"service": "gke", "accelerator": "h100"})
    with pytest.raises(UsageError, match="TCPXO"):
        run_fabric(_cluster(kube), _opts(profile=gke, nodes=2))
    assert not _namespaces(kube)


def _crd(kube, name):
    kube.add_object("apiextensions.k8s.io/v1/customresourcedefinitions", None, name,
                    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                     "metadata": {"name": name}})


def test_gb200_multi_node_claims_a_compute_domain_channel(kube):
    _crd(kube, "mpijobs.kubeflow.org")
    _crd(kube, "computedomains.resource.nvidia.com")
    gb200 = profiles.select({"service": "eks", "accelerator": "gb200"})
    log = (NCCL / "11-gb200-nvl72-1rack-72gpu-allreduce-graphics-device-name.txt").read_text()
    with FakeController(kube, "succeed", log) as ctl:
        run_fabric(_cluster(kube), _opts(profile=gb200, nodes=18, gpus_per_node=4))
    (cd,) = kube.live("resource.nvidia.com/v1beta1/computedomains").values()
    assert cd["spec"] == {"numNodes": 0, "channel": {"resourceClaimTemplate": {"name": "nccl-all-reduce-channel"}}}
    worker = ctl.workload["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]
    assert worker["resourceClaims"] == [{"name": "compute-domain-channel",
                                         "resourceClaimTemplateName": "nccl-all-reduce-channel"}]
    assert worker["containers"][0]["resources"]["claims"] == [{"name": "compute-domain-channel"}]
    launcher = ctl.workload["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    assert launcher["command"][launcher["command"].index("-np") + 1] == "72"


def test_gb200_multi_node_without_the_dra_driver_creates_nothing(kube):
    _crd(kube, "mpijobs.kubeflow.org")
    gb200 = profiles.select({"service": "eks", "accelerator": "gb200"})
    with pytest.raises(EnvironmentFailure, match="ComputeDomains"):
        run_fabric(_cluster(kube), _opts(profile=gb200, nodes=2, gpus_per_node=4))
    assert not _namespaces(kube)


def test_rdma_profile_requests_every_rdma_resource_of_the_node(kube):
    from eidos.cli.fabric_cluster import size_run

    _crd(kube, "mpijobs.kubeflow.org")
    aks = profiles.select({"service": "aks", "accelerator": "h100"})
    node = gpu_node("nd-h100-0", gpus=8, efa=0)
    node["status"]["allocatable"]["rdma/rdma_shared_device_a"] = "63"
    gpus, devices, available = size_run([node], {"nvidia.com/gpu.present": "true"}, aks.device_resources,
                                        None, aks.device_prefixes)
    assert (gpus, devices, available) == (8, (("rdma/rdma_shared_device_a", 63),), 1)
    with FakeController(kube, "succeed", "x") as ctl:
        run_fabric(_cluster(kube), _opts(profile=aks, nodes=2, device_counts=devices))
    worker = ctl.workload["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"] == {"nvidia.com/gpu": "8", "rdma/rdma_shared_device_a": "63"}


def test_rdma_profile_without_rdma_devices_says_what_is_missing(kube):
    _crd(kube, "mpijobs.kubeflow.org")
    oke = profiles.select({"service": "oke", "accelerator": "h100"})
    with pytest.raises(EnvironmentFailure, match="RDMA device resource"):
        run_fabric(_cluster(kube), _opts(profile=oke, nodes=2))
    assert not _namespaces(kube)


def test_failed_workload_with_a_log_is_judged_not_raised(kube):
    log = (NCCL / "18-rtx5090-1node-2gpu-crash-unhandled-cuda-error.txt").read_text()
    with FakeController(kube, "fail", log):
        assert run_fabric(_cluster(kube), _opts()) == log
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_failed_workload_without_a_log_raises_and_cleans_up(kube):
    with FakeController(kube, "fail", ""):
        with pytest.raises(FabricRunFailed, match="failed before printing anything"):
            run_fabric(_cluster(kube), _opts())
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_timeout_without_output_raises_and_cleans_up(kube):
    with FakeController(kube, "hang", ""):
        with pytest.raises(FabricRunFailed, match="did not finish within"):
            run_fabric(_cluster(kube), _opts(timeout=0.5))
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_interrupt_cleans_up(kube):
    class Interrupting(Progress):
        def update(self, text):
            if "pod(s)" in text:
                raise Interrupted(2)

    with FakeController(kube, "hang", ""):
        with pytest.raises(Interrupted):
            run_fabric(_cluster(kube), _opts(), Interrupting(enabled=False))
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_no_cleanup_keeps_the_namespace_and_says_how_to_remove_it(kube):
    said = []
    with FakeController(kube, "succeed", "x"):
        run_fabric(_cluster(kube), _opts(cleanup=False), warn=said.append)
    assert "eidos-fabric-r1" in _namespaces(kube)
    assert said == ["kept namespace eidos-fabric-r1 (--no-cleanup); remove it with: "
                    "kubectl delete namespace eidos-fabric-r1"]


@pytest.mark.parametrize("accelerator, log, profile, verdict", [
    ("h100", "aicr-testdata-eks-h100-16g.txt", "eks-efa", ("check:nccl-busbw-eks-h100:busbw", "pass")),
    ("gb200", "11-gb200-nvl72-1rack-72gpu-allreduce-graphics-device-name.txt", "gb200-mnnvl",
     ("check:nccl-gb200-mnnvl:completed", "pass")),
])
def test_cli_runs_judges_and_removes_the_workload(kube, accelerator, log, profile, verdict):
    kube.add_object("v1/nodes", None, "gpu-1", gpu_node("gpu-1", gpus=4 if accelerator == "gb200" else 8))
    with FakeController(kube, "succeed", (NCCL / log).read_text()) as ctl:
        result = run_eidos("validate", "--fabric", "--service", "eks", "--accelerator", accelerator,
                           "--intent", "training", "--timeout", "20", "-o", "json",
                           env={"KUBECONFIG": str(kube.kubeconfig)})
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"profile {profile}" in result.stderr
    node = json.loads(result.stdout)["nodes"][0]
    statuses = {v["id"]: v["status"] for v in node["verdicts"]}
    assert statuses[verdict[0]] == verdict[1]
    assert ctl.kind == "Job"
    gpus = "4" if accelerator == "gb200" else "8"
    assert ctl.workload["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert not [n for n in _namespaces(kube) if n.startswith("eidos-fabric-")]


def test_cli_corrupt_run_fails_with_the_remedy(kube):
    kube.add_object("v1/nodes", None, "gpu-1", gpu_node("gpu-1"))
    log = (NCCL / "21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt").read_text()
    with FakeController(kube, "fail", log):
        result = run_eidos("validate", "--fabric", "--service", "eks", "--accelerator", "h100",
                           "--intent", "training", "--timeout", "20",
                           env={"KUBECONFIG": str(kube.kubeconfig)})
    assert result.returncode == 1
    assert "dcgmi diag" in result.stdout and "rules/fabric.eidos:" in result.stdout


def test_cli_without_gpu_nodes_is_a_usage_error(kube):
    result = run_eidos("validate", "--fabric", "--service", "eks", "--accelerator", "h100",
                       env={"KUBECONFIG": str(kube.kubeconfig)})
    assert result.returncode == 2 and "no node matches" in result.stderr
    assert not _namespaces(kube)


def test_manifests_are_deterministic():
    opts = _opts(nodes=2, device_counts=(("vpc.amazonaws.com/efa", 32),))
    assert mpijob_manifest(opts) == mpijob_manifest(opts)
    assert job_manifest(opts) == job_manifest(opts)
