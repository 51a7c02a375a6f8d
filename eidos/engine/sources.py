"""Finding and reading rule bases: the embedded one and any ``--rules`` directories.

A rule base is a directory: ``.eidos`` files anywhere below it, and payload files
(Helm values, manifests) referenced by paths relative to the directory. Bases stack:
the embedded base is layer 0 and each ``--rules`` directory adds a layer on top.

* A file at the same relative path as a lower layer's file replaces it.
* A payload path is looked up in the referencing file's layer first, then in the layers
  below it, so a user overlay may reuse the embedded values files.
* Nothing outside a layer's directory is ever read: absolute paths, ``..`` that climbs
  out, and symlinks that point out are refused; so are oversized files and trees.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from pathlib import Path

from eidos import __version__
from eidos.engine.graph import GRAPH_FORMAT
from eidos.errors import InputError
from eidos.io.resources import embedded_root, grammar_path
from eidos.lang import record

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_TREE_FILES = 20_000
MAX_TREE_BYTES = 256 * 1024 * 1024


@record.frozen
class Layer:
    root: Path
    label: str  # how paths in this layer are shown to users ("" for the embedded base)
    embedded: bool

    def display(self, rel: str) -> str:
        return rel if not self.label else posixpath.join(self.label, rel)


@record.frozen
class RuleFile:
    layer: int
    rel: str
    display: str
    text: str


@record.frozen
class RuleSet:
    layers: tuple[Layer, ...]
    files: tuple[RuleFile, ...]
    digest: str


class PayloadError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _read_text(path: Path, shown: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"{shown}: file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{shown}: not UTF-8 text") from None
    except OSError as err:
        raise InputError(f"{shown}: cannot read: {err.strerror or err}") from None


def _walk(root: Path, subdirs: tuple[str, ...] | None) -> list[tuple[str, str, int]]:
    """Regular files below root (or below the given subdirectories), sorted, no symlinks out:
    (path relative to ``root`` with ``/``, path to open, size).

    Plain strings and one ``lstat`` per file (``stat`` again only for a symlink): with a
    Path object and four stat calls per file, walking the embedded base was a twentieth
    of a warm ``eidos recipe`` (issue 17)."""
    out: list[tuple[str, str, int]] = []
    starts = [(root / s, s) for s in subdirs] if subdirs else [(root, "")]
    real_root = root.resolve()
    total = 0
    for start, sub in starts:
        if not start.is_dir():
            continue
        top = os.fspath(start)
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            tail = dirpath[len(top):].strip(os.sep).replace(os.sep, "/")
            base = f"{sub}/{tail}" if sub and tail else sub or tail
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                full = os.path.join(dirpath, name)
                rel = f"{base}/{name}" if base else name
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    target = Path(full).resolve()
                    if real_root not in target.parents:
                        raise InputError(f"{full}: symlink points outside the rule base")
                    try:
                        st = os.stat(full)
                    except OSError:
                        continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                total += st.st_size
                out.append((rel, full, st.st_size))
                if len(out) > MAX_TREE_FILES or total > MAX_TREE_BYTES:
                    raise InputError(f"{root}: rule base is too large (over {MAX_TREE_FILES} files or 256 MiB)")
    return out


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def collect(rule_dirs: list[str] | tuple[str, ...] = (), *, embedded: bool = True) -> RuleSet:
    """Read every rule file of the embedded base (unless ``embedded`` is false) plus the given directories."""
    layers = [Layer(embedded_root(), "", True)] if embedded else []
    for d in rule_dirs:
        path = Path(d)
        if not path.exists():
            raise InputError(f"--rules {d}: no such directory")
        if path.is_file():
            raise InputError(f"--rules {d}: expected a directory of .eidos files", hint="put the file in a directory")
        layers.append(Layer(path, str(d).rstrip("/") or ".", False))

    by_rel: dict[str, RuleFile] = {}
    hasher = hashlib.sha256()
    hasher.update(f"eidos {__version__} graph {GRAPH_FORMAT} embedded={embedded}\n".encode())
    hasher.update(grammar_path().read_bytes())
    for index, layer in enumerate(layers):
        subdirs = ("rules", "recipes") if layer.embedded else None
        # the label is how spans and payload origins name this layer, and those live in the graph
        hasher.update(f"\0layer {index} {layer.label}\n".encode())
        for rel, full, size in _walk(layer.root, subdirs):
            data = _read_bytes(full) if size <= MAX_FILE_BYTES else b""
            hasher.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
            if rel.endswith(".eidos"):
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError(f"{layer.display(rel)}: not UTF-8 text") from None
                if not data and size:
                    raise InputError(f"{layer.display(rel)}: file is larger than 8 MiB")
                by_rel[rel] = RuleFile(index, rel, layer.display(rel), text)
    files = tuple(sorted(by_rel.values(), key=lambda f: (f.layer, f.rel)))
    return RuleSet(tuple(layers), files, hasher.hexdigest())


def resolve_payload(ruleset: RuleSet, layer: int, path: str) -> tuple[str, str]:
    """Find a payload for a file in ``layer``: returns (display path, text)."""
    if not path or path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        raise PayloadError("E404", f"'{path}' must be a relative path inside the rule base")
    norm = posixpath.normpath(path)
    if norm.startswith("..") or norm == ".":
        raise PayloadError("E404", f"'{path}' points outside the rule base")
    for index in range(layer, -1, -1):
        base = ruleset.layers[index]
        candidate = base.root / norm
        if not candidate.is_file():
            continue
        real_root = base.root.resolve()
        if real_root not in candidate.resolve().parents:
            raise PayloadError("E404", f"'{path}' resolves outside the rule base (symlink?)")
        try:
            return base.display(norm), _read_text(candidate, base.display(norm))
        except InputError as err:
            raise PayloadError("E403", err.message) from None
    raise PayloadError("E403", f"file '{path}' does not exist")
