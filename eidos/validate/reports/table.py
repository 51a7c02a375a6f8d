"""The human report: per node, verdicts grouped by category, each with what to do.

Plain text unless ``color`` is asked for (the CLI asks only on a terminal without ``CI``);
colour comes from ``rich``, imported only then, so CI logs and files stay plain and the
CLI stays quick to start.
"""

from __future__ import annotations

from eidos.validate.evaluate import show

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim", "error": "bold magenta"}
Line = list  # [(text, style or None), ...]


def _verdict_lines(v, width: int) -> list[Line]:
    pad = " " * 10
    head: Line = [("    ", None), (f"{v.status.upper():<5}", _STYLE[v.status]), (" ", None),
                  (f"{v.name:<{width}}", "bold" if v.status in ("fail", "error") else None),
                  ("  ", None), (v.expr, None)]
    if v.severity != "error":
        head.append((f"  [{v.severity}]", "dim"))
    lines = [head]
    if v.status == "skip":
        lines.append([(pad + "skip:  " + v.reason, "dim")])
        return lines
    found = ", ".join(f"{p} = {'(absent)' if val is None else show(val)}" for p, val in v.actual)
    if found:
        lines.append([(pad + "found: " + found, None)])
    if v.status != "pass":
        if v.message:
            lines.append([(pad + "why:   " + v.message, None)])
        lines.append([(pad + "cause: " + v.reason, None)])
        if v.remedy:
            lines.append([(pad + "fix:   " + v.remedy, "cyan")])
        lines.append([(pad + "rule:  " + v.source, "dim")])
    return lines


def lines(report) -> list[Line]:
    out: list[Line] = []
    for n in report.nodes:
        out.append([("Node ", "bold"), (n.node, "bold"), (f"  ({n.snapshot})", "dim")])
        origin = dict(n.fact_sources)
        facts = ", ".join(f"{k}={v} ({origin.get(k, '?')})" for k, v in n.criteria)
        out.append([("  facts:    " + facts, None)])
        out.append([("  overlays: " + (", ".join(n.overlays) or "(none)"), None)])
        for text in n.notices:
            out.append([("  notice:   " + text, "yellow")])
        width = max((len(v.name) for v in n.verdicts), default=10)
        width = min(width, 48)
        categories: dict[str, list] = {}
        for v in n.verdicts:
            categories.setdefault(v.category, []).append(v)
        for cat in sorted(categories):
            out.append([])
            out.append([("  " + cat, "bold underline")])
            for v in categories[cat]:
                out.extend(_verdict_lines(v, width))
        c = n.counts
        out.append([])
        out.append([("  " + _counts(c), None), (f"  -> {n.status.upper()}", _STYLE[n.status])])
        out.append([])
    out.extend(_summary(report))
    return out


def _counts(c: dict) -> str:
    return ", ".join(f"{c[s]} {s}" for s in ("pass", "fail", "warn", "skip", "error"))


def _summary(report) -> list[Line]:
    nodes = report.nodes
    passing = sum(1 for n in nodes if not any(report.failed(v) for v in n.verdicts))
    rule = f"--fail-on {report.fail_on}" + (", --allow-errors" if report.allow_errors else "")
    out: list[Line] = [[("Summary: ", "bold"), (f"{passing}/{len(nodes)} node(s) pass ({rule}); ", None),
                        (_counts(report.counts), None)]]
    failing = report.failing_by_rule()
    if len(nodes) > 1 and failing:
        out.append([("Failing checks:", "bold")])
        for rid, where in failing:
            shown = ", ".join(where[:8]) + (f", … (+{len(where) - 8})" if len(where) > 8 else "")
            out.append([(f"  {rid}: {len(where)} node(s): {shown}", None)])
    verdict = "FAIL" if report.exit_code else "PASS"
    out.append([("Result: ", "bold"), (verdict, _STYLE["fail" if report.exit_code else "pass"])])
    return out


def render(report, *, color: bool = False) -> str:
    rendered = lines(report)
    if not color:
        return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in rendered)
    import io

    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=10_000,
                      highlight=False, soft_wrap=True)
    for line in rendered:
        text = Text()
        for part, style in line:
            text.append(part, style=style or "")
        console.print(text)
    return buf.getvalue()
