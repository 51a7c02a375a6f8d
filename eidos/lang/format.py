"""The one canonical layout of ``.eidos`` text (``eidos fmt``).

Formatting changes whitespace and nothing else: the token stream and every comment are
kept, and :func:`format_text` re-reads its own output to prove it (a mismatch is an
internal error, never a rewritten file). The layout, in the manner of ``gofmt``:

* **Line breaks are the author's**, with three exceptions: every top-level declaration
  and every statement of a multi-line block starts its own line; a multi-line block's
  ``{`` ends its line and its ``}`` stands alone; blank lines collapse to one, and appear
  only before a statement or a comment (never after ``{``, before ``}``, inside a
  statement, or at either end of the file). A block written on one line
  (``scheduling system { tolerations "x" }``) stays on one line.
* **Indentation is structural**: two spaces per enclosing block. A line that continues a
  statement is aligned with what it continues: a string of a ``doc``/``message``/``remedy``
  text under the text's first string; a line inside ``(``, ``[`` or ``{`` under the first
  item after the bracket (or two spaces in from the bracket's line when the bracket ends
  its line); a line of a condition under the condition's first token; anything else two
  spaces in from the statement.
* **Spacing is fixed**: one space between tokens, none before ``,`` ``:`` ``)`` and a
  closing ``]``, none after ``(`` and an opening ``[``, none around ``.``, ``..``/``..<``
  and index brackets (``K8s.node.labels["x"]``, ``nodes in 2..16``); sets, enums and maps
  are written ``{ a, b }``; a comment after code is preceded by two spaces and loses its
  trailing whitespace; the file ends with exactly one newline.

There is no line-length limit: long strings and conditions are split where the author
split them.

Lark is imported only here and in :mod:`eidos.lang.parser`; this module builds its own
parser of the same grammar that keeps every token (the AST builder drops punctuation).
"""

from __future__ import annotations

import re
from functools import lru_cache

import attrs

from eidos.errors import RulesError
from eidos.lang.diagnostics import Reporter, SourceFile

# Rules whose `{ ... }` is a block of statements (not a set, enum, alias list or map).
_BLOCK_RULES = frozenset({"component_decl", "overlay_decl", "check_decl", "component_use", "scheduling_stmt"})
# Rules that hold a condition as a direct child (``?cond`` is inlined, so the child's rule
# is whatever the condition is: or_expr, comparison, paren, ...).
_COND_HOLDERS = frozenset({"when_stmt", "require_stmt", "replace_stmt", "infer_decl"})
_NOT_COND = frozenset({"always", "severity_attr", "message_attr", "remedy_attr"})
_INDEX_RULES = frozenset({"seg_string", "seg_index", "value_path"})
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())

_GAP = re.compile(r"[ \t\f\r\n]*")
_COMMENT = re.compile(r"#[^\n]*")
_INDENT = 2


class FormatError(Exception):
    """The formatter's output would not read back as its input: a bug, never written."""


@attrs.define(slots=True, eq=False)
class _Item:
    """One token or comment of the source, with what the layout needs to know about it."""

    text: str
    newlines: int = 0  # line breaks between the previous item and this one, in the source
    comment: bool = False
    rule: str = ""  # the grammar rule the token belongs to
    depth: int = 0  # enclosing blocks (for a block's own braces: the blocks around it)
    stmt_start: bool = False
    in_one_line_block: bool = False  # a statement inside a block written on one line
    block: str = ""  # "open" | "close" for a block's braces
    one_line: bool = False  # for block braces: the block was written on one line
    head: bool = False  # the first string of a text, or the first token of a condition
    text_head: _Item | None = None  # a later string of a text: the text's first string
    cond_head: _Item | None = None  # a later token of a condition: its first token


@lru_cache(maxsize=1)
def _lossless_parser():
    """The grammar's LALR parser, keeping every token (punctuation too), without the AST builder."""
    from lark import Lark

    from eidos.io.resources import grammar_path

    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        start="module",
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        maybe_placeholders=False,
    )


def check_syntax(text: str, name: str) -> list:
    """The diagnostics ``eidos lint`` reports for this file's syntax (errors, limits); empty if it parses."""
    from eidos.lang.parser import parse_module

    reporter = Reporter()
    parse_module(SourceFile(name, text), reporter)
    return [d for d in reporter.sorted() if d.is_error]


