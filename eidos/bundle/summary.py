"""The bundle's self-description: ``bundle.json`` for machines, ``checksums.txt`` for sha256sum.

``checksums.txt`` covers every file in the bundle except itself (recipe.yaml and bundle.json
included), one ``<sha256>  <path>`` line per file in sorted path order, so
``sha256sum -c checksums.txt`` verifies the whole directory.
"""

from __future__ import annotations

import hashlib
from typing import Any

from eidos.bundle.context import GENERATOR, Context
from eidos.bundle.files import FileSet
from eidos.bundle.model import Component
from eidos.io.yamlio import dump_json

SUMMARY = "bundle.json"
CHECKSUMS = "checksums.txt"
RECIPE = "recipe.yaml"


def _component(component: Component) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": component.name,
        "type": component.type,
        "namespace": component.namespace,
    }
    if component.type == "helm":
        entry.update(
            chart=component.chart, repository=component.repository, version=component.version
        )
    elif component.type == "kustomize":
        entry.update(source=component.source, tag=component.tag, path=component.path)
    entry["needs"] = list(component.needs)
    entry["manifests"] = list(component.manifests)
    return entry


def summary(
    ctx: Context, deployer: str, inputs: dict[str, Any], warnings: list[str], paths: list[str]
) -> str:
    doc: dict[str, Any] = {
        "apiVersion": "eidos.dev/v1alpha1",
        "kind": "Bundle",
        "generator": GENERATOR,
        "deployer": deployer,
        "name": ctx.stack_name,
        "criteria": ctx.recipe.criteria,
        "overlays": list(ctx.recipe.overlays),
    }
    if ctx.gitops is not None:
        doc["gitops"] = {
            "repo": ctx.gitops.repo,
            "revision": ctx.gitops.revision,
            "path": ctx.gitops.path,
        }
    doc["deploymentOrder"] = [c.name for c in ctx.components]
    doc["components"] = [_component(c) for c in ctx.components]
    doc["inputs"] = inputs
    doc["warnings"] = list(warnings)
    doc["files"] = sorted(set(paths) | {SUMMARY, CHECKSUMS})
    return dump_json(doc)


def checksums(files: FileSet) -> str:
    lines = [
        f"{hashlib.sha256(file.content).hexdigest()}  {path}"
        for path, file in files.items()
        if path != CHECKSUMS
    ]
    return "\n".join(lines) + "\n"
