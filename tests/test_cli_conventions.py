"""One CLI convention everywhere (issue 9 item 5): flags, did-you-mean, --version, the reporter.

Most tests call ``eidos.cli.main.main`` in-process (fast, and capsys sees exactly what a
user would see on stdout/stderr); the output-flag behaviour of each command is tested end
to end in the command's own test file.
"""

from __future__ import annotations

import argparse
import io
import platform
import re
import sys
from pathlib import Path

import pytest

from eidos.cli import console
from eidos.cli.main import build_parser, main
from tests.conftest import ROOT, run_eidos, write_rules


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# ---- did-you-mean -----------------------------------------------------------------------


def test_unknown_fact_flag_suggests_the_schema_flag(capsys):
    code, out, err = run(capsys, "recipe", "--servce", "eks")
    assert code == 2 and out == ""
    assert "eidos: recipe: unrecognized arguments: --servce eks\n" in err
    assert "  hint: did you mean '--service'?\n" in err


def test_suggestions_come_from_the_rule_schema(tmp_path, capsys):
    """A fact declared by a --rules layer gets a flag, and misspellings of it are suggested."""
    mine = write_rules(tmp_path / "mine", {"region.eidos": "fact region: enum { emea, apac }\n"})
    code, _, err = run(capsys, "recipe", "--rules", str(mine), "--service", "eks", "--regoin", "emea")
    assert code == 2 and "did you mean '--region'?" in err
    # without the layer there is no such flag to suggest
    code, _, err = run(capsys, "recipe", "--service", "eks", "--regoin", "emea")
    assert code == 2 and "--region" not in err


def test_several_unknown_flags_each_get_a_suggestion(capsys):
    code, _, err = run(capsys, "recipe", "--servce", "eks", "--explian", "--acelerator=h100")
    assert code == 2
    assert "--servce: did you mean '--service'?" in err
    assert "--explian: did you mean '--explain'?" in err
    assert "--acelerator: did you mean '--accelerator'?" in err  # --flag=value form


def test_unknown_flag_without_a_close_match_points_to_help(capsys):
    code, _, err = run(capsys, "lint", "--zzzzzz")
    assert code == 2 and "unrecognized arguments: --zzzzzz" in err
    assert "hint: see 'eidos lint --help'" in err


@pytest.mark.parametrize("typo, meant", [("recipy", "recipe"), ("valdiate", "validate"),
                                         ("snapshto", "snapshot"), ("completon", "completion")])
def test_unknown_subcommand_suggests_the_command(capsys, typo, meant):
    code, out, err = run(capsys, typo)
    assert code == 2 and out == ""
    assert f"invalid choice: '{typo}'" in err and f"did you mean '{meant}'?" in err


def test_unknown_top_level_flag(capsys):
    code, _, err = run(capsys, "--verison")
    assert code == 2 and "did you mean '--version'?" in err


@pytest.mark.parametrize("argv, hint", [
    (["validate", "-s", "x.yaml", "-o", "jsno"], "did you mean 'json'?"),
    (["lint", "-o", "txt"], "did you mean 'text'?"),
    (["recipe", "--service", "eks", "-o", "recipe.yaml"],
     "-o chooses the format; to write to recipe.yaml, use --out recipe.yaml"),
    (["bundle", "--recipe", "r.json", "-d", "helmm"], "did you mean 'helm'?"),
    (["completion", "bsh"], "did you mean 'bash'?"),
])
def test_bad_choice_suggests_the_choice_or_out(capsys, argv, hint):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "invalid choice" in err and f"hint: {hint}" in err


def test_subprocess_acceptance_line():
    result = run_eidos("recipe", "--servce", "eks")
    assert result.returncode == 2 and "did you mean '--service'?" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the output convention across every command --------------------------------------------


def _commands():
    parser = build_parser(None, complete=True)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_every_command_follows_the_output_convention():
    """-o/--output names a format (a fixed set of words); --out takes the destination."""
    commands = _commands()
    assert set(commands) >= {"recipe", "lint", "snapshot", "validate", "bundle", "completion"}
    for name, parser in commands.items():
        actions = parser._option_string_actions
        if name != "completion":  # its format is the SHELL argument
            assert "-o" in actions and actions["-o"] is actions["--output"], name
            formats = getattr(actions["-o"], "formats", None) or actions["-o"].choices
            assert formats and all(re.fullmatch(r"[a-z]+", f) for f in formats), (name, formats)
        assert "--out" in actions, name
        out = actions["--out"]
        assert out.choices is None and out.nargs is None and out.default is None, name
        assert "--format" not in parser.format_help(), name  # the old flag is hidden


