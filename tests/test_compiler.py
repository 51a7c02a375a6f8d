"""Every compiler diagnostic: its code, its location, its hint."""

from __future__ import annotations

import pytest

from tests.conftest import codes


def only(diags, code):
    found = [d for d in diags if d.code == code]
    assert found, f"no {code} in {[d.render() for d in diags]}"
    return found[0]


def test_clean_rule_base_compiles(rules):
    graph, diags = rules({"o.eidos": "overlay base { when always }"})
    assert graph is not None and diags == []


def test_unknown_fact_with_suggestion(rules):
    _, diags = rules({"o.eidos": "overlay o {\n  when acelerator == h100\n}"})
    d = only(diags, "E201")
    assert (d.span.file.endswith("o.eidos"), d.span.line, d.span.col) == (True, 2, 8)
    assert d.hint == "did you mean 'accelerator'?"


def test_unknown_enum_value_with_suggestion(rules):
    _, diags = rules({"o.eidos": "overlay o { when accelerator == h10 }"})
    d = only(diags, "E202")
    assert "h10" in d.message and d.hint == "did you mean 'h100'?"


def test_alias_is_accepted_and_normalised(rules):
    graph, diags = rules({"o.eidos": "overlay o { when service == amazon }"})
    assert not diags
    assert graph.overlays["o"].condition_text == "service == eks"


def test_unknown_parent(rules):
    _, diags = rules({"o.eidos": "overlay base { when always }\noverlay o extends bsae { }"})
    d = only(diags, "E203")
    assert (d.span.line, d.span.col) == (2, 19) and d.hint == "did you mean 'base'?"


def test_unknown_component_everywhere(rules):
    _, diags = rules({
        "c.eidos": 'component a { helm repo "r" chart "a" version "1" needs b }',
        "o.eidos": "overlay o { when always component x drop component y component a { needs z drop needs w } }",
    })
    assert sorted(d.message for d in diags if d.code == "E204") == [
        "unknown component 'b'", "unknown component 'w'", "unknown component 'x'",
        "unknown component 'y'", "unknown component 'z'",
    ]


@pytest.mark.parametrize(
    "files, what",
    [
        ({"a.eidos": "fact service: int"}, "fact 'service' is declared twice"),
        ({"a.eidos": 'component c { helm repo "r" chart "c" version "1" }\ncomponent c { helm repo "r" chart "c" version "1" }'},
         "component 'c' is declared twice"),
        ({"a.eidos": "overlay o { when always }", "b.eidos": "overlay o { when always }"}, "overlay 'o' is declared twice"),
        ({"a.eidos": "check k { when always }\ncheck k { when always }"}, "check 'k' is declared twice"),
        ({"a.eidos": "overlay o { when always require r: K8s.a.b == 1 require r: K8s.a.c == 1 }"},
         "requirement 'r' is declared twice"),
    ],
)
def test_duplicate_names(rules, files, what):
    _, diags = rules(files)
    d = only(diags, "E205")
    assert what in d.message and d.notes


def test_replace_needs_an_ancestor_requirement(rules):
    _, diags = rules({"o.eidos": """
        overlay base { when always require k8s: K8s.server.version >= 1.25 }
        overlay o extends base { when service == eks replace k8: K8s.server.version >= 1.28 }
    """})
    d = only(diags, "E206")
    assert d.hint == "did you mean 'k8s'?"


def test_reusing_a_requirement_name_needs_replace(rules):
    _, diags = rules({"o.eidos": """
        overlay base { when always require k8s: K8s.server.version >= 1.25 }
        overlay o extends base { when service == eks require k8s: K8s.server.version >= 1.28 }
    """})
    assert "replace k8s" in only(diags, "E209").hint


def test_loosening_replace_warns(rules):
    graph, diags = rules({"o.eidos": """
        overlay base { when always require k8s: K8s.server.version >= 1.30 }
        overlay o extends base { when service == eks replace k8s: K8s.server.version >= 1.28 }
    """})
    assert graph is not None  # a warning, not an error
    assert "loosens" in only(diags, "W502").message


