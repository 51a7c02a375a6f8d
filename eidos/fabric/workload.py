"""Running nccl-tests on the cluster: one run, in its own namespace, removed on every exit.

A run, start to finish (every object named for the run and labelled
``app.kubernetes.io/managed-by=eidos``, ``eidos.dev/run=<run-id>``):

1. create the namespace ``eidos-fabric-<run-id>``: the test's pods live nowhere else, and
   deleting the namespace removes everything the run made, whatever the controller created
   beneath it (MPIJob launcher and workers, their Services, Secrets and pods);
2. one node: a ``Job`` whose single pod drives every GPU of the node (``-g N``); several
   nodes: one launcher running ``mpirun`` and N workers, one rank per GPU (on GB200, with a
   ``ComputeDomain`` whose IMEX channel every worker claims; on GKE, with the profile's NIC
   annotations, host directories and sidecar), as a ``TrainingRuntime`` + ``TrainJob``
   (Kubeflow Trainer v2) when the cluster has the Trainer, else an ``MPIJob``
   (kubeflow.org/v2beta1, the MPI operator). Without either (or the DRA driver's
   ComputeDomains, or an RDMA device resource where the profile needs one) a multi-node run
   is refused before anything is created, naming what is missing;
3. poll until the Job/TrainJob/MPIJob succeeds, fails or ``--timeout`` passes, showing the pods' phases;
4. read the launcher pod's (or the Job pod's) log, which is what :mod:`eidos.fabric.nccl` parses;
5. delete the namespace on success, failure, timeout and interruption (SIGINT, SIGTERM,
   SIGHUP), unless ``--no-cleanup``; the signals are ignored while the deletion is sent.

Least privilege: the pods get no service-account token, no privilege escalation, all
capabilities dropped but ``IPC_LOCK`` (NCCL and libfabric pin memory for RDMA), and only the
devices the profile names. They do run as the image's user (root in the nccl-tests images:
``mpirun`` and the MPI operator's ssh start-up expect it); docs/security.md says why.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import attrs

from eidos.errors import EnvironmentFailure, UsageError
from eidos.fabric.profiles import Profile
from eidos.snapshot import runspace
from eidos.snapshot.agent import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    RUN_LABEL,
    Progress,
)

MPI_GROUP, MPI_VERSION, MPI_PLURAL = "kubeflow.org", "v2beta1", "mpijobs"
CD_GROUP, CD_VERSION, CD_PLURAL = "resource.nvidia.com", "v1beta1", "computedomains"
CD_CRD = f"{CD_PLURAL}.{CD_GROUP}"
CD_CLAIM = "compute-domain-channel"
MPI_CRD = f"{MPI_PLURAL}.{MPI_GROUP}"
# Kubeflow Trainer v2 (github.com/kubeflow/trainer, API at the v2.1.0 tag, the version AICR's
# training recipes install: pkg/apis/trainer/v1alpha1/{trainjob,trainingruntime}_types.go)
TRAINER_GROUP, TRAINER_VERSION = "trainer.kubeflow.org", "v1alpha1"
TRAINJOB_PLURAL, RUNTIME_PLURAL = "trainjobs", "trainingruntimes"
TRAINER_CRD = f"{TRAINJOB_PLURAL}.{TRAINER_GROUP}"
RUNTIME_CRD = f"{RUNTIME_PLURAL}.{TRAINER_GROUP}"
# the Trainer's MPI plugin mounts the ssh keys and hostfile into containers named "node"
# (pkg/constants Node) of the replicatedJobs "launcher" and "node"
TRAINER_CONTAINER, TRAINER_LAUNCHER, TRAINER_NODE = "node", "launcher", "node"
MAX_LOG_BYTES = 64 * 1024 * 1024
DEFAULT_NODE_SELECTOR = {"nvidia.com/gpu.present": "true"}
DEFAULT_TOLERATIONS = ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)
SHM_LIMIT = "64Gi"  # NCCL's intra-node transport uses /dev/shm; the container default is 64 MiB


class FabricRunFailed(EnvironmentFailure):
    """The test workload failed, or did not finish in time."""


@attrs.frozen
class FabricOptions:
    profile: Profile
    test: str = "all_reduce"
    nodes: int = 1
    gpus_per_node: int = 8
    min_bytes: str = "1M"
    max_bytes: str = "16G"
    timeout: float = 1800.0
    poll_interval: float = 5.0
    image: str | None = None
    cleanup: bool = True
    node_selector: dict = attrs.field(factory=lambda: dict(DEFAULT_NODE_SELECTOR))
    tolerations: tuple = DEFAULT_TOLERATIONS
    device_counts: tuple[tuple[str, int], ...] = ()  # resource -> per-node count to request
    launcher: str = "mpijob"  # several nodes: "trainjob" (Kubeflow Trainer) or "mpijob" (MPI operator)
    run_id: str = attrs.field(factory=lambda: secrets.token_hex(4))

    @property
    def namespace(self) -> str:
        return f"eidos-fabric-{self.run_id}"

    @property
    def name(self) -> str:
        return f"nccl-{self.test.replace('_', '-')}"

    @property
    def labels(self) -> dict:
        return {MANAGED_BY_LABEL: MANAGED_BY, RUN_LABEL: self.run_id}

    @property
    def channel_template(self) -> str:
        """The ResourceClaimTemplate the DRA driver creates for the run's ComputeDomain."""
        return f"{self.name}-channel"

    @property
    def ranks(self) -> int:
        return self.nodes * self.gpus_per_node


