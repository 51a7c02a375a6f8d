"""Helm-values paths, the one home: parse, format, look up, set, unset, deep merge, provenance.

Every part of eidos that edits values (the matcher applying ``set``/``unset``/``values``,
bundles applying ``--set`` and scheduling flags) goes through these functions, so an edit
means the same thing wherever it is written. Semantics (docs/language.md#merging):

* **Deep merge**: maps merge key by key at every depth; anything else (scalars, lists) is
  replaced whole.
* **Set** writes one path. Missing or ``null`` steps are created (a map for a key, a list
  for an index). A list index may replace an item or append one (index == length). A step
  that runs into a scalar, a key used on a list, an index used on a map or an index past
  the end is an error naming the path: a set never silently replaces a scalar with a map.
* **Unset** removes one key or list item; a path that is not there is a no-op.
* Inputs are never mutated: the compiled graph is shared (and cached), so every write
  copies what it changes.

Text form (``--set``, scheduling paths, ``--explain`` provenance keys): dot-separated keys
with ``[N]`` list indices (``a.b[0].c``); a backslash escapes a literal ``.``, ``[``, ``]``,
``:``, ``=`` or ``\\`` inside a key (``nodeSelector.nvidia\\.com/gpu``). ``parse_path`` and
``format_path`` are inverses.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from eidos.errors import UsageError

Segment = str | int
Path = tuple[Segment, ...]
ESCAPABLE = frozenset(".[]:=\\")
MISSING = object()


class ValuePathError(UsageError):
    """A path that cannot be parsed, or cannot be applied to the values it meets."""

    def __init__(self, message: str, path: Path = ()):
        super().__init__(message)
        self.path = path


# ------------------------------------------------------------------ text form


def parse_path(text: str, where: str = "path") -> Path:
    """``a.b[0].nvidia\\.com/gpu`` -> ("a", "b", 0, "nvidia.com/gpu")."""
    segments: list[Segment] = []
    key: list[str] = []
    i = 0

    def bad(message: str) -> ValuePathError:
        return ValuePathError(f"{where}: invalid path {text!r}: {message}")

    def close_key() -> None:
        if not key:
            raise bad("empty key")
        segments.append("".join(key))
        key.clear()

    after_index = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in ESCAPABLE:
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


def format_path(path: Path) -> str:
    """The text form of ``path`` ("" for the top level); ``parse_path`` reads it back."""
    out: list[str] = []
    for seg in path:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        else:
            escaped = "".join("\\" + c if c in ESCAPABLE else c for c in seg)
            out.append(("." if out else "") + escaped)
    return "".join(out)


def _where(path: Path) -> str:
    return format_path(path) or "the top level"


def _kind(value: Any) -> str:
    """What a value is, with its article, for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


# ------------------------------------------------------------------ reading


def lookup(values: Any, path: Path) -> tuple[Any, int]:
    """(value at path or ``MISSING``, number of leading segments that exist)."""
    current = values
    for depth, seg in enumerate(path):
        if isinstance(seg, int):
            if not isinstance(current, list) or not 0 <= seg < len(current):
                return MISSING, depth
        elif not isinstance(current, dict) or seg not in current:
            return MISSING, depth
        current = current[seg]
    return current, len(path)


def get(values: Any, path: Path, default: Any = None) -> Any:
    found, _ = lookup(values, path)
    return default if found is MISSING else found


