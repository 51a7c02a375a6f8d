"""Helm-values arithmetic: deep merge, set and unset at a path, with provenance.

Semantics (documented in docs/language.md#values): maps merge key by key at every depth;
anything else (scalars, lists) is replaced whole; ``set`` writes one path, creating maps
on the way; ``unset`` removes one key and is a no-op when it is absent. Inputs are never
mutated: the compiled graph is shared (and cached), so every write copies what it changes.
"""

from __future__ import annotations

import copy
from typing import Union

Path = tuple[Union[str, int], ...]


class ValuePathError(ValueError):
    """A ``set`` path that cannot be applied to the values it meets (e.g. index past a list)."""


def deep_merge(base: object, top: object) -> object:
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for key, value in top.items():
            out[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(top)


def set_path(values: dict, path: Path, value: object) -> dict:
    """Return a copy of ``values`` with ``value`` at ``path``."""
    return _set(values, path, copy.deepcopy(value), ())


def _set(node, path, value, done):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        if not isinstance(node, list):
            raise ValuePathError(f"{_fmt(done) or 'values'} is not a list, cannot index [{head}]")
        if head > len(node) or head < 0:
            raise ValuePathError(f"index [{head}] is past the end of {_fmt(done)} ({len(node)} items)")
        out = list(node)
        if head == len(node):
            out.append(_set({} if rest and isinstance(rest[0], str) else [] if rest else None, rest, value, done + (head,)))
        else:
            out[head] = _set(out[head], rest, value, done + (head,))
        return out
    out = dict(node) if isinstance(node, dict) else {}
    child = out.get(head, {} if rest and isinstance(rest[0], str) else [] if rest else None)
    out[head] = _set(child, rest, value, done + (head,))
    return out


def unset_path(values: dict, path: Path) -> dict:
    """Return a copy of ``values`` without the key at ``path`` (absent paths are fine)."""
    return _unset(values, path)


def _unset(node, path):
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        if not isinstance(node, list) or not 0 <= head < len(node):
            return node
        out = list(node)
        if rest:
            out[head] = _unset(out[head], rest)
        else:
            del out[head]
        return out
    if not isinstance(node, dict) or head not in node:
        return node
    out = dict(node)
    if rest:
        out[head] = _unset(out[head], rest)
    else:
        del out[head]
    return out


def leaves(value: object, prefix: Path = ()):
    """Every leaf path (maps are walked; lists and scalars are leaves)."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from leaves(child, prefix + (key,))
    else:
        yield prefix


class Provenance:
    """Who wrote each value: replayed alongside the merge, so ``--explain`` can cite lines."""

    def __init__(self) -> None:
        self.origin: dict[Path, str] = {}

    def _clear(self, path: Path) -> None:
        n = len(path)
        for key in [k for k in self.origin if k[:n] == path or path[: len(k)] == k]:
            del self.origin[key]

    def wrote(self, path: Path, value: object, where: str, lines: dict | None = None) -> None:
        for leaf in leaves(value, path):
            self._clear(leaf)
            line = (lines or {}).get(leaf[len(path):]) if lines else None
            self.origin[leaf] = f"{where}:{line}" if line else where

    def removed(self, path: Path) -> None:
        self._clear(path)

    def final(self, values: object) -> dict[str, str]:
        out = {}
        for leaf in leaves(values):
            if leaf in self.origin:
                out[_fmt(leaf)] = self.origin[leaf]
        return dict(sorted(out.items()))


def _fmt(path: Path) -> str:
    from eidos.lang.ast import format_path

    return format_path(path) if path else ""


def format_value_path(path: Path) -> str:
    return _fmt(path)
