"""``eidos test``: run the rule tests written next to the rules (docs/testing-rules.md).

Exit codes: 0 every case passed; 1 a case failed; 2 bad invocation, a test file that is
wrong (with ``file:line``), or rules that do not compile.
"""

from __future__ import annotations

import argparse

from eidos.cli.options import add_output_arguments
from eidos.errors import EXIT_FINDINGS, EXIT_OK

FORMATS = ("text", "junit")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "test",
        help="run rule unit tests (*_test.yaml) written next to the rules",
        description="Layer each DIR over the embedded rule base (as --rules does), then run every case "
        "of every *_test.yaml file below the directories: a query (facts and/or a snapshot) and the "
        "expected overlays, components, values, requirements, inferred facts and check verdicts. "
        "Without DIR, run the embedded rule base's own tests. Exit 1 when a case fails.",
    )
    p.add_argument("paths", nargs="*", metavar="DIR",
                   help="rule directories with their tests (default: the embedded base's tests)")
    add_output_arguments(p, FORMATS, default="text", format_help="report format (default text)",
                         out_help="write the report to FILE (atomically) instead of stdout ('-': stdout)")
    p.add_argument("--run", "-k", dest="patterns", action="append", default=[], metavar="PATTERN",
                   help="run only the cases whose id (FILE::NAME) matches this regular expression (repeatable)")
    p.add_argument("--coverage", action="store_true",
                   help="list every overlay and check no case exercises (the summary names the first few)")
    p.add_argument("--no-cache", action="store_true", help="compile the rules without the compiled-graph cache")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from eidos.io.output import emit
    from eidos.ruletest import report
    from eidos.ruletest.runner import run as run_tests

    result = run_tests(args.paths, args.patterns, use_cache=not args.no_cache)
    if args.output == "junit":
        text = report.junit(result)
    else:
        text = report.text(result, full_coverage=args.coverage)
    emit(text, args.out)
    if args.output == "junit" and args.out not in (None, "-"):
        from eidos.cli import console

        console.notice(report.summary(result))
    return EXIT_FINDINGS if result.failed else EXIT_OK