def namespace_manifest(opts: FabricOptions) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": opts.namespace, "labels": dict(opts.labels)}}


def _nccl_args(opts: FabricOptions, gpus_per_process: int) -> list[str]:
    return [opts.profile.command(opts.test), "-b", opts.min_bytes, "-e", opts.max_bytes, "-f", "2",
            "-g", str(gpus_per_process)]


def _container(opts: FabricOptions, command: list[str], *, gpus: int, devices: bool,
               name: str = "nccl") -> dict:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    if devices:
        limits.update({resource: str(count) for resource, count in opts.device_counts})
    mounts = [{"name": "dshm", "mountPath": "/dev/shm"}]
    if devices:  # a multi-node worker: the profile's host directories (GKE: driver and plugin)
        mounts += [{"name": vol, "mountPath": path, **({"readOnly": True} if ro else {})}
                   for vol, _host, path, ro in opts.profile.volumes if path]
    return {
        "name": name,
        "image": opts.image or opts.profile.image,
        "command": command,
        "env": [{"name": k, "value": v} for k, v in opts.profile.env],
        "resources": {"limits": limits, "requests": dict(limits)} if limits else {},
        "securityContext": {"allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}},
        "volumeMounts": mounts,
    }


def _pod_spec(opts: FabricOptions, container: dict, *, gpu_node: bool, restart: str) -> dict:
    spec = {
        "restartPolicy": restart,
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_LIMIT}}],
    }
    if gpu_node:
        spec["nodeSelector"] = dict(opts.node_selector)
        spec["tolerations"] = [dict(t) for t in opts.tolerations]
    return spec


def job_manifest(opts: FabricOptions) -> dict:
    """One node: a plain Job, one process driving all the node's GPUs."""
    container = _container(opts, ["/bin/sh", "-c", " ".join(_shell(a) for a in
                                  [opts.profile.mpirun, "--allow-run-as-root", "-np", "1",
                                   *_nccl_args(opts, opts.gpus_per_node)])],
                           gpus=opts.gpus_per_node, devices=False)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": opts.name, "namespace": opts.namespace, "labels": dict(opts.labels)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(opts.timeout),
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": dict(opts.labels)},
                "spec": _pod_spec(opts, container, gpu_node=True, restart="Never"),
            },
        },
    }


