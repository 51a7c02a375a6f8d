"""Where the embedded rule base and grammar live.

A wheel carries ``grammar/``, ``rules/`` and ``recipes/`` under ``eidos/_embedded``; an
editable checkout has them at the repository root. Both layouts must work, so the
lookup tries the installed location first and falls back to the source tree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # eidos/


@lru_cache(maxsize=None)
def embedded_root() -> Path:
    """Directory holding ``rules/`` and ``recipes/`` of the embedded rule base."""
    installed = _PACKAGE / "_embedded"
    if (installed / "rules").is_dir():
        return installed
    return _PACKAGE.parent


def grammar_path() -> Path:
    return embedded_root() / "grammar" / "eidos.lark"
