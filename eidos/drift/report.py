"""``eidos diff`` reports: table, json, yaml, junit, sarif. Deterministic: no times, sorted."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from eidos.drift.diff import ADDED, CHANGED, REMOVED, DiffReport, NodeDiff

FORMATS = ("table", "json", "yaml", "junit", "sarif")
KIND = "SnapshotDiff"
_SIGN = {ADDED: "+", REMOVED: "-", CHANGED: "~"}


def _show(value: object) -> str:
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, sort_keys=True)


def status(node: NodeDiff) -> str:
    if node.before is None:
        return "added"
    if node.after is None:
        return "removed"
    return "drifted" if node.changes or node.verdicts else "same"


def summary(report: DiffReport) -> dict:
    states = [status(n) for n in report.nodes]
    return {"nodes": len(report.nodes), "drifted": states.count("drifted"), "same": states.count("same"),
            "added": states.count("added"), "removed": states.count("removed"),
            "changes": sum(len(n.changes) for n in report.nodes),
            "verdictChanges": sum(len(n.verdicts) for n in report.nodes), "ignored": report.ignored,
            "outliers": len(report.outliers)}


def document(report: DiffReport) -> dict:
    from eidos.api import API_VERSION

    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "summary": summary(report),
        "nodes": [{"node": n.node, "before": n.before, "after": n.after, "status": status(n),
                   "changes": [c.to_json() for c in n.changes],
                   "verdicts": [v.to_json() for v in n.verdicts]} for n in report.nodes],
        "outliers": [{"path": o.path, "majority": o.majority, "holders": o.holders,
                      "nodes": [{"node": node, "value": value} for node, value in o.nodes]}
                     for o in report.outliers],
    }


def table(report: DiffReport) -> str:
    lines: list[str] = []
    for n in report.nodes:
        state = status(n)
        if state == "same":
            continue
        if state in ("added", "removed"):
            lines.append(f"{n.node}: only in the {'second' if state == 'added' else 'first'} set "
                         f"({n.after or n.before})")
            continue
        lines.append(f"{n.node}: {len(n.changes)} change(s)  ({n.before} -> {n.after})")
        for v in n.verdicts:
            lines.append(f"  ! {v.id}: {v.before} -> {v.after}  ({v.source})")
        for c in n.changes:
            if c.kind == ADDED:
                lines.append(f"  + {c.path} = {_show(c.after)}")
            elif c.kind == REMOVED:
                lines.append(f"  - {c.path} = {_show(c.before)}")
            else:
                how = f"  ({c.direction})" if c.direction else ""
                lines.append(f"  ~ {c.path}: {_show(c.before)} -> {_show(c.after)}{how}")
    if report.outliers:
        lines.append("")
        lines.append("Nodes that differ from the majority (second set):")
        for o in report.outliers:
            others = ", ".join(f"{node}={_show(value)}" for node, value in o.nodes)
            lines.append(f"  {o.path}: {o.holders} node(s) have {_show(o.majority)}; {others}")
    s = summary(report)
    if lines:
        lines.append("")
    lines.append(f"{s['drifted']} of {s['nodes']} node(s) drifted, {s['added']} added, {s['removed']} removed; "
                 f"{s['changes']} change(s), {s['verdictChanges']} verdict change(s), "
                 f"{s['ignored']} difference(s) ignored as noise")
    return "\n".join(lines) + "\n"


def junit(report: DiffReport) -> str:
    s = summary(report)
    suites = ET.Element("testsuites", {"name": "eidos diff", "tests": str(s["nodes"]),
                                       "failures": str(s["nodes"] - s["same"])})
    suite = ET.SubElement(suites, "testsuite", {"name": "drift", "tests": str(s["nodes"]),
                                                "failures": str(s["nodes"] - s["same"]), "errors": "0",
                                                "skipped": "0", "time": "0"})
    for n in report.nodes:
        case = ET.SubElement(suite, "testcase", {"classname": "drift", "name": n.node, "time": "0"})
        state = status(n)
        if state != "same":
            failure = ET.SubElement(case, "failure", {"message": f"{n.node}: {state}",
                                                      "type": state})
            failure.text = "\n".join(
                [f"! {v.id}: {v.before} -> {v.after}" for v in n.verdicts]
                + [f"{_SIGN[c.kind]} {c.path}: {_show(c.before)} -> {_show(c.after)}" for c in n.changes])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def sarif(report: DiffReport) -> str:
    from eidos import __version__

    results = []
    for n in report.nodes:
        for c in n.changes:
            text = (f"{n.node}: {c.path} {c.kind}"
                    + (f" {_show(c.before)} -> {_show(c.after)}" if c.kind == CHANGED else
                       f" ({_show(c.after if c.kind == ADDED else c.before)})")
                    + (f" ({c.direction})" if c.direction else ""))
            results.append({
                "ruleId": f"drift/{c.kind}",
                "level": "warning",
                "message": {"text": text},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": n.after or n.before or n.node}}}],
                "properties": {"node": n.node, "path": c.path, **({"direction": c.direction} if c.direction else {})},
            })
        for v in n.verdicts:
            results.append({
                "ruleId": "drift/verdict",
                "level": "error" if v.after in ("fail", "error") else "warning",
                "message": {"text": f"{n.node}: {v.id} went from {v.before} to {v.after}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": n.after or n.before or n.node}}}],
                "properties": {"node": n.node, "verdict": v.id, "rule": v.source},
            })
    rules = [{"id": f"drift/{k}", "shortDescription": {"text": f"a measurement path was {k}"}}
             for k in (ADDED, REMOVED, CHANGED)]
    rules.append({"id": "drift/verdict", "shortDescription": {"text": "a rule's verdict changed"}})
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "eidos", "version": __version__,
                                         "rules": rules}},
                     "results": results}]}
    return json.dumps(doc, indent=2) + "\n"


def render(report: DiffReport, fmt: str) -> str:
    if fmt == "table":
        return table(report)
    if fmt == "json":
        return json.dumps(document(report), indent=2, sort_keys=False) + "\n"
    if fmt == "yaml":
        from eidos.io import yamlio

        return yamlio.dump(document(report))
    if fmt == "junit":
        return junit(report)
    return sarif(report)
