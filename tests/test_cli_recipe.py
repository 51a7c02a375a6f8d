"""End-to-end: `eidos recipe` and `eidos lint` in a subprocess, as users run them."""

from __future__ import annotations

import json
import random
import re
import shutil

import pytest

from tests.conftest import ROOT, run_eidos, write_rules

GB200 = ["recipe", "--service", "eks", "--accelerator", "gb200", "--os", "ubuntu", "--intent", "training"]


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_gb200_acceptance():
    doc = json.loads(ok(run_eidos(*GB200, "-o", "json")))
    comps = {c["name"]: c for c in doc["components"]}
    assert comps["gpu-operator"]["version"] == "v25.3.3"
    assert comps["gpu-operator"]["values"]["driver"]["version"] == "580.82.07"
    assert "nvidia-dra-driver-gpu" in comps
    assert comps["skyhook-operator"]["values"]["customization"] == "ubuntu"
    assert "K8s.server.version >= 1.33" in [r["expr"] for r in doc["requirements"]]
    order = doc["deploymentOrder"]
    assert order.index("cert-manager") < order.index("gpu-operator") < order.index("nvidia-dra-driver-gpu")


def test_repeated_runs_are_byte_identical():
    first = ok(run_eidos(*GB200, "-o", "json"))
    second = ok(run_eidos(*GB200, "-o", "json", env={"EIDOS_NO_CACHE": "1"}))
    assert first == second
    assert ok(run_eidos(*GB200)) == ok(run_eidos(*GB200))


def _shuffled_copy(dest, seed):
    shutil.copytree(ROOT / "recipes", dest / "recipes")
    decls = []
    for f in sorted((ROOT / "rules").glob("*.eidos")):
        text = f.read_text()
        starts = [m.start() for m in re.finditer(r"^(fact|component|overlay|check|infer)\b", text, re.M)]
        decls += [text[a:b].rstrip() + "\n" for a, b in zip(starts, starts[1:] + [len(text)])]
    rng = random.Random(seed)
    rng.shuffle(decls)
    (dest / "rules").mkdir()
    for i in range(0, len(decls), 2):
        (dest / "rules" / f"z{rng.randrange(10**6):06d}-{i}.eidos").write_text("\n".join(decls[i:i + 2]))
    return dest


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_copy_of_the_rule_base_gives_identical_bytes(tmp_path, seed):
    copy = _shuffled_copy(tmp_path / "copy", seed)
    assert ok(run_eidos(*GB200, "-o", "json", "--rules", str(copy))) == ok(run_eidos(*GB200, "-o", "json"))


def test_h100_eks_inference_is_deterministic_and_explained():
    args = ["recipe", "--service", "eks", "--accelerator", "h100", "--os", "ubuntu", "--intent", "inference", "-o", "json"]
    runs = {ok(run_eidos(*args)) for _ in range(3)}
    assert len(runs) == 1
    doc = json.loads(runs.pop())
    assert doc["overlays"] == ["base", "eks", "monitoring-hpa", "h100-inference", "h100-eks-inference"]
    k8s = [r for r in doc["requirements"] if r["expr"].startswith("K8s.server.version")]
    assert [(r["overlay"], r["expr"]) for r in k8s] == [
        ("eks", "K8s.server.version >= 1.28"), ("h100-inference", "K8s.server.version >= 1.31")]
    explained = json.loads(ok(run_eidos(*args, "--explain")))
    verdicts = {v["name"]: v for v in explained["explain"]["overlays"]}
    assert verdicts["h100-inference"]["applied"] and verdicts["h100-inference"]["specificity"] == 3
    assert "intent == training is false" in verdicts["eks-training"]["reason"]
    assert all(r["source"].startswith("rules/") for r in explained["requirements"])
    gpu = next(c for c in explained["components"] if c["name"] == "gpu-operator")
    assert gpu["provenance"]["values"]["driver.version"] == "recipes/components/gpu-operator/values.yaml:68"


BROKEN = {
    "a.eidos": "overlay broken {\n  when service == eks\n  require K8s.server.version >=\n}\n",
    "b.eidos": "overlay orphan extends eks-trainin {\n  when accelerator == h100\n}\n",
    "c.eidos": "overlay ping extends pong {\n  when os == ubuntu\n}\n\noverlay pong extends ping {\n  when intent == training\n}\n",
}


def test_lint_reports_every_broken_file(tmp_path):
    d = write_rules(tmp_path / "bad", BROKEN)
    result = run_eidos("lint", str(d))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    out = result.stdout
    assert f"{d}/a.eidos:4:1: error[E101]" in out
    assert f"{d}/b.eidos:1:24: error[E203]: overlay 'orphan' extends unknown overlay 'eks-trainin'" in out
    assert "did you mean 'eks-training'?" in out
    assert f"{d}/c.eidos:1:22: error[E401]: inheritance cycle: ping -> pong -> ping" in out
    assert "3 error(s)" in out


