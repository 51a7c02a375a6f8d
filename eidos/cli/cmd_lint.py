"""``eidos lint``: compile rule files and report every diagnostic."""

from __future__ import annotations

import io

from eidos.cli.options import add_output_arguments
from eidos.errors import EXIT_FINDINGS, EXIT_OK


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "lint",
        help="check rule files: syntax, types, references, cycles, dead conditions",
        description="Compile rule directories layered over the embedded rule base (or the embedded base "
        "alone) and report every diagnostic. Exit 1 when there are errors (or warnings with --strict).",
    )
    p.add_argument("paths", nargs="*", metavar="DIR", help="rule directories (default: the embedded base)")
    add_output_arguments(p, ("text", "json", "github", "sarif"), default="text",
                         format_help="report format (default text; github: workflow annotations "
                         "'::error file=…,line=…::…'; sarif: SARIF 2.1.0 for code scanning)",
                         out_help="write the report to FILE (atomically) instead of stdout ('-': stdout)")
    p.add_argument("--standalone", action="store_true",
                   help="check the given directories alone, without the embedded rule base under them")
    p.add_argument("--strict", action="store_true", help="treat warnings as findings too")
    p.add_argument("--no-matrix", action="store_true",
                   help="skip resolving every combination of enum facts")
    p.add_argument("--charts", metavar="DIR", default=None,
                   help="also render every recipe with the charts under DIR (NAME/VERSION/) and report "
                   "objects installed before their CRD (E408; needs the verify extra)")
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos.cli.render import diagnostics_json, print_diagnostics
    from eidos.engine import sources
    from eidos.engine.compiler import compile_ruleset
    from eidos.engine.lint_matrix import matrix_diagnostics
    from eidos.io.output import emit

    ruleset = sources.collect(args.paths, embedded=not args.standalone)
    graph, reporter = compile_ruleset(ruleset)
    if graph is not None:
        _report_unused_facts(graph, ruleset, reporter, layered=bool(args.paths))
    if graph is not None and not args.no_matrix:
        reporter.items.extend(matrix_diagnostics(graph))
    if graph is not None and args.charts:
        from pathlib import Path

        from eidos.verify.lintorder import order_diagnostics

        reporter.items.extend(order_diagnostics(graph, Path(args.charts)))
    diagnostics = reporter.sorted()
    if args.output == "json":
        text = diagnostics_json(diagnostics)
    elif args.output in ("github", "sarif"):
        from eidos.cli import lint_formats

        text = getattr(lint_formats, args.output)(diagnostics)
    else:
        buffer = io.StringIO()
        print_diagnostics(diagnostics, buffer)
        errors = sum(1 for d in diagnostics if d.is_error)
        warnings = len(diagnostics) - errors
        files = len(ruleset.files)
        buffer.write(f"{files} file(s) checked: {errors} error(s), {warnings} warning(s)\n")
        text = buffer.getvalue()
    emit(text, args.out)
    failing = any(d.is_error for d in diagnostics) or (args.strict and diagnostics)
    return EXIT_FINDINGS if failing else EXIT_OK


def _report_unused_facts(graph, ruleset, reporter, *, layered: bool) -> None:
    """W505 for each fact declared in the checked layers that no overlay's condition reads.

    The checked layers are the given directories (the embedded base under them is not
    theirs to fix), or the embedded base when no directory is given.
    """
    from eidos.engine.coverage import Coverage

    layer_of = {f.display: f.layer for f in ruleset.files}
    checked = {i for i, layer in enumerate(ruleset.layers) if layer.embedded != layered}
    for name in Coverage(graph).unused_facts():
        spec = graph.facts[name]
        if layer_of.get(spec.span.file) not in checked:
            continue
        reporter.warning(
            "W505",
            f"fact '{name}' is declared but no overlay's condition reads it: giving it changes no recipe",
            spec.span,
            hint=f"add an overlay whose 'when' tests {name}, or remove the declaration",
        )
