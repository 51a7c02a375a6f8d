"""The compiled-graph cache, keyed by the content hash of everything that went into it.

Parsing with Lark and checking the whole graph costs far more than resolving a query,
so a compiled graph is pickled under ``$EIDOS_CACHE_DIR`` (default
``$XDG_CACHE_HOME/eidos`` or ``~/.cache/eidos``). The key covers the eidos version, the
grammar and every file of every rule-base layer, so any edit invalidates it. A cache
that cannot be read or written is ignored: it only ever costs time, never correctness.
"""

from __future__ import annotations

import gc
import os
import pickle
import tempfile
from pathlib import Path


def cache_dir() -> Path | None:
    if os.environ.get("EIDOS_NO_CACHE"):
        return None
    explicit = os.environ.get("EIDOS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eidos"


def _entry(digest: str) -> Path | None:
    d = cache_dir()
    return None if d is None else d / f"graph-{digest[:32]}.pickle"


def load(digest: str):
    path = _entry(digest)
    if path is None:
        return None
    collecting = gc.isenabled()
    gc.disable()  # unpickling allocates many acyclic objects; see compiler.compile_ruleset
    try:
        with open(path, "rb") as fh:
            graph = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    finally:
        if collecting:
            gc.enable()
    return graph if getattr(graph, "source_hash", None) == digest else None


def store(graph) -> None:
    path = _entry(graph.source_hash)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".graph-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)  # type: ignore[possibly-undefined]
        except (OSError, UnboundLocalError):
            pass