def test_lint_json(tmp_path):
    d = write_rules(tmp_path / "bad", BROKEN)
    result = run_eidos("lint", str(d), "-o", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["summary"] == {"errors": 3, "warnings": 0}
    assert {(x["code"], x["line"], x["column"]) for x in data["diagnostics"]} == {
        ("E101", 4, 1), ("E203", 1, 24), ("E401", 1, 22)}


def test_recipe_with_broken_rules_exits_2_with_diagnostics(tmp_path):
    d = write_rules(tmp_path / "bad", BROKEN)
    result = run_eidos("recipe", "--rules", str(d), "--service", "eks")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error[E203]" in result.stderr and "error[E401]" in result.stderr and "error[E101]" in result.stderr
    assert result.stdout == ""


def test_lint_embedded_base_is_clean():
    result = run_eidos("lint", "-o", "json")
    assert result.returncode == 0, result.stdout
    findings = json.loads(result.stdout)["diagnostics"]
    # The one finding allowed: W505 for the fact the base declares for layered rule bases
    # (nodes: examples/rules reads it); platform is read by rules/platforms.eidos. Anything
    # else makes the base unclean.
    allowed = {"fact 'nodes' is declared"}
    others = [d for d in findings
              if not (d["code"] == "W505" and any(d["message"].startswith(a) for a in allowed))]
    assert others == [], others


@pytest.mark.parametrize(
    "args, message",
    [
        (["recipe", "--service", "ekss"], "did you mean 'eks'?"),
        (["recipe", "--nodes", "eight"], "nodes must be an integer"),
        (["recipe", "--nodes", "-3"], "must not be negative"),
        (["recipe", "--fact", "service"], "expected NAME=VALUE"),
        (["recipe", "--fact", "regoin=x"], "unknown fact 'regoin'"),
        (["recipe"], "no facts given"),
        (["recipe", "--rules", "/nonexistent/dir", "--service", "eks"], "no such directory"),
        (["recipe", "--service", "eks", "-o", "xml"], "invalid choice"),
        (["recipe", "--service", "eks", "-o", "r.yaml"], "use --out r.yaml"),
        (["recipe", "--servce", "eks"], "did you mean '--service'?"),
        (["recipy", "--service", "eks"], "did you mean 'recipe'?"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_invocations_exit_2_without_traceback(args, message):
    result = run_eidos(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_aliases_and_case_in_fact_flags():
    doc = json.loads(ok(run_eidos("recipe", "--service", "EKS", "--gpu", "H100", "--os", "al2023", "-o", "json")))
    # al2023 is Amazon Linux 2023, distinct from Amazon Linux 2 (al2) since the schema split them
    assert doc["criteria"] == {"accelerator": "h100", "os": "amazonlinux2023", "service": "eks"}


def test_out_writes_atomically(tmp_path):
    target = tmp_path / "sub" / "recipe.yaml"
    assert ok(run_eidos(*GB200, "--out", str(target))) == ""
    assert target.read_text().startswith("apiVersion: eidos.dev/v1alpha1\n")
    assert [p.name for p in target.parent.iterdir()] == ["recipe.yaml"]


def test_user_rules_extend_the_embedded_base(tmp_path):
    d = write_rules(tmp_path / "mine", {
        "gb200-extra.eidos": """
            overlay gb200-extra extends gb200-eks-ubuntu-training {
              when nodes >= 8
              require K8s.node.count >= 8
              component gpu-operator { values "values/extra.yaml" set driver.upgradePolicy.autoUpgrade = false }
            }
        """,
        "values/extra.yaml": "dcgmExporter:\n  enabled: false\n",
    })
    doc = json.loads(ok(run_eidos(*GB200, "--nodes", "8", "--rules", str(d), "-o", "json")))
    assert doc["overlays"][-1] == "gb200-extra"
    gpu = next(c for c in doc["components"] if c["name"] == "gpu-operator")
    assert gpu["values"]["dcgmExporter"]["enabled"] is False
    # the set adds a key; the base values' maxParallelUpgrades under the same map is kept
    assert gpu["values"]["driver"]["upgradePolicy"] == {"autoUpgrade": False, "maxParallelUpgrades": 5}
    assert gpu["values"]["driver"]["version"] == "580.82.07"


def test_corrupt_cache_is_ignored(tmp_path):
    cache = tmp_path / "cache"
    env = {"EIDOS_CACHE_DIR": str(cache)}
    first = ok(run_eidos(*GB200, env=env))
    entries = list(cache.glob("graph-*"))
    assert len(entries) == 1
    entries[0].write_bytes(b"not a pickle")
    assert ok(run_eidos(*GB200, env=env)) == first


def test_version_flag():
    lines = ok(run_eidos("--version")).splitlines()
    assert lines[0].startswith("eidos ") and lines[1].startswith("python: ")
    assert lines[2].startswith("platform: ") and lines[3].startswith("rule base: sha256:")


def test_shipped_example_lints_and_resolves():
    assert run_eidos("lint", "--strict", "examples/rules").returncode == 0
    doc = json.loads(ok(run_eidos(*GB200, "--nodes", "16", "--rules", "examples/rules", "-o", "json")))
    assert doc["overlays"][-1] == "gb200-large"
