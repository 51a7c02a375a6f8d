"""Block-style YAML as snapshot writers emit it, read line by line: ~1.4 ms for a real node.

libyaml through PyYAML's composer (:mod:`eidos.snapshot.fastload`) spends ~4.5 ms of a real
node's ~6 ms building a node object per scalar before a Python walk turns them into values.
Snapshots are written in one narrow shape (eidos' writer and the reference's alike): block
mappings and sequences by indentation, one scalar per line. This module reads exactly that
shape with one regular expression splitting the text into rows and a loop over the rows,
and raises ``_Unsure`` on anything else, so the document goes on to libyaml and, from
there, to ruamel as before. Plain scalars are typed by :func:`fastload.scalar_value`
(ruamel's own YAML 1.2 patterns), so values are those ruamel gives; equality is proved on
every fixture, on documents eidos' writer emits and on mutated text
(tests/validate/test_fleet_fastload.py, tests/validate/test_fleet_blockyaml.py).

The nodes of a fleet share most of their lines (sysctls, unit properties, module lists), so
the meaning of a ``key: scalar`` row, which does not depend on where the row stands, is kept
across documents (:data:`_ENTRIES`, bounded): from the second node on, most rows cost one
dictionary lookup.
"""

from __future__ import annotations

import json
import re
from typing import Any

from eidos.snapshot.fastload import _MAX_DEPTH, TYPED_FIRST, _Unsure, scalar_value

# A plain scalar may not start with an indicator; "-" only when a digit or "." follows it.
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
_SINGLE = re.compile(r"'((?:[^']|'')*)'")
_DOUBLE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
            "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
            "L": "\u2028", "P": "\u2029"}
_ESCAPE = re.compile(r"\\(?:([0abtnvfre \"/\\N_LP])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))")


