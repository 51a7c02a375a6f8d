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
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos.cli import console
    from eidos.cli.render import print_diagnostics
    from eidos.lang.format import check_syntax, format_text
    from eidos.io.output import write_atomic

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
    changed = []
    for (shown, text), path in zip(sources, files):
        formatted = format_text(text, shown)
        if path == "-" and writing:
            sys.stdout.write(formatted)
        if formatted == text:
            continue
        changed.append(shown)
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                f"{shown} (original)", f"{shown} (formatted)"))
        elif args.check:
            print(f"would reformat {shown}")
        elif path != "-":
            write_atomic(path, formatted)
    sys.stdout.flush()
    if files != ["-"]:
        verb = "reformatted" if writing else "would be reformatted"
        console.notice(f"{len(changed)} file(s) {verb}, {len(files) - len(changed)} unchanged")
    return EXIT_FINDINGS if args.check and changed else EXIT_OK


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
