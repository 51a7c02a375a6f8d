"""Typed expressions: checked once at compile time, evaluated many times.

The AST says what the author wrote; this module turns it into a small typed IR in which
every constant already has its final type (an enum value normalised through aliases, a
parsed ``Version``, an int). Type errors are compile errors reported through the
``Reporter``; what remains at run time is only the coercion of *measured* values,
whose type a snapshot cannot promise.

Evaluation is three-valued (Kleene): a comparison whose operand is unknown (a fact the
query does not give, a path the snapshot lacks) is ``None``; ``not None`` is ``None``;
``and``/``or`` short-circuit as usual. A condition holds only when it is ``True``.

For speed every IR node compiles to a Python closure (``compile_closure``); closures are
built lazily and never pickled, so the compiled rule graph stays cacheable.
"""

from __future__ import annotations

import json
import operator
import re
from functools import lru_cache
from typing import Callable, Union

import attrs

from eidos.lang import ast
from eidos.lang.diagnostics import Reporter, did_you_mean
from eidos.lang.measurements import MEASUREMENT_TYPES, MISSING
from eidos.lang.versions import Version, VersionError, parse_version

ORDERED_TYPES = ("version", "int", "float")


class EvalError(Exception):
    """A measured value that cannot be compared as the rule asks (wrong type)."""


# ---------------------------------------------------------------- IR


@attrs.frozen(slots=True)
class Operand:
    kind: str  # "fact" | "path"
    name: str  # fact name, or rendered path
    segments: tuple = ()

    def __str__(self) -> str:
        return self.name


@attrs.frozen(slots=True)
class Const:
    vtype: str  # version | int | float | string | bool | enum
    value: object
    text: str  # canonical spelling for rendering

    def __str__(self) -> str:
        return self.text


@attrs.frozen(slots=True)
class Cmp:
    op: str
    operand: Operand
    const: Const


@attrs.frozen(slots=True)
class In:
    operand: Operand
    consts: tuple[Const, ...]
    negated: bool


@attrs.frozen(slots=True)
class Range:
    operand: Operand
    low: Const
    high: Const
    include_high: bool
    negated: bool


@attrs.frozen(slots=True)
class Match:
    operand: Operand
    pattern: str


@attrs.frozen(slots=True)
class Exist:
    operand: Operand


@attrs.frozen(slots=True)
class NotE:
    item: "IR"


@attrs.frozen(slots=True)
class AndE:
    items: tuple["IR", ...]


@attrs.frozen(slots=True)
class OrE:
    items: tuple["IR", ...]


@attrs.frozen(slots=True)
class TrueE:
    pass


IR = Union[Cmp, In, Range, Match, Exist, NotE, AndE, OrE, TrueE]
ATOMS = (Cmp, In, Range, Match, Exist)


# ---------------------------------------------------------------- rendering


def render(ir: IR, parent: str = "") -> str:
    """Canonical source text; parses back to the same IR."""
    if isinstance(ir, TrueE):
        return "always"
    if isinstance(ir, Cmp):
        return f"{ir.operand} {ir.op} {ir.const}"
    if isinstance(ir, In):
        items = ", ".join(str(c) for c in ir.consts)
        return f"{ir.operand} {'not in' if ir.negated else 'in'} {{{items}}}"
    if isinstance(ir, Range):
        op = ".." if ir.include_high else "..<"
        return f"{ir.operand} {'not in' if ir.negated else 'in'} {ir.low}{op}{ir.high}"
    if isinstance(ir, Match):
        return f"{ir.operand} matches {json.dumps(ir.pattern)}"
    if isinstance(ir, Exist):
        return f"exists {ir.operand}"
    if isinstance(ir, NotE):
        inner = render(ir.item, "not")
        return f"not {inner}" if isinstance(ir.item, ATOMS) else f"not ({render(ir.item)})"
    if isinstance(ir, AndE):
        text = " and ".join(render(i, "and") for i in ir.items)
        return f"({text})" if parent == "not" else text
    if isinstance(ir, OrE):
        text = " or ".join(render(i, "or") for i in ir.items)
        return f"({text})" if parent in ("and", "not") else text
    raise TypeError(ir)


