"""Helpers for the formatter tests: a whitespace scrambler and a layout-free view of a graph."""

from __future__ import annotations

import random
import re

import attrs

from eidos.lang.diagnostics import Diagnostic, Span

# One line of .eidos, split into strings, comments, whitespace runs and the rest.
_PIECES = re.compile(r'"(?:[^"\\\n]|\\.)*"|#.*$|[ \t]+|[^ \t"#]+')
# A whitespace run next to one of these may vanish without gluing two tokens together.
_GLUE = set(",:(){}[]=")
_CONTINUATION = re.compile(r'^\s*("|severity\b|message\b|remedy\b|or\b|and\b)')


def scramble(text: str, rng: random.Random, *, split_lines: bool = False) -> str:
    """``text`` with its whitespace changed but its tokens, comments and line breaks kept.

    Indentation is replaced, spaces between tokens are widened, turned into tabs or (next
    to punctuation) removed, trailing blanks are added, blank lines are multiplied and
    added where the canonical layout has none (file ends, after ``{``, before ``}``, inside
    a statement). With ``split_lines``, line breaks are also added between tokens, which
    the canonical layout keeps, so only the properties (graph, idempotence) still hold.
    """
    out: list[str] = ["\n" * rng.randint(0, 2)]
    lines = text.split("\n")
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            out.append("\n" * rng.randint(1, 3) if number < len(lines) - 1 else "")
            continue
        if stripped == "}" or _CONTINUATION.match(line):
            out.append(" " * rng.randint(0, 3) + "\n" * rng.randint(0, 2))
        pieces = _PIECES.findall(stripped)
        assert "".join(pieces) == stripped, line
        rebuilt = [rng.choice(["", " ", "\t", "      "])]
        for i, piece in enumerate(pieces):
            if piece.isspace():
                before, after = pieces[i - 1], pieces[i + 1]
                if (before[-1] in _GLUE or after[0] in _GLUE) and not after.startswith("#") and rng.random() < 0.5:
                    piece = ""
                elif split_lines and not after.startswith("#") and rng.random() < 0.2:
                    piece = "\n" + " " * rng.randint(0, 9)
                else:
                    piece = rng.choice([" ", "  ", "\t", " \t "])
            rebuilt.append(piece)
        rebuilt.append(rng.choice(["", " ", "\t ", "   "]))
        out.append("".join(rebuilt))
        if number < len(lines) - 1:
            out.append("\n")
        if stripped.endswith("{") and number < len(lines) - 1:
            out.append("\n" * rng.randint(0, 2))
    out.append("\n" * rng.randint(0, 3))
    return "".join(out)


_LAYOUT_FIELDS = frozenset({"span", "version_span", "source_hash", "line"})


def canonical(value):
    """A graph (or any part of it) without what layout may change: spans, quoted lines, the source hash."""
    if isinstance(value, Span):
        return None
    if isinstance(value, Diagnostic):
        return ("Diagnostic", value.code, value.severity, value.message)
    if attrs.has(type(value)):
        return (type(value).__name__,) + tuple(
            (f.name, canonical(getattr(value, f.name)))
            for f in attrs.fields(type(value)) if f.name not in _LAYOUT_FIELDS
        )
    if hasattr(value, "items") and hasattr(value, "keys"):
        return ("map",) + tuple(sorted(((repr(k), canonical(v)) for k, v in value.items()), key=lambda kv: kv[0]))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set",) + tuple(sorted(repr(canonical(v)) for v in value))
    return value
