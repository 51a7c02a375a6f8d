"""Coverage: which given fact values a recipe is specific to, and the matrix of cells.

Definition (docs/matrix.md#definitions): a given value of an **enum** fact is *covered* by a
recipe when some applied overlay whose condition is not ``always`` reads that fact (its
effective condition, its own ``when`` and every ancestor's, has an atom on the fact).
Any other given enum value is *uncovered*: no rule chose anything because of it, so the
recipe is the one every value of that fact gets. ``eidos recipe`` and ``eidos bundle``
warn about uncovered values and name the nearest overlays that do admit them; ``eidos
matrix`` tabulates, for every cell, the most specific applied overlay (the last in the
engine's order that is not ``when always``) and the cell's uncovered facts.

Numeric, version, string and bool facts are thresholds rather than cells (``nodes``,
``--fact kernel=…``), so they are never reported as uncovered.

Every question is answered from the compiled graph and the matcher's ``applied`` (no
recipe is merged), so walking the ~6,000 cells of the shipped schema takes well under a
second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eidos.lang import record

from eidos.engine.analysis import extend_terms
from eidos.engine.fact_space import MAX_COMBINATIONS, Axis, combinations, size
from eidos.errors import InputError, UsageError
from eidos.lang.expr import atoms, closure
from eidos.lang.measurements import MISSING

# The matrix layout: rows are service x accelerator x os, columns intent x platform.
ROW_FACTS = ("service", "accelerator", "os")
COLUMN_FACTS = ("intent", "platform")
AXIS_FACTS = ROW_FACTS + COLUMN_FACTS
# Axes whose "not given" is a cell of the default matrix: a cluster always has a service,
# an accelerator and a purpose, but a user often leaves the OS and the AI platform out.
OPTIONAL_BY_DEFAULT = frozenset({"os", "platform"})
# The word an axis flag takes for "not given".
NOT_GIVEN = "none"
# How many nearest overlays a warning names for one fact value.
NEAREST_SHOWN = 4


def facts_read(condition) -> frozenset[str]:
    """The facts a condition reads (atoms on a fact operand; measurement paths are not facts)."""
    return frozenset(a.operand.name for a in atoms(condition)
                     if getattr(a, "operand", None) is not None and a.operand.kind == "fact")


def _holds(condition, facts: Mapping[str, object]):
    """Three-valued: True, False, or None when a fact it needs is not in ``facts``."""
    return closure(condition)(lambda operand: facts.get(operand.name, MISSING))


@record.frozen
class NearCell:
    """An overlay that admits a fact value the query's recipe is not specific to."""

    overlay: str
    label: str  # its condition without the fact in question, e.g. "service=eks intent=training"
    distance: int  # how many of the query's other facts it contradicts


@record.frozen
class Gap:
    """One given enum fact value no applied overlay reads."""

    fact: str
    value: str
    nearest: tuple[NearCell, ...]  # at most NEAREST_SHOWN, nearest first
    more: int  # further overlays that admit the value, not shown
    served: tuple[str, ...]  # values of the fact some overlay admits (when none admits this one)

    def describe(self) -> str:
        """One line: ``accelerator=gb200 has recipes for: service=eks intent=training (x); …``."""
        head = f"{self.fact}={self.value}"
        if not self.nearest:
            if self.served:
                return (f"{head}: no overlay is for it; overlays exist for "
                        f"{self.fact}={', '.join(self.served)}")
            return f"{head}: no overlay's condition reads {self.fact}"
        cells = "; ".join(f"{c.label} ({c.overlay})" if c.label else c.overlay for c in self.nearest)
        more = f"; and {self.more} more" if self.more else ""
        return f"{head} has recipes for: {cells}{more}"


