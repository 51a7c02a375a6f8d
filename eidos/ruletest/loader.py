"""Finding and reading test files: every mistake is an error at ``file:line`` (exit 2).

A test file is YAML with one key, ``tests``, a list of cases (docs/testing-rules.md).
The checks here are about the file's shape and about names the rule base can check
without running anything: unknown keys, facts the rule base does not declare or values
they cannot take, a verdict status that does not exist, a value path that does not parse,
``checks`` without a snapshot to judge. A test file that is wrong must never look like a
passing (or failing) test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eidos.engine.facts import coerce_fact
from eidos.engine.values import ValuePathError, parse_path
from eidos.errors import EidosError, InputError
from eidos.io import yamlio
from eidos.io.inputs import read_input
from eidos.lang.diagnostics import did_you_mean
from eidos.ruletest.model import CASE_KEYS, EXPECT_KEYS, STATUSES, Case

SUFFIXES = ("_test.yaml", "_test.yml")
COMPONENT_KEYS = ("version", "type", "namespace", "chart", "repository", "manifests")
REQUIREMENT_KEYS = ("expr", "severity", "overlay")


def is_test_file(name: str) -> bool:
    return name.endswith(SUFFIXES)


def discover(directory: str) -> list[tuple[str, Path]]:
    """(shown path, file) of every test file below ``directory``, sorted; hidden entries skipped."""
    root = Path(directory)
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(filenames):
            if name.startswith(".") or not is_test_file(name):
                continue
            full = Path(dirpath) / name
            found.append((os.path.join(directory, full.relative_to(root).as_posix()), full))
    return found


class _File:
    """One test file being read: its name, the line of every key, the graph to check names against."""

    def __init__(self, shown: str, path: Path, lines: dict, graph):
        self.shown = shown
        self.path = path
        self.lines = lines
        self.graph = graph

    def line(self, path: tuple) -> int:
        for end in range(len(path), 0, -1):
            if tuple(path[:end]) in self.lines:
                return self.lines[tuple(path[:end])]
        return 1

    def fail(self, path: tuple, message: str, hint: str | None = None) -> InputError:
        return InputError(f"{self.shown}:{self.line(path)}: {message}", hint=hint)

    def keys(self, value: Any, path: tuple, allowed: tuple[str, ...], what: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"{what} must be a mapping, not {_kind(value)}")
        for key in value:
            if key not in allowed:
                raise self.fail(path + (key,), f"unknown key '{key}' in {what}",
                                hint=did_you_mean(key, allowed) or "allowed: " + ", ".join(allowed))
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}")


def load_file(shown: str, path: Path, graph) -> list[Case]:
    """The cases of one test file, checked against the rule graph; raises InputError."""
    text, _ = read_input(str(path), "rule test file")
    doc, lines = yamlio.load(text, shown, with_lines=True)
    f = _File(shown, path, lines, graph)
    if doc is None:
        raise f.fail((), "empty test file: expected a 'tests' list")
    f.keys(doc, (), ("tests",), "a test file")
    cases = doc.get("tests")
    if not isinstance(cases, list) or not cases:
        raise f.fail(("tests",), "'tests' must be a non-empty list of cases")
    out: list[Case] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(cases):
        case = _case(f, raw, ("tests", i))
        if case.name in seen:
            raise f.fail(("tests", i, "name"), f"duplicate case name '{case.name}' (first at line {seen[case.name]})")
        seen[case.name] = case.line
        out.append(case)
    return out


def _case(f: _File, raw: Any, at: tuple) -> Case:
    f.keys(raw, at, CASE_KEYS, "a test case")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise f.fail(at + ("name",), "every case needs a 'name' (a non-empty string)")
    facts = _facts(f, raw.get("facts"), at + ("facts",)) if "facts" in raw else ()
    snapshot = raw.get("snapshot")
    if snapshot is not None:
        if not isinstance(snapshot, str) or not snapshot:
            raise f.fail(at + ("snapshot",), "'snapshot' must be a path (relative to the test file)")
        snapshot = str(f.path.parent / snapshot)
        if not Path(snapshot).is_file():
            raise f.fail(at + ("snapshot",), f"snapshot '{raw['snapshot']}' not found next to {f.shown}")
    if not facts and snapshot is None:
        raise f.fail(at, f"case '{name}' needs 'facts', a 'snapshot', or both")
    expect = raw.get("expect")
    if not expect:
        raise f.fail(at + ("expect",) if "expect" in raw else at,
                     f"case '{name}' expects nothing: add an 'expect' mapping")
    f.keys(expect, at + ("expect",), EXPECT_KEYS, "'expect'")
    _check_expect(f, expect, at + ("expect",), snapshot is not None)
    lines = {k[len(at):]: v for k, v in f.lines.items() if k[:len(at)] == at and len(k) > len(at)}
    return Case(f.shown, f.line(at + ("name",)), name.strip(), facts, snapshot, expect, lines)


def _facts(f: _File, raw: Any, at: tuple) -> tuple:
    if not isinstance(raw, dict):
        raise f.fail(at, f"'facts' must be a mapping of fact: value, not {_kind(raw)}")
    out = []
    for name, value in raw.items():
        out.append((name, _fact_value(f, name, value, at + (name,))))
    return tuple(out)


def _fact_value(f: _File, name: str, value: Any, at: tuple):
    spec = f.graph.facts.get(name)
    if spec is None:
        raise f.fail(at, f"unknown fact '{name}'", hint=did_you_mean(name, f.graph.facts)
                     or "facts: " + ", ".join(sorted(f.graph.facts)))
    if isinstance(value, (dict, list)) or value is None:
        raise f.fail(at, f"fact '{name}' needs a single value, not {_kind(value)}")
    try:
        return coerce_fact(spec, value)
    except EidosError as err:
        raise f.fail(at, err.message, hint=err.hint) from None


def _check_expect(f: _File, expect: dict, at: tuple, has_snapshot: bool) -> None:
    """Shapes of each expectation; values are compared at run time (compare.py)."""
    if "error" in expect and not isinstance(expect["error"], str):
        raise f.fail(at + ("error",), "'error' must be a string the resolution error contains")
    if "error" in expect and len(expect) > 1:
        raise f.fail(at + ("error",), "a case that expects an error can expect nothing else")
    if "facts" in expect:
        facts = expect["facts"]
        if not isinstance(facts, dict) or not facts:
            raise f.fail(at + ("facts",), "'expect.facts' must be a mapping of fact: value")
        for name, value in facts.items():
            if value is not False:  # false: the fact must be absent (not inferred)
                _fact_value(f, name, value, at + ("facts", name))
            elif name not in f.graph.facts:
                _fact_value(f, name, "", at + ("facts", name))
    if "overlays" in expect:
        _overlays(f, expect["overlays"], at + ("overlays",))
    if "components" in expect:
        comps = expect["components"]
        if not isinstance(comps, dict) or not comps:
            raise f.fail(at + ("components",), "'components' must be a mapping of component: version, "
                         "true/false (present/absent) or a mapping of fields")
        known = {a: c for c in f.graph.components.values() for a in (c.name, *c.aliases)}
        for name, want in comps.items():
            where = at + ("components", name)
            if name not in known:
                raise f.fail(where, f"no component named '{name}' in the catalog",
                             hint=did_you_mean(name, known))
            if isinstance(want, dict):
                f.keys(want, where, COMPONENT_KEYS, f"component '{name}'")
            elif not isinstance(want, (str, bool)):
                raise f.fail(where, f"component '{name}': expected a version string, true/false or a mapping")
    if "values" in expect:
        values = expect["values"]
        if not isinstance(values, dict) or not values:
            raise f.fail(at + ("values",), "'values' must be a mapping of component: {value path: value}")
        known = {a for c in f.graph.components.values() for a in (c.name, *c.aliases)}
        for comp, paths in values.items():
            if comp not in known:
                raise f.fail(at + ("values", comp), f"no component named '{comp}' in the catalog",
                             hint=did_you_mean(comp, known))
            if not isinstance(paths, dict) or not paths:
                raise f.fail(at + ("values", comp), f"values of '{comp}' must be a mapping of value path: value")
            for p in paths:
                try:
                    parse_path(str(p), "value path")
                except ValuePathError as err:
                    raise f.fail(at + ("values", comp, p), err.message) from None
    if "requirements" in expect:
        reqs = expect["requirements"]
        if not isinstance(reqs, dict) or not reqs:
            raise f.fail(at + ("requirements",), "'requirements' must be a mapping of name: expression, "
                         "true/false (present/absent) or a mapping of fields")
        for name, want in reqs.items():
            where = at + ("requirements", name)
            if isinstance(want, dict):
                f.keys(want, where, REQUIREMENT_KEYS, f"requirement '{name}'")
                if "expr" in want:
                    _expression(f, want["expr"], where + ("expr",))
            elif isinstance(want, str):
                _expression(f, want, where)
            elif not isinstance(want, bool):
                raise f.fail(where, f"requirement '{name}': expected an expression, true/false or a mapping")
    if "checks" in expect:
        checks = expect["checks"]
        if not has_snapshot:
            raise f.fail(at + ("checks",), "'checks' are judged on a snapshot: add 'snapshot: PATH' to the case")
        if not isinstance(checks, dict) or not checks:
            raise f.fail(at + ("checks",), "'checks' must be a mapping of check (or check/requirement): status")
        for name, status in checks.items():
            if status not in STATUSES:
                raise f.fail(at + ("checks", name), f"'{name}': status must be one of {', '.join(STATUSES)}, "
                             f"not {status!r}", hint=did_you_mean(str(status), STATUSES))


def canonical_expr(text: str, graph) -> str:
    """An expression as the recipe prints it (``K8s.cluster["a-b"]`` reads ``K8s.cluster.a-b``),
    through the language's own parser and checker; raises InputError with the reason."""
    from eidos.lang.diagnostics import Reporter
    from eidos.lang.expr import Checker, render
    from eidos.lang.parser import parse_expression

    reporter = Reporter()
    expr = parse_expression(text, "<expect>", reporter)
    ir = None
    if expr is not None:
        ir = Checker({n: f.type for n, f in graph.facts.items()}, reporter).check(expr, "measurements")
    if ir is None or reporter.has_errors:
        d = reporter.sorted()[0]
        raise InputError(f"expression {text!r}: {d.message} (column {d.span.col})", hint=d.hint)
    return render(ir)


def _expression(f: _File, text: Any, at: tuple) -> None:
    if not isinstance(text, str) or not text.strip():
        raise f.fail(at, "a requirement's expression must be a non-empty string")
    try:
        canonical_expr(text, f.graph)
    except InputError as err:
        raise f.fail(at, err.message, hint=err.hint) from None


def _overlays(f: _File, want: Any, at: tuple) -> None:
    if isinstance(want, list):
        items = want
    elif isinstance(want, dict):
        f.keys(want, at, ("include", "exclude"), "'overlays'")
        items = [x for key in ("include", "exclude") for x in (want.get(key) or [])]
        for key in ("include", "exclude"):
            if key in want and not isinstance(want[key], list):
                raise f.fail(at + (key,), f"'overlays.{key}' must be a list of overlay names")
    else:
        raise f.fail(at, "'overlays' must be the exact list applied, or {include: [...], exclude: [...]}")
    for i, name in enumerate(items):
        if not isinstance(name, str):
            raise f.fail(at, f"overlay names are strings, not {_kind(name)}")
        if name not in f.graph.overlays:
            raise f.fail(at, f"no overlay named '{name}' in the rule base",
                         hint=did_you_mean(name, f.graph.overlays))