def compute_domain_manifest(opts: FabricOptions) -> dict:
    """The run's ComputeDomain: the DRA driver starts IMEX daemons on the nodes whose pods
    claim its channel, and generates the ResourceClaimTemplate the workers reference."""
    return {
        "apiVersion": f"{CD_GROUP}/{CD_VERSION}",
        "kind": "ComputeDomain",
        "metadata": {"name": opts.name, "namespace": opts.namespace, "labels": dict(opts.labels)},
        "spec": {"numNodes": 0,
                 "channel": {"resourceClaimTemplate": {"name": opts.channel_template}}},
    }


def launch_command(opts: FabricOptions) -> list[str]:
    """The launcher's ``mpirun``: one rank per GPU, the profile's environment exported to
    every rank (``-x``); a profile with a ``source`` script starts each rank through a shell
    that sources it first (gIB's set_nccl_env.sh sets NCCL_* for the node it runs on)."""
    env_flags = [flag for k, _v in opts.profile.env for flag in ("-x", k)]
    rank = _nccl_args(opts, 1)
    if opts.profile.source:
        rank = ["/bin/bash", "-c", f"source {_shell(opts.profile.source)} && exec "
                + " ".join(_shell(a) for a in rank)]
    return [opts.profile.mpirun, "--allow-run-as-root", "-np", str(opts.ranks), "-bind-to", "none",
            *opts.profile.mpirun_args, *env_flags, *rank]


def _worker(opts: FabricOptions, *, name: str = "nccl", restart: str = "OnFailure") -> tuple[dict, dict]:
    """(pod metadata, pod spec) of a multi-node worker: GPUs, fabric devices, the profile's
    annotations, host directories and sidecars, and the GB200 IMEX channel."""
    from eidos.fabric.profiles import thaw

    worker = _container(opts, list(opts.profile.worker_command), gpus=opts.gpus_per_node, devices=True,
                        name=name)
    spec = _pod_spec(opts, worker, gpu_node=True, restart=restart)
    spec["volumes"] += [{"name": vol, "hostPath": {"path": host}} for vol, host, _path, _ro in opts.profile.volumes]
    if opts.profile.sidecars:  # native sidecars: they run beside the test and never hold the pod
        spec["initContainers"] = [{**thaw(c), "restartPolicy": "Always"} for c in opts.profile.sidecars]
    if opts.profile.compute_domain:
        worker["resources"]["claims"] = [{"name": CD_CLAIM}]
        spec["resourceClaims"] = [{"name": CD_CLAIM, "resourceClaimTemplateName": opts.channel_template}]
    meta = {"labels": dict(opts.labels)}
    if opts.profile.annotations:
        meta["annotations"] = dict(opts.profile.annotations)
    return meta, spec


def mpijob_manifest(opts: FabricOptions) -> dict:
    """Several nodes: an MPIJob, one rank per GPU, the launcher on no GPU."""
    launcher = _container(opts, launch_command(opts), gpus=0, devices=False)
    worker_meta, worker_spec = _worker(opts)
    return {
        "apiVersion": f"{MPI_GROUP}/{MPI_VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": opts.name, "namespace": opts.namespace, "labels": dict(opts.labels)},
        "spec": {
            "slotsPerWorker": opts.gpus_per_node,
            "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": 0,
                          "activeDeadlineSeconds": int(opts.timeout), "ttlSecondsAfterFinished": 600},
            "mpiReplicaSpecs": {
                "Launcher": {"replicas": 1, "template": {
                    "metadata": {"labels": dict(opts.labels)},
                    "spec": _pod_spec(opts, launcher, gpu_node=False, restart="OnFailure")}},
                "Worker": {"replicas": opts.nodes, "template": {"metadata": worker_meta, "spec": worker_spec}},
            },
        },
    }


