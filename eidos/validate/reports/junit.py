"""JUnit XML: one ``<testsuite>`` per node, one ``<testcase>`` per verdict.

CI systems (GitLab, Jenkins, GitHub test reporters) read ``failure``, ``error`` and
``skipped``. The mapping follows the run's exit rules: a verdict that fails the run is a
``<failure>`` (or ``<error>`` when it could not be evaluated); a warning below
``--fail-on`` passes with its text in ``system-out``; an error the user allowed with
``--allow-errors`` is ``<skipped>`` and says so. Durations are 0 (evaluation is
instantaneous and wall-clock time would make the report non-deterministic); the suite
timestamp is the snapshot's, without zone as the JUnit schema wants.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from eidos.validate.evaluate import show
from eidos.validate.reports import epoch_ms, iso_utc, split_source


def _details(v) -> str:
    lines = [f"expected: {v.expr}"]
    found = ", ".join(f"{p} = {'(absent)' if val is None else show(val)}" for p, val in v.actual)
    if found:
        lines.append(f"found:    {found}")
    lines.append(f"reason:   {v.reason}")
    if v.message:
        lines.append(f"why:      {v.message}")
    if v.remedy:
        lines.append(f"remedy:   {v.remedy}")
    lines.append(f"rule:     {v.source} (severity {v.severity})")
    return "\n".join(lines)


def _counts(report, verdicts) -> dict:
    failures = sum(1 for v in verdicts if v.status in ("fail", "warn") and report.failed(v))
    errors = sum(1 for v in verdicts if v.status == "error" and report.failed(v))
    skipped = sum(1 for v in verdicts if v.status == "skip" or (v.status == "error" and not report.failed(v)))
    return {"tests": str(len(verdicts)), "failures": str(failures), "errors": str(errors),
            "skipped": str(skipped), "time": "0"}


def suite(report, n) -> ET.Element:
    """One node's ``<testsuite>`` (``report`` only judges: its ``failed``)."""
    attrs = {"name": n.node, **_counts(report, n.verdicts), "hostname": n.node}
    ms = epoch_ms(n.timestamp)
    if ms is not None:
        attrs["timestamp"] = iso_utc(ms).rstrip("Z")
    suite = ET.Element("testsuite", attrs)
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "snapshot", "value": n.snapshot})
    for k, val in n.criteria:
        ET.SubElement(props, "property", {"name": f"fact.{k}", "value": val})
    ET.SubElement(props, "property", {"name": "overlays", "value": ", ".join(n.overlays)})
    for v in n.verdicts:
        file, line = split_source(v.source)
        case_attrs = {"name": v.name, "classname": f"{n.node}.{v.category}", "time": "0", "file": file}
        if line is not None:
            case_attrs["line"] = str(line)
        case = ET.SubElement(suite, "testcase", case_attrs)
        if v.status == "skip":
            ET.SubElement(case, "skipped", {"message": v.reason})
        elif v.status == "error":
            if report.failed(v):
                ET.SubElement(case, "error", {"message": v.reason, "type": "evaluation-error"}).text = _details(v)
            else:
                ET.SubElement(case, "skipped", {"message": f"error (allowed by --allow-errors): {v.reason}"})
        elif v.status in ("fail", "warn"):
            if report.failed(v):
                ET.SubElement(case, "failure", {"message": v.reason, "type": v.severity}).text = _details(v)
            else:
                ET.SubElement(case, "system-out").text = f"{v.severity}: " + _details(v)
    return suite


def suite_text(report, n) -> str:
    """``suite`` as it stands in the indented document, without the text around it."""
    element = suite(report, n)
    ET.indent(element, space="  ", level=1)
    return ET.tostring(element, encoding="unicode")


def counts(report, verdicts) -> dict:
    """The ``tests``/``failures``/``errors``/``skipped``/``time`` attributes of a suite."""
    return _counts(report, verdicts)


def head(totals: dict, empty: bool) -> str:
    """The declaration and the ``<testsuites>`` start tag (the whole element when ``empty``)."""
    root = ET.Element("testsuites", {"name": "eidos validate", **totals})
    text = ET.tostring(root, encoding="unicode")
    if not empty:
        assert text.endswith(" />")
        text = text[:-3] + ">"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


def render(report) -> str:
    root = ET.Element("testsuites", {"name": "eidos validate", **_counts(report, report.verdicts)})
    for n in report.nodes:
        root.append(suite(report, n))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
