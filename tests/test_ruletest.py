"""``eidos test``: a user's rule directory with tests next to it (the issue's acceptance),
each kind of expectation failing when the rules disagree, and every mistake in a test
file reported at file:line with exit 2."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from eidos.cli.main import main
from tests.conftest import run_eidos, write_rules

OVERLAY = """
overlay site-h100 extends base {
  doc "Site driver pin for H100 on EKS."
  when accelerator == h100 and service == eks
  require site-kernel: OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.5
    severity warning
  component gpu-operator {
    set driver.version = "570.172.08"
    set driver.rdma = { enabled: true }
  }
  component network-operator
}

overlay site-spare extends base {
  when accelerator == a100 and service == gke
}
"""

TESTS = """
tests:
  - name: h100 on eks gets the site driver
    facts: {service: eks, accelerator: h100}
    expect:
      overlays: [base, eks, site-h100]
      components:
        gpu-operator: v25.10.1
        network-operator: true
        nvidia-dra-driver-gpu: false
      values:
        gpu-operator:
          driver.version: "570.172.08"
          driver.rdma: {enabled: true}
      requirements:
        site-kernel: {expr: 'OS.sysctl["/proc/sys/kernel/osrelease"]>=6.5', severity: warning}
        k8s-version: K8s.server.version >= 1.28
  - name: gke is left alone
    facts: {service: gke, accelerator: h100}
    expect:
      overlays: {include: [base], exclude: [site-h100]}
      requirements:
        site-kernel: false
