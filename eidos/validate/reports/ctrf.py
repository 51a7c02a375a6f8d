"""CTRF (Common Test Report Format, https://ctrf.io) JSON.

Status mapping: ``pass`` -> passed; ``skip`` -> skipped; ``fail`` -> failed; ``warn`` ->
failed when it fails the run at the ``--fail-on`` level, else passed; ``error`` -> failed
unless allowed with ``--allow-errors`` (then other). The reference reported evaluation
problems as ``other``, which its own exit logic ignored; here ``rawStatus`` keeps eidos'
status so nothing is lost, and the remedy travels in ``extra``. Start and stop are the
snapshots' timestamps (earliest, latest), 0 when a snapshot has none: the report never
reads the clock, so it is byte-identical for the same input.
"""

from __future__ import annotations

import json

from eidos import __version__
from eidos.validate.reports import epoch_ms, iso_utc, split_source

SPEC_VERSION = "0.1.0"  # the ctrf.io schema this output is tested against (tests/fixtures/validate)


def _status(report, v) -> str:
    if v.status == "pass":
        return "passed"
    if v.status == "skip":
        return "skipped"
    if v.status == "error":
        return "failed" if report.failed(v) else "other"
    return "failed" if report.failed(v) else "passed"


def _message(v) -> str:
    text = v.reason
    if v.status not in ("pass", "skip") and v.remedy:
        text += f"\nremedy: {v.remedy}"
    return text


def test_doc(report, n, v, multi: bool) -> dict:
    """One verdict of one node as a CTRF test (``multi``: the fleet has more than one node)."""
    file, line = split_source(v.source)
    test = {
        "name": f"{n.node}: {v.name}" if multi else v.name,
        "status": _status(report, v),
        "duration": 0,
        "suite": [n.node, v.category],
        "message": _message(v),
        "rawStatus": v.status,
        "tags": [v.kind, v.severity],
        "labels": {"id": v.id, "node": n.node, "category": v.category, "severity": v.severity},
        "type": "validation",
        "filePath": file,
    }
    if line is not None:
        test["line"] = line
    test["extra"] = {
        "expected": v.expr,
        "actual": v.actual_map(),
        "remedy": v.remedy,
        "message": v.message,
        "source": v.source,
    }
    return test


COUNTED = ("passed", "failed", "skipped", "pending", "other")


def document(tests, counts: dict, suites: int, stamps: list, fail_on: str, allow_errors: bool,
             exit_code: int) -> dict:
    """The CTRF document around ``tests`` (``stamps``: the nodes' timestamps in ms, sorted)."""
    start, stop = (stamps[0], stamps[-1]) if stamps else (0, 0)
    doc: dict = {"reportFormat": "CTRF", "specVersion": SPEC_VERSION}
    if stamps:
        doc["timestamp"] = iso_utc(stamps[0])
    doc["generatedBy"] = f"eidos {__version__}"
    doc["results"] = {
        "tool": {"name": "eidos", "version": __version__},
        "summary": {"tests": sum(counts.values()), **counts, "suites": suites, "start": start, "stop": stop,
                    "duration": stop - start},
        "tests": tests,
        "environment": {"reportName": "eidos validate", "healthy": exit_code == 0,
                        "extra": {"failOn": fail_on, "allowErrors": allow_errors}},
    }
    return doc


def render(report) -> str:
    multi = len(report.nodes) > 1
    tests = [test_doc(report, n, v, multi) for n in report.nodes for v in n.verdicts]
    counts = {s: sum(1 for t in tests if t["status"] == s) for s in COUNTED}
    stamps = sorted(ms for ms in (epoch_ms(n.timestamp) for n in report.nodes) if ms is not None)
    doc = document(tests, counts, len(report.nodes), stamps, report.fail_on, report.allow_errors, report.exit_code)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
