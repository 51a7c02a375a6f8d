"""Writing results so that nothing is lost, torn, or left behind — and nothing is clobbered.

What ``--out PATH`` does depends on what PATH is (checked with ``lstat``, so the name
itself is judged, not what a symbolic link points at):

* **absent or a regular file** — the data goes to a temporary sibling, is flushed to disk
  and renamed over PATH: an interrupted run leaves the old file or the new one, never a
  torn one. A replaced file keeps its permission bits; a new one gets ``0666 & ~umask``.
* **a character device or a FIFO** (``/dev/null``, ``/dev/tty``, a named pipe) — the data
  is written *into* it, as a shell's ``>`` would; it is never renamed over, so
  ``eidos snapshot --out /dev/null`` run as root leaves ``/dev/null`` a device. A FIFO
  nobody reads is an error (exit 3) rather than a hang.
* **``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``** — the process's
  own descriptor N is written, whatever it is connected to.
* **anything else** (a symbolic link, a directory, a socket, a block device) — refused
  with exit 2 before anything is written. A symbolic link is refused rather than
  followed so an output can never be redirected somewhere the user did not name (the
  classic planted link in a shared directory); give the path it points to instead.

SIGINT, SIGTERM and SIGHUP arriving while a file is being written remove the temporary
file (:func:`guarded`) and then take their usual effect (exit 130, or death by the signal).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from eidos.errors import EnvironmentFailure, UsageError


def _guarded_signals() -> tuple:
    """SIGINT, SIGTERM and SIGHUP where the platform has them: what a guarded write catches.

    ``signal`` is imported here, not at the top: its import builds three enums, and
    writing a document to stdout (a warm ``eidos recipe``) never needs it (issue 17)."""
    import signal

    return tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def __getattr__(name: str):
    if name == "GUARDED_SIGNALS":  # the public constant, computed on first use
        value = globals()["GUARDED_SIGNALS"] = _guarded_signals()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
_STREAM = re.compile(r"/(?:dev/(?:(?P<std>stdout|stderr)|fd/(?P<fd>\d+))|proc/self/fd/(?P<pfd>\d+))")


# ---------------------------------------------------------------- signals
class _Interrupted(BaseException):
    """A guarded signal arrived; unwinds the write so its clean-up runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class Guard:
    """Paths to remove if the guarded block does not finish; see :func:`guarded`."""

    def __init__(self) -> None:
        self._cleanup: list[tuple[str, int | None, bool]] = []

    def remove_on_failure(self, path: str | Path, *, dir_fd: int | None = None, tree: bool = False) -> None:
        self._cleanup.append((str(path), dir_fd, tree))

    def forget(self, path: str | Path, *, dir_fd: int | None = None) -> None:
        self._cleanup = [c for c in self._cleanup if (c[0], c[1]) != (str(path), dir_fd)]

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """Hold the guarded signals back: for create-and-register and rename-and-forget steps."""
        with _blocked():
            yield

    def _remove_all(self) -> None:
        import shutil  # loaded by guarded() already: a clean-up never imports

        for path, dir_fd, tree in reversed(self._cleanup):
            try:
                if tree:
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path, dir_fd=dir_fd)
            except OSError:
                pass
        self._cleanup.clear()


@contextlib.contextmanager
def _blocked() -> Iterator[None]:
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _guarded_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a held-back signal is delivered here


@contextlib.contextmanager
def guarded() -> Iterator[Guard]:
    """Run a write so that any exception or guarded signal removes what it registered.

    In the main thread, SIGTERM and SIGHUP (when they would kill the process) and SIGINT
    (when it would raise KeyboardInterrupt) are turned into an exception for the duration,
    so the clean-up runs; once the registered paths are gone the signal is re-delivered
    with its previous disposition, so the process still ends the way the sender meant
    (death by SIGTERM, exit 130 for Ctrl-C). Only the first signal unwinds; a second one
    cannot interrupt the clean-up (it is absorbed, or held back and then delivered to the
    restored handler). Create and rename steps run inside :meth:`Guard.critical`, so a
    signal cannot fall between creating a file and registering it. Outside the main
    thread signals cannot be handled, but exceptions still clean up.
    """
    # Imported here, not at the top, so that writing a document to stdout (a warm 'eidos
    # recipe') loads none of them (issue 17); here, before any handler is installed.
    import shutil  # noqa: F401 - used by Guard._remove_all
    import signal
    import threading

    guard = Guard()
    fired: list[int] = []

    def on_signal(signum, frame):
        if not fired:  # one unwinding at a time; the re-delivery ends the process anyway
            fired.append(signum)
            raise _Interrupted(signum)

    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        with _blocked():
            for signum in _guarded_signals():
                handler = signal.getsignal(signum)
                if handler in (signal.SIG_DFL, signal.default_int_handler):
                    previous[signum] = signal.signal(signum, on_signal)
    pending: BaseException | None = None
    try:
        yield guard
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the clean-up
        pending = exc
    while True:  # clean up and restore even if a signal lands in the middle of this
        try:
            with _blocked():
                if pending is not None:
                    guard._remove_all()
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
            break
        except _Interrupted as exc:
            pending = exc
    if isinstance(pending, _Interrupted):
        if pending.signum not in previous:
            raise pending  # an outer guard installed the handler; it re-delivers
        os.kill(os.getpid(), pending.signum)  # the previous disposition: death, or KeyboardInterrupt
        raise KeyboardInterrupt
    if pending is not None:
        raise pending


# ---------------------------------------------------------------- writing
def _refuse_kind(st: os.stat_result) -> str | None:
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISBLK(mode):
        return "is a block device"
    if stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return None
    return "is not a regular file"


