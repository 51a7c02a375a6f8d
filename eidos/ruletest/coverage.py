"""Which overlays and checks of the rules under test no case exercises.

An overlay is exercised when some case's query applies it; a check when some case
asserts its verdict (``expect.checks``). Only the rules of the directories under test
count: a user's tests are not asked to cover the embedded base, and the embedded base's
tests cover the embedded base.
"""

from __future__ import annotations

from eidos.ruletest.model import Coverage, Uncovered


def layer_prefixes(rule_dirs: list[str], test_dirs: list[str]) -> tuple[str, ...]:
    """How the spans of the tested rules' files start (``rules/`` for the embedded base)."""
    prefixes = [d.rstrip("/") + "/" for d in rule_dirs]
    if len(test_dirs) > len(rule_dirs) or not test_dirs:  # the embedded base is among those tested
        prefixes.append("rules/")
    return tuple(prefixes)


def _tested(file: str, prefixes: tuple[str, ...]) -> bool:
    return file.startswith(prefixes)


def measure(graph, results, prefixes: tuple[str, ...]) -> Coverage:
    applied = {o for r in results for o in r.overlays}
    asserted = {c for r in results for c in r.checks}
    overlays = [(n, graph.overlays[n].span) for n in graph.overlays]
    overlays = [(n, s) for n, s in overlays if _tested(s.file, prefixes)]
    checks = [(n, c.span) for n, c in graph.checks.items() if _tested(c.span.file, prefixes)]
    uncovered = [Uncovered("overlay", n, f"{s.file}:{s.line}") for n, s in sorted(overlays) if n not in applied]
    uncovered += [Uncovered("check", n, f"{s.file}:{s.line}") for n, s in sorted(checks) if n not in asserted]
    return Coverage(len(overlays), len(checks), tuple(uncovered))
