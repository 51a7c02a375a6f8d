"""Support windows are data with a source and a review date, and the checks follow the data.

rules/checks.eidos carries the EKS release calendar as ``# eks-calendar | ...`` rows and the
date it was last reviewed. This test recomputes, from those rows alone, the oldest minor
still in standard and in extended support on the review date, and requires the check's
thresholds to be exactly those: editing the calendar without the check (or the check
without the calendar) fails here. It does not read the clock, so it stays deterministic.
"""

from __future__ import annotations

import datetime
import re

from pathlib import Path

from eidos.lang.versions import Version
from eidos.validate.plan import ClosureCache, check_rules

CHECKS = Path(__file__).resolve().parents[2] / "rules" / "checks.eidos"


def _calendar():
    rows, reviewed = [], None
    for line in CHECKS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^# eks-calendar \| (\d+\.\d+)\s+\| (\d{4}-\d\d-\d\d)\s+\| (\d{4}-\d\d-\d\d)\s*$", line)
        if m:
            rows.append((Version.parse(m.group(1)), datetime.date.fromisoformat(m.group(2)),
                         datetime.date.fromisoformat(m.group(3))))
        m = re.match(r"^# eks-calendar-reviewed \| (\d{4}-\d\d-\d\d)\s*$", line)
        if m:
            reviewed = datetime.date.fromisoformat(m.group(1))
    return rows, reviewed


def _threshold(embedded_graph, name: str) -> str:
    rules = {r.id: r for r in check_rules(embedded_graph, {"service": "eks"}, ClosureCache())}
    expr = rules[f"check:eks-standard-support:{name}"].expr
    m = re.fullmatch(r"K8s\.server\.version >= (\d+\.\d+)", expr)
    assert m, expr
    return m.group(1)


def test_calendar_is_present_sorted_and_reviewed():
    rows, reviewed = _calendar()
    assert reviewed is not None and len(rows) >= 5
    versions = [v for v, _, _ in rows]
    assert versions == sorted(versions)
    for _, standard, extended in rows:
        assert extended > standard  # 12 months of extended support follow standard support


def test_thresholds_follow_the_calendar_on_the_review_date(embedded_graph):
    rows, reviewed = _calendar()
    oldest_standard = min(v for v, standard, _ in rows if standard >= reviewed)
    oldest_extended = min(v for v, _, extended in rows if extended >= reviewed)
    assert Version.parse(_threshold(embedded_graph, "eks-version")) == oldest_standard
    assert Version.parse(_threshold(embedded_graph, "eks-extended")) == oldest_extended


def test_check_doc_says_when_it_was_reviewed(embedded_graph):
    _, reviewed = _calendar()
    check = embedded_graph.checks["eks-standard-support"]
    assert f"last reviewed {reviewed.isoformat()}" in check.doc