def test_help_shows_the_format_choices():
    commands = _commands()
    assert "-o {yaml,json}, --output {yaml,json}" in commands["snapshot"].format_help()
    assert "{helm,argocd,flux,script}" in commands["bundle"].format_help()


def test_lint_out_writes_the_report(tmp_path, capsys):
    target = tmp_path / "lint.json"
    code, out, _ = run(capsys, "lint", "-o", "json", "--out", str(target))
    assert code == 0 and out == ""
    assert '"summary"' in target.read_text()


# ---- --version -----------------------------------------------------------------------------


def test_version_names_everything_a_bug_report_needs(capsys):
    from eidos import __version__
    from eidos.engine import sources

    code, out, err = run(capsys, "--version")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"eidos {__version__}"
    assert lines[1] == f"python: {platform.python_version()} ({platform.python_implementation()})"
    assert lines[2] == f"platform: {platform.platform()}"
    ruleset = sources.collect([])
    assert lines[3] == f"rule base: sha256:{ruleset.digest} (embedded, {len(ruleset.files)} rule files)"
    assert re.fullmatch(r"[0-9a-f]{64}", ruleset.digest)


def test_version_subprocess():
    result = run_eidos("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert re.search(r"^rule base: sha256:[0-9a-f]{64} ", result.stdout, re.MULTILINE)
    assert "CPython" in result.stdout or platform.python_implementation() in result.stdout


# ---- the reporter ------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (None, False), ("", False), ("0", False), ("false", False), ("False", False), ("no", False),
    ("off", False), ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("gitlab", True),
])
def test_is_ci_reads_the_variable_one_way(value, expected):
    env = {} if value is None else {"CI": value}
    assert console.is_ci(env) is expected


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_interactive_needs_a_terminal_and_no_ci():
    assert console.interactive(_Tty(), {}) is True
    assert console.interactive(_Tty(), {"CI": "true"}) is False
    assert console.interactive(_Tty(), {"CI": "false"}) is True
    assert console.interactive(io.StringIO(), {}) is False
    assert console.interactive(None, {}) is False


@pytest.mark.parametrize("ci, shown", [("true", False), ("1", False), ("false", True), (None, True)])
def test_the_three_ci_readers_agree(monkeypatch, ci, shown):
    """agent progress, snapshot summary and validate progress all follow console.is_ci."""
    from eidos.cli import cmd_snapshot, cmd_validate
    from eidos.snapshot import agent

    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert agent.Progress(stream=_Tty()).enabled is shown
    assert (cmd_validate._progress(_Tty()) is not None) is shown
    stderr = _Tty()
    monkeypatch.setattr(sys, "stderr", stderr)

    class Snap:
        collectors = ()

    cmd_snapshot._summary(Snap(), "snap.yaml")
    assert (stderr.getvalue() == "eidos: wrote snap.yaml (collectors: )\n") is shown


def test_reporter_formats():
    stream = io.StringIO()
    console.error("bad thing", hint="do this", stream=stream)
    console.warning("odd thing", details=["a: 1", "b: 2"], stream=stream)
    console.notice("wrote x", stream=stream)
    assert stream.getvalue() == (
        "eidos: bad thing\n  hint: do this\n"
        "eidos: warning: odd thing\n  a: 1\n  b: 2\n"
        "eidos: wrote x\n"
    )


def test_reporter_uses_the_current_stderr(capsys):
    console.warning("late binding")
    assert capsys.readouterr().err == "eidos: warning: late binding\n"


def test_unexpected_exception_is_an_internal_error_without_traceback(monkeypatch, capsys):
    from eidos.cli import cmd_lint

    def boom(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(cmd_lint, "run", boom)
    monkeypatch.delenv("EIDOS_DEBUG", raising=False)
    code, out, err = run(capsys, "lint")
    assert code == 3 and out == ""
    assert err == ("eidos: internal error: RuntimeError: boom\n"
                   "  hint: rerun with EIDOS_DEBUG=1 for a traceback and report it\n")


def test_nothing_outside_the_reporter_writes_to_stderr():
    """Messages go through eidos.cli.console; library code never prints."""
    allowed = {
        Path("eidos/cli/console.py"),
    }
    pattern = re.compile(r"file=sys\.stderr|sys\.stderr\.write|print\(f?[\"']eidos:")
    offenders = []
    for path in sorted((ROOT / "eidos").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel in allowed:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []
