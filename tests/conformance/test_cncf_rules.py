"""The port of CNCF's submission checks (eidos/conformance/cncf.py) against hand-made products.

Origin of every rule: cncf/k8s-ai-conformance scripts/validate.go and instructions.md at
b2c89690e77f705dd4aec8da7d33a3b5d9831d8e. The expected messages are validate.go's text.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from eidos.conformance import requirements as reqs
from eidos.conformance.cncf import check_product, to_snake_case, version_from_path

METADATA = {
    "kubernetesVersion": "v1.35", "platformName": "Turbo Encabulator", "platformVersion": "v1.7.4",
    "vendorName": "Yoyodyne", "websiteUrl": "https://yoyo.dyne/turbo-encabulator",
    "repoUrl": "https://github.com/yoyo.dyne/turbo-encabulator",
    "documentationUrl": "https://yoyo.dyne/turbo-encabulator/docs",
    "productLogoUrl": "https://yoyo.dyne/assets/turbo-encabulator.svg",
    "description": "The Yoyodyne Turbo Encabulator.", "contactEmailAddress": "yoyodyne@turbo-encabulator.org",
    "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/master/v1.35/turbo-encabulator",
}


def _complete(version="1.35"):
    """The requirement file with every MUST Implemented (evidence evidence/<id>.md) and the
    SHOULDs left empty."""
    doc = yaml.safe_load(reqs.load(version).path.read_text())
    doc["metadata"] = {**METADATA, "kubernetesVersion": f"v{version}"}
    for items in doc["spec"].values():
        for r in items:
            if r["level"] == "MUST":
                r.update(status="Implemented", evidence=[f"evidence/{r['id']}.md"], notes="")
    return doc


def _check(tmp_path, doc, version="1.35", files=True):
    d = tmp_path / f"v{version}" / "turbo"
    (d / "evidence").mkdir(parents=True, exist_ok=True)
    if files:
        for items in doc.get("spec", {}).values():
            for r in items:
                for e in r.get("evidence") or []:
                    if not e.startswith("http"):
                        (d / e).write_text("evidence\n")
    (d / "PRODUCT.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert version_from_path(str(d / "PRODUCT.yaml")) == version
    return check_product(d / "PRODUCT.yaml", reqs.load(version).path)


@pytest.mark.parametrize("version", ["1.33", "1.34", "1.35", "1.36"])
def test_complete_submission_passes(tmp_path, version):
    assert _check(tmp_path, _complete(version), version) == []


def test_the_blank_template_fails_on_placeholders_and_musts(tmp_path):
    doc = yaml.safe_load(reqs.load("1.35").path.read_text())
    errors = _check(tmp_path, doc)
    assert "Metadata field platformName has placeholder value: [Platform Name]" in errors
    assert "Requirement 'dra_support' is MUST level but status is ''. It must be 'Implemented'." in errors
    assert not any("driver_runtime_management" in e for e in errors)  # empty SHOULD: skipped


def test_1_36_template_lacks_k8s_conformance_url_which_validate_go_requires(tmp_path):
    doc = _complete("1.36")
    del doc["metadata"]["k8sConformanceUrl"]
    assert "Missing metadata field: k8sConformanceUrl (or k8s_conformance_url)" in _check(tmp_path, doc, "1.36")


def test_snake_case_metadata_is_accepted_and_repo_url_is_optional(tmp_path):
    doc = _complete()
    md = doc["metadata"]
    md["website_url"] = md.pop("websiteUrl")
    md["k8s_conformance_url"] = md.pop("k8sConformanceUrl")
    md["contact_email_address"] = md.pop("contactEmailAddress")
    del md["repoUrl"]
    assert _check(tmp_path, doc) == []


@pytest.mark.parametrize("field,value,message", [
    ("vendorName", "", "Metadata field vendorName is empty"),
    ("vendorName", 7, "Metadata field vendorName is not a string"),
    ("description", "[Description]", "Metadata field description has placeholder value: [Description]"),
    ("k8sConformanceUrl", "https://example.com/v1.35/x",
     ("Invalid k8sConformanceUrl format: https://example.com/v1.35/x. Expected format: "
      "https://github.com/cncf/k8s-conformance/tree/master/v{version}/{product}")),
])
def test_metadata_rules(tmp_path, field, value, message):
    doc = _complete()
    doc["metadata"][field] = value
    assert message in _check(tmp_path, doc)


def test_empty_optional_repo_url_is_fine(tmp_path):
    doc = _complete()
    doc["metadata"]["repoUrl"] = ""
    assert _check(tmp_path, doc) == []


def test_missing_sections_categories_and_requirements(tmp_path):
    doc = _complete()
    del doc["spec"]["operator"]
    doc["spec"]["security"] = []
    errors = _check(tmp_path, doc)
    assert "Missing spec category: operator" in errors
    assert "Missing requirement 'secure_accelerator_access' in category 'security'" in errors
    assert _check(tmp_path, {"spec": {}}) [0] == "Missing 'metadata' section"


@pytest.mark.parametrize("status", ["Not Implemented", "Partially Implemented", ""])
def test_a_must_must_be_implemented(tmp_path, status):
    doc = _complete()
    doc["spec"]["security"][0]["status"] = status
    errors = _check(tmp_path, doc)
    assert (f"Requirement 'secure_accelerator_access' is MUST level but status is '{status}'. "
            "It must be 'Implemented'.") in errors


def test_invalid_status_and_na_without_notes(tmp_path):
    doc = _complete()
    doc["spec"]["accelerators"][1].update(status="Done", evidence=["evidence/x.md"])
    doc["spec"]["accelerators"][2].update(status="N/A", notes="")
    errors = _check(tmp_path, doc)
    assert any(e.startswith("Invalid status 'Done' for 'driver_runtime_management'") for e in errors)
    assert "Notes required for 'gpu_sharing' when status is N/A" in errors


def test_local_evidence_must_exist_next_to_product(tmp_path):
    errors = _check(tmp_path, _complete(), files=False)
    assert any(e.startswith("Invalid evidence file for 'dra_support': evidence/dra_support.md (not found at")
               for e in errors)


def test_instructions_id_description_level_unchanged(tmp_path):
    doc = _complete()
    doc["spec"]["networking"][0]["description"] = "Gateway API."
    doc["spec"]["accelerators"][1]["level"] = "MAY"
    errors = _check(tmp_path, doc)
    assert "Requirement 'ai_inference': field 'description' differs from the requirement file" in errors
    assert "Requirement 'driver_runtime_management': field 'level' differs from the requirement file" in errors


def test_instructions_must_evidence_filled(tmp_path):
    doc = _complete()
    doc["spec"]["networking"][0]["evidence"] = []
    assert "Requirement 'ai_inference' is MUST level but has no evidence" in _check(tmp_path, doc)


def test_to_snake_case_matches_go():
    assert to_snake_case("k8sConformanceUrl") == "k8s_conformance_url"
    assert to_snake_case("contactEmailAddress") == "contact_email_address"
    assert to_snake_case("productLogoUrl") == "product_logo_url"


def test_version_from_path():
    assert version_from_path("v1.36/gke/PRODUCT.yaml") == "1.36"
    assert version_from_path("/x/v1.33/a/PRODUCT.yaml") == "1.33"
    assert version_from_path("out/PRODUCT.yaml") is None


def test_check_does_not_mutate_inputs(tmp_path):
    doc = _complete()
    before = copy.deepcopy(doc)
    _check(tmp_path, doc)
    assert doc == before
