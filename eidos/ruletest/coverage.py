"""Which overlays and checks of the rules under test no case exercises.

An overlay is exercised when some case's query applies it; a check when some case
asserts its verdict (``expect.checks``). Only the rules of the directories under test
count: a user's tests are not asked to cover the embedded base, and the embedded base's
tests cover the embedded base.
"""

from __future__ import annotations

from eidos.ruletest.model import Coverage, Uncovered


def tested_names(graph, rule_dirs: list[str], test_dirs: list[str], use_cache: bool = True) -> tuple[set, set]:
    """(overlay names, check names) declared by the rules under test.

    The embedded base's own names come from compiling it alone (a cache hit): spans cannot
    tell layers apart, as a cached graph shows the file paths of whichever run compiled it."""
    if len(test_dirs) > len(rule_dirs) or not test_dirs:  # the embedded base is among those tested
        return set(graph.overlays), set(graph.checks)
    from eidos import engine

    base = engine.load_graph([], use_cache=use_cache)
    return set(graph.overlays) - set(base.overlays), set(graph.checks) - set(base.checks)


def measure(graph, results, tested: tuple[set, set]) -> Coverage:
    applied = {o for r in results for o in r.overlays}
    asserted = {c for r in results for c in r.checks}
    overlays = sorted((n, graph.overlays[n].span) for n in tested[0])
    checks = sorted((n, graph.checks[n].span) for n in tested[1])
    uncovered = [Uncovered("overlay", n, f"{s.file}:{s.line}") for n, s in overlays if n not in applied]
    uncovered += [Uncovered("check", n, f"{s.file}:{s.line}") for n, s in checks if n not in asserted]
    return Coverage(len(overlays), len(checks), tuple(uncovered))
