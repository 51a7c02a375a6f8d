"""Exact diagnostics, messages and rendering of the expression package.

These pin what an author or an operator reads: the diagnostic code and hint of each type
error in ``check``/``registry``, the text of evaluation errors in ``coercion``, and the
parentheses ``render`` writes. Each expected value is written out by hand; a check that
reported the right problem under the wrong code, or a message that lost its detail,
fails here. (They were written against survivors of the mutation run; see docs/testing.md.)
"""

from __future__ import annotations

import pytest

from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.expr import Checker, EvalError, FactType, coerce, evaluate, render, trace
from eidos.lang.expr import coercion
from eidos.lang.expr.coercion import coercer
from eidos.lang.measurements import MISSING
from eidos.lang.parser import parse_module

FACTS = {
    "service": FactType("service", "enum", ("eks", "gke", "aks")),
    "nodes": FactType("nodes", "int"),
    "ratio": FactType("ratio", "float"),
    "region": FactType("region", "string"),
    "p": FactType("p", "bool"),
    "q": FactType("q", "bool"),
    "s": FactType("s", "bool"),
}


def _expr(text: str, allow: str):
    r = Reporter()
    wrapper = (f"overlay o {{\n  when {text}\n}}" if allow == "facts"
               else f"overlay o {{\n  when always\n  require {text}\n}}")
    module = parse_module(SourceFile("t.eidos", wrapper), r)
    assert not r.items, [d.render() for d in r.items]
    decl = module.decls[0]
    return (decl.when[0] if allow == "facts" else decl.requires[0].expr), r


def diagnostic(text: str, allow: str = "facts"):
    """The one diagnostic checking ``text`` gives: (code, message, hint)."""
    expr, r = _expr(text, allow)
    assert Checker(FACTS, r).check(expr, allow) is None
    (d,) = r.sorted()
    return d.code, d.message, d.hint


def ir_of(text: str, allow: str = "facts"):
    expr, r = _expr(text, allow)
    ir = Checker(FACTS, r).check(expr, allow)
    assert ir is not None, [d.render() for d in r.items]
    return ir


# ---------------------------------------------------------------- check.py: codes and hints


@pytest.mark.parametrize(
    "text, allow, expected",
    [
        ("K8s.server.version >= 1.30", "facts",
         ("E301", "conditions select on facts, not measurements ('K8s.server.version')",
          "derive a fact from snapshot data with 'infer', then use it in 'when'")),
        ("K8s.server >= 1.30", "measurements",
         ("E305", "path 'K8s.server' needs at least a type, a subtype and a key",
          "e.g. K8s.server.version or OS.sysctl[\"/proc/sys/kernel/osrelease\"]")),
        ("service == 5", "facts",
         ("E301", "'service' takes one of its values, not a int", "values: eks, gke, aks")),
        ("service == zzzzzzzz", "facts",
         ("E202", "'zzzzzzzz' is not a value of fact 'service'", "values: eks, gke, aks")),
        ("ratio == 1.2.3", "facts", ("E301", "'ratio' is a number; got a version", None)),
        ('ratio == "1.5"', "facts", ("E301", "'ratio' is a number; got a string", None)),
        ("region == west", "facts", ("E301", "'region' is a string; quote the value", None)),
        ('K8s.a.b in {1, "x"}', "measurements", ("E301", "a set mixes types: int, string", None)),
        ('K8s.a.b in {"x", 1.5, 2}', "measurements",  # a bare 1.5 is a version here
         ("E301", "a set mixes types: int, string, version", None)),
        ("exists OS.kmod.nvidia_peermem", "facts",
         ("E301", "'exists' tests measurements, which conditions cannot see",
          "derive a fact from the snapshot with 'infer', then test the fact")),
    ],
)
def test_type_errors_have_their_code_message_and_hint(text, allow, expected):
    assert diagnostic(text, allow) == expected


def test_a_two_part_number_written_bare_is_a_float_constant():
    """``1.5`` lexes like a version; against a float fact it is the number 1.5."""
    ir = ir_of("ratio >= 1.5")
    assert [evaluate(ir, lambda op, v=v: v) for v in (1.4, 1.5, 2.0)] == [False, True, True]
    assert render(ir) == "ratio >= 1.5"


# ---------------------------------------------------------------- coercion.py: messages


@pytest.mark.parametrize(
    "value, vtype, message",
    [
        (True, "float", "expected a number, got true"),
        (False, "float", "expected a number, got false"),
        (True, "int", "expected an integer, got true"),
        ("abc", "float", "expected a number, got 'abc'"),
        ("inf", "float", "expected a finite number, got 'inf'"),
        ([1], "string", "expected text, got a list"),
        ({}, "enum", "expected text, got a map"),
        ("maybe", "bool", "expected true or false, got 'maybe'"),
    ],
)
def test_coercion_errors_say_what_was_found(value, vtype, message):
    with pytest.raises(EvalError) as info:
        coerce(value, vtype)
    assert str(info.value) == message


