"""Parse ``.eidos`` text into the AST, reporting syntax errors as diagnostics.

Lark is imported here and only here, and only when text must actually be parsed (a
warm compiled-graph cache never reaches this module, and a condition parsed before is
read back from the cache directory), because importing Lark and building the parser
cost more than the whole rest of a cached ``eidos recipe`` call.

Error recovery: LALR stops at the first error, but authors want every error of a run.
When a file fails, it is re-parsed one top-level declaration at a time (declarations
start at column 0 with ``fact``, ``component``, ``overlay``, ``check`` or ``infer``), so
each broken declaration reports its own error and the healthy ones still compile.

Input bounds (``eidos.lang.limits``) are enforced while the AST is built, before any
recursive stage sees it: nesting depth, integer length, finite floats, version length,
no lone surrogates. A violation is a diagnostic with the culprit's location; a depth or
size violation abandons that declaration like a syntax error does.

Shared state: the Lark parser (its tables) is built once per start symbol and is
immutable; everything that belongs to one parse (file name, line offset, reporter, depth
table) lives in a ``ContextVar`` set for the duration of that parse, so concurrent or
nested parses never see each other's state.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING

import attrs

from eidos.io.resources import grammar_path
from eidos.lang import ast
from eidos.lang.diagnostics import Diagnostic, Reporter, SourceFile, Span
from eidos.lang.expr.registry import REGISTRY
from eidos.lang.limits import MAX_INT_DIGITS, MAX_NESTING, MAX_VERSION_CHARS

if TYPE_CHECKING:
    from lark import Lark

_TOP_LEVEL = re.compile(r"^(?:fact|component|overlay|check|infer)\b", re.MULTILINE)

_TOKEN_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "VERSION": "a version",
    "INT": "an integer",
    "SIGNED_INT": "an integer",
    "FLOAT": "a number",
    "SIGNED_FLOAT": "a number",
    "CMP_OP": "a comparison (== != < <= > >=)",
    "RANGE_OP": "'..' or '..<'",
    "TEXT_OP": "a text test (startswith endswith contains)",
    "$END": "end of file",
}


@attrs.define(slots=True)
class _ParseState:
    """What belongs to one parse: where it is, where errors go, how deep each node nests."""

    file: str
    line_offset: int
    reporter: Reporter
    depth: dict = attrs.Factory(dict)  # id(node) -> (nodes, parentheses) nesting, unless (1, 0)
    keep: list = attrs.Factory(list)  # those nodes, kept alive so their ids stay unique


_STATE: ContextVar[_ParseState] = ContextVar("eidos_parse_state")


class _LimitExceeded(Exception):
    """Raised after reporting a bound violation: the declaration is abandoned."""


_SURROGATE = re.compile("[\ud800-\udfff]")


# lark's Token class, set by _lark() before the first parse: importing Lark costs more than a
# warm ``eidos validate`` spends parsing, so this module imports it only to parse (issue 17).
class _NotLoaded:
    """Stands for lark.Token until Lark is loaded (nothing is a token before a parse)."""


Token: type = _NotLoaded


def _lark():
    global Token
    import lark

    Token = lark.Token
    return lark


class _Builder:
    """Lark callbacks that build AST nodes bottom-up while the LALR parser reduces.

    Stateless: per-parse state is ``_STATE``. Expression callbacks come from the
    expression registry (see the loop after this class). A plain class, not a
    ``lark.Transformer``: an inline LALR transformer is looked up by rule and terminal
    name only, and a plain class lets this module load without Lark.
    """

    # -- helpers (also used by the registry's syntax hooks) -------------------------
    def span(self, children) -> Span:
        """The extent of a rule: from its first positioned child to its last.

        Lark's position propagation costs 40% of parsing, so spans are rebuilt here from
        what the children already carry (tokens have positions, built nodes have spans).
        A declaration's span therefore starts at its name, not at its keyword.
        """
        st = _STATE.get()
        ext = _extent(children, st.line_offset)
        if ext is None:
            return Span(st.file, st.line_offset + 1, 1)
        return Span(st.file, *ext)

    _span = span  # the earlier spelling, still used by some callbacks

    @property
    def reporter(self) -> Reporter:
        """This parse's reporter (read from the per-parse state, never stored on the builder)."""
        return _STATE.get().reporter

    def _tok_span(self, tok) -> Span:
        st = _STATE.get()
        off = st.line_offset
        return Span(st.file, tok.line + off, tok.column, tok.end_line + off, tok.end_column)

    def _name(self, tok) -> ast.Name:
        return ast.Name(str(tok), self._tok_span(tok))

    def string(self, tok) -> str:
        """A STRING token's text: JSON escapes, and no lone surrogate (not encodable text)."""
        try:
            value = json.loads(str(tok))
        except ValueError:
            _STATE.get().reporter.error(
                "E103",
                "invalid escape in string literal",
                self._tok_span(tok),
                hint='escapes are JSON\'s: \\" \\\\ \\n \\t and \\u followed by four hex digits',
            )
            return str(tok)[1:-1]
        lone = _SURROGATE.search(value)
        if lone is not None:
            _STATE.get().reporter.error(
                "E103",
                f"string literal contains a lone surrogate (\\u{ord(lone.group()):04x}), which is not text",
                self._tok_span(tok),
                hint="\\ud800-\\udfff escapes are only valid as a pair that spells one character",
            )
            return str(tok)[1:-1]
        return value

    def _sname(self, tok) -> ast.Name:
        return ast.Name(self.string(tok), self._tok_span(tok))

    def _limit(self, code: str, message: str, span: Span, hint: str | None = None):
        _STATE.get().reporter.error(code, message, span, hint=hint)
        raise _LimitExceeded()

    def _nested(self, node, children, what: str, kind: type):
        """Record how deep ``node`` nests (children of class ``kind`` count); refuse past the bound.

        Two measures, each bounded: nodes inside nodes (what recursive stages walk) and
        parentheses inside parentheses. They are kept apart so that rendering, which adds
        parentheses only around nodes, never makes a valid expression too deep to re-read.
        """
        st = _STATE.get()
        levels = [_depth(st, c, kind) for c in children]
        depth = (1 + max((d[0] for d in levels), default=0), max((d[1] for d in levels), default=0))
        if depth != (1, 0):
            if depth[0] > MAX_NESTING:
                self._too_deep(what, node.span)
            st.depth[id(node)] = depth
            st.keep.append(node)
        return node

    def _too_deep(self, what: str, span: Span):
        self._limit("E105", f"{what} nested more than {MAX_NESTING} levels deep", span,
                    hint="flatten it: 'a and b and c' needs no parentheses" if what == "expression"
                    else "split the value into several 'set' statements")

    def _int(self, tok) -> int:
        text = str(tok)
        digits = len(text) - text.startswith("-")
        if digits > MAX_INT_DIGITS:
            self._limit("E104", f"integer literal of {digits} digits is out of range (the limit is {MAX_INT_DIGITS})",
                        self._tok_span(tok))
        return int(text)

    # -- declarations ------------------------------------------------------------
    def module(self, children):
        return [c for c in children if c is not None]

    def fact_decl(self, children):
        name, ftype, doc = children
        kind, values, aliases = ftype
        return ast.FactDecl(self._name(name), kind, values, aliases, doc[1] if doc else "", self.span(children))

    def enum_type(self, children):
        names, aliases = children
        return ("enum", names, tuple(aliases or ()))

    def alias_block(self, children):
        return [c for c in children if c is not None]

    def alias(self, children):
        return (self._name(children[0]), self._name(children[1]))

    def scalar_type(self, children):
        return (str(children[0]), (), ())

    def doc(self, children):
        return ("doc", children[0])

    def text(self, children):
        return "".join(self.string(t) for t in children)

    def component_decl(self, children):
        name, *stmts = children
        f: dict = {"values": [], "manifests": [], "needs": [], "aliases": [], "scheduling": [], "sets": [], "unsets": []}
        for kind, payload in (s for s in stmts if s is not None):
            if kind in ("values", "manifests", "scheduling", "sets", "unsets"):
                f[kind].append(payload)
            elif kind in ("needs", "aliases"):
                f[kind].extend(payload)
            else:
                f[kind] = payload
        return ast.ComponentDecl(
            name=self._name(name),
            helm=f.get("helm"),
            kustomize=f.get("kustomize"),
            namespace=f.get("namespace"),
            values=tuple(f["values"]),
            manifests=tuple(f["manifests"]),
            needs=tuple(f["needs"]),
            display=f.get("display", ""),
            aliases=tuple(f["aliases"]),
            scheduling=tuple(f["scheduling"]),
            sets=tuple(f["sets"]),
            unsets=tuple(f["unsets"]),
            doc=f.get("doc", ""),
            span=self.span(children),
        )

    def helm_source(self, children):
        attrs_ = dict(children)
        return ("helm", ast.HelmSource(attrs_.get("repo"), attrs_.get("chart"), attrs_.get("version"), self.span(children)))

    def kustomize_source(self, children):
        attrs_ = dict(children)
        return (
            "kustomize",
            ast.KustomizeSource(attrs_.get("source"), attrs_.get("tag"), attrs_.get("path"), self.span(children)),
        )

    def _attr(kind):  # noqa: N805 - factory for "keyword STRING" statements
        def callback(self, children):
            return (kind, self._sname(children[0]))

        return callback

    repo_attr = _attr("repo")
    chart_attr = _attr("chart")
    version_attr = _attr("version")
    source_attr = _attr("source")
    tag_attr = _attr("tag")
    path_attr = _attr("path")
    namespace_stmt = _attr("namespace")
    values_stmt = _attr("values")
    manifest_stmt = _attr("manifests")
    version_stmt = _attr("version")
    drop_manifest = _attr("drop_manifests")
    del _attr

    def display_stmt(self, children):
        return ("display", self.string(children[0]))

    def category_stmt(self, children):
        return ("category", self.string(children[0]))

    def needs_stmt(self, children):
        return ("needs", children[0])

    def drop_needs(self, children):
        return ("drop_needs", children[0])

    def aliases_stmt(self, children):
        return ("aliases", children[0])

    def scheduling_stmt(self, children):
        role, *items = children
        ns, tol = [], []
        for kind, names in items:
            (ns if kind == "ns" else tol).extend(names)
        return ("scheduling", ast.Scheduling(self._name(role), tuple(ns), tuple(tol), self.span(children)))

    def node_selector_paths(self, children):
        return ("ns", children[0])

    def toleration_paths(self, children):
        return ("tol", children[0])

    def set_stmt(self, children):
        return ("sets", ast.SetValue(children[0], children[1], self.span(children)))

    def unset_stmt(self, children):
        return ("unsets", ast.UnsetValue(children[0], self.span(children)))

    def value_path(self, children):
        out: list = []
        for tok in children:
            if tok.type == "INT":
                out.append(self._int(tok))
            elif tok.type == "STRING":
                out.append(self.string(tok))
            else:
                out.append(str(tok))
        return tuple(out)

    def overlay_decl(self, children):
        name, parent, *stmts = children
        when, requires, comps, drops, doc = [], [], [], [], ""
        for kind, payload in (s for s in stmts if s is not None):
            if kind == "when":
                when.append(payload)
            elif kind == "require":
                requires.append(payload)
            elif kind == "component":
                comps.append(payload)
            elif kind == "drop":
                drops.append(payload)
            elif kind == "doc":
                doc = payload
        return ast.OverlayDecl(
            self._name(name),
            self._name(parent) if parent is not None else None,
            tuple(when),
            tuple(requires),
            tuple(comps),
            tuple(drops),
            doc,
            self.span(children),
        )

    def when_stmt(self, children):
        return ("when", children[0])

    def _requirement(self, children, name, expr, attrs_, replace):
        attrs_ = dict(attrs_)
        return (
            "require",
            ast.Requirement(
                name=self._name(name) if name is not None else None,
                expr=expr,
                severity=attrs_.get("severity"),
                message=attrs_.get("message", ""),
                remedy=attrs_.get("remedy", ""),
                replace=replace,
                span=self.span(children),
            ),
        )

    def require_stmt(self, children):
        name, expr, *attrs_ = children
        return self._requirement(children, name, expr, attrs_, False)

    def replace_stmt(self, children):
        name, expr, *attrs_ = children
        return self._requirement(children, name, expr, attrs_, True)

    def severity_attr(self, children):
        return ("severity", self._name(children[0]))

    def message_attr(self, children):
        return ("message", children[0])

    def remedy_attr(self, children):
        return ("remedy", children[0])

    def component_use(self, children):
        name, *stmts = children
        f: dict = {k: [] for k in ("values", "manifests", "needs", "sets", "unsets", "drop_manifests", "drop_needs")}
        for kind, payload in (s for s in stmts if s is not None):
            if kind in ("needs", "drop_needs"):
                f[kind].extend(payload)
            elif kind in f and isinstance(f[kind], list):
                f[kind].append(payload)
            else:
                if kind in f and self.reporter is not None:  # e.g. `version` twice: say where
                    self.reporter.error("E205", f"'{kind}' is given twice in component '{name}'",
                                        getattr(payload, "span", None) or self._span(children),
                                        notes=[f"first given at {getattr(f[kind], 'span', '?')}"])
                f[kind] = payload
        return (
            "component",
            ast.ComponentUse(
                name=self._name(name),
                version=f.get("version"),
                namespace=f.get("namespace"),
                values=tuple(f["values"]),
                manifests=tuple(f["manifests"]),
                needs=tuple(f["needs"]),
                sets=tuple(f["sets"]),
                unsets=tuple(f["unsets"]),
                drop_manifests=tuple(f["drop_manifests"]),
                drop_needs=tuple(f["drop_needs"]),
                span=self.span(children),
            ),
        )

    def drop_component(self, children):
        return ("drop", self._name(children[0]))

    def check_decl(self, children):
        name, *stmts = children
        when, requires, category, doc = [], [], "", ""
        for kind, payload in (s for s in stmts if s is not None):
            if kind == "when":
                when.append(payload)
            elif kind == "require":
                requires.append(payload)
            elif kind == "category":
                category = payload
            elif kind == "doc":
                doc = payload
        return ast.CheckDecl(self._name(name), tuple(when), tuple(requires), category, doc, self.span(children))

    def infer_decl(self, children):
        fact, value, cond = children
        return ast.InferDecl(self._name(fact), value, cond, self.span(children))

    # -- expressions -------------------------------------------------------------
    # The callbacks of expression rules are the registry's syntax hooks (after the class).
    def paren(self, children):
        """``( cond )`` builds no node, but each pair of parentheses is a level of nesting."""
        inner = children[0]
        st = _STATE.get()
        nodes, parens = _depth(st, inner, ast.ExprNode)
        if parens + 1 > MAX_NESTING:
            self._too_deep("expression", inner.span)
        st.depth[id(inner)] = (nodes, parens + 1)
        st.keep.append(inner)
        return inner

    def set_literal(self, children):
        return tuple(c for c in children if c is not None)

    def range_literal(self, children):
        return tuple(children)  # (low, RANGE_OP, high)

    def fact_ref(self, children):
        return ast.FactRef(str(children[0]), self.span(children))

    def path(self, children):
        head, *tail = children
        return ast.PathRef((str(head), *tail), self.span(children))

    def seg_name(self, children):
        return str(children[0])

    def seg_string(self, children):
        return self.string(children[0])

    def seg_index(self, children):
        return self._int(children[0])

    # -- literals ----------------------------------------------------------------
    def string_lit(self, children):
        return ast.Literal("string", self.string(children[0]), self.span(children))

    def int_lit(self, children):
        return ast.Literal("int", self._int(children[0]), self.span(children))

    def float_lit(self, children):
        text = str(children[0])
        value = float(text)
        if not math.isfinite(value):
            shown = text if len(text) <= 24 else text[:21] + "..."
            self._limit("E104", f"number {shown} is out of range (not a finite float)", self._tok_span(children[0]),
                        hint="floats reach about 1.8e308")
        return ast.Literal("float", value, self.span(children))

    def version_lit(self, children):
        text = str(children[0])
        if len(text) > MAX_VERSION_CHARS:
            self._limit("E104", f"version literal of {len(text)} characters is too long "
                        f"(the limit is {MAX_VERSION_CHARS})", self._tok_span(children[0]))
        return ast.Literal("version", text, self.span(children))

    def true_lit(self, children):
        return ast.Literal("bool", True, self.span(children))

    def false_lit(self, children):
        return ast.Literal("bool", False, self.span(children))

    def null_lit(self, children):
        return ast.Literal("null", None, self.span(children))

    def symbol_lit(self, children):
        return ast.Literal("symbol", str(children[0]), self.span(children))

    def list_lit(self, children):
        items = tuple(c for c in children if c is not None and not isinstance(c, Token))  # drop [ ]
        return self._nested(ast.Literal("list", items, self.span(children)), items, "value", ast.Literal)

    def map_lit(self, children):
        items = tuple(c for c in children if c is not None and not isinstance(c, Token))  # drop { }
        return self._nested(ast.Literal("map", items, self.span(children)), items, "value", ast.Literal)

    def map_entry(self, children):
        key, value = children
        return (self.string(key) if key.type == "STRING" else str(key), value)

    def name_list(self, children):
        return tuple(self._name(t) for t in children if t is not None)

    def string_list(self, children):
        return tuple(self._sname(t) for t in children if t is not None)


