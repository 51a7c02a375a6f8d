"""``OS.release``: the HOST's os-release, not the container's.

The reference read ``/etc/os-release`` inside its agent container, so every snapshot claimed
the image's Ubuntu 24.04 while the node ran 22.04. Here the file is read under the host root
(``/host`` in the agent), ``etc/os-release`` first and ``usr/lib/os-release`` as the fallback
os-release(5) prescribes, with symlinks resolved inside the host root.

Values are parsed with shell quoting rules (os-release(5) says the format is a restricted
shell assignment): ``NAME="Ubuntu 'LTS'"`` gives ``Ubuntu 'LTS'`` and escapes are honoured.
Every value is a string: ``VERSION_ID: "24.04"`` must never become the number 24.04.
"""

from __future__ import annotations

import re
import shlex

from eidos.snapshot.collectors.base import (
    Collector,
    HostContext,
    Unavailable,
)
from eidos.snapshot.model import Subtype

CANDIDATES = ("etc/os-release", "usr/lib/os-release")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines -> dict; comments, blank and malformed lines are skipped."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not _KEY.match(key):
            continue
        out[key] = _unquote(value.strip())
    return out


def _unquote(value: str) -> str:
    if not value:
        return ""
    try:
        parts = shlex.split(value, comments=False, posix=True)
    except ValueError:  # unbalanced quotes: keep the text minus the stray quote characters
        return value.strip("\"'")
    return " ".join(parts)


def collect(ctx: HostContext) -> list[Subtype]:
    for rel in CANDIDATES:
        path = ctx.path(rel)
        if path.is_file():
            return [Subtype("release", parse_os_release(ctx.read(rel)))]
    raise Unavailable(f"no os-release under {ctx.root} (looked for {', '.join(CANDIDATES)})")


COLLECTOR = Collector("os-release", "OS", collect)
