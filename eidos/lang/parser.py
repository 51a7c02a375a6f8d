"""Parse ``.eidos`` text into the AST, reporting syntax errors as diagnostics.

Lark is imported here and only here, and only when rules must actually be parsed (a
warm compiled-graph cache never reaches this module), because importing and building
the parser costs more than the whole rest of a cached ``eidos recipe`` call.

Error recovery: LALR stops at the first error, but authors want every error of a run.
When a file fails, it is re-parsed one top-level declaration at a time (declarations
start at column 0 with ``fact``, ``component``, ``overlay``, ``check`` or ``infer``), so
each broken declaration reports its own error and the healthy ones still compile.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from eidos.lang import ast
from eidos.lang.diagnostics import Reporter, SourceFile, Span
from eidos.io.resources import grammar_path

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
    "$END": "end of file",
}


class _Builder(Transformer):
    """Lark callbacks that build AST nodes bottom-up while the LALR parser reduces."""

    current_offset = 0

    def __init__(self) -> None:
        super().__init__()
        self.file = "<input>"
        self.line_offset = 0
        self.reporter: Reporter | None = None

    # -- helpers -----------------------------------------------------------------
    def _span(self, children) -> Span:
        """The extent of a rule: from its first positioned child to its last.

        Lark's position propagation costs 40% of parsing, so spans are rebuilt here from
        what the children already carry (tokens have positions, built nodes have spans).
        A declaration's span therefore starts at its name, not at its keyword.
        """
        ext = _extent(children)
        if ext is None:
            return Span(self.file, self.line_offset + 1, 1)
        return Span(self.file, *ext)

    def _tok_span(self, tok) -> Span:
        off = self.line_offset
        return Span(self.file, tok.line + off, tok.column, tok.end_line + off, tok.end_column)

    def _name(self, tok) -> ast.Name:
        return ast.Name(str(tok), self._tok_span(tok))

    def _string(self, tok) -> str:
        try:
            return json.loads(str(tok))
        except ValueError:
            if self.reporter is not None:
                self.reporter.error(
                    "E103",
                    "invalid escape in string literal",
                    self._tok_span(tok),
                    hint='escapes are JSON\'s: \\" \\\\ \\n \\t and \\u followed by four hex digits',
                )
            return str(tok)[1:-1]

    def _sname(self, tok) -> ast.Name:
        return ast.Name(self._string(tok), self._tok_span(tok))

    # -- declarations ------------------------------------------------------------
    def module(self, children):
        return [c for c in children if c is not None]

    def fact_decl(self, children):
        name, ftype, doc = children
        kind, values, aliases = ftype
        return ast.FactDecl(self._name(name), kind, values, aliases, doc[1] if doc else "", self._span(children))

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
        return "".join(self._string(t) for t in children)

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
            span=self._span(children),
        )

    def helm_source(self, children):
        attrs_ = dict(children)
        return ("helm", ast.HelmSource(attrs_.get("repo"), attrs_.get("chart"), attrs_.get("version"), self._span(children)))

    def kustomize_source(self, children):
        attrs_ = dict(children)
        return (
            "kustomize",
            ast.KustomizeSource(attrs_.get("source"), attrs_.get("tag"), attrs_.get("path"), self._span(children)),
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
        return ("display", self._string(children[0]))

    def category_stmt(self, children):
        return ("category", self._string(children[0]))

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
        return ("scheduling", ast.Scheduling(self._name(role), tuple(ns), tuple(tol), self._span(children)))

    def node_selector_paths(self, children):
        return ("ns", children[0])

    def toleration_paths(self, children):
        return ("tol", children[0])

    def set_stmt(self, children):
        return ("sets", ast.SetValue(children[0], children[1], self._span(children)))

    def unset_stmt(self, children):
        return ("unsets", ast.UnsetValue(children[0], self._span(children)))

    def value_path(self, children):
        out: list = []
        for tok in children:
            if tok.type == "INT":
                out.append(int(tok))
            elif tok.type == "STRING":
                out.append(self._string(tok))
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
            self._span(children),
        )

    def when_stmt(self, children):
        return ("when", children[0])

    def always(self, children):
        return ast.Always(self._span(children))  # children: the ALWAYS token

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
                span=self._span(children),
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
                span=self._span(children),
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
        return ast.CheckDecl(self._name(name), tuple(when), tuple(requires), category, doc, self._span(children))

    def infer_decl(self, children):
        fact, value, cond = children
        return ast.InferDecl(self._name(fact), value, cond, self._span(children))

    # -- expressions -------------------------------------------------------------
    def or_expr(self, children):
        return ast.Or(tuple(children), self._span(children))

    def and_expr(self, children):
        return ast.And(tuple(children), self._span(children))

    def negation(self, children):
        return ast.Not(children[0], self._span(children))

    def comparison(self, children):
        left, op, right = children
        return ast.Compare(str(op), left, right, self._span(children))

    def membership(self, children):
        return self._membership_node(children, False)

    def exclusion(self, children):
        return self._membership_node(children, True)

    def _membership_node(self, children, negated):
        operand, coll = children
        if coll[0] == "set":
            return ast.InSet(operand, coll[1], negated, self._span(children))
        _, low, high, include_high = coll
        return ast.InRange(operand, low, high, include_high, negated, self._span(children))

    def set_literal(self, children):
        return ("set", tuple(c for c in children if c is not None))

    def range_literal(self, children):
        low, op, high = children
        return ("range", low, high, str(op) == "..")

    def match(self, children):
        operand, pattern = children
        return ast.Matches(operand, self._string(pattern), self._span(children))

    def exists(self, children):
        return ast.Exists(children[0], self._span(children))

    def fact_ref(self, children):
        return ast.FactRef(str(children[0]), self._span(children))

    def path(self, children):
        head, *tail = children
        return ast.PathRef((str(head), *tail), self._span(children))

    def seg_name(self, children):
        return str(children[0])

    def seg_string(self, children):
        return self._string(children[0])

    def seg_index(self, children):
        return int(children[0])

    # -- literals ----------------------------------------------------------------
    def string_lit(self, children):
        return ast.Literal("string", self._string(children[0]), self._span(children))

    def int_lit(self, children):
        return ast.Literal("int", int(children[0]), self._span(children))

    def float_lit(self, children):
        return ast.Literal("float", float(children[0]), self._span(children))

    def version_lit(self, children):
        return ast.Literal("version", str(children[0]), self._span(children))

    def true_lit(self, children):
        return ast.Literal("bool", True, self._span(children))

    def false_lit(self, children):
        return ast.Literal("bool", False, self._span(children))

    def null_lit(self, children):
        return ast.Literal("null", None, self._span(children))

    def symbol_lit(self, children):
        return ast.Literal("symbol", str(children[0]), self._span(children))

    def list_lit(self, children):
        return ast.Literal("list", tuple(c for c in children if c is not None), self._span(children))

    def map_lit(self, children):
        return ast.Literal("map", tuple(c for c in children if c is not None), self._span(children))

    def map_entry(self, children):
        key, value = children
        return (self._string(key) if key.type == "STRING" else str(key), value)

    def name_list(self, children):
        return tuple(self._name(t) for t in children if t is not None)

    def string_list(self, children):
        return tuple(self._sname(t) for t in children if t is not None)


@lru_cache(maxsize=None)
def _parser(start: str = "module"):
    """The LALR parser for a start symbol: ``module`` (rule files) or ``cond`` (one condition).

    Built once per process and start symbol; the builder makes AST nodes while parsing.
    """
    builder = _Builder()
    lark = Lark(
        grammar_path().read_text(encoding="utf-8"),
        start=start,
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=True,
        transformer=builder,
    )
    return lark, builder


def _extent(x):
    """(line, col, end_line, end_col) of a token, a node with a span, or a container of them."""
    if isinstance(x, Token):
        off = _Builder.current_offset
        return (x.line + off, x.column, x.end_line + off, x.end_column)
    span = getattr(x, "span", None)
    if isinstance(span, Span):
        return (span.line, span.col, span.end_line, span.end_col)
    if isinstance(x, (tuple, list)):
        first = last = None
        for item in x:
            ext = _extent(item)
            if ext is not None:
                first = first or ext
                last = ext
        if first is not None:
            return (first[0], first[1], last[2], last[3])
    return None


def terminal_descriptions() -> dict[str, str]:
    lark, _ = _parser()
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
    lark, builder = _parser(start)
    builder.file, builder.line_offset, builder.reporter = file, line_offset, reporter
    _Builder.current_offset = line_offset
    try:
        return lark.parse(text)
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
        shown = ", ".join(expected[:8]) + (", …" if len(expected) > 8 else "")
        hint = f"expected {shown}"
    if str(tok) == "=" and "CMP_OP" in err.expected:
        hint = "compare with '==' ('=' only appears in 'set' and 'infer')"
    reporter.error("E101", message, span, hint=hint)


@lru_cache(maxsize=1)
def parse_expression(text: str, name: str = "<expression>", reporter: Reporter | None = None):
    """Parse one condition such as ``K8s.server.version >= 1.30`` into an AST expression.

    Returns ``None`` after reporting the syntax error (code, location, hint) to ``reporter``;
    without a reporter the diagnostic is collected and discarded, so callers that only need
    "does it parse" still never see a traceback.
    """
    reporter = reporter if reporter is not None else Reporter()
    reporter.add_source(SourceFile(name, text))
    return _parse_text(text, name, 0, reporter, start="cond")
