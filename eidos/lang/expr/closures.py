"""Closure compilation: every IR node becomes a Python closure ``f(lookup) -> True | False | None``.

Closures are built lazily and never pickled, so the compiled rule graph stays plain,
cacheable data. Atoms compile through their registry declaration; a connective's closure
calls its children and hands their values, lazily, to the kind's Kleene function (the
same function ``trace`` uses), so ``False and …`` short-circuits; for ``and``, ``or`` and
``not`` the same function is built unrolled (``logic.CLOSURE_OF``), which is what makes a
closure cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from eidos.lang.expr.ir import IR, Operand
from eidos.lang.expr.logic import CLOSURE_OF, kleene_not
from eidos.lang.expr.registry import REGISTRY

Lookup = Callable[[Operand], object]  # returns the value, or MISSING


def compile_closure(ir: IR) -> Callable[[Lookup], object]:
    """Build a closure ``f(lookup) -> True | False | None``; calling it may raise EvalError."""
    kind = REGISTRY.for_ir(ir)
    if kind.is_atom:
        return kind.compile(ir)
    parts = tuple(compile_closure(child) for child in ir.children)
    combine = kind.combine
    if not parts:
        value = combine(())
        return lambda lookup: value
    if len(parts) == 1 and combine is not kleene_not:
        return parts[0]  # a one-operand `and`/`or` is its operand
    build = CLOSURE_OF.get(combine)
    if build is not None:
        return build(parts)

    def connective(lookup):
        return combine(part(lookup) for part in parts)

    return connective


@lru_cache(maxsize=65536)
def closure(ir: IR) -> Callable[[Lookup], object]:
    """The compiled closure of an expression, built once per distinct IR for the process.

    IR nodes are frozen and hashable, so the matcher, inference and validation share one
    cache: a fleet of snapshots compiles each rule once, not once per snapshot.
    """
    return compile_closure(ir)


def evaluate(ir: IR, lookup: Lookup):
    return closure(ir)(lookup)
