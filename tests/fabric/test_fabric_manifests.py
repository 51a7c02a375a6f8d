"""The fabric workload's objects are valid for what the API server will check.

The Job and Namespace against Kubernetes' own OpenAPI schemas (``kubernetes-validate``,
strict: an unknown field fails), and so each multi-node worker's pod (GKE's annotations,
host paths and native sidecar included); the MPIJob against the MPI operator's CRD at its
v0.8.0 release, the TrainJob and TrainingRuntime against Kubeflow Trainer's CRDs at v2.1.0
(tests/fixtures/crds-fabric/, provenance in tests/fixtures/README.md), for every shipped
profile.
"""

from __future__ import annotations

import pytest

from eidos.fabric.profiles import load_profiles
from eidos.fabric.workload import (
    FabricOptions,
    compute_domain_manifest,
    job_manifest,
    mpijob_manifest,
    namespace_manifest,
    trainingruntime_manifest,
    trainjob_manifest,
)
from tests.conftest import FIXTURES

kubernetes_validate = pytest.importorskip("kubernetes_validate")
jsonschema = pytest.importorskip("jsonschema")


def _opts(profile, **kw):
    return FabricOptions(profile=profile, run_id="abc123", **kw)


@pytest.mark.parametrize("profile", load_profiles(), ids=lambda p: p.name)
def test_job_and_namespace_are_valid_kubernetes_objects(profile):
    version = kubernetes_validate.latest_version()
    for obj in (namespace_manifest(_opts(profile)), job_manifest(_opts(profile, gpus_per_node=4))):
        kubernetes_validate.validate(obj, version, strict=True)


def _crd_schema(file: str, version_name: str) -> dict:
    from ruamel.yaml import YAML

    crd = YAML(typ="safe").load((FIXTURES / "crds-fabric" / file).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == version_name]
    assert version["served"] is True
    return version["schema"]["openAPIV3Schema"]


def _mpijob_schema() -> dict:
    return _crd_schema("kubeflow.org_mpijobs.yaml", "v2beta1")


