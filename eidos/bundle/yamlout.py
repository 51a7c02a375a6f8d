"""YAML files of a bundle: one document or several, under an optional comment header.

Quoting is ``eidos.io.yamlio.dump``'s: every string a YAML 1.1 reader (Helm, Argo CD, Flux
are Go programs using go-yaml) could take for a bool or number is quoted, so a values
string ``"on"`` or ``"25.10"`` reaches a chart as the string it is.
"""

from __future__ import annotations

from typing import Any

from eidos.io import yamlio


def dump(data: Any, header: str = "") -> str:
    """Block YAML for one document, optionally after a comment header (lines without '#')."""
    lead = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) if header else ""
    return lead + yamlio.dump(data)


def dump_all(documents: list[Any], header: str = "") -> str:
    """Several documents separated by ``---``, for files holding more than one object."""
    lead = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) if header else ""
    return lead + "".join("---\n" + dump(doc) for doc in documents)
