"""Argo CD and Flux objects of every GitOps bundle against the real upstream CRDs.

The CRDs (tests/fixtures/crds, origin and sha256 in its PROVENANCE.md) are the release
files the controllers install; crdkit turns their structural ``openAPIV3Schema`` into a
strict JSON Schema and evaluates their CEL rules. The second half proves the validator
can fail: each mutation is a plausible generator bug and must be rejected.
"""

from __future__ import annotations

import copy
import hashlib
import re

import crdkit
import pytest
from bundlekit import gb200_document, render, small_document

from eidos.bundle.argosettings import ArgoCDSettings
from eidos.io import yamlio

EXPECTED = {
    ("argoproj.io/v1alpha1", "Application"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
    ("source.toolkit.fluxcd.io/v1", "OCIRepository"),
}


def flux_small() -> dict:
    """small_document without its cross-kind need (which flux refuses): every Flux kind."""
    document = small_document()
    document["components"][0]["needs"] = []
    return document


def gitops_objects(files) -> list[tuple[str, dict]]:
    """(path, object) for every object of a CRD group eidos targets, Helm templates excluded."""
    out = []
    for path, file in files.items():
        if not path.endswith(".yaml") or "/templates/" in path:
            continue
        for doc in yamlio.load_all(file.content.decode(), path):
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).split("/")[0] in (
                crdkit.groups()
            ):
                out.append((path, doc))
    return out


