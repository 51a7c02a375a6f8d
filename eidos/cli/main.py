"""Entry point: dispatch to a subcommand and turn every failure into the documented exit code.

Exit codes: 0 success; 1 findings (lint errors, failed checks, drift); 2 bad invocation or
unreadable input (including rules that do not compile); 3 environment failure. No path
ends in a traceback: unexpected exceptions are reported as internal errors (set
``EIDOS_DEBUG=1`` to see the traceback when filing a bug).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from eidos import __version__
from eidos.errors import EXIT_ENVIRONMENT, EXIT_USAGE, EidosError, RulesError, UsageError

# subcommand name -> module under eidos.cli; each module has register(subparsers, argv) and run(args)
COMMANDS = {
    "recipe": "eidos.cli.cmd_recipe",
    "lint": "eidos.cli.cmd_lint",
    "snapshot": "eidos.cli.cmd_snapshot",
    "validate": "eidos.cli.cmd_validate",
    "bundle": "eidos.cli.cmd_bundle",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors share one exit path."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise UsageError(f"{self.prog.removeprefix('eidos ')}: {message}" if self.prog != "eidos" else message,
                         hint=f"see '{self.prog} --help'")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="eidos", description="Executable knowledge for GPU Kubernetes clusters.")
    parser.add_argument("--version", action="version", version=f"eidos {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue  # command not shipped in this build
            raise
        # Only the chosen command may do expensive set-up (e.g. loading rules for fact flags).
        module.register(sub, argv if name == chosen else None)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library code warns through ``warnings`` (it never prints); the CLI reports them here."""
    print(f"eidos: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.showwarning = _show_warning
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.run(args) or 0)
    except RulesError as err:
        from eidos.cli.render import print_diagnostics

        print_diagnostics(err.diagnostics, sys.stderr)
        print(f"eidos: {err.message}", file=sys.stderr)
        return err.exit_code
    except EidosError as err:
        print(f"eidos: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"  hint: {err.hint}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("eidos: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as err:  # pragma: no cover - the last line of defence
        if os.environ.get("EIDOS_DEBUG"):
            raise
        print(f"eidos: internal error: {type(err).__name__}: {err}", file=sys.stderr)
        print("  hint: rerun with EIDOS_DEBUG=1 for a traceback and report it", file=sys.stderr)
        return EXIT_ENVIRONMENT


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