@record.frozen
class Cell:
    """One cell of the matrix: the axis facts (None: not given) and what it resolves to."""

    facts: tuple[tuple[str, str | None], ...]  # (fact, value) for every axis, in AXIS_FACTS order
    overlay: str | None  # most specific applied overlay; None: base alone
    uncovered: tuple[str, ...]  # given enum facts no applied overlay reads

    def value(self, fact: str) -> str | None:
        return dict(self.facts).get(fact)

    def to_dict(self) -> dict:
        """The JSON form: every axis fact (None: not given or not declared), overlay, uncovered."""
        given = dict(self.facts)
        out: dict = {f: given.get(f) for f in AXIS_FACTS}
        out["overlay"] = self.overlay
        out["uncovered"] = list(self.uncovered)
        return out


class Coverage:
    """Per-graph derived state: what each overlay reads and whether it is ``when always``."""

    def __init__(self, graph, matcher=None):
        from eidos import engine

        self.graph = graph
        self.matcher = matcher if matcher is not None else engine.matcher_for(graph)
        self._reads: dict[str, frozenset[str]] = {}
        self._labels: dict[tuple[str, str], str] = {}

    def reads(self, overlay: str) -> frozenset[str]:
        found = self._reads.get(overlay)
        if found is None:
            found = self._reads[overlay] = facts_read(self.graph.overlays[overlay].condition)
        return found

    def _enum(self, fact: str) -> bool:
        spec = self.graph.facts.get(fact)
        return spec is not None and spec.kind == "enum"

    # -- one query -----------------------------------------------------------------------
    def specific_overlay(self, applied: Sequence[str]) -> str | None:
        """The last applied overlay (engine order) whose condition reads a fact."""
        for name in reversed(applied):
            if self.reads(name):
                return name
        return None

    def uncovered(self, facts: Mapping[str, object], applied: Sequence[str]) -> tuple[str, ...]:
        """Given enum facts that no applied overlay reads (matrix axes first, then by name)."""
        read: set[str] = set()
        for name in applied:
            read |= self.reads(name)
        order = {f: i for i, f in enumerate(AXIS_FACTS)}
        missing = [f for f in facts if f not in read and self._enum(f)]
        return tuple(sorted(missing, key=lambda f: (order.get(f, len(order)), f)))

    def gaps(self, facts: Mapping[str, object], applied: Sequence[str]) -> list[Gap]:
        """Each uncovered fact value, with the nearest overlays that do admit it."""
        return [self._gap(fact, facts) for fact in self.uncovered(facts, applied)]

    def _admitting(self, fact: str, value) -> list[str]:
        """Overlays (not ``always``) whose condition reads ``fact`` and can hold with ``value``."""
        out = []
        for name in self.graph.overlays:
            if fact in self.reads(name) and _holds(self.graph.overlays[name].condition, {fact: value}) is not False:
                out.append(name)
        return out

    def _gap(self, fact: str, facts: Mapping[str, object]) -> Gap:
        value = facts[fact]
        others = [(f, v) for f, v in sorted(facts.items()) if f != fact]
        near = []
        for name in self._admitting(fact, value):
            condition = self.graph.overlays[name].condition
            distance = sum(1 for f, v in others if _holds(condition, {fact: value, f: v}) is False)
            near.append(NearCell(name, self.label(name, fact), distance))
        near.sort(key=lambda c: (c.distance, -self.graph.overlays[c.overlay].specificity, c.overlay))
        served: tuple[str, ...] = ()
        if not near:
            spec = self.graph.facts[fact]
            served = tuple(v for v in spec.values if self._admitting(fact, v))
        return Gap(fact, str(value), tuple(near[:NEAREST_SHOWN]), max(len(near) - NEAREST_SHOWN, 0), served)

    def label(self, overlay: str, omit: str) -> str:
        """The overlay's condition as cell coordinates (``service=eks intent=training``),
        without ``omit``; the condition's text when it is not a plain conjunction of
        memberships."""
        key = (overlay, omit)
        found = self._labels.get(key)
        if found is None:
            found = self._labels[key] = self._label(overlay, omit)
        return found

    def _label(self, overlay: str, omit: str) -> str:
        spec = self.graph.overlays[overlay]
        terms = extend_terms(None, spec.condition, self.graph.facts)
        shapes = [] if terms is None else [s for s in (t.copy().finish_shape() for t in terms) if s is not None]
        if len(shapes) != 1 or any(item[0] == "opaque" or item[1] != "in" for item in shapes[0]):
            return spec.condition_text
        order = {f: i for i, f in enumerate(AXIS_FACTS)}
        parts = []
        for fact, _in, values in sorted(shapes[0], key=lambda item: (order.get(item[0], len(order)), item[0])):
            if fact == omit:
                continue
            declared = self.graph.facts[fact].values if self._enum(fact) else ()
            rank = {v: i for i, v in enumerate(declared)}
            ordered = sorted(values, key=lambda v: (rank.get(v, len(rank)), str(v)))
            parts.append(f"{fact}={'|'.join(str(v) for v in ordered)}")
        return " ".join(parts)

    # -- the matrix ----------------------------------------------------------------------
    def cells(self, axes: Sequence[Axis]) -> list[Cell]:
        """Every combination of ``axes``, resolved, in axis order (deterministic)."""
        total = size(axes)
        if total > MAX_COMBINATIONS:
            raise InputError(f"the matrix has {total} cells, more than {MAX_COMBINATIONS}",
                             hint="narrow it with the axis flags, e.g. --service eks,gke")
        names = [a.fact for a in axes]
        out = []
        for facts in combinations(axes):
            applied = [o.name for o in self.matcher.applied(facts)]
            out.append(Cell(tuple((f, facts.get(f)) for f in names),
                            self.specific_overlay(applied), self.uncovered(facts, applied)))
        return out

    def unmentioned_values(self) -> list[tuple[str, tuple[str, ...]]]:
        """Per enum fact, the declared values no overlay admits specifically (in declared order)."""
        out = []
        for name, spec in sorted(self.graph.facts.items()):
            if spec.kind != "enum":
                continue
            missing = tuple(v for v in spec.values if not self._admitting(name, v))
            if missing:
                out.append((name, missing))
        return out

    def unused_facts(self) -> list[str]:
        """Declared facts no overlay's condition reads (a flag that changes no recipe)."""
        read: set[str] = set()
        for name in self.graph.overlays:
            read |= self.reads(name)
        return sorted(f for f in self.graph.facts if f not in read)


