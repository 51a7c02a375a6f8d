"""The compiled-graph cache: a speed-up that can never change a result or run code.

Parsing with Lark and checking the whole graph costs far more than resolving a query, so a
compiled graph is stored under ``$EIDOS_CACHE_DIR`` (default ``$XDG_CACHE_HOME/eidos`` or
``~/.cache/eidos``). An entry is used only when all of these hold, otherwise it is a miss
and the rules are compiled again (a cache only ever costs time, never correctness):

* **Same inputs.** The entry's header names the rule-base digest (eidos version, grammar,
  every file of every layer: ``sources.collect``) and the *engine fingerprint*: a hash of
  the source of every module that shapes the compiled graph (the ``eidos.lang`` and
  ``eidos.engine`` packages, the YAML reader payloads go through, the grammar, the
  version). Editing the compiler or ``expr`` is seen by the next run without clearing
  anything.
* **Intact.** The header carries the SHA-256 of the payload; a flipped bit, a truncated
  write or a foreign file is detected before a byte of it is decoded.
* **Safe to decode.** The payload is a pickle read by an unpickler that can build only
  eidos' own data classes (records of ``eidos.lang.record``, attrs classes, named tuples and enums of ``eidos.lang``/``eidos.engine``) and
  the built-in containers; any other global, such as ``os.system``, is refused, so a
  planted file cannot run code even if it carries a valid digest.
* **A private place.** The directory must be owned by the effective user and not writable
  by group or others (checked on an open descriptor; files are then opened relative to
  it, so the checked directory is the one used). Otherwise the cache is not used at all
  and one :class:`CacheWarning` is issued per process through :mod:`warnings`, which the
  CLI reports; library code never prints. Directories eidos creates are 0700, files 0600.

Writes go to a temporary name and are renamed into place, with signals turned into a
clean-up (``eidos.io.output.guarded``), so an interrupted run leaves no ``.graph-*`` file.

The same directory, under the same rules, holds other data derived from eidos' own files
(:func:`load_blob`/:func:`store_blob`): Lark's parser tables as JSON and parsed conditions
decoded by the restricted unpickler (``eidos.lang.parser``; issue 17, docs/security.md).
"""

from __future__ import annotations

import builtins
import enum
import gc
import hashlib
import io
import os
import stat
import struct
import sys
import time
import warnings
from pathlib import Path

try:  # what pickle.Unpickler is, without executing pickle.py (its import is 1 % of a warm run)
    from _pickle import Unpickler as _BaseUnpickler
    from _pickle import UnpicklingError
except ImportError:  # pragma: no cover - an interpreter without the C pickle
    from pickle import Unpickler as _BaseUnpickler
    from pickle import UnpicklingError

from eidos import __version__
from eidos.engine.graph import LazyOverlays, RuleGraph
from eidos.errors import EnvironmentFailure
from eidos.lang.record import is_record

MAGIC = b"EIDOS-GRAPH\x00v2\n"
_HEADER = struct.Struct(f">{len(MAGIC)}s32s32s32sQ")  # magic, sha256(payload), source digest, fingerprint, length
_PREFIX = "graph-"
_SUFFIX = ".cache"
_TMP_PREFIX = ".graph-"
_STALE_TMP_SECONDS = 600
_EIDOS_ROOT = Path(__file__).resolve().parent.parent  # the eidos package directory
# Packages (recursively) and single modules whose source decides what a compiled graph holds.
FINGERPRINT_PACKAGES = ("lang", "engine")
FINGERPRINT_MODULES = ("io/yamlio.py",)


class CacheWarning(UserWarning):
    """The cache was not used for a reason the user can fix (e.g. an unsafe directory)."""


class CacheDamaged(EnvironmentFailure):
    """A cached overlay could not be decoded safely.

    Overlays are decoded lazily, so this surfaces during a query, not at load time. The
    payload digest is checked at load, so only a file forged with a matching digest in the
    user's own private cache directory gets this far; the restricted decoder still
    refuses it, and the user is told which directory to clear.
    """


# ---------------------------------------------------------------- engine fingerprint
_fingerprint: bytes | None = None


