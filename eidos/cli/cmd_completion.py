"""``eidos completion bash|zsh|fish``: print a completion script for the shell.

The script is generated from the parser eidos itself uses (see :mod:`eidos.cli.completion`),
with every command's flags and, for fact flags, the enum values of the embedded rule
base. Rule directories given later with ``--rules`` may declare more values; those are
not in the script.
"""

from __future__ import annotations


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for SHELL, generated from eidos's own flags and "
        "the embedded rule base's fact schema. bash: source <(eidos completion bash); "
        "zsh: eidos completion zsh > \"${fpath[1]}/_eidos\"; fish: eidos completion fish | source.",
    )
    p.set_defaults(run=run)
    if argv is None:
        return  # not the chosen command: its flags are never parsed (see eidos.cli.main.build_parser)
    from eidos.cli.completion import SHELLS

    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write the script to FILE (atomically) instead of stdout ('-': stdout)")


def run(args) -> int:
    from eidos import engine
    from eidos.cli.completion import RENDERERS, command_tree
    from eidos.cli.main import build_parser
    from eidos.io.output import emit

    parser = build_parser(None, complete=True)
    tree = command_tree(parser, engine.load_graph([]).facts)
    emit(RENDERERS[args.shell](tree), args.out)
    return 0
