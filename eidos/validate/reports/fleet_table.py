"""The fleet table: the summary a person reads first when a run covers many nodes.

Nodes passing, failing (a verdict fails at the ``--fail-on`` level) and erroring (a rule could
not be evaluated, and nothing failed); then each failing check with the nodes it fails on,
grouped by the value found, so "212 nodes run kernel 5.15, 3 run 6.8" reads as two lines,
not 215. Per-node sections follow only on ``--verbose`` (or ``--explain``).
"""

from __future__ import annotations

from eidos.validate.reports.table import DEFAULT_WIDTH, Line, _counts, _wrap, closing_lines, to_text

SHOWN_NODES = 8  # node names listed per group; the rest are counted


def _names(nodes: list[str]) -> str:
    shown = ", ".join(nodes[:SHOWN_NODES])
    return shown + (f", … (+{len(nodes) - SHOWN_NODES})" if len(nodes) > SHOWN_NODES else "")


def summary_lines(s, *, width: int = DEFAULT_WIDTH, detail: bool = False) -> list[Line]:
    rule = f"--fail-on {s.fail_on}" + (", --allow-errors" if s.allow_errors else "")
    out: list[Line] = _wrap("Summary: ", f"{s.passing}/{s.nodes} node(s) pass ({rule}); "
                            f"{_counts(s.verdict_counts())}", None, width, indent="  ", first_style="bold")
    nodes = (f"{s.standing['pass']} passing, {s.standing['fail']} failing, {s.standing['error']} erroring"
             + (f", {len(s.unreadable)} unreadable" if s.unreadable else ""))
    out.extend(_wrap("Nodes: ", nodes, None, width, indent="  ", first_style="bold"))
    if s.by_value:
        out.append([(f"Failing checks:", "bold")])
        for rid, where in s.failing_by_rule():
            out.extend(_wrap("  ", f"{rid}: {len(where)} node(s): {_names(where)}", None, width, indent="    "))
            groups = s.by_value[rid]
            for found, names in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                out.extend(_wrap("    ", f"{len(names)} found {found}: {_names(names)}", "dim", width,
                                 indent="      "))
    out.extend(closing_lines(s.unreadable, s.exit_code, width))
    if s.nodes and not detail:
        out.append([("(each node's verdicts: --verbose or --explain)", "dim")])
    elif s.nodes:
        out.append([])
    return out


def summary_text(s, *, width: int = DEFAULT_WIDTH, color: bool = False, detail: bool = False) -> str:
    return to_text(summary_lines(s, width=width, detail=detail), color=color)
