"""``eidos verify``: render recipes with the real Helm charts and report what would not deploy.

Exit codes: 0 no finding of error level; 1 error-level findings; 2 bad invocation,
unreadable input or the ``verify`` extra missing; 3 environment failure.
"""

from __future__ import annotations

from pathlib import Path

from eidos.cli import facts
from eidos.cli.options import add_output_arguments
from eidos.errors import UsageError

FORMATS = ("table", "json", "sarif", "junit")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "verify",
        help="render a recipe's components with the real charts and check they would deploy",
        description="Render every Helm component of a recipe (fact flags, --recipe or --snapshot) or of "
        "every recipe the rule base can produce (--all) with Helm v4's engine and the charts under "
        "--charts DIR (NAME/VERSION/), and report dead values, schema errors, install-order hazards "
        "and dangling ConfigMap/Secret references, each with the rule or values file:line that "
        "caused it. Needs the verify extra: pip install 'eidos[verify]'. See docs/verify.md.",
    )
    p.add_argument("--recipe", metavar="FILE", help="a recipe document from 'eidos recipe' (YAML or JSON)")
    p.add_argument("--all", action="store_true", help="every recipe the rule base's enum facts produce")
    p.add_argument("--charts", metavar="DIR", required=True, help="unpacked charts laid out NAME/VERSION/")
    facts.add_fact_arguments(p, argv)
    add_output_arguments(p, FORMATS, default="table", format_help="report format (default table)",
                         out_help="write the report to FILE (atomically) instead of stdout ('-': stdout)")
    p.set_defaults(run=run)


def _facts_given(args) -> bool:
    if getattr(args, "fact", None) or getattr(args, "snapshot", None):
        return True
    return any(k.startswith("fact_") and v is not None for k, v in vars(args).items())


def _recipe_from_file(path: str, graph):
    """A recipe document as an engine recipe. Findings carry ``file:line`` only when the
    document was written with ``eidos recipe --explain`` (its components keep provenance)."""
    import attrs

    from eidos.bundle.model import parse_recipe
    from eidos.cli.cmd_bundle import _load_recipe_file
    from eidos.engine.recipe import Recipe

    document = _load_recipe_file(path)
    parsed = parse_recipe(document, path)
    provenance = {c.get("name"): c.get("provenance") for c in document.get("components") or ()
                  if isinstance(c, dict) and isinstance(c.get("provenance"), dict)}
    components = tuple(attrs.evolve(c, provenance=provenance[c.name]) if c.name in provenance else c
                       for c in parsed.components)
    return Recipe(criteria=parsed.criteria, overlays=parsed.overlays, requirements=(),
                  components=components, deployment_order=tuple(c.name for c in components))


def run(args) -> int:
    from eidos.io.output import emit
    from eidos.verify import charts as chartmod
    from eidos.verify.reports import render
    from eidos.verify.run import verify_all, verify_recipe

    charts = Path(args.charts)
    if not charts.is_dir():
        raise UsageError(f"--charts {args.charts}: not a directory", hint="unpacked charts laid out NAME/VERSION/")
    chosen = sum([bool(args.all), bool(args.recipe), _facts_given(args)])
    if chosen != 1:
        raise UsageError("give exactly one of --all, --recipe FILE, or fact flags / --snapshot")
    chartmod.require_extras()
    if args.all:
        report = verify_all(facts.load_graph_from_args(args), charts)
    elif args.recipe:
        graph = facts.load_graph_from_args(args)
        report = verify_recipe(graph, _recipe_from_file(args.recipe, graph), charts, args.recipe)
    else:
        graph, recipe = facts.resolve_from_args(args, explain=True)
        label = ", ".join(f"{k}={v}" for k, v in sorted(recipe.criteria.items()))
        report = verify_recipe(graph, recipe, charts, label)
    emit(render(report, args.output), args.out)
    return report.exit_code
