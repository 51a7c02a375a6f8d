"""Resolution semantics, seen only through the public path: rule text in, recipe out.

Each test states one rule of docs/language.md (requirements, component changes, values,
provenance, explanations, deployment order) with hand-computed expectations, so a bug in
the matcher or the value-path code fails a test even after those modules are refactored.
Written to kill the mutants a mutation run found surviving (docs/testing.md).
"""

from __future__ import annotations

from pathlib import PurePath

import pytest

from eidos.engine import recipe_document
from eidos.engine.matcher import Matcher, RecipeError, deployment_order

CATALOG = """\
component cert-manager { helm repo "https://charts.jetstack.io" chart "cert-manager" version "v1.17.2" }
component gpu-operator {
  helm repo "https://helm.ngc.nvidia.com/nvidia" chart "gpu-operator" version "v25.10.1"
  namespace "gpu-operator"
  values "gpu.yaml"
  manifest "m1.yaml"
  needs cert-manager
}
component dra { helm repo "r" chart "dra" version "25.8.1" }
component net { helm repo "r" chart "net" version "1.0.0" }
component teleport { kustomize source "https://git.example.com/t.git" tag "0.6.1" path "overlays/prod" }
"""
# catalog.eidos lines: cert-manager 1, gpu-operator 2 (namespace 4), dra 9, net 10, teleport 11

PAYLOADS = {
    # gpu.yaml lines: driver 1, enabled 2, version 3, tags 4, env 5-8
    "gpu.yaml": "driver:\n  enabled: true\n  version: 580.105.08\ntags: [a, b, c]\nenv:\n"
                "  - name: A\n    value: '1'\n  - name: B\n",
    "m1.yaml": "kind: ConfigMap\n",
    "m2.yaml": "kind: Secret\n",
}


@pytest.fixture
def build(rules):
    def make(overlays: str) -> Matcher:
        graph, diags = rules({"catalog.eidos": CATALOG, "overlays.eidos": overlays, **PAYLOADS})
        assert graph is not None, [d.render() for d in diags]
        return Matcher(graph)

    return make


def short(location: str) -> str:
    """``/tmp/.../overlays.eidos:3`` -> ``overlays.eidos:3``."""
    path, _, line = location.rpartition(":")
    return f"{PurePath(path).name}:{line}"


def comp(recipe, name):
    return next(c for c in recipe.components if c.name == name)


# -- requirements --------------------------------------------------------------

REQS = """\
overlay base {
  when always
  require k8s: K8s.server.version >= 1.25
  require os: OS.release.ID == "ubuntu"
  require K8s.server.version < 2.0
  component cert-manager
}
overlay eks extends base {
  when service == eks
  replace k8s: K8s.server.version >= 1.28
  require kernel: OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8
}
overlay eks-train extends eks {
  when intent == training
  replace k8s: K8s.server.version >= 1.30
  replace kernel: OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.9
  require OS.release.VERSION_ID == 24.04
}
"""


def _reqs(recipe):
    return [(r.overlay, r.name, r.text) for r in recipe.requirements]


def test_a_replaced_requirement_does_not_hide_the_ones_after_it(build):
    # base's k8s is replaced by eks; base's os and unnamed requirement (declared after k8s)
    # must still hold: skipping a shadowed requirement must not stop the overlay's loop.
    m = build(REQS)
    assert _reqs(m.resolve({"service": "eks"})) == [
        ("base", "os", 'OS.release.ID == "ubuntu"'),
        ("base", None, "K8s.server.version < 2.0"),
        ("eks", "k8s", "K8s.server.version >= 1.28"),
        ("eks", "kernel", 'OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8'),
    ]


def test_replacement_through_two_generations_keeps_only_the_newest(build):
    m = build(REQS)
    assert _reqs(m.resolve({"service": "eks", "intent": "training"})) == [
        ("base", "os", 'OS.release.ID == "ubuntu"'),
        ("base", None, "K8s.server.version < 2.0"),
        ("eks-train", "k8s", "K8s.server.version >= 1.30"),
        ("eks-train", "kernel", 'OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.9'),
        ("eks-train", None, "OS.release.VERSION_ID == 24.04"),
    ]


