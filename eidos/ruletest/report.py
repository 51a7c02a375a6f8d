"""A test run as text (like pytest: one line per case, then the failures with what
differed) or as JUnit XML (one ``<testsuite>`` per test file, one ``<testcase>`` per case).

Output is deterministic (no durations, no timestamps) so CI logs and reports diff cleanly.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from eidos.ruletest.model import CaseResult, Mismatch, RunResult

SHOWN_UNCOVERED = 5  # names listed in the summary; --coverage lists them all
# characters XML 1.0 cannot carry at all (ElementTree would write them and break the file)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """Text a JUnit reader can parse: characters XML forbids shown as \\xNN escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def show(value: Any) -> str:
    """A value as the author wrote it in YAML terms: strings plain, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def mismatch_text(m: Mismatch, file: str) -> str:
    lines = [f"{file}:{m.line}: {m.what}"]
    if type(m.expected) is not type(m.actual) and not isinstance(m.actual, str) or (
            isinstance(m.actual, str) and not isinstance(m.expected, str) and m.actual != "(absent)"):
        # different types that print alike (1 and "1"): show both as JSON so the quotes tell
        lines.append(f"  expected: {json.dumps(m.expected, default=str)}")
        lines.append(f"  actual:   {json.dumps(m.actual, default=str)}")
    else:
        lines.append(f"  expected: {show(m.expected)}")
        lines.append(f"  actual:   {show(m.actual)}")
    if m.note:
        lines.extend("  " + n for n in m.note.splitlines())
    return "\n".join(lines)


def failure_text(r: CaseResult) -> str:
    return "\n".join(mismatch_text(m, r.case.file) for m in r.mismatches)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def coverage_lines(run: RunResult, full: bool) -> list[str]:
    cov = run.coverage
    out = []
    for kind, total in (("overlay", cov.overlays_total), ("check", cov.checks_total)):
        missing = cov.missing(kind)
        head = f"coverage: {total - len(missing)}/{total} {kind}s exercised"
        if not missing:
            out.append(head)
            continue
        if full:
            out.append(head + "; not exercised by any case:")
            out.extend(f"  {u.name}  ({u.source})" for u in missing)
        else:
            names = ", ".join(u.name for u in missing[:SHOWN_UNCOVERED])
            more = f", … {len(missing) - SHOWN_UNCOVERED} more (--coverage lists them)" if len(missing) > SHOWN_UNCOVERED else ""
            out.append(f"{head}; untested: {names}{more}")
    return out


def summary(run: RunResult) -> str:
    parts = [f"{run.passed} passed"]
    if run.failed:
        parts.insert(0, f"{run.failed} failed")
    return f"{', '.join(parts)} ({_plural(len(run.results), 'case')} in {_plural(run.files, 'file')})"


def text(run: RunResult, *, full_coverage: bool = False) -> str:
    out = [f"{r.case.id} {'PASSED' if r.passed else 'FAILED'}" for r in run.results]
    failed = [r for r in run.results if not r.passed]
    if failed:
        out.append("")
        out.append(" FAILURES ".center(72, "="))
        for r in failed:
            out.append(f" {r.case.id} (line {r.case.line}) ".center(72, "_"))
            out.append(failure_text(r))
    out.append("")
    out.extend(coverage_lines(run, full_coverage))
    out.append(f" {summary(run)} ".center(72, "="))
    return "\n".join(out) + "\n"


def junit(run: RunResult) -> str:
    results = run.results
    root = ET.Element("testsuites", {"name": "eidos test", "tests": str(len(results)),
                                     "failures": str(run.failed), "errors": "0", "time": "0"})
    by_file: dict[str, list[CaseResult]] = {}
    for r in results:
        by_file.setdefault(r.case.file, []).append(r)
    for file, items in by_file.items():
        failures = sum(1 for r in items if not r.passed)
        suite = ET.SubElement(root, "testsuite", {"name": file, "tests": str(len(items)), "failures": str(failures),
                                                  "errors": "0", "skipped": "0", "time": "0"})
        for r in items:
            case = ET.SubElement(suite, "testcase", {"name": xml_safe(r.case.name), "classname": file, "file": file,
                                                     "line": str(r.case.line), "time": "0"})
            if not r.passed:
                first = r.mismatches[0]
                message = f"{first.what}: expected {show(first.expected)}, got {show(first.actual)}"
                if len(r.mismatches) > 1:
                    message += f" (and {len(r.mismatches) - 1} more)"
                ET.SubElement(case, "failure", {"message": xml_safe(message), "type": "mismatch"}).text = \
                    xml_safe(failure_text(r))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
