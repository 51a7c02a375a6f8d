"""Closure compilation: every IR node becomes a Python closure ``f(lookup) -> True | False | None``.

Closures are built lazily and never pickled, so the compiled rule graph stays plain,
cacheable data. Atoms compile through their registry declaration; a connective's closure
is its kind's Kleene function (the one ``trace`` uses) built unrolled over the children's
closures (``logic.CLOSURE_OF``): it stops at the first deciding value, so ``False and …``
short-circuits, and it pays no generator per call, which is what makes a closure cheap.
``not`` of an atom whose kind declares an exact complement (``negate``: a comparison, a
set or range test) compiles as that complement, one call instead of two.

A *keyed* closure (``keyed_closure``) is the same expression compiled so that each atom hands
its lookup a ``Key`` — the operand's name, as a string — instead of the ``Operand``. Its
lookup can then be ``values.__getitem__`` of a dict of values by name: a C call with a
cached string hash, where a Python lookup function (or hashing the attrs ``Operand``) costs
several times the test itself. Validation judges every rule of a node this way
(``eidos.validate.judging``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from eidos.lang import record
from eidos.lang.expr.ir import IR, Operand
from eidos.lang.expr.logic import CLOSURE_OF, kleene_not
from eidos.lang.expr.registry import REGISTRY

Lookup = Callable[[Operand], object]  # returns the value, or MISSING


def compile_closure(ir: IR, key: Callable[[Operand], object] | None = None) -> Callable[[Lookup], object]:
    """Build a closure ``f(lookup) -> True | False | None``; calling it may raise EvalError.

    With ``key``, each atom hands its lookup ``key(operand)`` instead of the operand (the
    atom is compiled from a copy of itself holding that object as its operand)."""
    kind = REGISTRY.for_ir(ir)
    if kind.is_atom:
        return kind.compile(ir if key is None else record.evolve(ir, operand=key(ir.operand)))
    combine = kind.combine
    if combine is kleene_not:
        (child,) = ir.children
        negate = REGISTRY.for_ir(child).negate
        if negate is not None:  # `not` of an atom with an exact complement: that atom
            return compile_closure(negate(child), key)
    parts = tuple(compile_closure(child, key) for child in ir.children)
    if not parts:
        value = combine(())
        return lambda lookup: value
    if len(parts) == 1 and combine is not kleene_not:
        return parts[0]  # a one-operand `and`/`or` is its operand
    # every connective's Kleene function has its unrolled builder (tests/test_expr_registry.py)
    return CLOSURE_OF[combine](parts)


@lru_cache(maxsize=65536)
def closure(ir: IR) -> Callable[[Lookup], object]:
    """The compiled closure of an expression, built once per distinct IR for the process.

    IR nodes are frozen and hashable, so the matcher, inference and validation share one
    cache: a fleet of snapshots compiles each rule once, not once per snapshot.
    """
    return compile_closure(ir)


def evaluate(ir: IR, lookup: Lookup):
    return closure(ir)(lookup)


class Key(str):
    """An operand as a keyed closure hands it to its lookup: the operand's name (a ``str``,
    so a dict of values by name answers it in C, with the string's cached hash), carrying
    the ``Operand``'s ``kind``, ``name`` and ``segments`` for the atom compilers that read
    them. One ``Key`` per name for the process (``key_of``), so a dict keyed by them finds
    each by identity."""

    # (a str subclass cannot have __slots__ fields; these are set once, by key_of)
    kind: str
    name: str
    segments: tuple


_KEYS: dict[str, Key] = {}


def key_of(operand: Operand) -> Key:
    """The ``Key`` of an operand's name. A path's name is its identity (``Operand.name`` is
    rendered from its segments), as it is for validation's per-node lookups."""
    key = _KEYS.get(operand.name)
    if key is None:
        key = Key(operand.name)
        key.kind, key.name, key.segments = operand.kind, operand.name, tuple(operand.segments)
        key = _KEYS.setdefault(operand.name, key)
    return key


@lru_cache(maxsize=65536)
def keyed_closure(ir: IR) -> tuple[Callable[[Callable[[Key], object]], object], tuple[Key, ...]]:
    """``(f, keys)``: ``f(get)`` is ``closure(ir)`` with every lookup answered by ``get(key)``
    for the ``Key`` of the operand's name, and ``keys`` are the distinct keys ``f`` may ask
    for, in source order (so ``get`` can be ``dict.__getitem__`` of a dict holding them)."""
    keys: dict[str, Key] = {}

    def key(operand: Operand) -> Key:
        return keys.setdefault(operand.name, key_of(operand))

    fn = compile_closure(ir, key)
    return fn, tuple(keys.values())