def test_without_the_replacing_overlay_the_original_holds(build):
    m = build(REQS)
    assert _reqs(m.resolve({"service": "gke"})) == [
        ("base", "k8s", "K8s.server.version >= 1.25"),
        ("base", "os", 'OS.release.ID == "ubuntu"'),
        ("base", None, "K8s.server.version < 2.0"),
    ]


def test_replaces_names_the_requirements_it_replaced(build):
    m = build(REQS)
    r = m.resolve({"service": "eks", "intent": "training"}, explain=True)
    by = {(x.overlay, x.name): x for x in r.requirements}
    # eks-train's k8s replaces both ancestors' k8s (base line 3, eks line 10), nothing else
    assert [short(s) for s in by[("eks-train", "k8s")].replaced] == ["overlays.eidos:3", "overlays.eidos:10"]
    assert [short(s) for s in by[("eks-train", "kernel")].replaced] == ["overlays.eidos:11"]
    # plain requirements replace nothing, even unnamed ones next to unnamed ancestors
    assert by[("eks-train", None)].replaced == ()
    assert by[("base", "os")].replaced == ()
    doc = recipe_document(r, explain=True)
    k8s = next(d for d in doc["requirements"] if d.get("name") == "k8s")
    assert [short(s) for s in k8s["replaces"]] == ["overlays.eidos:3", "overlays.eidos:10"]
    assert short(k8s["source"]) == "overlays.eidos:15"


def test_direct_child_replacement_names_its_parent(build):
    m = build(REQS)
    r = m.resolve({"service": "eks"}, explain=True)
    k8s = next(x for x in r.requirements if x.name == "k8s")
    assert [short(s) for s in k8s.replaced] == ["overlays.eidos:3"]


def test_requirement_fields_are_carried(build):
    m = build("""\
overlay base {
  when always
  require k8s: K8s.server.version >= 1.25
    severity warning
    message "Too old."
    remedy "Upgrade."
}
""")
    (r,) = m.resolve({}).requirements
    assert (r.name, r.text, r.severity, r.message, r.remedy, r.overlay) == (
        "k8s", "K8s.server.version >= 1.25", "warning", "Too old.", "Upgrade.", "base")
    assert short(r.span.short) == "overlays.eidos:3"


# -- components ------------------------------------------------------------------

COMPONENTS = """\
overlay base {
  when always
  component cert-manager
  component gpu-operator
}
overlay gb extends base {
  when accelerator == gb200
  component gpu-operator {
    version "v25.3.3"
    namespace "gpu"
    manifest "m1.yaml"
    manifest "m2.yaml"
    needs dra
    needs dra
  }
  component dra
}
overlay slim extends gb {
  when intent == inference
  component gpu-operator { drop needs dra drop manifest "m1.yaml" }
}
overlay tele extends base {
  when intent == training
  component teleport { version "0.7.0" }
}
"""


def test_needs_added_by_an_overlay_are_kept_once_and_order_deployment(build):
    m = build(COMPONENTS)
    r = m.resolve({"accelerator": "gb200"})
    gpu = comp(r, "gpu-operator")
    assert gpu.needs == ("cert-manager", "dra")  # the catalog's need plus the overlay's, no duplicate
    # dra sorts before gpu-operator by name, and gpu-operator now needs it anyway
    assert r.deployment_order == ("cert-manager", "dra", "gpu-operator")


def test_an_added_need_changes_the_order_names_alone_would_give(build):
    m = build(COMPONENTS + """\
overlay late extends base {
  when service == eks
  component cert-manager { needs net }
  component net
}
""")
    r = m.resolve({"service": "eks"})
    assert comp(r, "cert-manager").needs == ("net",)
    assert r.deployment_order == ("net", "cert-manager", "gpu-operator")


def test_version_namespace_and_manifests(build):
    m = build(COMPONENTS)
    gpu = comp(m.resolve({"accelerator": "gb200"}), "gpu-operator")
    assert (gpu.version, gpu.namespace) == ("v25.3.3", "gpu")
    assert gpu.manifests == ("m1.yaml", "m2.yaml")  # m1 from the catalog once, m2 added
    gpu = comp(m.resolve({}), "gpu-operator")
    assert (gpu.version, gpu.namespace, gpu.manifests) == ("v25.10.1", "gpu-operator", ("m1.yaml",))


