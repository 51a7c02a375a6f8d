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
from tests.snapshot.snaphelpers import BackgroundActor, emulated_cluster

NCCL = FIXTURES / "nccl"
EXTRA_RESOURCES = (
    ("v1/namespaces", "Namespace", False),
    ("kubeflow.org/v2beta1/mpijobs", "MPIJob", True),
    ("apiextensions.k8s.io/v1/customresourcedefinitions", "CustomResourceDefinition", False),
    ("resource.nvidia.com/v1beta1/computedomains", "ComputeDomain", True),
    ("trainer.kubeflow.org/v1alpha1/trainjobs", "TrainJob", True),
    ("trainer.kubeflow.org/v1alpha1/trainingruntimes", "TrainingRuntime", True),
)
TRAINJOBS = "trainer.kubeflow.org/v1alpha1/trainjobs"
RUNTIMES = "trainer.kubeflow.org/v1alpha1/trainingruntimes"


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


class FakeController(BackgroundActor):
    """Runs the workload eidos creates: outcome 'succeed', 'fail' or 'hang'; ``log`` is what
    the test pod prints."""

    def __init__(self, kube, outcome="succeed", log=""):
        self.kube, self.outcome, self.log = kube, outcome, log
        super().__init__()
        self.workload = None
        self.kind = None
        self.runtime = None

    def run(self):
        kube = self.kube
        while not self.stop.is_set():
            found = [("Job", k, v) for k, v in kube.live("batch/v1/jobs").items()]
            found += [("MPIJob", k, v) for k, v in kube.live("kubeflow.org/v2beta1/mpijobs").items()]
            found += [("TrainJob", k, v) for k, v in kube.live(TRAINJOBS).items()]
            if not found:
                time.sleep(0.02)
                continue
            self.kind, (ns, name), body = found[0]
            self.workload = body
            if self.kind == "Job":
                labels = body["spec"]["template"]["metadata"]["labels"]
                pod_name = f"{name}-abcde"
            elif self.kind == "TrainJob":  # JobSet's pods: <jobset>-<replicatedJob>-<index>-<index>-<hash>
                self.runtime = kube.live(RUNTIMES)[(ns, body["spec"]["runtimeRef"]["name"])]
                jobs = {j["name"]: j for j in self.runtime["spec"]["template"]["spec"]["replicatedJobs"]}
                labels = jobs["launcher"]["template"]["spec"]["template"]["metadata"]["labels"]
                node_labels = jobs["node"]["template"]["spec"]["template"]["metadata"]["labels"]
                kube.add_object("v1/pods", ns, f"{name}-node-0-0-fghij", {
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"{name}-node-0-0-fghij", "namespace": ns, "labels": dict(node_labels)},
                    "status": {"phase": "Running"}})
                pod_name = f"{name}-launcher-0-0-abcde"
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
            elif self.kind == "TrainJob":  # TrainJobComplete / TrainJobFailed (trainer v2.1.0)
                cond = {"type": "Complete" if self.outcome == "succeed" else "Failed", "status": "True",
                        "reason": "JobSetCompleted" if self.outcome == "succeed" else "JobSetFailed"}
                kube.add_object(TRAINJOBS, ns, name, {**body, "status": {"conditions": [cond]}})
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
    kind = profiles.select({"service": "kind", "accelerator": "h100"})
    assert kind.name == "nvlink"
    with pytest.raises(UsageError, match="no multi-node profile"):
        run_fabric(_cluster(kube), _opts(profile=kind, nodes=2))
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


class _Interrupting(Progress):
    """Ctrl-C (exit 130's Interrupted) as soon as the run reports its pods."""

    def update(self, text):
        if "pod(s)" in text:
            raise Interrupted(2)


def _interrupted_leaves_nothing(kube, opts):
    with FakeController(kube, "hang", ""):
        with pytest.raises(Interrupted):
            run_fabric(_cluster(kube), opts, _Interrupting(enabled=False))
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_interrupt_cleans_up(kube):
    _interrupted_leaves_nothing(kube, _opts())


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


# ---- Kubeflow Trainer (TrainJob) ---------------------------------------------------------

