"""Every deployer on the gb200 recipe: goldens, schemas, parsable YAML, clean shell, determinism.

Regenerate the goldens after an intended change with ``EIDOS_UPDATE_GOLDEN=1 pytest tests/bundle``
and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import crdkit
import pytest
from bundlekit import GOLDEN, SCHEMAS, is_helm_template, objects, render, small_document
from shellkit import shellcheck

from eidos.errors import UsageError
from eidos.io import yamlio

DEPLOYERS = ("helm", "argocd", "flux", "script")
_bundles: dict = {}


def bundle(deployer: str):
    if deployer not in _bundles:
        _bundles[deployer] = render(deployer)
    return _bundles[deployer]


@pytest.mark.parametrize("deployer", DEPLOYERS)
def test_golden(deployer):
    files = bundle(deployer).files
    root = GOLDEN / deployer
    if os.environ.get("EIDOS_UPDATE_GOLDEN"):
        shutil.rmtree(root, ignore_errors=True)
        for path, file in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(file.content)
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert on_disk == files.paths()
    for path, file in files.items():
        assert (root / path).read_bytes() == file.content, (
            f"{deployer}/{path} differs from the golden"
        )


@pytest.mark.parametrize("deployer", DEPLOYERS)
def test_deterministic(deployer):
    first, second = render(deployer), render(deployer)
    assert [(p, f.content) for p, f in first.files.items()] == [
        (p, f.content) for p, f in second.files.items()
    ]
    for path in first.files.paths():
        text = first.files[path].content.decode()
        assert "timestamp" not in text.lower() and "generatedAt" not in text


@pytest.mark.parametrize("deployer", DEPLOYERS)
def test_every_yaml_parses_and_every_object_validates(deployer):
    import jsonschema
    import kubernetes_validate

    files = bundle(deployer).files
    for path, file in files.items():
        if path.endswith(".yaml") and not is_helm_template(path):
            yamlio.load_all(file.content.decode(), path)
    seen = set()
    for path, obj in objects(files):
        key = (obj["apiVersion"], obj["kind"])
        seen.add(key)
        if key[0].split("/")[0] in crdkit.groups():
            crdkit.check(obj, path)  # the upstream CRD (tests/fixtures/crds)
        elif path.endswith("Chart.yaml") or key[0] in (
            "eidos.dev/v1alpha1",
            "kustomize.config.k8s.io/v1beta1",
        ):
            continue
        else:
            kubernetes_validate.validate(obj, "1.32", strict=True)
    for path, file in files.items():
        if path.endswith("Chart.yaml"):
            schema = json.loads((SCHEMAS / "helm-chart.json").read_text())
            jsonschema.validate(yamlio.load(file.content.decode(), path), schema)
    if deployer == "argocd":
        assert ("v1", "Secret") in seen and ("argoproj.io/v1alpha1", "Application") in seen
    if deployer == "flux":
        assert {k for k in crdkit.crds() if k[0] != "argoproj.io/v1alpha1"} <= seen


def test_crds_reject_typos():
    app = next(o for p, o in objects(bundle("argocd").files) if o["kind"] == "Application")
    assert crdkit.violations(app) == []
    app["spec"]["syncPolicy"]["automated"]["selfheal"] = True
    assert crdkit.violations(app)


@pytest.mark.parametrize("deployer", ("helm", "script"))
def test_scripts_are_valid_shell(deployer, tmp_path):
    files = bundle(deployer).files
    scripts = [p for p in files.paths() if p.endswith(".sh")]
    assert scripts == ["deploy.sh", "undeploy.sh"]
    for path in scripts:
        assert files[path].executable
        target = tmp_path / path
        target.write_bytes(files[path].content)
        result = subprocess.run(
            ["bash", "-n", str(target)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("deployer", "document"),
    [("helm", None), ("script", None), ("script", small_document())],
    ids=["helm-gb200", "script-gb200", "script-kustomize"],
)
def test_scripts_pass_shellcheck(deployer, document, tmp_path):
    files = (bundle(deployer) if document is None else render(deployer, document)).files
    for path in ("deploy.sh", "undeploy.sh"):
        target = tmp_path / path
        target.write_bytes(files[path].content)
        shellcheck(target)  # skips visibly when shellcheck is missing


def test_helm_umbrella_chart():
    files = bundle("helm").files
    chart = yamlio.load(files["Chart.yaml"].content.decode())
    deps = {d.get("alias", d["name"]): d for d in chart["dependencies"]}
    assert deps["prometheus"] == {
        "name": "kube-prometheus-stack",
        "version": "81.2.2",
        "repository": "https://prometheus-community.github.io/helm-charts",
        "alias": "prometheus",
        "condition": "prometheus.enabled",
    }
    assert deps["gpu-operator"]["version"] == "v25.3.3" and "alias" not in deps["gpu-operator"]
    assert deps["nvsentinel"]["repository"] == "oci://ghcr.io/nvidia"
    assert chart["kubeVersion"] == ">= 1.33.0-0"
    values = yamlio.load(files["values.yaml"].content.decode())
    assert set(values) == set(deps)  # every values key reaches a dependency by name or alias
    assert values["gpu-operator"]["driver"]["version"] == "580.82.07"
    assert "templates/gpu-operator/dcgm-exporter.yaml" in files
    deploy = files["deploy.sh"].content.decode()
    assert (
        "helm upgrade --install nvsentinel oci://ghcr.io/nvidia/nvsentinel --version v0.6.0"
        in deploy
    )
    assert (
        "kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 81.2.2"
        in deploy
    )
    order = [
        deploy.index(f"helm upgrade --install {n} ")
        for n in (
            "cert-manager",
            "gpu-operator",
            "nvidia-dra-driver-gpu",
            "nvsentinel",
            "prometheus",
            "skyhook-operator",
        )
    ]
    assert order == sorted(order)
    undeploy = files["undeploy.sh"].content.decode()
    assert undeploy.index("uninstall_release skyhook-operator ") < undeploy.index(
        "uninstall_release cert-manager "
    )


def test_argocd_applications():
    files = bundle("argocd").files
    apps = {
        o["metadata"]["name"]: o
        for p, o in objects(files)
        if p.startswith("apps/") and o["kind"] == "Application"
    }
    waves = {
        n: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for n, a in apps.items()
    }
    assert sorted(waves, key=waves.get) == [
        "cert-manager",
        "gpu-operator",
        "gpu-operator-manifests",
        "nvidia-dra-driver-gpu",
        "nvsentinel",
        "prometheus",
        "skyhook-operator",
        "skyhook-operator-manifests",
    ]
    prom = apps["prometheus"]["spec"]["sources"][0]
    assert (prom["chart"], prom["targetRevision"]) == ("kube-prometheus-stack", "81.2.2")
    gpu, values = apps["gpu-operator"]["spec"]["sources"]
    assert gpu["targetRevision"] == "v25.3.3"
    assert gpu["helm"] == {
        "releaseName": "gpu-operator",
        "valueFiles": ["$values/clusters/gb200/components/gpu-operator/values.yaml"],
    }
    assert values == {
        "repoURL": "https://github.com/acme/gitops.git",
        "targetRevision": "main",
        "ref": "values",
    }
    gpu_values = yamlio.load(files["components/gpu-operator/values.yaml"].content.decode())
    assert gpu_values["driver"]["version"] == "580.82.07"
    assert apps["nvsentinel"]["spec"]["sources"][0]["repoURL"] == "ghcr.io/nvidia"
    manifests = apps["gpu-operator-manifests"]["spec"]["source"]
    assert manifests == {
        "repoURL": "https://github.com/acme/gitops.git",
        "targetRevision": "main",
        "path": "clusters/gb200/components/gpu-operator/manifests",
        "helm": {"releaseName": "gpu-operator-manifests"},
    }
    parent = yamlio.load(files["app-of-apps.yaml"].content.decode())
    assert parent["spec"]["source"]["path"] == "clusters/gb200/apps"
    assert "YOUR-ORG" not in "".join(f.content.decode() for _, f in files.items())


@pytest.mark.parametrize("deployer", ("argocd", "flux"))
def test_gitops_refuses_placeholders(deployer):
    with pytest.raises(UsageError, match="--repo"):
        render(deployer, repo="", revision="main")
    with pytest.raises(UsageError, match="--revision"):
        render(deployer, revision="")


def test_flux_dependencies_follow_needs():
    files = bundle("flux").files
    releases = {o["metadata"]["name"]: o for _, o in objects(files) if o["kind"] == "HelmRelease"}
    order = [
        "cert-manager",
        "gpu-operator",
        "nvidia-dra-driver-gpu",
        "nvsentinel",
        "prometheus",
        "skyhook-operator",
    ]
    for name, release in releases.items():
        for dep in release["spec"].get("dependsOn", []):
            assert dep["name"] in releases
            base = name.removesuffix("-manifests")
            assert order.index(dep["name"]) <= order.index(base)
    assert [d["name"] for d in releases["nvidia-dra-driver-gpu"]["spec"]["dependsOn"]] == [
        "gpu-operator"
    ]
    assert releases["nvsentinel"]["spec"]["chartRef"]["kind"] == "OCIRepository"
    assert releases["gpu-operator"]["spec"]["chart"]["spec"]["version"] == "v25.3.3"
    sources = {o["metadata"]["name"]: o for _, o in objects(files) if o["kind"] == "OCIRepository"}
    assert sources["nvsentinel-chart"]["spec"]["url"] == "oci://ghcr.io/nvidia/nvsentinel"
    assert sources["nvsentinel-chart"]["spec"]["ref"] == {"tag": "v0.6.0"}
    kustomization = yamlio.load(files["flux/kustomization.yaml"].content.decode())
    assert kustomization["resources"][0] == "sources.yaml"
    assert all(
        r in files.paths() or f"flux/{r}" in files.paths() for r in kustomization["resources"]
    )


def test_flux_refuses_cross_kind_needs():
    with pytest.raises(UsageError, match="cannot order app"):
        render("flux", small_document())


@pytest.mark.parametrize("deployer", ("helm", "argocd", "script"))
def test_kustomize_and_manifest_components(deployer):
    files = render(deployer, small_document()).files
    text = "".join(f.content.decode() for _, f in files.items())
    assert "components/extras/manifests/templates/kernel-module-params.yaml" in files
    if deployer == "argocd":
        app = yamlio.load(files["apps/app.yaml"].content.decode())
        assert app["spec"]["sources"] == [
            {
                "repoURL": "https://github.com/org/repo.git",
                "targetRevision": "v1.0.0",
                "path": "deploy/overlays/prod",
            },
            {
                "repoURL": "https://github.com/acme/gitops.git",
                "targetRevision": "main",
                "ref": "bundle",
            },
        ]
        assert "components/app/values.yaml" not in files  # kustomize: no values file
        assert "components/prometheus/values.yaml" in files
        extras = yamlio.load(files["apps/extras.yaml"].content.decode())
        assert extras["spec"]["source"]["path"] == "clusters/gb200/components/extras/manifests"

        def wave(obj):
            return int(obj["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

        assert wave(extras) < wave(app)  # app needs extras
    else:
        assert (
            "kubectl apply --namespace x -k 'https://github.com/org/repo.git//deploy/overlays/prod?ref=v1.0.0'"
            in text
        )
        assert "helm upgrade --install extras components/extras/manifests" in text
    if deployer == "helm":
        chart = yamlio.load(files["Chart.yaml"].content.decode())
        assert [d["name"] for d in chart["dependencies"]] == ["kube-prometheus-stack", "nvsentinel"]
        assert "Kustomize components (app)" in files["README.md"].content.decode()


def test_summary_and_checksums():
    import hashlib

    files = bundle("helm").files
    summary = json.loads(files["bundle.json"].content)
    assert summary["deployer"] == "helm"
    assert summary["files"] == files.paths()
    assert [c["version"] for c in summary["components"] if c["name"] == "gpu-operator"] == [
        "v25.3.3"
    ]
    lines = files["checksums.txt"].content.decode().splitlines()
    listed = [line.split("  ", 1)[1] for line in lines]
    assert listed == [p for p in files.paths() if p != "checksums.txt"]
    assert "recipe.yaml" in listed and "bundle.json" in listed
    for line in lines:
        digest, path = line.split("  ", 1)
        assert hashlib.sha256(files[path].content).hexdigest() == digest


def test_set_and_scheduling_reach_every_deployer():
    from eidos.bundle import build_request

    scheduling = build_request([], ["nodeGroup=gpu"], [], [])
    sets = ("gpuoperator:driver.version=25.10", "prometheus:grafana.enabled:bool=false")
    for deployer in DEPLOYERS:
        result = render(deployer, sets=sets, scheduling=scheduling)
        text = "".join(f.content.decode() for _, f in result.files.items())
        assert "version: '25.10'" in text, deployer
        assert "nodeGroup: gpu" in text, deployer
        baseline = "".join(f.content.decode() for _, f in bundle(deployer).files.items())
        assert text.count("tolerations:") == baseline.count("tolerations:"), (
            "no implicit tolerations"
        )
        summary = json.loads(result.files["bundle.json"].content)
        assert summary["inputs"]["set"] == list(sets)
        assert summary["inputs"]["scheduling"] == {
            "accelerated": {"nodeSelector": {"nodeGroup": "gpu"}}
        }


def test_unknown_set_component_is_an_error():
    with pytest.raises(UsageError, match="no component 'gpu-operater'"):
        render("helm", sets=("gpu-operater:driver.version=1",))


def test_manifest_charts_render_with_helm_engine(tmp_path):
    """Render the manifest charts with Helm's own engine (helm-python-sdk, offline)."""
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")
    import kubernetes_validate

    files = bundle("script").files
    for path, file in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(file.content)
    rendered = {}
    for name in ("gpu-operator", "skyhook-operator"):
        with helm.Chart.load(str(tmp_path / "components" / name / "manifests")) as chart:
            rendered.update(chart.render({}, name=f"{name}-manifests", namespace=name))
    docs = [d for text in rendered.values() for d in yamlio.load_all(text, "rendered")]
    kinds = sorted((d["kind"], d["metadata"]["name"], d["metadata"]["namespace"]) for d in docs)
    assert kinds == [
        ("ConfigMap", "dcgm-exporter", "gpu-operator"),
        ("ConfigMap", "kernel-module-params", "gpu-operator"),
        ("Skyhook", "ubuntu", "skyhook-operator"),
    ]
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            kubernetes_validate.validate(doc, "1.32", strict=True)
    lint = helm.lint(str(tmp_path / "components" / "gpu-operator" / "manifests"))
    assert not lint["errors"] and all(m["severity"] < 3 for m in lint["messages"])
