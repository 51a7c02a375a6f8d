"""The typed expression IR: what a condition means once the checker has accepted it.

Every constant already has its final type (an enum value normalised through aliases, a
parsed ``Version``, an int), so evaluation only has to coerce *measured* values. Nodes
are frozen and hashable: the compiled rule graph pickles them, and closures are cached
per distinct node (``closures.closure``).

Two families: **atoms** test one operand (``Atom`` subclasses, each with an ``operand``),
**connectives** combine other nodes (``children``). Which operator each class stands for,
and how it is checked, evaluated and rendered, is declared once in ``registry``.
"""

from __future__ import annotations

from typing import Union

from eidos.lang import record


class Node:
    """Base of every IR node; ``children`` are the sub-expressions a connective combines."""

    __slots__ = ()

    @property
    def children(self) -> tuple[Node, ...]:
        return ()


class Atom(Node):
    """A leaf test of one operand (a fact or a measurement path)."""

    __slots__ = ()


@record.frozen
class Operand:
    kind: str  # "fact" | "path"
    name: str  # fact name, or rendered path
    segments: tuple = ()

    def __str__(self) -> str:
        return self.name


@record.frozen
class Const:
    vtype: str  # version | int | float | string | bool | enum
    value: object
    text: str  # canonical spelling for rendering

    def __str__(self) -> str:
        return self.text


@record.frozen
class Cmp(Atom):
    op: str
    operand: Operand
    const: Const


@record.frozen
class In(Atom):
    operand: Operand
    consts: tuple[Const, ...]
    negated: bool


@record.frozen
class Range(Atom):
    operand: Operand
    low: Const
    high: Const
    include_high: bool
    negated: bool


@record.frozen
class Match(Atom):
    operand: Operand
    pattern: str


@record.frozen
class TextTest(Atom):
    """``startswith`` / ``endswith`` / ``contains``: a plain substring test."""

    op: str
    operand: Operand
    text: str


@record.frozen
class Exist(Atom):
    operand: Operand


@record.frozen
class NotE(Node):
    item: IR

    @property
    def children(self) -> tuple[IR, ...]:
        return (self.item,)


@record.frozen
class AndE(Node):
    items: tuple[IR, ...]

    @property
    def children(self) -> tuple[IR, ...]:
        return self.items


@record.frozen
class OrE(Node):
    items: tuple[IR, ...]

    @property
    def children(self) -> tuple[IR, ...]:
        return self.items


@record.frozen
class TrueE(Node):
    """``always``: the empty conjunction."""


IR = Union[Cmp, In, Range, Match, TextTest, Exist, NotE, AndE, OrE, TrueE]


def atoms(ir: IR):
    """Every atom, in source order."""
    if isinstance(ir, Atom):
        yield ir
        return
    for child in ir.children:
        yield from atoms(child)


def conjuncts(ir: IR) -> tuple[IR, ...]:
    """Top-level ``and`` members (an atom is a conjunction of one, ``always`` of none)."""
    if isinstance(ir, AndE):
        out: list = []
        for item in ir.items:
            out.extend(conjuncts(item))
        return tuple(out)
    if isinstance(ir, TrueE):
        return ()
    return (ir,)


def conjoin(parts) -> IR:
    """The conjunction of ``parts``, flattened, so equal meanings get equal IR."""
    flat: list = []
    for p in parts:
        flat.extend(conjuncts(p))
    if not flat:
        return TrueE()
    return flat[0] if len(flat) == 1 else AndE(tuple(flat))