def atoms(ir: IR):
    """Every comparison-like leaf, in source order."""
    if isinstance(ir, ATOMS):
        yield ir
    elif isinstance(ir, NotE):
        yield from atoms(ir.item)
    elif isinstance(ir, (AndE, OrE)):
        for item in ir.items:
            yield from atoms(item)


def conjuncts(ir: IR) -> tuple[IR, ...]:
    """Top-level ``and`` members (an atom is a conjunction of one)."""
    if isinstance(ir, AndE):
        out: list = []
        for item in ir.items:
            out.extend(conjuncts(item))
        return tuple(out)
    if isinstance(ir, TrueE):
        return ()
    return (ir,)


def conjoin(parts) -> IR:
    flat: list = []
    for p in parts:
        flat.extend(conjuncts(p))
    if not flat:
        return TrueE()
    return flat[0] if len(flat) == 1 else AndE(tuple(flat))


# ---------------------------------------------------------------- type checking


@attrs.frozen(slots=True)
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


class _Invalid(Exception):
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
            return self._expr(expr, allow)
        except _Invalid:
            return None

    # -- structure -----------------------------------------------------------
    def _expr(self, e, allow):
        if isinstance(e, ast.Always):
            return TrueE()
        if isinstance(e, ast.And):
            return AndE(_flatten(AndE, self._all(e.items, allow)))
        if isinstance(e, ast.Or):
            return OrE(_flatten(OrE, self._all(e.items, allow)))
        if isinstance(e, ast.Not):
            return NotE(self._expr(e.operand, allow))
        if isinstance(e, ast.Compare):
            return self._compare(e, allow)
        if isinstance(e, ast.InSet):
            return self._in_set(e, allow)
        if isinstance(e, ast.InRange):
            return self._in_range(e, allow)
        if isinstance(e, ast.Matches):
            return self._matches(e, allow)
        if isinstance(e, ast.Exists):
            operand = self._operand(e.path, "measurements")
            if allow != "measurements":
                self._fail("E301", "'exists' tests measurements, which conditions cannot see", e.span,
                           hint="derive a fact from the snapshot with 'infer', then test the fact")
            return Exist(operand)
        raise TypeError(e)

    def _all(self, items, allow):
        out, failed = [], False
        for item in items:
            try:
                out.append(self._expr(item, allow))
            except _Invalid:
                failed = True
        if failed:
            raise _Invalid()
        return out

    def _fail(self, code, message, span, hint=None):
        self.reporter.error(code, message, span, hint=hint)
        raise _Invalid()

    # -- operands ------------------------------------------------------------
    def _operand(self, ref, allow) -> Operand:
        if isinstance(ref, ast.FactRef):
            if allow == "measurements":
                self._fail(
                    "E301",
                    f"'{ref.name}' is a fact; requirements test measurements such as K8s.server.version",
                    ref.span,
                    hint="put conditions on facts in 'when'",
                )
            if ref.name not in self.facts:
                self._fail("E201", f"unknown fact '{ref.name}'", ref.span,
                           hint=did_you_mean(ref.name, self.facts) or f"declare it: fact {ref.name}: enum {{ … }}")
            return Operand("fact", ref.name)
        if allow == "facts":
            self._fail("E301", f"conditions select on facts, not measurements ('{ref}')", ref.span,
                       hint="derive a fact from snapshot data with 'infer', then use it in 'when'")
        head = ref.segments[0]
        if head not in MEASUREMENT_TYPES:
            self._fail("E207", f"unknown measurement type '{head}'", ref.span,
                       hint=did_you_mean(str(head), MEASUREMENT_TYPES) or "known: " + ", ".join(MEASUREMENT_TYPES))
        if len(ref.segments) < 3:
            self._fail("E305", f"path '{ref}' needs at least a type, a subtype and a key", ref.span,
                       hint="e.g. K8s.server.version or OS.sysctl[\"/proc/sys/kernel/osrelease\"]")
        return Operand("path", ast.format_path(ref.segments), tuple(ref.segments))

    # -- constants -----------------------------------------------------------
    def _const_for(self, operand: Operand, lit: ast.Literal, *, ordered: bool) -> Const:
        if operand.kind == "fact":
            return self._fact_const(self.facts[operand.name], lit, ordered)
        return self._measure_const(lit, ordered)

    def _fact_const(self, fact: FactType, lit: ast.Literal, ordered: bool) -> Const:
        kind = fact.kind
        if kind == "enum":
            if ordered:
                self._fail("E301", f"'{fact.name}' is an enum; only ==, !=, in and not in apply", lit.span)
            if lit.kind not in ("symbol", "string"):
                self._fail("E301", f"'{fact.name}' takes one of its values, not a {lit.kind}", lit.span,
                           hint="values: " + ", ".join(fact.values))
            canon = fact.canonical(str(lit.value))
            if canon is None:
                known = list(fact.values) + [a for a, _ in fact.aliases]
                self._fail("E202", f"'{lit.value}' is not a value of fact '{fact.name}'", lit.span,
                           hint=did_you_mean(str(lit.value), known) or "values: " + ", ".join(fact.values))
            return Const("enum", canon, canon)
        if kind == "int":
            if lit.kind != "int":
                self._fail("E301", f"'{fact.name}' is an integer; got a {lit.kind}", lit.span)
            return Const("int", lit.value, str(lit.value))
        if kind == "float":
            if lit.kind in ("int", "float"):
                return Const("float", float(lit.value), _num_text(lit.value))
            if lit.kind == "version" and re.fullmatch(r"\d+\.\d+", str(lit.value)):
                return Const("float", float(lit.value), str(lit.value))
            self._fail("E301", f"'{fact.name}' is a number; got a {lit.kind}", lit.span)
        if kind == "version":
            if lit.kind in ("version", "int") or (lit.kind == "string"):
                return self._version_const(lit)
            self._fail("E301", f"'{fact.name}' is a version; got a {lit.kind}", lit.span)
        if kind == "string":
            if ordered:
                self._fail("E301", f"'{fact.name}' is a string; strings have no order", lit.span)
            if lit.kind != "string":
                self._fail("E301", f"'{fact.name}' is a string; quote the value", lit.span)
            return Const("string", lit.value, json.dumps(lit.value))
        if kind == "bool":
            if ordered or lit.kind != "bool":
                self._fail("E301", f"'{fact.name}' is a boolean; compare it with true or false", lit.span)
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
                self._fail("E301", "strings have no order; compare a version or number", lit.span,
                           hint=f"write {lit.value} unquoted to compare it as a version" if _looks_version(lit.value) else None)
            return Const("string", lit.value, json.dumps(lit.value))
        if lit.kind == "bool":
            if ordered:
                self._fail("E301", "booleans have no order", lit.span)
            return Const("bool", lit.value, "true" if lit.value else "false")
        if lit.kind == "symbol":
            self._fail("E301", f"bare word '{lit.value}' in a requirement", lit.span,
                       hint=f'quote strings: "{lit.value}"')
        self._fail("E301", f"a {lit.kind} cannot be compared", lit.span)

    def _version_const(self, lit: ast.Literal) -> Const:
        try:
            v = Version.parse(str(lit.value))
        except VersionError as err:
            self._fail("E303", str(err), lit.span)
        text = str(lit.value) if lit.kind != "string" else json.dumps(lit.value)
        return Const("version", v, text if lit.kind != "string" else str(lit.value))

    # -- atoms ---------------------------------------------------------------
    def _compare(self, e: ast.Compare, allow):
        operand = self._operand(e.left, allow)
        ordered = e.op not in ("==", "!=")
        return Cmp(e.op, operand, self._const_for(operand, e.right, ordered=ordered))

    def _in_set(self, e: ast.InSet, allow):
        operand = self._operand(e.operand, allow)
        consts = []
        failed = False
        for item in e.items:
            try:
                consts.append(self._const_for(operand, item, ordered=False))
            except _Invalid:
                failed = True
        if failed:
            raise _Invalid()
        types = {c.vtype for c in consts}
        if len(types) > 1:
            self._fail("E301", "a set mixes types: " + ", ".join(sorted(types)), e.span)
        unique, seen = [], set()
        for c in consts:
            key = (c.vtype, c.value.key if isinstance(c.value, Version) else c.value)
            if key not in seen:
                seen.add(key)
                unique.append(c)
        return In(operand, tuple(unique), e.negated)

    def _in_range(self, e: ast.InRange, allow):
        operand = self._operand(e.operand, allow)
        low = self._const_for(operand, e.low, ordered=True)
        high = self._const_for(operand, e.high, ordered=True)
        if low.vtype != high.vtype and {low.vtype, high.vtype} - {"int", "float"}:
            self._fail("E301", f"range ends differ in type ({low.vtype} and {high.vtype})", e.span)
        if low.vtype not in ORDERED_TYPES:
            self._fail("E301", f"a range needs versions or numbers, not {low.vtype}s", e.span)
        if high.value < low.value or (not e.include_high and not low.value < high.value):
            self._fail("E304", f"range {low}{'..' if e.include_high else '..<'}{high} is empty", e.span)
        return Range(operand, low, high, e.include_high, e.negated)

    def _matches(self, e: ast.Matches, allow):
        operand = self._operand(e.operand, allow)
        if operand.kind == "fact" and self.facts[operand.name].kind not in ("string", "enum", "version"):
            self._fail("E301", f"'matches' needs text; '{operand.name}' is {self.facts[operand.name].kind}", e.span)
        try:
            re.compile(e.pattern)
        except re.error as err:
            self._fail("E302", f"invalid regular expression: {err}", e.span)
        return Match(operand, e.pattern)


