"""What an import could not carry over, said once, in a form people and programs read.

Nothing an importer meets is dropped silently: every field it cannot express, and every
place where eidos will resolve differently from the source tool, becomes a finding with
the source file and line. The CLI prints them on stderr, writes them to the output's
``import-report.json`` and, with ``-o json``, to stdout.
"""

from __future__ import annotations

import attrs

# kinds of finding, from most to least serious for a migrating user
UNSUPPORTED = "unsupported"  # a field with no eidos equivalent; the data is not in the rules
DIFFERENCE = "difference"  # expressed, but eidos resolves it differently (documented)
NOTE = "note"  # expressed, with a rewrite worth knowing about

KINDS = (UNSUPPORTED, DIFFERENCE, NOTE)


@attrs.frozen(slots=True)
class Finding:
    kind: str
    where: str  # file:line in the source data
    field: str  # the source field, e.g. spec.validation.performance
    message: str

    def line(self) -> str:
        return f"{self.where}: {self.kind}: {self.field}: {self.message}"

    def document(self) -> dict:
        return {"kind": self.kind, "where": self.where, "field": self.field, "message": self.message}


@attrs.frozen(slots=True)
class Report:
    source: str
    output: str
    overlays: tuple[str, ...]
    components: tuple[str, ...]
    files: tuple[str, ...]
    findings: tuple[Finding, ...]

    def document(self) -> dict:
        counts = {k: sum(1 for f in self.findings if f.kind == k) for k in KINDS}
        return {
            "kind": "ImportReport",
            "generator": "eidos import aicr",
            "source": self.source,
            "output": self.output,
            "overlays": list(self.overlays),
            "components": list(self.components),
            "files": list(self.files),
            "counts": counts,
            "findings": [f.document() for f in self.findings],
        }


class Findings:
    """Collects findings in the order they are met; the report sorts nothing away."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, kind: str, where: str, field: str, message: str) -> None:
        item = Finding(kind, where, field, message)
        if item not in self.items:
            self.items.append(item)
