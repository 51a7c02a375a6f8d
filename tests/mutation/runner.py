"""Run each mutant against its tests in a throw-away copy of the project.

Every worker owns a copy of the project in a temporary directory; a mutant is written
into that copy, its module's tests run there in a fresh ``pytest`` process, and the
original text is written back. The work tree is only ever read, so a run that is
interrupted (even by SIGKILL) leaves it untouched; at worst a temporary copy stays behind.

A mutant is *killed* when the tests fail (any non-zero exit, including an import error
the mutant causes) or exceed the timeout (a mutant that makes the code hang is as
visible to a developer as a failing test); it *survives* when they pass.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs

from tests.mutation.operators import Mutant, mutants

_IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".hypothesis", ".pytest_cache",
                                 ".venv", "venv", "*.egg-info", "build", "dist", ".mypy_cache", ".ruff_cache")
_PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"


@attrs.frozen
class Outcome:
    mutant: Mutant
    status: str  # killed | timeout | survived
    seconds: float
    source_line: str


@attrs.frozen
class ModuleResult:
    path: str
    tests: tuple[str, ...]
    total_mutants: int  # before sampling and equivalence filtering
    equivalent: int
    outcomes: tuple[Outcome, ...]

    @property
    def killed(self) -> int:
        return sum(o.status != "survived" for o in self.outcomes)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / len(self.outcomes) if self.outcomes else 100.0


class MutationError(Exception):
    """The run cannot start or its baseline is broken; the message says what to fix."""


def expand(root: Path, paths: list[str]) -> list[str]:
    """Files and packages, as project-relative ``.py`` paths in a stable order."""
    out: list[str] = []
    for given in paths:
        p = (root / given) if not Path(given).is_absolute() else Path(given)
        if p.is_dir():
            files = sorted(q for q in p.rglob("*.py") if "__pycache__" not in q.parts)
        elif p.is_file() and p.suffix == ".py":
            files = [p]
        else:
            raise MutationError(f"{given}: not a Python file or package directory")
        for f in files:
            try:
                rel = f.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                raise MutationError(f"{given}: outside the project root {root}") from None
            if rel not in out:
                out.append(rel)
    return out


def is_equivalent(m: Mutant, lines: list[str], entries: list[dict]) -> bool:
    text = lines[m.line - 1]
    for e in entries:
        if e["path"] != m.path or e["line"] not in text:
            continue
        if "description" in e and e["description"] not in m.description:
            continue
        if "occurrence" in e:
            nth = sum(e["line"] in t for t in lines[: m.line])
            if nth != e["occurrence"]:
                continue
        return True
    return False


def label(m: Mutant) -> str:
    """How a mutant is shown and matched by ``--only``: ``path:line: description``."""
    return f"{m.path}:{m.line}: {m.description}"


def select(root: Path, path: str, sample: int | None, seed: int, equivalents: list[dict],
           only: str | None = None):
    """(all mutants count, equivalent count, the chosen mutants in source order)."""
    source = (root / path).read_text(encoding="utf-8")
    found = mutants(path, source)
    lines = source.splitlines()
    kept = [m for m in found if not is_equivalent(m, lines, equivalents)]
    equivalent = len(found) - len(kept)
    if only is not None:
        kept = [m for m in kept if only in label(m)]
    chosen = kept
    if sample is not None and sample < len(kept):
        # seeded by path too, so adding a module does not reshuffle another's sample
        rng = random.Random(f"{seed}:{path}")
        picked = set(rng.sample(range(len(kept)), sample))
        chosen = [m for i, m in enumerate(kept) if i in picked]
    return len(found), equivalent, chosen


class Workspace:
    """A private copy of the project for one worker."""

    def __init__(self, root: Path):
        self.tmp = Path(tempfile.mkdtemp(prefix="eidos-mutation-"))
        self.root = self.tmp / "project"
        shutil.copytree(root, self.root, ignore=_IGNORE, symlinks=True)
        self.cache = self.tmp / "cache"
        self.cache.mkdir()
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), str(_PLUGIN_DIR)])
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # a same-size edit in the same second must not reuse a stale .pyc
        env["EIDOS_CACHE_DIR"] = str(self.cache)
        env.pop("EIDOS_UPDATE_GOLDEN", None)
        env.pop("PYTEST_ADDOPTS", None)
        return env

    def run_tests(self, tests: list[str], timeout: float) -> tuple[str, float]:
        """('passed' | 'failed' | 'timeout', seconds)."""
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-p", "mutation_profile", "--no-header", "-o", "addopts=", *tests]
        start = time.monotonic()
        proc = self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env(), stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return "timeout", time.monotonic() - start
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            self.proc = None
        return ("passed" if rc == 0 else "failed"), time.monotonic() - start

    def stop(self) -> None:
        """Kill the test run in progress, if any (on interruption)."""
        proc = self.proc
        if proc is not None:
            _kill_group(proc)

    def mutate_and_test(self, m: Mutant, original: str, tests: list[str], timeout: float) -> tuple[str, float]:
        target = self.root / m.path
        target.write_text(m.apply(original), encoding="utf-8")
        try:
            result, seconds = self.run_tests(tests, timeout)
        finally:
            target.write_text(original, encoding="utf-8")
        status = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[result]
        return status, seconds

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def run(root: Path, paths: list[str], *, sample: int | None, seed: int, jobs: int,
        timeout: float | None, tests_override: list[str] | None, test_map, equivalents: list[dict],
        only: str | None = None, progress=None) -> list[ModuleResult]:
    """Mutate each module, run its tests per mutant, and collect the outcomes."""
    spaces: queue.Queue[Workspace] = queue.Queue()
    created: list[Workspace] = []
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        modules = expand(root, paths)
        for _ in range(max(1, jobs)):
            ws = Workspace(root)
            created.append(ws)
            spaces.put(ws)
        # plan from the first copy, so an edit to the work tree during the run changes nothing
        plan = _plan(created[0].root, modules, sample, seed, tests_override, test_map, equivalents, only)
        results = []
        for path, tests, total, equivalent, chosen in plan:
            ws = spaces.get()
            result, base_seconds = ws.run_tests(tests, 600)
            spaces.put(ws)
            if result != "passed":
                raise MutationError(
                    f"{path}: its tests do not pass without mutation ({result}): "
                    f"python -m pytest -x -q {' '.join(tests)}")
            limit = timeout or max(20.0, 4 * base_seconds + 10)
            original = (created[0].root / path).read_text(encoding="utf-8")
            lines = original.splitlines()
            lock = threading.Lock()
            done = [0]

            def one(m: Mutant) -> Outcome:
                ws = spaces.get()
                try:
                    status, seconds = ws.mutate_and_test(m, original, tests, limit)
                finally:
                    spaces.put(ws)
                outcome = Outcome(m, status, round(seconds, 2), lines[m.line - 1].strip())
                if progress:
                    with lock:
                        done[0] += 1
                        progress(path, done[0], len(chosen), outcome)
                return outcome

            pool = ThreadPoolExecutor(max_workers=max(1, jobs))
            try:
                outcomes = list(pool.map(one, chosen))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                for ws in created:
                    ws.stop()
                raise
            pool.shutdown()
            results.append(ModuleResult(path, tuple(tests), total, equivalent, tuple(outcomes)))
        return results
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        for ws in created:
            ws.stop()
            ws.close()


def _plan(root: Path, modules, sample, seed, tests_override, test_map, equivalents, only):
    plan = []
    for path in modules:
        tests = tests_override or test_map(path)
        if not tests:
            raise MutationError(f"{path}: no tests mapped (add it to tests/mutation/testmap.py or pass --tests)")
        for t in tests:
            if not (root / t.split("::")[0]).exists():
                raise MutationError(f"{path}: mapped test {t} does not exist")
        total, equivalent, chosen = select(root, path, sample, seed, equivalents, only)
        source = (root / path).read_text(encoding="utf-8")
        for m in chosen:
            compile(m.apply(source), path, "exec")  # operators must splice into valid code
        plan.append((path, tests, total, equivalent, chosen))
    return plan


def _interrupt(signum, frame):
    """SIGTERM unwinds like Ctrl-C, so running test processes are killed and copies removed."""
    raise KeyboardInterrupt


def report_text(results: list[ModuleResult]) -> str:
    out = [f"{'module':<34} {'killed':>6} {'total':>6} {'score':>7}  (mutants in module, equivalent skipped)"]
    for r in results:
        out.append(f"{r.path:<34} {r.killed:>6} {len(r.outcomes):>6} {r.score:>6.1f}%  "
                   f"({r.total_mutants}, {r.equivalent})")
    killed = sum(r.killed for r in results)
    total = sum(len(r.outcomes) for r in results)
    out.append(f"{'all':<34} {killed:>6} {total:>6} {100.0 * killed / total if total else 100.0:>6.1f}%")
    survivors = [o for r in results for o in r.outcomes if o.status == "survived"]
    if survivors:
        out.append("")
        out.append("survivors:")
        for o in survivors:
            m = o.mutant
            out.append(f"  {m.path}:{m.line}: {m.description}   [{m.operator}]   | {o.source_line}")
    return "\n".join(out)


def report_json(results: list[ModuleResult], *, sample, seed) -> str:
    return json.dumps({
        "sample": sample,
        "seed": seed,
        "modules": [
            {
                "path": r.path, "tests": list(r.tests), "mutants": r.total_mutants, "equivalent": r.equivalent,
                "run": len(r.outcomes), "killed": r.killed, "score": round(r.score, 1),
                "outcomes": [
                    {"line": o.mutant.line, "col": o.mutant.col, "operator": o.mutant.operator,
                     "description": o.mutant.description, "status": o.status, "seconds": o.seconds,
                     "source": o.source_line}
                    for o in r.outcomes
                ],
            }
            for r in results
        ],
    }, indent=2, sort_keys=True) + "\n"
