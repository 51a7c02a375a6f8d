"""Matching, ordering and merging semantics on small rule bases."""

from __future__ import annotations

import pytest

from eidos.engine import recipe_document
from eidos.engine.matcher import Matcher, RecipeError

CATALOG = """
component cert-manager { helm repo "https://charts.jetstack.io" chart "cert-manager" version "v1.17.2" values "cm.yaml" }
component gpu-operator {
  helm repo "https://helm.ngc.nvidia.com/nvidia" chart "gpu-operator" version "v25.10.1"
  namespace "gpu-operator"
  values "gpu.yaml"
  manifest "m1.yaml"
  needs cert-manager
}
component dra { helm repo "r" chart "dra" version "25.8.1" needs gpu-operator }
component net { helm repo "r" chart "net" version "1.0.0" needs cert-manager }
"""
PAYLOADS = {
    "cm.yaml": "installCRDs: true\n",
    "gpu.yaml": "driver:\n  enabled: true\n  version: 580.105.08\n  rdma:\n    enabled: true\ncdi:\n  enabled: false\ntags: [a, b]\n",
    "gpu-train.yaml": "driver:\n  rdma:\n    useHostMofed: true\ncdi:\n  default: false\n",
    "m1.yaml": "kind: ConfigMap\n",
    "m2.yaml": "kind: Secret\n",
}


@pytest.fixture
def build(rules):
    def make(overlays: str):
        files = {"catalog.eidos": CATALOG, "overlays.eidos": overlays, **PAYLOADS}
        graph, diags = rules(files)
        assert graph is not None, [d.render() for d in diags]
        return Matcher(graph)

    return make


BASE = """
overlay base {
  when always
  require k8s: K8s.server.version >= 1.25
  component cert-manager
  component gpu-operator
}
"""


def test_unknown_fact_is_not_satisfied(build):
    m = build(BASE + "overlay eks extends base { when service == eks }\noverlay not-gke extends base { when service != gke }")
    assert [o.name for o in m.applied({})] == ["base"]
    assert [o.name for o in m.applied({"service": "eks"})] == ["base", "eks", "not-gke"]


def test_order_is_parents_then_specificity_then_name(build):
    m = build(BASE + """
        overlay zeta extends base { when service == eks }
        overlay alpha extends base { when service == eks and intent == training }
        overlay mid extends base { when intent == training }
        overlay child extends zeta { when intent == training }
        overlay grandchild extends child { }
    """)
    names = [o.name for o in m.applied({"service": "eks", "intent": "training"})]
    # specificity 0: base; 1: mid, zeta; 2: alpha, child (depth 2), grandchild (depth 3)
    assert names == ["base", "mid", "zeta", "alpha", "child", "grandchild"]


def test_parent_conditions_are_inherited(build):
    m = build(BASE + "overlay eks extends base { when service == eks }\noverlay t extends eks { when intent == training }")
    assert [o.name for o in m.applied({"intent": "training"})] == ["base"]
    assert [o.name for o in m.applied({"intent": "training", "service": "gke"})] == ["base"]


def test_requirements_accumulate_and_replace_only_explicitly(build):
    m = build(BASE + """
        overlay eks extends base { when service == eks replace k8s: K8s.server.version >= 1.28 }
        overlay h100 extends base { when accelerator == h100 replace k8s: K8s.server.version >= 1.31
            require kernel: OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8 }
        overlay other { when accelerator == h100 require K8s.server.version < 1.40 }
    """)
    r = m.resolve({"service": "eks", "accelerator": "h100"})
    # order of application: other (specificity 1, depth 0), eks, h100 (specificity 1, depth 1)
    assert [(x.overlay, x.text) for x in r.requirements] == [
        ("other", "K8s.server.version < 1.40"),
        ("eks", "K8s.server.version >= 1.28"),  # both siblings' replacements hold together
        ("h100", "K8s.server.version >= 1.31"),
        ("h100", 'OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8'),
    ]
    r = m.resolve({"service": "gke"})
    assert [(x.overlay, x.text) for x in r.requirements] == [("base", "K8s.server.version >= 1.25")]


def test_values_stack_along_the_chain_then_set_then_unset(build):
    m = build(BASE + """
        overlay train extends base {
          when intent == training
          component gpu-operator {
            values "gpu-train.yaml"
            set driver.version = "580.82.07"
            set driver.kernelModuleConfig = { name: "kmp" }
            set tags = ["c"]
            unset driver.rdma.enabled
          }
        }
        overlay later extends train {
          when service == eks
          component gpu-operator { set cdi.enabled = true unset missing.key }
        }
    """)
    r = m.resolve({"intent": "training", "service": "eks"})
    gpu = next(c for c in r.components if c.name == "gpu-operator")
    assert gpu.values == {
        "driver": {"enabled": True, "version": "580.82.07", "rdma": {"useHostMofed": True},
                   "kernelModuleConfig": {"name": "kmp"}},
        "cdi": {"enabled": True, "default": False},
        "tags": ["c"],  # lists replace, never merge
    }