"""


@pytest.fixture
def site(tmp_path) -> Path:
    return write_rules(tmp_path / "site", {"site.eidos": OVERLAY, "tests/site_test.yaml": TESTS})


def eidos(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def break_line(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# ------------------------------------------------------------------ the acceptance, as a user runs it


def test_a_user_rules_directory_with_tests_passes(site):
    r = run_eidos("test", str(site))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{site}/tests/site_test.yaml::h100 on eks gets the site driver PASSED" in r.stdout
    assert "2 passed (2 cases in 1 file)" in r.stdout.splitlines()[-1]


def test_breaking_one_expected_value_fails_with_a_readable_diff(site):
    test_file = site / "tests" / "site_test.yaml"
    break_line(test_file, 'driver.version: "570.172.08"', 'driver.version: "570.172.09"')
    r = run_eidos("test", str(site))
    assert r.returncode == 1
    line = line_of(test_file, "570.172.09")
    assert f"{test_file}:{line}: values.gpu-operator: driver.version" in r.stdout
    assert "  expected: 570.172.09\n  actual:   570.172.08" in r.stdout
    assert "::h100 on eks gets the site driver FAILED" in r.stdout
    assert "::gke is left alone PASSED" in r.stdout
    assert "1 failed, 1 passed (2 cases in 1 file)" in r.stdout.splitlines()[-1]


def test_junit_report_parses_with_a_real_xml_parser(site, tmp_path):
    break_line(site / "tests" / "site_test.yaml", "gpu-operator: v25.10.1", "gpu-operator: v25.3.3")
    out = tmp_path / "report.xml"
    r = run_eidos("test", str(site), "-o", "junit", "--out", str(out))
    assert r.returncode == 1
    assert "1 failed, 1 passed" in r.stderr  # the summary still reaches the terminal
    import xml.dom.minidom

    xml.dom.minidom.parse(str(out))  # a second, independent parser
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    (suite,) = root.findall("testsuite")
    assert suite.get("name").endswith("tests/site_test.yaml") and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"h100 on eks gets the site driver", "gke is left alone"}
    failure = cases["h100 on eks gets the site driver"].find("failure")
    assert failure is not None and "components.gpu-operator.version" in failure.get("message")
    assert "expected: v25.3.3" in failure.text and "actual:   v25.10.1" in failure.text
    assert cases["gke is left alone"].find("failure") is None
    assert cases["gke is left alone"].get("line") == str(line_of(site / "tests" / "site_test.yaml", "gke is left"))


def test_junit_escapes_what_the_author_wrote(tmp_path, capsys):
    d = write_rules(tmp_path / "r", {"x.eidos": "", "x_test.yaml": """
        tests:
          - name: "<&> \\"quoted\\" ]]>"
            facts: {service: eks}
            expect: {overlays: [base]}
        """})
    code, out, _ = eidos(capsys, "test", str(d), "-o", "junit")
    assert code == 1
    root = ET.fromstring(out)
    case = root.find("testsuite/testcase")
    assert case.get("name") == '<&> "quoted" ]]>'
    assert "eks (applied, not expected)" in case.find("failure").text


# ------------------------------------------------------------------ selection and coverage


def test_run_selects_cases_by_pattern(site, capsys):
    code, out, _ = eidos(capsys, "test", str(site), "--run", "gke")
    assert code == 0
    assert "gke is left alone PASSED" in out and "h100 on eks" not in out
    assert "1 passed (1 case in 1 file)" in out


def test_run_that_selects_nothing_is_a_usage_error(site, capsys):
    code, _, err = eidos(capsys, "test", str(site), "--run", "nothing-like-this")
    assert code == 2 and "no case matches" in err
    code, _, err = eidos(capsys, "test", str(site), "--run", "(")
    assert code == 2 and "not a regular expression" in err


def test_coverage_names_the_overlays_no_case_applies(site, capsys):
    code, out, _ = eidos(capsys, "test", str(site))
    assert code == 0
    assert "coverage: 1/2 overlays exercised; untested: site-spare" in out
    assert "coverage: 0/0 checks exercised" in out  # the embedded base is not the user's to cover
    code, out, _ = eidos(capsys, "test", str(site), "--coverage")
    assert "  site-spare  (" in out and f"site.eidos:{line_of(site / 'site.eidos', 'site-spare')})" in out


def test_coverage_summary_is_short_and_the_flag_lists_everything(tmp_path, capsys):
    checks = "\n".join(f'check c{i} {{\n  when always\n  require r: K8s.server.version >= 1.2{i}\n}}\n' for i in range(7))
    d = write_rules(tmp_path / "r", {"c.eidos": checks, "c_test.yaml": """
        tests:
          - name: one
            facts: {service: eks}
            expect: {overlays: [base, eks]}
        """})
    _, out, _ = eidos(capsys, "test", str(d))
    assert "coverage: 0/7 checks exercised; untested: c0, c1, c2, c3, c4, … 2 more (--coverage lists them)" in out
    _, out, _ = eidos(capsys, "test", str(d), "--coverage")
    assert all(f"  c{i}  (" in out for i in range(7)) and out.count("c.eidos:") == 7


# ------------------------------------------------------------------ each expectation can fail


def run_one(tmp_path, capsys, case: str, rules: str = "") -> tuple[int, str]:
    d = write_rules(tmp_path / "r", {"x.eidos": rules, "x_test.yaml": "tests:\n" + textwrap.indent(
        textwrap.dedent(case).strip("\n"), "  ") + "\n"})
    code, out, err = eidos(capsys, "test", str(d))
    assert code in (0, 1), err
    return code, out


@pytest.mark.parametrize("expect, shown", [
    ("overlays: [base]", "+ eks (applied, not expected)"),
    ("overlays: [eks, base]", "same overlays, different order"),
    ("overlays: {include: [gke-cos]}", "overlays.include gke-cos"),
    ("overlays: {exclude: [eks]}", "overlays.exclude eks"),
    ("components: {network-operator: true}", "components.network-operator\n  expected: present\n  actual:   (absent)"),
    ("components: {gpu-operator: false}", "components.gpu-operator\n  expected: (absent)\n  actual:   present (v25.10.1)"),
    ("components: {gpuoperator: v1}", "components.gpuoperator.version"),  # an alias finds the component
    ("components: {gpu-operator: {namespace: gpus}}", "components.gpu-operator.namespace"),
    ("values: {gpu-operator: {driver.enabled: false}}", "driver.enabled\n  expected: false\n  actual:   true"),
    ("values: {gpu-operator: {driver.nosuchkey: 1}}", "driver has no key 'nosuchkey'"),
    ("requirements: {k8s-version: K8s.server.version >= 1.25}", "requirements.k8s-version.expr"),
    ("requirements: {k8s-version: {severity: warning}}", "requirements.k8s-version.severity"),
    ("requirements: {k8s-versoin: true}", "did you mean 'k8s-version'?"),
    ("requirements: {k8s-version: false}", "set by overlay eks"),
])
def test_each_expectation_fails_when_the_rules_disagree(tmp_path, capsys, expect, shown):
    code, out = run_one(tmp_path, capsys, f"""
        - name: case
          facts: {{service: eks}}
          expect:
            {expect}
        """)
    assert code == 1 and shown in out, out


def test_expressions_compare_as_the_language_reads_them(tmp_path, capsys):
    rules = 'overlay o extends base {\n  when service == eks\n  require n: K8s.cluster["gpu-node-count"] >= 2\n}\n'
    code, out = run_one(tmp_path, capsys, """
        - name: case
          facts: {service: eks}
          expect: {requirements: {n: 'K8s.cluster["gpu-node-count"]>=2', k8s-version: "K8s.server.version>=1.28"}}
        """, rules)
    assert code == 0, out
    code, out = run_one(tmp_path, capsys, """
        - name: case
          facts: {service: eks}
          expect: {requirements: {n: 'K8s.cluster["gpu-node-count"] >= 3'}}
        """, rules)
    assert code == 1 and "actual:   K8s.cluster.gpu-node-count >= 2" in out


def test_values_compare_types_strictly(tmp_path, capsys):
    rules = 'overlay o extends base {\n  when service == eks\n  component gpu-operator { set a.b = 1 }\n}\n'
    code, out = run_one(tmp_path, capsys, """
        - name: case
          facts: {service: eks}
          expect: {values: {gpu-operator: {a.b: "1"}}}
        """, rules)
    assert code == 1 and 'expected: "1"\n  actual:   1' in out
    code, out = run_one(tmp_path, capsys, """
        - name: case
          facts: {service: eks}
          expect: {values: {gpu-operator: {a.b: true}}}
        """, rules)
    assert code == 1
    code, out = run_one(tmp_path, capsys, """
        - name: case
          facts: {service: eks}
          expect: {values: {gpu-operator: {a.b: 1, a: {b: 1}}}}
        """, rules)
    assert code == 0, out


def test_a_resolution_error_is_expected_or_a_failure(tmp_path, capsys):
    rules = """
        overlay no-cert-manager extends base {
          when intent == training
          drop component cert-manager
        }
        """
    code, out = run_one(tmp_path, capsys, """
        - name: conflict
          facts: {service: eks, intent: training}
          expect: {overlays: [base]}
        """, textwrap.dedent(rules))
    assert "recipe\n  expected: a recipe\n  actual:   error:" in out
    message = out.split("actual:   error: ", 1)[1].split("\n", 1)[0]
    code, out = run_one(tmp_path, capsys, f"""
        - name: conflict
          facts: {{service: eks, intent: training}}
          expect: {{error: "{message[:20]}"}}
        """, textwrap.dedent(rules))
    assert code == 0, out
    code, out = run_one(tmp_path, capsys, """
        - name: no conflict
          facts: {service: eks}
          expect: {error: "conflict"}
        """, textwrap.dedent(rules))
    assert code == 1 and "no error: the query resolved" in out


# ------------------------------------------------------------------ bad test files: file:line, exit 2


@pytest.mark.parametrize("text, line, message", [
    ("tests:\n  - name: a\n    fatcs: {service: eks}\n", 3, "unknown key 'fatcs' in a test case"),
    ("tests:\n  - name: a\n    facts: {servce: eks}\n    expect: {overlays: [base]}\n", 3, "unknown fact 'servce'"),
    ("tests:\n  - name: a\n    facts: {service: ekss}\n    expect: {overlays: [base]}\n", 3, "ekss"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n", 2, "expects nothing"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n    expect:\n      overlay: [base]\n", 5, "unknown key 'overlay' in 'expect'"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n    expect:\n      overlays: [bsae]\n", 5, "no overlay named 'bsae'"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n    expect:\n      components: {gpu-operatr: true}\n", 5,
     "no component named 'gpu-operatr'"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n    expect:\n      values:\n        gpu-operator: {'a..b': 1}\n", 6,
     "value path"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n    expect:\n      checks: {gpus-visible: pass}\n", 5,
     "'checks' are judged on a snapshot"),
    ("tests:\n  - name: a\n    snapshot: s.yaml\n    expect:\n      checks: {gpus-visible: passed}\n", 5,
     "status must be one of pass, fail, warn, skip, error"),
    ("tests:\n  - name: a\n    snapshot: missing.yaml\n    expect: {overlays: [base]}\n", 3, "snapshot 'missing.yaml' not found"),
    ("tests:\n  - name: a\n    expect: {overlays: [base]}\n", 2, "needs 'facts', a 'snapshot', or both"),
    (("tests:\n  - name: a\n    facts: {service: eks}\n    expect: {overlays: [base]}\n"
      "  - name: a\n    facts: {service: gke}\n    expect: {overlays: [base]}\n"), 5, "duplicate case name 'a' (first at line 2)"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n    expect: {error: oops, overlays: [base]}\n", 4,
     "can expect nothing else"),
    ("tests:\n  - name: a\n    facts: {service: eks}\n    expect:\n      requirements:\n        k8s-version: K8s.server.version >=\n",
     6, "expression 'K8s.server.version >=': unexpected end of file"),
    ("tests: []\n", 1, "non-empty list"),
    ("cases: []\n", 1, "unknown key 'cases'"),
    ("tests:\n  - name: a\n    facts: {service: eks\n", 4, "invalid YAML"),
    ("", 1, "empty test file"),
])
def test_a_bad_test_file_is_an_error_at_file_and_line(tmp_path, capsys, text, line, message):
    d = write_rules(tmp_path / "r", {"x.eidos": ""})
    (d / "s.yaml").write_text((Path(__file__).parent / "fixtures/snapshots/aicr-mock-training.yaml").read_text())
    (d / "bad_test.yaml").write_text(text)
    code, out, err = eidos(capsys, "test", str(d))
    assert code == 2, out
    assert f"{d}/bad_test.yaml:{line}" in err and message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("snapshot, message", [
    ("kind: Snapshot\nmeasurements: 7\n", "measurements"),
    ("kind: Snapshot\napiVersion: eidos.dev/v1alpha1\nmeasurements: []\n", "no facts"),
])
def test_a_snapshot_the_case_cannot_use_is_an_error_at_the_case(tmp_path, capsys, snapshot, message):
    d = write_rules(tmp_path / "r", {"x.eidos": "", "s.yaml": snapshot, "x_test.yaml": """
        tests:
          - name: uses a bad snapshot
            snapshot: s.yaml
            expect: {checks: {gpus-visible: pass}}
        """})
    code, _, err = eidos(capsys, "test", str(d))
    assert code == 2, err
    assert f"{d}/x_test.yaml:3: case 'uses a bad snapshot':" in err and message in err, err


def test_no_tests_and_no_directory_are_usage_errors(tmp_path, capsys):
    d = write_rules(tmp_path / "r", {"x.eidos": ""})
    code, _, err = eidos(capsys, "test", str(d))
    assert code == 2 and "no test files (*_test.yaml)" in err
    code, _, err = eidos(capsys, "test", str(tmp_path / "nope"))
    assert code == 2 and "no such directory" in err
    code, _, err = eidos(capsys, "test", str(d / "x.eidos"))
    assert code == 2 and "expected a directory" in err


def test_rules_that_do_not_compile_exit_2(tmp_path, capsys):
    d = write_rules(tmp_path / "r", {"x.eidos": "overlay {\n", "x_test.yaml": TESTS})
    code, _, err = eidos(capsys, "test", str(d))
    assert code == 2 and "rules do not compile" in err


def test_output_is_deterministic(site, capsys):
    first = eidos(capsys, "test", str(site))
    assert eidos(capsys, "test", str(site)) == first


def test_junit_never_carries_characters_xml_forbids():
    from eidos.ruletest.report import xml_safe

    text = "a\x00b\x1bc\td\ne\r\ufffe"
    safe = xml_safe(text)
    assert safe == "a\\x00b\\x1bc\td\ne\r\\xfffe"
    ET.fromstring(f"<a>{safe}</a>")  # parses
    with pytest.raises(ET.ParseError):
        ET.fromstring("<a>\x1b</a>")
