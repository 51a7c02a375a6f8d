"""``OS.kernel`` and ``OS.sysctl``: the running kernel and every readable sysctl.

``/proc`` is global to the kernel, so these values are the host's even from a container,
but the agent reads ``/host/proc`` anyway so one ``--host-root`` rule covers every file, and
runs with ``hostNetwork`` because ``/proc/sys/net`` shows the reader's network namespace.

Differences from the reference, on purpose:

* network sysctls are included (NCCL/RDMA tuning lives in ``net.core.*``, ``net.ipv4.*``);
* a value starting with ``#`` is kept (the reference dropped ``kernel/version`` as a comment);
* keys stay file paths (``/proc/sys/kernel/osrelease``), the form existing recipes use;
  values are the file text with the trailing newline removed, always strings;
* the walk is bounded (entries and time) and skips what it cannot read (write-only entries,
  permission errors) instead of failing.
"""

from __future__ import annotations

import os
import stat
import time

from eidos.snapshot.collectors.base import (
    Collector,
    CollectorFailed,
    HostContext,
    Unavailable,
    read_text,
)
from eidos.snapshot.model import Subtype

MAX_ENTRIES = 20000
MAX_VALUE_BYTES = 64 * 1024
KERNEL_FILES = {
    "release": "kernel/osrelease",
    "version": "kernel/version",
    "ostype": "kernel/ostype",
    "arch": "kernel/arch",
}


def _value(path) -> str | None:
    """The text of one /proc entry, or None when it cannot be read (skipped and counted)."""
    try:
        text = read_text(path, MAX_VALUE_BYTES)
    except (OSError, CollectorFailed):
        return None
    return text.removesuffix("\n")


def _host_value(ctx: HostContext, rel: str, problems: list[str]) -> str | None:
    """The text of a host file resolved inside the host root (symlinks too), or None. An
    absent file is just absent (``kernel/arch`` is missing on older kernels); any other
    failure is added to ``problems`` so the status says what could not be read and why."""
    try:
        return ctx.read(rel, MAX_VALUE_BYTES).removesuffix("\n")
    except FileNotFoundError:
        return None
    except OSError as err:
        problems.append(f"/{rel}: {err.strerror or err}")
    except CollectorFailed as err:
        problems.append(str(err))
    return None


def collect_kernel(ctx: HostContext):
    base = ctx.path("proc/sys")
    if not base.is_dir():
        raise Unavailable(f"{base} does not exist")
    data: dict = {}
    problems: list[str] = []
    for key, rel in KERNEL_FILES.items():
        value = _host_value(ctx, "proc/sys/" + rel, problems)
        if value is not None:
            data[key] = value
    if "release" not in data:
        why = f": {'; '.join(problems)}" if problems else ""
        raise CollectorFailed(f"cannot read {ctx.path('proc/sys/kernel/osrelease')}{why}")
    cmdline = _host_value(ctx, "proc/cmdline", problems)
    if cmdline is not None:
        data["cmdline"] = cmdline.strip()
    if problems:  # recorded as the ok status' note: the rest of OS.kernel is still good
        return [Subtype("kernel", data)], f"not read: {'; '.join(problems)}"[:500]
    return [Subtype("kernel", data)]


def collect_sysctl(ctx: HostContext):
    base = ctx.path("proc/sys")
    if not base.is_dir():
        raise Unavailable(f"{base} does not exist")
    deadline = time.monotonic() + max(ctx.timeout - 0.5, 0.1)
    data: dict = {}
    note = None
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if len(data) >= MAX_ENTRIES:
                note = f"truncated at {MAX_ENTRIES} entries"
                break
            if time.monotonic() > deadline:
                note = f"truncated after {ctx.timeout:g}s at {len(data)} entries"
                break
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                skipped += 1
                continue
            if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o444:
                continue  # symlinks, write-only triggers such as vm/compact_memory
            value = _value(full)
            if value is None:
                skipped += 1
                continue
            data["/proc/sys/" + os.path.relpath(full, base).replace(os.sep, "/")] = value
        if note:
            break
    if not data:
        raise CollectorFailed(f"no readable sysctl under {base}")
    if skipped and not note:
        note = f"{skipped} unreadable entries skipped"
    return [Subtype("sysctl", data)], note


KERNEL = Collector("kernel", "OS", collect_kernel)
SYSCTL = Collector("sysctl", "OS", collect_sysctl)
