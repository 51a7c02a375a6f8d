"""No silent fallback: say on stderr when a recipe is not specific to a given fact value.

Shared by ``eidos recipe`` and ``eidos bundle`` (when the recipe comes from facts). What
"specific" means is :mod:`eidos.engine.coverage`'s definition: a given enum fact value is
covered when an applied overlay (other than ``when always``) reads that fact. Each
uncovered value is reported with the nearest overlays that admit it, so the user sees
which cells exist instead of a bare base recipe given without a word.
"""

from __future__ import annotations

from eidos.cli import console
from eidos.errors import EXIT_FINDINGS, EidosError


class NotSpecific(EidosError):
    """``--strict`` and the recipe is not specific: a finding (exit 1), reported by main."""

    exit_code = EXIT_FINDINGS


def check_specific(graph, recipe, *, strict: bool) -> None:
    """Warn about uncovered fact values; with ``strict`` raise :class:`NotSpecific` after
    the warning, before the caller writes anything."""
    from eidos.engine.coverage import Coverage

    coverage = Coverage(graph)
    applied = list(recipe.overlays)
    gaps = coverage.gaps(recipe.criteria, applied)
    if not gaps:
        return None
    given = ", ".join(f"{g.fact}={g.value}" for g in gaps)
    specific = [name for name in applied if coverage.reads(name)]
    if specific:
        message = (f"no applied overlay is specific to {given} "
                   f"(applied: {', '.join(specific)}; none of them reads {_facts(gaps)})")
    else:
        message = f"no overlay specific to {given} applies: the recipe is the base recipe alone"
    where = "".join(f" --{f} {recipe.criteria[f]}" for f in ("service", "accelerator")
                    if f in recipe.criteria and graph.facts[f].kind == "enum")
    console.warning(
        message,
        details=[g.describe() for g in gaps],
        hint=f"'eidos matrix{where}' shows the overlay of each cell around this one"
        + ("" if strict else "; --strict makes this exit 1"),
    )
    if strict:
        raise NotSpecific("--strict: the recipe is not specific to every given fact; nothing written")


def _facts(gaps) -> str:
    names = [g.fact for g in gaps]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
