"""Whole-matrix lint: resolve every combination of enum facts and report what breaks.

Some problems exist only in combination: an overlay that drops a component another
applied overlay needs, or a ``set`` into a list that another overlay shortened. Enumerating
the enum facts (each value, and "not given") finds them before a user's query does.
"""

from __future__ import annotations

from itertools import product

from eidos.lang.diagnostics import Diagnostic, NO_SPAN
from eidos.errors import InputError

MAX_COMBINATIONS = 20_000


def matrix_diagnostics(graph) -> list[Diagnostic]:
    from eidos.engine.matcher import Matcher

    enums = [(name, spec.values) for name, spec in sorted(graph.facts.items()) if spec.kind == "enum"]
    total = 1
    for _name, values in enums:
        total *= len(values) + 1
    if total > MAX_COMBINATIONS:
        return []
    matcher = Matcher(graph)
    seen: dict[str, Diagnostic] = {}
    for combo in product(*[(None,) + tuple(values) for _name, values in enums]):
        facts = {name: value for (name, _), value in zip(enums, combo) if value is not None}
        try:
            matcher.resolve(facts)
        except InputError as err:
            if err.message not in seen:
                query = ", ".join(f"{k}={v}" for k, v in facts.items()) or "no facts"
                seen[err.message] = Diagnostic(
                    "E407", "error", f"recipe for {query} fails: {err.message}", NO_SPAN, hint=err.hint
                )
    return list(seen.values())
