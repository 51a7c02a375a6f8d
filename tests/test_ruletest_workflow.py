"""The contribution workflow: pre-commit hooks, the composite GitHub Action, the PR
template, and ``eidos lint -o github|sarif`` that feed them.

The hook and action files are parsed, every eidos command and flag they name is checked
against the real CLI, and the action's shell steps are executed with the variables the
runner would set, so a typo in a flag or a broken step fails here rather than in users' CI.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from eidos.cli.main import COMMANDS, build_parser
from eidos.io import yamlio
from tests.conftest import FIXTURES, ROOT, run_eidos, write_rules

HOOKS = yamlio.load((ROOT / ".pre-commit-hooks.yaml").read_text())
ACTION = yamlio.load((ROOT / "action.yml").read_text())
TYPO = 'overlay x extends eks-trainin {\n  doc "a, b: 100%"\n  when service == eks\n}\n'


def _subcommand_flags(name: str) -> set[str] | None:
    """The option strings of ``eidos NAME``, or None when this build has no such command."""
    parser = build_parser([name])
    sub = next(a for a in parser._actions if a.dest == "command")
    if name not in sub.choices:
        return None
    return {s for a in sub.choices[name]._actions for s in a.option_strings}


def _check_command(argv: list[str]) -> None:
    assert argv[0] == "eidos", argv
    name = argv[1]
    flags = _subcommand_flags(name)
    if flags is None:
        assert name == "fmt", f"eidos {name}: no such command"
        pytest.skip("eidos fmt is not in this build (another branch adds it)")
    for word in argv[2:]:
        if word.startswith("-"):
            assert word.split("=")[0] in flags, f"eidos {name} has no flag {word}"


# ------------------------------------------------------------------ pre-commit


def test_precommit_hooks_have_the_required_keys():
    assert isinstance(HOOKS, list) and HOOKS
    assert [h["id"] for h in HOOKS] == ["eidos-lint", "eidos-fmt", "eidos-test"]
    allowed = {"id", "name", "entry", "language", "files", "exclude", "types", "types_or", "exclude_types",
               "always_run", "fail_fast", "verbose", "pass_filenames", "require_serial", "description",
               "language_version", "minimum_pre_commit_version", "args", "stages"}
    for hook in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(hook) <= allowed, hook
        assert hook["language"] == "python"  # pre-commit pip-installs this repository
        assert hook["pass_filenames"] is False  # eidos takes directories, not changed files
        re.compile(hook["files"])
        assert re.search(hook["files"], "rules/eks.eidos")


@pytest.mark.parametrize("hook", HOOKS, ids=[h["id"] for h in HOOKS])
def test_precommit_entries_name_real_commands_and_flags(hook):
    _check_command(shlex.split(hook["entry"]))


def test_precommit_test_hook_runs_on_test_files_and_snapshots():
    hook = next(h for h in HOOKS if h["id"] == "eidos-test")
    for path in ("my-rules/tests/site_test.yaml", "my-rules/tests/snapshots/node.json", "my-rules/values/x.yml"):
        assert re.search(hook["files"], path), path


# ------------------------------------------------------------------ the composite action


def test_action_is_a_valid_composite_action():
    assert {"name", "description", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step  # composite run steps must name a shell
    ids = {s["id"] for s in steps if "id" in s}
    text = (ROOT / "action.yml").read_text()
    for name in re.findall(r"\$\{\{[^}]*\binputs\.([\w-]+)", text):
        assert name in ACTION["inputs"], f"inputs.{name} is used but not declared"
    for name in re.findall(r"\bsteps\.([\w-]+)\.outputs", text):
        assert name in ids, f"steps.{name} is used but no step has that id"
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "${{ steps.lint.outputs.sarif }}"
    assert "always()" in upload["if"]  # findings are uploaded even though lint failed


def test_action_scripts_take_inputs_through_the_environment():
    """``${{ inputs.x }}`` pasted into a script is a shell injection; env is not."""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def _eidos_commands(script: str) -> list[list[str]]:
    out = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        if words and words[0] == "eidos":
            out.append([w for w in words if not w.startswith("$") and not w.startswith('"$')])
    return out


def test_action_commands_name_real_commands_and_flags():
    commands = [c for s in ACTION["runs"]["steps"] for c in _eidos_commands(s.get("run", ""))]
    assert {c[1] for c in commands} == {"lint", "fmt", "test"}
    for argv in commands:
        if argv[1] != "fmt":
            _check_command(argv)
    lint_formats = {c[c.index("-o") + 1] for c in commands if c[1] == "lint" and "-o" in c}
    assert lint_formats == {"github", "sarif"}


def _run_step(name: str, env: dict, tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    step = next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)
    output = tmp_path / f"{step.get('id', 'x')}.out"
    output.write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "eidos").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m eidos "$@"\n')
    (bin_dir / "eidos").chmod(0o755)
    full = {**os.environ, "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(tmp_path),
            "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), **env}
    full.pop("EIDOS_DEBUG", None)
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], check=False, cwd=tmp_path, env=full,
                       capture_output=True, text=True, timeout=180)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return r, outputs


def test_action_lint_step_annotates_and_writes_sarif(tmp_path):
    write_rules(tmp_path / "typo", {"x.eidos": TYPO})
    r, out = _run_step("eidos lint", {"RULES": "typo", "STRICT": "true"}, tmp_path)
    assert r.returncode == 0, r.stderr  # the step records the code; the last step decides
    assert out["code"] == "1"
    assert r.stdout.startswith("::error file=typo/x.eidos,line=1,col=19,")
    doc = json.loads(Path(out["sarif"]).read_text())
    assert doc["runs"][0]["results"][0]["ruleId"] == "E203"


def test_action_test_step_writes_junit_and_records_a_failure(tmp_path):
    write_rules(tmp_path / "r", {"x.eidos": "", "x_test.yaml": """
        tests:
          - name: wrong on purpose
            facts: {service: eks}
            expect: {overlays: [base]}
        """})
    r, out = _run_step("eidos test", {"RULES": "r"}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert out["code"] == "1" and "wrong on purpose FAILED" in r.stdout
    import xml.etree.ElementTree as ET

    assert ET.parse(out["junit"]).getroot().get("failures") == "1"


@pytest.mark.parametrize("codes, ok", [
    ({"LINT": "0", "FMT": "0", "TEST": "0"}, True),
    ({"LINT": "0", "FMT": "", "TEST": "0"}, True),  # fmt switched off
    ({"LINT": "1", "FMT": "0", "TEST": "0"}, False),
    ({"LINT": "0", "FMT": "1", "TEST": "0"}, False),
    ({"LINT": "0", "FMT": "0", "TEST": "1"}, False),
    ({"LINT": "", "FMT": "0", "TEST": "0"}, False),  # lint never ran: not a pass
])
def test_action_result_step_fails_on_any_finding(tmp_path, codes, ok):
    r, _ = _run_step("Result", codes, tmp_path)
    assert (r.returncode == 0) is ok, r.stdout


def test_pr_template_asks_what_was_validated_where_and_with_which_snapshot():
    text = (ROOT / ".github" / "PULL_REQUEST_TEMPLATE" / "recipe.md").read_text()
    for needle in ("## Validated on", "cluster", "snapshot", "eidos validate", "eidos test", "## Source"):
        assert needle in text


# ------------------------------------------------------------------ eidos lint -o github | sarif


def _unescape(text: str, prop: bool) -> str:
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else []) + [("%25", "%")]
    for a, b in pairs:
        text = text.replace(a, b)
    return text


def test_lint_github_annotations_parse_like_the_runner_reads_them(tmp_path):
    d = write_rules(tmp_path / "a,b:c%", {"x.eidos": TYPO, "y.eidos": "overlay {\n"})
    r = run_eidos("lint", "-o", "github", str(d))
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert len(lines) >= 2 and all(line.startswith("::error ") for line in lines)
    for line in lines:
        match = re.fullmatch(r"::(error|warning) ([^:]*)::(.*)", line)
        assert match, line
        props = dict(p.split("=", 1) for p in match.group(2).split(","))
        assert _unescape(props["file"], True).startswith(str(d))
        assert int(props["line"]) >= 1 and props["title"].startswith("eidos lint E")
    first = re.fullmatch(r"::error ([^:]*)::(.*)", lines[0])
    message = _unescape(first.group(2), False)
    assert message == "overlay 'x' extends unknown overlay 'eks-trainin'\nhint: did you mean 'eks-training'?"


def test_lint_github_reports_warnings_as_warnings(tmp_path):
    d = write_rules(tmp_path / "w", {"x.eidos": 'overlay w extends base {\n  when service == eks\n'
                                                '  component gpu-operator { set tag = 25.10 }\n}\n'})
    r = run_eidos("lint", "-o", "github", "--no-matrix", str(d))
    assert r.returncode == 0 and r.stdout.startswith("::warning file="), r.stdout
    assert run_eidos("lint", "-o", "github", "--no-matrix", "--strict", str(d)).returncode == 1


def test_lint_sarif_validates_and_points_at_the_rule(tmp_path):
    d = write_rules(tmp_path / "typo", {"x.eidos": TYPO})
    r = run_eidos("lint", "-o", "sarif", str(d))
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    schema = json.loads((FIXTURES / "validate" / "sarif-schema-2.1.0.excerpt.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(doc)
    run = doc["runs"][0]
    (result,) = run["results"]
    assert result["level"] == "error" and run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "E203"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == f"{d}/x.eidos"
    assert loc["region"] == {"startLine": 1, "startColumn": 19, "endLine": 1, "endColumn": 30}


def test_lint_sarif_of_the_embedded_base_has_only_the_known_warnings():
    # the embedded base declares nodes, which no overlay reads (W505; layered rule bases
    # such as examples/rules read it): a warning, nothing else
    r = run_eidos("lint", "-o", "sarif", "--no-matrix")
    assert r.returncode == 0
    results = json.loads(r.stdout)["runs"][0]["results"]
    assert sorted((x["ruleId"], x["level"]) for x in results) == [("W505", "warning")]
    assert all(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "rules/facts.eidos"
               for x in results)


def test_every_command_the_workflow_needs_is_registered():
    assert {"lint", "test"} <= set(COMMANDS)
