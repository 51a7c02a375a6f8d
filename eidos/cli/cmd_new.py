"""``eidos new overlay|check``: write a new, lint-clean rule file.

Without ``--name`` it asks (facts and values from the fact schema, components from the
catalog); with ``--name`` it builds from the flags alone. Exit codes: 0 written; 2 a bad
flag value or answer (with a did-you-mean), an existing ``--out`` without ``--force``, or
rules that do not compile.
"""

from __future__ import annotations

from eidos.cli import facts as fact_flags
from eidos.cli.options import add_output_arguments

KINDS = ("overlay", "check")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "new",
        help="write a new overlay or check (new overlay|check), interactively or from flags",
        description="Write a new .eidos overlay or check. Without --name, eidos asks for each part "
        "(offering the fact schema's facts and values and the catalog's components); with --name it "
        "builds from the flags. Every value is checked against the rule base (embedded plus --rules) "
        "and the file is compiled over it before it is written, so it is lint-clean. See docs/authoring.md.",
    )
    p.add_argument("kind", choices=KINDS, metavar="KIND", help="overlay | check")
    fact_flags.add_rules_arguments(p)
    p.add_argument("--name", help="the overlay's or check's name (given: no questions are asked)")
    p.add_argument("--when", action="append", default=[], metavar="FACT=VALUE",
                   help="a fact test of the condition (repeatable, and-ed); 'always' for every cluster")
    p.add_argument("--extends", metavar="OVERLAY", help="the parent overlay (overlays only)")
    p.add_argument("--component", action="append", default=[], metavar="NAME[@VERSION]",
                   help="include a catalog component, optionally pinning its version (overlays only; repeatable)")
    p.add_argument("--require", action="append", default=[], metavar="NAME:EXPR",
                   help="a named requirement over snapshot data (repeatable)")
    p.add_argument("--severity", action="append", default=[], metavar="LEVEL",
                   help="error | warning | info: once for every --require, or once per --require in order")
    p.add_argument("--remedy", action="append", default=[], metavar="TEXT",
                   help="what to change when a requirement fails: once for all, or once per --require")
    p.add_argument("--doc", help="why the rule exists (one sentence)")
    p.add_argument("--category", help="the check's category (checks only), e.g. gpu, kubernetes")
    add_output_arguments(p, ("eidos",), default="eidos", format_help="output format: eidos source (the only one)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(run=run)


def run(args) -> int:
    import os

    from eidos.authoring import new
    from eidos.authoring.layered import relative_name
    from eidos.authoring.prompt import Prompter
    from eidos.errors import UsageError
    from eidos.io.output import emit

    if args.out not in (None, "-") and os.path.lexists(args.out) and not args.force:
        raise UsageError(f"{args.out} exists: refusing to overwrite it", hint="pass --force to replace it")
    graph = fact_flags.load_graph_from_args(args)
    if args.name is not None:
        draft = new.draft_from_flags(graph, args.kind, args)
    else:
        given = [f for f in ("when", "extends", "component", "require", "severity", "remedy", "doc", "category")
                 if getattr(args, f)]
        if given:
            raise UsageError(f"--{given[0]} without --name: pass --name to build from flags, "
                             "or no flags to be asked")
        draft = new.draft_from_prompts(graph, args.kind, Prompter(), args.out if args.force else None)
    display = args.out if args.out not in (None, "-") else f"{draft.name}.eidos"
    rules = list(args.rules or [])
    text = new.verified(graph, draft, rules, display,
                        relative_name(args.out, rules, f"{draft.name}.eidos"))
    emit(text, args.out)
    return 0