def test_drop_needs_and_drop_manifest(build):
    m = build(COMPONENTS)
    r = m.resolve({"accelerator": "gb200", "intent": "inference"})
    gpu = comp(r, "gpu-operator")
    assert gpu.needs == ("cert-manager",)
    assert gpu.manifests == ("m2.yaml",)
    assert r.deployment_order == ("cert-manager", "dra", "gpu-operator")


def test_kustomize_tag_follows_the_version(build):
    m = build(COMPONENTS)
    doc = recipe_document(m.resolve({"intent": "training"}))
    comps = {c["name"]: c for c in doc["components"]}
    tele = comps["teleport"]
    assert (tele["type"], tele["tag"], tele["source"], tele["path"]) == (
        "kustomize", "0.7.0", "https://git.example.com/t.git", "overlays/prod")
    assert "version" not in tele and "chart" not in tele
    gpu = comps["gpu-operator"]
    assert (gpu["type"], gpu["chart"], gpu["repository"], gpu["version"]) == (
        "helm", "gpu-operator", "https://helm.ngc.nvidia.com/nvidia", "v25.10.1")
    assert "tag" not in gpu  # only kustomize components take the version as their tag


def test_component_provenance_names_the_last_writer(build):
    m = build(COMPONENTS)
    r = m.resolve({"accelerator": "gb200"}, explain=True)
    prov = comp(r, "gpu-operator").provenance
    assert {k: short(v) for k, v in prov.items() if k != "values"} == {
        "declared": "catalog.eidos:2",
        "included": "overlays.eidos:4",
        "version": "overlays.eidos:9",  # not the catalog's line 3: the overlay changed it
        "namespace": "overlays.eidos:8",  # the component block that changed it
    }
    prov = comp(m.resolve({}, explain=True), "gpu-operator").provenance
    assert {k: short(v) for k, v in prov.items() if k != "values"} == {
        "declared": "catalog.eidos:2", "included": "overlays.eidos:4", "version": "catalog.eidos:3",
    }
    assert {k: short(v) for k, v in prov["values"].items()} == {
        "driver.enabled": "gpu.yaml:2", "driver.version": "gpu.yaml:3", "env": "gpu.yaml:5", "tags": "gpu.yaml:4",
    }


def test_missing_need_is_a_recipe_error_naming_the_component(build):
    m = build("overlay base {\n  when always\n  component gpu-operator\n}\n")
    with pytest.raises(RecipeError) as err:
        m.resolve({})
    assert err.value.message == "component 'gpu-operator' needs 'cert-manager', which this recipe does not include"


def test_dropped_need_names_the_overlay_that_dropped_it(build):
    m = build(COMPONENTS + """\
overlay bad extends base {
  when service == gke
  drop component cert-manager
}
""")
    with pytest.raises(RecipeError) as err:
        m.resolve({"service": "gke"})
    head, _, where = err.value.message.rpartition(" at ")
    assert head == ("component 'gpu-operator' needs 'cert-manager', which this recipe does not include "
                    "(dropped by overlay 'bad'")
    assert short(where.rstrip(")")) == "overlays.eidos:28"


def test_a_component_dropped_then_included_again_is_back(build):
    m = build(COMPONENTS + """\
overlay drop-dra extends gb {
  when service == eks
  drop component dra
}
overlay again extends drop-dra {
  when os == ubuntu
  component dra
}
""")
    r = m.resolve({"accelerator": "gb200", "service": "eks", "os": "ubuntu"})
    assert [c.name for c in r.components] == ["cert-manager", "dra", "gpu-operator"]
    with pytest.raises(RecipeError, match="needs 'dra'.*dropped by overlay 'drop-dra'"):
        m.resolve({"accelerator": "gb200", "service": "eks"})


# -- values ----------------------------------------------------------------------

def _values_of(build, changes: str, facts=None):
    m = build("overlay base {\n  when always\n  component cert-manager\n  component gpu-operator {\n"
              + changes + "\n  }\n}\n")
    return comp(m.resolve(facts or {}, explain=True), "gpu-operator")


def test_set_through_a_list_index_replaces_that_element(build):
    gpu = _values_of(build, '    set tags[1] = "z"\n    set env[0].value = "9"')
    assert gpu.values["tags"] == ["a", "z", "c"]
    assert gpu.values["env"] == [{"name": "A", "value": "9"}, {"name": "B"}]


