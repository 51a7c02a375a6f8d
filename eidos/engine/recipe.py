"""The resolved recipe and its document form (what ``eidos recipe`` prints).

The document is the contract with everything downstream (bundles, validation, users'
GitOps repos), so its shape is fixed here and nowhere else: top-level keys in a set
order, components and requirements in a deterministic order, Helm values with keys
sorted. Provenance (file:line) appears only with ``--explain``: without it the document
depends only on what the rules mean, not on how their files are laid out.
"""

from __future__ import annotations

import attrs

from eidos import __version__
from eidos.lang.diagnostics import Span

API_VERSION = "eidos.dev/v1alpha1"


@attrs.frozen(slots=True)
class ResolvedRequirement:
    name: str | None
    text: str
    severity: str
    message: str
    remedy: str
    overlay: str
    span: Span
    ir: object = attrs.field(eq=False, repr=False)
    replaced: tuple[str, ...] = ()  # locations of requirements this one replaced


@attrs.frozen(slots=True)
class ResolvedComponent:
    name: str
    kind: str
    repository: str
    chart: str
    version: str
    source: str
    tag: str
    path: str
    namespace: str
    needs: tuple[str, ...]
    manifests: tuple[str, ...]
    values: dict
    aliases: tuple[str, ...]
    scheduling: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    provenance: dict  # field -> "file:line"; "values" -> {path: "file:line"}


@attrs.frozen(slots=True)
class OverlayVerdict:
    name: str
    applied: bool
    condition: str
    specificity: int
    source: str
    reason: str


@attrs.frozen(slots=True)
class Recipe:
    criteria: dict
    overlays: tuple[str, ...]
    requirements: tuple[ResolvedRequirement, ...]
    components: tuple[ResolvedComponent, ...]
    deployment_order: tuple[str, ...]
    explanation: tuple[OverlayVerdict, ...] | None = None
    fact_sources: dict | None = None  # fact -> how it was obtained (flag, or inference rule and value)


def sort_keys(value):
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def _plain(value):
    return str(value) if hasattr(value, "key") and hasattr(value, "release") else value


def component_document(c: ResolvedComponent, explain: bool) -> dict:
    doc: dict = {"name": c.name, "type": c.kind}
    if c.kind == "helm":
        doc.update(repository=c.repository, chart=c.chart, version=c.version)
    elif c.kind == "kustomize":
        doc.update(source=c.source, tag=c.tag, path=c.path)
    doc["namespace"] = c.namespace
    doc["needs"] = list(c.needs)
    doc["manifests"] = list(c.manifests)
    if c.aliases:
        doc["aliases"] = list(c.aliases)
    if c.scheduling:
        doc["scheduling"] = {
            role: {"nodeSelector": list(ns), "tolerations": list(tol)} for role, ns, tol in c.scheduling
        }
    doc["values"] = sort_keys(c.values)
    if explain:
        doc["provenance"] = c.provenance
    return doc


def requirement_document(r: ResolvedRequirement, explain: bool) -> dict:
    doc: dict = {}
    if r.name:
        doc["name"] = r.name
    doc["expr"] = r.text
    doc["severity"] = r.severity
    doc["overlay"] = r.overlay
    if r.message:
        doc["message"] = r.message
    if r.remedy:
        doc["remedy"] = r.remedy
    if explain:
        doc["source"] = r.span.short
        if r.replaced:
            doc["replaces"] = list(r.replaced)
    return doc


def to_document(recipe: Recipe, *, explain: bool = False) -> dict:
    doc = {
        "apiVersion": API_VERSION,
        "kind": "Recipe",
        "metadata": {"generator": f"eidos {__version__}"},
        "criteria": {k: _plain(recipe.criteria[k]) for k in sorted(recipe.criteria)},
        "overlays": list(recipe.overlays),
        "requirements": [requirement_document(r, explain) for r in recipe.requirements],
        "components": [component_document(c, explain) for c in recipe.components],
        "deploymentOrder": list(recipe.deployment_order),
    }
    if explain:
        explanation: dict = {}
        if recipe.fact_sources:
            explanation["facts"] = {k: recipe.fact_sources[k] for k in sorted(recipe.fact_sources)}
        explanation["overlays"] = [
            {
                "name": v.name,
                "applied": v.applied,
                "condition": v.condition,
                "specificity": v.specificity,
                "source": v.source,
                "reason": v.reason,
            }
            for v in recipe.explanation or ()
        ]
        doc["explain"] = explanation
    return doc