def _flatten(kind, items) -> tuple:
    """``a and (b and c)`` is ``a and b and c``: one canonical IR per meaning of grouping."""
    out: list = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(out)


def _num_text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _looks_version(text) -> bool:
    return isinstance(text, str) and bool(re.fullmatch(r"[vV]?\d+(\.\d+)+\S*", text))


# ---------------------------------------------------------------- evaluation

Lookup = Callable[[Operand], object]  # returns the value, or MISSING


def coerce(actual: object, vtype: str):
    """Bring a measured value to the rule's type, or explain why it cannot be."""
    if vtype == "version":
        try:
            return parse_version(actual)
        except VersionError as err:
            raise EvalError(str(err)) from None
    if vtype == "int":
        if isinstance(actual, bool):
            raise EvalError(f"expected an integer, got {str(actual).lower()}")
        if isinstance(actual, int):
            return actual
        if isinstance(actual, float) and actual.is_integer():
            return int(actual)
        if isinstance(actual, str) and re.fullmatch(r"\s*-?\d+\s*", actual):
            return int(actual)
        raise EvalError(f"expected an integer, got {actual!r}")
    if vtype == "float":
        if isinstance(actual, bool):
            raise EvalError(f"expected a number, got {str(actual).lower()}")
        if isinstance(actual, (int, float)):
            return float(actual)
        try:
            return float(str(actual))
        except ValueError:
            raise EvalError(f"expected a number, got {actual!r}") from None
    if vtype == "bool":
        if isinstance(actual, bool):
            return actual
        if isinstance(actual, str) and actual.strip().lower() in ("true", "false"):
            return actual.strip().lower() == "true"
        raise EvalError(f"expected true or false, got {actual!r}")
    if vtype in ("string", "enum"):
        if isinstance(actual, bool):
            return "true" if actual else "false"
        if isinstance(actual, (dict, list)):
            raise EvalError(f"expected text, got a {'map' if isinstance(actual, dict) else 'list'}")
        return str(actual) if actual is not None else ""
    raise AssertionError(vtype)


