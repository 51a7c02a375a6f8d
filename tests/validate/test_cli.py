"""``python -m eidos validate`` end to end: exit codes 0/1/2, reports on disk, no tracebacks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import FIXTURES, run_eidos

H100 = str(FIXTURES / "snapshots" / "cns-eks-h100.yaml")
GB200 = str(FIXTURES / "snapshots" / "cns-eks-gb200.yaml")
H100_FACTS = ["--service", "eks", "--accelerator", "h100", "--intent", "training"]


def ok(result, code):
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == code, (result.returncode, result.stderr, result.stdout[-2000:])
    return result


def test_acceptance_h100_table_exits_0():
    r = ok(run_eidos("validate", "--snapshot", H100, *H100_FACTS), 0)
    assert "PASS  k8s-version" in r.stdout and "v1.30.14-eks-3025e55" in r.stdout
    assert "WARN  numa-balancing/numa-balancing-off" in r.stdout and "fix:   Turn it off" in r.stdout
    assert "\x1b[" not in r.stdout  # not a terminal: plain


def test_fail_on_warning_exits_1():
    ok(run_eidos("validate", "--snapshot", H100, *H100_FACTS, "--fail-on", "warning"), 1)


@pytest.mark.parametrize("fmt", ["junit", "ctrf", "sarif", "json", "yaml"])
def test_report_formats_to_file(tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    r = ok(run_eidos("validate", "--snapshot", H100, *H100_FACTS, "-o", fmt, "--out", str(out)), 0)
    assert r.stdout == ""
    text = out.read_text()
    if fmt == "junit":
        assert ET.fromstring(text).tag == "testsuites"
    elif fmt in ("ctrf", "sarif", "json"):
        json.loads(text)


def test_gb200_failure_exits_1_and_still_writes_the_report(tmp_path):
    out = tmp_path / "r.json"
    ok(run_eidos("validate", "-s", GB200, "--intent", "training", "-o", "json", "--out", str(out)), 1)
    doc = json.loads(out.read_text())
    assert doc["summary"]["status"] == "fail"


def test_error_verdicts_exit_1_unless_allowed(tmp_path):
    nogpu = tmp_path / "nogpu.yaml"
    nogpu.write_text("kind: Snapshot\napiVersion: eidos.dev/v1alpha1\nmeasurements:\n"
                     "  - type: K8s\n    subtypes:\n      - subtype: server\n        data: {version: v1.33.5-eks-3025e55}\n"
                     "  - type: OS\n    subtypes:\n      - subtype: kmod\n        data: {nvidia: true, nvidia_uvm: true}\n"
                     "      - subtype: sysctl\n        data: {/proc/sys/kernel/osrelease: 6.8.0-1028-aws}\n"
                     "collectors:\n  - {name: gpu, type: GPU, status: unavailable, reason: nvidia-smi not found}\n")
    r = ok(run_eidos("validate", "-s", str(nogpu), "--accelerator", "gb200"), 1)
    assert "ERROR driver-branch-blackwell/driver" in r.stdout
    assert "GPU.smi.driver not in snapshot (gpu collector unavailable: nvidia-smi not found)" in r.stdout
    # only error verdicts (no failure): --allow-errors makes the run pass, the report still says error
    r = ok(run_eidos("validate", "-s", str(nogpu), "--accelerator", "gb200", "--allow-errors", "-o", "json"), 0)
    doc = json.loads(r.stdout)
    assert doc["summary"]["verdicts"]["error"] >= 1 and doc["summary"]["verdicts"]["fail"] == 0


def test_fleet_directory_summary(tmp_path):
    import shutil

    for f in (H100, GB200):
        shutil.copy(f, tmp_path)
    r = ok(run_eidos("validate", "-s", str(tmp_path), "--intent", "training"), 1)
    assert "Summary: 1/2 node(s) pass" in r.stdout
    assert "check:gb200-host-os:host-os: 1 node(s): ip-10-0-160-248.ec2.internal" in r.stdout
    assert "validating" not in r.stderr  # no progress when not on a terminal


def test_recipe_file_round_trip(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    ok(run_eidos("recipe", "--service", "eks", "--accelerator", "gb200", "--os", "ubuntu", "--intent", "training",
                 "--explain", "--out", str(recipe)), 0)
    r = ok(run_eidos("validate", "-s", GB200, "--recipe", str(recipe), "-o", "json"), 1)
    doc = json.loads(r.stdout)
    by = {v["id"]: v for v in doc["nodes"][0]["verdicts"]}
    assert by["requirement:kernel"]["status"] == "pass"
    assert by["requirement:kernel"]["source"] == "rules/eks.eidos:49"  # kept from --explain
    assert doc["nodes"][0]["factSources"]["accelerator"] == "recipe"
    assert by["check:gb200-host-os:host-os"]["status"] == "fail"  # checks come from the criteria
    json_recipe = tmp_path / "recipe.json"
    ok(run_eidos("recipe", "--service", "eks", "--intent", "training", "-o", "json", "--out", str(json_recipe)), 0)
    r = ok(run_eidos("validate", "-s", GB200, "--recipe", str(json_recipe), "-o", "json"), 0)
    v = json.loads(r.stdout)["nodes"][0]["verdicts"][0]
    assert v["source"].startswith(str(json_recipe) + ":")  # no --explain: points into the recipe file


BAD_INPUTS = {
    "not yaml": ("snapshot", "kind: Snapshot\nmeasurements: [\n", "invalid YAML"),
    "wrong kind": ("snapshot", "kind: Recipe\nmeasurements: []\n", "kind is 'Recipe'"),
    "bad measurement": ("snapshot", "measurements:\n  - type: Gpu\n", "unknown measurement type"),
    "recipe bad expr": ("recipe", "kind: Recipe\ncriteria: {service: eks}\nrequirements:\n  - expr: K8s.server.version = 1\n",
                        "recipe.yaml:4: requirements[0].expr"),
    "recipe type error": ("recipe", "kind: Recipe\nrequirements:\n  - expr: OS.release.ID == ubuntu\n",
                          "requirements[0].expr"),
    "recipe unknown fact": ("recipe", "kind: Recipe\ncriteria: {gpu: h100}\nrequirements: []\n", "unknown fact 'gpu'"),
    "recipe severity": ("recipe", "kind: Recipe\nrequirements:\n  - {expr: 'exists OS.kmod.nvidia', severity: fatal}\n",
                        "severity must be one of"),
    "recipe not a mapping": ("recipe", "- 1\n", "not a recipe document"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_malformed_inputs_exit_2_with_location(tmp_path, case):
    which, text, expected = BAD_INPUTS[case]
    path = tmp_path / ("recipe.yaml" if which == "recipe" else "snap.yaml")
    path.write_text(text)
    args = ["validate", "-s", str(path) if which == "snapshot" else H100]
    args += ["--recipe", str(path)] if which == "recipe" else ["--service", "eks"]
    r = ok(run_eidos(*args), 2)
    assert expected in r.stderr, r.stderr


@pytest.mark.parametrize("args,expected", [
    (["validate", "--service", "eks"], "--snapshot"),
    (["validate", "-s", "/nonexistent.yaml", "--service", "eks"], "no such file"),
    (["validate", "-s", H100, "--service", "ekz"], "not a known service"),
    (["validate", "-s", H100, "-o", "pdf"], "invalid choice"),
    (["validate", "-s", H100, "-o", "report.json"], "-o chooses the format; to write to report.json, use --out"),
    (["validate", "-s", H100, "--fail-on", "warn"], "did you mean 'warning'?"),
    (["validate", "-s", H100, "--recipe", "/nonexistent.yaml"], "no such file"),
])
def test_bad_invocation_exits_2(args, expected):
    r = ok(run_eidos(*args), 2)
    assert expected in r.stderr


def test_recipe_and_fact_flags_are_exclusive(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("kind: Recipe\ncriteria: {service: eks}\nrequirements: []\n")
    r = ok(run_eidos("validate", "-s", H100, "--recipe", str(recipe), "--service", "eks"), 2)
    assert "do not combine it with fact flags" in r.stderr
