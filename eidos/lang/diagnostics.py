"""Diagnostics: what the compiler tells a recipe author, with a location they can act on.

A diagnostic is data (code, severity, message, location, hint) so that the same finding
renders as text for people, JSON for tools and SARIF-like annotations for CI.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from eidos.lang import record


class Span(NamedTuple):
    """A place in a source file; lines and columns are 1-based as editors show them.

    A named tuple rather than an attrs class: every AST node and graph entry carries one,
    and tuples pickle several times faster, which matters for the compiled-graph cache.
    """

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def short(self) -> str:
        return f"{self.file}:{self.line}"


NO_SPAN = Span("<none>", 0, 0)


@record.frozen
class Diagnostic:
    code: str
    severity: str  # "error" | "warning"
    message: str
    span: Span
    source_line: str = ""
    hint: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self) -> str:
        """Compiler-style text: location, message, the source line and a caret."""
        head = f"{self.span}: {self.severity}[{self.code}]: {self.message}"
        lines = [head]
        if self.source_line and self.span.line > 0:
            gutter = f"{self.span.line:>5} | "
            lines.append(gutter + self.source_line.rstrip("\n"))
            width = 1
            if self.span.end_line == self.span.line and self.span.end_col > self.span.col:
                width = self.span.end_col - self.span.col
            lines.append(" " * (len(gutter) + max(self.span.col - 1, 0)) + "^" * width)
        for note in self.notes:
            lines.append(f"      = note: {note}")
        if self.hint:
            lines.append(f"      = hint: {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.col,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.notes:
            out["notes"] = list(self.notes)
        return out


class SourceFile:
    """Text of one rule file, kept so diagnostics can quote the offending line."""

    __slots__ = ("name", "text", "_lines")

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self._lines: list[str] | None = None

    def line(self, number: int) -> str:
        if self._lines is None:
            self._lines = self.text.splitlines()
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""


class Reporter:
    """Collects diagnostics across a compilation so one run reports every problem."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []
        self._sources: dict[str, SourceFile] = {}

    def add_source(self, source: SourceFile) -> None:
        self._sources[source.name] = source

    def report(
        self,
        code: str,
        message: str,
        span: Span,
        *,
        severity: str = "error",
        hint: str | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        src = self._sources.get(span.file)
        line = src.line(span.line) if src else ""
        self.items.append(Diagnostic(code, severity, message, span, line, hint, tuple(notes)))

    def error(self, code: str, message: str, span: Span, **kw) -> None:
        self.report(code, message, span, severity="error", **kw)

    def warning(self, code: str, message: str, span: Span, **kw) -> None:
        self.report(code, message, span, severity="warning", **kw)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.span.file, d.span.line, d.span.col, d.code, d.message))


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest known spelling, if any is close enough to be useful."""
    import difflib  # only on this error path

    match = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


# The catalogue of codes: documented in docs/language.md#diagnostics and tested one by one.
CODES = {
    "E101": "syntax error",
    "E102": "invalid character",
    "E103": "invalid string literal",
    "E104": "literal out of range",
    "E105": "nesting too deep",
    "E201": "unknown fact",
    "E202": "unknown enum value",
    "E203": "unknown parent overlay",
    "E204": "unknown component",
    "E205": "duplicate name",
    "E206": "unknown requirement to replace",
    "E207": "unknown measurement type",
    "E208": "overlay without a condition",
    "E209": "requirement name reused without replace",
    "E301": "type error",
    "E302": "invalid regular expression",
    "E303": "invalid version",
    "E304": "empty range",
    "E305": "invalid value path",
    "E306": "invalid or unsafe name, version or source",
    "E401": "inheritance cycle",
    "E402": "needs cycle",
    "E403": "payload file not found",
    "E404": "payload path outside the rule base",
    "E405": "condition can never hold",
    "E406": "payload file is not valid YAML",
    "W501": "overlays with the same effective condition",
    "W502": "replaced requirement is looser",
    "W503": "float literal that reads like a version",
    "W504": "declaration overrides the embedded rule base",
    "W505": "fact no overlay reads",
}
