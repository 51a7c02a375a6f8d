"""argparse ``type=`` functions shared by the commands: bad values fail at parse time.

A value that cannot be used is refused while parsing, with the flag named, exit 2 — not
later inside a worker thread (``--collector-timeout nan`` used to raise one traceback per
collector) and not silently ignored (``--kubeconfig`` to a missing file).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

# Deadlines above a day are typing mistakes, and values near threading.TIMEOUT_MAX
# overflow the C timers.
MAX_SECONDS = 86_400.0


def seconds(text: str) -> float:
    """A positive, finite number of seconds, at most :data:`MAX_SECONDS`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_SECONDS:.0f} seconds (one day), got {text!r}"
        )
    return value


def kubeconfig_file(text: str) -> str:
    """An existing kubeconfig file (``~`` expanded); the path is returned as given."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory, not a kubeconfig file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: kubeconfig file not found")
    return text
