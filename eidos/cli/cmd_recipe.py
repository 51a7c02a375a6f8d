"""``eidos recipe``: resolve facts into a recipe document."""

from __future__ import annotations

from eidos.cli import facts as fact_flags
from eidos.cli.options import add_output_arguments


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "recipe",
        help="resolve a cluster's facts into a recipe",
        description="Resolve facts (flags) against the rule base into a recipe: applied overlays, "
        "requirements, components with versions and values, and the deployment order.",
    )
    fact_flags.add_fact_arguments(p, argv)
    add_output_arguments(p, ("yaml", "json"), default="yaml", format_help="document format (default yaml)")
    p.add_argument("--explain", action="store_true",
                   help="say why each overlay did or did not apply and which line set each value")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 (and write nothing) when no applied overlay is specific to a given "
                   "fact value (the recipe falls back to a more generic one; see docs/matrix.md)")
    p.add_argument("--emit-overlay", metavar="NAME",
                   help="with --snapshot: write an .eidos overlay NAME that pins what the snapshot shows "
                   "(component versions, driver, kernel, OS, Kubernetes) on top of this recipe, instead of the recipe")
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos import engine
    from eidos.io import yamlio
    from eidos.io.output import emit

    from eidos.cli.fallback import check_specific

    if args.emit_overlay is not None:
        from eidos.authoring.emit import run_from_args

        return run_from_args(args)
    graph, recipe = fact_flags.resolve_from_args(args, explain=args.explain)
    check_specific(graph, recipe, strict=args.strict)
    doc = engine.recipe_document(recipe, explain=args.explain)
    text = yamlio.dump_json(doc) if args.output == "json" else yamlio.dump(doc)
    emit(text, args.out)
    return 0
