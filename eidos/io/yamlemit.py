"""A small YAML writer whose output is byte-identical to ``eidos.io.yamlio``'s ruamel dumper.

Why it exists: ruamel.yaml's emitter is pure Python and event driven; writing one recipe
through it cost about 43 ms, a quarter of a warm ``eidos recipe`` (issue 17), plus 10 ms
to import ruamel at all. The documents eidos writes are plain data (dict, list, str, int,
float, bool, None) in block style, so this module writes them directly.

How it stays exact: it is not a new YAML writer with its own idea of style. It is a
port of the parts of ruamel.yaml 0.19's ``Emitter`` that the configured dumper reaches
(``expect_block_mapping``/``expect_block_sequence``, ``increase_indent``,
``write_indent``/``write_indicator``, ``analyze_scalar``, ``choose_scalar_style``,
``write_plain``/``write_single_quoted``/``write_double_quoted``/``write_literal``, empty ``[]``/``{}``), with
ruamel's YAML 1.2 implicit resolvers, fed the same scalar styles
``yamlio``'s representer asks for. The settings it reproduces are yamlio's: block
style, width 4096, ``indent(mapping=2, sequence=4, offset=2)``, unicode allowed.

Whatever it is not sure to reproduce raises :class:`Unsupported`, and ``yamlio.dump``
then writes the document with ruamel as before: a value of any other type (or a
subclass), a container reached twice (ruamel would write an anchor), a non-string or
long or multi-line key, a double-quoted string long enough for ruamel to fold it, a
nesting deeper than ``MAX_DEPTH``.
tests/test_yamlemit.py compares the two writers on generated data and checks each
fallback; the goldens compare whole CLI outputs.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DEPTH = 200  # ruamel recurses too; deeper documents go to it unchanged
_MAX_KEY = 100  # ruamel's simple-key limit is 128 characters including the tag
_WIDTH = 4096
_SEQ_INDENT = 4
_MAP_INDENT = 2
_DASH_OFFSET = 2
_BREAKS = "\n\x85\u2028\u2029"
_SPACE_OR_BREAK = "\0 \t\r\n\x85\u2028\u2029"


_ESCAPES = {"\0": "0", "\x07": "a", "\x08": "b", "\x09": "t", "\x0a": "n", "\x0b": "v", "\x0c": "f",
            "\x0d": "r", "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L",
            "\u2029": "P"}


class Unsupported(Exception):
    """The document holds something this writer does not reproduce; use ruamel."""


# ruamel.yaml 0.19 resolver.py, the YAML 1.2 implicit resolvers (tag suffix, regexp, first chars)
_RESOLVERS = [
    ("bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    ("float", re.compile(r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", re.VERBOSE), "-+0123456789."),
    ("int", re.compile(r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", re.VERBOSE), "-+0123456789"),
    ("merge", re.compile(r"^(?:<<)$"), "<"),
    ("null", re.compile(r"""^(?: ~
        |null|Null|NULL
        | )$""", re.VERBOSE), "~nN"),
    ("timestamp", re.compile(r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.VERBOSE), "0123456789"),
    ("value", re.compile(r"^(?:=)$"), "="),
    ("yaml", re.compile(r"^(?:!|&|\*)$"), "!&*"),
]


def resolve(value: str) -> str:
    """The tag (suffix) a YAML 1.2 reader, as ruamel resolves it, gives the plain scalar ``value``."""
    if value == "":
        return "null"
    first = value[0]
    for tag, regexp, chars in _RESOLVERS:
        if first in chars and regexp.match(value):
            return tag
    return "str"


class _Analysis:
    __slots__ = ("allow_block_plain", "allow_single_quoted", "empty", "multiline")

    def __init__(self, empty, multiline, allow_block_plain, allow_single_quoted):
        self.empty = empty
        self.multiline = multiline
        self.allow_block_plain = allow_block_plain
        self.allow_single_quoted = allow_single_quoted


# Most scalars eidos writes (names, versions, paths, image references) hold only these
# characters and start with none of the indicators: their analysis needs no scan.
_SIMPLE = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./=+@-]*\Z")
_SIMPLE_ANALYSIS = _Analysis(False, False, True, True)


def _analyze(scalar: str) -> _Analysis:
    """ruamel's ``Emitter.analyze_scalar`` (YAML 1.2, unicode allowed) for what block style needs.

    Only the flags block context reads are kept (flow-context flags are left out)."""
    if not scalar:
        return _Analysis(True, False, True, True)
    if _SIMPLE.match(scalar):
        return _SIMPLE_ANALYSIS
    block_indicators = False
    line_breaks = False
    special_characters = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = False
    if scalar.startswith(("---", "...")):
        block_indicators = True
    preceded_by_whitespace = True
    followed_by_whitespace = len(scalar) == 1 or scalar[1] in _SPACE_OR_BREAK
    previous_space = previous_break = False
    last = len(scalar) - 1
    for index, ch in enumerate(scalar):
        if index == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                block_indicators = True
            if ch in "?:" and followed_by_whitespace:
                block_indicators = True
            if ch == "-" and followed_by_whitespace:
                block_indicators = True
        elif (ch == ":" and followed_by_whitespace) or (ch == "#" and preceded_by_whitespace):
            block_indicators = True
        if ch in _BREAKS:
            line_breaks = True
        if not (ch == "\n" or "\x20" <= ch <= "\x7e") and not (
                (ch == "\x85" or "\xa0" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
                 or "\U00010000" <= ch <= "\U0010ffff") and ch != "\ufeff"):
            special_characters = True
        if ch == " ":
            if index == 0:
                leading_space = True
            if index == last:
                trailing_space = True
            if previous_break:
                break_space = True
            previous_space, previous_break = True, False
        elif ch in _BREAKS:
            if index == 0:
                leading_break = True
            if index == last:
                trailing_break = True
            if previous_space:
                space_break = True
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_whitespace = ch in _SPACE_OR_BREAK
        followed_by_whitespace = index + 2 > last or scalar[index + 2] in _SPACE_OR_BREAK
    allow_block_plain = allow_single_quoted = True
    if leading_space or leading_break or trailing_space or trailing_break:
        allow_block_plain = False
    if break_space or space_break or special_characters:
        allow_block_plain = allow_single_quoted = False
    if line_breaks or block_indicators:
        allow_block_plain = False
    return _Analysis(False, line_breaks, allow_block_plain, allow_single_quoted)


def _float_text(data: float) -> str:
    """ruamel's ``SafeRepresenter.represent_float`` (YAML 1.2)."""
    if math.isnan(data):
        return ".nan"
    if data == float("inf"):
        return ".inf"
    if data == float("-inf"):
        return "-.inf"
    return repr(data).lower()


