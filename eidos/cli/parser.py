"""argparse, made to follow the CLI contract: usage errors raise, and say what was meant.

Every parse failure becomes a :class:`~eidos.errors.UsageError` (exit 2, through the one
reporter) instead of argparse printing and exiting. Unknown subcommands, unknown flags
and values outside a flag's choices get a did-you-mean hint computed from the parser that
was actually built — so the fact flags derived from the rule schema are suggested too.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from eidos.errors import UsageError


def help_width() -> int:
    """What argparse's formatter uses: ``shutil.get_terminal_size().columns - 2``.

    The same steps as shutil: ``$COLUMNS`` when it is a positive integer, else the size
    of the terminal on the original stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns - 2


# The format flag; a value that looks like a path given to it was probably meant for --out.
_FORMAT_FLAGS = frozenset({"-o", "--output"})


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError with hints instead of exiting."""

    def __init__(self, *args, **kwargs):
        kwargs["exit_on_error"] = False  # ArgumentError reaches parse_known_args below
        super().__init__(*args, **kwargs)

    def _get_formatter(self):
        # argparse builds a formatter for every add_argument (to check the metavar) and
        # the default one imports shutil (with bz2, lzma, fnmatch) for the terminal width:
        # a few per cent of a warm 'eidos recipe' (issue 17). Same width, without shutil.
        return self.formatter_class(prog=self.prog, width=help_width())

    # -- errors -----------------------------------------------------------------------

    def error(self, message: str, hint: str | None = None):
        name = self.prog.removeprefix("eidos ")
        text = message if self.prog == "eidos" else f"{name}: {message}"
        raise UsageError(text, hint=hint or f"see '{self.prog} --help'")

    def parse_known_args(self, args=None, namespace=None):
        try:
            return super().parse_known_args(args, namespace)
        except argparse.ArgumentError as err:
            self.error(str(err), getattr(err, "hint", None))

    def _check_value(self, action, value):
        # Same check and message as argparse, plus the closest choice as a hint.
        if action.choices is None or value in action.choices:
            return
        choices = [str(c) for c in action.choices]
        shown = ", ".join(repr(c) for c in choices)
        err = argparse.ArgumentError(action, f"invalid choice: {value!r} (choose from {shown})")
        hint = None
        if _FORMAT_FLAGS.intersection(action.option_strings or ()) and looks_like_path(str(value)):
            hint = f"-o chooses the format; to write to {value}, use --out {shlex.quote(str(value))}"
        if not hint:
            # attrs and friends: imported only on this error path
            from eidos.lang.diagnostics import did_you_mean

            hint = did_you_mean(str(value), choices)
        err.hint = hint  # type: ignore[attr-defined]
        raise err

    # -- unknown arguments -------------------------------------------------------------

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self._unrecognized(parsed, extras)
        return parsed

    def _unrecognized(self, parsed: argparse.Namespace, extras: list[str]):
        target = self._command_parser(parsed) or self
        flags = sorted(target._option_string_actions)
        hints = []
        for arg in extras:
            if not arg.startswith("-") or arg == "-":
                continue
            name = arg.split("=", 1)[0]
            from eidos.lang.diagnostics import did_you_mean

            suggestion = did_you_mean(name, flags)
            if suggestion:
                hints.append(suggestion if len(extras) == 1 or _only_flag(extras) else f"{name}: {suggestion}")
        message = f"unrecognized arguments: {' '.join(extras)}"
        hint = "; ".join(hints) or f"see '{target.prog} --help'"
        if target is not self:
            target.error(message, hint)
        self.error(message, hint)

    def _command_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser | None:
        """The subcommand's parser, when one was chosen (its flags are the candidates)."""
        command = getattr(parsed, "command", None)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and command in action.choices:
                return action.choices[command]
        return None


def looks_like_path(value: str) -> bool:
    """Whether a value given to a format flag was more likely meant as a destination."""
    return value == "-" or "/" in value or "." in value or value.startswith("cm:")


def _only_flag(extras: list[str]) -> bool:
    return sum(1 for a in extras if a.startswith("-") and a != "-") == 1
