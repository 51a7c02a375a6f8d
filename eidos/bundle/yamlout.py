"""YAML files of a bundle: one document or several, under an optional comment header.

Quoting is ``eidos.io.yamlio.dump``'s: every string a YAML 1.1 reader (Helm, Argo CD, Flux
are Go programs using go-yaml) could take for a bool or number is quoted, so a values
string ``"on"`` or ``"25.10"`` reaches a chart as the string it is.
"""

from __future__ import annotations

from typing import Any

from eidos.bundle.shell import comment
from eidos.io import yamlio


def _lead(header: str) -> str:
    """Comment lines for ``header``; only ``\\n`` splits it, any other break is escaped."""
    return "".join(comment(line) for line in header.split("\n")) if header else ""


def dump(data: Any, header: str = "") -> str:
    """Block YAML for one document, optionally after a comment header (lines without '#').

    Data goes through the YAML emitter (never a string template), so every scalar is
    quoted or escaped as YAML needs; the header is comment text that cannot end its line.
    """
    return _lead(header) + yamlio.dump(data)


def dump_all(documents: list[Any], header: str = "") -> str:
    """Several documents separated by ``---``, for files holding more than one object."""
    return _lead(header) + "".join("---\n" + dump(doc) for doc in documents)
