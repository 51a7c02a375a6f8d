"""Rendering and tracing: expressions shown to people, and evaluated with every atom recorded.

``render`` gives the canonical source text (it parses back to the same IR); ``trace``
evaluates like the closures do, through the same Kleene functions, but evaluates and
records every atom (no short-circuit) so ``--explain`` and validation reports can say
what each test found. Both visit each node once: time is linear in the expression.
"""

from __future__ import annotations

from eidos.lang import record

from eidos.lang.expr.closures import Lookup, closure
from eidos.lang.expr.coercion import EvalError
from eidos.lang.expr.ir import IR
from eidos.lang.expr.registry import AND, NOT, OR, REGISTRY


_CONTEXT = {"": 0, "or": OR, "and": AND, "not": NOT}


def render(ir: IR, parent: str | int = "") -> str:
    """Canonical source text (it parses back to the same IR).

    ``parent`` is the connective the text will be placed in (``"and"``, ``"or"``, ``"not"``),
    or the precedence it needs; the text is parenthesised when ``ir`` binds looser.
    """
    need = _CONTEXT[parent] if isinstance(parent, str) else parent
    kind = REGISTRY.for_ir(ir)
    if kind.is_atom:
        return kind.render(ir)
    text = kind.render(ir, [render(child, kind.child_precedence) for child in ir.children])
    return f"({text})" if kind.precedence < need else text


@record.frozen
class AtomResult:
    """One leaf of an explanation: what was tested, what was found, what it gave."""

    text: str
    actual: object
    result: object  # True | False | None
    error: str = ""


def trace(ir: IR, lookup: Lookup) -> tuple[object, list[AtomResult]]:
    """Evaluate and record every atom, for ``--explain`` and validation reports.

    An atom whose value cannot be compared (``EvalError``) counts as unknown and carries
    the reason.
    """
    results: list[AtomResult] = []

    def walk(node):
        kind = REGISTRY.for_ir(node)
        if not kind.is_atom:
            return kind.combine([walk(child) for child in node.children])
        actual = lookup(node.operand)
        try:
            value = closure(node)(lookup)
        except EvalError as err:
            results.append(AtomResult(kind.render(node), actual, None, str(err)))
            return None
        results.append(AtomResult(kind.render(node), actual, value))
        return value

    return walk(ir), results
