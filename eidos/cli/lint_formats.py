"""``eidos lint`` findings for code hosts: GitHub workflow annotations and SARIF 2.1.0.

``github`` prints one workflow command per diagnostic (``::error file=…,line=…::…``), which
GitHub Actions shows on the pull request's diff at that line; ``sarif`` is what code
scanning (``github/codeql-action/upload-sarif``) and other hosts ingest. Both locate a
finding at the rule file and line the diagnostic names, with paths as eidos shows them
(relative to where it ran, so a run from the repository root gives repository paths).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from eidos import __version__
from eidos.lang.diagnostics import CODES, Diagnostic

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _escape_data(text: str) -> str:
    """How a workflow command escapes its message (actions/toolkit packages/core/src/command.ts ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """How a workflow command escapes property values (same file, ``escapeProperty``)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _message(d: Diagnostic) -> str:
    parts = [d.message, *(f"note: {n}" for n in d.notes)]
    if d.hint:
        parts.append(f"hint: {d.hint}")
    return "\n".join(parts)


def github(diagnostics: Iterable[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        props = []
        if d.span.file:
            props.append(f"file={_escape_property(d.span.file)}")
        if d.span.line > 0:
            props.append(f"line={d.span.line}")
            if d.span.col > 0:
                props.append(f"col={d.span.col}")
            if d.span.end_line >= d.span.line and d.span.end_line > 0:
                props.append(f"endLine={d.span.end_line}")
                if d.span.end_col > 0 and d.span.end_line == d.span.line:
                    props.append(f"endColumn={d.span.end_col}")
        props.append(f"title={_escape_property(f'eidos lint {d.code}')}")
        level = "error" if d.is_error else "warning"
        lines.append(f"::{level} {','.join(props)}::{_escape_data(_message(d))}")
    return "".join(line + "\n" for line in lines)


def sarif(diagnostics: Iterable[Diagnostic]) -> str:
    diagnostics = list(diagnostics)
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    rules = [{"id": code, "shortDescription": {"text": CODES.get(code, code)}} for code in codes]
    results = []
    for d in diagnostics:
        result: dict = {"ruleId": d.code, "ruleIndex": index[d.code], "level": "error" if d.is_error else "warning",
                        "message": {"text": _message(d)}}
        if d.span.file:
            region: dict = {}
            if d.span.line > 0:
                region["startLine"] = d.span.line
                if d.span.col > 0:
                    region["startColumn"] = d.span.col
                if d.span.end_line >= d.span.line:
                    region["endLine"] = d.span.end_line
                    if d.span.end_col > 0 and (d.span.end_line > d.span.line or d.span.end_col > d.span.col):
                        region["endColumn"] = d.span.end_col
            physical: dict = {"artifactLocation": {"uri": d.span.file}}
            if region:
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "eidos lint", "version": __version__, "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
