"""Deployed component versions against the recipe (``component:<name>`` verdicts)."""

from __future__ import annotations

from eidos.validate.fleet import Validator
from tests.validate.helpers import snap

H100_TRAINING = {"service": "eks", "accelerator": "h100", "intent": "training"}


def _components(graph, data):
    node = Validator(graph, flag_facts=H100_TRAINING).node(snap(data), "<test>")
    return {v.id: v for v in node.verdicts if v.id.startswith("component:")}


def test_operator_image_tag_is_the_deployed_version(embedded_graph):
    # gpu-operator's image tag is its chart version: v25.3.0 where the recipe pins v25.10.1
    by = _components(embedded_graph, {"K8s": {"image": {"gpu-operator": "v25.3.0"}}})
    v = by["component:gpu-operator"]
    assert v.status == "warn" and v.severity == "warning"
    assert v.expr == 'K8s.image["gpu-operator"] == 25.10.1'
    assert "--version v25.10.1" in v.remedy and "--repo https://helm.ngc.nvidia.com/nvidia" in v.remedy
    assert v.source.startswith("rules/components.eidos:")  # where the version is pinned


def test_other_images_are_not_taken_for_chart_versions(embedded_graph):
    # cert-manager's controller image carries the app version, not necessarily the chart's:
    # without K8s.helm the deployed chart version is unknown -> skip, not a guessed verdict
    by = _components(embedded_graph, {"K8s": {"image": {"cert-manager": "v1.16.0", "gpu-operator": "v25.10.1"}}})
    assert by["component:cert-manager"].status == "skip"
    assert "K8s.helm" in by["component:cert-manager"].reason
    assert by["component:gpu-operator"].status == "pass"


def test_helm_release_wins_and_is_found_by_chart_name(embedded_graph):
    # K8s.helm first (even when the image disagrees); prometheus is released as kube-prometheus-stack
    helm = {"gpu-operator.chart": "gpu-operator", "gpu-operator.version": "v25.10.1",
            "kube-prometheus-stack.chart": "kube-prometheus-stack", "kube-prometheus-stack.version": "81.2.2"}
    by = _components(embedded_graph, {"K8s": {"helm": helm, "image": {"gpu-operator": "v25.3.0"}}})
    assert by["component:gpu-operator"].status == "pass"
    assert by["component:gpu-operator"].expr == 'K8s.helm["gpu-operator.version"] == 25.10.1'
    assert by["component:prometheus"].status == "pass"
    assert by["component:prometheus"].expr == 'K8s.helm["kube-prometheus-stack.version"] == 81.2.2'


def test_only_selects_components(embedded_graph):
    from eidos.validate.fleet import Selection

    node = Validator(embedded_graph, flag_facts=H100_TRAINING, selection=Selection(only=("component/gpu-operator",))) \
        .node(snap({"K8s": {"image": {"gpu-operator": "v25.3.0"}}}), "<test>")
    assert [v.id for v in node.verdicts] == ["component:gpu-operator"]


def test_eidos_image_keys_are_repositories(embedded_graph):
    # eidos' k8s-images collector keys by repository; a repository with several tags (a list)
    # cannot say which is deployed -> the Helm path is read instead (absent -> skip)
    by = _components(embedded_graph, {"K8s": {"image": {"nvcr.io/nvidia/gpu-operator": "v25.3.0"}}})
    assert by["component:gpu-operator"].status == "warn"
    assert by["component:gpu-operator"].expr == 'K8s.image["nvcr.io/nvidia/gpu-operator"] == 25.10.1'
    by = _components(embedded_graph, {"K8s": {"image": {"nvcr.io/nvidia/gpu-operator": ["v25.3.0", "v25.10.1"]}}})
    assert by["component:gpu-operator"].status == "skip"
