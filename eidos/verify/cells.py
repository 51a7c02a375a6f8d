"""The recipes ``verify --all`` checks: every distinct recipe the enum facts can produce.

Every combination of the rule base's enum facts (each value, or not given; the same
cells as ``lint``'s matrix) is resolved; combinations that apply no overlay beyond the
ones that hold for every query (``when always``) are dropped, and combinations that give
the same recipe are verified once, listed together.
"""

from __future__ import annotations

import json

from eidos.engine.fact_space import MAX_COMBINATIONS, combinations, enum_axes, size
from eidos.errors import InputError

__all__ = ["MAX_COMBINATIONS", "recipe_cells"]


def _always(graph, matcher) -> tuple[str, ...]:
    return tuple(matcher.resolve({}).overlays)


def recipe_cells(graph) -> list[tuple[str, object, tuple[str, ...]]]:
    """[(label, recipe, cells)] in a deterministic order (by label)."""
    from eidos import engine

    matcher = engine.matcher_for(graph)
    axes = enum_axes(graph)
    total = size(axes)
    if total > MAX_COMBINATIONS:
        raise InputError(f"--all: {total} fact combinations exceed {MAX_COMBINATIONS}",
                         hint="verify recipes one by one with fact flags")
    base = set(_always(graph, matcher))
    groups: dict[str, list] = {}
    for facts in combinations(axes):
        try:
            recipe = matcher.resolve(facts)
        except InputError:
            continue  # lint's matrix reports recipes that fail to resolve
        if not set(recipe.overlays) - base:
            continue
        doc = engine.recipe_document(recipe)
        key = json.dumps({"components": doc["components"], "order": doc["deploymentOrder"]},
                         sort_keys=True, default=str)
        cell = ", ".join(f"{k}={v}" for k, v in facts.items())
        if key not in groups:
            groups[key] = [recipe, []]
        groups[key][1].append(cell)
    out = []
    for recipe, cells in groups.values():
        label = recipe.overlays[-1]
        out.append((label, recipe, tuple(sorted(cells, key=lambda c: (c.count("="), c)))))
    labels: dict[str, int] = {}
    for label, _r, _c in out:
        labels[label] = labels.get(label, 0) + 1
    final = []
    for label, recipe, cells in out:
        if labels[label] > 1:  # same overlays, different component values: name it by its first cell
            label = f"{label} [{cells[0]}]"
        final.append((label, recipe, cells))
    return sorted(final, key=lambda t: t[0])