def _structural(schema):
    """OpenAPI v3 (structural CRD schema) -> JSON Schema: int-or-string and preserved
    unknown fields are what the API server accepts; everything else is closed, as the API
    server prunes (and strict decoding refuses) unknown fields."""
    if isinstance(schema, dict):
        out = {k: _structural(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
        if schema.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if schema.get("type") == "object" and "properties" in schema and not schema.get(
                "x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_structural(s) for s in schema]
    return schema


@pytest.mark.parametrize("profile", [p for p in load_profiles() if p.multi_node], ids=lambda p: p.name)
def test_mpijob_is_valid_against_the_mpi_operator_crd(profile):
    schema = _structural(_mpijob_schema())
    obj = mpijob_manifest(_opts(profile, nodes=2, device_counts=(("vpc.amazonaws.com/efa", 32),)))
    jsonschema.validate(obj, schema)
    # the validator can fail: a misspelt field is refused
    broken = mpijob_manifest(_opts(profile, nodes=2))
    broken["spec"]["slotsPerWorkers"] = broken["spec"].pop("slotsPerWorker")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_compute_domain_is_valid_against_the_dra_driver_crd():
    from ruamel.yaml import YAML

    path = FIXTURES / "charts" / "nvidia-dra-driver-gpu" / "25.8.1" / "crds" / "resource.nvidia.com_computedomains.yaml"
    crd = YAML(typ="safe").load(path.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    schema = _structural(version["schema"]["openAPIV3Schema"])
    (gb200,) = [p for p in load_profiles() if p.compute_domain]
    jsonschema.validate(compute_domain_manifest(_opts(gb200, nodes=2)), schema)


MULTI = [p for p in load_profiles() if p.multi_node]


def _multi_opts(profile):
    return _opts(profile, nodes=2, device_counts=(("vpc.amazonaws.com/efa", 32),))


@pytest.mark.parametrize("profile", MULTI, ids=lambda p: p.name)
def test_trainjob_and_runtime_are_valid_against_the_trainer_crds(profile):
    runtime_schema = _structural(_crd_schema("trainer.kubeflow.org_trainingruntimes.yaml", "v1alpha1"))
    trainjob_schema = _structural(_crd_schema("trainer.kubeflow.org_trainjobs.yaml", "v1alpha1"))
    opts = _multi_opts(profile)
    jsonschema.validate(trainingruntime_manifest(opts), runtime_schema)
    jsonschema.validate(trainjob_manifest(opts), trainjob_schema)
    # the validator can fail: a field of Trainer v2.3 (runtimePatches), not v2.1, is refused
    broken = trainjob_manifest(opts)
    broken["spec"]["runtimePatches"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, trainjob_schema)
    misspelt = trainingruntime_manifest(opts)
    misspelt["spec"]["mlPolicy"]["mpi"]["numProcsPerNode"] = misspelt["spec"]["mlPolicy"]["mpi"].pop("numProcPerNode")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(misspelt, runtime_schema)
    deep = trainingruntime_manifest(opts)  # the schema reaches into the JobSet's pod templates
    deep["spec"]["template"]["spec"]["replicatedJobs"][1]["template"]["spec"]["template"]["spec"]["hostNetwrk"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(deep, runtime_schema)


@pytest.mark.parametrize("profile", MULTI, ids=lambda p: p.name)
def test_every_worker_pod_is_a_valid_kubernetes_pod(profile):
    """The pod template each launcher stamps out (MPIJob worker, TrainingRuntime node Job),
    as a Pod: annotations, hostPath volumes, native sidecars and claims are core fields."""
    version = kubernetes_validate.latest_version()
    opts = _multi_opts(profile)
    runtime = trainingruntime_manifest(opts)
    templates = [mpijob_manifest(opts)["spec"]["mpiReplicaSpecs"][role]["template"] for role in ("Launcher", "Worker")]
    templates += [job["template"]["spec"]["template"] for job in runtime["spec"]["template"]["spec"]["replicatedJobs"]]
    for template in templates:
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "worker", "namespace": opts.namespace, **template["metadata"]},
               "spec": template["spec"]}
        kubernetes_validate.validate(pod, version, strict=True)


def test_gke_workers_carry_googles_plumbing():
    """What Google's manifests give each TCPXO / gIB pod, and only to the multi-node workers."""
    by = {p.name: p for p in load_profiles()}
    tcpxo = mpijob_manifest(_opts(by["gke-tcpxo"], nodes=2))
    worker = tcpxo["spec"]["mpiReplicaSpecs"]["Worker"]["template"]
    launcher = tcpxo["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]
    assert set(worker["metadata"]["annotations"]) == {
        "devices.gke.io/container.tcpxo-daemon", "networking.gke.io/default-interface", "networking.gke.io/interfaces"}
    import json

    nics = json.loads(worker["metadata"]["annotations"]["networking.gke.io/interfaces"])
    assert [n["interfaceName"] for n in nics] == [f"eth{i}" for i in range(9)]
    assert "/dev/dmabuf_import_helper" in worker["metadata"]["annotations"]["devices.gke.io/container.tcpxo-daemon"]
    (daemon,) = worker["spec"]["initContainers"]
    assert daemon["name"] == "tcpxo-daemon" and daemon["restartPolicy"] == "Always"
    assert daemon["image"].startswith("us-docker.pkg.dev/gce-ai-infra/gpudirect-tcpxo/tcpgpudmarxd-dev:")
    hostpaths = {v["name"]: v["hostPath"]["path"] for v in worker["spec"]["volumes"] if "hostPath" in v}
    assert hostpaths == {"nvidia": "/home/kubernetes/bin/nvidia/lib64", "aperture-devices": "/dev/aperture_devices",
                         "sys": "/sys", "proc-sys": "/proc/sys"}
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in worker["spec"]["containers"][0]["volumeMounts"]}
    assert mounts == {"/dev/shm": False, "/usr/local/nvidia/lib64": True, "/dev/aperture_devices": False}  # not /sys
    assert "annotations" not in launcher["metadata"] and "initContainers" not in launcher["spec"]
    assert not any("hostPath" in v for v in launcher["spec"]["volumes"])
    command = launcher["spec"]["containers"][0]["command"]
    assert command[command.index("-x", command.index("NCCL_FASTRAK_CTRL_DEV") - 1) + 1] == "NCCL_FASTRAK_CTRL_DEV"
    assert command[-9:] == ["/third_party/nccl-tests-mpi/build/all_reduce_perf", "-b", "1M", "-e", "16G", "-f", "2",
                            "-g", "1"]
    env = {e["name"]: e["value"] for e in launcher["spec"]["containers"][0]["env"]}
    assert env["NCCL_FASTRAK_IFNAME"] == "eth1,eth2,eth3,eth4,eth5,eth6,eth7,eth8"

    gib = mpijob_manifest(_opts(by["gke-gib-b200"], nodes=2))
    worker = gib["spec"]["mpiReplicaSpecs"]["Worker"]["template"]
    nics = json.loads(worker["metadata"]["annotations"]["networking.gke.io/interfaces"])
    assert [n["network"] for n in nics] == ["default"] + [f"rdma-{i}" for i in range(8)]
    assert "initContainers" not in worker["spec"]
    command = gib["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]["command"]
    assert command[-3:] == ["/bin/bash", "-c", "source /usr/local/gib/scripts/set_nccl_env.sh && exec "
                            "/third_party/nccl-tests/build/all_reduce_perf -b 1M -e 16G -f 2 -g 1"]
    assert worker["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}  # the CLI passes the profile's