def leaves(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every leaf path (maps are walked; lists, scalars and empty maps are leaves)."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from leaves(child, prefix + (key,))
    else:
        yield prefix


# ------------------------------------------------------------------ writing


def deep_merge(base: Any, top: Any) -> Any:
    """``top`` over ``base``: maps merge key by key, everything else is replaced whole."""
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for key, value in top.items():
            out[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(top)


def set_path(values: Any, path: Path, value: Any) -> Any:
    """A copy of ``values`` with (a copy of) ``value`` at ``path``; raises ValuePathError."""
    return _set(values, path, copy.deepcopy(value), 0)


def _set(node: Any, path: Path, value: Any, depth: int) -> Any:
    if depth == len(path):
        return value
    seg = path[depth]
    if isinstance(seg, int):
        if node is None:
            node = []
        if not isinstance(node, list):
            raise ValuePathError(
                f"{_where(path[:depth])} is not a list but {_kind(node)}, cannot use index [{seg}] in it", path
            )
        if not 0 <= seg <= len(node):
            raise ValuePathError(
                f"index [{seg}] is out of range at {_where(path[:depth])} "
                f"({len(node)} item(s); use [{len(node)}] to append)",
                path,
            )
        out = list(node)
        child = _set(out[seg] if seg < len(out) else None, path, value, depth + 1)
        if seg == len(out):
            out.append(child)
        else:
            out[seg] = child
        return out
    if node is None:
        node = {}
    if not isinstance(node, dict):
        raise ValuePathError(
            f"{_where(path[:depth])} holds {_kind(node)}, cannot set key {seg!r} in it", path
        )
    out = dict(node)
    out[seg] = _set(node.get(seg), path, value, depth + 1)
    return out


def unset_path(values: Any, path: Path) -> Any:
    """A copy of ``values`` without the key or list item at ``path`` (absent paths are fine)."""
    if not path:
        return values
    return _unset(values, path, 0)


def _unset(node: Any, path: Path, depth: int) -> Any:
    seg = path[depth]
    last = depth == len(path) - 1
    if isinstance(seg, int):
        if not isinstance(node, list) or not 0 <= seg < len(node):
            return node
    elif not isinstance(node, dict) or seg not in node:
        return node
    out = list(node) if isinstance(node, list) else dict(node)
    if last:
        del out[seg]
    else:
        out[seg] = _unset(out[seg], path, depth + 1)
    return out


# ------------------------------------------------------------------ provenance


class _Node:
    """One step of the provenance tree; ``seq`` orders writes so the last writer wins."""

    __slots__ = ("children", "origin", "seq")

    def __init__(self) -> None:
        self.seq = -1
        self.origin: str | None = None
        self.children: dict[Segment, _Node] = {}


class Provenance:
    """Who wrote each value, replayed alongside the merge so ``--explain`` can cite lines.

    A tree mirrors the values: each write touches only the nodes of what it wrote, so
    recording a values file costs time linear in its size (a flat list of origins had to be
    scanned per key, which was quadratic). The origin of a final leaf is the most recent
    write at or below it: a list edited through an index (``set env[0].name``) names that
    ``set``, not the file that first wrote the list.
    """

    def __init__(self) -> None:
        self._root = _Node()
        self._seq = 0

    def _node(self, path: Path) -> _Node:
        node = self._root
        for seg in path:
            child = node.children.get(seg)
            if child is None:
                child = node.children[seg] = _Node()
            node = child
        return node

    def _stamp(self, node: _Node, origin: str) -> None:
        self._seq += 1
        node.seq, node.origin = self._seq, origin

    def _replace(self, node: _Node, value: Any, origin: str, lines: dict | None, rel: Path) -> None:
        node.children = {}
        node.origin, node.seq = None, -1
        stack = [(node, value, rel)]
        while stack:
            here, val, rpath = stack.pop()
            if isinstance(val, dict) and val:
                for key, child in val.items():
                    sub = here.children[key] = _Node()
                    stack.append((sub, child, rpath + (key,)))
            else:
                line = lines.get(rpath) if lines else None
                self._stamp(here, f"{origin}:{line}" if line else origin)

    def replaced(self, path: Path, value: Any, origin: str) -> None:
        """A ``set``: ``value`` now stands whole at ``path``."""
        self._replace(self._node(path), value, origin, None, ())

    def merged(self, base: Any, top: Any, origin: str, lines: dict | None = None) -> None:
        """A values file ``top`` deep-merged over ``base`` (the values before it)."""
        stack = [(self._root, base, top, ())]
        while stack:
            node, old, new, rel = stack.pop()
            if isinstance(old, dict) and isinstance(new, dict):
                if not new:
                    if not old:  # an empty map over an empty map: the last writer is this one
                        line = lines.get(rel) if lines else None
                        self._stamp(node, f"{origin}:{line}" if line else origin)
                    continue
                for key, child in new.items():
                    sub = node.children.get(key)
                    if sub is None:
                        sub = node.children[key] = _Node()
                    stack.append((sub, old.get(key, MISSING), child, rel + (key,)))
            else:
                self._replace(node, new, origin, lines, rel)

    def removed(self, path: Path) -> None:
        """An ``unset``: nothing below ``path`` has an origin any more."""
        node = self._root
        for seg in path[:-1]:
            node = node.children.get(seg)
            if node is None:
                return
        if path:
            node.children.pop(path[-1], None)

    def final(self, values: Any) -> dict[str, str]:
        """``{path text: "file:line"}`` for every leaf of ``values`` that has an origin."""
        out: dict[str, str] = {}
        stack: list[tuple[Any, _Node, Path]] = [(values, self._root, ())]
        while stack:
            value, node, path = stack.pop()
            if isinstance(value, dict) and value:
                for key, child in value.items():
                    sub = node.children.get(key)
                    if sub is not None:
                        stack.append((child, sub, path + (key,)))
                continue
            best_seq, best = node.seq, node.origin
            below = list(node.children.values())
            while below:
                n = below.pop()
                if n.seq > best_seq:
                    best_seq, best = n.seq, n.origin
                below.extend(n.children.values())
            if best is not None and path:  # an empty top level is no value to cite
                out[format_path(path)] = best
        return dict(sorted(out.items()))
