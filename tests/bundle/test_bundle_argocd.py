"""Argo CD bundles: every Application reads --repo at --revision, waves follow deployment order.

Chart Applications are multi-source (chart + GitOps repository with ``ref: values``) and take
their values from ``components/<name>/values.yaml`` in the bundle, never inline.
"""

from __future__ import annotations

import json
import re

import crdkit
import pytest
from bundlekit import gb200_document, render, small_document

from eidos.bundle import build_request
from eidos.bundle.model import parse_recipe
from eidos.io import yamlio

WAVE = "argocd.argoproj.io/sync-wave"


def applications(files) -> dict[str, dict]:
    """Every Application of the bundle by name: apps/*.yaml and the parent."""
    apps = {}
    for path, file in files.items():
        if path == "app-of-apps.yaml" or path.startswith("apps/"):
            obj = yamlio.load(file.content.decode(), path)
            if obj["kind"] == "Application":
                apps[obj["metadata"]["name"]] = obj
    return apps


def sources(app: dict) -> list[dict]:
    spec = app["spec"]
    assert ("source" in spec) != ("sources" in spec), app["metadata"]["name"]
    return spec["sources"] if "sources" in spec else [spec["source"]]


def wave(app: dict) -> int:
    return int(app["metadata"]["annotations"][WAVE])


@pytest.mark.parametrize(
    ("repo", "revision", "repo_path"),
    [
        ("https://github.com/acme/gitops.git", "main", "clusters/gb200"),
        ("git@github.com:acme/fleet.git", "0123456789abcdef0123456789abcdef01234567", ""),
        ("ssh://git@git.example.com/infra/gpu.git", "v2.1.0", "a/b"),
    ],
)
@pytest.mark.parametrize("make_document", (gb200_document, small_document))
def test_every_application_carries_repo_and_revision(make_document, repo, revision, repo_path):
    files = render(
        "argocd", make_document(), repo=repo, revision=revision, repo_path=repo_path
    ).files
    apps = applications(files)
    recipe = parse_recipe(make_document())
    expected = {c.name for c in recipe.components if c.type != "manifest"}
    expected |= {c.manifest_release for c in recipe.components if c.manifests}
    assert set(apps) == expected | {recipe_stack_name(files)}
    prefix = f"{repo_path}/" if repo_path else ""
    for name, app in apps.items():
        srcs = sources(app)
        gitops = [s for s in srcs if s["repoURL"] == repo and s["targetRevision"] == revision]
        assert gitops, f"{name} does not read {repo} at {revision}"
        refs = {s["ref"] for s in srcs if "ref" in s}
        for source in srcs:
            for value_file in source.get("helm", {}).get("valueFiles", []):
                # "$values/<repo-path>/components/<name>/values.yaml": a declared ref, a real file.
                ref, _, rest = value_file.partition("/")
                assert ref.startswith("$") and ref[1:] in refs, value_file
                assert rest.startswith(prefix), value_file
                assert rest.removeprefix(prefix) in files, value_file
                ref_source = next(s for s in srcs if s.get("ref") == ref[1:])
                assert (ref_source["repoURL"], ref_source["targetRevision"]) == (repo, revision)
            assert "valuesObject" not in source.get("helm", {}), name
            assert "values" not in source.get("helm", {}), name


def recipe_stack_name(files) -> str:
    return yamlio.load(files["app-of-apps.yaml"].content.decode())["metadata"]["name"]


@pytest.mark.parametrize("make_document", (gb200_document, small_document))
def test_sync_waves_follow_deployment_order(make_document):
    files = render("argocd", make_document()).files
    apps = applications(files)
    recipe = parse_recipe(make_document())
    # Applications in deployment order: each component, then its manifests.
    ordered = []
    for component in recipe.components:
        if component.type != "manifest":
            ordered.append(component.name)
        if component.manifests:
            ordered.append(component.manifest_release)
    waves = [wave(apps[name]) for name in ordered]
    assert waves == sorted(waves) and len(set(waves)) == len(waves), dict(zip(ordered, waves))
    assert min(waves) >= 0
    # Every need lands in an earlier wave than everything of the component needing it.
    by_component = {
        c.name: [wave(apps[n]) for n in {c.name, c.manifest_release} if n in apps]
        for c in recipe.components
    }
    assert all(by_component.values())
    for component in recipe.components:
        for need in component.needs:
            assert max(by_component[need]) < min(by_component[component.name]), (
                f"{component.name} needs {need}"
            )
    # Repository secrets come first; the parent carries no wave.
    for path, file in files.items():
        if path.startswith("apps/"):
            obj = yamlio.load(file.content.decode(), path)
            if obj["kind"] == "Secret":
                assert int(obj["metadata"]["annotations"][WAVE]) < min(waves)
    assert WAVE not in apps[recipe_stack_name(files)]["metadata"].get("annotations", {})
    readme = files["README.md"].content.decode()
    rows = [
        line.split(" | ")[1]
        for line in readme.splitlines()
        if line.startswith("| ") and line.endswith(" | Application |")
    ]
    assert rows == ordered


