"""The typed syntax tree of ``.eidos`` sources.

Every node is a frozen attrs class carrying the ``Span`` it came from, so any later stage
(type checks, graph checks, explain, provenance) can point at the line that caused it.
The tree says what the author wrote; meaning (types, references) is the compiler's job.
"""

from __future__ import annotations

import re
from typing import Union

import attrs

from eidos.lang.diagnostics import Span


@attrs.frozen(slots=True)
class Name:
    """An identifier or string as written, with where it was written."""

    value: str
    span: Span


# ---------------------------------------------------------------- expressions


class ExprNode:
    """Base of every expression node; ``eidos.lang.expr.registry`` declares what each means."""

    __slots__ = ()


@attrs.frozen(slots=True)
class Literal:
    """A constant. ``kind`` is one of: string, int, float, version, bool, symbol, null,
    list, map. ``value`` holds the Python value (Version text for versions, a tuple of
    Literals for lists, a tuple of (key, Literal) for maps)."""

    kind: str
    value: object
    span: Span


@attrs.frozen(slots=True)
class FactRef:
    name: str
    span: Span


@attrs.frozen(slots=True)
class PathRef:
    """A measurement path: ``segments[0]`` is the measurement type (K8s, GPU, OS, …)."""

    segments: tuple[Union[str, int], ...]
    span: Span

    def __str__(self) -> str:
        return format_path(self.segments)


Operand = Union[FactRef, PathRef]


@attrs.frozen(slots=True)
class Compare(ExprNode):
    op: str
    left: Operand
    right: Literal
    span: Span


@attrs.frozen(slots=True)
class InSet(ExprNode):
    operand: Operand
    items: tuple[Literal, ...]
    negated: bool
    span: Span


@attrs.frozen(slots=True)
class InRange(ExprNode):
    operand: Operand
    low: Literal
    high: Literal
    include_high: bool
    negated: bool
    span: Span


@attrs.frozen(slots=True)
class Matches(ExprNode):
    operand: Operand
    pattern: str
    span: Span


@attrs.frozen(slots=True)
class TextTest(ExprNode):
    """``operand startswith|endswith|contains "text"``."""

    op: str
    operand: Operand
    text: str
    span: Span


@attrs.frozen(slots=True)
class Exists(ExprNode):
    path: PathRef
    span: Span


@attrs.frozen(slots=True)
class Not(ExprNode):
    operand: "Expr"
    span: Span


@attrs.frozen(slots=True)
class And(ExprNode):
    items: tuple["Expr", ...]
    span: Span


@attrs.frozen(slots=True)
class Or(ExprNode):
    items: tuple["Expr", ...]
    span: Span


@attrs.frozen(slots=True)
class Always(ExprNode):
    span: Span


Expr = Union[Compare, InSet, InRange, Matches, TextTest, Exists, Not, And, Or, Always]


# ---------------------------------------------------------------- value operations

ValuePath = tuple[Union[str, int], ...]


@attrs.frozen(slots=True)
class SetValue:
    path: ValuePath
    value: Literal
    span: Span


@attrs.frozen(slots=True)
class UnsetValue:
    path: ValuePath
    span: Span


# ---------------------------------------------------------------- declarations


@attrs.frozen(slots=True)
class FactDecl:
    name: Name
    kind: str  # enum | int | float | version | string | bool
    values: tuple[Name, ...] = ()
    aliases: tuple[tuple[Name, Name], ...] = ()
    doc: str = ""
    span: Span = attrs.field(default=None)


@attrs.frozen(slots=True)
class HelmSource:
    repo: Name | None
    chart: Name | None
    version: Name | None
    span: Span


@attrs.frozen(slots=True)
class KustomizeSource:
    source: Name | None
    tag: Name | None
    path: Name | None
    span: Span


@attrs.frozen(slots=True)
class Scheduling:
    role: Name  # system | accelerated
    node_selector_paths: tuple[Name, ...]
    toleration_paths: tuple[Name, ...]
    span: Span


@attrs.frozen(slots=True)
class ComponentDecl:
    """A catalog entry: what a component is, independent of any recipe."""

    name: Name
    helm: HelmSource | None = None
    kustomize: KustomizeSource | None = None
    namespace: Name | None = None
    values: tuple[Name, ...] = ()
    manifests: tuple[Name, ...] = ()
    needs: tuple[Name, ...] = ()
    display: str = ""
    aliases: tuple[Name, ...] = ()
    scheduling: tuple[Scheduling, ...] = ()
    sets: tuple[SetValue, ...] = ()
    unsets: tuple[UnsetValue, ...] = ()
    doc: str = ""
    span: Span = attrs.field(default=None)


@attrs.frozen(slots=True)
class Requirement:
    name: Name | None
    expr: Expr
    severity: Name | None
    message: str
    remedy: str
    replace: bool
    span: Span


@attrs.frozen(slots=True)
class ComponentUse:
    """An overlay's mention of a component: includes it and customises it."""

    name: Name
    version: Name | None = None
    namespace: Name | None = None
    values: tuple[Name, ...] = ()
    manifests: tuple[Name, ...] = ()
    needs: tuple[Name, ...] = ()
    sets: tuple[SetValue, ...] = ()
    unsets: tuple[UnsetValue, ...] = ()
    drop_manifests: tuple[Name, ...] = ()
    drop_needs: tuple[Name, ...] = ()
    span: Span = attrs.field(default=None)


@attrs.frozen(slots=True)
class OverlayDecl:
    name: Name
    parent: Name | None
    when: tuple[Expr, ...]
    requires: tuple[Requirement, ...]
    components: tuple[ComponentUse, ...]
    drops: tuple[Name, ...]
    doc: str
    span: Span


@attrs.frozen(slots=True)
class CheckDecl:
    name: Name
    when: tuple[Expr, ...]
    requires: tuple[Requirement, ...]
    category: str
    doc: str
    span: Span


@attrs.frozen(slots=True)
class InferDecl:
    fact: Name
    value: Union[Literal, PathRef]
    when: Expr | None
    span: Span


Decl = Union[FactDecl, ComponentDecl, OverlayDecl, CheckDecl, InferDecl]


@attrs.frozen(slots=True)
class Module:
    file: str
    decls: tuple[Decl, ...]


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