def trainingruntime_manifest(opts: FabricOptions) -> dict:
    """Several nodes through Kubeflow Trainer: the run's own TrainingRuntime (namespaced, so
    the namespace's deletion removes it) with an MPI policy: the Trainer generates the ssh
    keys and the hostfile (slots = GPUs per node), JobSet runs one launcher Job (``mpirun``,
    no GPU) and ``numNodes`` worker pods running sshd. The run succeeds when the launcher
    does (successPolicy), as in the Trainer's own MPI runtime (deepspeed-distributed)."""
    launcher = _container(opts, launch_command(opts), gpus=0, devices=False, name=TRAINER_CONTAINER)
    worker_meta, worker_spec = _worker(opts, name=TRAINER_CONTAINER, restart="Never")
    launcher_spec = _pod_spec(opts, launcher, gpu_node=False, restart="Never")
    launcher_labels = {**opts.labels, "trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}

    def job(name: str, meta: dict, spec: dict, labels: dict | None = None) -> dict:
        template = {"spec": {"backoffLimit": 0, "activeDeadlineSeconds": int(opts.timeout),
                             "template": {"metadata": meta, "spec": spec}}}
        if labels:
            template["metadata"] = {"labels": labels}
        return {"name": name, "template": template}

    return {
        "apiVersion": f"{TRAINER_GROUP}/{TRAINER_VERSION}",
        "kind": "TrainingRuntime",
        "metadata": {"name": opts.name, "namespace": opts.namespace, "labels": dict(opts.labels)},
        "spec": {
            "mlPolicy": {"numNodes": opts.nodes,
                         "mpi": {"numProcPerNode": opts.gpus_per_node, "mpiImplementation": "OpenMPI",
                                 "sshAuthMountPath": "/root/.ssh", "runLauncherAsNode": False}},
            "template": {"spec": {
                "network": {"enableDNSHostnames": True, "publishNotReadyAddresses": True},
                "successPolicy": {"operator": "All", "targetReplicatedJobs": [TRAINER_LAUNCHER]},
                "replicatedJobs": [
                    job(TRAINER_LAUNCHER, {"labels": launcher_labels}, launcher_spec, launcher_labels),
                    job(TRAINER_NODE, worker_meta, worker_spec),
                ],
            }},
        },
    }


def trainjob_manifest(opts: FabricOptions) -> dict:
    """The TrainJob that runs the run's TrainingRuntime on ``nodes`` nodes."""
    return {
        "apiVersion": f"{TRAINER_GROUP}/{TRAINER_VERSION}",
        "kind": "TrainJob",
        "metadata": {"name": opts.name, "namespace": opts.namespace, "labels": dict(opts.labels)},
        "spec": {
            "runtimeRef": {"name": opts.name, "apiGroup": TRAINER_GROUP, "kind": "TrainingRuntime"},
            "trainer": {"numNodes": opts.nodes},
        },
    }


def _shell(word: str) -> str:
    import shlex

    return shlex.quote(word)


def preflight(cluster, opts: FabricOptions) -> str:
    """Refuse what cannot run before creating anything, saying what is missing; return the
    launcher: ``job`` (one node), ``trainjob`` (Kubeflow Trainer installed: its TrainJob and
    TrainingRuntime CRDs) or ``mpijob`` (the MPI operator only)."""
    if opts.nodes < 1 or opts.gpus_per_node < 1:
        raise UsageError("--nodes and --gpus-per-node must be at least 1")
    if opts.nodes == 1:
        return "job"
    if not opts.profile.multi_node:
        raise UsageError(f"a {opts.nodes}-node fabric run: {opts.profile.multi_node_note}",
                         hint="run with --nodes 1 for the NVLink test inside one node")
    if opts.profile.compute_domain and not cluster.crd_exists(CD_CRD):
        raise EnvironmentFailure(
            f"a {opts.nodes}-node {opts.profile.name} run needs ComputeDomains (CRD {CD_CRD}) for "
            "its IMEX channels, which this cluster does not have",
            hint="install the NVIDIA DRA driver (nvidia-dra-driver-gpu, part of the GB200 recipes)")
    if opts.profile.device_prefixes and not any(
            r.startswith(opts.profile.device_prefixes) for r, _n in opts.device_counts):
        raise EnvironmentFailure(
            f"a {opts.nodes}-node {opts.profile.name} run needs an RDMA device resource "
            f"({', '.join(p + '*' for p in opts.profile.device_prefixes)}) on the GPU nodes; none is allocatable",
            hint="install the network-operator's RDMA shared device plugin (the AKS and OKE recipes do)")
    trainjobs = cluster.crd_exists(TRAINER_CRD)
    if trainjobs and cluster.crd_exists(RUNTIME_CRD):
        return "trainjob"
    if cluster.crd_exists(MPI_CRD):
        return "mpijob"
    partial = (f"; {TRAINER_CRD} is there but not {RUNTIME_CRD}, so Kubeflow Trainer is only "
               "partly installed" if trainjobs else "")
    raise EnvironmentFailure(
        f"a {opts.nodes}-node fabric run needs Kubeflow Trainer v2 (CRDs {TRAINER_CRD} and "
        f"{RUNTIME_CRD}) or the MPI operator (CRD {MPI_CRD}); this cluster has neither{partial}",
        hint="install Kubeflow Trainer (github.com/kubeflow/trainer, v2; the training recipes with "
             "platform kubeflow do) or the MPI operator (github.com/kubeflow/mpi-operator, v2beta1), "
             "or judge a log from your own launcher with --from-log")


def _pods(cluster, opts: FabricOptions) -> list[dict]:
    return cluster.list_pods(opts.namespace, label_selector=f"{RUN_LABEL}={opts.run_id}")


def _log_pod(cluster, opts: FabricOptions) -> dict | None:
    """The pod whose log holds the results: the Job's pod, or the MPIJob's / TrainJob's launcher."""
    pods = _pods(cluster, opts)
    if opts.nodes > 1:  # MPIJob: <name>-launcher-xxxxx; TrainJob (JobSet): <name>-launcher-0-0-xxxxx
        pods = [p for p in pods if "-launcher-" in ((p.get("metadata") or {}).get("name") or "") + "-"]
    pods.sort(key=lambda p: (p.get("metadata") or {}).get("name") or "")
    return pods[0] if pods else None


def _phase(cluster, opts: FabricOptions) -> str:
    pods = _pods(cluster, opts)
    if not pods:
        return "waiting for pods"
    phases = sorted({(p.get("status") or {}).get("phase") or "Pending" for p in pods})
    return f"{len(pods)} pod(s) {'/'.join(phases)}"


def _state(cluster, opts: FabricOptions) -> tuple[str, str]:
    """('running' | 'succeeded' | 'failed', why)."""
    if opts.nodes == 1:
        obj = cluster.read_job(opts.namespace, opts.name)
        ok, bad = ("Complete",), ("Failed",)
    elif opts.launcher == "trainjob":  # TrainJobComplete / TrainJobFailed (trainjob_types.go)
        obj = cluster.get_custom(TRAINER_GROUP, TRAINER_VERSION, TRAINJOB_PLURAL, opts.namespace, opts.name)
        ok, bad = ("Complete",), ("Failed",)
    else:
        obj = cluster.get_custom(MPI_GROUP, MPI_VERSION, MPI_PLURAL, opts.namespace, opts.name)
        ok, bad = ("Succeeded",), ("Failed",)
    status = obj.get("status") or {}
    for cond in status.get("conditions") or []:
        if not isinstance(cond, dict) or str(cond.get("status")) != "True":
            continue
        why = ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
        if cond.get("type") in ok:
            return "succeeded", why
        if cond.get("type") in bad:
            return "failed", why or "the workload failed"
    if opts.nodes == 1 and (status.get("failed") or 0) > 0:
        return "failed", "its pod failed"
    return "running", ""


def _read_log(cluster, opts: FabricOptions) -> str:
    pod = _log_pod(cluster, opts)
    if pod is None:
        return ""
    name = pod["metadata"]["name"]
    return cluster.pod_log(opts.namespace, name, tail_lines=None, limit_bytes=MAX_LOG_BYTES)


def run_fabric(cluster, opts: FabricOptions, progress: Progress | None = None, *,
               warn: Callable[[str], None] | None = None) -> str:
    """Create, wait, read the log, clean up. Returns the nccl-tests output.

    A workload that fails still returns its log when there is one (a crash or corrupt
    data is a verdict, not an environment failure); one that never ran raises."""
    progress = progress or Progress(enabled=False)
    warn = warn or (lambda message: None)
    opts = attrs.evolve(opts, launcher=preflight(cluster, opts))
    created = False
    try:
        progress.update(f"creating namespace {opts.namespace}")
        cluster.create(namespace_manifest(opts))
        created = True
        if opts.nodes == 1:
            progress.update(f"creating Job {opts.name} on one node ({opts.gpus_per_node} GPUs)")
            cluster.create(job_manifest(opts))
        else:
            if opts.profile.compute_domain:
                progress.update(f"creating ComputeDomain {opts.name}")
                cluster.create_custom(CD_GROUP, CD_VERSION, CD_PLURAL, compute_domain_manifest(opts))
            shape = f"{opts.nodes} nodes x {opts.gpus_per_node} GPUs"
            if opts.launcher == "trainjob":
                progress.update(f"creating TrainingRuntime and TrainJob {opts.name} ({shape}, Kubeflow Trainer)")
                cluster.create_custom(TRAINER_GROUP, TRAINER_VERSION, RUNTIME_PLURAL, trainingruntime_manifest(opts))
                _create_trainjob(cluster, opts)
            else:
                progress.update(f"creating MPIJob {opts.name} ({shape}, MPI operator)")
                cluster.create_custom(MPI_GROUP, MPI_VERSION, MPI_PLURAL, mpijob_manifest(opts))
        start = time.monotonic()
        polls = 0
        while True:
            state, why = _state(cluster, opts)
            if state != "running":
                break
            elapsed = time.monotonic() - start
            if elapsed >= opts.timeout:
                log = _safe_log(cluster, opts)
                if log.strip():
                    warn(f"the NCCL test did not finish within {opts.timeout:g}s; judging the log so far")
                    return log
                raise FabricRunFailed(
                    f"the NCCL test did not finish within {opts.timeout:g}s ({_phase(cluster, opts)})",
                    hint="check that GPU nodes match the node selector and have free GPUs, or raise --timeout")
            progress.update(f"{opts.name}: {_phase(cluster, opts)} ({elapsed:.0f}s)")
            # quick at first (a failing image fails in seconds), then every poll_interval
            time.sleep(min(opts.poll_interval, 0.25 * 2 ** min(polls, 8), max(opts.timeout - elapsed, 0.01)))
            polls += 1
        progress.update("reading the test's log")
        log = _safe_log(cluster, opts)
        if state == "failed" and not log.strip():
            raise FabricRunFailed(f"the NCCL test workload failed before printing anything: {why}",
                                  hint="rerun with --no-cleanup and inspect the pods of "
                                       f"namespace {opts.namespace}")
        return log
    finally:
        progress.done()
        runspace.release(cluster, opts.namespace, created=created, cleanup=opts.cleanup, warn=warn)


WEBHOOK_RACE_SECONDS = 15.0


def _create_trainjob(cluster, opts: FabricOptions) -> None:
    """Create the TrainJob, retrying while the Trainer's admission webhook has not yet seen the
    TrainingRuntime created a moment before (its informer cache lags the API server; AICR's
    validator waits for the same race). Any other refusal is raised at once."""
    from eidos.snapshot.cluster import ClusterError

    give_up = time.monotonic() + WEBHOOK_RACE_SECONDS
    while True:
        try:
            cluster.create_custom(TRAINER_GROUP, TRAINER_VERSION, TRAINJOB_PLURAL, trainjob_manifest(opts))
            return
        except ClusterError as err:
            race = err.status in (400, 403, 422) and "admission webhook" in str(err)
            if not race or time.monotonic() >= give_up:
                raise
        time.sleep(0.5)


def _safe_log(cluster, opts: FabricOptions) -> str:
    try:
        return _read_log(cluster, opts)
    except EnvironmentFailure:
        return ""

