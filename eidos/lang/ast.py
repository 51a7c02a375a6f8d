"""The typed syntax tree of ``.eidos`` sources.

Every node is a frozen attrs class carrying the ``Span`` it came from, so any later stage
(type checks, graph checks, explain, provenance) can point at the line that caused it.
The tree says what the author wrote; meaning (types, references) is the compiler's job.
"""

from __future__ import annotations

import re
from typing import Union

from eidos.lang import record

from eidos.lang.diagnostics import Span


@record.frozen
class Name:
    """An identifier or string as written, with where it was written."""

    value: str
    span: Span


# ---------------------------------------------------------------- expressions


class ExprNode:
    """Base of every expression node; ``eidos.lang.expr.registry`` declares what each means."""

    __slots__ = ()


@record.frozen
class Literal:
    """A constant. ``kind`` is one of: string, int, float, version, bool, symbol, null,
    list, map. ``value`` holds the Python value (Version text for versions, a tuple of
    Literals for lists, a tuple of (key, Literal) for maps)."""

    kind: str
    value: object
    span: Span


@record.frozen
class FactRef:
    name: str
    span: Span


@record.frozen
class PathRef:
    """A measurement path: ``segments[0]`` is the measurement type (K8s, GPU, OS, …)."""

    segments: tuple[Union[str, int], ...]
    span: Span

    def __str__(self) -> str:
        return format_path(self.segments)


Operand = Union[FactRef, PathRef]


@record.frozen
class Compare(ExprNode):
    op: str
    left: Operand
    right: Literal
    span: Span


@record.frozen
class InSet(ExprNode):
    operand: Operand
    items: tuple[Literal, ...]
    negated: bool
    span: Span


@record.frozen
class InRange(ExprNode):
    operand: Operand
    low: Literal
    high: Literal
    include_high: bool
    negated: bool
    span: Span


@record.frozen
class Matches(ExprNode):
    operand: Operand
    pattern: str
    span: Span


@record.frozen
class TextTest(ExprNode):
    """``operand startswith|endswith|contains "text"``."""

    op: str
    operand: Operand
    text: str
    span: Span


@record.frozen
class Exists(ExprNode):
    path: PathRef
    span: Span


@record.frozen
class Not(ExprNode):
    operand: "Expr"
    span: Span


@record.frozen
class And(ExprNode):
    items: tuple["Expr", ...]
    span: Span


@record.frozen
class Or(ExprNode):
    items: tuple["Expr", ...]
    span: Span


@record.frozen
class Always(ExprNode):
    span: Span


Expr = Union[Compare, InSet, InRange, Matches, TextTest, Exists, Not, And, Or, Always]


# ---------------------------------------------------------------- value operations and declarations

ValuePath = tuple[Union[str, int], ...]

# SetValue, UnsetValue, FactDecl, HelmSource, KustomizeSource, Scheduling, ComponentDecl,
# Requirement, ComponentUse, OverlayDecl, CheckDecl, InferDecl, Module and Decl live in
# eidos.lang.ast_decls and are defined when first named here (see that module for why).
_DECLARATIONS = frozenset({
    "SetValue", "UnsetValue", "FactDecl", "HelmSource", "KustomizeSource", "Scheduling", "ComponentDecl",
    "Requirement", "ComponentUse", "OverlayDecl", "CheckDecl", "InferDecl", "Module", "Decl",
})


def __getattr__(name: str):
    if name in _DECLARATIONS:
        from eidos.lang import ast_decls

        for each in _DECLARATIONS:
            globals()[each] = getattr(ast_decls, each)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def format_path(segments) -> str:
    """Render a path so it parses back: quoted where a segment is not a plain name."""
    out = []
    for i, seg in enumerate(segments):
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _plain(seg):
            out.append(seg if i == 0 else "." + seg)
        else:
            quoted = '"' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"'
            out.append(quoted if i == 0 else f"[{quoted}]")
    return "".join(out)


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


def _plain(seg: str) -> bool:
    return bool(_PLAIN.fullmatch(seg))
