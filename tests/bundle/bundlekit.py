"""Helpers for bundle tests: the shipped gb200 recipe (as `eidos recipe -o json` prints it), its payloads, rendering."""

from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bundle"
RECIPE_FILE = FIXTURES / "recipe-gb200-eks-ubuntu-training.json"
PAYLOADS = FIXTURES / "payloads"
GOLDEN = FIXTURES / "golden"
SCHEMAS = FIXTURES / "schemas"
GITOPS = {
    "repo": "https://github.com/acme/gitops.git",
    "revision": "main",
    "repo_path": "clusters/gb200",
}


def load_payloads() -> dict[str, str]:
    return {
        p.relative_to(PAYLOADS).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(PAYLOADS.rglob("*"))
        if p.is_file()
    }


def reader(payloads: dict[str, str]):
    def read_payload(path: str) -> str:
        return payloads[path]  # KeyError for unknown paths, like RuleGraph.read_payload

    return read_payload


def gb200_document() -> dict:
    return json.loads(RECIPE_FILE.read_text(encoding="utf-8"))


def render(deployer: str, document: dict | None = None, **options):
    from eidos.bundle import BundleOptions, make_bundle

    if deployer in ("argocd", "flux"):
        for key, value in GITOPS.items():
            options.setdefault(key, value)
    doc = copy.deepcopy(document) if document is not None else gb200_document()
    return make_bundle(doc, reader(load_payloads()), BundleOptions(deployer=deployer, **options))


def small_document() -> dict:
    """A recipe exercising every component type, an OCI chart and an aliased chart."""
    return {
        "apiVersion": "eidos.dev/v1alpha1",
        "kind": "Recipe",
        "metadata": {"generator": "eidos 0.1.0"},
        "criteria": {"service": "eks", "accelerator": "h100"},
        "overlays": ["base"],
        "requirements": [],
        "components": [
            {
                "name": "app",
                "type": "kustomize",
                "source": "https://github.com/org/repo.git",
                "tag": "v1.0.0",
                "path": "deploy/overlays/prod",
                "namespace": "x",
                "needs": ["extras"],
                "manifests": [],
                "values": {},
            },
            {
                "name": "extras",
                "type": "manifest",
                "needs": [],
                "manifests": [
                    "recipes/components/gpu-operator/manifests/kernel-module-params.yaml"
                ],
                "values": {},
            },
            {
                "name": "prometheus",
                "type": "helm",
                "repository": "https://prometheus-community.github.io/helm-charts",
                "chart": "kube-prometheus-stack",
                "version": "81.2.2",
                "needs": [],
                "manifests": [],
                "values": {"grafana": {"enabled": False}},
            },
            {
                "name": "sentinel",
                "type": "helm",
                "repository": "oci://ghcr.io/nvidia",
                "chart": "nvsentinel",
                "version": "v0.6.0",
                "needs": ["prometheus"],
                "manifests": [],
                "values": {},
            },
        ],
    }


def is_helm_template(path: str) -> bool:
    return "/templates/" in path or path.startswith("templates/")


def objects(files):
    """(path, object) of every Kubernetes object in a bundle's YAML (Helm templates excepted)."""
    from eidos.io import yamlio

    for path, file in files.items():
        if not path.endswith(".yaml") or is_helm_template(path):
            continue
        for doc in yamlio.load_all(file.content.decode(), path):
            if isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc:
                yield path, doc
