"""``OS.cmdline``: kernel boot parameters from ``<root>/proc/cmdline``.

The reference called this subtype ``grub``; it is the running kernel's command line, not GRUB
configuration, so it is named for what it is. ``param=value`` maps to the value (a string),
a bare flag such as ``nokaslr`` maps to ``""``; double-quoted values may contain spaces. A
parameter given twice keeps its last value (what most kernel parsers do); the untouched line
is in ``OS.kernel.cmdline``. Words after a bare ``--`` are arguments for init and are not
kernel parameters, so parsing stops there. ``root=`` is kept: filtering it out, as the reference did, hid a
real boot fact.
"""

from __future__ import annotations

from eidos.snapshot.collectors.base import Collector, HostContext, Unavailable
from eidos.snapshot.model import Subtype


def split_cmdline(text: str) -> list[str]:
    """Split on whitespace outside double quotes, dropping the quotes (kernel rules)."""
    words: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            started = True
        elif ch.isspace() and not quoted:
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(ch)
            started = True
    if started:
        words.append("".join(current))
    return words


def parse_cmdline(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in split_cmdline(text.strip()):
        if word == "--":  # everything after a bare -- belongs to init, not the kernel
            break
        key, _, value = word.partition("=")
        if key:
            out[key] = value
    return out


def collect(ctx: HostContext) -> list[Subtype]:
    path = ctx.path("proc/cmdline")
    if not path.is_file():
        raise Unavailable(f"{path} does not exist")
    return [Subtype("cmdline", parse_cmdline(ctx.read("proc/cmdline")))]


COLLECTOR = Collector("cmdline", "OS", collect)
