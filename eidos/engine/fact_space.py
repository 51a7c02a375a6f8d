"""The space of fact combinations: every value of each enum fact, and "not given".

``lint`` (combinations that fail to resolve), ``verify --all`` (the distinct recipes) and
``matrix`` (which overlay each cell gets) all walk the same space; they share this one
enumeration, so they agree on what a cell is and on the size bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import product

from eidos.lang import record

# Past this many combinations a full walk is refused (lint skips it, verify and matrix
# say so): the shipped schema has about 6,000.
MAX_COMBINATIONS = 20_000


@record.frozen
class Axis:
    """One enum fact and the values a walk gives it; ``None`` stands for "not given"."""

    fact: str
    values: tuple[str | None, ...]


def enum_axes(graph) -> list[Axis]:
    """Every enum fact of ``graph``, by name, each with all its values and "not given"."""
    return [Axis(name, (None,) + tuple(spec.values))
            for name, spec in sorted(graph.facts.items()) if spec.kind == "enum"]


def size(axes: Sequence[Axis]) -> int:
    total = 1
    for axis in axes:
        total *= len(axis.values)
    return total


def combinations(axes: Sequence[Axis]) -> Iterator[dict]:
    """Each combination as a facts dict (facts not given are left out), in axis order."""
    names = [a.fact for a in axes]
    for combo in product(*[a.values for a in axes]):
        yield {n: v for n, v in zip(names, combo) if v is not None}
