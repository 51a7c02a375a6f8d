"""Flux deployer: sources, one HelmRelease per component, ordered by ``dependsOn``.

Layout: ``bootstrap.yaml`` (the GitRepository holding this bundle and the root Flux
Kustomization that applies ``flux/``), ``flux/sources.yaml`` (one HelmRepository per chart
repository URL, one OCIRepository per ``oci://`` chart), ``flux/<component>.yaml``, and a
kustomize ``flux/kustomization.yaml`` listing them, so nothing else in the bundle (the
recipe, the manifest charts) is ever applied as Kubernetes objects.

Ordering comes from ``needs``. Flux can only order a HelmRelease after HelmReleases and a
Kustomization after Kustomizations, so a need that crosses the two kinds cannot be
expressed; the bundle is refused with an explanation instead of silently losing the order.
All Flux objects live in ``flux-system``; releases go to their component's namespace via
``targetNamespace`` with an explicit ``releaseName``.
"""

from __future__ import annotations

import re

from eidos.bundle import yamlout
from eidos.bundle.context import GENERATOR, Context, manifest_chart
from eidos.bundle.files import FileSet
from eidos.bundle.model import Component
from eidos.bundle.readme import components_table, requirements_section
from eidos.errors import UsageError

FLUX_NAMESPACE = "flux-system"
HELM_API = "helm.toolkit.fluxcd.io/v2"
SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
HELM_OCI_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_SHA = re.compile(r"^[0-9a-f]{40}$")


def _slug(text: str, limit: int = 63) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-")


def git_ref(revision: str) -> dict:
    """Flux GitRepository ref: a commit SHA, a full ref name, or else a branch."""
    if _SHA.match(revision):
        return {"commit": revision}
    if revision.startswith("refs/"):
        return {"name": revision}
    return {"branch": revision}


def _meta(ctx: Context, name: str) -> dict:
    return {
        "name": name,
        "namespace": FLUX_NAMESPACE,
        "labels": {
            "app.kubernetes.io/part-of": ctx.stack_name,
            "app.kubernetes.io/managed-by": "eidos",
        },
    }


