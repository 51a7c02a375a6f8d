"""The one reporter: everything eidos says on stderr that is not the requested output.

Errors, warnings and notices share one format (``eidos: …``, ``eidos: warning: …``, an
indented ``hint:``) so scripts and people can tell them apart from documents on stdout,
and so there is one place that decides it. Library code never prints: it raises
:class:`eidos.errors.EidosError` or hands its warnings back (or takes a ``warn``
callable, for which :func:`warning` is the CLI's implementation).

Whether output is *interactive* (progress lines, one-line summaries, colour) is decided
here too, from the stream and the ``CI`` variable, read in one way: :func:`is_ci`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

PREFIX = "eidos"

# Values of CI that mean "not CI" (some systems export CI=false on developer machines).
_CI_OFF = frozenset({"", "0", "false", "no", "off"})


def _out(stream: TextIO | None) -> TextIO:
    # Resolved at call time, so a replaced sys.stderr (tests, redirection) is honoured.
    return stream if stream is not None else sys.stderr


def _write(stream: TextIO | None, lines: Iterable[str]) -> None:
    out = _out(stream)
    try:
        for line in lines:
            out.write(line + "\n")
        out.flush()
    except (BrokenPipeError, ValueError):
        pass  # stderr closed or gone: nothing better to do with a message


def error(message: str, *, hint: str | None = None, stream: TextIO | None = None) -> None:
    """``eidos: MESSAGE`` and, when given, ``  hint: HINT``."""
    lines = [f"{PREFIX}: {message}"]
    if hint:
        lines.append(f"  hint: {hint}")
    _write(stream, lines)


def warning(
    message: str,
    *,
    details: Iterable[str] = (),
    hint: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """``eidos: warning: MESSAGE``, then each detail indented, then an optional hint.

    Library code that needs to warn takes a ``warn: Callable[[str], None]`` argument;
    the CLI passes this function.
    """
    lines = [f"{PREFIX}: warning: {message}"]
    lines.extend(f"  {d}" for d in details)
    if hint:
        lines.append(f"  hint: {hint}")
    _write(stream, lines)


def notice(message: str, *, stream: TextIO | None = None) -> None:
    """``eidos: MESSAGE`` for information (what was written where), never for problems."""
    _write(stream, [f"{PREFIX}: {message}"])


def is_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when running under CI: ``CI`` is set to anything but empty/0/false/no/off."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in _CI_OFF


def interactive(stream: TextIO | None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` is a person's terminal: a TTY and not CI.

    Progress lines, summaries and colour are shown only then; redirected output and CI
    logs get the plain, deterministic form.
    """
    if stream is None:
        return False
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        tty = False
    return tty and not is_ci(environ)


def removals(results, namespace: str) -> None:
    """One notice per object a cleanup found (``kind``, ``name``, ``error``): deleted, or
    why not. ``snapshot --cleanup`` and ``drift uninstall`` report the same way."""
    for r in results:
        what = f"{r.kind} {namespace}/{r.name}" if r.name else f"{r.kind} in {namespace}"
        notice(f"{'deleted' if r.error is None else 'could not delete'} {what}" + (f": {r.error}" if r.error else ""))
