"""Typed expressions: checked once at compile time, evaluated many times.

The AST says what the author wrote; this package turns it into a small typed IR in which
every constant already has its final type. Type errors are compile errors reported
through the ``Reporter``; what remains at run time is only the coercion of *measured*
values, whose type a snapshot cannot promise. Evaluation is three-valued (Kleene).

Modules, one job each:

- ``ir``: the IR nodes and structural helpers (``atoms``, ``conjuncts``, ``conjoin``);
- ``registry``: every expression kind declared once — syntax hook, type rule,
  evaluation, rendering;
- ``check``: the type checker (operands and constants; each kind's rule via the registry);
- ``closures``: IR to Python closures, cached per distinct IR;
- ``tracing``: canonical rendering and evaluation with every atom recorded;
- ``logic``: the Kleene functions evaluation and trace share;
- ``coercion``: measured values to the rule's types; ``regex``: bounded RE2 patterns.
"""

from eidos.lang.expr.check import Checker, FactType, Invalid
from eidos.lang.expr.closures import Lookup, closure, compile_closure, evaluate
from eidos.lang.expr.coercion import EvalError, coerce
from eidos.lang.expr.ir import (
    IR,
    AndE,
    Atom,
    Cmp,
    Const,
    Exist,
    In,
    Match,
    Node,
    NotE,
    Operand,
    OrE,
    Range,
    TextTest,
    TrueE,
    atoms,
    conjoin,
    conjuncts,
)
from eidos.lang.expr.logic import kleene_and, kleene_not, kleene_or
from eidos.lang.expr.registry import ORDERED_TYPES, REGISTRY, Kind
from eidos.lang.expr.tracing import AtomResult, render, trace

__all__ = [
    "IR",
    "ORDERED_TYPES",
    "REGISTRY",
    "AndE",
    "Atom",
    "AtomResult",
    "Checker",
    "Cmp",
    "Const",
    "EvalError",
    "Exist",
    "FactType",
    "In",
    "Invalid",
    "Kind",
    "Lookup",
    "Match",
    "Node",
    "NotE",
    "Operand",
    "OrE",
    "Range",
    "TextTest",
    "TrueE",
    "atoms",
    "closure",
    "coerce",
    "compile_closure",
    "conjoin",
    "conjuncts",
    "evaluate",
    "kleene_and",
    "kleene_not",
    "kleene_or",
    "render",
    "trace",
]
