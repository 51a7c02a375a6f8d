"""Whole-matrix lint: resolve every combination of enum facts and report what breaks.

Some problems exist only in combination: an overlay that drops a component another
applied overlay needs, or a ``set`` into a list that another overlay shortened. Enumerating
the enum facts (each value, and "not given") finds them before a user's query does.
"""

from __future__ import annotations

from eidos.engine.fact_space import MAX_COMBINATIONS, combinations, enum_axes, size
from eidos.lang.diagnostics import Diagnostic, NO_SPAN
from eidos.errors import InputError

__all__ = ["MAX_COMBINATIONS", "matrix_diagnostics"]


def matrix_diagnostics(graph) -> list[Diagnostic]:
    from eidos.engine.matcher import Matcher

    axes = enum_axes(graph)
    if size(axes) > MAX_COMBINATIONS:
        return []
    matcher = Matcher(graph)
    seen: dict[str, Diagnostic] = {}
    for facts in combinations(axes):
        try:
            matcher.resolve(facts)
        except InputError as err:
            if err.message not in seen:
                query = ", ".join(f"{k}={v}" for k, v in facts.items()) or "no facts"
                seen[err.message] = Diagnostic(
                    "E407", "error", f"recipe for {query} fails: {err.message}", NO_SPAN, hint=err.hint
                )
    return list(seen.values())
