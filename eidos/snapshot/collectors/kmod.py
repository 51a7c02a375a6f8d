"""``OS.kmod``: loaded kernel modules from ``<root>/proc/modules``.

Each module maps to ``true`` (as in the reference), so ``exists OS.kmod.nvidia_peermem`` and
``OS.kmod.nvidia_peermem == true`` both read naturally. Only the first column matters; Talos
and other minimal systems print ``-`` for the size/refcount columns, which is fine.
"""

from __future__ import annotations

from eidos.snapshot.collectors.base import Collector, HostContext, Unavailable
from eidos.snapshot.model import Subtype


def parse_modules(text: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for line in text.splitlines():
        fields = line.split()
        if fields:
            out[fields[0]] = True
    return out


def collect(ctx: HostContext) -> list[Subtype]:
    path = ctx.path("proc/modules")
    if not path.is_file():
        raise Unavailable(f"{path} does not exist (kernel without module support?)")
    return [Subtype("kmod", parse_modules(ctx.read("proc/modules")))]


COLLECTOR = Collector("kmod", "OS", collect)
