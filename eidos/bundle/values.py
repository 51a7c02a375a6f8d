"""Typed ``--set`` overrides (value paths themselves live in :mod:`eidos.engine.values`).

Syntax (documented in docs/bundles.md)::

    --set COMPONENT:PATH=VALUE          type follows the value already at PATH
    --set COMPONENT:PATH:TYPE=VALUE     TYPE is str, int, float, bool, null or json

PATH is the value-path text form of :mod:`eidos.engine.values`: dot-separated keys with
``[N]`` list indices (``a.b[0].c``); a backslash escapes a literal ``.``, ``[``, ``]``,
``:``, ``=`` or ``\\`` inside a key (``nodeSelector.nvidia\\.com/gpu``).

Why the type follows the existing value: the reference tool parsed every value as a number
when it could, so ``driver.version=25.10`` became the float 25.1. Here a string stays a
string, a bool must be given as true/false, and only a path the recipe does not hold yet
falls back to inference (``true``/``false`` and canonical integers; everything else,
``25.10`` included, is a string). An explicit TYPE always wins.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from typing import Any

from eidos.lang import record

from eidos.engine import values as paths
from eidos.engine.values import MISSING as _MISSING
from eidos.engine.values import (
    Segment,
    ValuePathError,
    format_path,
    get,
    lookup,
    parse_path,
)
from eidos.errors import UsageError

TYPES = ("str", "int", "float", "bool", "null", "json")
_INT_CANONICAL = re.compile(r"^-?(0|[1-9][0-9]*)$")
_INT_EXPLICIT = re.compile(r"^[+-]?[0-9]+$")

__all__ = [
    "TYPES", "Segment", "SetOverride", "apply_overrides", "convert", "format_path", "get",
    "lookup", "nearest_keys", "parse_path", "parse_set", "resolve_component", "set_path",
]


def _unescaped(text: str, char: str) -> list[int]:
    """Positions of ``char`` not preceded by an escaping backslash."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == char:
            found.append(i)
        i += 1
    return found


@record.frozen
class SetOverride:
    """One parsed ``--set``; ``component`` is the key as typed (a name or an alias)."""

    raw: str
    component: str
    path: tuple[Segment, ...]
    type: str | None
    value: str


def parse_set(raw: str) -> SetOverride:
    flag = f"--set {raw!r}"
    component, sep, rest = raw.partition(":")
    if not sep or not component:
        raise UsageError(f"{flag}: expected COMPONENT:PATH=VALUE or COMPONENT:PATH:TYPE=VALUE")
    equals = _unescaped(rest, "=")
    if not equals:
        raise UsageError(f"{flag}: missing '=VALUE' (write PATH= for an empty string)")
    head, value = rest[: equals[0]], rest[equals[0] + 1 :]
    colons = _unescaped(head, ":")
    type_: str | None = None
    if colons:
        head, type_ = head[: colons[-1]], head[colons[-1] + 1 :]
        if type_ not in TYPES:
            raise UsageError(
                f"{flag}: unknown type {type_!r}; expected one of {', '.join(TYPES)} "
                "(escape a ':' inside a key as '\\:')"
            )
    if not head:
        raise UsageError(f"{flag}: empty path")
    return SetOverride(
        raw=raw, component=component, path=parse_path(head, flag), type=type_, value=value
    )


def _parse_bool(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.lower())


def convert(override: SetOverride, existing: Any) -> Any:
    """The typed value for ``override``, given what the values hold at its path now."""
    flag = f"--set {override.raw!r}"
    text, kind = override.value, override.type
    if kind is None:
        if isinstance(existing, bool):
            kind = "bool"
        elif isinstance(existing, int):
            kind = "int"
        elif isinstance(existing, float):
            kind = "float"
        elif isinstance(existing, str):
            kind = "str"
        elif isinstance(existing, (dict, list)):
            shape = "mapping" if isinstance(existing, dict) else "list"
            raise UsageError(
                f"{flag}: {format_path(override.path)} holds a {shape}; "
                "replace it with PATH:json=... or set a key inside it"
            )
        else:  # absent or null: infer, conservatively
            if text in ("true", "false"):
                return text == "true"
            if _INT_CANONICAL.match(text):
                return int(text)
            return text
        reason = f" (the recipe holds a {kind} there; add :str to force a string)"
    else:
        reason = ""
    if kind == "str":
        return text
    if kind == "bool":
        parsed = _parse_bool(text)
        if parsed is None:
            raise UsageError(f"{flag}: expected true or false{reason}")
        return parsed
    if kind == "int":
        if not _INT_EXPLICIT.match(text):
            raise UsageError(f"{flag}: expected an integer{reason}")
        return int(text)
    if kind == "float":
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"{flag}: expected a number{reason}") from None
        if not math.isfinite(number):
            raise UsageError(f"{flag}: {text!r} is not a finite number")
        return number
    if kind == "null":
        if text not in ("", "null"):
            raise UsageError(f"{flag}: a :null override takes no value (write PATH:null=)")
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, json.JSONDecodeError) as err:
        raise UsageError(f"{flag}: invalid JSON: {err}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def set_path(values: dict, path: tuple[Segment, ...], value: Any, where: str) -> None:
    """Set ``value`` at ``path`` in place, with the one set semantics of
    :func:`eidos.engine.values.set_path` (a step into a scalar is an error, never a
    silent overwrite); errors are prefixed with ``where`` (the flag or rule at fault).
    """
    try:
        new = paths.set_path(values, path, value)
    except ValuePathError as err:
        raise UsageError(f"{where}: {err.message}") from None
    values.clear()
    values.update(new)


def nearest_keys(values: dict, path: tuple[Segment, ...]) -> tuple[str, list[str]]:
    """(where the path leaves the values, the keys nearby) for a helpful warning."""
    _, depth = lookup(values, path)
    parent, _ = lookup(values, path[:depth])
    where = format_path(path[:depth]) or "the top level"
    if not isinstance(parent, dict) or not parent:
        return where, []
    missing = path[depth]
    keys = sorted(str(k) for k in parent)
    close = difflib.get_close_matches(str(missing), keys, n=3, cutoff=0.5)
    return where, close or keys[:5]


def apply_overrides(
    values: dict, overrides: list[SetOverride], component: str
) -> tuple[dict, list[str]]:
    """Apply overrides in order to a copy of ``values``; return it and the warnings."""
    result = copy.deepcopy(values)
    warnings: list[str] = []
    for override in overrides:
        flag = f"--set {override.raw!r}"
        existing, _ = lookup(result, override.path)
        if existing is _MISSING:
            where, keys = nearest_keys(result, override.path)
            hint = f"; nearest keys under {where}: {', '.join(keys)}" if keys else ""
            warnings.append(
                f"{flag}: {component} values have no {format_path(override.path)}, "
                f"setting it anyway{hint}"
            )
            existing = None
        set_path(result, override.path, convert(override, existing), flag)
    return result, warnings


def resolve_component(key: str, names: dict[str, str], flag: str) -> str:
    """Map a name or alias to the component name; unknown keys are errors with a suggestion."""
    if key in names:
        return names[key]
    close = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.6)
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else f"components: {', '.join(sorted(set(names.values())))}"
    )
    raise UsageError(f"{flag}: the recipe has no component {key!r}", hint=hint)