def test_graph_is_never_mutated_by_a_resolve(build):
    m = build(BASE + "overlay t extends base { when intent == training component gpu-operator { set driver.enabled = false } }")
    before = m.resolve({})
    m.resolve({"intent": "training"})
    after = m.resolve({})
    assert before.components == after.components


def test_versions_namespaces_manifests_needs(build):
    m = build(BASE + """
        overlay gb extends base {
          when accelerator == gb200
          component gpu-operator { version "v25.3.3" namespace "gpu" manifest "m2.yaml" drop manifest "m1.yaml" }
          component dra
        }
    """)
    r = m.resolve({"accelerator": "gb200"})
    gpu = next(c for c in r.components if c.name == "gpu-operator")
    assert (gpu.version, gpu.namespace, gpu.manifests) == ("v25.3.3", "gpu", ("m2.yaml",))
    assert r.deployment_order == ("cert-manager", "gpu-operator", "dra")


def test_drop_component_and_broken_needs(build):
    m = build(BASE + """
        overlay slim extends base { when intent == inference drop component gpu-operator }
        overlay bad extends base { when intent == training drop component cert-manager }
    """)
    r = m.resolve({"intent": "inference"})
    assert [c.name for c in r.components] == ["cert-manager"]
    with pytest.raises(RecipeError, match="needs 'cert-manager'.*dropped by overlay 'bad'"):
        m.resolve({"intent": "training"})


def test_drop_needs_repairs_a_dependency(build):
    m = build(BASE + """
        overlay bare extends base {
          when intent == training
          drop component cert-manager
          component gpu-operator { drop needs cert-manager }
        }
    """)
    r = m.resolve({"intent": "training"})
    assert [c.name for c in r.components] == ["gpu-operator"]


def test_deployment_order_breaks_ties_by_name(build):
    m = build(BASE + "overlay all extends base { when always component net component dra }")
    r = m.resolve({})
    assert r.deployment_order == ("cert-manager", "gpu-operator", "dra", "net")


def test_set_into_a_list_past_its_end_is_a_recipe_error(build):
    m = build(BASE + "overlay x extends base { when always component gpu-operator { set tags[5] = \"z\" } }")
    with pytest.raises(RecipeError, match=r"index \[5\] is out of range at tags \(2 item\(s\); use \[2\] to append\)"):
        m.resolve({})


def test_explain_names_every_overlay_and_reason(build):
    m = build(BASE + "overlay eks extends base { when service == eks }\noverlay t extends base { when intent == training }")
    r = m.resolve({"service": "eks"}, explain=True)
    verdicts = {v.name: v for v in r.explanation}
    assert verdicts["eks"].applied and "service == eks (got eks)" in verdicts["eks"].reason
    assert not verdicts["t"].applied and "intent == training is unknown (intent not given)" in verdicts["t"].reason
    doc = recipe_document(r, explain=True)
    gpu = next(c for c in doc["components"] if c["name"] == "gpu-operator")
    assert gpu["provenance"]["values"]["driver.version"].endswith("gpu.yaml:3")
    assert doc["requirements"][0]["source"].endswith("overlays.eidos:3")


def test_provenance_follows_the_last_writer(build):
    m = build(BASE + """
        overlay t extends base {
          when intent == training
          component gpu-operator { values "gpu-train.yaml" set driver = { version: "1" } }
        }
    """)
    r = m.resolve({"intent": "training"}, explain=True)
    gpu = next(c for c in r.components if c.name == "gpu-operator")
    prov = gpu.provenance["values"]
    assert prov["driver.version"].endswith("overlays.eidos:10")
    assert "driver.enabled" not in prov  # replaced by the set
    assert prov["cdi.default"].endswith("gpu-train.yaml:5")


# ---------------------------------------------------------------- surviving mutants (issue 9)


def test_replacing_one_requirement_keeps_every_other_requirement_of_that_overlay(build):
    # A `continue` -> `break` after the replaced requirement would drop os and kern.
    m = build("""
        overlay base {
          when always
          require k8s: K8s.server.version >= 1.25
          require os: OS.release.ID == "ubuntu"
          require kern: OS.kernel.version >= 5.15
          component cert-manager
        }
        overlay eks extends base {
          when service == eks
          replace k8s: K8s.server.version >= 1.28
          require extra: GPU.smi.driver >= 570
          require last: K8s.node.count >= 2
        }
    """)
    r = m.resolve({"service": "eks"})
    assert [(q.name, q.text, q.overlay) for q in r.requirements] == [
        ("os", 'OS.release.ID == "ubuntu"', "base"),
        ("kern", "OS.kernel.version >= 5.15", "base"),
        ("k8s", "K8s.server.version >= 1.28", "eks"),
        ("extra", "GPU.smi.driver >= 570", "eks"),
        ("last", "K8s.node.count >= 2", "eks"),
    ]


