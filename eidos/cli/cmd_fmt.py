"""``eidos fmt``: rewrite ``.eidos`` files in the one canonical layout (:mod:`eidos.lang.format`).

Like ``black`` and ``cue fmt``: paths are files or directories (searched recursively for
``*.eidos``; hidden directories skipped), the current directory when none is given, ``-``
for stdin to stdout. Every file is read and checked before any is written, so a syntax
error anywhere (exit 2, reported like ``eidos lint``) leaves every file untouched.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

from eidos.cli.options import add_output_arguments
from eidos.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, InputError


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "fmt",
        help="rewrite .eidos files in the canonical layout",
        description="Rewrite .eidos rule files in the one canonical layout (indentation, spacing, blank "
        "lines; line breaks and comments are kept). Directories are searched recursively; with no path, "
        "the current directory; '-' formats stdin to stdout. Only whitespace ever changes: the tokens "
        "and comments are checked to read back the same. Files that do not parse are reported like "
        "'eidos lint' reports them (exit 2) and nothing is written.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help=".eidos files or directories (default: the current directory; '-': stdin)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; list the files that would change and exit 1 if there are any")
    p.add_argument("--diff", action="store_true",
                   help="write nothing; print a unified diff of what would change")
    add_output_arguments(p, ("text", "json"), default="text",
                         format_help="report format: text (the files, diffs) or json (default text)",
                         out_help="write the report (or, for '-', the formatted text) to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos.cli import console
    from eidos.cli.render import print_diagnostics
    from eidos.io.output import emit, write_atomic
    from eidos.io.yamlio import dump_json
    from eidos.lang.format import check_syntax, format_text

    paths = args.paths or ["."]
    if "-" in paths and len(paths) > 1:
        raise InputError("'-' (stdin) cannot be combined with other paths")
    files = _files(paths)
    sources = [(_shown(f), _read(f)) for f in files]
    diagnostics = [d for shown, text in sources for d in check_syntax(text, shown)]
    if diagnostics:
        print_diagnostics(diagnostics, sys.stderr)
        bad = len({d.span.file for d in diagnostics})
        console.error(f"{bad} file(s) do not parse: {len(diagnostics)} error(s); nothing was written")
        return EXIT_USAGE
    writing = not (args.check or args.diff)
    report = []  # (shown, changed, diff)
    for (shown, text), path in zip(sources, files):
        formatted = format_text(text, shown)
        changed = formatted != text
        diff = _diff(text, formatted, shown) if changed and args.diff else ""
        report.append((shown, changed, diff))
        if path == "-" and writing:
            emit(formatted, args.out)
        elif changed and writing:
            write_atomic(path, formatted)
    count = sum(1 for _, changed, _ in report if changed)
    if args.output == "json":
        if not (files == ["-"] and writing):
            emit(dump_json({
                "files": [{"path": shown, "changed": changed, **({"diff": diff} if args.diff else {})}
                          for shown, changed, diff in report],
                "changed": count,
                "unchanged": len(report) - count,
                "written": writing,
            }), args.out)
    elif not writing:
        emit("".join(diff if args.diff else f"would reformat {shown}\n"
                     for shown, changed, diff in report if changed), args.out)
    if files != ["-"]:
        verb = "reformatted" if writing else "would be reformatted"
        console.notice(f"{count} file(s) {verb}, {len(files) - count} unchanged")
    return EXIT_FINDINGS if args.check and count else EXIT_OK


def _diff(text: str, formatted: str, shown: str) -> str:
    """A unified diff that ``patch`` applies (a last line without newline is marked as such)."""
    lines = difflib.unified_diff(text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                                 f"{shown} (original)", f"{shown} (formatted)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _shown(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _read(shown: str) -> str:
    from eidos.engine.sources import MAX_FILE_BYTES
    from eidos.io.inputs import read_input

    text, _ = read_input(shown, "an .eidos rule file", limit=MAX_FILE_BYTES)
    return text


def _files(paths: list[str]) -> list[str]:
    """The files to format, in order, each once: named files as given, directories searched."""
    out: list[str] = []
    for given in paths:
        if given == "-":
            out.append("-")
            continue
        path = Path(given)
        if not path.exists():
            raise InputError(f"{given}: no such file or directory")
        if not path.is_dir():
            out.append(given)
            continue
        found = _walk(path)
        if not found:
            raise InputError(f"{given}: no .eidos files in this directory")
        out.extend(found)
    seen: set[str] = set()
    return [f for f in out if not (os.path.normpath(f) in seen or seen.add(os.path.normpath(f)))]


def _walk(root: Path) -> list[str]:
    """``*.eidos`` regular files below ``root``, sorted; hidden directories and symlinks skipped."""
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(names):
            full = os.path.join(directory, name)
            if name.endswith(".eidos") and not os.path.islink(full) and os.path.isfile(full):
                found.append(full)
    return found