def format_text(text: str, name: str = "<input>") -> str:
    """``text`` in the canonical layout; raises RulesError (exit 2) if it does not parse."""
    errors = check_syntax(text, name)
    if errors:
        raise RulesError(errors)
    items = _items(text)
    out = _layout(items)
    if _signature(_items(out)) != _signature(items):
        raise FormatError(f"{name}: formatting would change the tokens or comments")
    return out


def _signature(items: list[_Item]) -> list[tuple[bool, str]]:
    return [(i.comment, i.text) for i in items]


# ---------------------------------------------------------------------------- reading
@attrs.frozen(slots=True)
class _Context:
    """What a node inherits from the nodes around it."""

    rule: str = ""  # the parent rule
    depth: int = 0
    stmt: bool = False  # the node starts a statement (its first token is the statement's)
    one_line: bool = False  # the statement sits in a block written on one line
    role: str = ""  # "open" | "close": the token is a block brace
    text: list | None = None  # shared by a text's strings: [first string] once seen
    cond: list | None = None  # shared by a condition's tokens: [first token] once seen


def _leaves(tree) -> list[tuple[object, _Item]]:
    """Every token of the parse tree in source order, annotated with its structural role."""
    from lark import Token

    out: list[tuple[object, _Item]] = []
    stack: list[tuple[object, _Context]] = [(tree, _Context())]  # iterative: conditions nest deeply
    while stack:
        node, ctx = stack.pop()
        if isinstance(node, Token):
            out.append((node, _token_item(node, ctx)))
            continue
        rule = str(node.data)
        children = list(node.children)
        braces = [c for c in children if isinstance(c, Token) and c in ("{", "}")]
        block = rule in _BLOCK_RULES and bool(braces)
        one_line = block and braces[0].line == braces[-1].line
        entries = []
        inside = after_when = False
        for index, child in enumerate(children):
            sub = _Context(rule, ctx.depth, ctx.stmt and index == 0, ctx.one_line and index == 0,
                           "", ctx.text, ctx.cond)
            if isinstance(child, Token):
                if block and child in ("{", "}"):
                    inside = child == "{"
                    sub = attrs.evolve(sub, role="open" if inside else "close", one_line=one_line)
                after_when = after_when or child == "when"
            else:
                child_rule = str(child.data)
                if rule == "module":
                    sub = attrs.evolve(sub, stmt=True, one_line=False)
                elif block and inside:
                    sub = attrs.evolve(sub, stmt=True, depth=ctx.depth + 1, one_line=one_line)
                if child_rule == "text":
                    sub = attrs.evolve(sub, text=[])
                if (ctx.cond is None and rule in _COND_HOLDERS and child_rule not in _NOT_COND
                        and (rule != "infer_decl" or after_when)):
                    sub = attrs.evolve(sub, cond=[])
            entries.append((child, sub))
        stack.extend(reversed(entries))
    return out


def _token_item(token, ctx: _Context) -> _Item:
    item = _Item(str(token), rule=ctx.rule, depth=ctx.depth, stmt_start=ctx.stmt,
                 in_one_line_block=ctx.stmt and ctx.one_line, block=ctx.role,
                 one_line=bool(ctx.role) and ctx.one_line)
    for shared, attr in ((ctx.text, "text_head"), (ctx.cond, "cond_head")):
        if shared is None:
            continue
        if shared:
            setattr(item, attr, shared[0])
        else:
            shared.append(item)
            item.head = True
    return item


def _items(text: str) -> list[_Item]:
    """Tokens and comments of ``text`` in order, each with the line breaks before it."""
    items: list[_Item] = []
    position = 0
    for token, item in _leaves(_lossless_parser().parse(text)):
        item.newlines = _gap(text, position, token.start_pos, items)
        items.append(item)
        position = token.end_pos
    _gap(text, position, len(text), items)
    return items


def _gap(text: str, start: int, end: int, items: list[_Item]) -> int:
    """Append the comments between two tokens; return the line breaks after the last of them.

    The rest of a gap is whitespace (the grammar ignores nothing else).
    """
    at = start
    while True:
        ws = _GAP.match(text, at, end)
        if ws.end() >= end:
            return text.count("\n", at, end)
        comment = _COMMENT.match(text, ws.end(), end)
        if comment is None:
            raise FormatError(f"unexpected text between tokens at offset {ws.end()}")
        items.append(_Item(comment.group().rstrip(), text.count("\n", at, ws.end()), comment=True))
        at = comment.end()