def _fingerprint_files() -> list[tuple[str, str]]:
    """(name as hashed: the path below the eidos package, path to read) of every file that
    shapes a compiled graph. Strings, not Path objects: this runs on every warm start."""
    root = os.fspath(_EIDOS_ROOT)
    files: list[tuple[str, str]] = []
    for package in FINGERPRINT_PACKAGES:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, package)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            below = os.path.relpath(dirpath, root).replace(os.sep, "/")
            files.extend((f"{below}/{name}", os.path.join(dirpath, name))
                         for name in sorted(filenames) if name.endswith(".py"))
    files.extend((rel, os.path.join(root, rel)) for rel in FINGERPRINT_MODULES)
    from eidos.io.resources import grammar_path

    grammar = grammar_path()
    try:
        rel = grammar.relative_to(_EIDOS_ROOT).as_posix()
    except ValueError:
        rel = grammar.name
    files.append((rel, os.fspath(grammar)))
    return files


def engine_fingerprint() -> bytes:
    """SHA-256 over eidos' version and the bytes of every module that shapes the graph.

    Hashing about 200 KB of source costs well under a millisecond, so there is no
    stat-based shortcut to go stale; the result is memoised for the life of the process.
    A file that cannot be read contributes its name and the error, never a stale hash.
    """
    global _fingerprint
    if _fingerprint is None:
        hasher = hashlib.sha256(f"eidos {__version__}\0".encode())
        for rel, path in _fingerprint_files():
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as err:
                data = f"unreadable: {err.errno}".encode()
            hasher.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        _fingerprint = hasher.digest()
    return _fingerprint


# ---------------------------------------------------------------- the directory
def cache_dir() -> Path | None:
    if os.environ.get("EIDOS_NO_CACHE"):
        return None
    explicit = os.environ.get("EIDOS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eidos"


_refused: set[str] = set()  # directories already warned about in this process


def unsafe_reason(st: os.stat_result) -> str | None:
    """Why a directory with this status may not hold a cache, or None if it may."""
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"is owned by uid {st.st_uid}, not by the current user (uid {os.geteuid()})"
    writable = st.st_mode & 0o022
    if writable:
        who = {0o022: "group and others", 0o020: "group", 0o002: "others"}[writable]
        return f"is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _open_dir(create: bool) -> int | None:
    """A descriptor on the checked cache directory, or None (no cache, or refused with a warning)."""
    d = cache_dir()
    if d is None:
        return None
    if create:
        try:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            return None
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        reason = unsafe_reason(os.fstat(fd))
    except OSError as err:
        reason = f"cannot be examined: {err.strerror}"
    if reason is None:
        return fd
    os.close(fd)
    if str(d) not in _refused:
        _refused.add(str(d))
        warnings.warn(
            CacheWarning(f"compiled-rule cache not used: {d} {reason}; "
                         "fix it with 'chmod 700' as its owner, or set EIDOS_CACHE_DIR to a private directory"),
            stacklevel=3,
        )
    return None


def _entry_name(digest: str) -> str:
    # The name depends on the rule base only: an engine edit overwrites the old entry
    # instead of leaving one more file behind; the header tells the two apart.
    return f"{_PREFIX}{digest[:32]}{_SUFFIX}"


# ---------------------------------------------------------------- the restricted decoder
_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "bytes", "bytearray", "str", "int",
                       "float", "complex", "bool"})
_ALLOWED_PACKAGES = ("eidos.lang.", "eidos.engine.")


def _allowed_class(module: str, name: str):
    """The class named, if the cache may build it; else None."""
    if module == "builtins":
        return getattr(builtins, name) if name in _BUILTINS else None
    if not module.startswith(_ALLOWED_PACKAGES) or "." in name:
        return None
    mod = sys.modules.get(module)
    if mod is None:
        import importlib

        try:
            mod = importlib.import_module(module)
        except (ImportError, ValueError):
            return None
    cls = getattr(mod, name, None)
    if not isinstance(cls, type) or cls.__module__ != module:
        return None
    if cls is LazyOverlays:
        return _CheckedOverlays
    named_tuple = issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)
    if is_record(cls) or getattr(cls, "__attrs_attrs__", None) is not None \
            or issubclass(cls, enum.Enum) or named_tuple:
        return cls
    return None


