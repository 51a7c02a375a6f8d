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


def rule_doc(v) -> dict:
    """The ``tool.driver.rules`` entry of a verdict's rule (from the first verdict of its id)."""
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
    return rule


def result_doc(n, v, rule_index) -> dict:
    kind, level = _kind_level(v)
    text = f"{n.node}: {v.name}: {v.reason}"
    if v.status in ("fail", "warn", "error") and v.remedy:
        text += f" Remedy: {v.remedy}"
    return {
        "ruleId": v.id,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": {"text": text},
        "locations": _location(v.source),
        "properties": {"node": n.node, "snapshot": n.snapshot, "status": v.status,
                       "severity": v.severity, "expected": v.expr, "actual": v.actual_map()},
    }


def notification_doc(n, v) -> dict:
    """A ``toolExecutionNotifications`` entry: an ``error`` verdict, the tool's own failure."""
    return {
        "level": "error",
        "message": {"text": f"{n.node}: {v.name}: {v.reason}"},
        "descriptor": {"id": v.id},
        "locations": _location(v.source),
    }


def document(rules: list, results: list, notifications: list, successful: bool, fail_on: str,
             exit_code: int) -> dict:
    invocation: dict = {"executionSuccessful": successful}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "eidos", "version": __version__, "rules": rules}},
            "invocations": [invocation],
            "results": results,
            "properties": {"failOn": fail_on, "exitCode": exit_code},
        }],
    }


def render(report) -> str:
    rules: list[dict] = []
    index: dict[str, int] = {}
    results: list[dict] = []
    notifications: list[dict] = []
    for n in report.nodes:
        for v in n.verdicts:
            if v.id not in index:
                index[v.id] = len(rules)
                rules.append(rule_doc(v))
            results.append(result_doc(n, v, index[v.id]))
            if v.status == "error":
                notifications.append(notification_doc(n, v))
    successful = not any(v.status == "error" for v in report.verdicts)
    doc = document(rules, results, notifications, successful, report.fail_on, report.exit_code)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
