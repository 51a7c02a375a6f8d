"""The human report: per node, what is wrong first, then what passed; skips folded.

Layout per node: the facts (and where each came from), inference notices, the overlays;
then sections in the order a reader acts on them — failures (``fail``, ``error``),
warnings, passed, skipped. Each verdict line carries its category and, for non-error
severities, the severity. Skips are folded into one line per reason (``--verbose`` lists
each); ``--explain`` adds why each rule applied and every test its expression made.

Long lines wrap at ``width`` on spaces only — a word, a path or a command is never split —
with continuation lines indented under the text they continue. The width is fixed (100)
unless the CLI passes the terminal's, so files and CI logs are deterministic.

Plain text unless ``color`` is asked for (the CLI asks only on a terminal without ``CI``);
colour comes from ``rich``, imported only then, so CI logs and files stay plain and the
CLI stays quick to start.
"""

from __future__ import annotations

import re
import textwrap

from eidos.validate.evaluate import show

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim", "error": "bold magenta"}
Line = list  # [(text, style or None), ...]
DEFAULT_WIDTH = 100
_PAD = " " * 10
_SECTIONS = (("Failures", ("fail", "error")), ("Warnings", ("warn",)), ("Passed", ("pass",)))


def _wrap(first: str, text: str, style, width: int, indent: str | None = None, first_style=None) -> list[Line]:
    """``first`` + ``text`` wrapped at ``width`` on spaces; continuation lines start with
    ``indent`` (default: as many spaces as ``first`` is long)."""
    indent = " " * len(first) if indent is None else indent
    room = max(width - len(first), 20)
    chunks = textwrap.wrap(text, width=room, break_long_words=False, break_on_hyphens=False) or [""]
    out: list[Line] = [[(first, first_style), (chunks[0], style)]]
    if len(chunks) > 1:
        rest = textwrap.wrap(" ".join(chunks[1:]), width=max(width - len(indent), 20),
                             break_long_words=False, break_on_hyphens=False)
        out.extend([[(indent, None), (c, style)] for c in rest])
    return out


def _verdict_lines(v, name_width: int, width: int, explain: bool) -> list[Line]:
    head: Line = [("    ", None), (f"{v.status.upper():<5}", _STYLE[v.status]), (" ", None),
                  (f"{v.name:<{name_width}}", "bold" if v.status in ("fail", "error") else None), ("  ", None)]
    used = sum(len(t) for t, _ in head)
    tag = f"  [{v.category}" + (f",{v.severity}]" if v.severity != "error" else "]")  # one word: never split
    if width - used >= 40:
        wrapped = _wrap("", v.expr + tag, None, width - used, indent="")
        lines: list[Line] = [head + wrapped[0]]
        lines.extend([[(" " * used, None)] + line for line in wrapped[1:]])
    else:  # a narrow terminal: the expression goes on its own lines
        lines = [head] + _wrap(_PAD, v.expr + tag, None, width)
    if v.status == "skip":
        lines.extend(_wrap(_PAD + "skip:  ", v.reason, "dim", width, first_style="dim"))
        return lines + _explain_lines(v, width) if explain else lines
    found = ", ".join(f"{p} = {'(absent)' if val is None else show(val)}" for p, val in v.actual)
    if found:
        lines.extend(_wrap(_PAD + "found: ", found, None, width))
    if v.status != "pass":
        if v.message:
            lines.extend(_wrap(_PAD + "why:   ", v.message, None, width))
        lines.extend(_wrap(_PAD + "cause: ", v.reason, None, width))
        if v.remedy:
            lines.extend(_wrap(_PAD + "fix:   ", v.remedy, "cyan", width))
        lines.extend(_wrap(_PAD + "rule:  ", v.source, "dim", width, first_style="dim"))
    if explain:
        lines.extend(_explain_lines(v, width))
    return lines


def _explain_lines(v, width: int) -> list[Line]:
    out: list[Line] = []
    if v.applies:
        out.extend(_wrap(_PAD + "how:   ", v.applies, "dim", width, first_style="dim"))
    for step in v.trace:
        out.extend(_wrap(_PAD + "  test ", step, "dim", width, first_style="dim"))
    if v.status == "pass" and v.source:
        out.extend(_wrap(_PAD + "rule:  ", v.source, "dim", width, first_style="dim"))
    return out


_NOT_GIVEN = re.compile(r"(\w[\w-]*) not given")
_FACT_IS = re.compile(r"\((\w[\w-]*) = ([^)]*)\)")
_ABSENT = re.compile(r"not in snapshot \((.*?)\)(?:;|$)")


def fold_key(reason: str) -> str:
    """One line per kind of skip: by the facts a check did not apply to, or by the data
    that was absent — not by each check's own condition text."""
    if reason.startswith("not applicable"):
        parts = [f"{m} not given" for m in _NOT_GIVEN.findall(reason)]
        parts += [f"{k} = {val}" for k, val in _FACT_IS.findall(reason)]
        return "not applicable: " + ", ".join(dict.fromkeys(parts)) if parts else reason
    m = _ABSENT.search(reason)
    if m:
        return "absent data: " + m.group(1)
    if reason.startswith("nothing to check"):
        return "nothing to check: the values the rule allows to be absent are absent"
    return reason


