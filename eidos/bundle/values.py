"""Value paths and typed ``--set`` overrides.

Syntax (documented in docs/bundles.md)::

    --set COMPONENT:PATH=VALUE          type follows the value already at PATH
    --set COMPONENT:PATH:TYPE=VALUE     TYPE is str, int, float, bool, null or json

PATH is dot-separated keys with ``[N]`` list indices (``a.b[0].c``); a backslash escapes a
literal ``.``, ``[``, ``]``, ``:``, ``=`` or ``\\`` inside a key (``nodeSelector.nvidia\\.com/gpu``).

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

import attrs

from eidos.errors import UsageError

Segment = str | int
TYPES = ("str", "int", "float", "bool", "null", "json")
_ESCAPABLE = set(".[]:=\\")
_INT_CANONICAL = re.compile(r"^-?(0|[1-9][0-9]*)$")
_INT_EXPLICIT = re.compile(r"^[+-]?[0-9]+$")
_MISSING = object()


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


def parse_path(text: str, where: str = "path") -> tuple[Segment, ...]:
    """``a.b[0].nvidia\\.com/gpu`` -> ("a", "b", 0, "nvidia.com/gpu")."""
    segments: list[Segment] = []
    key: list[str] = []
    i = 0

    def bad(message: str) -> UsageError:
        return UsageError(f"{where}: invalid path {text!r}: {message}")

    def close_key() -> None:
        if not key:
            raise bad("empty key")
        segments.append("".join(key))
        key.clear()

    after_index = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _ESCAPABLE:
                raise bad(f"'\\' at position {i + 1} must escape one of . [ ] : = \\")
            if after_index:
                raise bad("expected '.' or '[' after ']'")
            key.append(text[i + 1])
            i += 2
            continue
        if ch == ".":
            if after_index:
                after_index = False
            else:
                close_key()
            i += 1
            if i == len(text):
                raise bad("ends with '.'")
            continue
        if ch == "[":
            if not after_index:
                close_key()
            end = text.find("]", i)
            if end < 0:
                raise bad("'[' without ']'")
            number = text[i + 1 : end]
            if not number.isdigit() or not number.isascii():
                raise bad(f"list index [{number}] must be a non-negative integer")
            segments.append(int(number))
            after_index = True
            i = end + 1
            continue
        if ch == "]":
            raise bad("']' without '['")
        if after_index:
            raise bad("expected '.' or '[' after ']'")
        key.append(ch)
        i += 1
    if not after_index:
        close_key()
    return tuple(segments)


def format_path(path: tuple[Segment, ...]) -> str:
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            escaped = "".join("\\" + c if c in _ESCAPABLE else c for c in seg)
            out += ("." if out else "") + escaped
    return out


@attrs.frozen
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


def lookup(values: Any, path: tuple[Segment, ...]) -> tuple[Any, int]:
    """(value at path or _MISSING, number of leading segments that exist)."""
    current = values
    for depth, seg in enumerate(path):
        if isinstance(seg, int):
            if not isinstance(current, list) or seg >= len(current):
                return _MISSING, depth
            current = current[seg]
        else:
            if not isinstance(current, dict) or seg not in current:
                return _MISSING, depth
            current = current[seg]
    return current, len(path)


def exists(values: Any, path: tuple[Segment, ...]) -> bool:
    return lookup(values, path)[0] is not _MISSING


def get(values: Any, path: tuple[Segment, ...], default: Any = None) -> Any:
    found, _ = lookup(values, path)
    return default if found is _MISSING else found


def set_path(values: dict, path: tuple[Segment, ...], value: Any, where: str) -> None:
    """Set ``value`` at ``path``, creating maps and lists on the way.

    A list index may replace an item or append one (index == length); a larger index or a
    segment that runs into a scalar is an error, never a silent overwrite.
    """
    current: Any = values
    for depth, seg in enumerate(path):
        last = depth == len(path) - 1
        here = format_path(path[:depth]) or "the top level"
        if isinstance(seg, int):
            if not isinstance(current, list):
                raise UsageError(f"{where}: {here} is not a list, cannot use index [{seg}]")
            if seg > len(current):
                raise UsageError(
                    f"{where}: index [{seg}] is out of range at {here} "
                    f"({len(current)} item(s); use [{len(current)}] to append)"
                )
            if last:
                if seg == len(current):
                    current.append(value)
                else:
                    current[seg] = value
                return
            if seg == len(current):
                current.append(None)
        else:
            if not isinstance(current, dict):
                kind = type(current).__name__ if current is not None else "null"
                raise UsageError(f"{where}: {here} holds a {kind}, cannot set key {seg!r} in it")
            if last:
                current[seg] = value
                return
        child = current[seg] if isinstance(seg, int) else current.get(seg)
        if child is None:
            child = [] if isinstance(path[depth + 1], int) else {}
            current[seg] = child
        current = child


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