class _Unpickler(_BaseUnpickler):
    """Builds eidos' data classes and containers; refuses every other global."""

    def find_class(self, module: str, name: str):
        cls = _allowed_class(module, name)
        if cls is None:
            raise UnpicklingError(f"cache refers to {module}.{name}, which it may not build")
        return cls

    def persistent_load(self, pid):  # pragma: no cover - eidos never writes persistent ids
        raise UnpicklingError("cache holds a persistent id")


def safe_loads(data: bytes, offset: int = 0):
    """Decode the pickle at ``data[offset:]`` through the restricted unpickler.

    Raises pickle.UnpicklingError and friends. ``BytesIO`` over a ``bytes`` object shares
    its buffer, so seeking past a header costs no copy of a payload that may be 20 MB.
    """
    stream = io.BytesIO(data)
    stream.seek(offset)
    return _Unpickler(stream).load()


_DECODE_ERRORS = (UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError,
                  TypeError, ValueError, MemoryError, RecursionError, UnicodeDecodeError, struct.error)

class _CheckedOverlays(LazyOverlays):
    """LazyOverlays whose per-overlay pickles are decoded by the restricted unpickler too."""

    __slots__ = ()

    def _load(self, name: str):
        try:
            return safe_loads(self._blobs[name])
        except _DECODE_ERRORS as err:
            raise CacheDamaged(
                f"the compiled-rule cache in {cache_dir()} holds overlay {name!r} that cannot be decoded: {err}",
                hint="delete that directory's graph-*.cache files, or run with --no-cache",
            ) from None


# ---------------------------------------------------------------- load and store
def encode(graph) -> bytes:
    """The bytes of a cache entry for ``graph``: header (digests, length) then the pickle."""
    import pickle

    payload = pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(MAGIC, hashlib.sha256(payload).digest(), bytes.fromhex(graph.source_hash),
                        engine_fingerprint(), len(payload)) + payload


def decode(data: bytes, digest: str):
    """The graph in ``data`` if it is an intact entry for ``digest`` and this engine, else None."""
    if len(data) < _HEADER.size:
        return None
    magic, payload_sha, source, fingerprint, length = _HEADER.unpack_from(data)
    try:
        wanted_source = bytes.fromhex(digest)
    except ValueError:
        return None
    if (magic != MAGIC or source != wanted_source or fingerprint != engine_fingerprint()
            or length != len(data) - _HEADER.size):
        return None
    if hashlib.sha256(memoryview(data)[_HEADER.size:]).digest() != payload_sha:
        return None
    collecting = gc.isenabled()
    gc.disable()  # unpickling allocates many acyclic objects; see compiler.compile_ruleset
    try:
        graph = safe_loads(data, _HEADER.size)
    except _DECODE_ERRORS:
        return None
    finally:
        if collecting:
            gc.enable()
    if not isinstance(graph, RuleGraph) or graph.source_hash != digest:
        return None
    return graph