class _Sources:
    """Source objects, shared per chart repository URL, with stable collision-free names."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.objects: list[dict] = []
        self._helm_repos: dict[str, str] = {}
        self._names: set[str] = set()

    def _unique(self, base: str) -> str:
        name, n = base, 2
        while name in self._names:
            name = f"{base[:60]}-{n}"
            n += 1
        self._names.add(name)
        return name

    def helm_repository(self, url: str) -> str:
        if url not in self._helm_repos:
            name = self._unique(_slug(url.split("://", 1)[-1]))
            self._helm_repos[url] = name
            self.objects.append(
                {
                    "apiVersion": SOURCE_API,
                    "kind": "HelmRepository",
                    "metadata": _meta(self.ctx, name),
                    "spec": {"interval": "1h", "url": url},
                }
            )
        return self._helm_repos[url]

    def oci_chart(self, component: Component) -> str:
        name = self._unique(f"{component.name}-chart")
        self.objects.append(
            {
                "apiVersion": SOURCE_API,
                "kind": "OCIRepository",
                "metadata": _meta(self.ctx, name),
                "spec": {
                    "interval": "1h",
                    "url": component.chart_ref,
                    "ref": {"tag": component.version},
                    "layerSelector": {"mediaType": HELM_OCI_LAYER, "operation": "copy"},
                },
            }
        )
        return name

    def git(self, component: Component) -> str:
        name = self._unique(f"{component.name}-source")
        self.objects.append(
            {
                "apiVersion": SOURCE_API,
                "kind": "GitRepository",
                "metadata": _meta(self.ctx, name),
                "spec": {"interval": "1h", "url": component.source, "ref": {"tag": component.tag}},
            }
        )
        return name


def _release_spec(component: Component, release: str, chart: dict) -> dict:
    return {
        "interval": "10m",
        "releaseName": release,
        "targetNamespace": component.namespace,
        "storageNamespace": component.namespace,
        **chart,
        "install": {"createNamespace": True, "remediation": {"retries": 3}},
        "upgrade": {"remediation": {"retries": 3}},
    }


def _check_order(ctx: Context) -> None:
    kinds = {
        c.name: ("Kustomization" if c.type == "kustomize" else "HelmRelease")
        for c in ctx.components
    }
    for component in ctx.components:
        for need in component.needs:
            if kinds[need] != kinds[component.name]:
                raise UsageError(
                    f"flux cannot order {component.name} (a {kinds[component.name]}) after "
                    f"{need} (a {kinds[need]}): Flux dependsOn only links objects of one kind",
                    hint="use -d argocd or -d script for this recipe",
                )
        if component.type == "kustomize" and component.manifests:
            raise UsageError(
                f"flux cannot order the manifests of kustomize component {component.name} "
                "after it (a HelmRelease cannot depend on a Kustomization)",
                hint="use -d argocd or -d script for this recipe",
            )


def component_objects(
    ctx: Context, component: Component, sources: _Sources, bundle_repo: str
) -> list[dict]:
    assert ctx.gitops is not None
    depends = [{"name": n} for n in component.needs]
    objects: list[dict] = []
    if component.type == "helm":
        if component.is_oci:
            chart = {"chartRef": {"kind": "OCIRepository", "name": sources.oci_chart(component)}}
        else:
            chart = {
                "chart": {
                    "spec": {
                        "chart": component.chart,
                        "version": component.version,
                        "sourceRef": {
                            "kind": "HelmRepository",
                            "name": sources.helm_repository(component.repository),
                        },
                        "interval": "1h",
                    }
                }
            }
        spec = _release_spec(component, component.name, chart)
        if depends:
            spec["dependsOn"] = depends
        if component.values:
            spec["values"] = component.values
        objects.append(
            {
                "apiVersion": HELM_API,
                "kind": "HelmRelease",
                "metadata": _meta(ctx, component.name),
                "spec": spec,
            }
        )
    elif component.type == "kustomize":
        spec = {
            "interval": "10m",
            "sourceRef": {"kind": "GitRepository", "name": sources.git(component)},
            "path": "./" + component.path.strip("/") if component.path not in ("", ".") else "./",
            "targetNamespace": component.namespace,
            "prune": True,
            "wait": True,
            "timeout": "10m",
        }
        if depends:
            spec["dependsOn"] = depends
        objects.append(
            {
                "apiVersion": KUSTOMIZE_API,
                "kind": "Kustomization",
                "metadata": _meta(ctx, component.name),
                "spec": spec,
            }
        )
    if component.manifests:
        chart = {
            "chart": {
                "spec": {
                    "chart": "./" + ctx.gitops.join("components", component.name, "manifests"),
                    "sourceRef": {"kind": "GitRepository", "name": bundle_repo},
                    "reconcileStrategy": "Revision",
                    "interval": "10m",
                }
            }
        }
        spec = _release_spec(component, component.manifest_release, chart)
        after = [{"name": component.name}] if component.type == "helm" else depends
        if after:
            spec["dependsOn"] = after
        objects.append(
            {
                "apiVersion": HELM_API,
                "kind": "HelmRelease",
                "metadata": _meta(ctx, component.manifest_release),
                "spec": spec,
            }
        )
    return objects


def bootstrap(ctx: Context) -> list[dict]:
    assert ctx.gitops is not None
    return [
        {
            "apiVersion": SOURCE_API,
            "kind": "GitRepository",
            "metadata": _meta(ctx, ctx.stack_name),
            "spec": {"interval": "5m", "url": ctx.gitops.repo, "ref": git_ref(ctx.gitops.revision)},
        },
        {
            "apiVersion": KUSTOMIZE_API,
            "kind": "Kustomization",
            "metadata": _meta(ctx, ctx.stack_name),
            "spec": {
                "interval": "10m",
                "sourceRef": {"kind": "GitRepository", "name": ctx.stack_name},
                "path": "./" + ctx.gitops.join("flux"),
                "prune": True,
                "wait": True,
                "timeout": "30m",
            },
        },
    ]


def readme(ctx: Context) -> str:
    assert ctx.gitops is not None
    where = ctx.gitops.path or "the repository root"
    return (
        f"# {ctx.stack_name}\n\n"
        f"Flux bundle for {ctx.criteria_text()}, generated by {GENERATOR}.\n\n"
        "## Components (deployment order)\n\n"
        f"{components_table(ctx)}\n"
        f"{requirements_section(ctx)}"
        "## Deploy\n\n"
        f"1. Commit this directory to `{ctx.gitops.repo}` (revision `{ctx.gitops.revision}`)\n"
        f"   under {where}.\n"
        "2. Apply the bootstrap objects (GitRepository + root Kustomization) once:\n\n"
        "```sh\nkubectl apply -f bootstrap.yaml\nflux get helmreleases -n flux-system\n```\n\n"
        "Releases wait for what they need through `dependsOn`; manifests are installed after\n"
        "their component as the release `<component>-manifests`. Requires Flux 2.6 or newer\n"
        "(`source.toolkit.fluxcd.io/v1` OCIRepository, `helm.toolkit.fluxcd.io/v2`).\n\n"
        "## Verify the bundle\n\n"
        "```sh\nsha256sum -c checksums.txt\n```\n"
    )


def render(ctx: Context) -> FileSet:
    assert ctx.gitops is not None
    _check_order(ctx)
    files = FileSet()
    sources = _Sources(ctx)
    sources._names.add(ctx.stack_name)
    resources = ["sources.yaml"]
    per_component: list[tuple[str, list[dict]]] = []
    for component in ctx.components:
        objects = component_objects(ctx, component, sources, ctx.stack_name)
        per_component.append((f"{component.name}.yaml", objects))
        if component.manifests:
            files.update(manifest_chart(ctx, component, f"components/{component.name}/manifests"))
    files.add(
        "flux/sources.yaml",
        yamlout.dump_all(sources.objects, f"Chart sources, generated by {GENERATOR}."),
    )
    for name, objects in per_component:
        files.add(f"flux/{name}", yamlout.dump_all(objects))
        resources.append(name)
    files.add(
        "flux/kustomization.yaml",
        yamlout.dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": resources,
            }
        ),
    )
    files.add(
        "bootstrap.yaml",
        yamlout.dump_all(
            bootstrap(ctx), f"Apply once to point Flux at this bundle; generated by {GENERATOR}."
        ),
    )
    files.add("README.md", readme(ctx))
    return files
