"""Deriving facts from snapshot data through the rule base's ``infer`` rules.

Nothing about snapshots is hard-coded here: which value means which service or GPU is
rule data (rules/infer.eidos), so supporting a new cloud or GPU is a rule change. Rules
are tried in (fact, file, line) order; the first that yields a value wins, and any later
rule that disagrees is recorded as a conflict so ``--explain`` can show it.
"""

from __future__ import annotations

from eidos.errors import EidosError
from eidos.lang.expr import EvalError, closure, trace
from eidos.engine.graph import RuleGraph
from eidos.lang.measurements import MISSING


def infer_facts(graph: RuleGraph, lookup) -> tuple[dict, dict]:
    """Returns (facts, sources); ``lookup(operand)`` reads the snapshot (MISSING if absent)."""
    facts: dict = {}
    sources: dict = {}
    for spec in graph.infers:
        try:
            holds = closure(spec.condition)(lookup)
        except EvalError:
            continue
        if holds is not True:
            continue
        if spec.from_path:
            raw = lookup(spec.value)
            if raw is MISSING:
                continue
            try:
                value = graph.facts[spec.fact].coerce(raw)
            except EidosError:
                continue
            evidence = [f"{spec.value} = {raw}"]
        else:
            value = spec.value
            _, atoms = trace(spec.condition, lookup)
            evidence = [f"{a.text} (got {a.actual})" for a in atoms if a.result is True]
        if spec.fact in facts:
            if facts[spec.fact] != value:
                sources[spec.fact].setdefault("conflicts", []).append(
                    {"value": str(value), "rule": spec.span.short, "evidence": evidence}
                )
            continue
        facts[spec.fact] = value
        sources[spec.fact] = {"value": str(value), "from": "snapshot", "rule": spec.span.short, "evidence": evidence}
    return facts, sources
