"""Recipe document validation and opt-in node scheduling."""

from __future__ import annotations

import copy

import pytest
from bundlekit import small_document

from eidos.bundle.model import parse_recipe
from eidos.bundle.scheduling import build_request, inject, parse_toleration
from eidos.errors import InputError, UsageError


def test_components_come_in_deployment_order(gb200):
    recipe = parse_recipe(gb200)
    assert [c.name for c in recipe.components] == gb200["deploymentOrder"]
    prom = recipe.component("prometheus")
    assert (prom.chart, prom.version, prom.namespace) == (
        "kube-prometheus-stack",
        "81.2.2",
        "monitoring",
    )


def test_missing_order_is_topological_with_ties_by_name():
    doc = small_document()
    recipe = parse_recipe(doc)
    assert [c.name for c in recipe.components] == ["extras", "app", "prometheus", "sentinel"]
    assert recipe.component("extras").namespace == "extras"  # namespace defaults to the name


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(kind="Snapshot"), "not an eidos recipe"),
        (lambda d: d.update(components=[]), "no components"),
        (lambda d: d["components"][2].update(version=81.2), "must be a string, got float"),
        (lambda d: d["components"][2].update(version=None), 'missing "version"'),
        (lambda d: d["components"][2].update(name="Prometheus"), "not usable as a release name"),
        (lambda d: d["components"][2].update(type="chart"), "unknown type 'chart'"),
        (
            lambda d: d["components"][2].update(repository="charts.example.com"),
            "chart repository URL",
        ),
        (lambda d: d["components"][0].update(needs=["nope"]), "unknown component 'nope'"),
        (lambda d: d["components"][1].update(manifests=[]), "needs at least one manifest"),
        (lambda d: d["components"][1].update(manifests=["a/_helpers.tpl"]), "file name must start"),
        (
            lambda d: d.update(deploymentOrder=["app", "extras", "prometheus", "sentinel"]),
            "comes before 'extras'",
        ),
        (lambda d: d.update(deploymentOrder=["extras", "app"]), "leaves out: prometheus, sentinel"),
        (lambda d: d["components"][3].update(aliases=["prometheus"]), "already names component"),
        (lambda d: d["components"][0].update(path="../etc"), "relative path"),
        # found by the deep fuzz run: `requirements: true` crashed the Helm deployer (exit 3)
        (lambda d: d.update(requirements=True), r"requirements: must be a list"),
        (lambda d: d.update(requirements=["K8s.server.version >= 1.30"]), r"requirements\[0\]: must be a mapping"),
        (lambda d: d.update(requirements=[{"expr": 1.3}]), r"requirements\[0\]\.expr: must be a string"),
    ],
)
def test_invalid_recipes_are_rejected_with_location(mutate, message):
    doc = small_document()
    mutate(doc)
    with pytest.raises(InputError, match=message):
        parse_recipe(doc, "r.yaml")


def test_cycle_is_reported():
    doc = small_document()
    doc["components"][1]["needs"] = ["app"]
    with pytest.raises(InputError, match="cycle"):
        parse_recipe(doc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "key=value:NoSchedule",
            {"key": "key", "operator": "Equal", "value": "value", "effect": "NoSchedule"},
        ),
        ("key:NoExecute", {"key": "key", "operator": "Exists", "effect": "NoExecute"}),
        ("nvidia.com/gpu", {"key": "nvidia.com/gpu", "operator": "Exists"}),
        (
            "k=v=w:NoSchedule",
            {"key": "k", "operator": "Equal", "value": "v=w", "effect": "NoSchedule"},
        ),
    ],
)
def test_parse_toleration(text, expected):
    assert dict(parse_toleration(text, "--toleration")) == expected


@pytest.mark.parametrize("text", ["key=value:Bogus", "a=b:c:NoSchedule", ":NoSchedule", "=v"])
def test_bad_tolerations(text):
    with pytest.raises(UsageError):
        parse_toleration(text, "--toleration")


def test_bad_selector():
    with pytest.raises(UsageError, match="KEY=VALUE"):
        build_request(["invalid"], [], [], [])


def test_no_flags_change_nothing(gb200):
    recipe = parse_recipe(gb200)
    request = build_request([], [], [], [])
    for component in recipe.components:
        values = copy.deepcopy(component.values)
        assert inject(component, values, request) == []
        assert values == component.values


def test_injection_merges_and_never_clobbers(gb200):
    recipe = parse_recipe(gb200)
    gpu = recipe.component("gpu-operator")
    values = copy.deepcopy(gpu.values)
    values["daemonsets"] = {
        "nodeSelector": {"pool": "gpu"},
        "tolerations": [{"key": "curated", "operator": "Exists"}],
    }
    request = build_request(
        ["role=system"], ["pool=other", "extra=yes"], [], ["nvidia.com/gpu:NoSchedule"]
    )
    warnings = inject(gpu, values, request)
    assert values["operator"]["nodeSelector"] == {"role": "system"}
    assert values["node-feature-discovery"]["gc"]["nodeSelector"] == {"role": "system"}
    assert values["daemonsets"]["nodeSelector"] == {"pool": "gpu", "extra": "yes"}
    assert values["daemonsets"]["tolerations"] == [
        {"key": "curated", "operator": "Exists"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    ]
    assert "operator" not in values.get("tolerations", {})  # no system tolerations asked for
    assert any("kept it instead of pool=other" in w for w in warnings)
    # idempotent: injecting twice adds nothing
    again = copy.deepcopy(values)
    inject(gpu, again, request)
    assert again == values