def test_values_files_hold_resolved_values():
    """--set and scheduling reach components/<name>/values.yaml, which the Application reads."""
    scheduling = build_request([], ["nodeGroup=gpu"], [], [])
    result = render("argocd", sets=("gpuoperator:driver.version=25.10",), scheduling=scheduling)
    script = render("script", sets=("gpuoperator:driver.version=25.10",), scheduling=scheduling)
    files = result.files
    recipe = parse_recipe(gb200_document())
    for component in recipe.components:
        path = f"components/{component.name}/values.yaml"
        if component.type != "helm":
            assert path not in files
            continue
        # Same bytes as the script deployer: one values file per release, whatever deploys it.
        assert files[path].content == script.files[path].content
        app = yamlio.load(files[f"apps/{component.name}.yaml"].content.decode())
        assert app["spec"]["sources"][0]["helm"]["valueFiles"] == [f"$values/clusters/gb200/{path}"]
    gpu = yamlio.load(files["components/gpu-operator/values.yaml"].content.decode())
    assert gpu["driver"]["version"] == "25.10"
    assert "nodeGroup: gpu" in files["components/gpu-operator/values.yaml"].content.decode()
    text = "".join(f.content.decode() for p, f in files.items() if p.startswith("apps/"))
    assert "25.10" not in text and "nodeGroup" not in text


def test_chart_sources_keep_version_and_oci_form():
    files = render("argocd").files
    apps = applications(files)
    chart, values = apps["nvsentinel"]["spec"]["sources"]
    assert chart["repoURL"] == "ghcr.io/nvidia" and "oci://" not in chart["repoURL"]
    assert chart["targetRevision"] == "v0.6.0"
    assert values["ref"] == "values" and "path" not in values and "chart" not in values
    assert "apps/repo-ghcr-io-nvidia.yaml" in files


def source_problems(app: dict) -> list[str]:
    """What Argo CD refuses at sync time although its CRD accepts it (the CRD leaves these to
    the controller; pkg/apis/application/v1alpha1/types.go, docs user-guide/multiple_sources):
    exactly one of source/sources, a non-empty sources list, a chart source with a
    targetRevision and no path, a ref that can be named as ``$ref`` in valueFiles, and an
    integer sync-wave."""
    spec, problems = app["spec"], []
    if ("source" in spec) == ("sources" in spec):
        problems.append("exactly one of spec.source and spec.sources")
    srcs = spec.get("sources", [spec.get("source")] if "source" in spec else [])
    if "sources" in spec and not srcs:
        problems.append("spec.sources is empty")
    for source in srcs:
        if "chart" in source and ("path" in source or not source.get("targetRevision")):
            problems.append(f"chart source {source['chart']}: targetRevision and no path")
        if "ref" in source and not re.fullmatch(r"[A-Za-z0-9_-]+", source["ref"]):
            problems.append(f"ref {source['ref']!r} is not a plain name")
    wave = app["metadata"].get("annotations", {}).get(WAVE)
    if wave is not None and not re.fullmatch(r"-?[0-9]+", wave):
        problems.append(f"sync-wave {wave!r} is not an integer")
    return problems


def test_applications_satisfy_crd_and_sync_time_rules():
    for make_document in (gb200_document, small_document):
        for app in applications(render("argocd", make_document()).files).values():
            crdkit.check(app)
            assert source_problems(app) == [], app["metadata"]["name"]


def test_crd_and_sync_time_rules_reject_bad_sources():
    app = applications(render("argocd").files)["gpu-operator"]
    assert crdkit.violations(app) == [] and source_problems(app) == []
    for mutate, caught_by_crd in (
        (lambda a: a["spec"]["sources"][1].update(reff="values"), True),
        (lambda a: a["spec"]["sources"][0]["helm"].update(valuefiles=[]), True),
        (lambda a: a["spec"]["sources"][0].update(path="x"), False),
        (lambda a: a["spec"].update(sources=[]), False),
        (lambda a: a["spec"].update(source=a["spec"]["sources"][0]), False),
        (lambda a: a["spec"]["sources"][1].update(ref="$values"), False),
        (lambda a: a["metadata"]["annotations"].update({WAVE: "first"}), False),
    ):
        bad = json.loads(json.dumps(app))
        mutate(bad)
        if caught_by_crd:
            assert crdkit.violations(bad)
        else:
            assert source_problems(bad)
