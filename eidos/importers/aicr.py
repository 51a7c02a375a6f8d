"""``eidos import aicr``: AICR v0.11 recipe data → an eidos rule layer.

The output stands alone when given to ``--rules``: besides the fact schema, the catalog
and one file per AICR overlay, it holds an empty file at the path of every file of the
embedded rule base's ``rules/`` directory, which replaces that file (a layer's file
replaces a lower layer's file at the same relative path). So ``eidos recipe --rules OUT``
resolves AICR's recipes alone, and AICR's ``base`` overlay does not collide with eidos'.
Payload files keep their AICR paths (``components/<name>/…``) below the output.
"""

from __future__ import annotations

import json
from pathlib import Path

from eidos.importers import aicr_model
from eidos.importers.aicr_emit import (
    catalog_entries,
    catalog_text,
    facts_text,
    overlay_texts,
)
from eidos.importers.report import DIFFERENCE, NOTE, UNSUPPORTED, Findings, Report
from eidos.importers.writer import REPORT, write_tree
from eidos.io.resources import embedded_root

SHADOW = ("# Intentionally empty: this file replaces the embedded rule base's {rel}, so that the\n"
          "# rules imported by `eidos import aicr` stand alone under `--rules` (docs/import.md).\n")


def _shadows(produced: set[str]) -> dict[str, str]:
    root = embedded_root()
    out = {}
    for path in sorted((root / "rules").rglob("*.eidos")):
        rel = path.relative_to(root).as_posix()
        if rel not in produced:
            out[rel] = SHADOW.format(rel=rel)
    return out


def _cross_branch(data: aicr_model.Data, findings: Findings) -> None:
    """Components edited by two overlays that can apply together without one extending the other."""
    chains = {o.name: set(aicr_model.chain(data, o.name)) for o in data.overlays}

    def compatible(a, b) -> bool:
        ca, cb = a.criteria or {}, b.criteria or {}
        return all(ca[k] == cb[k] for k in ca.keys() & cb.keys())

    overlays = sorted(data.overlays, key=lambda o: o.name)
    for i, a in enumerate(overlays):
        for b in overlays[i + 1:]:
            if a.name in chains[b.name] or b.name in chains[a.name] or not compatible(a, b):
                continue
            shared = sorted({r.name for r in a.refs} & {r.name for r in b.refs})
            if a.criteria is not None and b.criteria is not None and shared:
                findings.add(DIFFERENCE, b.where, "spec.componentRefs",
                             f"{', '.join(shared)} also edited by '{a.name}', which can apply to the same query "
                             "without either extending the other: the merge order may differ from AICR's")


def build(source: str | Path) -> tuple[dict[str, bytes], Report]:
    """Every output file (relative path → bytes) and the report, without writing anything."""
    data = aicr_model.load(source)
    shown = str(source).rstrip("/") or "."
    findings = Findings()
    for rel, kind in data.skipped:
        findings.add(NOTE, f"{data.root / rel}:1", "kind", f"kind {kind} is not RecipeMetadata; not imported "
                     "(AICR skips it too)")
    _cross_branch(data, findings)
    catalog = catalog_entries(data, findings)
    texts, payloads = overlay_texts(data, catalog, findings, shown)
    files: dict[str, str | bytes] = {
        "rules/facts.eidos": facts_text(shown),
        "rules/components.eidos": catalog_text(shown, catalog, findings),
    }
    for name, text in texts.items():
        files[f"rules/overlays/{name}.eidos"] = text
    files.update(_shadows(set(files)))
    for rel in sorted(payloads):
        files[rel] = (data.root / rel).read_bytes()
    order = {UNSUPPORTED: 0, DIFFERENCE: 1, NOTE: 2}

    def place(where: str) -> tuple[str, int]:
        file, _, line = where.rpartition(":")
        return (file, int(line)) if line.isdigit() else (where, 0)

    report = Report(
        source=shown, output="", overlays=tuple(texts), components=tuple(catalog),
        files=tuple(sorted(files) + [REPORT]),
        findings=tuple(sorted(findings.items, key=lambda f: (order[f.kind], place(f.where), f.field))),
    )
    out = {rel: (t.encode("utf-8") if isinstance(t, str) else t) for rel, t in files.items()}
    return out, report


def run(source: str | Path, target: str | Path, *, force: bool = False) -> Report:
    files, report = build(source)
    doc = report.document()
    doc["output"] = str(target)
    files[REPORT] = (json.dumps(doc, indent=2, sort_keys=False) + "\n").encode("utf-8")
    write_tree(files, Path(target), force=force)
    return Report(report.source, str(target), report.overlays, report.components, report.files, report.findings)