def test_needs_added_by_an_overlay_shape_the_deployment_order(build):
    # Without the added need, ties by name give cert-manager, gpu-operator, dra, net.
    m = build(BASE + """
        overlay all extends base {
          when always
          component net
          component dra { needs net }
        }
    """)
    r = m.resolve({})
    assert r.deployment_order == ("cert-manager", "gpu-operator", "net", "dra")
    dra = next(c for c in r.components if c.name == "dra")
    assert dra.needs == ("gpu-operator", "net")
    doc = recipe_document(r)
    assert doc["deploymentOrder"] == ["cert-manager", "gpu-operator", "net", "dra"]
    assert next(c for c in doc["components"] if c["name"] == "dra")["needs"] == ["gpu-operator", "net"]


STALE = BASE + """overlay t extends base {
  when intent == training
  component gpu-operator { version "v25.3.3" namespace "gpu-a" set driver.version = "t" }
}
overlay t2 extends t {
  when service == eks
  component gpu-operator { version "v25.4.0" values "gpu-train.yaml" set tags[1] = "z" }
  replace k8s: K8s.server.version >= 1.30
}
overlay t3 extends t2 {
  when accelerator == h100
  component gpu-operator { namespace "gpu-b" unset driver.rdma unset tags[0] }
}
"""


def _tail(where: str) -> str:
    return where.rsplit("/", 1)[-1]


def test_explain_cites_the_last_writer_of_every_value_and_requirement(build):
    # Lines counted by hand: BASE is lines 1-6 of overlays.eidos, STALE's overlays 7-19;
    # gpu.yaml and gpu-train.yaml are PAYLOADS above.
    m = build(STALE)
    r = m.resolve({"intent": "training", "service": "eks", "accelerator": "h100"}, explain=True)
    gpu = next(c for c in r.components if c.name == "gpu-operator")
    assert gpu.values == {
        "driver": {"enabled": True, "version": "t"},
        "cdi": {"enabled": False, "default": False},
        "tags": ["z"],
    }
    assert (gpu.version, gpu.namespace) == ("v25.4.0", "gpu-b")
    prov = gpu.provenance
    assert {k: _tail(v) for k, v in prov["values"].items()} == {
        "cdi.default": "gpu-train.yaml:5",
        "cdi.enabled": "gpu.yaml:7",
        "driver.enabled": "gpu.yaml:2",
        "driver.version": "overlays.eidos:9",
        "tags": "overlays.eidos:13",
    }
    assert _tail(prov["version"]) == "overlays.eidos:13"
    assert _tail(prov["namespace"]) == "overlays.eidos:18"
    assert _tail(prov["declared"]) == "catalog.eidos:2"
    assert _tail(prov["included"]) == "overlays.eidos:5"
    (k8s,) = r.requirements
    assert (k8s.name, k8s.overlay, _tail(k8s.span.short)) == ("k8s", "t2", "overlays.eidos:14")
    assert [_tail(x) for x in k8s.replaced] == ["overlays.eidos:3"]


def test_explain_provenance_with_fewer_overlays_names_the_earlier_writers(build):
    m = build(STALE)
    r = m.resolve({"intent": "training"}, explain=True)
    gpu = next(c for c in r.components if c.name == "gpu-operator")
    assert {k: _tail(v) for k, v in gpu.provenance["values"].items()} == {
        "cdi.enabled": "gpu.yaml:7",
        "driver.enabled": "gpu.yaml:2",
        "driver.rdma.enabled": "gpu.yaml:5",
        "driver.version": "overlays.eidos:9",
        "tags": "gpu.yaml:8",
    }
    assert _tail(gpu.provenance["version"]) == "overlays.eidos:9"
    assert _tail(gpu.provenance["namespace"]) == "overlays.eidos:9"
    assert _tail(r.requirements[0].span.short) == "overlays.eidos:3"


def test_set_into_a_scalar_is_a_recipe_error_naming_the_path(build):
    m = build(BASE + 'overlay x extends base { when always component gpu-operator { set driver.version.major = 1 } }')
    with pytest.raises(RecipeError, match=r"cannot set gpu-operator driver\.version\.major: "
                                          r"driver\.version holds a string, cannot set key 'major' in it"):
        m.resolve({})
