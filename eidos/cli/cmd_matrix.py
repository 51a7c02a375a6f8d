"""``eidos matrix``: the coverage table of the rule base.

Rows are service x accelerator x os, columns intent x platform; each cell names the most
specific overlay its query applies (the last, in the engine's order, that is not ``when
always``) or ``—`` where only the base recipe applies. A ``*`` marks a cell whose overlay
does not read every fact of the cell: ``eidos recipe`` warns there. See docs/matrix.md
for the definitions and the shipped table.
"""

from __future__ import annotations

from eidos.cli.facts import add_rules_arguments
from eidos.cli.options import add_output_arguments

FORMATS = ("table", "markdown", "json")
FALLBACK = "—"
PARTIAL = "*"


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "matrix",
        help="show which overlay every service x accelerator x os x intent x platform cell gets",
        description="Resolve every cell of the fact matrix (rows service x accelerator x os, columns "
        "intent x platform) and name the most specific overlay each applies, or '—' where it falls "
        "back to the base recipe; '*' marks cells whose overlay does not read every given fact "
        "(eidos recipe warns there). Axes default to every declared value, plus 'not given' for os "
        "and platform; narrow or widen them with the axis flags ('none' means not given). "
        "See docs/matrix.md.",
    )
    p.set_defaults(run=run)
    if argv is None:
        return  # not the chosen command: its flags are never parsed (see eidos.cli.main.build_parser)
    add_rules_arguments(p)
    add_output_arguments(p, FORMATS, default="table",
                         format_help="table (aligned text, default), markdown (a table per service) or "
                         "json (a list of cells)")
    axes = p.add_argument_group("axes", "comma-separated values of one axis; 'none' means the fact is not given")
    from eidos.engine.coverage import AXIS_FACTS

    for fact in AXIS_FACTS:
        axes.add_argument(f"--{fact}", dest=f"axis_{fact}", metavar="V1,V2",
                          help=f"the {fact} values to show")


def run(args) -> int:
    from eidos.cli.facts import load_graph_from_args
    from eidos.engine.coverage import AXIS_FACTS, Coverage, matrix_axes
    from eidos.io import yamlio
    from eidos.io.output import emit

    graph = load_graph_from_args(args)
    chosen = {f: getattr(args, f"axis_{f}") for f in AXIS_FACTS if getattr(args, f"axis_{f}") is not None}
    axes = matrix_axes(graph, chosen)
    coverage = Coverage(graph)
    cells = coverage.cells(axes)
    if args.output == "json":
        text = yamlio.dump_json([cell.to_dict() for cell in cells])
    else:
        layout = Layout(axes, cells)
        body = layout.markdown() if args.output == "markdown" else layout.table()
        text = body + footer(layout, coverage, markdown=args.output == "markdown")
    emit(text, args.out)
    return 0


def cell_text(cell) -> str:
    if cell.overlay is None:
        return FALLBACK
    return cell.overlay + (PARTIAL if cell.uncovered else "")


def value_text(fact: str, value) -> str:
    return f"no {fact}" if value is None else str(value)


class Layout:
    """Cells arranged as rows (ROW_FACTS present) by columns (COLUMN_FACTS present)."""

    def __init__(self, axes, cells):
        from eidos.engine.coverage import COLUMN_FACTS, ROW_FACTS

        self.row_facts = [a.fact for a in axes if a.fact in ROW_FACTS]
        self.col_facts = [a.fact for a in axes if a.fact in COLUMN_FACTS]
        self.cells = cells
        self.rows: list[tuple] = []
        self.columns: list[tuple] = []
        self.grid: dict[tuple, object] = {}
        for cell in cells:
            row = tuple(cell.value(f) for f in self.row_facts)
            col = tuple(cell.value(f) for f in self.col_facts)
            if row not in self.grid:
                self.rows.append(row)
                self.grid[row] = {}
            if col not in self.columns:
                self.columns.append(col)
            self.grid[row][col] = cell

    def column_label(self, col: tuple) -> str:
        given = [str(v) for v in col if v is not None]
        if given:
            return " + ".join(given)
        return "no " + "/".join(self.col_facts) if self.col_facts else "recipe"

    def table(self) -> str:
        header = list(self.row_facts) + [self.column_label(c) for c in self.columns]
        lines = [header]
        for row in self.rows:
            lines.append([value_text(f, v) for f, v in zip(self.row_facts, row)]
                         + [cell_text(self.grid[row][c]) for c in self.columns])
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "".join("  ".join(w.ljust(n) for w, n in zip(line, widths)).rstrip() + "\n" for line in lines)

    def markdown(self) -> str:
        """One table per value of the first row fact (service), headed by that value."""
        if not self.row_facts:  # a rule base without service, accelerator and os
            return _md_table([], [self.column_label(c) for c in self.columns],
                             [([], [self.grid[()][c] for c in self.columns])])
        first, rest = self.row_facts[0], self.row_facts[1:]
        out = []
        groups: dict = {}
        for row in self.rows:
            groups.setdefault(row[0], []).append(row)
        for value, rows in groups.items():
            out.append(f"### {first}: {value_text(first, value)}\n\n")
            body = [([value_text(f, v) for f, v in zip(rest, row[1:])], [self.grid[row][c] for c in self.columns])
                    for row in rows]
            out.append(_md_table(rest, [self.column_label(c) for c in self.columns], body))
            out.append("\n")
        return "".join(out)


def _md_table(row_facts, column_labels, body) -> str:
    header = list(row_facts) + column_labels
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for labels, cells in body:
        texts = [cell_text(c).replace(PARTIAL, "\\" + PARTIAL) for c in cells]
        lines.append("| " + " | ".join(labels + texts) + " |")
    return "\n".join(lines) + "\n"


def footer(layout: Layout, coverage, *, markdown: bool) -> str:
    """Counts, the legend and the declared values no overlay is for."""
    total = len(layout.cells)
    fallback = sum(1 for c in layout.cells if c.overlay is None)
    partial = sum(1 for c in layout.cells if c.overlay is not None and c.uncovered)
    specific = total - fallback - partial
    star = "\\*" if markdown else PARTIAL
    lines = [
        f"{total} cells: {specific} specific to every given fact, {partial} partly specific ({star}), "
        f"{fallback} base recipe only ({FALLBACK})",
        f"{FALLBACK}: no overlay other than 'when always' applies; {star}: the overlay does not read "
        f"every fact of the cell (eidos recipe warns; -o json lists them as 'uncovered')",
    ]
    unmentioned = coverage.unmentioned_values()
    if unmentioned:
        lines.append("declared values no overlay is for: "
                     + "; ".join(f"{fact}: {', '.join(values)}" for fact, values in unmentioned))
    if markdown:
        return "\n".join(lines[:1] + [""] + [f"- {line}" for line in lines[1:]]) + "\n"
    return "\n" + "\n".join(lines) + "\n"
