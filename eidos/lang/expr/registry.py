"""The one registry of expression kinds: each declared once, with everything it means.

A ``Kind`` says, for one kind of expression,

- **syntax**: the grammar rules (``grammar/eidos.lark``) whose parser callbacks build its
  AST node, and the callbacks themselves;
- **type rule**: ``check(checker, node, allow) -> IR``;
- **evaluation**: for an atom, ``compile(ir) -> closure(lookup)``; for a connective, the
  Kleene function (``logic``) that ``combine``s its children's values — the closure
  compiler and ``trace`` both use it, so they cannot disagree;
- **rendering**: canonical source text, with the precedence that decides parentheses;
- **negation** (atoms, optional): the atom that is its exact complement, which the
  closure compiler uses for ``not`` of it.

Operator families (comparisons, text tests) list their operators in ``ops`` next to the
grammar terminal that spells them (``token``). The parser, the checker, the closure
compiler and ``trace`` dispatch through this registry and have no per-kind branches;
``tests/test_expr_registry.py`` checks that every AST kind, IR class, grammar rule and
operator spelling has its declaration, so a forgotten one fails a test, not a run.

Adding an operator: a grammar alternative, one declaration here (or one ``ops`` entry),
its tests and a line in docs/language.md.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from typing import Any

from eidos.lang import record

from eidos.lang import ast
from eidos.lang.expr import regex
from eidos.lang.expr.coercion import EvalError, as_int_or_version, coerce, coercer
from eidos.lang.expr.ir import AndE, Cmp, Exist, In, Match, NotE, OrE, Range, TextTest, TrueE
from eidos.lang.expr.logic import kleene_and, kleene_not, kleene_or
from eidos.lang.measurements import MISSING
from eidos.lang.versions import Version, VersionError, version_key

# Precedence for rendering: a child whose kind binds looser than its parent requires is
# parenthesised. Atoms never need parentheses.
OR, AND, NOT, ATOM = 1, 2, 3, 9


@record.frozen
class Kind:
    """One kind of expression, declared once (see the module docstring)."""

    name: str  # as docs and test ids say it
    ast_type: type  # the node the parser builds (eidos.lang.ast)
    ir_type: type  # the node the checker produces (eidos.lang.expr.ir)
    syntax: Mapping[str, Callable[[Any, list], ast.ExprNode]]  # grammar rule -> (builder, children) -> AST
    check: Callable[[Any, Any, str], Any]  # (checker, AST node, "facts" | "measurements") -> IR
    render: Callable[..., str]  # atom: (ir) -> text; connective: (ir, children's texts) -> text
    compile: Callable[[Any], Callable] | None = None  # atoms: ir -> closure(lookup)
    combine: Callable | None = None  # connectives: Kleene function over the children's values
    # atoms whose negation is an atom of the same kind with the same value in every case
    # (unknown stays unknown, the same values raise): ir -> that atom. ``not (a != x)``
    # then compiles as ``a == x``, one closure call instead of two (closures.compile_closure)
    negate: Callable[[Any], Any] | None = None
    precedence: int = ATOM  # how tightly the rendered form binds
    child_precedence: int = 0  # children binding looser than this are parenthesised
    ops: Mapping[str, Any] = record.field(factory=dict)  # an operator family: spelling -> function
    token: str | None = None  # the grammar terminal that spells ``ops``

    def __attrs_post_init__(self):
        if (self.compile is None) == (self.combine is None):
            raise ValueError(f"kind {self.name!r}: an atom has 'compile', a connective 'combine'")
        if self.negate is not None and self.compile is None:
            raise ValueError(f"kind {self.name!r}: only an atom has 'negate'")

    @property
    def is_atom(self) -> bool:
        return self.combine is None


class Registry:
    """The declared kinds, looked up by AST class, IR class or grammar rule."""

    def __init__(self) -> None:
        self._kinds: list[Kind] = []
        self._by_ast: dict[type, Kind] = {}
        self._by_ir: dict[type, Kind] = {}
        self._by_rule: dict[str, Kind] = {}

    def declare(self, kind: Kind) -> Kind:
        for table, key in ((self._by_ast, kind.ast_type), (self._by_ir, kind.ir_type)):
            if key in table:
                raise ValueError(f"{key.__name__} is declared twice ({table[key].name!r}, {kind.name!r})")
        for rule in kind.syntax:
            if rule in self._by_rule:
                raise ValueError(f"grammar rule {rule!r} is declared twice")
            self._by_rule[rule] = kind
        self._by_ast[kind.ast_type] = kind
        self._by_ir[kind.ir_type] = kind
        self._kinds.append(kind)
        return kind

    def __iter__(self):
        return iter(self._kinds)

    def for_ast(self, node) -> Kind:
        try:
            return self._by_ast[type(node)]
        except KeyError:
            raise TypeError(f"no expression kind is declared for {type(node).__name__}") from None

    def for_ir(self, node) -> Kind:
        try:
            return self._by_ir[type(node)]
        except KeyError:
            raise TypeError(f"no expression kind is declared for {type(node).__name__}") from None

    def syntax_hooks(self) -> dict[str, Callable]:
        """Grammar rule name -> callback ``(builder, children) -> AST node``."""
        return {rule: hook for kind in self._kinds for rule, hook in kind.syntax.items()}


REGISTRY = Registry()
declare = REGISTRY.declare


# ---------------------------------------------------------------- comparison: a == b, a < b …

# Atoms whose answer for a text is costly (a regular expression run) keep it per distinct
# text, up to this many texts per atom. (Version comparisons keep each text's comparison
# key for the process instead: ``versions.version_key``.)
TEXT_MEMO_LIMIT = 4096

# The measured types that need no coercion (``coercion.coercer``'s fast cases; a float
# also needs a finiteness check, so it goes through the coercer).
_EXACT = {"int": int, "string": str, "enum": str, "bool": bool}

CMP_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
# each operator's complement: every type a comparison coerces to (integers, finite floats,
# text, booleans, version keys) is totally ordered, so ``not (a < b)`` is ``a >= b``
CMP_COMPLEMENT = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _check_compare(c, e: ast.Compare, allow):
    operand = c.operand(e.left, allow)
    return Cmp(e.op, operand, c.const(operand, e.right, ordered=e.op not in ("==", "!=")))


def _compile_compare(ir: Cmp):
    test, expected, vtype, operand = CMP_OPS[ir.op], ir.const.value, ir.const.vtype, ir.operand
    if vtype == "int" and operand.kind == "path":

        def cmp_measured_int(lookup):
            actual = lookup(operand)
            if type(actual) is int:
                return test(actual, expected)
            if actual is MISSING:
                return None
            return test(*as_int_or_version(actual, expected))

        return cmp_measured_int
    convert = coercer(vtype)
    if vtype == "version":
        # A measured text is compared by its key alone (``Version`` orders by it), so no
        # Version is built for it; ``version_key`` keeps the key per distinct text for the
        # process (a fleet measures the same few versions on every node), and comparing two
        # keys is one C call, so no memo of answers per atom is needed.
        expected_key = expected.key

        def cmp_version(lookup):
            actual = lookup(operand)
            if type(actual) is str:
                try:
                    key = version_key(actual)
                except VersionError as err:
                    raise EvalError(str(err)) from None
                return test(key, expected_key)
            if actual is MISSING:
                return None
            return test(convert(actual), expected)

        return cmp_version

    exact = _EXACT.get(vtype)

    def cmp(lookup):
        actual = lookup(operand)
        if type(actual) is exact:  # already the constant's type: no coercion to call
            return test(actual, expected)
        if actual is MISSING:
            return None
        return test(convert(actual), expected)

    return cmp


declare(Kind(
    name="comparison",
    ast_type=ast.Compare,
    ir_type=Cmp,
    syntax={"comparison": lambda b, ch: ast.Compare(str(ch[1]), ch[0], ch[2], b.span(ch))},
    check=_check_compare,
    compile=_compile_compare,
    negate=lambda ir: record.evolve(ir, op=CMP_COMPLEMENT[ir.op]),
    render=lambda ir: f"{ir.operand} {ir.op} {ir.const}",
    ops=CMP_OPS,
    token="CMP_OP",
))


# ---------------------------------------------------------------- set membership: a in { x, y }


def _check_in_set(c, e: ast.InSet, allow):
    operand = c.operand(e.operand, allow)
    consts = c.each(e.items, lambda item: c.const(operand, item, ordered=False))
    types = {k.vtype for k in consts}
    if len(types) > 1:
        c.fail("E301", "a set mixes types: " + ", ".join(sorted(types)), e.span)
    unique, seen = [], set()
    for k in consts:
        key = (k.vtype, k.value.key if isinstance(k.value, Version) else k.value)
        if key not in seen:
            seen.add(key)
            unique.append(k)
    return In(operand, tuple(unique), e.negated)


def _compile_in_set(ir: In):
    vtype, operand, negated = ir.consts[0].vtype if ir.consts else "string", ir.operand, ir.negated
    members = frozenset(k.value for k in ir.consts)
    convert = coercer(vtype)

    exact = _EXACT.get(vtype)

    def member(lookup):
        actual = lookup(operand)
        if type(actual) is exact:
            return (actual in members) != negated
        if actual is MISSING:
            return None
        return (convert(actual) in members) != negated

    return member


def _render_in_set(ir: In) -> str:
    items = ", ".join(str(k) for k in ir.consts)
    return f"{ir.operand} {'not in' if ir.negated else 'in'} {{{items}}}"


declare(Kind(
    name="set membership",
    ast_type=ast.InSet,
    ir_type=In,
    syntax={
        "in_set": lambda b, ch: ast.InSet(ch[0], ch[1], False, b.span(ch)),
        "not_in_set": lambda b, ch: ast.InSet(ch[0], ch[1], True, b.span(ch)),
    },
    check=_check_in_set,
    compile=_compile_in_set,
    negate=lambda ir: record.evolve(ir, negated=not ir.negated),
    render=_render_in_set,
))


# ---------------------------------------------------------------- ranges: a in 1..2, a not in 1..<2

ORDERED_TYPES = ("version", "int", "float")


def _check_in_range(c, e: ast.InRange, allow):
    operand = c.operand(e.operand, allow)
    low = c.const(operand, e.low, ordered=True)
    high = c.const(operand, e.high, ordered=True)
    if low.vtype != high.vtype and {low.vtype, high.vtype} - {"int", "float"}:
        c.fail("E301", f"range ends differ in type ({low.vtype} and {high.vtype})", e.span)
    if low.vtype not in ORDERED_TYPES:
        c.fail("E301", f"a range needs versions or numbers, not {low.vtype}s", e.span)
    if high.value < low.value or (not e.include_high and not low.value < high.value):
        c.fail("E304", f"range {low}{'..' if e.include_high else '..<'}{high} is empty", e.span)
    return Range(operand, low, high, e.include_high, e.negated)


def _compile_in_range(ir: Range):
    low, high, vtype, inclusive = ir.low.value, ir.high.value, ir.low.vtype, ir.include_high
    operand, negated = ir.operand, ir.negated
    measured_int = vtype == "int" and operand.kind == "path"

    def in_range(lookup):
        actual = lookup(operand)
        if actual is MISSING:
            return None
        if measured_int:
            v, lo = as_int_or_version(actual, low)
            hi = high if lo is low else Version.parse(str(high))
        else:
            v, lo, hi = coerce(actual, vtype), low, high
        inside = lo <= v and (v <= hi if inclusive else v < hi)
        return inside != negated

    return in_range


def _render_in_range(ir: Range) -> str:
    op = ".." if ir.include_high else "..<"
    return f"{ir.operand} {'not in' if ir.negated else 'in'} {ir.low}{op}{ir.high}"


def _range_hook(negated):
    def hook(b, ch):
        operand, (low, op, high) = ch
        return ast.InRange(operand, low, high, str(op) == "..", negated, b.span(ch))

    return hook


declare(Kind(
    name="range",
    ast_type=ast.InRange,
    ir_type=Range,
    syntax={"in_range": _range_hook(False), "not_in_range": _range_hook(True)},
    check=_check_in_range,
    compile=_compile_in_range,
    negate=lambda ir: record.evolve(ir, negated=not ir.negated),
    render=_render_in_range,
))


# ---------------------------------------------------------------- text: matches, startswith, endswith, contains

TEXT_FACT_KINDS = ("string", "enum")


def _needs_text(c, operand, what: str, span, allowed=TEXT_FACT_KINDS) -> None:
    kind = c.fact_kind(operand)
    if kind is not None and kind not in allowed:
        hint = ("compare versions and numbers with ==, <, >= or a range" if kind in ORDERED_TYPES
                else "compare booleans with == true or == false")
        c.fail("E301", f"'{what}' needs text; '{operand.name}' is a {kind} fact", span, hint=hint)


def _check_match(c, e: ast.Matches, allow):
    operand = c.operand(e.operand, allow)
    _needs_text(c, operand, "matches", e.span, allowed=TEXT_FACT_KINDS + ("version",))
    try:
        regex.check(e.pattern)
    except regex.RegexError as err:
        c.fail("E302", f"invalid regular expression: {err}", e.span,
               hint="patterns use RE2 syntax: no backreferences or lookaround; repetitions up to {1000}")
    return Match(operand, e.pattern)


def _compile_match(ir: Match):
    found, operand, as_text = regex.searcher(ir.pattern), ir.operand, coercer("string")
    memo: dict = {}  # text -> answer: a fleet measures the same texts on every node

    def match(lookup):
        text = lookup(operand)
        if type(text) is not str:  # (nearly every measured value is text already)
            if text is MISSING:
                return None
            text = as_text(text)
        known = memo.get(text)
        if known is not None:
            return known
        try:
            known = found(text)
        except UnicodeEncodeError:
            raise EvalError("the value is not valid Unicode text (a lone surrogate)") from None
        if len(memo) >= TEXT_MEMO_LIMIT:
            memo.clear()
        memo[text] = known
        return known

    return match


declare(Kind(
    name="regex match",
    ast_type=ast.Matches,
    ir_type=Match,
    syntax={"match": lambda b, ch: ast.Matches(ch[0], b.string(ch[1]), b.span(ch))},
    check=_check_match,
    compile=_compile_match,
    render=lambda ir: f"{ir.operand} matches {json.dumps(ir.pattern)}",
))

TEXT_OPS = {
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": operator.contains,
}


def _check_text(c, e: ast.TextTest, allow):
    operand = c.operand(e.operand, allow)
    _needs_text(c, operand, e.op, e.span)
    return TextTest(e.op, operand, e.text)


def _compile_text(ir: TextTest):
    test, operand, text, as_text = TEXT_OPS[ir.op], ir.operand, ir.text, coercer("string")

    def text_test(lookup):
        actual = lookup(operand)
        if actual is MISSING:
            return None
        return test(as_text(actual), text)

    return text_test


declare(Kind(
    name="text test",
    ast_type=ast.TextTest,
    ir_type=TextTest,
    syntax={"text_test": lambda b, ch: ast.TextTest(str(ch[1]), ch[0], b.string(ch[2]), b.span(ch))},
    check=_check_text,
    compile=_compile_text,
    render=lambda ir: f"{ir.operand} {ir.op} {json.dumps(ir.text)}",
    ops=TEXT_OPS,
    token="TEXT_OP",
))


# ---------------------------------------------------------------- presence: exists path


def _check_exists(c, e: ast.Exists, allow):
    operand = c.operand(e.path, "measurements")
    if allow != "measurements":
        c.fail("E301", "'exists' tests measurements, which conditions cannot see", e.span,
               hint="derive a fact from the snapshot with 'infer', then test the fact")
    return Exist(operand)


def _compile_exists(ir: Exist):
    operand = ir.operand
    return lambda lookup: lookup(operand) is not MISSING


declare(Kind(
    name="presence",
    ast_type=ast.Exists,
    ir_type=Exist,
    syntax={"exists": lambda b, ch: ast.Exists(ch[0], b.span(ch))},
    check=_check_exists,
    compile=_compile_exists,
    render=lambda ir: f"exists {ir.operand}",
))


# ---------------------------------------------------------------- connectives: not, and, or, always


def _flatten(kind, items) -> tuple:
    """``a and (b and c)`` is ``a and b and c``: one canonical IR per meaning of grouping."""
    out: list = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(out)


declare(Kind(
    name="not",
    ast_type=ast.Not,
    ir_type=NotE,
    syntax={"negation": lambda b, ch: ast.Not(ch[0], b.span(ch))},
    check=lambda c, e, allow: NotE(c.expr(e.operand, allow)),
    combine=kleene_not,
    render=lambda ir, parts: f"not {parts[0]}",
    precedence=NOT,
    child_precedence=ATOM,  # `not (a and b)`, `not (not a)`: only atoms go bare
))

declare(Kind(
    name="and",
    ast_type=ast.And,
    ir_type=AndE,
    syntax={"and_expr": lambda b, ch: ast.And(tuple(ch), b.span(ch))},
    check=lambda c, e, allow: AndE(_flatten(AndE, c.all(e.items, allow))),
    combine=kleene_and,
    render=lambda ir, parts: " and ".join(parts),
    precedence=AND,
    child_precedence=AND,
))

declare(Kind(
    name="or",
    ast_type=ast.Or,
    ir_type=OrE,
    syntax={"or_expr": lambda b, ch: ast.Or(tuple(ch), b.span(ch))},
    check=lambda c, e, allow: OrE(_flatten(OrE, c.all(e.items, allow))),
    combine=kleene_or,
    render=lambda ir, parts: " or ".join(parts),
    precedence=OR,
    child_precedence=OR,
))

declare(Kind(
    name="always",
    ast_type=ast.Always,
    ir_type=TrueE,
    syntax={"always": lambda b, ch: ast.Always(b.span(ch))},
    check=lambda c, e, allow: TrueE(),
    combine=kleene_and,  # the empty conjunction is true
    render=lambda ir, parts: "always",
))
