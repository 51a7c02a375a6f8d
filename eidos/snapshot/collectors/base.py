"""What every collector shares: the host context, outcomes, a bounded runner, safe helpers.

A collector is a small function ``collect(ctx) -> list[Subtype]``. It signals "this source
does not exist here" by raising :class:`Unavailable`; any other exception means it tried and
failed. The runner turns both into a :class:`CollectorStatus` so one broken source never loses
the rest of the snapshot (the reference failed the whole snapshot on any collector error).

Every collector runs in its own daemon thread with a deadline. Subprocesses are started in a
new session and killed as a group when the deadline passes, so a hung ``nvidia-smi`` (or a
child it spawned) cannot keep the CLI alive.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from eidos.snapshot.model import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_UNAVAILABLE,
    CollectorStatus,
    Measurement,
    Subtype,
)

MAX_FILE_BYTES = 1024 * 1024


class Unavailable(Exception):
    """The source this collector reads does not exist in this environment."""


class CollectorFailed(Exception):
    """The source exists but could not be read or understood."""


@attrs.frozen
class HostContext:
    """Where and how node collectors read. ``root`` is the host's ``/`` as seen from here."""

    root: Path = Path("/")
    timeout: float = 20.0
    env: Mapping[str, str] = attrs.field(factory=lambda: dict(os.environ))

    def path(self, rel: str) -> Path:
        """A host path, with symlinks resolved as if ``root`` were ``/`` (never escaping it)."""
        return resolve_in_root(self.root, rel)

    def read(self, rel: str, limit: int = MAX_FILE_BYTES) -> str:
        """The text of a host file, read through :meth:`path` (the only way collectors read
        host files): symlinks stay inside ``root``, non-regular files are refused, size is
        bounded."""
        return read_text(self.path(rel), limit)


@attrs.frozen
class Collector:
    """A named collector feeding one measurement type."""

    name: str
    type: str
    collect: Callable[[HostContext], list[Subtype]]
    # Collected by the runner when the collector returns a (subtypes, note) pair; the note
    # is recorded as the status reason of an ok collector (e.g. "truncated at 20000 entries").


def resolve_in_root(root: Path, rel: str, max_hops: int = 40) -> Path:
    """Resolve ``rel`` under ``root`` like a chroot would: absolute symlink targets are taken
    relative to ``root`` and ``..`` cannot climb above it. ``/etc/os-release`` is often an
    absolute or relative symlink; following it naively from ``/host`` would read the
    container's file instead of the host's."""
    root = Path(root)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            hops += 1
            if hops > max_hops:
                raise CollectorFailed(f"too many symlinks resolving {rel}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """Read a small regular text file with a size bound, never blocking or following a link.

    ``path`` must already be resolved (``HostContext.path``): the last component is opened
    with ``O_NOFOLLOW``, so a symlink swapped in after resolving fails instead of being
    followed out of the host root. FIFOs, sockets and devices are refused before opening
    (opening a device can have side effects) and again on the open descriptor."""
    try:
        pre = os.lstat(path).st_mode
    except OSError:
        pre = None  # let open() report it with the usual errno
    if pre is not None and not stat.S_ISREG(pre):
        raise CollectorFailed(f"{path}: not a regular file")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CollectorFailed(f"{path}: not a regular file")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise CollectorFailed(f"{path}: larger than {limit} bytes")
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def run_command(
    argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command with a hard deadline; the whole process group dies on timeout."""
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise Unavailable(f"{argv[0]} not found") from None
    except PermissionError:
        raise CollectorFailed(f"{argv[0]}: permission denied") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise CollectorFailed(f"{Path(argv[0]).name} timed out after {timeout:g}s") from None
    except BaseException:
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(
        argv, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass


def first_line(text: str, limit: int = 300) -> str:
    """A short, single-line excerpt of tool output for a status reason."""
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


@attrs.frozen
class Outcome:
    subtypes: tuple[Subtype, ...]
    status: CollectorStatus


def run_one(collector: Collector, ctx: HostContext) -> Outcome:
    """Run one collector under its deadline and turn whatever happens into an Outcome."""
    box: dict = {}

    def target():
        try:
            box["result"] = collector.collect(ctx)
        except BaseException as err:  # recorded, never propagated: one source must not sink all
            box["error"] = err

    start = time.monotonic()
    thread = threading.Thread(target=target, name=f"collector-{collector.name}", daemon=True)
    thread.start()
    # subprocess helpers enforce ctx.timeout themselves; the small grace lets them report it
    thread.join(ctx.timeout + 2.0)
    duration = time.monotonic() - start

    def status(state: str, reason: str | None = None) -> CollectorStatus:
        return CollectorStatus(collector.name, collector.type, state, reason, duration)

    if thread.is_alive():
        return Outcome((), status(STATUS_FAILED, f"timed out after {ctx.timeout:g}s"))
    if "error" in box:
        err = box["error"]
        if isinstance(err, Unavailable):
            return Outcome((), status(STATUS_UNAVAILABLE, str(err) or "not available"))
        if isinstance(err, KeyboardInterrupt):
            raise err
        if isinstance(err, CollectorFailed):
            return Outcome((), status(STATUS_FAILED, str(err)))
        if isinstance(err, OSError):
            where = f"{err.filename}: " if err.filename else ""
            return Outcome((), status(STATUS_FAILED, f"{where}{err.strerror or err}"))
        return Outcome((), status(STATUS_FAILED, f"{type(err).__name__}: {err}"))
    result = box.get("result")
    note = None
    if isinstance(result, tuple):
        result, note = result
    return Outcome(tuple(result or ()), status(STATUS_OK, note))


def run_collectors(
    collectors: Sequence[Collector], ctx: HostContext
) -> tuple[list[Measurement], list[CollectorStatus]]:
    """Run collectors concurrently; group their subtypes into one measurement per type."""
    outcomes: dict[str, Outcome] = {}

    def worker(c: Collector):
        outcomes[c.name] = run_one(c, ctx)

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in collectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(ctx.timeout + 5.0)
    by_type: dict[str, list[Subtype]] = {}
    statuses = []
    for c in collectors:
        outcome = outcomes.get(c.name)
        if outcome is None:  # the worker itself did not come back; treat as a timeout
            statuses.append(
                CollectorStatus(c.name, c.type, STATUS_FAILED, f"timed out after {ctx.timeout:g}s")
            )
            continue
        statuses.append(outcome.status)
        by_type.setdefault(c.type, []).extend(outcome.subtypes)
    measurements = [Measurement(t, tuple(sts)) for t, sts in by_type.items() if sts]
    return measurements, statuses
