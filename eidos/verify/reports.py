"""Report formats of ``eidos verify``: table, json, sarif, junit. Deterministic: no clock, sorted."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape, quoteattr

from eidos.validate.reports import split_source
from eidos.verify.findings import CHECKS

FORMATS = ("table", "json", "sarif", "junit")


def document(report) -> dict:
    return {
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "kind": "VerifyReport",
        "charts": report.charts,
        "exitCode": report.exit_code,
        "recipes": [
            {
                "recipe": r.label,
                "overlays": list(r.overlays),
                "cells": list(r.cells),
                "status": "failed" if r.errors else "verified",
                "components": [
                    {"name": c.name, "status": c.status, "chart": c.chart, "version": c.version,
                     **({"reason": c.reason} if c.reason else {})}
                    for c in r.components
                ],
                "findings": [f.as_dict() for f in r.findings],
            }
            for r in report.recipes
        ],
    }


def table(report) -> str:
    lines: list[str] = []
    for r in report.recipes:
        status = f"FAILED ({r.errors} error{'s' if r.errors != 1 else ''})" if r.errors else "verified"
        lines.append(f"recipe {r.label}: {status}")
        if r.cells:
            more = f" (+{len(r.cells) - 1} more)" if len(r.cells) > 1 else ""
            lines.append(f"  e.g. {r.cells[0]}{more}")
        for c in r.components:
            extra = f" {c.chart} {c.version}" if c.chart else ""
            lines.append(f"  {c.status:<8} {c.name}{extra}" + (f": {c.reason}" if c.reason else ""))
        for f in r.findings:
            if f.check == "chart-missing":
                continue  # shown as the component's status
            where = f" [{f.source}]" if f.source else ""
            lines.append(f"  {f.severity.upper():<7} {f.check:<18} {f.component}: {f.message}{where}")
            if f.hint:
                lines.append(f"          hint: {f.hint}")
        lines.append("")
    errors = sum(r.errors for r in report.recipes)
    failed = sum(1 for r in report.recipes if r.errors)
    lines.append(f"{len(report.recipes)} recipe(s): {len(report.recipes) - failed} verified, {failed} failed, "
                 f"{errors} error finding(s)")
    return "\n".join(lines) + "\n"


def sarif(report) -> str:
    results = []
    for r in report.recipes:
        for f in r.findings:
            level = {"error": "error", "warning": "warning"}.get(f.severity, "note")
            result = {"ruleId": f.check, "level": level,
                      "message": {"text": f"[{r.label}] {f.component}: {f.message}" + (f" ({f.hint})" if f.hint else "")}}
            if f.source:
                uri, line = split_source(f.source)
                loc = {"artifactLocation": {"uri": uri}}
                if line:
                    loc["region"] = {"startLine": line}
                result["locations"] = [{"physicalLocation": loc}]
            results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "eidos verify", "informationUri": "https://example.invalid/eidos",
                                "rules": [{"id": k, "shortDescription": {"text": v}} for k, v in sorted(CHECKS.items())]}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def junit(report) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    total = sum(len(r.components) for r in report.recipes)
    failures = skipped = 0
    suites = []
    for r in report.recipes:
        cases = []
        for c in r.components:
            mine = [f for f in r.findings if f.component == c.name and f.severity in ("error", "warning")]
            errs = [f for f in mine if f.severity == "error"]
            body = ""
            if c.status == "skipped":
                skipped += 1
                body = f"<skipped message={quoteattr(c.reason)}/>"
            elif errs:
                failures += 1
                text = "\n".join(f"{f.check}: {f.message}" + (f" [{f.source}]" if f.source else "") for f in errs)
                body = f"<failure message={quoteattr(f'{len(errs)} error finding(s)')}>{escape(text)}</failure>"
            cases.append(f'    <testcase classname={quoteattr(r.label)} name={quoteattr(c.name)}>{body}</testcase>')
        suites.append(f"  <testsuite name={quoteattr(r.label)} tests=\"{len(r.components)}\">\n" + "\n".join(cases) + "\n  </testsuite>")
    out.append(f'<testsuites name="eidos verify" tests="{total}" failures="{failures}" skipped="{skipped}">')
    out += suites
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def render(report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document(report), indent=2, sort_keys=False) + "\n"
    return {"table": table, "sarif": sarif, "junit": junit}[fmt](report)
