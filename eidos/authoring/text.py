"""Pieces of ``.eidos`` text shared by the snapshot emitter and ``eidos new``.

Strings, keys and ``set`` values go through :mod:`eidos.importers.quoting`; the only text
built here is what that module has no function for: a fact test in a ``when`` (by the
fact's kind), a version literal (built from the parsed release numbers, so it is digits
and dots only), and a one-line comment (its free text quoted, so a newline in a snapshot
path cannot end the comment and start a declaration).
"""

from __future__ import annotations

import re

from eidos.importers import quoting
from eidos.lang.versions import Version, VersionError

_RELEASE = re.compile(r"[vV]?(\d+(?:\.\d+)*)")


def version_literal(text: str) -> str | None:
    """``1.30.14`` for ``v1.30.14-eks-3025e55`` (vendor tags compare equal anyway); None if
    ``text`` is not a version."""
    try:
        parsed = Version.parse(str(text))
    except VersionError:
        return None
    if parsed.prerelease:  # a pre-release is not equal to its release: keep the exact text as a string
        return None
    release = _RELEASE.match(parsed.text)  # the release digits as written: 22.04 stays 22.04
    return release.group(1) if release else None


def fact_value(spec, value) -> str:
    """A constant of ``spec``'s kind, as it is written on the right of ``fact ==``."""
    kind = spec.kind
    if kind == "enum":
        text = str(value)
        if not quoting.is_name(text):
            raise quoting.Unquotable(f"enum value {text!r} is not a name")
        return text
    if kind == "bool":
        return "true" if value else "false"
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return quoting.value(float(value))
    if kind == "version":
        literal = version_literal(getattr(value, "text", str(value)))
        return literal if literal is not None else quoting.string(getattr(value, "text", str(value)))
    return quoting.string(str(value))


def when_clause(tests: list[tuple[object, object]]) -> str:
    """``a == x and b == y`` for ``(spec, value)`` pairs, in the order given."""
    return " and ".join(f"{spec.name} == {fact_value(spec, value)}" for spec, value in tests)


def comment(*parts: str) -> str:
    """A ``#`` comment whose parts are already safe (quoted or fixed text) on one line."""
    text = " ".join(parts)
    if "\n" in text or "\r" in text:
        raise quoting.Unquotable("a comment must stay on one line")
    return "# " + text


def requirement(keyword: str, name: str | None, expr: str, *, severity: str | None = None,
                message: str | None = None, remedy: str | None = None, indent: str = "  ") -> list[str]:
    """The lines of one ``require``/``replace`` statement with its attributes."""
    head = f"{indent}{keyword} {name}: {expr}" if name else f"{indent}{keyword} {expr}"
    out = [head]
    if severity:
        out.append(f"{indent}  severity {severity}")
    if message:
        out.append(f"{indent}  message {quoting.string(message)}")
    if remedy:
        out.append(f"{indent}  remedy {quoting.string(remedy)}")
    return out