class _Writer:
    """The emitter state ruamel keeps (column, whitespace, indention, indents), block style only."""

    def __init__(self, str_style):
        self.str_style = str_style
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.no_newline = False
        self.open_ended = False
        self.indent: int | None = None
        self.indents: list[tuple[int | None, bool | None]] = []
        self.seen: set[int] = set()
        self.sequence_context = False
        self.mapping_context = False
        self.simple_key_context = False

    # -- ruamel's low-level writers
    def write(self, data: str) -> None:
        self.out.append(data)

    def write_indicator(self, indicator: str, need_whitespace: bool, whitespace: bool = False,
                        indention: bool = False) -> None:
        data = indicator if self.whitespace or not need_whitespace else " " + indicator
        self.whitespace = whitespace
        self.indention = self.indention and indention
        self.column += len(data)
        self.open_ended = False
        self.out.append(data)

    def write_indent(self) -> None:
        indent = self.indent or 0
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            if self.no_newline:
                self.no_newline = False
            else:
                self.write_line_break()
        if self.column < indent:
            self.whitespace = True
            self.out.append(" " * (indent - self.column))
            self.column = indent

    def write_line_break(self) -> None:
        self.whitespace = True
        self.indention = True
        self.column = 0
        self.out.append("\n")

    def increase_indent(self, flow: bool = False, sequence: bool | None = None, indentless: bool = False) -> None:
        self.indents.append((self.indent, sequence))
        if self.indent is None:
            self.indent = None if flow else 0
        elif not indentless:
            last_seq = len(self.indents) >= 2 and self.indents[-2][1]
            self.indent += _SEQ_INDENT if last_seq else _MAP_INDENT

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()[0]

    def seq_seq(self) -> bool:
        return len(self.indents) >= 2 and bool(self.indents[-2][1]) and bool(self.indents[-1][1])

    def seq_flow_align(self) -> int:
        if len(self.indents) < 2 or not self.indents[-1][1]:
            return 0
        base = self.indents[-1][0] if self.indents[-1][0] is not None else 0
        return base + _SEQ_INDENT - self.column - 1

    # -- nodes
    def node(self, data: Any, depth: int, *, sequence: bool = False, mapping: bool = False,
             simple_key: bool = False) -> None:
        if depth > MAX_DEPTH:
            raise Unsupported("nested too deeply")
        self.sequence_context = sequence
        self.mapping_context = mapping
        self.simple_key_context = simple_key
        kind = type(data)
        if kind is dict or kind is list:
            if id(data) in self.seen:
                raise Unsupported("a container appears twice (ruamel writes an anchor)")
            self.seen.add(id(data))
            if kind is list:
                self.sequence(data, depth)
            else:
                self.mapping(data, depth)
            return
        if kind is str:
            self.scalar(data, self.str_style(data), "str")
        elif kind is bool:
            self.scalar("true" if data else "false", None, "bool")
        elif kind is int:
            self.scalar(str(data), None, "int")
        elif kind is float:
            self.scalar(_float_text(data), None, "float")
        elif data is None:
            self.scalar("null", None, "null")
        else:
            raise Unsupported(f"a value of type {kind.__name__}")

    def sequence(self, items: list, depth: int) -> None:
        if not items:
            self.write_indicator(" " * self.seq_flow_align() + "[", True, whitespace=True)
            self.increase_indent(flow=True, sequence=True)
            if self.seq_seq():
                self.indention, self.no_newline = True, False
            self.pop_indent()
            self.write_indicator("]", False)
            self.write_line_break()
            return
        indentless = not self.indention if self.mapping_context else False
        self.increase_indent(flow=False, sequence=True, indentless=indentless)
        if self.seq_seq():
            self.indention, self.no_newline = True, False
        for item in items:
            nonl = self.no_newline if self.column == 0 else False
            self.write_indent()
            self.write_indicator(" " * _DASH_OFFSET + "-", True, indention=True)
            if nonl:
                self.no_newline = True
            self.node(item, depth + 1, sequence=True)
        self.pop_indent()
        self.no_newline = False

    def mapping(self, data: dict, depth: int) -> None:
        if not data:
            self.write_indicator(" " * self.seq_flow_align() + "{", True, whitespace=True)
            self.increase_indent(flow=True, sequence=False)
            self.pop_indent()
            self.write_indicator("}", False)
            self.write_line_break()
            return
        self.increase_indent(flow=False, sequence=False)
        for key, value in data.items():
            if type(key) is not str or len(key) > _MAX_KEY or any(ch in _BREAKS for ch in key):
                raise Unsupported("a key that is not a short one-line string")
            self.write_indent()
            self.node(key, depth + 1, mapping=True, simple_key=True)
            self.write_indicator(":", False)
            self.node(value, depth + 1, mapping=True)
        self.pop_indent()

    def scalar(self, value: str, style: str | None, tag: str) -> None:
        analysis = _analyze(value)
        implicit_plain = resolve(value) == tag
        # choose_scalar_style, for block context
        if style == '"':
            chosen = '"'
        elif not style and implicit_plain and not (self.simple_key_context and (analysis.empty or analysis.multiline)) \
                and analysis.allow_block_plain:
            chosen = ""
        elif style == "|" and not self.simple_key_context:
            chosen = "|"
        elif not style and ("'" in value or "\n" in value):
            chosen = '"'
        elif (not style or style == "'") and analysis.allow_single_quoted \
                and not (self.simple_key_context and analysis.multiline):
            chosen = "'"
        else:
            chosen = '"'
        if chosen != "" and tag != "str":
            raise Unsupported("a non-string scalar that needs quoting (ruamel writes its tag)")
        # expect_scalar: increase_indent(flow=True), process_scalar, pop
        self.increase_indent(flow=True)
        split = not self.simple_key_context
        if self.sequence_context:
            self.write_indent()
        if chosen == '"':
            self.write_double_quoted(value)
        elif chosen == "'":
            self.write_single_quoted(value, split)
        elif chosen == "|":
            self.write_literal(value)
        else:
            self.write_plain(value, split)
        self.pop_indent()

    def write_plain(self, text: str, split: bool) -> None:
        if not text:
            return
        if not self.whitespace:
            self.column += 1
            self.out.append(" ")
        self.whitespace = False
        self.indention = False
        spaces = breaks = False
        start = end = 0
        n = len(text)
        while end <= n:
            ch = text[end] if end < n else None
            if spaces:
                if ch != " ":
                    if start + 1 == end and self.column >= _WIDTH and split:
                        self.write_indent()
                        self.whitespace = False
                        self.indention = False
                    else:
                        data = text[start:end]
                        self.column += len(data)
                        self.out.append(data)
                    start = end
            elif breaks:  # pragma: no cover - multi-line strings are never plain
                raise Unsupported("a multi-line plain scalar")
            else:
                if ch is None or ch in " \n\x85\u2028\u2029":
                    data = text[start:end]
                    if len(data) + self.column > _WIDTH and self.indent is not None and self.column > self.indent:
                        self.write_indent()
                    self.column += len(data)
                    self.out.append(data)
                    start = end
            if ch is not None:
                spaces = ch == " "
                breaks = ch in _BREAKS
            end += 1

    def write_single_quoted(self, text: str, split: bool) -> None:
        self.write_indicator("'", True)
        spaces = breaks = False
        start = end = 0
        n = len(text)
        while end <= n:
            ch = text[end] if end < n else None
            if spaces:
                if ch is None or ch != " ":
                    if start + 1 == end and self.column > _WIDTH and split and start != 0 and end != n:
                        self.write_indent()
                    else:
                        data = text[start:end]
                        self.column += len(data)
                        self.out.append(data)
                    start = end
            elif breaks:
                if ch is None or ch not in _BREAKS:
                    if text[start] == "\n":
                        self.write_line_break()
                    for br in text[start:end]:
                        if br != "\n":  # pragma: no cover - odd breaks are double-quoted
                            raise Unsupported("an odd line break")
                        self.write_line_break()
                    self.write_indent()
                    start = end
            elif (ch is None or ch in " \n\x85\u2028\u2029" or ch == "'") and start < end:
                data = text[start:end]
                self.column += len(data)
                self.out.append(data)
                start = end
            if ch == "'":
                self.column += 2
                self.out.append("''")
                start = end + 1
            if ch is not None:
                spaces = ch == " "
                breaks = ch in _BREAKS
            end += 1
        self.write_indicator("'", False)

    def write_double_quoted(self, text: str) -> None:
        """ruamel's writer, except that a line it would fold (past the width) is left to ruamel."""
        self.write_indicator('"', True)
        start = end = 0
        n = len(text)
        while end <= n:
            ch = text[end] if end < n else None
            if ch is None or ch in '"\\\x85\u2028\u2029\ufeff' or not (
                    "\x20" <= ch <= "\x7e" or "\xa0" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
                    or "\U00010000" <= ch <= "\U0010ffff"):
                if start < end:
                    data = text[start:end]
                    self.column += len(data)
                    self.out.append(data)
                    start = end
                if ch is not None:
                    if ch in _ESCAPES:
                        data = "\\" + _ESCAPES[ch]
                    elif ch <= "\xff":
                        data = f"\\x{ord(ch):02X}"
                    elif ch <= "\uffff":
                        data = f"\\u{ord(ch):04X}"
                    else:
                        data = f"\\U{ord(ch):08X}"
                    self.column += len(data)
                    self.out.append(data)
                    start = end + 1
            if self.column + (end - start) > _WIDTH:
                raise Unsupported("a double-quoted string ruamel would fold")
            end += 1
        self.write_indicator('"', False)

    def write_literal(self, text: str) -> None:
        hints = ""
        if text:
            if text[0] in " \n\x85\u2028\u2029":  # pragma: no cover - yamlio never asks for these
                raise Unsupported("a literal block with leading whitespace")
            if text[-1] not in _BREAKS:
                hints = "-"
            elif len(text) == 1 or text[-2] in _BREAKS:
                hints = "+"
        self.write_indicator("|" + hints, True)
        if hints == "+":
            self.open_ended = True
        self.write_line_break()
        breaks = True
        start = end = 0
        n = len(text)
        while end <= n:
            ch = text[end] if end < n else None
            if breaks:
                if ch is None or ch not in _BREAKS:
                    for br in text[start:end]:
                        if br != "\n":  # pragma: no cover - odd breaks are double-quoted
                            raise Unsupported("an odd line break")
                        self.write_line_break()
                    if ch is not None:
                        self.write_indent()
                    start = end
            else:
                if ch is None or ch in _BREAKS:
                    self.out.append(text[start:end])
                    if ch is None:
                        self.write_line_break()
                    start = end
            if ch is not None:
                breaks = ch in _BREAKS
            end += 1

    def document(self, data: Any) -> str:
        if type(data) not in (dict, list):
            raise Unsupported("a document that is not a mapping or a sequence")
        self.node(data, 0)
        # expect_document_end, then the stream end
        self.write_indent()
        if self.open_ended:
            self.write_indicator("...", True)
            self.write_indent()
        return "".join(self.out)


def dump(data: Any, str_style) -> str:
    """``data`` as yamlio's ruamel dumper writes it; raises :class:`Unsupported` when unsure.

    ``str_style(text)`` is the style yamlio's representer asks for a string: None, ``"'"``,
    ``'"'`` or ``"|"``."""
    try:
        return _Writer(str_style).document(data)
    except RecursionError:
        raise Unsupported("nested too deeply") from None
