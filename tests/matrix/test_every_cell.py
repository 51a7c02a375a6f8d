"""Every recipe the rule base produces, end to end (issue 13, "every cell, in CI").

For each distinct recipe of the fact matrix (eidos.verify.cells: every combination of the
enum facts that applies an overlay beyond base, identical recipes verified once):

- it resolves;
- a snapshot made to satisfy its requirements passes every one of them, and for each
  requirement a snapshot violating it alone fails it, with the requirement's remedy shown;
- it bundles with all four deployers: every YAML file parses, every Argo CD / Flux object
  validates against the upstream CRD (tests/bundle/crdkit.py), every built-in object
  against Kubernetes' schema, every shell script passes ``bash -n``.

``eidos verify --all`` with the real charts (tests/verify) covers the same recipes for
values and install order.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from eidos import engine
from eidos.validate.fleet import Validator
from eidos.verify.cells import recipe_cells
from tests.matrix.synth import key, satisfy, snapshot_of

GRAPH = engine.load_graph([])
CELLS = recipe_cells(GRAPH)


def _facts(cell: str) -> dict:
    return dict(part.split("=", 1) for part in cell.split(", "))


def _requirement_verdicts(recipe, facts, snapshot):
    node = Validator(GRAPH, flag_facts=facts).node(snapshot, "synthetic")
    return {(v.name, v.origin): v for v in node.verdicts if v.kind == "requirement"}


def test_the_matrix_has_cells():
    assert len(CELLS) >= 8  # the shipped EKS, GKE and H100 overlays, at least


@pytest.mark.parametrize("label, recipe, cells", CELLS, ids=[c[0] for c in CELLS])
def test_requirements_hold_together_and_fail_alone(label, recipe, cells):
    facts = _facts(cells[0])
    reqs = [r for r in recipe.requirements if r.name]
    if not reqs:
        pytest.skip(f"{label}: no named requirements")
    keys = [key(r) for r in reqs]
    assert len(set(keys)) == len(keys), keys
    ok = satisfy(reqs, {k: True for k in keys})
    assert ok is not None, f"{label}: no snapshot satisfies all requirements at once"
    verdicts = _requirement_verdicts(recipe, facts, snapshot_of(ok))
    assert {k: verdicts[k].status for k in keys} == {k: "pass" for k in keys}, label
    for req in reqs:
        goal = {k: k != key(req) for k in keys}
        bad = satisfy(reqs, goal, start=ok)
        if bad is None:  # it shares every path with another requirement: fail it first
            bad = satisfy([req] + [r for r in reqs if r is not req], goal)
        if bad is None:
            # a weaker sibling (K8s >= 1.28 beside >= 1.31): it cannot fail while the
            # stronger holds; failing it fails the stronger too, which is what a user sees
            stronger = {k: k != key(req) and not _implies_failure(req, r) for k, r in zip(keys, reqs)}
            bad = satisfy(reqs, stronger, start=ok)
        assert bad is not None, f"{label}: {key(req)} cannot fail"
        verdict = _requirement_verdicts(recipe, facts, snapshot_of(bad))[key(req)]
        # a failed requirement of severity warning or info reports as warn
        expected = "fail" if req.severity == "error" else "warn"
        assert verdict.status == expected, (label, key(req), verdict.status, verdict.reason)
        assert verdict.remedy and verdict.remedy == req.remedy, (label, key(req))


def _implies_failure(weak, other) -> bool:
    """Does ``weak`` failing force ``other`` to fail (same path, ``other`` is stricter)?"""
    from eidos.lang.expr.ir import atoms

    return {a.operand for a in atoms(weak.ir)} == {a.operand for a in atoms(other.ir)} and other is not weak


DEPLOYERS = ("helm", "argocd", "flux", "script")


@pytest.mark.parametrize("label, recipe, cells", CELLS, ids=[c[0] for c in CELLS])
def test_bundles_with_every_deployer(label, recipe, cells):
    import kubernetes_validate

    from eidos.bundle import BundleOptions, make_bundle
    from eidos.io import yamlio
    from tests.bundle import crdkit
    from tests.bundle.bundlekit import is_helm_template, objects

    document = engine.recipe_document(recipe)
    bash = shutil.which("bash")
    for deployer in DEPLOYERS:
        options = BundleOptions(deployer=deployer)
        if deployer in ("argocd", "flux"):
            options = BundleOptions(deployer=deployer, repo="https://github.com/acme/gitops.git",
                                    revision="main", repo_path=f"clusters/{recipe.overlays[-1]}")
        files = make_bundle(document, GRAPH.read_payload, options).files
        for path, file in files.items():
            if path.endswith(".yaml") and not is_helm_template(path):
                yamlio.load_all(file.content.decode(), path)
            if path.endswith(".sh") and bash:
                check = subprocess.run([bash, "-n"], input=file.content, capture_output=True)
                assert check.returncode == 0, (label, deployer, path, check.stderr)
        for path, obj in objects(files):
            group = obj["apiVersion"].split("/")[0]
            if group in crdkit.groups():
                crdkit.check(obj, f"{label}/{deployer}/{path}")
            elif path.endswith("Chart.yaml") or obj["apiVersion"] in ("eidos.dev/v1alpha1",
                                                                       "kustomize.config.k8s.io/v1beta1"):
                continue
            elif "." not in group or group.endswith(".k8s.io") or group in ("apps", "batch", "policy"):
                kubernetes_validate.validate(obj, "1.32", strict=True)
