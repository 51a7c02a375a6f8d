"""The real-chart tier: ``eidos verify --all`` over the vendored upstream charts.

The knowledge had error-level findings (issue 11); most are fixed. This test pins exactly the ones left, each
by check, component, key and file:line, so the report stays honest: when the knowledge is
fixed, the expected set shrinks here, and the pending "exits 0" test starts passing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("helm_python", reason="eidos verify needs helm-python-sdk (the verify extra)")
pytest.importorskip("kubernetes_validate")

from eidos.cli.main import main  # noqa: E402

CHARTS = Path(__file__).resolve().parent.parent / "fixtures" / "charts"

# After the knowledge fixes of issue 11 no error remains. The last one was eidos' own Skyhook
# manifest (customization-ubuntu.yaml, unchanged since January): its "tuning" package had no
# image, which the Skyhook CRD requires; it now names NVIDIA's package at tuning/1.1.4.
EXPECTED_ERRORS: set = set()

JANUARY = Path(__file__).resolve().parent.parent / "fixtures" / "verify" / "january"
JANUARY_ERRORS = {
    ("install-order", "cert-manager", "prometheus.servicemonitor.enabled", "cert-manager/values.yaml:30"),
    ("dangling-reference", "gpu-operator", "driver.kernelModuleConfig.name", "gpu-operator/values.yaml:59"),
    ("dead-value", "gpu-operator", "driver.maxParallelUpgrades", "gpu-operator/values.yaml:60"),
    ("dead-value", "gpu-operator", "driver.useOpenKernelModules", "gpu-operator/values.yaml:57"),
    ("dead-value", "network-operator", "deployCR", "network-operator/values.yaml:18"),
    ("dead-value", "network-operator", "nicClusterPolicy.enabled", "network-operator/values.yaml:33"),
    ("dead-value", "network-operator", "nvIpam.enabled", "network-operator/values.yaml:27"),
    ("dead-value", "network-operator", "secondaryNetwork.deploy", "network-operator/values.yaml:30"),
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify") / "report.json"
    code = main(["verify", "--all", "--charts", str(CHARTS), "-o", "json", "--out", str(out)])
    return code, json.loads(out.read_text())


def test_all_recipes_verified_or_failed_with_known_findings(report):
    code, doc = report
    errors = {(r["recipe"], f["check"], f["component"], f["key"], f["source"])
              for r in doc["recipes"] for f in r["findings"] if f["severity"] == "error"}
    assert errors == EXPECTED_ERRORS
    assert code == 0


def test_every_shipped_recipe_is_listed_and_skips_are_named(report):
    _, doc = report
    labels = [r["recipe"] for r in doc["recipes"]]
    assert labels == sorted(labels)
    # a label is the recipe's most specific overlay, with the facts in brackets when several
    # distinct recipes share it (h100-inference on eks, gke, aks, oke since the recipe matrix)
    assert {"eks", "eks-training", "gb200-eks-training", "gb200-eks-ubuntu-training", "h100-inference",
            "monitoring-hpa"} <= {label.split(" [")[0] for label in labels}
    for r in doc["recipes"]:
        status = {c["name"]: c for c in r["components"]}
        assert status["nvsentinel"]["status"] == "skipped" and "nvsentinel" in status["nvsentinel"]["reason"]
        # the Dynamo and kgateway charts are not vendored either (fixtures/charts/PROVENANCE.md)
        unvendored = {"nvsentinel"} | ({"dynamo-crds", "dynamo", "kgateway-crds", "kgateway"} & set(status))
        assert {n for n, c in status.items() if c["status"] == "skipped"} == unvendored
        assert status["gpu-operator"]["status"] == "verified" and status["prometheus"]["status"] == "verified"
        for name in ("kubeflow-trainer", "kai-scheduler"):  # vendored with the platforms (issue 13)
            assert status.get(name, {"status": "verified"})["status"] == "verified", (r["recipe"], name)
    labels = {label.split(" [")[0] for label in labels}
    assert {"kubeflow-training", "dynamo-inference"} <= labels


def test_gb200_uses_the_pinned_gpu_operator_chart(report):
    _, doc = report
    # with and without --platform kubeflow (rules/platforms.eidos), so labelled with their facts
    gb200s = [r for r in doc["recipes"] if r["recipe"].split(" [")[0] == "gb200-eks-ubuntu-training"]
    assert len(gb200s) == 2
    for gb200 in gb200s:
        gpu = next(c for c in gb200["components"] if c["name"] == "gpu-operator")
        assert gpu["version"] == "v25.3.3"
        # the GB200 overlay ships kernel-module-params: no dangling reference there
        assert not [f for f in gb200["findings"]
                    if f["check"] == "dangling-reference" and f["component"] == "gpu-operator"]


def test_verify_all_exits_zero(report):
    assert report[0] == 0


def test_deterministic_and_all_formats(tmp_path, capsys):
    # the January layer gives error findings, so every format shows failures as well as the skip
    args = ["verify", "--rules", str(JANUARY), "--charts", str(CHARTS), "--service", "eks",
            "--accelerator", "h100", "--intent", "inference", "--os", "ubuntu"]
    outputs = {}
    for fmt in ("table", "json", "sarif", "junit", "json"):
        assert main(args + ["-o", fmt]) == 1
        out = capsys.readouterr().out
        assert outputs.setdefault(fmt, out) == out  # the same bytes on a second run
    assert "skipped  nvsentinel" in outputs["table"]
    sarif = json.loads(outputs["sarif"])
    results = sarif["runs"][0]["results"]
    skips = [r for r in results if "nvsentinel" in r["message"]["text"] and "locations" in r]
    assert skips  # the nvsentinel skip points at the catalog line pinning its version
    root = CHARTS.parent.parent.parent
    for r in skips:
        loc = r["locations"][0]["physicalLocation"]
        lines = (root / loc["artifactLocation"]["uri"]).read_text().splitlines()
        assert 'version "v0.6.0"' in lines[loc["region"]["startLine"] - 1]
    # a dead January key points at its values line
    dead = [r for r in results if "driver.useOpenKernelModules" in r["message"]["text"]]
    assert dead and dead[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 57
    assert "<skipped message=" in outputs["junit"] and "<failure" in outputs["junit"]


def test_bad_input_exits_2(tmp_path, capsys):
    assert main(["verify", "--charts", str(tmp_path / "none"), "--all"]) == 2
    assert main(["verify", "--charts", str(CHARTS)]) == 2
    assert main(["verify", "--charts", str(CHARTS), "--all", "--service", "eks"]) == 2
    assert "exactly one of" in capsys.readouterr().err


def test_missing_extra_is_a_clear_usage_error(monkeypatch, capsys):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "helm_python":
            raise ImportError("No module named 'helm_python'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    assert main(["verify", "--charts", str(CHARTS), "--all"]) == 2
    err = capsys.readouterr().err
    assert "helm-python-sdk" in err and "eidos[verify]" in err and "Traceback" not in err


def test_january_values_layer_reports_the_known_defects(tmp_path):
    out = tmp_path / "january.json"
    code = main(["verify", "--rules", str(JANUARY), "--charts", str(CHARTS), "--service", "eks",
                 "--accelerator", "h100", "--intent", "inference", "--os", "ubuntu", "-o", "json", "--out", str(out)])
    assert code == 1
    [recipe] = json.loads(out.read_text())["recipes"]
    errors = set()
    for f in recipe["findings"]:
        if f["severity"] == "error":
            assert not f["source"] or f["source"].startswith(str(JANUARY / "recipes" / "components"))
            errors.add((f["check"], f["component"], f["key"], f["source"].rpartition("/components/")[2]))
    assert errors == JANUARY_ERRORS


@pytest.mark.parametrize("facts, driver", [
    ({"service": "eks", "accelerator": "gb200", "intent": "training", "os": "ubuntu"}, "580.82.07"),
    ({"service": "eks", "accelerator": "h100", "intent": "inference", "os": "ubuntu"}, "580.105.08"),
])
def test_clusterpolicy_carries_the_recipe_driver_and_no_dead_values(facts, driver):
    from eidos import engine
    from eidos.verify.chartinfo import load_chart_info
    from eidos.verify.charts import chart_dir
    from eidos.verify.deadvalues import dead_values
    from eidos.verify.run import Verifier

    graph = engine.load_graph()
    recipe = engine.resolve(graph, facts, explain=True)
    gpu = next(c for c in recipe.components if c.name == "gpu-operator")
    objects, findings = Verifier(graph, CHARTS).render_component(gpu)
    assert findings == []
    [policy] = [o for o in objects if o.kind == "ClusterPolicy"]
    assert policy.body["spec"]["driver"]["version"] == driver
    assert policy.body["spec"]["driver"]["kernelModuleType"] == "open"
    assert policy.body["spec"]["driver"]["upgradePolicy"]["maxParallelUpgrades"] == 5
    path, _ = chart_dir(CHARTS, gpu.chart, gpu.version)
    assert dead_values(gpu, load_chart_info(path)) == []


def test_recipe_file_keeps_explain_provenance(tmp_path, capsys):
    recipe = tmp_path / "january.json"
    assert main(["recipe", "--rules", str(JANUARY), "--service", "eks", "--accelerator", "h100",
                 "--intent", "inference", "--os", "ubuntu", "--explain", "-o", "json", "--out", str(recipe)]) == 0
    out = tmp_path / "report.json"
    assert main(["verify", "--charts", str(CHARTS), "--recipe", str(recipe), "--rules", str(JANUARY),
                 "-o", "json", "--out", str(out)]) == 1
    [doc] = json.loads(out.read_text())["recipes"]
    dead = {(f["key"], f["source"].rpartition("/components/")[2]) for f in doc["findings"] if f["check"] == "dead-value"}
    assert ("driver.maxParallelUpgrades", "gpu-operator/values.yaml:60") in dead
    # fact flags and --recipe together are refused
    assert main(["verify", "--charts", str(CHARTS), "--recipe", str(recipe), "--service", "eks"]) == 2
