"""The ``ValidationReport`` document (``-o json`` / ``-o yaml``): everything, machine-readable."""

from __future__ import annotations

from eidos import __version__
from eidos.io import yamlio
from eidos.engine.recipe import API_VERSION


def verdict_document(v) -> dict:
    doc = {
        "id": v.id,
        "kind": v.kind,
        "name": v.name,
        "category": v.category,
        "severity": v.severity,
        "status": v.status,
        "expr": v.expr,
        "actual": v.actual_map(),
        "reason": v.reason,
    }
    if v.message:
        doc["message"] = v.message
    if v.remedy:
        doc["remedy"] = v.remedy
    doc["source"] = v.source
    doc["origin"] = v.origin
    if v.applies or v.trace:  # --explain
        doc["explain"] = {"applies": v.applies, "tests": list(v.trace)}
    return doc


def node_document(n) -> dict:
    """One entry of ``nodes``: the node, where its facts came from, and every verdict."""
    return {
        "node": n.node,
        "snapshot": n.snapshot,
        **({"timestamp": n.timestamp} if n.timestamp else {}),
        "criteria": dict(n.criteria),
        "factSources": dict(n.fact_sources),
        "notices": list(n.notices),
        "overlays": list(n.overlays),
        "status": n.status,
        "summary": n.counts,
        "verdicts": [verdict_document(v) for v in n.verdicts],
    }


def document(report) -> dict:
    nodes = report.nodes
    passing = sum(1 for n in nodes if not any(report.failed(v) for v in n.verdicts))
    doc: dict = {
        "apiVersion": API_VERSION,
        "kind": "ValidationReport",
        "metadata": {"generator": f"eidos {__version__}"},
    }
    if report.recipe_source:
        doc["recipe"] = report.recipe_source
    doc["failOn"] = report.fail_on
    doc["allowErrors"] = report.allow_errors
    doc["summary"] = {
        "status": report.status,
        "exitCode": report.exit_code,
        "nodes": len(nodes),
        "nodesPassing": passing,
        "verdicts": report.counts,
    }
    doc["nodes"] = [node_document(n) for n in nodes]
    if len(nodes) > 1:
        doc["failing"] = [{"id": rid, "nodes": where} for rid, where in report.failing_by_rule()]
    if report.unreadable:
        doc["unreadable"] = [{"snapshot": src, "reason": why} for src, why in report.unreadable]
    return doc


def render(report, fmt: str) -> str:
    doc = document(report)
    return yamlio.dump_json(doc) if fmt == "json" else yamlio.dump(doc)
