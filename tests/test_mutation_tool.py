"""The mutation tester works: operators splice cleanly, kills and survivors are told apart,
a hang counts as killed, and the project it mutates is never modified.

Runs the real tool (``python -m tests.mutation``) on a tiny throw-away project with a
handful of mutants, so CI proves the tool every run in a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.mutation.operators import mutants
from tests.mutation import testmap

ROOT = Path(__file__).resolve().parent.parent

TINY = '''\
"""A tiny module to mutate."""


def clamp(x, lo, hi):
    if x < lo:
        return lo
    return min(x, hi)


def count_up(n):
    i = 0
    while i < n:
        i += 1
    return i
'''

TINY_TESTS = '''\
from tiny import clamp, count_up


def test_clamp():
    assert clamp(-5, 0, 10) == 0
    assert clamp(50, 0, 10) == 10


def test_count_up():
    assert count_up(3) == 3
'''


def _mutate(source: str, description: str) -> str:
    (m,) = [m for m in mutants("x.py", source) if m.description == description]
    return m.apply(source)


def test_operators_splice_one_change_and_keep_the_rest():
    src = "def f(a, b):\n    # keep me\n    if a < b and b:\n        return a\n    for x in a:\n        continue\n    return True\n"
    assert _mutate(src, "`<` -> `<=`") == src.replace("a < b", "(a <= b)")
    assert _mutate(src, "`and` -> `or`") == src.replace("a < b and b", "(a < b or b)")
    assert _mutate(src, "`continue` -> `break`") == src.replace("continue", "break")
    assert _mutate(src, "`return a` -> `return None`") == src.replace("return a", "return None")
    assert _mutate(src, "`True` -> `False`") == src.replace("return True", "return False")
    assert _mutate(src, "`a < b and b` -> `not (...)`") == src.replace("a < b and b", "(not (a < b and b))")
    for m in mutants("x.py", src):
        out = m.apply(src)
        compile(out, "x.py", "exec")
        assert "# keep me" in out and out.count("\n") == src.count("\n")  # line numbers unchanged


def test_docstrings_annotations_and_pragmas_are_not_mutated():
    src = ('"""doc"""\nimport attrs\n\n\n@attrs.frozen(slots=True)\nclass A:\n    """doc"""\n    x: int = 0\n\n\n'
           'def f(a: int = 1) -> str:\n    """doc"""\n    return "s"  # mutation: equivalent (test)\n')
    descriptions = [m.description for m in mutants("x.py", src)]
    # only the two defaults; docstrings, annotations, the decorator and the pragma line are skipped
    assert descriptions == ["`0` -> `1`", "`1` -> `2`"]


def test_every_core_module_is_mapped_to_existing_tests():
    for module in ("eidos/lang/versions.py", "eidos/lang/expr.py", "eidos/lang/expr/ops.py",
                   "eidos/engine/matcher.py", "eidos/engine/values.py", "eidos/validate/verdicts.py"):
        assert testmap.tests_for(module), module
    for tests in testmap.TEST_MAP.values():
        for t in tests:
            assert (ROOT / t).exists(), t
    assert testmap.tests_for("eidos/cli/main.py") is None


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(directory.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(directory).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def test_the_tool_kills_reports_survivors_and_leaves_the_project_alone(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "tiny.py").write_text(TINY, encoding="utf-8")
    (project / "test_tiny.py").write_text(TINY_TESTS, encoding="utf-8")
    before = _digest(project)
    # 3 mutants, chosen by hand from the full list: `<` -> `<=` in clamp survives (the test
    # never calls clamp with x == lo), `return lo` -> `return None` is killed, removing
    # `i += 1` makes count_up loop forever and is killed by the timeout.
    listing = subprocess.run(
        [sys.executable, "-m", "tests.mutation", "--root", str(project), "tiny.py", "--list"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "tiny.py:5:7: `<` -> `<=` [compare]" in listing.stdout
    assert "tiny.py:13:8: removed `i += 1` [remove]" in listing.stdout

    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.mutation", "--root", str(project), "tiny.py", "--tests", "test_tiny.py",
         "--timeout", "8", "--jobs", "2", "--sample", "3", "--seed", "42", "--json", str(report), "--fail-under", "50"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    (module,) = data["modules"]
    got = {(o["line"], o["description"]): o["status"] for o in module["outcomes"]}
    assert got == {
        (5, "`<` -> `<=`"): "survived",
        (6, "`return lo` -> `return None`"): "killed",
        (13, "removed `i += 1`"): "timeout",
    }
    assert (module["killed"], module["run"]) == (2, 3)
    assert "tiny.py:5: `<` -> `<=`" in proc.stdout and "66.7%" in proc.stdout
    assert _digest(project) == before  # the mutants never touched the project itself

    # below the threshold: exit 1 (seed 2 samples just the survivor)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.mutation", "--root", str(project), "tiny.py", "--tests", "test_tiny.py",
         "--sample", "1", "--seed", "2", "--fail-under", "90", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_bad_invocations_exit_2(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY, encoding="utf-8")
    (tmp_path / "test_tiny.py").write_text("def test_fails():\n    assert False\n", encoding="utf-8")
    for args, message in [
        (["nope.py"], "not a Python file or package directory"),
        (["tiny.py"], "no tests mapped"),
        (["tiny.py", "--tests", "test_tiny.py", "--sample", "1"], "do not pass without mutation"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "tests.mutation", "--root", str(tmp_path), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)


def test_an_interrupted_run_stops_its_tests_and_cleans_up(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "tiny.py").write_text(TINY, encoding="utf-8")
    (project / "test_tiny.py").write_text(TINY_TESTS, encoding="utf-8")
    before = _digest(project)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    # the one mutant that hangs; SIGTERM arrives while its test run is looping
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.mutation", "--root", str(project), "tiny.py", "--tests", "test_tiny.py",
         "--only", "removed `i += 1`", "--timeout", "120"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(scratch.glob("eidos-mutation-*/project/tiny.py")):
        time.sleep(0.1)
    time.sleep(2.0)  # baseline done, the mutant's test run under way
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    assert list(scratch.iterdir()) == []  # the temporary copy is gone
    assert _digest(project) == before
