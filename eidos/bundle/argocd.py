"""Argo CD deployer: app-of-apps with sync waves in deployment order.

Each component is an ``Application`` whose source is the component itself: a Helm chart
(repoURL = chart repository, chart = chart name, targetRevision = version verbatim, values
inline in ``helm.valuesObject``) or a Kustomize path. Manifests travel in the bundle as a
small chart under ``components/<name>/manifests`` and get their own Application, one wave
after their component, reading that path from the GitOps repository. The parent
Application reads ``apps/`` from the same repository, which is why ``--repo`` and
``--revision`` are required: a bundle with a placeholder URL cannot sync.

OCI charts: Argo CD takes the registry path without ``oci://`` and needs a repository
Secret with ``enableOCI: "true"``; the bundle carries one per registry path (no credentials).
"""

from __future__ import annotations

import re

from eidos.bundle import yamlout
from eidos.bundle.context import GENERATOR, Context, manifest_chart
from eidos.bundle.files import FileSet
from eidos.bundle.model import Component
from eidos.bundle.readme import components_table, requirements_section

ARGOCD_NAMESPACE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
FINALIZER = "resources-finalizer.argocd.argoproj.io"


def _labels(ctx: Context) -> dict:
    return {"app.kubernetes.io/part-of": ctx.stack_name, "app.kubernetes.io/managed-by": "eidos"}


def _sync_policy(*, server_side: bool) -> dict:
    options = ["CreateNamespace=true"]
    if server_side:
        # Large CRDs (gpu-operator, kube-prometheus-stack) exceed client-side apply limits.
        options.append("ServerSideApply=true")
    return {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": options,
        "retry": {"limit": 5, "backoff": {"duration": "30s", "factor": 2, "maxDuration": "5m"}},
    }


def _application(ctx: Context, name: str, wave: int, source: dict, namespace: str) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": ARGOCD_NAMESPACE,
            "labels": _labels(ctx),
            "annotations": {"argocd.argoproj.io/sync-wave": str(wave)},
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": "default",
            "source": source,
            "destination": {"server": IN_CLUSTER, "namespace": namespace},
            "syncPolicy": _sync_policy(server_side=True),
        },
    }


def oci_registry_path(component: Component) -> str:
    return component.repository.removeprefix("oci://").rstrip("/")


def _component_source(component: Component) -> dict:
    if component.type == "helm":
        source = {
            "repoURL": oci_registry_path(component) if component.is_oci else component.repository,
            "chart": component.chart,
            "targetRevision": component.version,
        }
        helm: dict = {"releaseName": component.name}
        if component.values:
            helm["valuesObject"] = component.values
        source["helm"] = helm
        return source
    return {"repoURL": component.source, "targetRevision": component.tag, "path": component.path}


def _repository_secret(ctx: Context, url: str) -> dict:
    slug = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-")[:50].rstrip("-")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"repo-{slug}",
            "namespace": ARGOCD_NAMESPACE,
            "labels": {"argocd.argoproj.io/secret-type": "repository", **_labels(ctx)},
            "annotations": {"argocd.argoproj.io/sync-wave": "-1"},
        },
        "type": "Opaque",
        "stringData": {"type": "helm", "name": slug, "url": url, "enableOCI": "true"},
    }


def applications(ctx: Context) -> list[tuple[str, dict]]:
    """(file name under apps/, object), in sync-wave order."""
    assert ctx.gitops is not None
    out: list[tuple[str, dict]] = []
    registries = sorted(
        {oci_registry_path(c) for c in ctx.components if c.type == "helm" and c.is_oci}
    )
    for url in registries:
        secret = _repository_secret(ctx, url)
        out.append((f"{secret['metadata']['name']}.yaml", secret))
    wave = 0
    for component in ctx.components:
        if component.type != "manifest":
            app = _application(
                ctx, component.name, wave, _component_source(component), component.namespace
            )
            out.append((f"{component.name}.yaml", app))
            wave += 1
        if component.manifests:
            source = {
                "repoURL": ctx.gitops.repo,
                "targetRevision": ctx.gitops.revision,
                "path": ctx.gitops.join("components", component.name, "manifests"),
                "helm": {"releaseName": component.manifest_release},
            }
            app = _application(ctx, component.manifest_release, wave, source, component.namespace)
            out.append((f"{component.manifest_release}.yaml", app))
            wave += 1
    return out


def app_of_apps(ctx: Context) -> dict:
    assert ctx.gitops is not None
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": ctx.stack_name,
            "namespace": ARGOCD_NAMESPACE,
            "labels": _labels(ctx),
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": ctx.gitops.repo,
                "targetRevision": ctx.gitops.revision,
                "path": ctx.gitops.join("apps"),
            },
            "destination": {"server": IN_CLUSTER, "namespace": ARGOCD_NAMESPACE},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


_HEALTH_LUA = """\
resource.customizations.health.argoproj.io_Application: |
  hs = {}
  hs.status = "Progressing"
  hs.message = ""
  if obj.status ~= nil then
    if obj.status.health ~= nil then
      hs.status = obj.status.health.status
      if obj.status.health.message ~= nil then
        hs.message = obj.status.health.message
      end
    end
  end
  return hs
"""


def readme(ctx: Context, apps: list[tuple[str, dict]]) -> str:
    assert ctx.gitops is not None
    waves = "\n".join(
        f"| {obj['metadata']['annotations']['argocd.argoproj.io/sync-wave']} | {obj['metadata']['name']} "
        f"| {obj['kind']} |"
        for _, obj in apps
    )
    where = ctx.gitops.path or "the repository root"
    return (
        f"# {ctx.stack_name}\n\n"
        f"Argo CD app-of-apps for {ctx.criteria_text()}, generated by {GENERATOR}.\n\n"
        "## Components (deployment order)\n\n"
        f"{components_table(ctx)}\n"
        f"{requirements_section(ctx)}"
        "## Deploy\n\n"
        f"1. Commit this directory to `{ctx.gitops.repo}` at revision `{ctx.gitops.revision}`,\n"
        f"   under {where} (the Applications read `apps/` and `components/` from there).\n"
        "2. Apply the parent Application:\n\n"
        "```sh\nkubectl apply -n argocd -f app-of-apps.yaml\n```\n\n"
        "## Sync waves\n\n| Wave | Object | Kind |\n|---|---|---|\n"
        f"{waves}\n\n"
        "Argo CD waits for a wave to be healthy before the next one only if it can assess the\n"
        "health of child Applications, which it no longer does by default (since 1.8). Add this\n"
        "to the `argocd-cm` ConfigMap so the waves above really run in order:\n\n"
        f"```yaml\n{_HEALTH_LUA}```\n\n"
        "## Verify the bundle\n\n"
        "```sh\nsha256sum -c checksums.txt\n```\n"
    )


def render(ctx: Context) -> FileSet:
    files = FileSet()
    apps = applications(ctx)
    for name, obj in apps:
        files.add(f"apps/{name}", yamlout.dump(obj))
    files.add(
        "app-of-apps.yaml",
        yamlout.dump(app_of_apps(ctx), f"Parent Application, generated by {GENERATOR}."),
    )
    for component in ctx.components:
        if component.manifests:
            files.update(manifest_chart(ctx, component, f"components/{component.name}/manifests"))
    files.add("README.md", readme(ctx, apps))
    return files
