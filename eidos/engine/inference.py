"""Deriving facts from snapshot data through the rule base's ``infer`` rules.

Nothing about snapshots is hard-coded here: which value means which service or GPU is
rule data (rules/infer.eidos), so supporting a new cloud or GPU is a rule change. Rules
are tried in (fact, file, line) order; the first that yields a value wins, and any later
rule that disagrees is recorded as a conflict so ``--explain`` can show it.

Nothing is dropped silently: a snapshot value the fact cannot take (through
:func:`eidos.engine.facts.coerce_fact`, the same function flags use) is recorded under
``rejected`` with the path and the reason, and a condition that cannot be evaluated is
recorded under ``errors``; the next rule is then tried.

Nor is a fact that no rule yields: :func:`notices` says, per fact, whether no rule reads it
from a snapshot at all (``intent``), whether the snapshot carried values the rules read but
none matched (an unknown GPU model: the value is named, with the values the fact can take),
or whether the snapshot had none of those values. A GPU check that skips because the
accelerator is unknown is then never silent.
"""

from __future__ import annotations

from eidos.engine.facts import FactValueError, coerce_fact
from eidos.engine.graph import RuleGraph
from eidos.lang.expr import EvalError, atoms, closure, trace
from eidos.lang.measurements import MISSING


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 200 else text[:197] + "..."


def infer_facts(graph: RuleGraph, lookup) -> tuple[dict, dict]:
    """Returns (facts, sources); ``lookup(operand)`` reads the snapshot (MISSING if absent).

    ``sources[fact]`` has ``value``, ``from``, ``rule`` and ``evidence`` when the fact was
    inferred, plus ``conflicts``, ``rejected`` (``{value, path, rule, reason}``) and
    ``errors`` (``{rule, error}``) when some rule disagreed or could not be used.
    """
    facts: dict = {}
    sources: dict = {}

    def note(fact: str, key: str, entry: dict) -> None:
        sources.setdefault(fact, {"from": "snapshot"}).setdefault(key, []).append(entry)

    for spec in graph.infers:
        try:
            holds = closure(spec.condition)(lookup)
        except EvalError as err:
            note(spec.fact, "errors", {"rule": spec.span.short, "error": str(err)})
            continue
        if holds is not True:
            continue
        if spec.from_path:
            raw = lookup(spec.value)
            if raw is MISSING:
                continue
            try:
                value = coerce_fact(graph.facts[spec.fact], raw)
            except FactValueError as err:
                note(spec.fact, "rejected", {
                    "value": _show(raw), "path": str(spec.value), "rule": spec.span.short, "reason": err.reason,
                })
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
        entry = sources.setdefault(spec.fact, {"from": "snapshot"})
        notes = {k: entry.pop(k) for k in ("rejected", "errors") if k in entry}
        entry.clear()
        entry.update({"value": str(value), "from": "snapshot", "rule": spec.span.short, "evidence": evidence})
        entry.update(notes)
    return facts, sources


def _paths_read(specs) -> list:
    """Distinct operands (paths) the rules for one fact read, in rule order."""
    seen: dict = {}
    for spec in specs:
        ops = [a.operand for a in atoms(spec.condition)]
        if spec.from_path:
            ops.append(spec.value)
        for op in ops:
            if getattr(op, "kind", None) == "path" and op.name not in seen:
                seen[op.name] = op
    return list(seen.values())


def notices(graph: RuleGraph, lookup, facts: dict, *, given: tuple[str, ...] = ()) -> list[dict]:
    """For every schema fact neither inferred (in ``facts``) nor ``given`` by a flag: why not.

    Each notice is ``{fact, kind, message, values}``; ``kind`` is ``no-rule`` (nothing infers
    it), ``unmatched`` (the snapshot has values the rules read, none matched; ``values`` maps
    path -> value) or ``absent`` (the snapshot has none of the paths the rules read).
    """
    out: list[dict] = []
    for name in sorted(graph.facts):
        if name in facts or name in given:
            continue
        schema = graph.facts[name]
        choices = f" (one of {', '.join(schema.values)})" if schema.values else ""
        specs = [s for s in graph.infers if s.fact == name]
        if not specs:
            out.append({"fact": name, "kind": "no-rule", "values": {}, "message": (
                f"{name} is never inferred from a snapshot (no infer rule reads it); pass --{name}{choices}; "
                f"checks and overlays that depend on {name} do not apply until it is given")})
            continue
        ops = _paths_read(specs)
        found = {}
        for op in ops:
            value = lookup(op)
            if value is not MISSING and not isinstance(value, (dict, list)):
                found[op.name] = _show(value)
        if found:
            shown = ", ".join(f"{path} = {value}" for path, value in found.items())
            out.append({"fact": name, "kind": "unmatched", "values": found, "message": (
                f"unknown {name}: the snapshot has {shown}, which no infer rule maps to a value{choices}; "
                f"pass --{name} if it is one of them, or add an infer rule (rules/infer.eidos); "
                f"checks that depend on {name} do not apply until then")})
        else:
            paths = ", ".join(op.name for op in ops)
            out.append({"fact": name, "kind": "absent", "values": {}, "message": (
                f"{name} not inferred: the snapshot has none of {paths}; pass --{name}{choices}")})
    return out
