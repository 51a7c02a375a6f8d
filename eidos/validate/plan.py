"""Compiled rules: what to evaluate on every snapshot, prepared once.

A fleet run evaluates the same few dozen expressions on thousands of snapshots, so each
expression is compiled to a closure exactly once (``ClosureCache``, keyed by the typed IR)
and everything that does not depend on the snapshot — ids, names, categories, which
checks apply to the facts and why the others do not — is decided here, not per node.
"""

from __future__ import annotations

from typing import Callable

from eidos.lang import record
from eidos.lang.expr import IR, EvalError, Operand, atoms, closure, render, trace
from eidos.engine.graph import CheckSpec, RuleGraph
from eidos.lang.measurements import MISSING

# Category of a recipe requirement, from the measurement it tests (checks name their own).
_TYPE_CATEGORY = {"K8s": "kubernetes", "GPU": "gpu", "OS": "os", "SystemD": "systemd", "NCCL": "fabric"}
_SUBTYPE_CATEGORY = {("OS", "kmod"): "kernel-modules"}


@record.frozen
class RequirementSource:
    """A requirement as the planner needs it, whether from a resolved recipe or a recipe file."""

    name: str | None
    ir: IR = record.field(eq=False, repr=False)
    text: str
    severity: str
    message: str
    remedy: str
    origin: str  # the overlay that set it
    source: str  # file:line


class ClosureCache:
    """The distinct expressions of a run and their closures (compiled once, see ``expr.closure``)."""

    def __init__(self) -> None:
        self._fns: dict = {}

    def get(self, ir: IR) -> Callable:
        fn = self._fns.get(ir)
        if fn is None:
            fn = self._fns[ir] = closure(ir)
        return fn

    def __len__(self) -> int:
        return len(self._fns)


@record.frozen
class Rule:
    """One requirement (of the recipe or of a check), ready to run on any snapshot."""

    id: str
    kind: str  # requirement | check
    name: str
    category: str
    origin: str
    expr: str
    severity: str
    message: str
    remedy: str
    source: str
    ir: IR = record.field(eq=False, repr=False)
    fn: Callable = record.field(eq=False, repr=False)
    operands: tuple[Operand, ...] = record.field(eq=False, repr=False)
    skip_reason: str | None = None  # set when the check does not apply to the facts
    applies: str = ""  # why it applies to these facts, in the user's terms (for --explain)


def operands_of(ir: IR) -> tuple[Operand, ...]:
    """Distinct measurement paths of an expression, in source order."""
    seen: dict[str, Operand] = {}
    for atom in atoms(ir):
        op = atom.operand
        if op.kind == "path" and op.name not in seen:
            seen[op.name] = op
    return tuple(seen.values())


def category_of(ops: tuple[Operand, ...]) -> str:
    if not ops:
        return "general"
    seg = ops[0].segments
    return _SUBTYPE_CATEGORY.get(tuple(seg[:2]), _TYPE_CATEGORY.get(seg[0], "general"))


def requirement_rules(reqs, cache: ClosureCache, graph: RuleGraph | None = None) -> list[Rule]:
    out: list[Rule] = []
    unnamed: dict[str, int] = {}
    # Sibling overlays may each hold a requirement of the same name (both hold: requirements
    # are conjunctive); their verdicts then carry the overlay so every id stays unique.
    named = [r.name for r in reqs if r.name]
    shared = {n for n in named if named.count(n) > 1}
    for r in reqs:
        if r.name in shared:
            rid, name = f"requirement:{r.name}@{r.origin}", r.name
        elif r.name:
            rid, name = f"requirement:{r.name}", r.name
        else:
            unnamed[r.origin] = unnamed.get(r.origin, 0) + 1
            rid, name = f"requirement:{r.origin}#{unnamed[r.origin]}", r.text
        ops = operands_of(r.ir)
        out.append(Rule(rid, "requirement", name, category_of(ops), r.origin, r.text, r.severity,
                        r.message, r.remedy, r.source, r.ir, cache.get(r.ir), ops,
                        applies=_overlay_applies(graph, r.origin)))
    return out


def _overlay_applies(graph: RuleGraph | None, origin: str) -> str:
    """Why a recipe requirement is in the plan: the overlay that set it, and its condition."""
    overlay = graph.overlays.get(origin) if graph is not None else None
    if overlay is None or not getattr(overlay, "condition_text", ""):
        return f"required by overlay {origin} of the recipe for these facts"
    return f"required by overlay {origin}, selected because {overlay.condition_text} holds"


def applies_text(check: CheckSpec, facts: dict) -> str:
    """The facts that made a check's ``when`` true, e.g. ``accelerator == gb200 (accelerator = gb200)``."""
    def lookup(op: Operand):
        return facts.get(op.name, MISSING)

    _, results = trace(check.condition, lookup)
    held = [f"{a.text} (got {a.actual})" for a in results if a.result is True]
    return f"applies: when {check.condition_text}" + (f"; {', '.join(held)}" if held else "")


def applicability(check: CheckSpec, facts: dict, cache: ClosureCache) -> str | None:
    """None when the check applies to ``facts``; otherwise why not, in the user's terms."""
    def lookup(op: Operand):
        return facts.get(op.name, MISSING)

    try:
        holds = cache.get(check.condition)(lookup)
    except EvalError as err:  # facts are typed by the schema; kept so a bad fact never crashes
        return f"not applicable: {err}"
    if holds is True:
        return None
    _, results = trace(check.condition, lookup)
    why = []
    for a in results:
        if a.result is None:
            why.append(f"{a.text.split()[0]} not given")
        elif a.result is False:
            why.append(f"{a.text} is false ({a.text.split()[0]} = {a.actual})")
    return "not applicable: " + ("; ".join(dict.fromkeys(why)) or f"when {check.condition_text} does not hold")


def check_rules(graph: RuleGraph, facts: dict, cache: ClosureCache) -> list[Rule]:
    out: list[Rule] = []
    for cname in sorted(graph.checks):
        check = graph.checks[cname]
        reason = applicability(check, facts, cache)
        applies = applies_text(check, facts) if reason is None else ""
        many = len(check.requirements) > 1
        for i, r in enumerate(check.requirements, 1):
            if r.name:
                rid, name = f"check:{cname}:{r.name}", f"{cname}/{r.name}"
            else:
                rid, name = (f"check:{cname}#{i}", f"{cname}#{i}") if many else (f"check:{cname}", cname)
            ops = operands_of(r.ir)
            out.append(Rule(rid, "check", name, check.category or category_of(ops), cname, r.text,
                            r.severity, r.message or check.doc, r.remedy, r.span.short, r.ir,
                            cache.get(r.ir), ops, reason, applies))
    return out


def build_plan(graph: RuleGraph, requirements, facts: dict, cache: ClosureCache) -> tuple[Rule, ...]:
    """Recipe requirements first (in recipe order), then every check in name order."""
    return tuple(requirement_rules(requirements, cache, graph) + check_rules(graph, facts, cache))


def from_resolved(recipe) -> list[RequirementSource]:
    """The requirements of a recipe the engine resolved."""
    return [
        RequirementSource(r.name, r.ir, r.text or render(r.ir), r.severity, r.message, r.remedy,
                          r.overlay, r.span.short)
        for r in recipe.requirements
    ]