def test_set_at_the_end_of_a_list_appends(build):
    gpu = _values_of(build, '    set tags[3] = "d"\n    set env[2].name = "C"')
    assert gpu.values["tags"] == ["a", "b", "c", "d"]
    assert gpu.values["env"] == [{"name": "A", "value": "1"}, {"name": "B"}, {"name": "C"}]


def test_set_into_a_new_map_and_a_new_list(build):
    gpu = _values_of(build, '    set extra.list[0] = "x"\n    set extra.deep.key = 3\n    set extra.grid[0][0] = 1\n'
                            '    set tags[3][0] = "n"')
    assert gpu.values["extra"] == {"list": ["x"], "deep": {"key": 3}, "grid": [[1]]}
    assert gpu.values["tags"] == ["a", "b", "c", ["n"]]


def test_unset_through_a_list_index_removes_that_element(build):
    gpu = _values_of(build, "    unset tags[7]\n    unset tags[3]\n    unset tags[0]\n    unset env[1].name\n"
                            "    unset env[0].nothing")
    assert gpu.values["tags"] == ["b", "c"]  # [7] and [3] (== length) are past the end: no-ops
    assert gpu.values["env"] == [{"name": "A", "value": "1"}, {}]


def test_unset_a_map_key_and_absent_keys(build):
    gpu = _values_of(build, "    unset driver.version\n    unset no.such.key\n    unset tags.x")
    assert gpu.values["driver"] == {"enabled": True}
    assert gpu.values["tags"] == ["a", "b", "c"]


def test_set_index_into_a_map_is_a_recipe_error(build):
    with pytest.raises(RecipeError, match=r"cannot set gpu-operator driver\[0\]: driver is not a list"):
        _values_of(build, '    set driver[0] = "x"')


def test_values_provenance_of_set_and_unset(build):
    gpu = _values_of(build, '    set driver.version = "1"\n    set driver.extra = { a: 1, b: { c: 2 } }\n'
                            "    unset driver.enabled")
    assert {k: short(v) for k, v in gpu.provenance["values"].items()} == {
        "driver.extra.a": "overlays.eidos:6",
        "driver.extra.b.c": "overlays.eidos:6",
        "driver.version": "overlays.eidos:5",
        "env": "gpu.yaml:5",
        "tags": "gpu.yaml:4",
    }


def test_a_set_over_a_map_then_a_values_file_again(build):
    m = build("""\
overlay base {
  when always
  component cert-manager
  component gpu-operator { set driver = "off" }
}
overlay t extends base {
  when intent == training
  component gpu-operator { values "gpu.yaml" }
}
""")
    gpu = comp(m.resolve({"intent": "training"}, explain=True), "gpu-operator")
    assert gpu.values["driver"] == {"enabled": True, "version": "580.105.08"}
    assert short(gpu.provenance["values"]["driver.version"]) == "gpu.yaml:3"
    assert "driver" not in gpu.provenance["values"]


def test_set_through_a_list_index_leaves_no_stale_provenance(build):
    # the list is no longer only what gpu.yaml:4 wrote; citing that line would be stale
    gpu = _values_of(build, '    set tags[1] = "z"')
    assert short(gpu.provenance["values"].get("tags", "-:-")) != "gpu.yaml:4"
    assert short(gpu.provenance["values"]["driver.version"]) == "gpu.yaml:3"


# List provenance: the origin of a final leaf is the most recent write at or below it, so a
# list edited through an index names that `set`, and an `unset` (not a write) leaves the
# list with the file that wrote it.


def test_provenance_of_a_list_set_through_an_index_names_the_set(build):
    gpu = _values_of(build, '    set tags[1] = "z"\n    set env[0].value = "9"')
    assert short(gpu.provenance["values"]["tags"]) == "overlays.eidos:5"
    assert short(gpu.provenance["values"]["env"]) == "overlays.eidos:6"


def test_provenance_of_a_list_after_unset_through_an_index_names_its_writer(build):
    gpu = _values_of(build, "    unset tags[0]")
    assert gpu.values["tags"] == ["b", "c"]
    assert short(gpu.provenance["values"]["tags"]) == "gpu.yaml:4"


# -- selection and explanations ----------------------------------------------------