def _folded_skips(skips, width: int) -> list[Line]:
    groups: dict[str, dict[str, int]] = {}
    for v in skips:
        names = groups.setdefault(fold_key(v.reason), {})
        names[v.origin if v.kind == "check" else v.name] = names.get(v.origin if v.kind == "check" else v.name, 0) + 1
    out: list[Line] = []
    for key in sorted(groups, key=lambda k: (-sum(groups[k].values()), k)):
        names = groups[key]
        listed = ", ".join(n + (f" ({c})" if c > 1 else "") for n, c in sorted(names.items()))
        count = f"{sum(names.values())}x "
        out.extend(_wrap("    " + count, f"{key}: {listed}", "dim", width, indent="    " + " " * len(count),
                         first_style="dim"))
    return out


def lines(report, *, width: int = DEFAULT_WIDTH, verbose: bool = False, explain: bool = False) -> list[Line]:
    out: list[Line] = []
    for n in report.nodes:
        out.extend(node_lines(n, width=width, verbose=verbose, explain=explain))
    out.extend(_summary(report, width))
    return out


def node_lines(n, *, width: int = DEFAULT_WIDTH, verbose: bool = False, explain: bool = False) -> list[Line]:
    """One node's section: facts, notices, overlays, verdicts by section, counts."""
    out: list[Line] = []
    head = _wrap("Node " + n.node + "  ", f"({n.snapshot})", "dim", width, indent="  ", first_style="bold")
    out.extend(head)
    origin = dict(n.fact_sources)
    facts = ", ".join(f"{k}={v} ({origin.get(k, '?')})" for k, v in n.criteria)
    out.extend(_wrap("  facts:    ", facts, None, width))
    for text in n.notices:
        out.extend(_wrap("  notice:   ", text, "yellow", width))
    out.extend(_wrap("  overlays: ", ", ".join(n.overlays) or "(none)", None, width))
    name_width = min(max((len(v.name) for v in n.verdicts), default=10), 40)
    for title, statuses in _SECTIONS:
        chosen = [v for v in n.verdicts if v.status in statuses]
        chosen.sort(key=lambda v: (statuses.index(v.status), v.category))
        if not chosen:
            continue
        out.append([])
        out.append([(f"  {title} ({len(chosen)})", "bold underline")])
        for v in chosen:
            out.extend(_verdict_lines(v, name_width, width, explain))
    skips = [v for v in n.verdicts if v.status == "skip"]
    if skips:
        out.append([])
        if verbose or explain:
            out.append([(f"  Skipped ({len(skips)})", "bold underline")])
            for v in sorted(skips, key=lambda v: v.category):
                out.extend(_verdict_lines(v, name_width, width, explain))
        else:
            out.append([(f"  Skipped ({len(skips)}, one line per reason; --verbose lists each)", "bold underline")])
            out.extend(_folded_skips(skips, width))
    c = n.counts
    out.append([])
    out.append([("  " + _counts(c), None), (f"  -> {n.status.upper()}", _STYLE[n.status])])
    out.append([])
    return out


def _counts(c: dict) -> str:
    return ", ".join(f"{c[s]} {s}" for s in ("pass", "fail", "warn", "skip", "error"))


def _summary(report, width: int) -> list[Line]:
    nodes = report.nodes
    passing = sum(1 for n in nodes if not any(report.failed(v) for v in n.verdicts))
    rule = f"--fail-on {report.fail_on}" + (", --allow-errors" if report.allow_errors else "")
    out: list[Line] = _wrap("Summary: ", f"{passing}/{len(nodes)} node(s) pass ({rule}); {_counts(report.counts)}",
                            None, width, indent="  ", first_style="bold")
    failing = report.failing_by_rule()
    if len(nodes) > 1 and failing:
        out.append([("Failing checks:", "bold")])
        for rid, where in failing:
            shown = ", ".join(where[:8]) + (f", … (+{len(where) - 8})" if len(where) > 8 else "")
            out.extend(_wrap("  ", f"{rid}: {len(where)} node(s): {shown}", None, width, indent="    "))
    out.extend(closing_lines(report.unreadable, report.exit_code, width))
    return out


def closing_lines(unreadable, exit_code: int, width: int) -> list[Line]:
    """The end of a text report, one node or a fleet: the snapshots left out, then the result."""
    out: list[Line] = []
    if unreadable:
        out.append([(f"Unreadable: {len(unreadable)} snapshot(s) left out of this report", "bold")])
        for _, why in unreadable:
            out.extend(_wrap("  ", why, None, width, indent="    "))
    verdict = "FAIL" if exit_code else "PASS"
    out.append([("Result: ", "bold"), (verdict, _STYLE["fail" if exit_code else "pass"])])
    return out


def render(report, *, color: bool = False, width: int = DEFAULT_WIDTH, verbose: bool = False,
           explain: bool = False) -> str:
    return to_text(lines(report, width=width, verbose=verbose, explain=explain), color=color)


def to_text(rendered: list[Line], *, color: bool = False) -> str:
    """Styled lines as text: plain, or with ANSI colours through ``rich``."""
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
