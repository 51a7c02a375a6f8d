"""The resolved recipe and its document form (what ``eidos recipe`` prints).

The document is the contract with everything downstream (bundles, validation, users'
GitOps repos), so its shape is fixed here and nowhere else: top-level keys in a set
order, components and requirements in a deterministic order, Helm values with keys
sorted. Provenance (file:line) appears only with ``--explain``: without it the document
depends only on what the rules mean, not on how their files are laid out.
"""

from __future__ import annotations

import heapq
from typing import Any

from eidos.lang import record

from eidos import __version__
from eidos.api import API_VERSION
from eidos.errors import InputError
from eidos.lang.diagnostics import Span

ROLES = ("system", "accelerated")


class RecipeError(InputError):
    """The rules, applied to these facts, do not give a consistent recipe."""


@record.frozen
class ResolvedRequirement:
    name: str | None
    text: str
    severity: str
    message: str
    remedy: str
    overlay: str
    span: Span
    ir: object = record.field(eq=False, repr=False)
    replaced: tuple[str, ...] = ()  # locations of requirements this one replaced


@record.frozen
class RoleScheduling:
    """Value paths where one node role's selectors and tolerations belong."""

    node_selector: tuple[str, ...] = ()
    tolerations: tuple[str, ...] = ()


@record.frozen
class Scheduling:
    system: RoleScheduling = RoleScheduling()
    accelerated: RoleScheduling = RoleScheduling()

    def role(self, name: str) -> RoleScheduling:
        return self.system if name == "system" else self.accelerated

    @classmethod
    def from_roles(cls, roles) -> Scheduling:
        """From the graph's ``(role, node-selector paths, toleration paths)`` triples."""
        return cls(**{role: RoleScheduling(tuple(ns), tuple(tol)) for role, ns, tol in roles})

    def items(self) -> list[tuple[str, RoleScheduling]]:
        """Roles that name at least one path, by role name (the document's order)."""
        return [(r, self.role(r)) for r in sorted(ROLES) if self.role(r).node_selector or self.role(r).tolerations]


@record.frozen
class Component:
    """One deployable unit of a recipe: what the matcher resolves and what bundlers read.

    The matcher builds it from the rules; ``eidos.bundle.model`` builds it from a recipe
    document (possibly handwritten) after validating every field. ``values`` is owned by
    this object. ``provenance`` (field -> "file:line"; "values" -> {path: "file:line"}) is
    only known when the component came from the rules.
    """

    name: str
    type: str  # helm | kustomize | manifest
    namespace: str
    needs: tuple[str, ...]
    manifests: tuple[str, ...]
    values: dict[str, Any]
    aliases: tuple[str, ...] = ()
    scheduling: Scheduling = Scheduling()
    # helm
    repository: str = ""
    chart: str = ""
    version: str = ""
    # kustomize
    source: str = ""
    tag: str = ""
    path: str = ""
    provenance: dict = record.field(factory=dict, eq=False)

    @property
    def is_oci(self) -> bool:
        return self.repository.startswith("oci://")

    @property
    def chart_ref(self) -> str:
        """What ``helm install`` takes as the chart: ``oci://reg/path/chart`` or the name."""
        return f"{self.repository.rstrip('/')}/{self.chart}" if self.is_oci else self.chart

    @property
    def manifest_release(self) -> str:
        """Release (and object) name of the chart that carries this component's manifests."""
        return self.name if self.type == "manifest" else f"{self.name}-manifests"

    def manifest_files(self) -> list[tuple[str, str]]:
        """(recipe path, file name in templates/) for each manifest, in recipe order."""
        return [(p, p.rsplit("/", 1)[-1]) for p in self.manifests]


@record.frozen
class OverlayVerdict:
    name: str
    applied: bool
    condition: str
    specificity: int
    source: str
    reason: str


@record.frozen
class Recipe:
    criteria: dict
    overlays: tuple[str, ...]
    requirements: tuple[ResolvedRequirement, ...]
    components: tuple[Component, ...]
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


def component_document(c: Component, explain: bool) -> dict:
    doc: dict = {"name": c.name, "type": c.type}
    if c.type == "helm":
        doc.update(repository=c.repository, chart=c.chart, version=c.version)
    elif c.type == "kustomize":
        doc.update(source=c.source, tag=c.tag, path=c.path)
    doc["namespace"] = c.namespace
    doc["needs"] = list(c.needs)
    doc["manifests"] = list(c.manifests)
    if c.aliases:
        doc["aliases"] = list(c.aliases)
    if c.scheduling.items():
        doc["scheduling"] = {
            role: {"nodeSelector": list(r.node_selector), "tolerations": list(r.tolerations)}
            for role, r in c.scheduling.items()
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


def deployment_order(needs: dict[str, tuple[str, ...]]) -> list[str]:
    """The one deployment order: Kahn's algorithm, the smallest ready name first.

    Used by the matcher (``deploymentOrder`` of a resolved recipe) and by bundles (a
    handwritten recipe document without one), so both always agree. Raises RecipeError
    naming the components caught in a ``needs`` cycle.
    """
    waiting = {name: set(deps) for name, deps in needs.items()}
    users: dict[str, list[str]] = {name: [] for name in needs}
    for name, deps in needs.items():
        for d in deps:
            users.setdefault(d, []).append(name)
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for user in users.get(name, ()):
            waiting[user].discard(name)
            if not waiting[user]:
                heapq.heappush(ready, user)
    if len(order) != len(needs):
        placed = set(order)
        stuck = sorted(n for n in needs if n not in placed)
        raise RecipeError("components need each other in a cycle: " + ", ".join(stuck))
    return order
