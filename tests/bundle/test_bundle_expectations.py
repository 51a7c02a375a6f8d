"""Hand-checked expectations for the gb200 bundles, independent of the golden files.

The goldens are written by the code under test (``EIDOS_UPDATE_GOLDEN=1``), so on their own
they only say "nothing changed". The literals below were derived by a reviewer reading
``tests/fixtures/bundle/recipe-gb200-eks-ubuntu-training.json`` (its ``components``,
``needs``, ``deploymentOrder`` and ``criteria``) and docs/bundles.md, not by running eidos.
Each test runs against both the freshly rendered bundle and the golden directory, so a wrong
renderer fails here even after the goldens have been regenerated from it.

Facts read from the recipe fixture (component: chart, repository, version, namespace, needs,
manifests):

    cert-manager          cert-manager           https://charts.jetstack.io                    v1.17.2  cert-manager       -             -
    gpu-operator          gpu-operator           https://helm.ngc.nvidia.com/nvidia            v25.3.3  gpu-operator       cert-manager  dcgm-exporter, kernel-module-params
    nvidia-dra-driver-gpu nvidia-dra-driver-gpu  https://helm.ngc.nvidia.com/nvidia            25.8.1   nvidia-dra-driver  gpu-operator  -
    nvsentinel            nvsentinel             oci://ghcr.io/nvidia                          v0.6.0   nvsentinel         cert-manager  -
    prometheus            kube-prometheus-stack  https://prometheus-community.github.io/helm-charts 81.2.2 monitoring      -             -
    skyhook-operator      skyhook-operator       https://helm.ngc.nvidia.com/nvidia/skyhook    v0.11.1  skyhook            -             customization-ubuntu

deploymentOrder: cert-manager, gpu-operator, nvidia-dra-driver-gpu, nvsentinel, prometheus,
skyhook-operator. Criteria: service=eks, accelerator=gb200, intent=training, os=ubuntu.
Requirement ``K8s.server.version >= 1.33`` (severity error).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from bundlekit import GOLDEN, render
from shellkit import run_script

from eidos.io import yamlio

STACK = "eidos-eks-gb200-training-ubuntu"  # "eidos" + service, accelerator, intent, os
TIMEOUT = "10m"  # deploy.sh default --timeout

# --- helm / script: the commands deploy.sh runs, in deployment order (docs/bundles.md,
# "script": helm upgrade --install NAME CHART --repo URL --version V --namespace NS
# --create-namespace --values components/NAME/values.yaml --wait --timeout 10m; OCI charts
# as oci://registry/path/chart; manifests as release NAME-manifests after their component).
DEPLOY_HELM_ARGV = [
    ["helm", "upgrade", "--install", "cert-manager", "cert-manager",
     "--repo", "https://charts.jetstack.io", "--version", "v1.17.2",
     "--namespace", "cert-manager", "--create-namespace",
     "--values", "components/cert-manager/values.yaml", "--wait", "--timeout", TIMEOUT],
    ["helm", "upgrade", "--install", "gpu-operator", "gpu-operator",
     "--repo", "https://helm.ngc.nvidia.com/nvidia", "--version", "v25.3.3",
     "--namespace", "gpu-operator", "--create-namespace",
     "--values", "components/gpu-operator/values.yaml", "--wait", "--timeout", TIMEOUT],
    ["helm", "upgrade", "--install", "gpu-operator-manifests", "components/gpu-operator/manifests",
     "--namespace", "gpu-operator", "--create-namespace", "--wait", "--timeout", TIMEOUT],
    ["helm", "upgrade", "--install", "nvidia-dra-driver-gpu", "nvidia-dra-driver-gpu",
     "--repo", "https://helm.ngc.nvidia.com/nvidia", "--version", "25.8.1",
     "--namespace", "nvidia-dra-driver", "--create-namespace",
     "--values", "components/nvidia-dra-driver-gpu/values.yaml", "--wait", "--timeout", TIMEOUT],
    ["helm", "upgrade", "--install", "nvsentinel", "oci://ghcr.io/nvidia/nvsentinel",
     "--version", "v0.6.0",
     "--namespace", "nvsentinel", "--create-namespace",
     "--values", "components/nvsentinel/values.yaml", "--wait", "--timeout", TIMEOUT],
    ["helm", "upgrade", "--install", "prometheus", "kube-prometheus-stack",
     "--repo", "https://prometheus-community.github.io/helm-charts", "--version", "81.2.2",
     "--namespace", "monitoring", "--create-namespace",
     "--values", "components/prometheus/values.yaml", "--wait", "--timeout", TIMEOUT],
    ["helm", "upgrade", "--install", "skyhook-operator", "skyhook-operator",
     "--repo", "https://helm.ngc.nvidia.com/nvidia/skyhook", "--version", "v0.11.1",
     "--namespace", "skyhook", "--create-namespace",
     "--values", "components/skyhook-operator/values.yaml", "--wait", "--timeout", TIMEOUT],
    ["helm", "upgrade", "--install", "skyhook-operator-manifests",
     "components/skyhook-operator/manifests",
     "--namespace", "skyhook", "--create-namespace", "--wait", "--timeout", TIMEOUT],
]  # fmt: skip

# undeploy.sh: reverse deployment order, a component's manifests before the component.
UNDEPLOY_RELEASES = [
    ("skyhook-operator-manifests", "skyhook"),
    ("skyhook-operator", "skyhook"),
    ("prometheus", "monitoring"),
    ("nvsentinel", "nvsentinel"),
    ("nvidia-dra-driver-gpu", "nvidia-dra-driver"),
    ("gpu-operator-manifests", "gpu-operator"),
    ("gpu-operator", "gpu-operator"),
    ("cert-manager", "cert-manager"),
]

# One line of deploy.sh verbatim, as docs/bundles.md shows the command.
GPU_OPERATOR_LINES = (
    "helm upgrade --install gpu-operator gpu-operator --repo https://helm.ngc.nvidia.com/nvidia"
    " --version v25.3.3 \\\n"
    "  --namespace gpu-operator --create-namespace \\\n"
    '  --values components/gpu-operator/values.yaml --wait --timeout "${TIMEOUT}"\n'
)

# --- argocd: waves number Applications in deployment order, manifests one wave after their
# component, the OCI repository Secret at -1.
ARGO_WAVES = {
    "repo-ghcr-io-nvidia": -1,
    "cert-manager": 0,
    "gpu-operator": 1,
    "gpu-operator-manifests": 2,
    "nvidia-dra-driver-gpu": 3,
    "nvsentinel": 4,
    "prometheus": 5,
    "skyhook-operator": 6,
    "skyhook-operator-manifests": 7,
}
# (repoURL, chart, targetRevision, destination namespace) of the chart source
ARGO_CHARTS = {
    "cert-manager": ("https://charts.jetstack.io", "cert-manager", "v1.17.2", "cert-manager"),
    "gpu-operator": ("https://helm.ngc.nvidia.com/nvidia", "gpu-operator", "v25.3.3", "gpu-operator"),
    "nvidia-dra-driver-gpu": (
        "https://helm.ngc.nvidia.com/nvidia", "nvidia-dra-driver-gpu", "25.8.1", "nvidia-dra-driver",
    ),
    "nvsentinel": ("ghcr.io/nvidia", "nvsentinel", "v0.6.0", "nvsentinel"),
    "prometheus": (
        "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "81.2.2",
        "monitoring",
    ),
    "skyhook-operator": (
        "https://helm.ngc.nvidia.com/nvidia/skyhook", "skyhook-operator", "v0.11.1", "skyhook",
    ),
}  # fmt: skip

# --- flux: dependsOn mirrors needs; a manifest release depends on its component.
FLUX_DEPENDS = {
    "cert-manager": [],
    "gpu-operator": ["cert-manager"],
    "gpu-operator-manifests": ["gpu-operator"],
    "nvidia-dra-driver-gpu": ["gpu-operator"],
    "nvsentinel": ["cert-manager"],
    "prometheus": [],
    "skyhook-operator": [],
    "skyhook-operator-manifests": ["skyhook-operator"],
}
# HelmRelease chart spec: (chart, version, HelmRepository name = slug of the URL)
FLUX_CHARTS = {
    "cert-manager": ("cert-manager", "v1.17.2", "charts-jetstack-io"),
    "gpu-operator": ("gpu-operator", "v25.3.3", "helm-ngc-nvidia-com-nvidia"),
    "nvidia-dra-driver-gpu": ("nvidia-dra-driver-gpu", "25.8.1", "helm-ngc-nvidia-com-nvidia"),
    "prometheus": (
        "kube-prometheus-stack", "81.2.2", "prometheus-community-github-io-helm-charts",
    ),
    "skyhook-operator": ("skyhook-operator", "v0.11.1", "helm-ngc-nvidia-com-nvidia-skyhook"),
}  # fmt: skip

# --- the files of each bundle (docs/bundles.md layouts); checksums.txt lists all but itself.
_COMMON = ["README.md", "bundle.json", "checksums.txt", "recipe.yaml"]
_MANIFEST_CHARTS = [
    "components/gpu-operator/manifests/Chart.yaml",
    "components/gpu-operator/manifests/templates/dcgm-exporter.yaml",
    "components/gpu-operator/manifests/templates/kernel-module-params.yaml",
    "components/gpu-operator/manifests/values.yaml",
    "components/skyhook-operator/manifests/Chart.yaml",
    "components/skyhook-operator/manifests/templates/customization-ubuntu.yaml",
    "components/skyhook-operator/manifests/values.yaml",
]
_VALUES = [
    f"components/{name}/values.yaml"
    for name in (
        "cert-manager",
        "gpu-operator",
        "nvidia-dra-driver-gpu",
        "nvsentinel",
        "prometheus",
        "skyhook-operator",
    )
]
FILES = {
    "script": sorted(_COMMON + _MANIFEST_CHARTS + _VALUES + ["deploy.sh", "undeploy.sh"]),
    "helm": sorted(
        _COMMON
        + _MANIFEST_CHARTS
        + _VALUES
        + [
            "deploy.sh",
            "undeploy.sh",
            "Chart.yaml",
            "values.yaml",
            "templates/gpu-operator/dcgm-exporter.yaml",
            "templates/gpu-operator/kernel-module-params.yaml",
            "templates/skyhook-operator/customization-ubuntu.yaml",
        ]
    ),
    "argocd": sorted(
        _COMMON
        + _MANIFEST_CHARTS
        + _VALUES
        + ["app-of-apps.yaml"]
        + [f"apps/{name}.yaml" for name in ARGO_WAVES]
    ),
    "flux": sorted(
        _COMMON
        + _MANIFEST_CHARTS
        + ["bootstrap.yaml", "flux/kustomization.yaml", "flux/sources.yaml"]
        + [f"flux/{name}.yaml" for name in ARGO_CHARTS]  # one file per component
    ),
}

SOURCES = ("rendered", "golden")


def bundle_files(deployer: str, source: str) -> dict[str, bytes]:
    if source == "rendered":
        return {path: file.content for path, file in render(deployer).files.items()}
    root = GOLDEN / deployer
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def yaml_docs(files: dict[str, bytes], path: str) -> list:
    return yamlio.load_all(files[path].decode(), path)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("deployer", ("helm", "script"))
def test_deploy_runs_the_expected_helm_commands(deployer, source, tmp_path):
    files = bundle_files(deployer, source)
    root = tmp_path / "bundle"
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    assert GPU_OPERATOR_LINES in files["deploy.sh"].decode()
    result, calls = run_script(root, "deploy.sh", tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert calls[:2] == [
        ["kubectl", "config", "current-context"],
        ["kubectl", "get", "--raw=/version", "--request-timeout=15s"],
    ]
    assert calls[2:] == DEPLOY_HELM_ARGV
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "Cluster context: stub-context"
    assert lines[1:] == [
        "==> [1/6] cert-manager v1.17.2 -> namespace cert-manager",
        "==> [2/6] gpu-operator v25.3.3 -> namespace gpu-operator",
        "==> [3/6] nvidia-dra-driver-gpu 25.8.1 -> namespace nvidia-dra-driver",
        "==> [4/6] nvsentinel v0.6.0 -> namespace nvsentinel",
        "==> [5/6] prometheus 81.2.2 -> namespace monitoring",
        "==> [6/6] skyhook-operator v0.11.1 -> namespace skyhook",
        "Done: 6 components installed.",
    ]
    result, calls = run_script(root, "undeploy.sh", tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    expected = []
    for release, namespace in UNDEPLOY_RELEASES:
        expected.append(["helm", "status", release, "--namespace", namespace])
        expected.append(
            ["helm", "uninstall", release, "--namespace", namespace, "--wait", "--timeout", TIMEOUT]
        )
    assert calls[2:] == expected


@pytest.mark.parametrize("source", SOURCES)
def test_helm_umbrella_chart_by_hand(source):
    files = bundle_files("helm", source)
    (chart,) = yaml_docs(files, "Chart.yaml")
    assert chart["name"] == STACK
    assert chart["kubeVersion"] == ">= 1.33.0-0"  # from K8s.server.version >= 1.33
    assert chart["dependencies"] == [
        {
            "name": "cert-manager",
            "version": "v1.17.2",
            "repository": "https://charts.jetstack.io",
            "condition": "cert-manager.enabled",
        },
        {
            "name": "gpu-operator",
            "version": "v25.3.3",
            "repository": "https://helm.ngc.nvidia.com/nvidia",
            "condition": "gpu-operator.enabled",
        },
        {
            "name": "nvidia-dra-driver-gpu",
            "version": "25.8.1",
            "repository": "https://helm.ngc.nvidia.com/nvidia",
            "condition": "nvidia-dra-driver-gpu.enabled",
        },
        {
            "name": "nvsentinel",
            "version": "v0.6.0",
            "repository": "oci://ghcr.io/nvidia",
            "condition": "nvsentinel.enabled",
        },
        {
            "name": "kube-prometheus-stack",
            "version": "81.2.2",
            "repository": "https://prometheus-community.github.io/helm-charts",
            "alias": "prometheus",  # chart name differs from the component name
            "condition": "prometheus.enabled",
        },
        {
            "name": "skyhook-operator",
            "version": "v0.11.1",
            "repository": "https://helm.ngc.nvidia.com/nvidia/skyhook",
            "condition": "skyhook-operator.enabled",
        },
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_argocd_waves_and_sources_by_hand(source):
    files = bundle_files("argocd", source)
    objects = {}
    for path in files:
        if path.startswith("apps/"):
            (obj,) = yaml_docs(files, path)
            assert path == f"apps/{obj['metadata']['name']}.yaml"
            objects[obj["metadata"]["name"]] = obj
    waves = {
        name: int(obj["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for name, obj in objects.items()
    }
    assert waves == ARGO_WAVES
    for name, (repo, chart, version, namespace) in ARGO_CHARTS.items():
        spec = objects[name]["spec"]
        source_chart, source_values = spec["sources"]
        assert (
            source_chart["repoURL"],
            source_chart["chart"],
            source_chart["targetRevision"],
        ) == (repo, chart, version), name
        assert source_chart["helm"]["valueFiles"] == [
            f"$values/clusters/gb200/components/{name}/values.yaml"
        ]
        assert source_values == {
            "repoURL": "https://github.com/acme/gitops.git",
            "targetRevision": "main",
            "ref": "values",
        }
        assert spec["destination"]["namespace"] == namespace
    for name, namespace in (
        ("gpu-operator-manifests", "gpu-operator"),
        ("skyhook-operator-manifests", "skyhook"),
    ):
        spec = objects[name]["spec"]
        component = name.removesuffix("-manifests")
        assert spec["source"]["path"] == f"clusters/gb200/components/{component}/manifests"
        assert spec["destination"]["namespace"] == namespace
    secret = objects["repo-ghcr-io-nvidia"]
    assert secret["kind"] == "Secret" and secret["stringData"]["url"] == "ghcr.io/nvidia"
    (parent,) = yaml_docs(files, "app-of-apps.yaml")
    assert parent["metadata"]["name"] == STACK
    assert parent["spec"]["source"]["path"] == "clusters/gb200/apps"


@pytest.mark.parametrize("source", SOURCES)
def test_flux_depends_on_and_sources_by_hand(source):
    files = bundle_files("flux", source)
    releases = {}
    for name in ARGO_CHARTS:
        for obj in yaml_docs(files, f"flux/{name}.yaml"):
            releases[obj["metadata"]["name"]] = obj
    assert {n: o["kind"] for n, o in releases.items()} == dict.fromkeys(FLUX_DEPENDS, "HelmRelease")
    depends = {n: [d["name"] for d in o["spec"].get("dependsOn", [])] for n, o in releases.items()}
    assert depends == FLUX_DEPENDS
    for name, (chart, version, repo) in FLUX_CHARTS.items():
        spec = releases[name]["spec"]["chart"]["spec"]
        assert (spec["chart"], spec["version"], spec["sourceRef"]) == (
            chart,
            version,
            {"kind": "HelmRepository", "name": repo},
        ), name
    assert releases["nvsentinel"]["spec"]["chartRef"] == {
        "kind": "OCIRepository",
        "name": "nvsentinel-chart",
    }
    for name, (_, _, _, namespace) in ARGO_CHARTS.items():
        assert releases[name]["spec"]["targetNamespace"] == namespace
    sources = {o["metadata"]["name"]: o for o in yaml_docs(files, "flux/sources.yaml")}
    assert {n: (o["kind"], o["spec"]["url"]) for n, o in sources.items()} == {
        "charts-jetstack-io": ("HelmRepository", "https://charts.jetstack.io"),
        "helm-ngc-nvidia-com-nvidia": ("HelmRepository", "https://helm.ngc.nvidia.com/nvidia"),
        "nvsentinel-chart": ("OCIRepository", "oci://ghcr.io/nvidia/nvsentinel"),
        "prometheus-community-github-io-helm-charts": (
            "HelmRepository",
            "https://prometheus-community.github.io/helm-charts",
        ),
        "helm-ngc-nvidia-com-nvidia-skyhook": (
            "HelmRepository",
            "https://helm.ngc.nvidia.com/nvidia/skyhook",
        ),
    }
    assert sources["nvsentinel-chart"]["spec"]["ref"] == {"tag": "v0.6.0"}
    (kustomization,) = yaml_docs(files, "flux/kustomization.yaml")
    assert kustomization["resources"] == [
        "sources.yaml",
        "cert-manager.yaml",
        "gpu-operator.yaml",
        "nvidia-dra-driver-gpu.yaml",
        "nvsentinel.yaml",
        "prometheus.yaml",
        "skyhook-operator.yaml",
    ]
    repo, root = yaml_docs(files, "bootstrap.yaml")
    assert (repo["kind"], repo["spec"]["ref"]) == ("GitRepository", {"branch": "main"})
    assert (root["kind"], root["spec"]["path"]) == ("Kustomization", "./clusters/gb200/flux")


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("deployer", ("helm", "script", "argocd", "flux"))
def test_files_and_checksums_by_hand(deployer, source):
    files = bundle_files(deployer, source)
    assert sorted(files) == FILES[deployer]
    lines = files["checksums.txt"].decode().split("\n")
    assert lines[-1] == ""  # ends with a newline, as sha256sum writes it
    entries = [line.split("  ", 1) for line in lines[:-1]]
    assert [path for _, path in entries] == [p for p in FILES[deployer] if p != "checksums.txt"]
    for digest, path in entries:
        assert digest == hashlib.sha256(files[path]).hexdigest(), path
    summary = json.loads(files["bundle.json"])
    assert summary["files"] == FILES[deployer]
    assert summary["deploymentOrder"] == list(ARGO_CHARTS)
    assert summary["name"] == STACK and summary["deployer"] == deployer


def test_expectations_cover_every_component():
    """Guard the literals themselves against the fixture drifting away from them."""
    doc = json.loads(
        (
            Path(__file__).parent.parent / "fixtures/bundle/recipe-gb200-eks-ubuntu-training.json"
        ).read_text(encoding="utf-8")
    )
    assert doc["deploymentOrder"] == list(ARGO_CHARTS)
