"""Running test cases: each query goes through the same code ``eidos recipe`` and
``eidos validate`` use, so a passing test means the command would answer the same.

Facts-only cases resolve a recipe (``engine.resolve``). A case with a snapshot is judged
like ``eidos validate --snapshot S`` with the case's facts as flags: facts inferred from
the snapshot by the rule base's ``infer`` rules, the case's facts over them, and the
verdicts of ``validate``'s ``Validator``; its recipe is resolved from those same facts.
"""

from __future__ import annotations

import re
from pathlib import Path

from eidos import engine
from eidos.engine.recipe import RecipeError
from eidos.errors import EidosError, UsageError
from eidos.io.resources import embedded_root
from eidos.ruletest import compare, coverage, loader
from eidos.ruletest.model import Case, CaseResult, Mismatch, RunResult


def is_embedded_rules(directory: str) -> bool:
    """Whether ``directory`` is the embedded rule base's own ``rules/`` (not a layer on top of it)."""
    try:
        return Path(directory).resolve() == (embedded_root() / "rules").resolve()
    except OSError:
        return False


def layers_for(dirs: list[str]) -> tuple[list[str], list[str]]:
    """(rule directories to layer over the embedded base, directories to look for tests in).

    No directory means the embedded base's own tests; the embedded ``rules/`` given
    explicitly is the base itself, not a layer on top of it (it would declare everything twice)."""
    if not dirs:
        return [], [str(embedded_root() / "rules")]
    for d in dirs:
        if not Path(d).is_dir():
            raise UsageError(f"{d}: no such directory" if not Path(d).exists() else
                             f"{d}: expected a directory of rules and *_test.yaml files",
                             hint="eidos test takes rule directories; select cases with --run")
        if not is_embedded_rules(d) and _looks_like_a_base(Path(d)):
            raise UsageError(f"{d}: this is the rules/ of another eidos rule base (it has facts.eidos and "
                             f"../recipes), not a layer over the one this eidos embeds ({embedded_root() / 'rules'})",
                             hint="run 'eidos test' for the embedded base, or install eidos from that "
                             "checkout (pip install -e .) to test its rules")
    return [d for d in dirs if not is_embedded_rules(d)], list(dirs)


def _looks_like_a_base(path: Path) -> bool:
    """An eidos checkout's rules/: it would redeclare every fact and overlay of the embedded base."""
    return path.name == "rules" and (path / "facts.eidos").is_file() and (path.parent / "recipes").is_dir() \
        and (path.parent / "grammar").is_dir()


def collect_cases(test_dirs: list[str], graph) -> tuple[list[Case], int]:
    """Every case of every test file below the directories, and the number of files."""
    cases: list[Case] = []
    files = 0
    for d in test_dirs:
        found = loader.discover(d)
        if not found:
            raise UsageError(f"{d}: no test files (*_test.yaml) found",
                             hint="write one next to the rules: docs/testing-rules.md")
        for shown, path in found:
            files += 1
            cases.extend(loader.load_file(shown, path, graph))
    return cases, files


def select(cases: list[Case], patterns: list[str]) -> list[Case]:
    """Cases whose id (``file::name``) matches any ``--run`` regular expression."""
    if not patterns:
        return cases
    compiled = []
    for p in patterns:
        try:
            compiled.append(re.compile(p))
        except re.error as err:
            raise UsageError(f"--run {p!r}: not a regular expression: {err}") from None
    chosen = [c for c in cases if any(r.search(c.id) for r in compiled)]
    if not chosen:
        raise UsageError(f"--run: no case matches {', '.join(repr(p) for p in patterns)}",
                         hint="case ids are FILE::NAME; eidos test lists them")
    return chosen


def run_case(graph, case: Case) -> CaseResult:
    """The case's result; an error the query itself raises (an unreadable snapshot, one
    that gives no facts) is a mistake in the test, reported at the case (exit 2)."""
    try:
        return _run_case(graph, case)
    except EidosError as err:
        at = case.line_of("snapshot") if case.snapshot is not None else case.line
        if not err.message.startswith(case.file):
            err.message = f"{case.file}:{at}: case '{case.name}': {err.message}"
        err.args = (err.message,)
        raise


def _run_case(graph, case: Case) -> CaseResult:
    facts = dict(case.facts)
    verdicts = ()
    expect = case.expect
    if case.snapshot is not None:
        from eidos.engine.inference import infer_facts
        from eidos.snapshot.io import load_snapshot
        from eidos.validate.fleet import Validator
        from eidos.validate.hostos import HostView

        snapshot = load_snapshot(case.snapshot)
        view = HostView(snapshot)
        inferred, _ = infer_facts(graph, lambda op: view.lookup(op.segments))
        facts = {**inferred, **dict(case.facts)}
        if "checks" in expect:
            verdicts = Validator(graph, flag_facts=dict(case.facts)).node(snapshot, case.snapshot).verdicts
    mismatches: list[Mismatch] = []
    if "facts" in expect:
        mismatches += compare.facts(case, expect["facts"], facts, graph)
    try:
        recipe = engine.resolve(graph, facts)
    except RecipeError as err:
        if "error" in expect:
            if expect["error"] not in err.message:
                mismatches.append(Mismatch("error", expect["error"], err.message, case.line_of("expect", "error")))
            return CaseResult(case, tuple(mismatches))
        mismatches.append(Mismatch("recipe", "a recipe", f"error: {err.message}", case.line))
        return CaseResult(case, tuple(mismatches))
    if "error" in expect:
        mismatches.append(Mismatch("error", expect["error"], "no error: the query resolved",
                                   case.line_of("expect", "error"), "overlays: " + ", ".join(recipe.overlays)))
    if "overlays" in expect:
        mismatches += compare.overlays(case, expect["overlays"], recipe.overlays)
    if "components" in expect:
        mismatches += compare.components(case, expect["components"], recipe)
    if "values" in expect:
        mismatches += compare.values(case, expect["values"], recipe)
    if "requirements" in expect:
        mismatches += compare.requirements(case, expect["requirements"], recipe, graph)
    touched: set[str] = set()
    if "checks" in expect:
        found, touched = compare.checks(case, expect["checks"], verdicts)
        mismatches += found
    return CaseResult(case, tuple(mismatches), tuple(recipe.overlays), tuple(sorted(touched)))


def run(dirs: list[str], patterns: list[str] = (), *, use_cache: bool = True) -> RunResult:
    rule_dirs, test_dirs = layers_for(list(dirs))
    graph = engine.load_graph(rule_dirs, use_cache=use_cache)
    cases, files = collect_cases(test_dirs, graph)
    chosen = select(cases, list(patterns))
    results = tuple(run_case(graph, c) for c in chosen)
    tested = coverage.tested_names(graph, rule_dirs, test_dirs, use_cache)
    return RunResult(results, coverage.measure(graph, results, tested), files)
