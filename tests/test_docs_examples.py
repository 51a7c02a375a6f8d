"""Every runnable example in README.md and docs/*.md runs, and says what it shows.

Conventions (docs/testing.md#examples-in-the-docs-run):

* ```` ```console {run} ````: a transcript. Each ``$ `` line is a command (a trailing
  ``\\`` continues it on the next line); the lines after it, up to the next ``$ ``, are
  output that must appear in that order in what the command prints (stdout and stderr
  together). ``...`` or ``…`` stands for any text, a line of only ``...`` for any lines.
  The command must exit 0, or the code a trailing ``# exit N`` comment names.
* ```` ```sh {run} ````: a script, run with ``bash -e -o pipefail``; it must exit 0.
* ```` {no-run} ```` marks a shell example that cannot run here (a live cluster, Docker,
  the network, a run of the whole suite); the text around it says why.

Every shell block (``sh``, ``bash``, ``shell``, ``console``) carries one of the two
markers, and so does any unlabelled block showing ``$ eidos`` commands, so a new example
cannot silently escape this test. The runnable blocks of one page run in order, in one
fresh directory (a page reads top to bottom: a later example may use a file an earlier
one wrote) holding ``tests/``, ``rules/``, ``recipes/`` and ``examples/`` of this checkout
(symlinks), with ``eidos`` on PATH, no kubeconfig and a private HOME.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_blocks import ROOT, all_blocks

BLOCKS = all_blocks()
RUNNABLE = [b for b in BLOCKS if b.runs]
_EXIT = re.compile(r"\s#\s*exits?\s+(\d+)\s*$")
_ELLIPSIS = re.compile(r"\\\.\\\.\\\.|…")


def _needs_marker(b) -> bool:
    if b.shell:
        return True
    return b.language == "" and any(line.startswith("$ eidos") for line in b.body.splitlines())


def test_every_shell_example_is_marked_run_or_no_run():
    unmarked = [b.id for b in BLOCKS if _needs_marker(b) and not ({"run", "no-run"} & set(b.markers))]
    assert not unmarked, f"mark these blocks {{run}} (preferred) or {{no-run}}: {unmarked}"
    both = [b.id for b in BLOCKS if {"run", "no-run"} <= set(b.markers)]
    assert not both


def test_the_docs_have_runnable_examples_in_the_main_pages():
    files = {b.file.name for b in RUNNABLE}
    assert {"README.md", "authoring.md", "validate.md", "testing-rules.md", "cli.md"} <= files


def test_the_no_run_examples_are_the_few_that_cannot_run():
    """A shell example that could run but is marked {no-run} is an example nobody checks."""
    for b in BLOCKS:
        if "no-run" in b.markers:
            assert re.search(r"kubectl|docker|--deploy-agent|cm://|pip install|pytest|tests\.mutation|"
                             r"--cleanup|--host-root|completion|--charts|git |pre-commit|\.venv", b.body), \
                f"{b.id} looks runnable: mark it {{run}}"


def commands(body: str) -> list[tuple[str, int, list[str]]]:
    """(command, expected exit code, expected output lines) of a console transcript."""
    out: list[tuple[str, int, list[str]]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            if out:
                out[-1][2].append(line)
            elif line.strip():
                raise AssertionError(f"output before the first '$ ' command: {line!r}")
            i += 1
            continue
        command = line[2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + "\n" + lines[i]
        match = _EXIT.search(command)
        code = int(match.group(1)) if match else 0
        out.append((command, code, []))
        i += 1
    return out


def _pattern(expected: str) -> re.Pattern:
    return re.compile(_ELLIPSIS.sub(".*", re.escape(expected.rstrip())))


def missing_output(expected: list[str], actual: str) -> str | None:
    """The first expected line not found (in order) in the actual output, or None."""
    have = [line.rstrip() for line in actual.splitlines()]
    at = 0
    for line in expected:
        if not line.strip() or line.strip() in ("...", "…"):
            continue
        pattern = _pattern(line)
        while at < len(have) and not pattern.fullmatch(have[at]):
            at += 1
        if at == len(have):
            return line
        at += 1
    return None


@pytest.fixture
def workdir(tmp_path) -> tuple[Path, dict]:
    for part in ("tests", "rules", "recipes", "examples"):
        (tmp_path / part).symlink_to(ROOT / part)
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    shim = bin_dir / "eidos"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m eidos "$@"\n')
    shim.chmod(0o755)
    (tmp_path / ".home").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "EIDOS_DEBUG", "NO_COLOR", "CI")}
    env.update({"PATH": f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path / ".home"),
                "PYTHONPATH": str(ROOT), "COLUMNS": "100"})
    return tmp_path, env


def _run(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], check=False, cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)


PAGES = sorted({b.file for b in RUNNABLE})


def run_block(block, cwd: Path, env: dict) -> None:
    if block.language == "console":
        steps = commands(block.body)
        assert steps, f"{block.id}: a console block with no '$ ' command"
        for command, code, expected in steps:
            r = _run(command, cwd, env)
            assert r.returncode == code, f"{block.id}: `{command}` exited {r.returncode}, the doc says " \
                                         f"{code}\n{r.stdout}"
            gone = missing_output(expected, r.stdout)
            assert gone is None, f"{block.id}: `{command}` did not print\n  {gone}\n(in order); it printed:\n{r.stdout}"
    else:
        r = _run(block.body, cwd, env)
        assert r.returncode == 0, f"{block.id}: exited {r.returncode}\n{r.stdout}"


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_runnable_examples(page, workdir):
    cwd, env = workdir
    for block in (b for b in RUNNABLE if b.file == page):
        run_block(block, cwd, env)


# ------------------------------------------------------------------ the checker itself can fail


def test_the_transcript_parser_reads_commands_codes_and_output():
    body = "$ eidos lint x  # exit 1\nline one\n...\n$ eidos a \\\n  --b\n"
    assert commands(body) == [("eidos lint x  # exit 1", 1, ["line one", "..."]), ("eidos a \n  --b", 0, [])]
    with pytest.raises(AssertionError):
        commands("orphan output\n$ eidos x\n")


@pytest.mark.parametrize("expected, actual, missing", [
    (["a", "c"], "a\nb\nc\n", None),
    (["c", "a"], "a\nb\nc\n", "a"),  # order matters
    (["x ... z"], "x y z\n", None),
    (["x … z"], "x y z\n", None),
    (["x y"], "x y z\n", "x y"),  # a whole line, not a prefix
    (["  indented"], "indented\n", "  indented"),
    (["a", "...", "d"], "a\nb\nc\nd\n", None),
    (["a.b"], "axb\n", "a.b"),  # text is literal, not a pattern
])
def test_output_matching(expected, actual, missing):
    assert missing_output(expected, actual) == missing