_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _coercer(vtype: str):
    """``coerce`` specialised for one type, with the common case (already right) first:
    closures are built once and run for every snapshot of a fleet."""
    exact = {"int": int, "string": str, "enum": str, "bool": bool, "float": float}.get(vtype)
    if exact is None:
        return lambda actual: coerce(actual, vtype)

    def fast(actual):
        return actual if type(actual) is exact else coerce(actual, vtype)

    return fast


def _as_int_or_version(actual: object, expected: int):
    """A measured value against an integer: numerically, or as versions when the value is a
    dotted version (``GPU.smi.driver >= 570`` with ``580.82.07`` compares 580.82.07 with 570)."""
    try:
        return coerce(actual, "int"), expected
    except EvalError:
        if isinstance(actual, str) and "." in actual:
            try:
                return parse_version(actual), Version.parse(str(expected))
            except VersionError:
                pass
        raise


def compile_closure(ir: IR) -> Callable[[Lookup], object]:
    """Build a closure ``f(lookup) -> True | False | None``; may raise EvalError."""
    if isinstance(ir, TrueE):
        return lambda lookup: True
    if isinstance(ir, Cmp):
        test, expected, vtype, operand = _CMP[ir.op], ir.const.value, ir.const.vtype, ir.operand
        if vtype == "int" and operand.kind == "path":

            def cmp_measured_int(lookup):
                actual = lookup(operand)
                if type(actual) is int:
                    return test(actual, expected)
                if actual is MISSING:
                    return None
                return test(*_as_int_or_version(actual, expected))

            return cmp_measured_int
        convert = _coercer(vtype)

        def cmp(lookup):
            actual = lookup(operand)
            if actual is MISSING:
                return None
            return test(convert(actual), expected)

        return cmp
    if isinstance(ir, In):
        vtype, operand, negated = ir.consts[0].vtype if ir.consts else "string", ir.operand, ir.negated
        members = frozenset(c.value for c in ir.consts)
        convert = _coercer(vtype)

        def member(lookup):
            actual = lookup(operand)
            if actual is MISSING:
                return None
            return (convert(actual) in members) != negated

        return member
    if isinstance(ir, Range):
        low, high, vtype, inclusive = ir.low.value, ir.high.value, ir.low.vtype, ir.include_high
        operand, negated = ir.operand, ir.negated

        measured_int = vtype == "int" and operand.kind == "path"

        def in_range(lookup):
            actual = lookup(operand)
            if actual is MISSING:
                return None
            if measured_int:
                v, lo = _as_int_or_version(actual, low)
                hi = high if lo is low else Version.parse(str(high))
            else:
                v, lo, hi = coerce(actual, vtype), low, high
            inside = lo <= v and (v <= hi if inclusive else v < hi)
            return inside != negated

        return in_range
    if isinstance(ir, Match):
        search, operand = re.compile(ir.pattern).search, ir.operand

        def match(lookup):
            actual = lookup(operand)
            if actual is MISSING:
                return None
            return search(coerce(actual, "string")) is not None

        return match
    if isinstance(ir, Exist):
        operand = ir.operand
        return lambda lookup: lookup(operand) is not MISSING
    if isinstance(ir, NotE):
        inner = compile_closure(ir.item)

        def negate(lookup):
            v = inner(lookup)
            return None if v is None else not v

        return negate
    if isinstance(ir, AndE):
        parts = tuple(compile_closure(i) for i in ir.items)

        def both(lookup):
            unknown = False
            for p in parts:
                v = p(lookup)
                if v is False:
                    return False
                if v is None:
                    unknown = True
            return None if unknown else True

        return both
    if isinstance(ir, OrE):
        parts = tuple(compile_closure(i) for i in ir.items)

        def either(lookup):
            unknown = False
            for p in parts:
                v = p(lookup)
                if v is True:
                    return True
                if v is None:
                    unknown = True
            return None if unknown else False

        return either
    raise TypeError(ir)


