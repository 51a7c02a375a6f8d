"""Dead values: keys a bundle sets that the chart neither defaults nor reads.

Helm silently ignores a value no template reads, so a renamed or removed chart key turns
a recipe's setting into a no-op. A key is live when the chart's values.yaml (or a
subchart's) has it, or a template reads it, a map above it or a key below it (see
:mod:`eidos.verify.chartinfo` for how conservative that is).
"""

from __future__ import annotations

import difflib

from eidos.engine.values import format_path, leaves
from eidos.verify.chartinfo import ChartInfo
from eidos.verify.findings import Finding


def source_of(provenance: dict, path: tuple) -> str:
    """The file:line that set ``path`` or the nearest map above it ("" if unknown)."""
    values = provenance.get("values") or {}
    for n in range(len(path), 0, -1):
        where = values.get(format_path(path[:n]))
        if where:
            return where
    return ""


def nearest_key(info: ChartInfo, path: tuple) -> str:
    """A did-you-mean hint: the closest real key, preferring the same parent and leaf name."""
    dotted = ".".join(str(p) for p in path)
    known = info.known_paths()
    leaf = str(path[-1])
    same_leaf = sorted(k for k in known if k.rsplit(".", 1)[-1] == leaf and k.split(".")[0] == str(path[0]))
    if same_leaf:
        return f"did you mean '{same_leaf[0]}'?"
    match = difflib.get_close_matches(dotted, known, n=1, cutoff=0.75)
    return f"did you mean '{match[0]}'?" if match else ""


def dead_values(component, info: ChartInfo, meant_for_manifests: set[tuple] = frozenset()) -> list[Finding]:
    """One error per dead leaf key of ``component.values`` (deterministic order)."""
    findings: list[Finding] = []
    for path in leaves(component.values):
        if not path or any(isinstance(seg, int) for seg in path):
            continue
        if info.is_live(path):
            continue
        if any(path[: len(m)] == m for m in meant_for_manifests):
            continue
        findings.append(
            Finding(
                severity="error",
                check="dead-value",
                component=component.name,
                key=format_path(path),
                message=f"{format_path(path)} is neither a default of chart "
                f"{info.name} {component.version} nor read by any of its templates: "
                "Helm ignores it",
                source=source_of(component.provenance, path),
                hint=nearest_key(info, path),
            )
        )
    return findings


def manifest_reads(component, templates: dict[str, str]) -> set[tuple]:
    """Paths under the component's values that its own manifests read (``index .Values "<name>"``)."""
    from eidos.verify.chartinfo import template_reads

    reads: set[tuple] = set()
    for text in templates.values():
        for read in template_reads(text):
            if read[:1] == (component.name,) and len(read) > 1:
                reads.add(read[1:])
    return reads
