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


# ---- the IR built without the parser (issue 17) is the parser's -------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eidos.validate import deployed  # noqa: E402

_KEY_CHARS = "abcAZ09._/@:+- \"\\é"
_VERSION_CHARS = "vV0123456789.-+_abcrZ \"\\é"


def _parsed(segments, version):
    key = segments[2]
    path = f'K8s.{segments[1]}["{key}"]'
    return deployed._compile(f"{path} == {deployed._literal(version)}")


@given(kind=st.sampled_from(["helm", "image"]), key=st.text(_KEY_CHARS, min_size=1, max_size=12),
       version=st.one_of(st.text(_VERSION_CHARS, min_size=1, max_size=14),
                         st.from_regex(r"[vV]?[0-9]{1,4}\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True)))
def test_direct_ir_is_the_parsed_ir(kind, key, version):
    segments = ("K8s", kind, key)
    direct = deployed._direct(segments, version)
    if direct is not None:  # None: the parser decides, as before
        assert direct == _parsed(segments, version)


def test_real_pins_take_the_direct_path():
    # a direct path that always declined would pass the property above and save nothing
    for segments, version in [(("K8s", "image", "nvcr.io/nvidia/gpu-operator"), "v25.10.1"),
                              (("K8s", "helm", "kube-prometheus-stack.version"), "81.2.2"),
                              (("K8s", "helm", "gpu-operator/gpu-operator.version"), "latest")]:
        direct = deployed._direct(segments, version)
        assert direct is not None and direct == _parsed(segments, version), (segments, version)
