"""The fabric workload's objects are valid for what the API server will check.

The Job and Namespace against Kubernetes' own OpenAPI schemas (``kubernetes-validate``,
strict: an unknown field fails); the MPIJob against the MPI operator's CRD at its v0.8.0
release (tests/fixtures/crds-fabric/, provenance in tests/fixtures/README.md), for every
shipped profile.
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


def _mpijob_schema() -> dict:
    from ruamel.yaml import YAML

    crd = YAML(typ="safe").load((FIXTURES / "crds-fabric" / "kubeflow.org_mpijobs.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v2beta1"]
    assert version["served"] is True
    return version["schema"]["openAPIV3Schema"]


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