def test_long_values_are_cut_to_eighty_characters_in_messages():
    with pytest.raises(EvalError) as info:
        coerce("x" * 200, "int")
    shown = str(info.value).removeprefix("expected an integer, got ")
    assert shown == "'" + "x" * 76 + "..."
    assert len(shown) == 80
    with pytest.raises(EvalError) as info:  # 78 x's and the quotes: exactly 80, kept whole
        coerce("x" * 78, "int")
    assert str(info.value) == "expected an integer, got '" + "x" * 78 + "'"


@pytest.mark.parametrize("vtype, value", [("int", 7), ("string", "a"), ("enum", "eks"),
                                          ("bool", True), ("float", 1.5)])
def test_a_value_already_of_the_type_skips_coercion(monkeypatch, vtype, value):
    """The closures' fast path: run once per snapshot of a fleet, so the common case must
    not go through the general ``coerce``."""
    def general(actual, vtype):
        raise AssertionError("the general coerce ran for a value already of the type")

    fast = coercer(vtype)
    monkeypatch.setattr(coercion, "coerce", general)
    assert fast(value) is value


def test_coercer_falls_back_to_coerce_for_other_values():
    assert coercer("int")("8") == 8 and coercer("string")(True) == "true"
    assert coercer("float")(4) == 4.0 and coercer("bool")("True") is True
    with pytest.raises(EvalError, match="expected a number, got true"):
        coercer("float")(True)


# ---------------------------------------------------------------- registry.py: evaluation errors


def test_a_lone_surrogate_is_an_evaluation_error_with_its_reason():
    ir = ir_of('OS.a.b matches "x"', "measurements")
    with pytest.raises(EvalError) as info:
        evaluate(ir, lambda op: "x\ud800")
    assert str(info.value) == "the value is not valid Unicode text (a lone surrogate)"
    value, (result,) = trace(ir, lambda op: "x\ud800")
    assert value is None and result.result is None
    assert result.error == "the value is not valid Unicode text (a lone surrogate)"


# ---------------------------------------------------------------- tracing.py: rendering and errors


@pytest.mark.parametrize(
    "text",
    [
        "not (p == true or q == true)",
        "(p == true or q == true) and s == true",
        "s == true and (p == true or q == true)",
        "not (p == true and q == true)",
        "p == true or q == true and s == true",
        "not p == true or not (q == true and s == true)",
    ],
)
def test_render_parenthesises_exactly_where_needed(text):
    assert render(ir_of(text)) == text


def test_trace_records_no_error_for_atoms_that_evaluated():
    ir = ir_of("p == true and nodes >= 2")
    value, results = trace(ir, lambda op: {"p": True, "nodes": "x"}.get(op.name, MISSING))
    assert value is None
    assert [(r.text, r.actual, r.result, r.error) for r in results] == [
        ("p == true", True, True, ""),
        ("nodes >= 2", "x", None, "expected an integer, got 'x'"),
    ]


# ---------------------------------------------------------------- a second sample's survivors


def test_unknown_measurement_type_is_e207_with_a_did_you_mean():
    assert diagnostic("k8s.server.version >= 1.30", "measurements") == (
        "E207", "unknown measurement type 'k8s'", "did you mean 'K8s'?")


def test_unknown_measurement_type_without_a_near_name_lists_the_known_ones():
    code, _, hint = diagnostic("Zzz.a.b == 1", "measurements")
    assert (code, hint) == ("E207", "known: K8s, GPU, OS, SystemD, NCCL")


def test_an_ordered_comparison_with_a_string_names_the_rule():
    code, message, _ = diagnostic('K8s.server.version >= "abc"', "measurements")
    assert (code, message) == ("E301", "strings have no order; compare a version or number")


def test_one_bad_part_invalidates_the_whole_conjunction():
    # the checker collects every part's error, then refuses the whole expression: an `and`
    # of a valid and an invalid part must not come back as the valid part alone
    expr, r = _expr("service == eks and nodes == \"x\"", "facts")
    assert Checker(FACTS, r).check(expr, "facts") is None
    assert [d.code for d in r.sorted()] == ["E301"]


def test_text_operator_on_an_ordered_fact_hints_at_comparisons():
    code, _, hint = diagnostic('nodes startswith "1"')
    assert (code, hint) == ("E301", "compare versions and numbers with ==, <, >= or a range")


def test_a_measured_float_is_returned_as_it_is():
    assert coerce(2.5, "float") == 2.5
    assert coerce("2.5", "float") == 2.5


def test_declaring_a_kind_twice_is_refused():
    # a second declaration for the same AST or IR class would make lookups depend on
    # import order; the registry refuses it, and leaves its tables as they were
    import attrs

    from eidos.lang.expr.registry import REGISTRY, Registry

    fresh = Registry()
    kind = next(iter(REGISTRY))
    fresh.declare(kind)
    with pytest.raises(ValueError, match=f"{kind.ast_type.__name__} is declared twice"):
        fresh.declare(attrs.evolve(kind, name="again", syntax={}))
    assert list(fresh) == [kind]


@pytest.mark.parametrize("value", [True, False])
def test_a_measured_bool_is_returned_as_it_is(value):
    assert coerce(value, "bool") is value