@lru_cache(maxsize=65536)
def closure(ir: IR) -> Callable[[Lookup], object]:
    """The compiled closure of an expression, built once per distinct IR for the process.

    IR nodes are frozen and hashable, so the matcher, inference and validation share one
    cache: a fleet of snapshots compiles each rule once, not once per snapshot.
    """
    return compile_closure(ir)


def evaluate(ir: IR, lookup: Lookup):
    return closure(ir)(lookup)


@attrs.frozen(slots=True)
class AtomResult:
    """One leaf of an explanation: what was tested, what was found, what it gave."""

    text: str
    actual: object
    result: object  # True | False | None
    error: str = ""


def trace(ir: IR, lookup: Lookup) -> tuple[object, list[AtomResult]]:
    """Evaluate and record every atom, for ``--explain`` and validation reports."""
    results: list[AtomResult] = []

    def safe_lookup_atom(atom):
        operand = atom.operand
        actual = lookup(operand)
        try:
            value = compile_closure(atom)(lookup)
            results.append(AtomResult(render(atom), actual, value))
            return value
        except EvalError as err:
            results.append(AtomResult(render(atom), actual, None, str(err)))
            return None

    def walk(node):
        if isinstance(node, ATOMS):
            return safe_lookup_atom(node)
        if isinstance(node, TrueE):
            return True
        if isinstance(node, NotE):
            v = walk(node.item)
            return None if v is None else not v
        vals = [walk(i) for i in node.items]
        if isinstance(node, AndE):
            return False if False in vals else (None if None in vals else True)
        return True if True in vals else (None if None in vals else False)

    return walk(ir), results