def _expression_callback(hook):
    def callback(self, children):
        return self._nested(hook(self, children), children, "expression", ast.ExprNode)

    callback.__doc__ = hook.__doc__
    return callback


for _rule, _hook in REGISTRY.syntax_hooks().items():
    setattr(_Builder, _rule, _expression_callback(_hook))
del _rule, _hook


def _depth(st: _ParseState, x, kind: type) -> tuple[int, int]:
    """(nodes, parentheses) nesting of a child: nodes of ``kind`` count (1 node deep unless
    recorded deeper); the tuples a rule passes up (set items, range ends, map entries)
    count by their members; anything else does not count."""
    if isinstance(x, kind):
        return st.depth.get(id(x), (1, 0))
    if isinstance(x, tuple):
        levels = [_depth(st, item, kind) for item in x]
        return (max((d[0] for d in levels), default=0), max((d[1] for d in levels), default=0))
    return (0, 0)


# Everything that decides the parser tables besides the grammar text and Lark's version.
_LARK_OPTIONS = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}
_TABLES_FORMAT = "1"  # bump when the encoding below changes
_TUPLE, _ITEMS = "\x00tuple", "\x00items"  # JSON has no tuples and only string keys


@lru_cache(maxsize=None)
def _parser(start: str = "module") -> Lark:
    """The LALR parser for a start symbol: ``module`` (rule files) or ``cond`` (one condition).

    Built once per process and start symbol (its tables never change); the stateless
    builder makes AST nodes while parsing.

    Building the LALR tables costs about 80 ms of CPU in every process that compiles rules
    (issue 17), so the tables are kept in eidos' compiled-rule cache directory
    (:mod:`eidos.engine.cache`: private to the user, checked on an open descriptor, files
    written atomically). Not with Lark's own ``cache=``: that file is a pickle, and loading
    a pickle can run code. Here the tables are Lark's own serialisation
    (``memo_serialize``, the data its standalone generator writes out) encoded as JSON, which
    decodes to data only. The entry is keyed by a SHA-256 of the grammar text, Lark's version,
    the start symbol, the options and this encoding's version, and its header carries the
    payload's digest, so an edited grammar, an upgraded Lark or a damaged file is a miss
    and the parser is built from the grammar as before. Any failure to decode is a miss too.
    """
    lark = _lark()
    Lark = lark.Lark

    text = grammar_path().read_text(encoding="utf-8")
    key = hashlib.sha256("\0".join((
        _TABLES_FORMAT, lark.__version__, start, json.dumps(_LARK_OPTIONS, sort_keys=True), text,
    )).encode("utf-8")).digest()
    from eidos.engine import cache

    payload = cache.load_blob("lark", key)
    if payload is not None:
        try:
            stored = json.loads(payload, object_hook=_decode_hook)
            return Lark._load_from_dict(stored["data"], stored["memo"], transformer=_Builder())
        except Exception:  # noqa: BLE001 - a cache entry that does not load is a miss, never an error
            payload = None
    parser = Lark(text, start=start, transformer=_Builder(), **_LARK_OPTIONS)
    try:
        payload = _encode_tables(parser)
    except (TypeError, ValueError):  # a Lark whose tables hold something JSON cannot: just no cache
        return parser
    cache.store_blob("lark", key, payload)
    return parser


