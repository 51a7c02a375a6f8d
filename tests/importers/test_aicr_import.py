"""`eidos import aicr` on small synthetic AICR trees: AICR's merge quirks are reproduced
exactly (judged by the independent oracle), bad input fails with file:line and exit 2,
and the output is written whole or not at all."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from eidos import engine
from eidos.cli.main import main
from tests.importers.aicr_oracle import Aicr

REGISTRY = """\
apiVersion: aicr.nvidia.com/v1alpha1
kind: ComponentRegistry
components:
  - name: op
    displayName: op
    valueOverrideKeys: [operator]
    helm: {defaultRepository: "https://charts.example.com", defaultChart: "ex/op", defaultNamespace: op-system}
  - name: dep
    displayName: dep
    helm: {defaultRepository: "https://charts.example.com", defaultChart: "ex/dep", defaultVersion: "1.0.0", defaultNamespace: dep}
  - name: dep2
    displayName: dep2
    helm: {defaultRepository: "https://charts.example.com", defaultChart: "ex/dep2", defaultVersion: "2.0.0"}
"""

BASE = """\
kind: RecipeMetadata
apiVersion: aicr.nvidia.com/v1alpha1
metadata: {name: base}
spec:
  constraints:
    - {name: K8s.server.version, value: ">= 1.25"}
  componentRefs:
    - name: dep
      type: Helm
      valuesFile: components/dep/values.yaml
    - name: dep2
      type: Helm
    - name: op
      type: Helm
      version: v1.0.0
      valuesFile: components/op/values.yaml
      dependencyRefs: [dep, dep2]
      overrides:
        driver: {version: "A", x: 1}
"""

PARENT = """\
kind: RecipeMetadata
metadata: {name: eks}
spec:
  criteria: {service: EKS}
  constraints:
    - {name: K8s.server.version, value: ">= 1.34"}
  componentRefs:
    - name: op
      valuesFile: components/op/values-eks.yaml