EXPLAIN = """\
overlay base {
  when always
  component cert-manager
}
overlay eks extends base { when service == eks }
overlay pair extends base { when service == eks and intent == training }
overlay either extends base { when service == gke or intent == training }
"""


def test_explain_reasons_word_for_word(build):
    m = build(EXPLAIN)
    r = m.resolve({"service": "eks"}, explain=True, fact_sources={"service": "flag"})
    by = {v.name: v for v in r.explanation}
    assert [v.name for v in r.explanation] == ["base", "eks", "either", "pair"]
    assert by["base"].reason == "applies: 'when always'"
    assert by["eks"].reason == "applies: service == eks (got eks)"
    assert by["pair"].reason == "does not apply: intent == training is unknown (intent not given)"
    assert by["either"].reason == (
        "does not apply: service == gke is false (got eks); intent == training is unknown (intent not given)")
    assert [(v.name, v.applied) for v in r.explanation] == [
        ("base", True), ("eks", True), ("either", False), ("pair", False)]
    assert (by["pair"].condition, by["pair"].specificity, short(by["pair"].source)) == (
        "service == eks and intent == training", 2, "overlays.eidos:6")
    assert r.fact_sources == {"service": "flag"}


def test_explain_names_only_the_parts_that_decided(build):
    m = build(EXPLAIN)
    r = m.resolve({"service": "gke", "intent": "training"}, explain=True)
    by = {v.name: v for v in r.explanation}
    assert by["either"].reason == "applies: service == gke (got gke); intent == training (got training)"
    assert by["pair"].reason == "does not apply: service == eks is false (got gke)"


def test_a_condition_false_with_no_false_part(build):
    m = build(EXPLAIN + "overlay not-gke extends base { when not (service == gke) }\n")
    by = {v.name: v for v in m.resolve({"service": "gke"}, explain=True).explanation}
    assert (by["not-gke"].applied, by["not-gke"].reason) == (False, "does not apply: condition does not hold")


def test_without_explain_there_is_no_explanation(build):
    m = build(EXPLAIN)
    r = m.resolve({"service": "eks"}, fact_sources={"service": "flag"})
    assert r.explanation is None and r.fact_sources is None
    assert "explain" not in recipe_document(r)


def test_recipe_carries_criteria_and_overlays_in_order(build):
    m = build(EXPLAIN)
    r = m.resolve({"service": "gke", "intent": "training"})
    assert r.criteria == {"service": "gke", "intent": "training"}
    assert r.overlays == ("base", "either")
    assert m.candidates({"service": "eks", "intent": "training"}) >= {"base", "eks", "pair", "either"}


# -- deployment order ----------------------------------------------------------------

def test_cycle_is_an_error_naming_its_members():
    with pytest.raises(RecipeError) as err:
        deployment_order({"a": ("b",), "b": ("a",), "c": ()})
    assert err.value.message == "components need each other in a cycle: a, b"


def test_ready_components_go_by_name_whatever_the_input_order():
    assert deployment_order({"c": (), "b": (), "a": ()}) == ["a", "b", "c"]
    assert deployment_order({"z": (), "b": ("z",), "a": ("b",)}) == ["z", "b", "a"]


def test_int_fact_conditions_at_their_boundary(build):
    m = build(EXPLAIN + """\
overlay big extends base { when nodes >= 8 }
overlay small extends base { when nodes < 8 }
overlay exactly extends base { when nodes == 8 }
""")
    assert m.resolve({"nodes": 8}).overlays == ("base", "big", "exactly")
    assert m.resolve({"nodes": 7}).overlays == ("base", "small")
    assert m.resolve({"nodes": 9}).overlays == ("base", "big")
    assert m.resolve({}).overlays == ("base",)  # unknown, so neither side applies


def test_range_requirements_keep_their_bounds_in_the_recipe(build):
    m = build("""\
overlay base {
  when always
  require a: K8s.server.version in 1.30..<1.34
  require b: K8s.server.version in 1.30..1.34
  require c: K8s.server.version not in 1.30..<1.34
  component cert-manager
}
""")
    assert [r.text for r in m.resolve({}).requirements] == [
        "K8s.server.version in 1.30..<1.34",  # upper bound excluded
        "K8s.server.version in 1.30..1.34",  # upper bound included
        "K8s.server.version not in 1.30..<1.34",
    ]