# ---------------------------------------------------------------------------- writing
def _breaks(prev: _Item | None, item: _Item) -> int:
    """Line breaks to write before ``item`` (0: same line, 1: new line, 2: after a blank line)."""
    n = min(item.newlines, 2)
    if prev is None:
        return 0
    if item.comment:
        return min(n, 1) if prev.block == "open" else n
    if item.block == "close":
        return 0 if item.one_line else 1
    if prev.comment:
        return n if item.stmt_start else 1
    if prev.block == "open" and not prev.one_line:
        return 1
    if item.stmt_start:
        return n if item.in_one_line_block else max(n, 1)
    return min(n, 1)


def _space(prev: _Item, item: _Item) -> str:
    """What separates two tokens written on the same line."""
    a, b = prev.text, item.text
    if item.comment:
        return "  "
    if b in (",", ":", ")") or a == "(":
        return ""
    if a in (".", "..", "..<") or b in (".", "..", "..<"):
        return ""
    if b == "[" and item.rule in _INDEX_RULES:
        return ""
    if a == "[" and prev.rule in _INDEX_RULES | {"list_lit"}:
        return ""
    if b == "]" and item.rule in _INDEX_RULES | {"list_lit"}:
        return ""
    if a == "{" and b == "}":
        return ""
    return " "


def _layout(items: list[_Item]) -> str:
    """Write the items in the canonical layout."""
    lines: list[str] = []
    line = ""
    line_indent = 0
    columns: dict[int, int] = {}  # id(head item) -> its output column
    brackets: list[list] = []  # open brackets of the statement: [align column | None, indent of their line]
    stmt_indent = 0
    prev: _Item | None = None
    pending: list | None = None  # the bracket just opened, until its first item is placed
    opened = False  # the current line ends a block's "{" (a trailing comment aside)
    following = _following_tokens(items)
    for index, item in enumerate(items):
        breaks = _breaks(prev, item)
        if opened and breaks > 1:
            breaks = 1  # no blank line after "{", even past a comment on its line
        if item.stmt_start:
            stmt_indent = _INDENT * item.depth
            brackets.clear()
        closing = _is_closer(item) and bool(brackets)
        if breaks:
            lines.append(line.rstrip())
            if breaks > 1:
                lines.append("")
            if item.comment:
                indent = _comment_indent(following[index], stmt_indent, brackets, columns)
            else:
                indent = _indent(item, stmt_indent, brackets, columns, closing)
            line = " " * indent
            line_indent = indent
            pending = None  # a bracket that ends its line: hanging indent
        elif prev is not None:
            line += _space(prev, item)
        if not item.comment:
            if pending is not None:
                pending[0] = len(line)
                pending = None
            if item.head:
                columns[id(item)] = len(line)
        line += item.text
        if not item.comment:
            opened = item.block == "open" and not item.one_line
        elif breaks:
            opened = False
        if closing:
            brackets.pop()
        elif not item.comment and item.text in _OPENERS and not item.block:
            pending = [None, line_indent]
            brackets.append(pending)
        prev = item
    lines.append(line.rstrip())
    text = "\n".join(lines).strip("\n")
    return text + "\n" if text else ""


def _is_closer(item: _Item) -> bool:
    return not item.comment and not item.block and item.text in _CLOSERS


def _indent(item: _Item, stmt_indent: int, brackets: list[list], columns: dict[int, int], closing: bool) -> int:
    """Indentation of a token that starts a line."""
    if item.stmt_start or item.block == "close":
        return _INDENT * item.depth
    if closing:
        return brackets[-1][1]
    if item.text_head is not None and id(item.text_head) in columns:
        return columns[id(item.text_head)]
    if brackets:
        align, bracket_line = brackets[-1]
        return align if align is not None else bracket_line + _INDENT
    if item.cond_head is not None and id(item.cond_head) in columns:
        return columns[id(item.cond_head)]
    return stmt_indent + _INDENT


def _following_tokens(items: list[_Item]) -> list[_Item | None]:
    """For each item, the first token after it (None at the end): where a comment's indent comes from."""
    out: list[_Item | None] = [None] * len(items)
    after: _Item | None = None
    for index in range(len(items) - 1, -1, -1):
        out[index] = after
        if not items[index].comment:
            after = items[index]
    return out


def _comment_indent(following: _Item | None, stmt_indent: int, brackets: list[list],
                    columns: dict[int, int]) -> int:
    """A comment on its own line is indented like the token after it (inside the block before a ``}``)."""
    if following is None:
        return 0
    if following.block == "close":
        return _INDENT * (following.depth + 1)
    return _indent(following, stmt_indent, brackets, columns, _is_closer(following) and bool(brackets))
