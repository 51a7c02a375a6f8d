"""What a compiled rule graph declares, as plain data (``eidos rules list`` / ``rules show``).

Authors need to see the rule base they build on (the embedded one ships inside the
package, where nobody reads it) without reading its source: which overlays, components,
checks, facts and inference rules exist, where each is declared, and what it does. Both
views are read from the compiled graph, so they show what the engine will actually use:
the layered result (a file of a ``--rules`` layer that replaces an embedded one shows its
own declarations), effective conditions with every ``extends`` ancestor folded in, and the
catalog version a component gets unless an overlay pins another.

Everything returned is JSON-ready (str, int, bool, list, dict), in a stable order.
"""

from __future__ import annotations

import attrs

from eidos.engine.graph import ComponentChange, RequirementSpec, RuleGraph, ValueOp
from eidos.engine.values import format_path
from eidos.lang.diagnostics import Span

# Plural (as typed on the command line) -> the kind each entry reports.
KINDS = {"overlays": "overlay", "components": "component", "checks": "check", "facts": "fact", "infer": "infer"}


@attrs.frozen(slots=True)
class Entry:
    """One line of ``rules list``."""

    kind: str
    name: str
    location: str  # file:line of the declaration
    summary: str

    def to_dict(self) -> dict:
        return attrs.asdict(self)


def location(span: Span) -> str:
    return f"{span.file}:{span.line}"


def list_entries(graph: RuleGraph, kinds: tuple[str, ...] = tuple(KINDS)) -> list[Entry]:
    """Every declaration of the given kinds (plural names, see KINDS), by kind then name."""
    out: list[Entry] = []
    if "overlays" in kinds:
        for name in sorted(graph.overlays):
            spec = graph.overlays[name]
            parent = f"extends {spec.parent}; " if spec.parent else ""
            out.append(Entry("overlay", name, location(spec.span), f"{parent}when {spec.condition_text or 'always'}"))
    if "components" in kinds:
        for name in sorted(graph.components):
            spec = graph.components[name]
            out.append(Entry("component", name, location(spec.span), _source(spec)))
    if "checks" in kinds:
        for name in sorted(graph.checks):
            spec = graph.checks[name]
            category = f"[{spec.category}] " if spec.category else ""
            out.append(Entry("check", name, location(spec.span),
                             f"{category}when {spec.condition_text or 'always'}; {len(spec.requirements)} requirement(s)"))
    if "facts" in kinds:
        for name in sorted(graph.facts):
            spec = graph.facts[name]
            out.append(Entry("fact", name, location(spec.span), _fact_type(spec)))
    if "infer" in kinds:
        for spec in graph.infers:  # file and line order: the first rule that yields a value wins
            out.append(Entry("infer", spec.fact, location(spec.span),
                             f"{spec.fact} = {_infer_value(spec)} when {spec.condition_text or 'always'}"))
    return out


def names(graph: RuleGraph) -> list[str]:
    """Every name ``rules show`` accepts."""
    return sorted(set(graph.overlays) | set(graph.components) | set(graph.checks) | set(graph.facts))


def describe(graph: RuleGraph, name: str) -> list[dict]:
    """Everything declared under ``name`` (one dict per kind that has it; empty if none does)."""
    out = []
    if name in graph.facts:
        out.append(_fact(graph, name))
    if name in graph.components:
        out.append(_component(graph, name))
    if name in graph.overlays:
        out.append(_overlay(graph, name))
    if name in graph.checks:
        out.append(_check(graph, name))
    return out


# ---------------------------------------------------------------------------- details
def _fact(graph: RuleGraph, name: str) -> dict:
    spec = graph.facts[name]
    return {
        "kind": "fact",
        "name": name,
        "location": location(spec.span),
        "doc": spec.doc,
        "type": spec.kind,
        "values": list(spec.values),
        "aliases": {alias: value for alias, value in spec.aliases},
        "inferred_by": [
            {"location": location(i.span), "value": _infer_value(i), "when": i.condition_text or "always"}
            for i in graph.infers if i.fact == name
        ],
    }


