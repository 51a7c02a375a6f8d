"""Reading an input document (a file path, or ``-`` for stdin) with errors users can act on.

Snapshots, recipe documents and other inputs all come through here, so every command
refuses directories, oversized files and non-UTF-8 bytes the same way, naming the input.
Only regular files are read (and ``-``, stdin): a FIFO, socket or device given by name is
refused before a single byte is read, because reading one can block forever (a FIFO with
no writer) or never end (``/dev/zero``). The file is opened non-blocking and checked with
``fstat`` on the open descriptor, so swapping the path between check and read changes
nothing.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from eidos.errors import InputError

MAX_INPUT_BYTES = 64 * 1024 * 1024


def decode(data: bytes, name: str, limit: int = MAX_INPUT_BYTES, *, lenient: bool = False) -> str:
    """UTF-8 text of ``data``; ``lenient`` replaces undecodable bytes (logs of other programs,
    where a stray byte must not hide the rest) instead of refusing them (documents)."""
    if len(data) > limit:
        raise InputError(f"{name}: larger than {limit // (1024 * 1024)} MiB")
    if lenient:
        return data.decode("utf-8-sig", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{name}: not UTF-8 text (byte {err.start})") from None


@contextmanager
def _os_errors(source: str, what: str, verb: str) -> Iterator[None]:
    """One translation of the OS's refusals into messages that name the input."""
    try:
        yield
    except ValueError:  # an embedded NUL byte
        raise InputError(f"{source!r}: not a valid file name") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, expected {what}") from None
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except OSError as err:
        raise InputError(f"{source}: cannot {verb}: {err.strerror or err}") from None


def read_input(source: str, what: str, limit: int = MAX_INPUT_BYTES, *,
               lenient: bool = False) -> tuple[str, str]:
    """(text, display name) of a file or of stdin (``-``); ``what`` names the expected content."""
    if source == "-":
        return decode(sys.stdin.buffer.read(limit + 1), "<stdin>", limit, lenient=lenient), "<stdin>"
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    with _os_errors(source, what, "open"):
        # stat first: opening some devices has side effects (a watchdog starts counting)
        _check_regular(os.stat(source).st_mode, source, what)
        fd = os.open(source, flags)
    try:
        with _os_errors(source, what, "read"):
            _check_regular(os.fstat(fd).st_mode, source, what)  # the file opened, not the name
            data = _read_fd(fd, limit + 1)
    finally:
        os.close(fd)
    return decode(data, source, limit, lenient=lenient), source


def _check_regular(mode: int, source: str, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise InputError(f"{source}: is a directory, expected {what}")
    if not stat.S_ISREG(mode):
        raise InputError(f"{source}: not a regular file ({_kind(mode)}), expected {what}",
                         hint="pass - to read from stdin")


def _read_fd(fd: int, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"