"""

CHILD = """\
kind: RecipeMetadata
metadata: {name: eks-training}
spec:
  base: eks
  criteria: {service: eks, intent: training, accelerator: any}
  constraints:
    - {name: K8s.server.version, value: ">= 1.30"}
    - {name: OS.release.ID, value: ubuntu}
    - {name: Deployment.gpu-operator.version, value: ">= v24.6.0"}
  componentRefs:
    - name: op
      version: v2.0.0
      valuesFile: components/op/values-eks-training.yaml
      dependencyRefs: [dep]
      overrides:
        driver: {kernelModuleConfig: {name: "k\\"q"}}
        "key.with.dots": 1.5
  validation:
    performance:
      checks: [nccl-all-reduce-bw]
"""


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _data(tmp_path: Path, **extra) -> Path:
    files = {
        "registry.yaml": REGISTRY,
        "overlays/base.yaml": BASE,
        "overlays/eks.yaml": PARENT,
        "overlays/eks-training.yaml": CHILD,
        "components/dep/values.yaml": "a: 1\n",
        "components/op/values.yaml": "driver: {version: base, rdma: {enabled: false}}\nkeep: 1\n",
        "components/op/values-eks.yaml": "eksOnly: {x: 1}\ntoolkit: {enabled: false}\n",
        "components/op/values-eks-training.yaml": "toolkit: {enabled: false}\ntraining: true\n",
    }
    files.update(extra)
    return _tree(tmp_path / "aicr", files)


def test_aicr_quirks_are_reproduced_exactly(tmp_path, capsys):
    data = _data(tmp_path)
    out = tmp_path / "out"
    assert main(["import", "aicr", str(data), "--out", str(out)]) == 0
    graph = engine.load_graph([str(out)], use_cache=False)
    oracle = Aicr(data)
    for query in ({"service": "eks", "intent": "training"}, {"service": "eks"}, {"service": "gke"}):
        got = engine.recipe_document(engine.resolve(graph, query))
        want = oracle.resolve(query)
        assert got["overlays"] == want["applied"]
        for c in got["components"]:
            assert c["values"] == want["components"][c["name"]]["values"], (query, c["name"])
            assert c.get("version", "") == want["components"][c["name"]]["version"]
            assert sorted(c["needs"]) == sorted(want["components"][c["name"]]["deps"])
        assert got["deploymentOrder"] == want["order"]
    got = engine.recipe_document(engine.resolve(graph, {"service": "eks", "intent": "training"}))
    op = next(c for c in got["components"] if c["name"] == "op")
    # shallow overrides: the child's `driver` replaced the parent's whole, so version and x fall
    # back to values.yaml (x disappears); only the last valuesFile survives (no eksOnly)
    assert op["values"]["driver"] == {"version": "base", "rdma": {"enabled": False}, "kernelModuleConfig": {"name": 'k"q'}}
    assert "eksOnly" not in op["values"] and op["values"]["key.with.dots"] == 1.5
    assert op["needs"] == ["dep"]  # AICR replaces dependencyRefs: dep2 is dropped
    reqs = {r["name"]: r["expr"] for r in got["requirements"]}
    assert reqs == {"k8s-server-version": "K8s.server.version >= 1.30", "os-release-id": 'OS.release.ID == "ubuntu"'}
    err = capsys.readouterr().err
    assert "eks-training.yaml:9: unsupported: constraints.Deployment.gpu-operator.version" in err
    assert "spec.validation.performance" in err
    report = json.loads((out / "import-report.json").read_text())
    assert report["counts"]["unsupported"] >= 2
    assert any("eksOnly" in f["message"] for f in report["findings"] if f["kind"] == "note")


def test_json_summary_is_the_report(tmp_path, capsys):
    data = _data(tmp_path)
    assert main(["import", "aicr", str(data), "--out", str(tmp_path / "o"), "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "ImportReport" and doc["overlays"] == ["base", "eks", "eks-training"]


def test_the_output_is_deterministic(tmp_path):
    data = _data(tmp_path)
    for name in ("a", "b"):
        assert main(["import", "aicr", str(data), "--out", str(tmp_path / name)]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    for rel in files:
        if rel.name != "import-report.json":
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_the_embedded_rules_are_shadowed(tmp_path):
    """`--rules OUT` stands alone: every embedded rules/ file is replaced by an empty one."""
    from eidos.io.resources import embedded_root

    data = _data(tmp_path)
    out = tmp_path / "out"
    assert main(["import", "aicr", str(data), "--out", str(out)]) == 0
    for path in (embedded_root() / "rules").rglob("*.eidos"):
        assert (out / path.relative_to(embedded_root())).is_file()
    graph = engine.load_graph([str(out)], use_cache=False)
    assert sorted(graph.overlays) == ["base", "eks", "eks-training"]


@pytest.mark.parametrize("files, message", [
    ({"overlays/eks.yaml": PARENT.replace("service: EKS", "service: ekz")}, "eks.yaml:4: unknown service 'ekz'"),
    ({"overlays/eks.yaml": PARENT.replace("criteria: {service: EKS}", "criteria: {servce: eks}")},
     "eks.yaml:4: unknown criteria field 'servce'"),
    ({"overlays/eks.yaml": PARENT.replace("spec:\n", "spec:\n  base: eks-training\n")},
     "circular spec.base inheritance: eks"),
    ({"overlays/eks.yaml": PARENT.replace("spec:\n", "spec:\n  base: nothing\n")}, "spec.base 'nothing' names no overlay"),
    ({"overlays/eks.yaml": "kind: RecipeMetadata\nmetadata: {name: eks\n"}, "eks.yaml:3:1: invalid YAML"),
    ({"overlays/eks.yaml": PARENT.replace("values-eks.yaml", "missing.yaml")}, "valuesFile 'components/op/missing.yaml' not found"),
    ({"overlays/eks.yaml": PARENT.replace("values-eks.yaml", "../../../etc/passwd")}, "must be a relative path inside"),
    ({"overlays/eks.yaml": PARENT.replace("name: eks}", "name: 'eks training'}")}, "eks.yaml:2: overlay name 'eks training'"),
    ({"overlays/eks.yaml": PARENT.replace("- name: op", "- name: op$x")}, "component name 'op$x' is not an eidos name"),
    ({"overlays/eks.yaml": "- a list\n"}, "eks.yaml:1: expected a RecipeMetadata mapping"),
    ({"overlays/eks.yaml": PARENT.replace("kind: RecipeMetadata", "kind: RecipeMetadata\napiVersion: aicr.nvidia.com/v2")},
     "apiVersion 'aicr.nvidia.com/v2' is not aicr.nvidia.com/v1alpha1"),
])
def test_bad_input_fails_with_location_and_exit_2(tmp_path, capsys, files, message):
    data = _data(tmp_path, **files)
    out = tmp_path / "out"
    assert main(["import", "aicr", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_registry(tmp_path, capsys):
    data = _data(tmp_path)
    (data / "registry.yaml").unlink()
    assert main(["import", "aicr", str(data), "--out", str(tmp_path / "o")]) == 2
    assert "no registry.yaml" in capsys.readouterr().err


def test_a_non_empty_target_is_refused_unless_it_is_an_earlier_import(tmp_path, capsys):
    data = _data(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert main(["import", "aicr", str(data), "--out", str(other)]) == 2
    assert main(["import", "aicr", str(data), "--out", str(other), "--force"]) == 2
    assert (other / "keep.txt").read_text() == "mine"
    out = tmp_path / "out"
    assert main(["import", "aicr", str(data), "--out", str(out)]) == 0
    assert main(["import", "aicr", str(data), "--out", str(out)]) == 2
    assert main(["import", "aicr", str(data), "--out", str(out), "--force"]) == 0
    assert "not empty" in capsys.readouterr().err


def test_dash_o_directory_is_taken_as_the_destination(tmp_path, capsys):
    data = _data(tmp_path)
    assert main(["import", "aicr", str(data), "-o", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "import-report.json").is_file()
    assert "use --out" in capsys.readouterr().err


def test_no_destination_is_a_usage_error(tmp_path, capsys):
    assert main(["import", "aicr", str(_data(tmp_path))]) == 2
    assert "needs --out" in capsys.readouterr().err