def _unescape(m) -> str:
    simple, x, u, big, other = m.groups()
    if simple is not None:
        return _ESCAPES[simple]
    if other is not None:
        raise _Unsure("escape")
    code = int(x or u or big, 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise _Unsure("surrogate")
    return chr(code)


# One row per line that is neither blank nor a comment: (indentation, content).
_ROW = re.compile(r"^( *)([^ \n#][^\n]*)", re.MULTILINE)
# The same for a text with ``|`` blocks: (indentation, header of a block, its lines, content).
# A line ending in ``|``/``|-``/``|+`` takes the lines after it that are blank or indented
# deeper as its block (checked in :meth:`_Block.literal`).
_LITERAL_ROW = re.compile(r"^( *)(?:([^ \n#](?:[^\n]*[ :])?\|[-+]?) *\n((?:\1 [^\n]*\n| *\n)*)|([^ \n#][^\n]*?) *$)", re.MULTILINE)
_NESTED = object()  # a "key:" row: the value is the block below, or null
# content of a "key: scalar" or "key:" row -> (key, value or _NESTED), shared by every document
# a process reads: the nodes of a fleet repeat most of their lines, whose meaning does not
# depend on where they stand (only immutable values are kept; the cap bounds the memory).
# Measured on the H100 fixture: ~4.4 ms for the first document, ~1.4 ms once its rows are known.
_ENTRIES: dict = {}
_ENTRIES_CAP = 50_000


class _Block:
    """A strict reader for block-style YAML as snapshot writers emit it (eidos' writer and the
    reference's): block mappings and sequences by indentation, one scalar per line (plain,
    single- or double-quoted on one line, or a ``|`` literal block), ``[]`` and ``{}``, full-line
    comments. Every other construct (flow collections, folded or multi-line scalars, anchors,
    tags, complex keys, tabs, document markers) raises ``_Unsure`` and the document takes
    the libyaml path. Plain scalars are typed by :func:`scalar_value` (ruamel's patterns), as
    there. Indentations are kept as strings of spaces: for those, ``<`` compares lengths."""

    __slots__ = ("at", "budget", "literals", "rows")

    def __init__(self, text: str, max_values: int, *, literals: bool = False):
        self.literals = literals
        self.rows = (_LITERAL_ROW if literals else _ROW).findall(text)
        self.at = 0
        self.budget = max_values - 1  # the document itself counts

    def document(self) -> Any:
        rows = self.rows
        if not rows or rows[0][0]:
            raise _Unsure("empty or indented document")
        value = self.node("", 0)
        if self.at != len(rows):
            raise _Unsure("trailing content")
        if self.budget < 0:
            raise _Unsure("limits")
        return value

    def node(self, indent: str, depth: int) -> Any:
        """The block collection whose first row is the current one, at ``indent``."""
        if depth >= _MAX_DEPTH:
            raise _Unsure("depth")
        content = self.rows[self.at][-1]
        if content[:2] == "- " or content.rstrip(" ") == "-":
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def mapping(self, indent: str, depth: int) -> dict:
        rows = self.rows
        n = len(rows)
        at = self.at
        entries = _ENTRIES
        out: dict = {}
        last = ""
        ordered = True
        while at < n:
            row = rows[at]
            if row[0] != indent:
                if row[0] > indent:
                    raise _Unsure("indentation")
                break
            hit = entries.get(row[-1])
            if hit is None:
                self.at = at
                key, value = self.entry(row, indent, depth)
                at = self.at
            else:
                key, value = hit
                at += 1
                if value is _NESTED:
                    self.at = at
                    value = self.nested(indent, depth, indentless=True)
                    at = self.at
                elif at < n and rows[at][0] > indent:
                    raise _Unsure("continued scalar")
            if key in out:
                raise _Unsure("duplicate key")
            out[key] = value
            if key < last:
                ordered = False
            last = key
        self.at = at
        self.budget -= len(out)
        return out if ordered else dict(sorted(out.items()))

    def entry(self, row: tuple, indent: str, depth: int) -> tuple[str, Any]:
        """A mapping row read the long way (and remembered when its meaning is context-free)."""
        literal = self.literals and row[1]
        line = literal or row[-1]
        content = line.rstrip(" ")
        if content[:2] == "- " or content == "-":
            raise _Unsure("sequence entry in a mapping")
        key, rest = self.key(content)
        if key == "<<":
            raise _Unsure("merge key")
        self.at += 1
        if len(_ENTRIES) >= _ENTRIES_CAP:
            _ENTRIES.clear()  # start learning again: what recurs now is back within a node
        if not rest:
            if not literal:
                _ENTRIES[line] = (key, _NESTED)
            return key, self.nested(indent, depth, indentless=True)
        if literal:
            return key, self.literal(rest, row[2], indent)
        if rest[0] == "|" and not self.literals:
            raise _Literals()
        value = self.scalar(rest, indent)
        if type(value) is not list and type(value) is not dict:
            _ENTRIES[line] = (key, value)
        return key, value

    def sequence(self, indent: str, depth: int) -> list:
        rows = self.rows
        out: list = []
        while self.at < len(rows):
            row = rows[self.at]
            if row[0] != indent:
                if row[0] > indent:
                    raise _Unsure("indentation")
                break
            content = row[-1].rstrip(" ")
            if self.literals and row[1]:
                raise _Unsure("block scalar in a sequence entry")
            if content == "-":
                self.at += 1
                out.append(self.nested(indent, depth, indentless=False))
                continue
            if content[:2] != "- ":
                break  # the mapping around an indentless sequence goes on
            rest = content[2:].lstrip(" ")
            if rest[:2] == "- " or rest == "-" or self.is_entry(rest):
                # a collection starting on the dash's line: read it as if its row began there
                column = indent + " " * (len(content) - len(rest))
                rows[self.at] = (column, "", "", rest) if self.literals else (column, rest)
                out.append(self.node(column, depth + 1))
            else:
                self.at += 1
                out.append(self.scalar(rest, indent))
        self.budget -= len(out)
        return out

    def nested(self, indent: str, depth: int, *, indentless: bool) -> Any:
        """The value of ``key:`` / ``-`` with nothing after it: a deeper block, or null."""
        rows = self.rows
        if self.at < len(rows):
            row = rows[self.at]
            if row[0] > indent:
                return self.node(row[0], depth + 1)
            content = row[-1].rstrip(" ")
            if indentless and row[0] == indent and (content[:2] == "- " or content == "-"):
                return self.sequence(indent, depth + 1)
        return None

    @staticmethod
    def is_entry(content: str) -> bool:
        """Whether a sequence entry's text starts a mapping (``key: value`` or ``key:``)."""
        first = content[0]
        if first == "'" or first == '"':
            m = (_SINGLE if first == "'" else _DOUBLE).match(content)
            if m is None:
                raise _Unsure("quoted")
            return content[m.end():m.end() + 1] == ":"
        return ": " in content or content[-1] == ":"

    @staticmethod
    def key(content: str) -> tuple[str, str]:
        """``key: rest`` -> (the key as the snapshot reader keeps it, rest)."""
        first = content[0]
        if first == "'" or first == '"':
            m = (_SINGLE if first == "'" else _DOUBLE).match(content)
            if m is None:
                raise _Unsure("quoted key")
            key = _quoted(first, m.group(1))
            after = content[m.end():]
            if after[:2] == ": ":
                return key, after[2:].lstrip(" ")
            if after == ":":
                return key, ""
            raise _Unsure("key")
        cut = content.find(": ")
        if cut < 0:
            if content[-1] != ":":
                raise _Unsure("not a mapping entry")
            text, rest = content[:-1], ""
        else:
            text, rest = content[:cut], content[cut + 2:].lstrip(" ")
        if not text or first in _PLAIN_START or " #" in text or text[-1] in " :" or text[:3] in ("---", "..."):
            raise _Unsure("key")
        if first not in TYPED_FIRST:
            return text, rest  # what scalar_value gives: no resolver starts with this character
        key = scalar_value(text)
        return (key if type(key) is str else json.dumps(key)), rest

    def scalar(self, text: str, indent: str) -> Any:
        """The value written after ``key:`` or ``-`` on one line (``text`` right-stripped)."""
        first = text[0]
        if first == "'" or first == '"':
            m = (_SINGLE if first == "'" else _DOUBLE).fullmatch(text)
            if m is None:
                raise _Unsure("quoted scalar")  # spans lines, or a comment follows
            value = _quoted(first, m.group(1))
        elif first in _PLAIN_START:
            if text == "[]":
                value = []
            elif text == "{}":
                value = {}
            elif first == "-" and text[1:2] and text[1] in "0123456789.":
                value = _plain(text)
            elif first == "|" and not self.literals:
                raise _Literals()
            else:
                raise _Unsure("indicator")
        else:
            value = _plain(text)
        rows = self.rows
        if self.at < len(rows) and rows[self.at][0] > indent:
            raise _Unsure("continued scalar")
        return value

    def literal(self, header: str, body: str, indent: str) -> str:
        """A ``|`` block (clip, ``|-`` strip or ``|+`` keep) of the lines ``body``."""
        if header not in ("|", "|-", "|+") or not body:
            raise _Unsure("block scalar header")
        lines = body.split("\n")
        lines.pop()  # every line of the body ends with a line break
        first = lines[0]
        block = len(first) - len(first.lstrip(" "))
        if not first.strip(" ") or block <= len(indent):
            raise _Unsure("leading blank line")
        out = []
        for raw in lines:
            content = raw.lstrip(" ")
            width = len(raw) - len(content)
            if not content:
                if width > block:
                    raise _Unsure("blank line wider than the block")
                out.append("")
            elif width >= block:
                out.append(raw[block:])
            else:
                raise _Unsure("a less indented line inside the block")
        trailing = 0
        while out[-1] == "":
            out.pop()
            trailing += 1
        if trailing and header == "|+":
            raise _Unsure("kept trailing lines")
        text = "\n".join(out)
        return text if header == "|-" else text + "\n"


def _plain(text: str) -> Any:
    if ": " in text or " #" in text or text[-1] == ":":
        raise _Unsure("plain")
    return scalar_value(text) if text[0] in TYPED_FIRST else text


def _quoted(quote: str, body: str) -> str:
    if quote == "'":
        return body.replace("''", "'")
    return _ESCAPE.sub(_unescape, body) if "\\" in body else body


class _Literals(Exception):
    """Raised by the row reader that ignores ``|`` blocks on meeting one: read again, with them."""


def load(text: str, max_values: int) -> Any:
    """Plain values of ``text`` with mappings in canonical (sorted) order; raises ``_Unsure``."""
    # tabs, and anything YAML reads as a line break or refuses (Python's printable characters
    # are a subset of YAML's), anywhere, comments included
    if "\t" in text or not text.replace("\n", "").isprintable():
        raise _Unsure("not the block shape")
    try:
        return _Block(text, max_values).document()
    except _Literals:
        return _Block(text, max_values, literals=True).document()
