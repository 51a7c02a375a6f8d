"""``eidos import aicr DIR -o RULES_DIR``: migrate AICR recipe data to an eidos rule layer."""

from __future__ import annotations

import sys

from eidos.cli.options import add_output_arguments, finish_output

SOURCES = ("aicr",)
FORMATS = ("text", "json")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "import",
        help="convert another tool's recipe data into eidos rules (aicr)",
        description="Convert NVIDIA AICR v0.11 recipe data (registry.yaml, overlays/*.yaml, components/) into the "
        "rules directory given by --out, for `eidos recipe --rules OUT`. Everything that cannot be expressed "
        "is reported on stderr and in OUT/import-report.json (docs/import.md).",
    )
    p.add_argument("source", choices=SOURCES, help="the format to import: aicr")
    p.add_argument("data", metavar="DIR", help="the AICR recipes data directory (holds registry.yaml and overlays/)")
    add_output_arguments(p, FORMATS, default="text", legacy_destination=True, out_metavar="DIR",
                         format_help="summary format on stdout: text (default) or json (the import report)",
                         out_help="the rules directory to write (required; must be empty unless --force)")
    p.add_argument("--force", action="store_true",
                   help="replace the --out directory if it holds an earlier import (never any other directory)")
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos.cli import console
    from eidos.errors import UsageError
    from eidos.importers import aicr
    from eidos.io import yamlio

    finish_output(args, FORMATS)  # `-o RULES_DIR` (the spelling) is taken as --out, with a hint
    if not args.out or args.out == "-":
        raise UsageError("eidos import needs --out RULES_DIR, the directory to write the rules to")
    args.target = args.out
    report = aicr.run(args.data, args.target, force=args.force)
    for finding in report.findings:
        if finding.kind != "note":
            console.warning(finding.line())
    doc = report.document()
    if args.output == "json":
        sys.stdout.write(yamlio.dump_json(doc))
    else:
        counts = doc["counts"]
        sys.stdout.write(
            f"imported {len(report.overlays)} overlays and {len(report.components)} components into {args.target}\n"
            f"{counts['unsupported']} unsupported, {counts['difference']} difference(s), {counts['note']} note(s): "
            f"see {args.target}/import-report.json\n"
            f"try: eidos recipe --rules {args.target} --service eks --intent training\n"
        )
    return 0
