"""Units of eidos verify: template reads, liveness, install order, dangling references."""

from __future__ import annotations

from pathlib import Path

from eidos.engine.recipe import Component
from eidos.verify.chartinfo import ChartInfo, template_reads
from eidos.verify.deadvalues import dead_values
from eidos.verify.order import install_order
from eidos.verify.refs import dangling_references
from eidos.verify.render import RenderedObject, objects_from


def _info(defaults, reads) -> ChartInfo:
    return ChartInfo(path=Path("."), name="c", defaults=defaults, reads=frozenset(reads), schema=None)


def _component(name, values, prov=None, ns=None) -> Component:
    return Component(name=name, type="helm", namespace=ns or name, needs=(), manifests=(), values=values,
                     chart=name, version="1.0", provenance={"values": prov or {}})


def test_template_reads_chains_index_haskey_and_variables():
    text = ('{{ if hasKey .Values "auto" }}{{ toYaml .Values.a.b | nindent 2 }}'
            '{{ index .Values.x "y-z" "w" }}{{- $g := index .Values "gpu-operator" }}{{ $g.dc.name }}')
    reads = template_reads(text)
    assert {("auto",), ("a", "b"), ("x", "y-z", "w"), ("gpu-operator",), ("gpu-operator", "dc", "name")} <= reads
    assert ("x",) not in reads  # the index form is one read, not the bare chain


def test_liveness_is_conservative_but_catches_renamed_keys():
    info = _info({"driver": {"upgradePolicy": {"maxParallelUpgrades": 1}}},
                 {("driver", "enabled"), ("grafana",)})
    assert info.is_live(("driver", "upgradePolicy", "maxParallelUpgrades"))  # a default
    assert info.is_live(("grafana", "anything", "deep"))  # read as a whole map
    assert not info.is_live(("driver", "maxParallelUpgrades"))
    c = _component("gpu-operator", {"driver": {"maxParallelUpgrades": 5, "enabled": True}},
                   {"driver.maxParallelUpgrades": "values.yaml:60"})
    [finding] = dead_values(c, info)
    assert (finding.key, finding.source, finding.severity) == ("driver.maxParallelUpgrades", "values.yaml:60", "error")
    assert "driver.upgradePolicy.maxParallelUpgrades" in finding.hint


def test_helm_style_document_split_accepts_comment_after_separator():
    text = "a: 1\n---# comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    [obj] = objects_from({"c/templates/x.yaml": text}, "c", "ns")
    assert (obj.kind, obj.namespace, obj.name) == ("ConfigMap", "ns", "x")


def _obj(component, body, ns="ns"):
    return RenderedObject(component, f"{component}/templates/x.yaml", body, ns)


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
       "spec": {"group": "monitoring.coreos.com", "names": {"kind": "ServiceMonitor"}}}
SM = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "sm"}}


def test_install_order_flags_crd_from_later_component_and_from_none():
    comps = {"a": _component("a", {"prometheus": {"servicemonitor": {"enabled": True}}},
                             {"prometheus.servicemonitor.enabled": "a.yaml:3"}), "b": _component("b", {})}
    later = install_order(["a", "b"], comps, {"a": [_obj("a", SM)], "b": [_obj("b", CRD, "")]})
    assert [(f.component, f.key, f.source) for f in later] == [("a", "prometheus.servicemonitor.enabled", "a.yaml:3")]
    assert "step 2" in later[0].message
    assert install_order(["b", "a"], comps, {"a": [_obj("a", SM)], "b": [_obj("b", CRD, "")]}) == []
    none = install_order(["a"], {"a": comps["a"]}, {"a": [_obj("a", SM)]})
    assert len(none) == 1 and "no component" in none[0].message


def test_dangling_configmap_from_clusterpolicy_and_pod_volumes():
    cp = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cp"},
          "spec": {"driver": {"kernelModuleConfig": {"name": "kmp"}}}}
    pod = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"template": {"spec": {"volumes": [
               {"name": "v", "configMap": {"name": "missing"}},
               {"name": "o", "configMap": {"name": "opt", "optional": True}},
               {"name": "k", "configMap": {"name": "kube-root-ca.crt"}}]}}}}
    comps = {"gpu": _component("gpu", {}, {"driver.kernelModuleConfig.name": "v.yaml:59"}, ns="gpu-operator")}
    found = dangling_references(comps, {"gpu": [_obj("gpu", cp, ""), _obj("gpu", pod, "gpu-operator")]})
    assert sorted((f.key, f.source) for f in found) == [
        ("Deployment/gpu-operator/d", ""), ("driver.kernelModuleConfig.name", "v.yaml:59")]
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kmp"}}
    found = dangling_references(comps, {"gpu": [_obj("gpu", cp, ""), _obj("gpu", cm, "gpu-operator")]})
    assert found == []


def test_objects_moved_out_of_the_component_namespace_by_a_value():
    from eidos.verify.namespaces import foreign_namespaces

    dra = _component("dra", {"namespaceOverride": "gpu-operator"},
                     {"namespaceOverride": "dra/values.yaml:28"}, ns="nvidia-dra-driver")
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c"}}
    moved = foreign_namespaces({"dra": dra}, {"dra": [_obj("dra", deploy, "gpu-operator")]})
    assert [(f.severity, f.key, f.source) for f in moved] == [("warning", "namespaceOverride", "dra/values.yaml:28")]
    # placed elsewhere by the chart's own design (no value moved it): not reported
    cm = _component("cm", {}, ns="cert-manager")
    assert foreign_namespaces({"cm": cm}, {"cm": [_obj("cm", deploy, "kube-system")]}) == []
    assert foreign_namespaces({"dra": dra}, {"dra": [_obj("dra", deploy, "nvidia-dra-driver")]}) == []
