"""Entry point: dispatch to a subcommand and turn every failure into the documented exit code.

Exit codes: 0 success; 1 findings (lint errors, failed checks, drift); 2 bad invocation or
unreadable input (including rules that do not compile); 3 environment failure. No path
ends in a traceback: unexpected exceptions are reported as internal errors (set
``EIDOS_DEBUG=1`` to see the traceback when filing a bug). Everything said on stderr goes
through :mod:`eidos.cli.console`.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import warnings

from eidos.cli import console
from eidos.cli.parser import Parser
from eidos.cli.version import VersionAction
from eidos.errors import EXIT_ENVIRONMENT, EXIT_USAGE, EidosError, RulesError

# subcommand name -> module under eidos.cli; each module has register(subparsers, argv) and run(args)
COMMANDS = {
    "recipe": "eidos.cli.cmd_recipe",
    "lint": "eidos.cli.cmd_lint",
    "snapshot": "eidos.cli.cmd_snapshot",
    "validate": "eidos.cli.cmd_validate",
    "bundle": "eidos.cli.cmd_bundle",
    "verify": "eidos.cli.cmd_verify",
    "matrix": "eidos.cli.cmd_matrix",
    "completion": "eidos.cli.cmd_completion",
    "fabric": "eidos.cli.cmd_fabric",
    "diff": "eidos.cli.cmd_diff",
    "import": "eidos.cli.cmd_import",
    "test": "eidos.cli.cmd_test",
    "fmt": "eidos.cli.cmd_fmt",
    "rules": "eidos.cli.cmd_rules",
    "drift": "eidos.cli.cmd_drift",
    "new": "eidos.cli.cmd_new",
}


def build_parser(argv: list[str] | None, *, complete: bool = False) -> Parser:
    """The argparse tree for ``argv``.

    Only the command named in ``argv`` does expensive set-up (loading the rule base to
    derive fact flags); when a known command is chosen the others are not registered at
    all, nor their modules imported. Without a chosen command (``eidos --help``) every
    module registers with ``argv=None`` and may add just its name and help, since argparse
    never parses a command that was not chosen. With ``complete``, every command registers
    everything, as the completion scripts need the whole tree.
    """
    parser = Parser(prog="eidos", description="Executable knowledge for GPU Kubernetes clusters.")
    parser.add_argument("--version", action=VersionAction,
                        help="print the eidos, Python and platform versions and the rule base digest")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    chosen = next((a for a in argv or () if not a.startswith("-")), None)
    for name, module_name in COMMANDS.items():
        if chosen in COMMANDS and name != chosen and not complete:
            # argparse parses only the chosen command, and the top level's help lists only
            # commands registered with a help text: the others are not even registered (an
            # ArgumentParser each was a tenth of a warm 'eidos recipe', issue 17)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue  # command not shipped in this build
            raise
        module.register(sub, [] if complete else (argv if name == chosen else None))
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library code warns through ``warnings`` (it never prints); the CLI reports them here."""
    console.warning(str(message))


def main(argv: list[str] | None = None) -> int:
    """Run one command; ``argv`` None means this process is that command (the entry points)."""
    process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.showwarning = _show_warning
    if process:
        # Start-up (imports, the cached rule graph) allocates objects that live until exit
        # and no garbage cycles: collecting meanwhile walks them again and again, and the
        # collection at interpreter shutdown walks them all once more (together a tenth of
        # a warm 'eidos recipe', issue 17). So: no collection while the parser is built
        # (the chosen command loads the rule base there), then what was built is frozen
        # (later collections skip it) and the command runs with collection on as usual.
        gc.disable()
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if process:
            gc.freeze()
            gc.enable()
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.run(args) or 0)
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except RulesError as err:
        from eidos.cli.render import print_diagnostics

        print_diagnostics(err.diagnostics, sys.stderr)
        console.error(err.message)
        return err.exit_code
    except EidosError as err:
        console.error(err.message, hint=err.hint)
        return err.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces stdout for good
        except OSError:
            pass
        return 0
    except Exception as err:  # pragma: no cover - the last line of defence
        if os.environ.get("EIDOS_DEBUG"):
            raise
        console.error(f"internal error: {type(err).__name__}: {err}",
                      hint="rerun with EIDOS_DEBUG=1 for a traceback and report it")
        return EXIT_ENVIRONMENT
    finally:
        if process:
            gc.freeze()  # the process exits next: spare the shutdown collection the walk
            gc.enable()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