def test_crd_files_match_their_provenance():
    text = (crdkit.CRDS / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = dict(
        re.findall(r"^\| `([^`]+\.yaml)` \|.*\| `([0-9a-f]{64})` \|$", text, re.MULTILINE)
    )
    on_disk = {p.name: p for p in crdkit.CRDS.glob("*.yaml")}
    assert set(listed) == set(on_disk)
    for name, path in on_disk.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[name], name


def test_every_kind_eidos_writes_has_a_served_crd_version():
    assert set(crdkit.crds()) == EXPECTED
    assert not any(v.deprecated for v in crdkit.crds().values())


@pytest.mark.parametrize("small", (False, True), ids=("gb200", "small"))
@pytest.mark.parametrize(
    ("deployer", "options"),
    [
        ("argocd", {}),
        (
            "argocd",
            {
                "argocd": ArgoCDSettings(
                    namespace="gitops",
                    project="gpu-fleet",
                    destination_name="gb200-east",
                    name_prefix="east-",
                )
            },
        ),
        ("argocd", {"argocd": ArgoCDSettings(destination_server="https://10.0.0.1:6443")}),
        ("flux", {}),
        ("flux", {"revision": "refs/tags/v1.2.3", "repo_path": ""}),
    ],
    ids=["argocd", "argocd-flags", "argocd-server", "flux", "flux-tag"],
)
def test_every_gitops_object_satisfies_its_crd(deployer, options, small):
    if small:
        document = small_document() if deployer == "argocd" else flux_small()
    else:
        document = gb200_document()
    objects = gitops_objects(render(deployer, document, **options).files)
    seen = set()
    for path, obj in objects:
        crdkit.check(obj, path)
        seen.add((obj["apiVersion"], obj["kind"]))
    if deployer == "argocd":
        assert seen == {("argoproj.io/v1alpha1", "Application")}
    else:
        # Both recipes have plain and OCI charts; the small one a Kustomize component too.
        assert seen == EXPECTED - {("argoproj.io/v1alpha1", "Application")}


def _first(deployer: str, kind: str) -> dict:
    """The first object of ``kind``; for Application, the first chart Application."""
    document = gb200_document() if deployer == "argocd" else flux_small()
    for _, obj in gitops_objects(render(deployer, document).files):
        if obj["kind"] != kind:
            continue
        if kind == "Application" and "chart" not in obj["spec"].get("sources", [{}])[0]:
            continue
        return copy.deepcopy(obj)
    raise AssertionError(f"no {kind} in the {deployer} bundle")


def _set(path: str, value):
    def mutate(obj):
        *parents, last = path.split(".")
        node = obj
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value

    return mutate


def _delete(path: str):
    def mutate(obj):
        *parents, last = path.split(".")
        node = obj
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return mutate


MUTATIONS = [
    # (deployer, kind, mutation, why it must fail)
    ("argocd", "Application", _set("spec.project", 5), "wrong type"),
    ("argocd", "Application", _delete("spec.destination"), "required field"),
    ("argocd", "Application", _set("spec.syncPolicy.automated.selfheal", True), "unknown field"),
    ("argocd", "Application", _set("spec.syncPolicy.retry.limit", "5"), "int as string"),
    ("argocd", "Application", _set("spec.syncPolicy.retry.limit", 2**63), "int64 overflow"),
    ("argocd", "Application", _set("spec.sources.0.helm.valueFiles", "values.yaml"), "not a list"),
    ("argocd", "Application", _delete("spec.sources.1.repoURL"), "required in a list item"),
    ("argocd", "Application", _set("spec.destination.namespace", None), "null, not nullable"),
    ("argocd", "Application", _set("apiVersion", "argoproj.io/v1beta1"), "version not served"),
    ("argocd", "Application", _set("kind", "Applications"), "unknown kind"),
    ("argocd", "Application", _set("metadata.name", "Bad_Name"), "not a DNS-1123 name"),
    ("argocd", "Application", _set("metadata.labels.x", 1), "label value not a string"),
    ("argocd", "Application", _set("metadata.namespace", "argocd\n"), "namespace with a newline"),
    (
        "argocd",
        "Application",
        _set("metadata.generateName", "x-"),
        "metadata field eidos never writes",
    ),
    ("flux", "HelmRelease", _set("spec.interval", "10 minutes"), "pattern"),
    ("flux", "HelmRelease", _delete("spec.interval"), "required field"),
    ("flux", "HelmRelease", _set("spec.interval", "10m\n"), "pattern with a trailing newline"),
    ("flux", "HelmRelease", _set("spec.install.remediation.retries", "3"), "int as string"),
    (
        "flux",
        "HelmRelease",
        _set("spec.chartRef", {"kind": "OCIRepository", "name": "x"}),
        "CEL: chart and chartRef",
    ),
    ("flux", "HelmRelease", _set("spec.releasename", "x"), "unknown field"),
    (
        "flux",
        "HelmRelease",
        _set("apiVersion", "helm.toolkit.fluxcd.io/v2beta1"),
        "version not served",
    ),
    ("flux", "Kustomization", _delete("spec.prune"), "required field"),
    ("flux", "Kustomization", _set("spec.sourceRef.kind", "HelmRepository"), "enum"),
    ("flux", "GitRepository", _set("spec.ref.branch", ["main"]), "wrong type"),
    ("flux", "GitRepository", _set("spec.serviceAccountName", "x"), "CEL: provider"),
    ("flux", "HelmRepository", _set("spec.type", "git"), "enum"),
    ("flux", "OCIRepository", _delete("spec.url"), "required field"),
    ("flux", "OCIRepository", _set("spec.url", "https://ghcr.io/nvidia"), "pattern oci://"),
]


@pytest.mark.parametrize(
    ("deployer", "kind", "mutate", "why"), MUTATIONS, ids=[f"{m[1]}-{m[3]}" for m in MUTATIONS]
)
def test_validator_rejects_a_broken_object(deployer, kind, mutate, why):
    obj = _first(deployer, kind)
    assert crdkit.violations(obj) == []  # the unmutated object passes, so the mutation is why
    mutate(obj)
    found = crdkit.violations(obj)
    assert found, f"{kind} accepted with {why}"
    if why.startswith("CEL"):
        assert all("(rule: " in v for v in found), found  # the rule, not the schema, caught it


def test_preserve_unknown_fields_keeps_helm_values():
    release = _first("flux", "HelmRelease")
    release["spec"]["values"] = {"any": {"nested": [1, "two", None, {"x": True}]}}
    assert crdkit.violations(release) == []


# Conversion rules on handmade schemas: each rule is seen accepting and rejecting.


def _errors(schema: dict, value) -> list:
    import jsonschema

    return list(
        jsonschema.Draft4Validator(crdkit.json_schema(schema, root=False)).iter_errors(value)
    )


def test_int_or_string():
    schema = {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
    }
    for good in (1, "50%"):
        assert not _errors(schema, good)
    for bad in (1.5, True, [1], None):
        assert _errors(schema, bad), bad
    assert not _errors({"x-kubernetes-int-or-string": True}, 3)
    assert _errors({"x-kubernetes-int-or-string": True}, {})


def test_nullable():
    schema = {"type": "string", "nullable": True}
    assert not _errors(schema, None) and not _errors(schema, "x") and _errors(schema, 1)
    assert _errors({"type": "string"}, None)
    assert not _errors({"type": "string", "enum": ["a"], "nullable": True}, None)


def test_unknown_fields_and_preserve():
    strict = {"type": "object", "properties": {"a": {"type": "object"}}}
    assert not _errors(strict, {"a": {}})
    assert _errors(strict, {"b": 1})
    assert _errors(strict, {"a": {"anything": 1}})  # an object without properties keeps nothing
    loose = {
        "type": "object",
        "properties": {"a": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    assert not _errors(loose, {"a": {"anything": {"deep": [1]}}})
    assert _errors(loose, {"b": 1})
    embedded = {
        "type": "object",
        "x-kubernetes-embedded-resource": True,
        "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    assert not _errors(embedded, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert _errors(embedded, {"status": {}})


def test_list_types_and_cel():
    as_set = {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}
    assert not _errors(as_set, ["a", "b"]) and _errors(as_set, ["a", "a"])
    as_map = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    assert not list(crdkit._cel_and_lists(as_map, [{"name": "a"}, {"name": "b"}], "l"))
    assert list(crdkit._cel_and_lists(as_map, [{"name": "a"}, {"name": "a"}], "l"))
    rule = {
        "type": "object",
        "x-kubernetes-validations": [
            {"rule": "has(self.a) != has(self.b)", "message": "one of a, b"}
        ],
    }
    assert not list(crdkit._cel_and_lists(rule, {"a": 1}, ""))
    assert list(crdkit._cel_and_lists(rule, {"a": 1, "b": 2}, "")) == [
        "<root>: one of a, b (rule: has(self.a) != has(self.b))"
    ]
