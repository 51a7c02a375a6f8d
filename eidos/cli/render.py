"""Rendering diagnostics for people (text) and tools (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from eidos.lang.diagnostics import Diagnostic


def print_diagnostics(diagnostics: Iterable[Diagnostic], stream: TextIO) -> None:
    for d in diagnostics:
        print(d.render(), file=stream)


def diagnostics_json(diagnostics: Iterable[Diagnostic]) -> str:
    items = [d.to_dict() for d in diagnostics]
    summary = {
        "errors": sum(1 for d in items if d["severity"] == "error"),
        "warnings": sum(1 for d in items if d["severity"] == "warning"),
    }
    return json.dumps({"diagnostics": items, "summary": summary}, indent=2) + "\n"