def test_unknown_measurement_type_and_short_path(rules):
    _, diags = rules({"o.eidos": "overlay o { when always require k8s.server.version >= 1 require OS.release == 1 }"})
    assert only(diags, "E207").hint == "did you mean 'K8s'?"
    assert only(diags, "E305")


def test_overlay_without_condition(rules):
    _, diags = rules({"o.eidos": "overlay o { }"})
    assert "when always" in only(diags, "E208").hint


def test_check_without_condition(rules):
    _, diags = rules({"o.eidos": "check k { require exists OS.kmod.nvidia }"})
    only(diags, "E208")


@pytest.mark.parametrize(
    "cond, fragment",
    [
        ("accelerator > h100", "only ==, !=, in and not in apply"),
        ("nodes == h100", "integer"),
        ("K8s.server.version >= 1.2", "conditions select on facts"),
        ("exists OS.kmod.x", "'exists' tests measurements"),
        ("service in { eks, 8 }", "not a int"),
    ],
)
def test_condition_type_errors(rules, cond, fragment):
    _, diags = rules({"o.eidos": f"overlay o {{ when {cond} }}"})
    assert any(fragment in d.message for d in diags if d.code in ("E301", "E202")), [d.render() for d in diags]


@pytest.mark.parametrize(
    "req, fragment",
    [
        ('K8s.server.version >= "1.30"', "strings have no order"),
        ("OS.release.ID == ubuntu", "bare word"),
        ("service == eks", "is a fact"),
        ("K8s.server.version >= true", "booleans have no order"),
    ],
)
def test_requirement_type_errors(rules, req, fragment):
    _, diags = rules({"o.eidos": f"overlay o {{ when always require {req} }}"})
    assert any(fragment in d.message for d in diags if d.code == "E301"), [d.render() for d in diags]


def test_unknown_severity(rules):
    _, diags = rules({"o.eidos": "overlay o { when always require K8s.a.b == 1 severity fatal }"})
    assert "severity must be" in only(diags, "E301").message


def test_bad_regex(rules):
    _, diags = rules({"o.eidos": 'overlay o { when always require K8s.server.version matches "(" }'})
    assert "regular expression" in only(diags, "E302").message


def test_bad_version_literal(rules):
    _, diags = rules({"o.eidos": "fact kv: version\noverlay o { when kv == \"x.y\" }"})
    only(diags, "E303")


def test_empty_range(rules):
    _, diags = rules({"o.eidos": "overlay o { when nodes in 8..2 }\noverlay p { when nodes in 4..<4 }"})
    assert len([d for d in diags if d.code == "E304"]) == 2


def test_inheritance_cycle_is_printed_once(rules):
    _, diags = rules({"o.eidos": """
        overlay a extends c { when always }
        overlay b extends a { }
        overlay c extends b { }
    """})
    cycles = [d for d in diags if d.code == "E401"]
    assert len(cycles) == 1 and cycles[0].message == "inheritance cycle: a -> c -> b -> a"


def test_self_inheritance(rules):
    _, diags = rules({"o.eidos": "overlay a extends a { when always }"})
    assert only(diags, "E401").message == "inheritance cycle: a -> a"


def test_needs_cycle_across_catalog_and_overlays(rules):
    _, diags = rules({
        "c.eidos": """
            component a { helm repo "r" chart "a" version "1" needs b }
            component b { helm repo "r" chart "b" version "1" }
        """,
        "o.eidos": "overlay o { when always component b { needs a } }",
    })
    assert only(diags, "E402").message == "needs cycle: a -> b -> a"


def test_missing_and_escaping_payloads(rules, tmp_path):
    (tmp_path / "outside.yaml").write_text("a: 1\n")
    _, diags = rules({
        "c.eidos": """
            component a { helm repo "r" chart "a" version "1" values "nope.yaml" }
            component b { helm repo "r" chart "b" version "1" values "../outside.yaml" }
            component c { helm repo "r" chart "c" version "1" manifest "/etc/passwd" }
        """,
    })
    assert len([d for d in diags if d.code == "E403"]) == 1
    assert len([d for d in diags if d.code == "E404"]) == 2


def test_symlink_out_of_the_rule_base_is_refused(rules, tmp_path):
    (tmp_path / "secret.yaml").write_text("a: 1\n")
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    from eidos.errors import InputError

    with pytest.raises(InputError, match="symlink"):
        rules({"c.eidos": 'component a { helm repo "r" chart "a" version "1" values "link.yaml" }'})