def _refuse(target: Path, reason: str) -> UsageError:
    hint = "eidos writes regular files, character devices (such as /dev/null) and pipes"
    if reason == "is a symbolic link":
        try:
            hint = f"it points to {os.readlink(target)}; give that path if you mean it"
        except OSError:
            pass
    return UsageError(f"output {target} {reason}; refusing to replace it", hint=hint)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def _write_stream(fd_number: int, shown: str, payload: bytes) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        _write_all(fd_number, payload)
    except BrokenPipeError:
        raise
    except OSError as err:
        if err.errno == errno.EBADF:
            raise UsageError(f"output {shown}: descriptor {fd_number} is not open for writing") from None
        raise EnvironmentFailure(f"cannot write {shown}: {err.strerror or err}") from None


def _write_special(target: Path, payload: bytes) -> None:
    """Write into an existing character device or FIFO without replacing it."""
    flags = os.O_WRONLY | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(target, flags)
    except OSError as err:
        if err.errno == errno.ENXIO:  # a FIFO with no reader; waiting would hang
            raise EnvironmentFailure(f"cannot write {target}: no process is reading this FIFO") from None
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None
    try:
        st = os.fstat(fd)
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            raise _refuse(target, "changed while it was being opened")
        os.set_blocking(fd, True)
        _write_all(fd, payload)
    except BrokenPipeError:
        raise
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None
    finally:
        os.close(fd)


def _new_file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Replace (or create) the regular file ``path`` by rename; refuse any other kind of file."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = target.parent if str(target.parent) else Path(".")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(target, _refuse_kind(st) or "is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        with guarded() as guard:
            with guard.critical():
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
                guard.remove_on_failure(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fchmod(fh.fileno(), _new_file_mode() if mode is None else mode)
                os.fsync(fh.fileno())
            with guard.critical():
                try:
                    now = os.lstat(target)
                except FileNotFoundError:
                    now = None
                if now is not None and not stat.S_ISREG(now.st_mode):
                    raise _refuse(target, _refuse_kind(now) or "is not a regular file")
                os.replace(tmp, target)
                guard.forget(tmp)
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None


def write_output(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to the user-named ``path`` following the rules in the module docstring."""
    shown = str(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    stream = _STREAM.fullmatch(os.path.normpath(shown)) if shown.startswith("/") else None
    if stream:
        number = {"stdout": 1, "stderr": 2}[stream["std"]] if stream["std"] else int(stream["fd"] or stream["pfd"])
        _write_stream(number, shown, payload)
        return
    target = Path(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None
    if st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        _write_special(target, payload)
        return
    write_atomic(target, payload)


def emit(text: str, destination: str | None) -> None:
    """Send a document to stdout (``None`` or ``-``) or to the file the user named."""
    if destination in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_output(destination, text)


def check_output_dir(target: Path, force: bool, *, is_ours: Callable[[Path], bool], kind: str,
                     marker: str, earlier: str) -> None:
    """Fail early (before any work) if directory ``target`` may not be written.

    A missing target (in an existing parent) or an empty one is fine; a non-empty one only
    with ``force`` and only when ``is_ours`` recognises it as output of the same eidos
    command (its ``marker`` file), so ``--force`` can never wipe a user's own directory.
    ``kind`` names such output ("an eidos bundle"), ``earlier`` what --force replaces."""
    if target.is_symlink():
        raise UsageError(f"output {target} is a symbolic link; give the real directory")
    if not target.exists():
        if not target.parent.is_dir():
            raise UsageError(f"output {target}: parent directory {target.parent} does not exist")
        return
    if not target.is_dir():
        raise UsageError(f"output {target} exists and is not a directory")
    if not any(target.iterdir()):
        return
    if not force:
        raise UsageError(f"output directory {target} is not empty",
                         hint=f"pass --force to replace {earlier}, or choose another directory")
    if not is_ours(target):
        raise UsageError(f"refusing to replace {target}: it is not {kind} (no eidos {marker})",
                         hint="remove it yourself or choose another directory")


def replace_directory(target: Path, fill: Callable[[Path], None], *, recheck: Callable[[Path], None],
                      label: str) -> None:
    """Build a directory with ``fill(staging)`` in a staging sibling of ``target``, then swap it
    in whole: a reader sees the old tree or the new one, never a mix, and a failure or signal
    at any point leaves the old one in place and no staging or backup directory behind.

    ``recheck(target)`` runs again just before the swap (the target may have changed while
    the files were written). ``label`` names the output in errors ("bundle")."""
    import secrets
    import shutil
    import tempfile

    parent = target.parent
    backup: Path | None = None
    try:
        with guarded() as guard:
            with guard.critical():
                staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
                guard.remove_on_failure(staging, tree=True)
            os.chmod(staging, 0o755)
            fill(staging)
            with guard.critical():
                recheck(target)
                if os.path.lexists(target):
                    name = parent / f".{target.name}.{secrets.token_hex(6)}.old"
                    os.rename(target, name)
                    backup = name  # only now does the backup exist
                try:
                    os.rename(staging, target)
                except OSError:
                    if backup is not None:
                        os.rename(backup, target)  # put the previous tree back
                        backup = None
                    raise
                guard.forget(staging)
                if backup is not None:
                    guard.remove_on_failure(backup, tree=True)  # the previous tree is garbage now
            if backup is not None:
                shutil.rmtree(backup, ignore_errors=True)
                guard.forget(backup)
    except OSError as err:
        kept = ""
        if backup is not None and os.path.lexists(backup) and not os.path.lexists(target):
            kept = f"; the previous {label} is kept at {backup}"
        raise EnvironmentFailure(f"cannot write {label} to {target}: {err.strerror or err}{kept}") from None