def _trainer(kube, *, runtimes=True):
    _crd(kube, "trainjobs.trainer.kubeflow.org")
    if runtimes:
        _crd(kube, "trainingruntimes.trainer.kubeflow.org")


def test_multi_node_prefers_kubeflow_trainer_over_the_mpi_operator(kube):
    _crd(kube, "mpijobs.kubeflow.org")
    _trainer(kube)
    log = (NCCL / "08-aws-p5-2node-efa-openmpi-rank-prefix.txt").read_text()
    opts = _opts(nodes=2, device_counts=(("vpc.amazonaws.com/efa", 32),))
    with FakeController(kube, "succeed", log) as ctl:
        got = run_fabric(_cluster(kube), opts)
    assert got == log and ctl.kind == "TrainJob"
    assert ctl.workload["spec"] == {"runtimeRef": {"name": "nccl-all-reduce", "apiGroup": "trainer.kubeflow.org",
                                                   "kind": "TrainingRuntime"}, "trainer": {"numNodes": 2}}
    assert ctl.runtime["spec"]["mlPolicy"] == {"numNodes": 2, "mpi": {
        "numProcPerNode": 8, "mpiImplementation": "OpenMPI", "sshAuthMountPath": "/root/.ssh",
        "runLauncherAsNode": False}}
    jobs = {j["name"]: j["template"]["spec"]["template"]["spec"] for j in
            ctl.runtime["spec"]["template"]["spec"]["replicatedJobs"]}
    launcher, node = jobs["launcher"]["containers"][0], jobs["node"]["containers"][0]
    assert launcher["name"] == node["name"] == "node"  # where the Trainer mounts keys and hostfile
    assert launcher["command"][:4] == ["/opt/amazon/openmpi/bin/mpirun", "--allow-run-as-root", "-np", "16"]
    assert node["resources"]["limits"] == {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32"}
    assert ctl.runtime["spec"]["template"]["spec"]["successPolicy"] == {"operator": "All",
                                                                        "targetReplicatedJobs": ["launcher"]}
    assert not kube.live("kubeflow.org/v2beta1/mpijobs")
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_trainjob_progress_names_the_launcher_and_reads_the_launcher_pod(kube):
    from eidos.fabric import workload

    _trainer(kube)
    log = (NCCL / "08-aws-p5-2node-efa-openmpi-rank-prefix.txt").read_text()
    seen = []

    class Watching(Progress):
        def update(self, text):
            seen.append(text)

    with FakeController(kube, "succeed", log):
        run_fabric(_cluster(kube), _opts(nodes=2), Watching(enabled=False))
    assert "creating TrainingRuntime and TrainJob nccl-all-reduce (2 nodes x 8 GPUs, Kubeflow Trainer)" in seen
    # of a JobSet's pods, the results are in the launcher's (the workers only run sshd)
    opts = _opts(nodes=2, launcher="trainjob", run_id="r2")
    for pod in ("nccl-all-reduce-node-0-1-aaaaa", "nccl-all-reduce-launcher-0-0-zzzzz", "nccl-all-reduce-node-0-0-bbbbb"):
        kube.add_object("v1/pods", opts.namespace, pod, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": opts.namespace,
                                                            "labels": dict(opts.labels)}})
    assert workload._log_pod(_cluster(kube), opts)["metadata"]["name"] == "nccl-all-reduce-launcher-0-0-zzzzz"


def test_trainjob_failure_with_a_log_is_judged(kube):
    _trainer(kube)
    log = (NCCL / "21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt").read_text()
    with FakeController(kube, "fail", log) as ctl:
        assert run_fabric(_cluster(kube), _opts(nodes=2)) == log
    assert ctl.kind == "TrainJob"
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_trainjob_failure_without_a_log_raises_and_cleans_up(kube):
    _trainer(kube)
    with FakeController(kube, "fail", ""):
        with pytest.raises(FabricRunFailed, match="failed before printing anything: JobSetFailed"):
            run_fabric(_cluster(kube), _opts(nodes=2))
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_trainjob_timeout_cleans_up(kube):
    _trainer(kube)
    with FakeController(kube, "hang", ""):
        with pytest.raises(FabricRunFailed, match="did not finish within"):
            run_fabric(_cluster(kube), _opts(nodes=2, timeout=0.5))
    assert "eidos-fabric-r1" not in _namespaces(kube)  # the API server deletes what is in it