def test_values_file_must_be_a_yaml_mapping(rules):
    _, diags = rules({
        "c.eidos": 'component a { helm repo "r" chart "a" version "1" values "v.yaml" }',
        "v.yaml": "- just\n- a list\n",
    })
    assert "mapping" in only(diags, "E406").message
    _, diags = rules({
        "c.eidos": 'component a { helm repo "r" chart "a" version "1" values "v.yaml" }',
        "v.yaml": "a: [unclosed\n",
    })
    only(diags, "E406")


def test_condition_that_can_never_hold(rules):
    _, diags = rules({"o.eidos": """
        overlay a { when service == eks and service == gke }
        overlay b { when nodes > 8 and nodes < 4 }
        overlay c { when os in { ubuntu } and os not in { ubuntu, rhel } }
        overlay base { when always }
        overlay d extends base { when service == eks }
        overlay e extends d { when service != eks }
    """})
    never = sorted(d.message.split("'")[1] for d in diags if d.code == "E405")
    assert never == ["a", "b", "c", "e"]


def test_same_effective_condition_warns(rules):
    graph, diags = rules({"o.eidos": """
        overlay x { when service == eks and intent == training }
        overlay y { when intent == training and service == eks }
        overlay z { when service == eks }
    """})
    d = only(diags, "W501")
    assert "'x' and 'y'" in d.message
    assert graph is not None


def test_float_that_reads_like_a_version_warns(rules):
    graph, diags = rules({"c.eidos": 'component a { helm repo "r" chart "a" version "1" set tag = 25.10 }'})
    assert '"25.10"' in only(diags, "W503").hint
    assert graph.components["a"].ops[0].value == 25.1


def test_unquoted_version_in_values_is_an_error(rules):
    _, diags = rules({"c.eidos": 'component a { helm repo "r" chart "a" version "1" set driver.version = 580.82.07 }'})
    assert only(diags, "E301").hint == 'write "580.82.07"'


def test_helm_component_must_pin_a_version(rules):
    _, diags = rules({"c.eidos": 'component a { helm repo "r" chart "a" }'})
    assert "needs a version" in only(diags, "E301").message


def test_layer_override_warns(rules, tmp_path):
    _, diags = rules({"o.eidos": "overlay base { when service == eks }"}, embedded=True)
    d = only(diags, "W504")
    assert "replaces the one at rules/base.eidos" in d.message


def test_every_error_is_reported_in_one_run(rules):
    _, diags = rules({
        "a.eidos": "overlay o {\n  when service = eks\n}\n",
        "b.eidos": "overlay p extends nope { when always }",
        "c.eidos": "overlay q extends r { when always }\noverlay r extends q { }",
    })
    assert {"E101", "E203", "E401"} <= set(codes(diags))


# ---------------------------------------------------------------- the compiler's shape (issue 9)


def test_the_compiler_is_an_ordered_list_of_named_stages():
    from eidos.engine import compiler

    assert [name for name, _ in compiler.STAGES] == [
        "parse", "declarations", "facts", "components", "overlays", "needs-cycles",
        "checks", "infers", "condition-analysis", "index",
    ]


def test_inheritance_ancestries_by_hand():
    from eidos.engine.cycles import Cycle, Unknown, ancestries

    chains, problems = ancestries({"a": None, "b": "a", "c": "b", "x": "y", "p": "q", "q": "p", "r": "p"})
    assert chains == {"a": ("a",), "b": ("a", "b"), "c": ("a", "b", "c"), "x": None, "p": None, "q": None,
                      "r": None}
    assert problems == [Cycle(("p", "q", "p")), Unknown("x", "y")]


def test_needs_cycles_by_hand():
    from eidos.engine.cycles import needs_cycles

    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert needs_cycles(edges) == [("a", "b", "c", "a"), ("d", "d")]
    assert needs_cycles({"a": {"b"}, "b": set()}) == []


def test_the_index_format_has_one_home():
    from eidos.engine import compiler, index, matcher

    assert compiler.build_index is index.build_index
    assert matcher.fact_index is index
