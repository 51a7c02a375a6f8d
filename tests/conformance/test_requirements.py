"""The shipped requirement files, the mapping to checks, and how the version is chosen."""

from __future__ import annotations

import hashlib

import pytest

from eidos.conformance import requirements as reqs
from eidos.conformance.checks import CHECKS
from eidos.errors import InputError, UsageError

# sha256 of cncf/k8s-ai-conformance docs/AIConformance-*.yaml at
# b2c89690e77f705dd4aec8da7d33a3b5d9831d8e (eidos/conformance/requirements/PROVENANCE.md)
UPSTREAM_SHA256 = {
    "1.33": "6c32256c2fc3429c9770a828f3b642bc9fb04229503c632c2a7bea9a705ff949",
    "1.34": "5c85273d76ca69c97d0f1e01af26c495c704307a149726af976c8350a2790214",
    "1.35": "cf87915a9bcf977bb9c61298bc60afa0f062d1c3aad0a2d3dcefcdf1fa644693",
    "1.36": "43d8b708956c69f8a87a426c8c883e0e845588db173d94d707209397dad06170",
}


def test_shipped_files_are_the_upstream_files_unchanged():
    assert reqs.versions() == tuple(UPSTREAM_SHA256)
    for version, digest in UPSTREAM_SHA256.items():
        data = (reqs.REQUIREMENTS_DIR / f"AIConformance-{version}.yaml").read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, version


def test_every_requirement_of_every_version_is_mapped_to_existing_checks():
    mapping = reqs.load_mapping()
    seen = set()
    for version in reqs.versions():
        for r in reqs.load(version).requirements:
            seen.add(r.id)
            assert r.id in mapping, (version, r.id)
            m = mapping[r.id]
            assert m.checks or m.manual, r.id  # no check means a note of what the vendor must add
            for cid in m.checks:
                assert cid in CHECKS, (r.id, cid)
    assert set(mapping) == seen  # no stale entries


def test_musts_are_never_left_to_the_vendor():
    mapping = reqs.load_mapping()
    for version in reqs.versions():
        for r in reqs.load(version).requirements:
            if r.level == "MUST":
                assert mapping[r.id].checks, (version, r.id)


def test_version_sets_differ_as_cncf_defines_them():
    ids = {v: {r.id: r.level for r in reqs.load(v).requirements} for v in reqs.versions()}
    assert ids["1.33"]["dra_support"] == "SHOULD" and ids["1.35"]["dra_support"] == "MUST"
    assert "dra_support" not in ids["1.36"]
    for new in ("advanced_inference_ingress", "high_performance_networking", "disaggregated_inference"):
        assert ids["1.36"][new] == "SHOULD" and new not in ids["1.35"]
    assert ids["1.36"]["ai_service_metrics"] == "MUST" and ids["1.36"]["accelerator_metrics"] == "MUST"


def test_requirement_lines_point_at_the_id():
    rset = reqs.load("1.35")
    lines = rset.path.read_text().splitlines()
    for r in rset.requirements:
        assert lines[r.line - 1].strip() == f"- id: {r.id}"


@pytest.mark.parametrize("info,want", [
    ({"gitVersion": "v1.35.3-eks-3025e55", "minor": "35+"}, "1.35"),
    ({"gitVersion": "v1.36.0"}, "1.36"),
    ({"major": "1", "minor": "34+"}, "1.34"),
])
def test_version_from_server(info, want):
    assert reqs.version_from_server(info) == want


def test_version_from_server_without_a_version_is_an_input_error():
    with pytest.raises(InputError, match="names no Kubernetes version") as err:
        reqs.version_from_server({"platform": "linux/amd64"})
    assert "--k8s-version" in err.value.hint


@pytest.mark.parametrize("text,want", [("1.36", "1.36"), ("v1.35", "1.35"), ("1.34.2", "1.34")])
def test_normalize_version(text, want):
    assert reqs.normalize_version(text) == want


@pytest.mark.parametrize("text", ["136", "latest", "1", ""])
def test_bad_version_is_a_usage_error(text):
    with pytest.raises(UsageError):
        reqs.normalize_version(text)


def test_unshipped_version_names_the_shipped_ones():
    with pytest.raises(UsageError) as err:
        reqs.load("1.32")
    assert "1.33" in err.value.hint and "1.36" in err.value.hint
