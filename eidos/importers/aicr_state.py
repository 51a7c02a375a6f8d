"""AICR's own merge along one inheritance chain, as the importer needs it.

Every overlay of AICR data is merged onto its ancestors' result (``base`` → … → itself,
ref-aicr.md §1.5). That result is static per overlay, so the importer computes it here and
writes each eidos overlay as the edit from its parent's result to its own: eidos' deep
value merge and additive ``needs`` then reproduce AICR's shallow overrides, replaced
dependency lists and single surviving ``valuesFile`` exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from eidos.engine.values import deep_merge
from eidos.importers.aicr_model import Constraint, Data, Ref
from eidos.io import yamlio
from eidos.io.inputs import read_input


@attrs.frozen(slots=True)
class RefState:
    """A component after merging: AICR's ``mergeComponentRef`` field by field."""

    type: str = ""
    source: str = ""
    version: str = ""
    tag: str = ""
    path: str = ""
    values_file: str = ""
    overrides: dict = attrs.field(factory=dict)
    deps: tuple[str, ...] = ()
    manifests: tuple[str, ...] = ()


def merge_ref(prev: RefState | None, ref: Ref) -> RefState:
    """Scalars: non-empty wins; overrides: top-level keys replace; deps replace; manifests append."""
    prev = prev or RefState()
    overrides = dict(prev.overrides)
    overrides.update(ref.overrides or {})
    manifests = list(prev.manifests)
    manifests += [m for m in ref.manifest_files if m not in manifests]
    return RefState(
        type=ref.type or prev.type, source=ref.source or prev.source, version=ref.version or prev.version,
        tag=ref.tag or prev.tag, path=ref.path or prev.path, values_file=ref.values_file or prev.values_file,
        overrides=overrides, deps=ref.dependency_refs if ref.dependency_refs else prev.deps,
        manifests=tuple(manifests),
    )


@attrs.frozen(slots=True)
class ChainState:
    components: dict[str, RefState]
    constraints: dict[str, Constraint]


def merge_overlay(prev: ChainState, refs: tuple[Ref, ...], constraints: tuple[Constraint, ...]) -> ChainState:
    comps = dict(prev.components)
    for ref in refs:
        comps[ref.name] = merge_ref(comps.get(ref.name), ref)
    cons = dict(prev.constraints)
    for c in constraints:
        cons[c.name] = c  # last writer wins, even when looser
    return ChainState(comps, cons)


class Payloads:
    """Values files of the data, parsed once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, Any] = {}

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def load(self, rel: str) -> dict:
        if rel not in self._cache:
            shown = str(self.root / rel)
            text, _ = read_input(shown, "values file")
            data = yamlio.load(text, shown)
            if data is None:
                data = {}
            if not isinstance(data, dict):
                from eidos.errors import InputError

                raise InputError(f"{shown}:1: a values file must be a mapping")
            self._cache[rel] = data
        return self._cache[rel]


def default_values(name: str) -> str:
    return f"components/{name}/values.yaml"


def values_files(payloads: Payloads, name: str, st: RefState) -> list[str]:
    """The files AICR layers for a component (GetValuesForComponent, ref-recipe.md §2.6.3)."""
    if not st.values_file and not st.overrides:
        return []
    default = default_values(name)
    if st.values_file == default:
        return [default]
    files = [default] if payloads.exists(default) else []
    if st.values_file:
        files.append(st.values_file)
    return files


def final_values(payloads: Payloads, name: str, st: RefState) -> dict:
    out: dict = {}
    for rel in values_files(payloads, name, st):
        out = deep_merge(out, payloads.load(rel))
    return deep_merge(out, st.overrides)


def states(data: Data, order: list[str]) -> dict[str, ChainState]:
    """The merged state after each overlay (``order`` lists parents before children)."""
    out: dict[str, ChainState] = {}
    for name in order:
        overlay = data.overlay(name)
        parent = None if name == "base" else (overlay.base or "base")
        prev = out[parent] if parent else ChainState({}, {})
        out[name] = merge_overlay(prev, overlay.refs, overlay.constraints)
    return out
