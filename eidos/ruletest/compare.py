"""Expected against actual: each kind of expectation turned into mismatches.

Values compare strictly: ``1`` is not ``true`` and ``"1.0"`` is not ``1.0``, because a
Helm chart reads them differently. Expressions compare in the form the recipe prints
(parsed and rendered by the language itself, so ``K8s.cluster["a-b"]`` equals
``K8s.cluster.a-b``), ignoring whitespace. A check expectation names what ``validate
--only`` accepts: a check (its verdict is the worst of its requirements'), a
``check/requirement``, a recipe requirement, or a verdict id.
"""

from __future__ import annotations

import re
from typing import Any

from eidos.engine.values import MISSING as NO_VALUE
from eidos.engine.values import format_path, lookup, parse_path
from eidos.lang.diagnostics import did_you_mean
from eidos.lang.measurements import MISSING
from eidos.ruletest.model import Case, Mismatch

ABSENT = "(absent)"


def same(expected: Any, actual: Any) -> bool:
    """Equality that keeps YAML's types apart (bool vs int, int vs str), recursively."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, dict):
        return expected.keys() == actual.keys() and all(same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual))
    return expected == actual


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def overlays(case: Case, want: Any, applied: tuple[str, ...]) -> list[Mismatch]:
    line = case.line_of("expect", "overlays")
    if isinstance(want, list):
        if list(applied) == want:
            return []
        missing = [o for o in want if o not in applied]
        extra = [o for o in applied if o not in want]
        notes = [f"- {o} (expected, not applied)" for o in missing] + [f"+ {o} (applied, not expected)" for o in extra]
        if not notes:
            notes = ["same overlays, different order (the recipe applies them in this order)"]
        return [Mismatch("overlays", want, list(applied), line, "\n".join(notes))]
    out = []
    for name in want.get("include") or []:
        if name not in applied:
            out.append(Mismatch(f"overlays.include {name}", "applied", "not applied",
                                case.line_of("expect", "overlays", "include"), "applied: " + ", ".join(applied)))
    for name in want.get("exclude") or []:
        if name in applied:
            out.append(Mismatch(f"overlays.exclude {name}", "not applied", "applied",
                                case.line_of("expect", "overlays", "exclude"), "applied: " + ", ".join(applied)))
    return out


def _component(recipe, name: str):
    for c in recipe.components:
        if name == c.name or name in c.aliases:
            return c
    return None


def components(case: Case, want: dict, recipe) -> list[Mismatch]:
    out = []
    for name, expected in want.items():
        line = case.line_of("expect", "components", name)
        c = _component(recipe, name)
        if expected is False:
            if c is not None:
                out.append(Mismatch(f"components.{name}", ABSENT, f"present ({c.version or c.tag or c.type})", line))
            continue
        if c is None:
            out.append(Mismatch(f"components.{name}", "present", ABSENT, line,
                                "components: " + ", ".join(x.name for x in recipe.components)))
            continue
        if expected is True:
            continue
        fields = {"version": expected} if isinstance(expected, str) else expected
        for key, value in fields.items():
            actual = getattr(c, key)
            if isinstance(actual, tuple):
                actual = list(actual)
            if not same(value, actual):
                out.append(Mismatch(f"components.{name}.{key}", value, actual,
                                    case.line_of("expect", "components", name, key)))
    return out


def values(case: Case, want: dict, recipe) -> list[Mismatch]:
    out = []
    for name, paths in want.items():
        c = _component(recipe, name)
        if c is None:
            out.append(Mismatch(f"values.{name}", "component in the recipe", ABSENT,
                                case.line_of("expect", "values", name)))
            continue
        for text, expected in paths.items():
            path = parse_path(str(text), "value path")
            actual, depth = lookup(c.values, path)
            line = case.line_of("expect", "values", name, text)
            what = f"values.{name}: {format_path(path)}"
            if actual is NO_VALUE:
                note = f"{format_path(path[:depth]) or 'the values'} has no key '{path[depth]}'" if depth < len(path) else ""
                out.append(Mismatch(what, expected, ABSENT, line, note))
            elif not same(expected, actual):
                out.append(Mismatch(what, expected, actual, line))
    return out


def requirements(case: Case, want: dict, recipe, graph) -> list[Mismatch]:
    """``name`` or ``name@overlay`` (requirements are conjunctive: sibling overlays can each
    set one of the same name, and then the overlay says which is meant)."""
    out = []
    named = [r for r in recipe.requirements if r.name]
    keys = sorted({r.name for r in named} | {f"{r.name}@{r.overlay}" for r in named})
    for key, expected in want.items():
        line = case.line_of("expect", "requirements", key)
        name, _, overlay = str(key).partition("@")
        found = [r for r in named if r.name == name and (not overlay or r.overlay == overlay)]
        if expected is False:
            for r in found:
                out.append(Mismatch(f"requirements.{key}", ABSENT, r.text, line, f"set by overlay {r.overlay}"))
            continue
        if not found:
            out.append(Mismatch(f"requirements.{key}", "present", ABSENT, line,
                                did_you_mean(str(key), keys) or "requirements: " + ", ".join(keys)))
            continue
        if expected is True:
            continue
        if len(found) > 1:
            out.append(Mismatch(f"requirements.{key}", expected, [r.text for r in found], line,
                                f"{len(found)} requirements are named '{name}' (overlays "
                                f"{', '.join(r.overlay for r in found)}): write {name}@OVERLAY"))
            continue
        r = found[0]
        fields = {"expr": expected} if isinstance(expected, str) else expected
        for field, value in fields.items():
            actual = r.text if field == "expr" else getattr(r, field)
            if field == "expr":
                from eidos.ruletest.loader import canonical_expr

                equal = _squash(canonical_expr(str(value), graph)) == _squash(actual)
            else:
                equal = same(value, actual)
            if not equal:
                out.append(Mismatch(f"requirements.{key}.{field}", value, actual,
                                    case.line_of("expect", "requirements", key, field)))
    return out


def facts(case: Case, want: dict, actual: dict, graph) -> list[Mismatch]:
    from eidos.engine.facts import coerce_fact

    out = []
    for name, expected in want.items():
        line = case.line_of("expect", "facts", name)
        got = actual.get(name, MISSING)
        if expected is False:
            if got is not MISSING:
                out.append(Mismatch(f"facts.{name}", ABSENT, str(got), line))
            continue
        typed = coerce_fact(graph.facts[name], expected)
        if got is MISSING:
            out.append(Mismatch(f"facts.{name}", str(typed), ABSENT, line, "the snapshot gave no value for it"))
        elif got != typed:
            out.append(Mismatch(f"facts.{name}", str(typed), str(got), line))
    return out


def check_status(statuses: list[str]) -> str:
    """One status for several verdicts: skip only if all skipped, else the worst of the rest."""
    rest = [s for s in statuses if s != "skip"]
    if not rest:
        return "skip"
    for status in ("fail", "error", "warn"):
        if status in rest:
            return status
    return "pass"


def checks(case: Case, want: dict, verdicts) -> tuple[list[Mismatch], set[str]]:
    """Mismatches, and the names of the checks the expectations touched (for coverage)."""
    from eidos.validate.fleet import Selection

    out = []
    touched: set[str] = set()
    known = sorted({n for v in verdicts for n in Selection.names(v)})
    for name, expected in want.items():
        line = case.line_of("expect", "checks", name)
        matched = [v for v in verdicts if name in Selection.names(v)]
        if not matched:
            out.append(Mismatch(f"checks.{name}", expected, "no such verdict", line,
                                did_you_mean(name, known) or "eidos validate -o json lists every verdict's id and name"))
            continue
        touched |= {v.origin for v in matched if v.kind == "check"}
        got = check_status([v.status for v in matched])
        if got != expected:
            detail = [f"{v.name}: {v.status} ({v.reason})" for v in matched]
            out.append(Mismatch(f"checks.{name}", expected, got, line, "\n".join(detail)))
    return out, touched
