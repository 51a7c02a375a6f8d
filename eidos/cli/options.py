"""The output convention shared by every command: ``-o/--output`` is the FORMAT, ``--out`` the DESTINATION.

``-`` as a destination (or no ``--out``) means stdout. ``snapshot`` and ``bundle`` used
``-o`` for the destination until 0.1; for one release they still accept it: a value given
to ``-o`` that is not one of the command's formats is taken as the destination, with a
deprecation warning on stderr. ``snapshot --format`` (the old format flag) likewise keeps
working with a warning.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence

from eidos.cli import console
from eidos.cli.parser import looks_like_path
from eidos.errors import UsageError

_LEGACY_DEST = "_legacy_out"
_LEGACY_FORMAT = "_legacy_format"


def add_output_arguments(
    parser,
    formats: Sequence[str],
    *,
    default: str | None,
    format_help: str,
    out_metavar: str = "FILE",
    out_help: str = "write to FILE (atomically) instead of stdout ('-': stdout)",
    legacy_destination: bool = False,
) -> None:
    """Add ``-o/--output FORMAT`` and ``--out DEST`` to ``parser`` (or an argument group).

    With ``legacy_destination``, ``-o`` also accepts a destination (deprecated); call
    :func:`finish_output` after parsing to apply it.
    """
    if legacy_destination:
        parser.add_argument(
            "-o",
            "--output",
            action=_FormatOrLegacyDestination,
            formats=tuple(formats),
            default=default,
            metavar="{" + ",".join(formats) + "}",
            help=format_help,
        )
    else:
        parser.add_argument(
            "-o", "--output", choices=tuple(formats), default=default, help=format_help
        )
    parser.add_argument("--out", metavar=out_metavar, default=None, help=out_help)


def add_legacy_format_argument(parser, formats: Sequence[str]) -> None:
    """``--format FORMAT``: the old spelling of ``-o FORMAT`` (deprecated, hidden from help)."""
    parser.add_argument(
        "--format", dest=_LEGACY_FORMAT, choices=tuple(formats), default=None, help=argparse.SUPPRESS
    )


class _FormatOrLegacyDestination(argparse.Action):
    """``-o VALUE``: a format when VALUE is one, else (deprecated) a destination."""

    def __init__(self, option_strings, dest, formats: tuple[str, ...] = (), **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.formats = formats  # read by the shell-completion generator too

    def __call__(self, parser, namespace, value, option_string=None):
        if value in self.formats:
            setattr(namespace, self.dest, value)
        else:
            setattr(namespace, _LEGACY_DEST, (option_string or "-o", value))


def finish_output(args: argparse.Namespace, formats: Sequence[str]) -> None:
    """Apply the deprecated spellings to ``args.output``/``args.out``, warning once for each.

    Refuses (exit 2) a deprecated spelling that contradicts the new one, e.g.
    ``-o snap.yaml --out other.yaml`` or ``--format yaml -o json``.
    """
    legacy = getattr(args, _LEGACY_DEST, None)
    if legacy is not None:
        flag, value = legacy
        if args.out is not None:
            raise UsageError(
                f"{flag} {value}: not a format ({', '.join(formats)}) and --out is given",
                hint=f"{flag} chooses the format; --out {shlex.quote(args.out)} the destination",
            )
        import difflib  # only on this error path

        close = None if looks_like_path(value) else difflib.get_close_matches(value, formats, n=1)
        console.warning(
            f"{flag} as a destination is deprecated; use --out {shlex.quote(value)}",
            hint=f"if you meant the format, use {flag} {close[0]}" if close else None,
        )
        args.out = value
    old_format = getattr(args, _LEGACY_FORMAT, None)
    if old_format is not None:
        if args.output is not None and args.output != old_format:
            raise UsageError(f"--format {old_format} contradicts -o {args.output}",
                             hint="give the format once, with -o")
        console.warning(f"--format is deprecated; use -o {old_format}")
        args.output = old_format