def test_trainjob_timeout_with_partial_output_is_judged(kube):
    _trainer(kube)
    log = (NCCL / "08-aws-p5-2node-efa-openmpi-rank-prefix.txt").read_text()[:2000]
    said = []
    with FakeController(kube, "hang", log):
        assert run_fabric(_cluster(kube), _opts(nodes=2, timeout=0.5), warn=said.append) == log
    assert said and "did not finish within" in said[0]
    assert "eidos-fabric-r1" not in _namespaces(kube)


def test_trainjob_interrupt_cleans_up(kube):
    _trainer(kube)
    _interrupted_leaves_nothing(kube, _opts(nodes=2))


def test_partial_trainer_install_without_mpi_operator_says_what_is_missing(kube):
    _trainer(kube, runtimes=False)
    with pytest.raises(EnvironmentFailure, match="only partly installed") as err:
        run_fabric(_cluster(kube), _opts(nodes=2))
    assert "Kubeflow Trainer" in err.value.hint and "MPI operator" in err.value.hint
    assert not _namespaces(kube)


def test_neither_launcher_names_both(kube):
    with pytest.raises(EnvironmentFailure, match="Kubeflow Trainer v2 .* or the MPI operator .*neither"):
        run_fabric(_cluster(kube), _opts(nodes=2))
    assert not _namespaces(kube)


class _RacingCluster:
    """A cluster whose Trainer webhook refuses the TrainJob ``refusals`` times (its cache has not
    seen the runtime yet), then accepts it."""

    def __init__(self, refusals, message="admission webhook \"validator.trainjob.trainer.kubeflow.org\" denied "
                                          "the request: TrainingRuntime nccl-all-reduce not found", status=422):
        self.refusals, self.message, self.status, self.created = refusals, message, status, []

    def create_custom(self, group, version, plural, manifest):
        from eidos.snapshot.cluster import ClusterError

        if self.refusals:
            self.refusals -= 1
            raise ClusterError(f"create TrainJob: {self.message} (HTTP {self.status})", self.status)
        self.created.append(manifest["kind"])
        return manifest


def test_trainjob_creation_waits_out_the_webhook_race(monkeypatch):
    from eidos.fabric import workload

    monkeypatch.setattr(workload.time, "sleep", lambda s: None)
    cluster = _RacingCluster(2)
    workload._create_trainjob(cluster, _opts(nodes=2))
    assert cluster.created == ["TrainJob"] and cluster.refusals == 0


def test_trainjob_creation_does_not_retry_an_rbac_denial(monkeypatch):
    from eidos.fabric import workload
    from eidos.snapshot.cluster import ClusterError

    monkeypatch.setattr(workload.time, "sleep", lambda s: None)
    cluster = _RacingCluster(1, message='trainjobs.trainer.kubeflow.org is forbidden: User "u" cannot create', status=403)
    with pytest.raises(ClusterError, match="forbidden"):
        workload._create_trainjob(cluster, _opts(nodes=2))
    assert not cluster.created


# ---- GKE profiles ------------------------------------------------------------------------

@pytest.mark.parametrize("accelerator, name, label", [
    ("h100", "gke-tcpxo", "nvidia-h100-mega-80gb"),
    ("h200", "gke-gib-h200", "nvidia-h200-141gb"),
    ("b200", "gke-gib-b200", "nvidia-b200"),
])
def test_gke_profile_per_accelerator(accelerator, name, label):
    profile = profiles.select({"service": "gke", "accelerator": accelerator, "intent": "training"})
    assert profile.name == name and profile.multi_node
    assert dict(profile.node_selector) == {"cloud.google.com/gke-accelerator": label}
    one = profiles.for_run(profile, 1)  # one node: the NVLink test on the same machines
    assert one.name == "nvlink" and dict(one.node_selector) == {"cloud.google.com/gke-accelerator": label}
    assert profiles.for_run(profile, 2) is profile