def _component(graph: RuleGraph, name: str) -> dict:
    spec = graph.components[name]
    source = {"helm": {"repository": spec.repository, "chart": spec.chart, "version": spec.version},
              "kustomize": {"source": spec.source, "tag": spec.tag, "path": spec.path}}.get(spec.kind, {})
    used_by = []
    for overlay in sorted(graph.overlays):
        for change in graph.overlays[overlay].components:
            if change.name == name:
                used_by.append({"overlay": overlay, "location": location(change.span),
                                "version": change.version or spec.version})
    return {
        "kind": "component",
        "name": name,
        "location": location(spec.span),
        "doc": spec.doc,
        "type": spec.kind,
        "version": spec.version,
        "source": source,
        "namespace": spec.namespace,
        "display": spec.display,
        "aliases": list(spec.aliases),
        "needs": list(spec.needs),
        "manifests": list(spec.manifests),
        "values": [_op(op) for op in spec.ops],
        "scheduling": [{"role": role, "node_selector": list(selectors), "tolerations": list(tolerations)}
                       for role, selectors, tolerations in spec.scheduling],
        "used_by": used_by,
    }


def _overlay(graph: RuleGraph, name: str) -> dict:
    spec = graph.overlays[name]
    from eidos.lang.expr import render

    return {
        "kind": "overlay",
        "name": name,
        "location": location(spec.span),
        "doc": spec.doc,
        "extends": spec.parent,
        "chain": list(spec.chain),
        "when": render(spec.own) if spec.parent else (spec.condition_text or "always"),
        "condition": spec.condition_text or "always",
        "requirements": [_requirement(r) for r in spec.requirements],
        "components": [_change(graph, c) for c in spec.components],
        "drops": [dropped for dropped, _span in spec.drops],
        "extended_by": sorted(o for o in graph.overlays if graph.overlays[o].parent == name),
    }


def _check(graph: RuleGraph, name: str) -> dict:
    spec = graph.checks[name]
    return {
        "kind": "check",
        "name": name,
        "location": location(spec.span),
        "doc": spec.doc,
        "category": spec.category,
        "when": spec.condition_text or "always",
        "requirements": [_requirement(r) for r in spec.requirements],
    }


def _requirement(spec: RequirementSpec) -> dict:
    return {
        "name": spec.name,
        "location": location(spec.span),
        "condition": spec.text,
        "severity": spec.severity,
        "message": spec.message,
        "remedy": spec.remedy,
        "replaces": spec.replace,
        "owner": spec.owner,
    }


def _change(graph: RuleGraph, change: ComponentChange) -> dict:
    catalog = graph.components.get(change.name)
    return {
        "name": change.name,
        "location": location(change.span),
        "version": change.version or (catalog.version if catalog else ""),
        "pinned": change.version is not None,
        "namespace": change.namespace,
        "manifests": list(change.manifests),
        "drop_manifests": list(change.drop_manifests),
        "needs": list(change.needs),
        "drop_needs": list(change.drop_needs),
        "values": [_op(op) for op in change.ops],
    }


def _op(op: ValueOp) -> dict:
    if op.kind == "values":
        return {"op": "values", "file": op.value, "location": location(op.span)}
    out = {"op": op.kind, "path": format_path(op.path), "location": location(op.span)}
    if op.kind == "set":
        out["value"] = op.value
    return out


def _source(spec) -> str:
    if spec.kind == "helm":
        return f"helm {spec.chart} {spec.version} from {spec.repository}"
    if spec.kind == "kustomize":
        return f"kustomize {spec.source} {spec.tag} {spec.path}".rstrip()
    return spec.kind


def _fact_type(spec) -> str:
    if spec.kind == "enum":
        return "enum { " + ", ".join(spec.values) + " }"
    return spec.kind


def _infer_value(spec) -> str:
    if spec.from_path:
        return getattr(spec.value, "name", str(spec.value))
    return str(spec.value)
