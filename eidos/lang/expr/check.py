"""Type checking: AST expressions in, typed IR out, every type error a located diagnostic.

The checker owns what all kinds share — resolving operands, typing constants against
the operand, reporting — and asks the registry for each kind's own rule, so adding an
operator never touches this module.
"""

from __future__ import annotations

import json
import math
import re
from typing import NoReturn

from eidos.lang import record

from eidos.lang import ast
from eidos.lang.diagnostics import Reporter, Span, did_you_mean
from eidos.lang.expr.ir import IR, Const, Operand
from eidos.lang.expr.registry import REGISTRY
from eidos.lang.measurements import MEASUREMENT_TYPES
from eidos.lang.versions import Version, VersionError


@record.frozen
class FactType:
    """The slice of a fact declaration the type checker needs."""

    name: str
    kind: str
    values: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()

    def canonical(self, symbol: str) -> str | None:
        if symbol in self.values:
            return symbol
        return dict(self.aliases).get(symbol)


class Invalid(Exception):
    """Raised inside the checker after a diagnostic has been reported."""


class Checker:
    """Turns AST expressions into IR, reporting every type error it finds.

    ``allow`` says what operands a context may use: conditions (``when``) test facts,
    requirements test measurements; mixing them up is the commonest authoring mistake,
    so it is reported with a hint rather than accepted.
    """

    def __init__(self, facts: dict[str, FactType], reporter: Reporter):
        self.facts = facts
        self.reporter = reporter

    def check(self, expr: ast.Expr, allow: str) -> IR | None:
        try:
            return self.expr(expr, allow)
        except Invalid:
            return None

    # -- what every kind's type rule uses ---------------------------------------------
    def expr(self, e: ast.Expr, allow: str) -> IR:
        """The IR of one expression; raises ``Invalid`` after reporting."""
        return REGISTRY.for_ast(e).check(self, e, allow)

    def all(self, items, allow: str) -> list:
        """The IR of every item; each broken item reports before this raises ``Invalid``."""
        return self.each(items, lambda item: self.expr(item, allow))

    def each(self, items, check) -> list:
        """``check`` applied to every item, reporting every failure, not only the first."""
        out, failed = [], False
        for item in items:
            try:
                out.append(check(item))
            except Invalid:
                failed = True
        if failed:
            raise Invalid()
        return out

    def fail(self, code: str, message: str, span: Span, hint: str | None = None) -> NoReturn:
        self.reporter.error(code, message, span, hint=hint)
        raise Invalid()

    def fact_kind(self, operand: Operand) -> str | None:
        """The declared kind of a fact operand; None for a measurement path."""
        return self.facts[operand.name].kind if operand.kind == "fact" else None

    def operand(self, ref, allow: str) -> Operand:
        if isinstance(ref, ast.FactRef):
            if allow == "measurements":
                self.fail(
                    "E301",
                    f"'{ref.name}' is a fact; requirements test measurements such as K8s.server.version",
                    ref.span,
                    hint="put conditions on facts in 'when'",
                )
            if ref.name not in self.facts:
                self.fail("E201", f"unknown fact '{ref.name}'", ref.span,
                          hint=did_you_mean(ref.name, self.facts) or f"declare it: fact {ref.name}: enum {{ … }}")
            return Operand("fact", ref.name)
        if allow == "facts":
            self.fail("E301", f"conditions select on facts, not measurements ('{ref}')", ref.span,
                      hint="derive a fact from snapshot data with 'infer', then use it in 'when'")
        head = ref.segments[0]
        if head not in MEASUREMENT_TYPES:
            self.fail("E207", f"unknown measurement type '{head}'", ref.span,
                      hint=did_you_mean(str(head), MEASUREMENT_TYPES) or "known: " + ", ".join(MEASUREMENT_TYPES))
        if len(ref.segments) < 3:
            self.fail("E305", f"path '{ref}' needs at least a type, a subtype and a key", ref.span,
                      hint="e.g. K8s.server.version or OS.sysctl[\"/proc/sys/kernel/osrelease\"]")
        return Operand("path", ast.format_path(ref.segments), tuple(ref.segments))

    def const(self, operand: Operand, lit: ast.Literal, *, ordered: bool) -> Const:
        """A literal typed against its operand: a fact's declared kind, or the literal's own."""
        if operand.kind == "fact":
            return self._fact_const(self.facts[operand.name], lit, ordered)
        return self._measure_const(lit, ordered)

    # -- constants -----------------------------------------------------------------------
    def _fact_const(self, fact: FactType, lit: ast.Literal, ordered: bool) -> Const:
        kind = fact.kind
        if kind == "enum":
            if ordered:
                self.fail("E301", f"'{fact.name}' is an enum; only ==, !=, in and not in apply", lit.span)
            if lit.kind not in ("symbol", "string"):
                self.fail("E301", f"'{fact.name}' takes one of its values, not a {lit.kind}", lit.span,
                          hint="values: " + ", ".join(fact.values))
            canon = fact.canonical(str(lit.value))
            if canon is None:
                known = list(fact.values) + [a for a, _ in fact.aliases]
                self.fail("E202", f"'{lit.value}' is not a value of fact '{fact.name}'", lit.span,
                          hint=did_you_mean(str(lit.value), known) or "values: " + ", ".join(fact.values))
            return Const("enum", canon, canon)
        if kind == "int":
            if lit.kind != "int":
                self.fail("E301", f"'{fact.name}' is an integer; got a {lit.kind}", lit.span)
            return Const("int", lit.value, str(lit.value))
        if kind == "float":
            if lit.kind in ("int", "float"):
                return Const("float", float(lit.value), _num_text(lit.value))
            if lit.kind == "version" and re.fullmatch(r"\d+\.\d+", str(lit.value)):
                value = float(lit.value)
                if math.isfinite(value):  # the parser bounds a version's length, so it is
                    return Const("float", value, str(lit.value))
            self.fail("E301", f"'{fact.name}' is a number; got a {lit.kind}", lit.span)
        if kind == "version":
            if lit.kind in ("version", "int", "string"):
                return self._version_const(lit)
            self.fail("E301", f"'{fact.name}' is a version; got a {lit.kind}", lit.span)
        if kind == "string":
            if ordered:
                self.fail("E301", f"'{fact.name}' is a string; strings have no order", lit.span)
            if lit.kind != "string":
                self.fail("E301", f"'{fact.name}' is a string; quote the value", lit.span)
            return Const("string", lit.value, json.dumps(lit.value))
        if kind == "bool":
            if ordered or lit.kind != "bool":
                self.fail("E301", f"'{fact.name}' is a boolean; compare it with true or false", lit.span)
            return Const("bool", lit.value, "true" if lit.value else "false")
        raise AssertionError(kind)

    def _measure_const(self, lit: ast.Literal, ordered: bool) -> Const:
        if lit.kind == "version":
            return self._version_const(lit)
        if lit.kind == "int":
            return Const("int", lit.value, str(lit.value))
        if lit.kind == "float":
            return Const("float", lit.value, _num_text(lit.value))
        if lit.kind == "string":
            if ordered:
                self.fail("E301", "strings have no order; compare a version or number", lit.span,
                          hint=f"write {lit.value} unquoted to compare it as a version" if _looks_version(lit.value) else None)
            return Const("string", lit.value, json.dumps(lit.value))
        if lit.kind == "bool":
            if ordered:
                self.fail("E301", "booleans have no order", lit.span)
            return Const("bool", lit.value, "true" if lit.value else "false")
        if lit.kind == "symbol":
            self.fail("E301", f"bare word '{lit.value}' in a requirement", lit.span,
                      hint=f'quote strings: "{lit.value}"')
        self.fail("E301", f"a {lit.kind} cannot be compared", lit.span)

    def _version_const(self, lit: ast.Literal) -> Const:
        try:
            v = Version.parse(str(lit.value))
        except VersionError as err:
            self.fail("E303", str(err), lit.span)
        return Const("version", v, str(lit.value))


def _num_text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _looks_version(text) -> bool:
    # the same language as [vV]?\d+(\.\d+)+\S*, without its quadratic backtracking
    return isinstance(text, str) and bool(re.fullmatch(r"[vV]?\d+\.\d\S*", text))
