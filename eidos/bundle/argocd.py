"""Argo CD deployer: app-of-apps with sync waves in deployment order.

Every Application reads from the GitOps repository (``--repo`` at ``--revision``), so the
revision the user commits is the revision that deploys:

* a Helm component is a multi-source Application (``spec.sources``, Argo CD >= 2.6): the
  chart (repoURL = chart repository, chart = chart name, targetRevision = version verbatim)
  takes ``helm.valueFiles: [$values/<repo-path>/components/<name>/values.yaml]`` from the
  second source, the GitOps repository with ``ref: values``. The values live in the bundle
  (the same file the script deployer writes), never inline in the Application;
* a Kustomize component builds its own repository at its tag, plus the GitOps repository
  as a reference-only source (``ref: bundle``, no path: nothing is rendered from it) so
  that the Application records the bundle revision it was synced with, like all others;
* manifests travel as a small chart under ``components/<name>/manifests`` and get their
  own Application, one wave after their component, reading that path from the GitOps
  repository; the parent Application reads ``apps/`` from there too.

That is why ``--repo`` and ``--revision`` are required: a placeholder URL cannot sync.

OCI charts: Argo CD takes the registry path without ``oci://`` and needs a repository
Secret with ``enableOCI: "true"``; the bundle carries one per registry path (no credentials).

``ctx.argocd`` (``--argocd-namespace``, ``--project``, ``--destination-server|-name``,
``--name-prefix``) places the objects: every Application and Secret lives in the Argo CD
namespace and carries the prefix, every Application is in the project, and the component
Applications deploy to the destination. The parent Application always deploys to the
cluster Argo CD runs in: what it creates are Application objects, which live next to Argo CD.
"""

from __future__ import annotations

import re

from eidos.bundle import yamlout
from eidos.bundle.argosettings import IN_CLUSTER
from eidos.bundle.context import GENERATOR, Context
from eidos.bundle.files import FileSet
from eidos.bundle.model import Component
from eidos.bundle.readme import components_table, requirements_section
from eidos.bundle.script import component_files, values_path

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


def _application(ctx: Context, name: str, wave: int, sources: list[dict], namespace: str) -> dict:
    """One Application; a single source goes to ``spec.source``, several to ``spec.sources``."""
    spec_source = {"source": sources[0]} if len(sources) == 1 else {"sources": sources}
    settings = ctx.argocd
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": settings.app_name(name),
            "namespace": settings.namespace,
            "labels": _labels(ctx),
            "annotations": {"argocd.argoproj.io/sync-wave": str(wave)},
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": settings.project,
            **spec_source,
            "destination": {**settings.destination(), "namespace": namespace},
            "syncPolicy": _sync_policy(server_side=True),
        },
    }


def oci_registry_path(component: Component) -> str:
    return component.repository.removeprefix("oci://").rstrip("/")


VALUES_REF = "values"  # source holding the values files of chart Applications
BUNDLE_REF = "bundle"  # reference-only GitOps source of Kustomize Applications


def _gitops_source(ctx: Context, ref: str) -> dict:
    assert ctx.gitops is not None
    return {"repoURL": ctx.gitops.repo, "targetRevision": ctx.gitops.revision, "ref": ref}


def _component_sources(ctx: Context, component: Component) -> list[dict]:
    assert ctx.gitops is not None
    if component.type == "helm":
        chart = {
            "repoURL": oci_registry_path(component) if component.is_oci else component.repository,
            "chart": component.chart,
            "targetRevision": component.version,
            "helm": {
                "releaseName": component.name,
                "valueFiles": [f"${VALUES_REF}/{ctx.gitops.join(values_path(component))}"],
            },
        }
        return [chart, _gitops_source(ctx, VALUES_REF)]
    own = {"repoURL": component.source, "targetRevision": component.tag, "path": component.path}
    return [own, _gitops_source(ctx, BUNDLE_REF)]


def _secret_slug(url: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-")[:50].rstrip("-")


def _repository_secret(ctx: Context, url: str) -> dict:
    """Repository Secret for an OCI registry; prefixed like the Applications (a Secret name
    may be a DNS-1123 subdomain, so the prefix never makes it too long)."""
    slug = _secret_slug(url)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"{ctx.argocd.name_prefix}repo-{slug}",
            "namespace": ctx.argocd.namespace,
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
        out.append((f"repo-{_secret_slug(url)}.yaml", secret))
    wave = 0
    for component in ctx.components:
        if component.type != "manifest":
            app = _application(
                ctx, component.name, wave, _component_sources(ctx, component), component.namespace
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
            app = _application(ctx, component.manifest_release, wave, [source], component.namespace)
            out.append((f"{component.manifest_release}.yaml", app))
            wave += 1
    return out


def app_of_apps(ctx: Context) -> dict:
    assert ctx.gitops is not None
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": ctx.argocd.app_name(ctx.stack_name),
            "namespace": ctx.argocd.namespace,
            "labels": _labels(ctx),
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": ctx.argocd.project,
            "source": {
                "repoURL": ctx.gitops.repo,
                "targetRevision": ctx.gitops.revision,
                "path": ctx.gitops.join("apps"),
            },
            "destination": {"server": IN_CLUSTER, "namespace": ctx.argocd.namespace},
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


def _placement_note(ctx: Context) -> str:
    """What the AppProject must allow, when project or destination are not the defaults."""
    settings = ctx.argocd
    if settings.project == "default" and settings.destination() == {"server": IN_CLUSTER}:
        return ""
    cluster = ", ".join(f"{k} `{v}`" for k, v in settings.destination().items())
    return (
        f"The Applications belong to the AppProject `{settings.project}`. Components deploy to\n"
        f"the cluster with {cluster}; the parent Application deploys Application objects to\n"
        f"server `{IN_CLUSTER}`, namespace `{settings.namespace}`, where Argo CD runs. The\n"
        "project must allow both destinations and every component namespace.\n\n"
    )


def readme(ctx: Context, apps: list[tuple[str, dict]]) -> str:
    assert ctx.gitops is not None
    waves = "\n".join(
        f"| {obj['metadata']['annotations']['argocd.argoproj.io/sync-wave']} | {obj['metadata']['name']} "
        f"| {obj['kind']} |"
        for _, obj in apps
    )
    where = ctx.gitops.path or "the repository root"
    kustomize_note = ""
    if any(c.type == "kustomize" for c in ctx.components):
        kustomize_note = (
            "Kustomize Applications build their own repository at its tag and list this\n"
            f"repository as a second, reference-only source (`ref: {BUNDLE_REF}`, nothing is read\n"
            "from it), so that every Application records the bundle revision it synced with.\n\n"
        )
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
        f"```sh\nkubectl apply -n {ctx.argocd.namespace} -f app-of-apps.yaml\n```\n\n"
        "Requires Argo CD 2.6 or newer: chart Applications have two sources, the chart and\n"
        f"this repository (`ref: {VALUES_REF}`), and read their values from\n"
        f"`$values/{ctx.gitops.join('components/<component>/values.yaml')}`. Change values by\n"
        "regenerating the bundle (`eidos bundle --set ...`) and committing it, not in the\n"
        "Applications.\n\n"
        f"{kustomize_note}"
        f"{_placement_note(ctx)}"
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
    # components/<name>/values.yaml (read through $values) and the manifest charts.
    files.update(component_files(ctx))
    files.add("README.md", readme(ctx, apps))
    return files
