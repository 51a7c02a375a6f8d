"""The fleet summary: what a run over thousands of nodes says first, built one node at a time.

A ``NodeResult`` of a real node holds ~50 verdicts (~30 KB); keeping 10,000 of them to
write a report at the end costs most of a gigabyte. The fleet path instead reduces each
node, in the worker that validated it, to a ``NodeSummary`` (its standing, its counts, the
verdicts that fail the run with the value each found, and, for the HTML heat map, each
check's status), and the parent folds those into a ``FleetSummary``: memory grows with the
number of *distinct* failures and node names, never with the verdicts.
"""

from __future__ import annotations

from collections import Counter

from eidos.lang import record
from eidos.validate.evaluate import show
from eidos.validate.verdicts import STATUSES


@record.frozen
class NodeSummary:
    """One node reduced to what the fleet summary and the heat map need."""

    node: str
    snapshot: str
    status: str  # the node's own status (fail > error > warn > pass)
    standing: str  # pass | fail | error: how the node counts under --fail-on/--allow-errors
    counts: tuple[int, ...]  # per STATUSES
    failed: tuple[tuple[str, str], ...]  # (verdict id, what was found) for each failing verdict
    cells: tuple[tuple[str, str], ...] = ()  # (verdict id, status), sorted by id: the heat map row


def found_text(v) -> str:
    """What a verdict found, as one line: the key failing nodes are grouped by."""
    if not v.actual:
        return "(nothing measured)"
    return ", ".join(f"{p} = {'(absent)' if val is None else show(val)}" for p, val in v.actual)


def summarize(n, fail_on: str, allow_errors: bool, *, cells: bool = False) -> NodeSummary:
    from eidos.validate.verdicts import Report

    judge = Report((), fail_on, allow_errors)
    failing = [v for v in n.verdicts if judge.failed(v)]
    if any(v.status != "error" for v in failing):
        standing = "fail"
    elif failing:
        standing = "error"
    else:
        standing = "pass"
    counts = n.counts
    return NodeSummary(
        node=n.node,
        snapshot=n.snapshot,
        status=n.status,
        standing=standing,
        counts=tuple(counts[s] for s in STATUSES),
        failed=tuple((v.id, found_text(v)) for v in failing),
        cells=tuple(sorted((v.id, v.status) for v in n.verdicts)) if cells else (),
    )


class FleetSummary:
    """Folds ``NodeSummary``s (in node order) into the fleet's figures."""

    def __init__(self, fail_on: str = "error", allow_errors: bool = False, recipe_source: str | None = None,
                 *, heat_map: bool = False):
        self.fail_on = fail_on
        self.allow_errors = allow_errors
        self.recipe_source = recipe_source
        self.nodes = 0
        self.standing: Counter = Counter()
        self.counts: Counter = Counter()
        # verdict id -> value found -> nodes; and verdict id -> nodes in node order
        self.by_value: dict[str, dict[str, list[str]]] = {}
        self.where: dict[str, list[str]] = {}
        self.unreadable: list[tuple[str, str]] = []
        self.heat_map = heat_map
        # heat map: identical rows (the same status for every check) are one group
        self.groups: dict[tuple, list[str]] = {}
        self.columns: set[str] = set()

    def add(self, s: NodeSummary) -> None:
        self.nodes += 1
        self.standing[s.standing] += 1
        for status, c in zip(STATUSES, s.counts):
            self.counts[status] += c
        for rid, found in s.failed:
            self.by_value.setdefault(rid, {}).setdefault(found, []).append(s.node)
            self.where.setdefault(rid, []).append(s.node)
        if self.heat_map:
            self.groups.setdefault(s.cells, []).append(s.node)
            self.columns.update(rid for rid, _ in s.cells)

    def add_unreadable(self, source: str, reason: str) -> None:
        self.unreadable.append((source, reason))

    @property
    def passing(self) -> int:
        return self.standing["pass"]

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return 2
        return 1 if self.standing["fail"] or self.standing["error"] else 0

    @property
    def status(self) -> str:
        return "fail" if self.exit_code else "pass"

    def verdict_counts(self) -> dict[str, int]:
        return {s: self.counts.get(s, 0) for s in STATUSES}

    def failing_by_rule(self) -> list[tuple[str, list[str]]]:
        """As ``Report.failing_by_rule``: rule id -> nodes where it failed, sorted by id."""
        return sorted(self.where.items())
