"""Field-by-field mapping cases of docs/import.md that the AICR v0.11 data does not exercise:
each is either expressed (and resolves as written) or reported — never dropped silently."""

from __future__ import annotations

import json

import pytest

from eidos import engine
from eidos.cli.main import main
from eidos.importers.aicr_constraints import expression, requirement_name
from tests.importers.test_aicr_import import BASE, REGISTRY, _tree

REG = REGISTRY + """\
  - name: kapp
    displayName: kapp
    kustomize: {defaultSource: "https://git.example.com/kapp.git", defaultTag: v1.2.0, defaultPath: deploy/base}
    nodeScheduling:
      system: {nodeSelectorPaths: [a.nodeSelector], taintPaths: [a.taints]}
"""

GKE = """\
kind: RecipeMetadata
metadata: {name: gke}
spec:
  criteria: {service: gke, os: AL2023, nodes: 8}
  constraints:
    - name: K8s.server.version
      value: ">= 1.30"
      severity: Warning
      remediation: "Upgrade: gcloud container clusters upgrade \\"c\\""
      unit: version
    - {name: GPU.smi.count, value: "!= 0", severity: fatal}
  componentRefs:
    - name: kapp
    - name: extra
      type: Helm
      source: "https://charts.example.com"
      version: "0.1.0"
      expectedResources: [{kind: Deployment, name: extra}]
    - name: op
      source: "https://elsewhere.example.com"
      overrides: {enabled: false}
"""

ANYWHERE = """\
kind: RecipeMetadata
metadata: {name: self-any}
spec:
  criteria: {service: self-managed, intent: training}
  componentRefs:
    - name: dep
      overrides: {fromTraining: true}
"""

GKE_TRAINING = """\
kind: RecipeMetadata
metadata: {name: gke-only-training}
spec:
  base: gke
  criteria: {intent: training}
  componentRefs:
    - name: dep
      overrides: {fromGke: true}
"""


@pytest.fixture
def imported(tmp_path):
    data = _tree(tmp_path / "aicr", {
        "registry.yaml": REG, "overlays/base.yaml": BASE, "overlays/gke.yaml": GKE,
        "overlays/self-any.yaml": ANYWHERE, "overlays/gke-only-training.yaml": GKE_TRAINING,
        "components/dep/values.yaml": "a: 1\n", "components/op/values.yaml": "keep: 1\n",
    })
    out = tmp_path / "out"
    assert main(["import", "aicr", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "import-report.json").read_text())
    return out, {(f["kind"], f["field"]): f for f in report["findings"]}


def test_criteria_aliases_and_nodes(imported):
    out, _ = imported
    text = (out / "rules/overlays/gke.eidos").read_text()
    assert "when service == gke and os == amazonlinux and nodes == 8" in text
    assert "when intent == training\n" in (out / "rules/overlays/self-any.eidos").read_text()  # self-managed = any


def test_constraint_fields(imported):
    out, findings = imported
    text = (out / "rules/overlays/gke.eidos").read_text()
    assert "replace k8s-server-version: K8s.server.version >= 1.30\n    severity warning" in text
    assert 'remedy "Upgrade: gcloud container clusters upgrade \\"c\\""' in text
    assert ("note", "constraints.K8s.server.version.unit") in findings
    assert ("unsupported", "constraints.GPU.smi.count.severity") in findings
    graph = engine.load_graph([str(out)], use_cache=False)
    recipe = engine.resolve(graph, {"service": "gke", "os": "amazonlinux", "nodes": 8})
    req = next(r for r in recipe.requirements if r.name == "k8s-server-version")
    assert req.severity == "warning" and req.remedy == 'Upgrade: gcloud container clusters upgrade "c"'


def test_components_without_equivalents_are_reported(imported):
    out, findings = imported
    assert ("unsupported", "kapp.nodeScheduling.system.taintPaths") in findings
    assert ("note", "componentRefs.extra") in findings  # not in the registry
    assert ("unsupported", "extra.expectedResources") in findings
    assert ("difference", "op.source") in findings
    assert ("difference", "op.overrides.enabled") in findings
    catalog = (out / "rules/components.eidos").read_text()
    assert 'kustomize source "https://git.example.com/kapp.git" tag "v1.2.0"' in catalog
    assert 'scheduling system {\n    node-selector "a.nodeSelector"' in catalog


def test_cross_branch_and_non_superset_criteria_are_reported(imported):
    _, findings = imported
    # gke-only-training does not repeat gke's criteria: eidos ands them in
    assert ("difference", "spec.criteria.service") in findings
    # self-any and gke-only-training can both apply to a gke training query and both edit dep
    assert ("difference", "spec.componentRefs") in findings


@pytest.mark.parametrize("name, value, expr", [
    ("K8s.server.version", ">= 1.32.4", "K8s.server.version >= 1.32.4"),
    ("K8s.server.version", "  <  v2.0 ", "K8s.server.version < v2.0"),
    ("OS.release.VERSION_ID", '"24.04"', 'OS.release.VERSION_ID == "\\"24.04\\""'),
    ("OS.release.VERSION_ID", "== 24.04", "OS.release.VERSION_ID == 24.04"),
    ("OS.release.ID", "!= rhel", 'OS.release.ID != "rhel"'),
    ("OS.sysctl./proc/sys/kernel/osrelease", ">= 6.8", 'OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8'),
    ("GPU.smi.driver", ">= 570", "GPU.smi.driver >= 570"),
])
def test_constraint_expressions(name, value, expr):
    assert expression(name, value) == (expr, "")


@pytest.mark.parametrize("name, value", [
    ("Deployment.gpu-operator.version", ">= v24.6.0"),
    ("nccl-all-reduce-bw", ">= 300"),
    ("K8s.server.version", ">= latest"),
    ("NodeTopology.x.y", ">= 1.0"),
])
def test_constraints_eidos_cannot_read_are_refused_with_a_reason(name, value):
    expr, why = expression(name, value)
    assert expr is None and why


def test_requirement_names():
    assert requirement_name("K8s.server.version") == "k8s-server-version"
    assert requirement_name("OS.sysctl./proc/sys/kernel/osrelease") == "os-sysctl-proc-sys-kernel-osrelease"
    assert requirement_name("9lives") == "c-9lives"