def _encode_tables(parser: Lark) -> bytes:
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k != "transformer"}  # given at load
    return json.dumps(_encode({"data": data, "memo": memo}), separators=(",", ":")).encode("utf-8")


def _encode(x):
    if isinstance(x, tuple):
        return {_TUPLE: [_encode(i) for i in x]}
    if isinstance(x, list):
        return [_encode(i) for i in x]
    if isinstance(x, dict):
        if all(type(k) is str and not k.startswith("\x00") for k in x):
            return {k: _encode(v) for k, v in x.items()}
        return {_ITEMS: [[_encode(k), _encode(v)] for k, v in x.items()]}
    if x is None or type(x) in (str, int, bool, float):
        return x
    raise TypeError(f"cannot encode {type(x).__name__}")


def _decode_hook(d: dict):
    if len(d) == 1:
        if _TUPLE in d:
            return tuple(d[_TUPLE])
        if _ITEMS in d:
            return {k: v for k, v in d[_ITEMS]}
    return d


def _extent(x, line_offset: int):
    """(line, col, end_line, end_col) of a token, a node with a span, or a container of them."""
    if isinstance(x, Token):
        return (x.line + line_offset, x.column, x.end_line + line_offset, x.end_column)
    span = getattr(x, "span", None)
    if isinstance(span, Span):
        return (span.line, span.col, span.end_line, span.end_col)
    if isinstance(x, (tuple, list)):
        first = last = None
        for item in x:
            ext = _extent(item, line_offset)
            if ext is not None:
                first = first or ext
                last = ext
        if first is not None:
            return (first[0], first[1], last[2], last[3])
    return None


