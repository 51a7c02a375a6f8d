"""Writing results without ever leaving a half-written file behind.

Every file eidos produces goes to a temporary sibling first and is renamed into place,
so an interrupted run leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from eidos.errors import EnvironmentFailure


def write_atomic(path: str | Path, data: str | bytes) -> None:
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None


def emit(text: str, destination: str | None) -> None:
    """Send a document to stdout (``None`` or ``-``) or atomically to a file."""
    if destination in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(destination, text)
