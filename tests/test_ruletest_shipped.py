"""The embedded rule base's own tests (rules/tests/): they run with ``eidos test`` (no
argument) and ``eidos test rules/``, survive the wheel layout, and their trimmed snapshots
judge like the originals they were cut from."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET

import pytest

from eidos.io import yamlio
from tests.conftest import FIXTURES, ROOT, run_eidos

TESTS = ROOT / "rules" / "tests"
FILES = sorted(TESTS.glob("*_test.yaml"))
CASES = sum(len(yamlio.load(p.read_text())["tests"]) for p in FILES)
SUMMARY = re.compile(r"^=+ (\d+) passed \((\d+) cases in (\d+) files\) =+$")


def _summary(stdout: str) -> tuple[int, int, int]:
    match = SUMMARY.match(stdout.splitlines()[-1])
    assert match, stdout
    return tuple(int(g) for g in match.groups())


@pytest.mark.parametrize("args", [(), ("rules/",), ("rules",)])
def test_the_embedded_tests_pass(args):
    r = run_eidos("test", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    passed, cases, files = _summary(r.stdout)
    assert passed == cases == CASES >= 14 and files == len(FILES) >= 2


def test_the_embedded_tests_exercise_the_shipped_overlays_and_checks():
    r = run_eidos("test", "--coverage")
    # the overlays and checks these test files were written for (later ones must add cases)
    for name in ("base", "eks", "eks-training", "gb200-eks-training", "gb200-eks-ubuntu-training", "gke-cos",
                 "h100-inference", "monitoring-hpa", "gb200-host-os", "driver-branch-blackwell",
                 "driver-branch-hopper", "gpudirect-rdma-eks", "eks-standard-support", "efa-eks",
                 "self-managed", "self-managed-ubuntu", "self-managed-rhel", "kind", "eks-amazonlinux",
                 "kubeflow-training", "dynamo-inference"):
        assert not re.search(rf"^  {re.escape(name)}  \(", r.stdout, re.MULTILINE), f"{name} is not exercised"
    for kind in ("overlays", "checks"):
        assert re.search(rf"^coverage: \d+/\d+ {kind} exercised", r.stdout, re.MULTILINE)


def test_a_wrong_shipped_expectation_would_fail(tmp_path):
    """The shipped cases can fail: the same cases with one value changed, against the same rules."""
    copy = tmp_path / "rules"
    (copy / "snapshots").mkdir(parents=True)
    for p in TESTS.glob("snapshots/*.yaml"):
        shutil.copy(p, copy / "snapshots" / p.name)
    text = (TESTS / "checks_test.yaml").read_text().replace("gb200-host-os: fail", "gb200-host-os: pass", 1)
    (copy / "checks_test.yaml").write_text(text)
    r = run_eidos("test", str(copy), "-o", "junit")
    assert r.returncode == 1
    failures = ET.fromstring(r.stdout).findall(".//failure")
    assert len(failures) == 1 and "checks.gb200-host-os: expected pass, got fail" in failures[0].get("message")


@pytest.mark.parametrize("trimmed, original, intent", [
    ("eks-gb200-ubuntu2204.yaml", "cns-eks-gb200.yaml", "training"),
    ("eks-h100-ubuntu2204.yaml", "cns-eks-h100.yaml", "inference"),
])
def test_trimmed_snapshots_judge_like_their_originals(trimmed, original, intent):
    from eidos import engine
    from eidos.validate.fleet import validate

    graph = engine.load_graph()
    a, b = (validate(graph, [str(p)], flag_facts={"intent": intent}).nodes[0]
            for p in (TESTS / "snapshots" / trimmed, FIXTURES / "snapshots" / original))
    assert a.overlays == b.overlays and a.criteria == b.criteria
    assert [(v.id, v.status, v.actual) for v in a.verdicts] == [(v.id, v.status, v.actual) for v in b.verdicts]
    text = (TESTS / "snapshots" / trimmed).read_text()
    assert "Licensed under the Apache License" in text and "Modified for eidos" in text


def test_test_files_in_rules_are_not_rule_sources():
    from eidos.engine import sources

    ruleset = sources.collect()
    assert all(f.rel.endswith(".eidos") for f in ruleset.files)
    assert any(f.rel == "rules/checks.eidos" for f in ruleset.files)


def test_the_wheel_carries_the_tests():
    """pyproject force-includes the whole rules/ directory, tests and snapshots included."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include["rules"] == "eidos/_embedded/rules"


def test_eidos_test_runs_from_the_wheel_layout(tmp_path):
    """The package as a wheel installs it (eidos/ with _embedded/{grammar,rules,recipes}),
    run from a directory with no checkout around it."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "eidos", site / "eidos", ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("grammar", "rules", "recipes"):
        shutil.copytree(ROOT / part, site / "eidos" / "_embedded" / part)
    work = tmp_path / "elsewhere"
    work.mkdir()
    r = subprocess.run([sys.executable, "-m", "eidos", "test"], check=False, cwd=work, capture_output=True, text=True,
                       timeout=120, env={"PYTHONPATH": str(site), "EIDOS_CACHE_DIR": str(tmp_path / "cache"),
                                         "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert str(site / "eidos" / "_embedded" / "rules" / "tests" / "checks_test.yaml") in r.stdout
    assert _summary(r.stdout)[1] == CASES


def test_another_checkouts_rules_are_not_layered_over_the_embedded_base(tmp_path):
    other = tmp_path / "checkout"
    for part in ("grammar", "rules", "recipes"):
        shutil.copytree(ROOT / part, other / part)
    r = run_eidos("test", str(other / "rules"))
    assert r.returncode == 2 and "rules/ of another eidos rule base" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_built_wheel_contains_the_tests(tmp_path):
    pytest.importorskip("hatchling", reason="hatchling (the build backend) is not installed")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(tmp_path), str(ROOT)], check=False, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    import zipfile

    (wheel,) = tmp_path.glob("eidos-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "eidos/_embedded/rules/tests/checks_test.yaml" in names
    assert "eidos/_embedded/rules/tests/snapshots/eks-gb200-ubuntu2204.yaml" in names