def _read_entry(dir_fd: int, name: str) -> bytes | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()) \
                or st.st_mode & 0o022:
            return None
        chunks = []
        while True:
            chunk = os.read(fd, max(st.st_size, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def load(digest: str):
    """The cached graph for the rule base with ``digest``, or None (a miss)."""
    dir_fd = _open_dir(create=False)
    if dir_fd is None:
        return None
    try:
        data = _read_entry(dir_fd, _entry_name(digest))
    finally:
        os.close(dir_fd)
    return None if data is None else decode(data, digest)


def _sweep_stale(dir_fd: int) -> None:
    """Remove temporary files a killed (SIGKILL) writer left once clearly abandoned, and old-format entries."""
    now = time.time()
    try:
        names = os.listdir(dir_fd)
    except OSError:
        return
    for name in names:
        if name.startswith(_PREFIX) and name.endswith(".pickle"):  # unauthenticated entries of eidos < v2
            try:
                os.unlink(name, dir_fd=dir_fd)
            except OSError:
                pass
        elif name.startswith(_TMP_PREFIX):
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if now - st.st_mtime > _STALE_TMP_SECONDS:
                    os.unlink(name, dir_fd=dir_fd)
            except OSError:
                pass


def _write_entry(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``data`` to ``name`` in the checked directory: a private temporary file renamed into place."""
    import secrets  # only when writing (random, hmac and base64 are a warm run's 2 %)

    from eidos.io.output import guarded

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with guarded() as guard:
        with guard.critical():
            tmp = f"{_TMP_PREFIX}{secrets.token_hex(8)}.tmp"
            fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
            guard.remove_on_failure(tmp, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        with guard.critical():
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            guard.forget(tmp, dir_fd=dir_fd)


def store(graph) -> None:
    """Write ``graph`` to the cache; any failure just means the next run compiles again."""
    data = encode(graph)
    dir_fd = _open_dir(create=True)
    if dir_fd is None:
        return
    try:
        _sweep_stale(dir_fd)
        _write_entry(dir_fd, _entry_name(graph.source_hash), data)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# ---------------------------------------------------------------- other derived data
# The same directory holds data derived from eidos' own files that is not a graph: the
# Lark parser tables (eidos.lang.parser). Such an entry is bytes the caller decodes with
# a decoder that cannot run code (JSON for the parser); the header binds it to the key
# the caller derived from its inputs and carries the payload's SHA-256, so a stale,
# truncated or foreign file is a miss. The directory and file checks are the graph's.
_BLOB_MAGIC = b"EIDOS-BLOB\x00v1\n"
_BLOB_HEADER = struct.Struct(f">{len(_BLOB_MAGIC)}s32s32sQ")  # magic, key, sha256(payload), length


def _blob_name(kind: str, key: bytes) -> str:
    if len(key) != 32:
        raise ValueError("a cache key is a 32-byte digest")
    if not kind.isidentifier():
        raise ValueError(f"cache entry kind {kind!r}")
    return f"{kind}-{key.hex()[:32]}{_SUFFIX}"


def load_blob(kind: str, key: bytes) -> bytes | None:
    """The payload stored for ``key`` (a 32-byte digest of everything it derives from), or None."""
    dir_fd = _open_dir(create=False)
    if dir_fd is None:
        return None
    try:
        data = _read_entry(dir_fd, _blob_name(kind, key))
    finally:
        os.close(dir_fd)
    if data is None or len(data) < _BLOB_HEADER.size:
        return None
    magic, stored_key, payload_sha, length = _BLOB_HEADER.unpack_from(data)
    payload = memoryview(data)[_BLOB_HEADER.size:]
    if magic != _BLOB_MAGIC or stored_key != key or length != len(payload) \
            or hashlib.sha256(payload).digest() != payload_sha:
        return None
    return bytes(payload)


MAX_BLOBS = 256  # entries kept per kind; the oldest go first


def _trim(dir_fd: int, kind: str) -> None:
    """Keep at most MAX_BLOBS entries of ``kind``: keys change with the grammar and the
    engine, so without this every edit or upgrade would leave its entries behind."""
    prefix = f"{kind}-"
    try:
        names = [n for n in os.listdir(dir_fd) if n.startswith(prefix) and n.endswith(_SUFFIX)]
        if len(names) <= MAX_BLOBS:
            return
        aged = sorted(names, key=lambda n: os.stat(n, dir_fd=dir_fd, follow_symlinks=False).st_mtime)
    except OSError:
        return
    for name in aged[:len(names) - MAX_BLOBS]:
        try:
            os.unlink(name, dir_fd=dir_fd)
        except OSError:
            pass


def store_blob(kind: str, key: bytes, payload: bytes) -> None:
    """Store ``payload`` for ``key``; any failure just means the next run derives it again."""
    data = _BLOB_HEADER.pack(_BLOB_MAGIC, key, hashlib.sha256(payload).digest(), len(payload)) + payload
    dir_fd = _open_dir(create=True)
    if dir_fd is None:
        return
    try:
        _write_entry(dir_fd, _blob_name(kind, key), data)
        _trim(dir_fd, kind)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
