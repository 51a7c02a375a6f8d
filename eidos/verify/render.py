"""Render one component with Helm v4's engine and parse what comes out into objects.

A Helm component is its chart rendered offline (no cluster; ``lookup`` returns nothing)
with the recipe's merged values, as ``helm install`` would for a fresh release in the
component's namespace. A component's own manifests (``manifest`` in the rules) are
rendered the way the bundles install them: a small chart whose values nest the
component's values under its name (:func:`eidos.bundle.context.manifest_chart`).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import attrs

from eidos.errors import InputError


@attrs.frozen(eq=False)
class RenderedObject:
    """One Kubernetes object a component creates."""

    component: str
    template: str  # the template it came from, e.g. gpu-operator/templates/clusterpolicy.yaml
    body: dict[str, Any]
    namespace: str  # metadata.namespace or the release namespace
    from_crds_dir: bool = False  # a chart's crds/ file: installed before its templates

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


# Helm's own document separator (releaseutil.SplitManifests): '---' at a line start, even
# when a comment follows on the same line, as in cert-manager's rbac.yaml.
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def _loader():
    """PyYAML's safe loader (C when available: CRDs are large), reading YAML's ``=`` value
    key as the plain string it is for Kubernetes' Go YAML (the Prometheus Operator CRDs
    use it as an enum value)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    Loader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)
    return Loader


_LOADER = None


def _load(chunk: str, source: str):
    global _LOADER
    import yaml

    if _LOADER is None:
        _LOADER = _loader()
    try:
        return yaml.load(chunk, Loader=_LOADER)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as err:
        raise InputError(f"{source}: rendered YAML is unreadable: {err}") from None


def _documents(text: str, source: str) -> list[dict]:
    docs = [_load(chunk, source) for chunk in _SEPARATOR.split(text) if chunk.strip()]
    out: list[dict] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out += [d for d in doc["items"] if isinstance(d, dict)]
        elif isinstance(doc, dict) and doc.get("kind"):
            out.append(doc)
    return out


def objects_from(manifests: dict[str, str], component: str, namespace: str, *, crds: bool = False):
    """Rendered template texts (path -> YAML) as objects, in path order."""
    out: list[RenderedObject] = []
    for path in sorted(manifests):
        if not path.endswith((".yaml", ".yml", ".json")) or path.endswith("NOTES.txt"):
            continue
        for body in _documents(manifests[path], path):
            meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            ns = str(meta.get("namespace") or ("" if _cluster_scoped(body) else namespace))
            out.append(RenderedObject(component, path, body, ns, from_crds_dir=crds))
    return out


# Kinds that have no namespace (the ones the charts here render; custom kinds are looked up in CRDs).
CLUSTER_KINDS = {
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "StorageClass", "PriorityClass", "RuntimeClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
    "CSIDriver", "IngressClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "DeviceClass", "SecurityContextConstraints", "ClusterIssuer", "ClusterPolicy",
    "NodeFeatureRule", "NicClusterPolicy", "Skyhook", "ComputeDomain",
}


def _cluster_scoped(body: dict) -> bool:
    return body.get("kind") in CLUSTER_KINDS


def render_chart(helm, chart_path: Path, values: dict, release: str, namespace: str) -> dict[str, str]:
    """Template path -> rendered text; raises helm's errors (the caller reports them)."""
    with helm.Chart.load(str(chart_path)) as chart:
        return chart.render(values, name=release, namespace=namespace, is_install=True)


def chart_crds(helm, chart_path: Path) -> dict[str, str]:
    """The CRD files under the chart's (and subcharts') crds/ directories."""
    with helm.Chart.load(str(chart_path)) as chart:
        return {c.get("filename") or c.get("name"): c.get("data", "") for c in chart.crds}


def render_manifest_chart(helm, files: dict[str, str], release: str, namespace: str) -> dict[str, str]:
    """Render a bundle's manifest chart (relative path -> text) from a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="eidos-verify-") as tmp:
        for rel, text in files.items():
            target = Path(tmp, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        with helm.Chart.load(tmp) as chart:
            return chart.render(None, name=release, namespace=namespace, is_install=True)