def test_other_facts_keep_their_profiles():
    assert profiles.select({"service": "eks", "accelerator": "h200"}).name == "eks-efa"
    assert profiles.select({"service": "gke", "accelerator": "gb200"}).name == "gb200-mnnvl"
    assert profiles.select({"service": "gke", "accelerator": "a100"}).name == "nvlink"
    eks = profiles.select({"service": "eks", "accelerator": "h100"})
    assert profiles.for_run(eks, 1) is eks


def gke_node(name, accelerator_label, gpus=8):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"cloud.google.com/gke-accelerator": accelerator_label}},
            "status": {"allocatable": {"nvidia.com/gpu": str(gpus)}}}


def test_cli_gke_h200_two_nodes_run_through_kubeflow_trainer_with_gib(kube):
    _trainer(kube)
    for i in range(2):
        kube.add_object("v1/nodes", None, f"a3u-{i}", gke_node(f"a3u-{i}", "nvidia-h200-141gb"))
    kube.add_object("v1/nodes", None, "cpu-0", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cpu-0"},
                                                "status": {"allocatable": {"cpu": "8"}}})
    log = (NCCL / "08-aws-p5-2node-efa-openmpi-rank-prefix.txt").read_text()
    with FakeController(kube, "succeed", log) as ctl:
        result = run_eidos("validate", "--fabric", "--service", "gke", "--accelerator", "h200",
                           "--intent", "training", "--nodes", "2", "--timeout", "20", "-o", "json",
                           env={"KUBECONFIG": str(kube.kubeconfig)})
    assert result.returncode == 0, result.stderr + result.stdout
    assert "profile gke-gib-h200, 2 node(s) x 8 GPU(s)" in result.stderr
    assert ctl.kind == "TrainJob"
    node_job = [j for j in ctl.runtime["spec"]["template"]["spec"]["replicatedJobs"] if j["name"] == "node"][0]
    pod = node_job["template"]["spec"]["template"]
    assert pod["spec"]["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-h200-141gb"}
    assert "rdma-7" in pod["metadata"]["annotations"]["networking.gke.io/interfaces"]
    statuses = {v["id"]: v["status"] for v in json.loads(result.stdout)["nodes"][0]["verdicts"]}
    assert statuses["check:nccl-data-integrity:wrong"] == "pass"
    assert not [n for n in _namespaces(kube) if n.startswith("eidos-fabric-")]


def test_cli_gke_h100_one_node_is_the_nvlink_test_on_a3_mega_nodes(kube):
    kube.add_object("v1/nodes", None, "a3h-0", gke_node("a3h-0", "nvidia-h100-80gb"))  # A3 High: not ours
    kube.add_object("v1/nodes", None, "a3m-0", gke_node("a3m-0", "nvidia-h100-mega-80gb"))
    log = (NCCL / "aicr-testdata-eks-h100-16g.txt").read_text()
    with FakeController(kube, "succeed", log) as ctl:
        result = run_eidos("validate", "--fabric", "--service", "gke", "--accelerator", "h100",
                           "--intent", "training", "--timeout", "20", "-o", "json",
                           env={"KUBECONFIG": str(kube.kubeconfig)})
    assert result.returncode == 0, result.stderr + result.stdout  # 483 GB/s >= the GKE H100 floor
    assert "profile nvlink, 1 node(s) x 8 GPU(s)" in result.stderr
    assert ctl.kind == "Job"
    spec = ctl.workload["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-h100-mega-80gb"}
    assert "initContainers" not in spec and "annotations" not in ctl.workload["spec"]["template"]["metadata"]


def test_cli_gke_without_a_matching_node_names_the_selector(kube):
    kube.add_object("v1/nodes", None, "a3h-0", gke_node("a3h-0", "nvidia-h100-80gb"))
    result = run_eidos("validate", "--fabric", "--service", "gke", "--accelerator", "h100", "--nodes", "2",
                       env={"KUBECONFIG": str(kube.kubeconfig)})
    assert result.returncode == 2
    assert "cloud.google.com/gke-accelerator=nvidia-h100-mega-80gb" in result.stderr
    assert not _namespaces(kube)
