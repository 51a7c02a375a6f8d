"""The declaration nodes of the syntax tree: value operations, facts, components, overlays,
checks, inference rules and the module. Part of :mod:`eidos.lang.ast`, which defines them
on first use.

Why a module of their own: only the parser, the compiler and the formatter build or read
declarations, while every command that evaluates expressions imports ``ast`` for the
expression nodes. Each frozen attrs class costs about 3 million instructions to define
(attrs generates and compiles its methods), and these thirteen were a sixth of a warm
``eidos recipe`` before issue 17. They keep ``eidos.lang.ast`` as their module, so
reprs, pickles and ``from eidos.lang.ast import Module`` are unchanged.
"""

from __future__ import annotations

from typing import Union

import attrs

from eidos.lang.ast import Expr, Literal, Name, PathRef, ValuePath
from eidos.lang.diagnostics import Span


@attrs.frozen(slots=True)
class SetValue:
    path: ValuePath
    value: Literal
    span: Span


@attrs.frozen(slots=True)
class UnsetValue:
    path: ValuePath
    span: Span


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
    value: Literal | PathRef
    when: Expr | None
    span: Span


Decl = Union[FactDecl, ComponentDecl, OverlayDecl, CheckDecl, InferDecl]


@attrs.frozen(slots=True)
class Module:
    file: str
    decls: tuple[Decl, ...]


for _cls in (SetValue, UnsetValue, FactDecl, HelmSource, KustomizeSource, Scheduling, ComponentDecl, Requirement,
             ComponentUse, OverlayDecl, CheckDecl, InferDecl, Module):
    _cls.__module__ = "eidos.lang.ast"
del _cls