def terminal_descriptions() -> dict[str, str]:
    lark = _parser()
    out = {}
    for t in lark.terminals:
        if t.name in _TOKEN_NAMES:
            out[t.name] = _TOKEN_NAMES[t.name]
        elif t.pattern.type == "str":
            out[t.name] = f"'{t.pattern.value}'"
        else:
            out[t.name] = t.name.lower()
    out["$END"] = _TOKEN_NAMES["$END"]
    return out


def parse_module(source: SourceFile, reporter: Reporter) -> ast.Module:
    """Parse one file; syntax errors go to ``reporter`` and parsing continues where it can."""
    reporter.add_source(source)
    first_pass = Reporter()
    first_pass.add_source(source)
    decls = _parse_text(source.text, source.name, 0, first_pass)
    if decls is not None:
        reporter.items.extend(first_pass.items)
        return ast.Module(source.name, tuple(decls))
    # Recovery: one declaration at a time, each reporting its own first error.
    recovered = []
    starts = [m.start() for m in _TOP_LEVEL.finditer(source.text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(source.text))
    for begin, end in zip(starts, starts[1:]):
        chunk = source.text[begin:end]
        if not chunk.strip():
            continue
        offset = source.text.count("\n", 0, begin)
        part = _parse_text(chunk, source.name, offset, reporter)
        if part:
            recovered.extend(part)
    return ast.Module(source.name, tuple(recovered))


def _parse_text(text: str, file: str, line_offset: int, reporter: Reporter, start: str = "module"):
    lark = _parser(start)
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

    state = _STATE.set(_ParseState(file, line_offset, reporter))
    try:
        return lark.parse(text)
    except _LimitExceeded:
        pass  # reported where the bound was crossed
    except UnexpectedToken as err:
        _report_unexpected_token(err, file, line_offset, reporter)
    except UnexpectedCharacters as err:
        span = Span(file, err.line + line_offset, err.column, err.line + line_offset, err.column + 1)
        ch = text[err.pos_in_stream] if 0 <= err.pos_in_stream < len(text) else "?"
        if ch == '"':
            reporter.error("E103", "unterminated string", span, hint="strings end on the line they start")
        else:
            reporter.error("E102", f"unexpected character {ch!r}", span)
    except UnexpectedInput as err:  # UnexpectedEOF and friends
        line = getattr(err, "line", -1)
        line = text.count("\n") + 1 if line in (-1, None) else line
        what = "file" if start == "module" else "expression"
        reporter.error("E101", f"unexpected end of {what}", Span(file, line + line_offset, 1))
    except VisitError as err:  # a builder bug must still not become a traceback
        reporter.error("E101", f"cannot build syntax tree: {err.orig_exc}", Span(file, line_offset + 1, 1))
    finally:
        _STATE.reset(state)
    return None


def _report_unexpected_token(err, file: str, line_offset: int, reporter: Reporter) -> None:
    tok = err.token
    names = terminal_descriptions()
    expected = sorted({names.get(e, e) for e in err.expected})
    if tok.type == "$END":
        line = tok.line if isinstance(tok.line, int) and tok.line > 0 else 1
        span = Span(file, line + line_offset, max(tok.column or 1, 1))
        message = "unexpected end of file"
    else:
        span = Span(file, tok.line + line_offset, tok.column, tok.end_line + line_offset, tok.end_column)
        described = names.get(tok.type, tok.type)
        message = f"unexpected {described}" if described.startswith("'") else f"unexpected {described} '{tok}'"
    hint = None
    if expected:
        shown = ", ".join(expected[:12]) + (", …" if len(expected) > 12 else "")
        hint = f"expected {shown}"
    if str(tok) == "=" and "CMP_OP" in err.expected:
        hint = "compare with '==' ('=' only appears in 'set' and 'infer')"
    reporter.error("E101", message, span, hint=hint)


def parse_expression(text: str, name: str = "<expression>", reporter: Reporter | None = None):
    """Parse one condition such as ``K8s.server.version >= 1.30`` into an AST expression.

    Returns ``None`` after reporting the syntax error (code, location, hint) to ``reporter``;
    without a reporter the diagnostic is discarded, so callers that only need "does it
    parse" still never see a traceback. Every call reports its own diagnostics: only the
    pure part (text and name to AST and diagnostics) is cached.
    """
    expr, diagnostics = _parse_condition(text, name)
    if reporter is not None:
        reporter.add_source(SourceFile(name, text))
        reporter.items.extend(diagnostics)
    return expr


@lru_cache(maxsize=256)
def _parse_condition(text: str, name: str) -> tuple[ast.Expr | None, tuple[Diagnostic, ...]]:
    """The AST (immutable) and diagnostics of one condition; a function of its arguments only.

    Kept across processes too, in the compiled-rule cache directory: ``eidos validate``
    parses one condition per pinned component, and importing Lark and loading its tables
    for them cost a fifth of a warm run (issue 17). An entry is keyed by a SHA-256 of the
    engine fingerprint (the grammar and every module that shapes the AST), the text and
    the name, and decoded by the cache's restricted unpickler (eidos' data classes only),
    so it can neither run code nor outlive a change to the parser."""
    from eidos.engine import cache

    key = hashlib.sha256(cache.engine_fingerprint() + json.dumps([text, name]).encode("utf-8")).digest()
    payload = cache.load_blob("cond", key)
    if payload is not None:
        try:
            expr, diagnostics = cache.safe_loads(payload)
            if (expr is None or isinstance(expr, ast.ExprNode)) and isinstance(diagnostics, tuple) \
                    and all(isinstance(d, Diagnostic) for d in diagnostics):
                return expr, diagnostics
        except Exception:  # noqa: BLE001 - an entry that does not decode is a miss
            payload = None
    reporter = Reporter()
    reporter.add_source(SourceFile(name, text))
    expr = _parse_text(text, name, 0, reporter, start="cond")
    result = (expr, tuple(reporter.items))
    try:
        cache.store_blob("cond", key, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):  # pragma: no cover - AST nodes are plain data
        pass
    return result
