"""Reading an input document (a file path, or ``-`` for stdin) with errors users can act on.

Snapshots, recipe documents and other inputs all come through here, so every command
refuses directories, oversized files and non-UTF-8 bytes the same way, naming the input.
"""

from __future__ import annotations

import sys
from pathlib import Path

from eidos.errors import InputError

MAX_INPUT_BYTES = 64 * 1024 * 1024


def decode(data: bytes, name: str, limit: int = MAX_INPUT_BYTES) -> str:
    if len(data) > limit:
        raise InputError(f"{name}: larger than {limit // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{name}: not UTF-8 text (byte {err.start})") from None


def read_input(source: str, what: str, limit: int = MAX_INPUT_BYTES) -> tuple[str, str]:
    """(text, display name) of a file or of stdin (``-``); ``what`` names the expected content."""
    if source == "-":
        return decode(sys.stdin.buffer.read(limit + 1), "<stdin>", limit), "<stdin>"
    path = Path(source)
    try:
        if path.is_dir():
            raise InputError(f"{source}: is a directory, expected {what}")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except OSError as err:
        raise InputError(f"{source}: cannot read: {err.strerror or err}") from None
    return decode(data, source, limit), source
