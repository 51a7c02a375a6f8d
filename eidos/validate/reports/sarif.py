"""SARIF 2.1.0: each verdict a result, located at the line of the rule that produced it.

Code hosts show SARIF results next to the source they point at, so a failed requirement
appears on its ``require`` line in ``rules/*.eidos`` (or in the recipe file, for a
requirement read with ``--recipe`` that carries no rule location). Mapping: ``fail`` ->
kind ``fail``, level ``error``; ``warn`` -> kind ``fail``, level ``warning`` (``note`` for
info); ``pass`` -> kind ``pass``; ``skip`` -> ``notApplicable``; ``error`` -> kind
``review`` (the spec requires level ``none`` for non-fail kinds) plus a
``toolExecutionNotifications`` entry of level ``error``, which is SARIF's way of saying the
tool could not do part of its job. The node name and values found travel in each result's
property bag.
"""

from __future__ import annotations

import json

from eidos import __version__
from eidos.validate.reports import split_source

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _kind_level(v) -> tuple[str, str]:
    if v.status == "pass":
        return "pass", "none"
    if v.status == "skip":
        return "notApplicable", "none"
    if v.status == "error":
        return "review", "none"
    return "fail", _LEVEL[v.severity]


def _location(source: str) -> list:
    file, line = split_source(source)
    physical: dict = {"artifactLocation": {"uri": file}}
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return [{"physicalLocation": physical}]


def render(report) -> str:
    rules: list[dict] = []
    index: dict[str, int] = {}
    results: list[dict] = []
    notifications: list[dict] = []
    for n in report.nodes:
        for v in n.verdicts:
            if v.id not in index:
                index[v.id] = len(rules)
                rule = {
                    "id": v.id,
                    "name": v.name,
                    "shortDescription": {"text": v.expr},
                    "defaultConfiguration": {"level": _LEVEL[v.severity]},
                    "properties": {"category": v.category, "kind": v.kind, "origin": v.origin},
                }
                if v.message:
                    rule["fullDescription"] = {"text": v.message}
                if v.remedy:
                    rule["help"] = {"text": v.remedy}
                rules.append(rule)
            kind, level = _kind_level(v)
            text = f"{n.node}: {v.name}: {v.reason}"
            if v.status in ("fail", "warn", "error") and v.remedy:
                text += f" Remedy: {v.remedy}"
            results.append({
                "ruleId": v.id,
                "ruleIndex": index[v.id],
                "kind": kind,
                "level": level,
                "message": {"text": text},
                "locations": _location(v.source),
                "properties": {"node": n.node, "snapshot": n.snapshot, "status": v.status,
                               "severity": v.severity, "expected": v.expr, "actual": v.actual_map()},
            })
            if v.status == "error":
                notifications.append({
                    "level": "error",
                    "message": {"text": f"{n.node}: {v.name}: {v.reason}"},
                    "descriptor": {"id": v.id},
                    "locations": _location(v.source),
                })
    invocation = {"executionSuccessful": not any(v.status == "error" for v in report.verdicts)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "eidos", "version": __version__, "rules": rules}},
            "invocations": [invocation],
            "results": results,
            "properties": {"failOn": report.fail_on, "exitCode": report.exit_code},
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