def matrix_axes(graph, chosen: Mapping[str, str] | None = None) -> list[Axis]:
    """The axes of ``eidos matrix``: each of AXIS_FACTS that the schema declares as an enum.

    By default an axis takes every declared value (and "not given" for OPTIONAL_BY_DEFAULT);
    ``chosen`` maps a fact to a comma-separated list of values (``none``: not given),
    checked against the schema (aliases accepted).
    """
    from eidos.engine.facts import coerce_fact

    chosen = dict(chosen or {})
    axes = []
    for fact in AXIS_FACTS:
        spec = graph.facts.get(fact)
        text = chosen.pop(fact, None)
        if spec is None or spec.kind != "enum":
            if text is not None:
                raise UsageError(f"--{fact}: the rule base declares no enum fact '{fact}'")
            continue
        if text is None:
            values: tuple = tuple(spec.values)
            if fact in OPTIONAL_BY_DEFAULT:  # "no os" is the last row, "training" the first column
                values = values + (None,) if fact in ROW_FACTS else (None,) + values
        else:
            picked: list = []
            for word in (w.strip() for w in text.split(",")):
                if not word:
                    raise UsageError(f"--{fact} {text}: empty value in the list",
                                     hint=f"e.g. --{fact} {','.join(spec.values[:2])}")
                value = None if word == NOT_GIVEN and word not in spec.values else coerce_fact(spec, word)
                if value not in picked:
                    picked.append(value)
            values = tuple(picked)
        axes.append(Axis(fact, values))
    if chosen:
        raise UsageError(f"not an axis of the matrix: {', '.join(sorted(chosen))}")
    return axes
