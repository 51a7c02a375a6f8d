"""Expression evaluation: three-valued logic, coercion of measured values, rendering.

Expected values are written by hand (truth tables cell by cell, one row per case), so a
wrong implementation cannot agree with itself here."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.expr import (
    AndE,
    Checker,
    EvalError,
    FactType,
    NotE,
    OrE,
    TrueE,
    atoms,
    coerce,
    conjoin,
    conjuncts,
    evaluate,
    kleene_and,
    kleene_not,
    kleene_or,
    render,
    trace,
)
from eidos.lang.measurements import MISSING
from eidos.lang.parser import parse_module
from eidos.lang.versions import Version
from tests.grammar_strategies import FACT_VALUES, conditions

FACTS = {name: FactType(name, "enum", tuple(values)) for name, values in FACT_VALUES.items()}
FACTS["nodes"] = FactType("nodes", "int")


def ir_of(text: str, allow: str):
    r = Reporter()
    wrapper = f"overlay o {{ when {text} }}" if allow == "facts" else f"overlay o {{ when always require {text} }}"
    module = parse_module(SourceFile("t.eidos", wrapper), r)
    decl = module.decls[0]
    expr = decl.when[0] if allow == "facts" else decl.requires[0].expr
    ir = Checker(FACTS, r).check(expr, allow)
    assert ir is not None, [d.render() for d in r.items]
    return ir


def facts(**kw):
    return lambda op: kw.get(op.name, MISSING)


def measured(**kw):
    data = {tuple(k.split("__")): v for k, v in kw.items()}
    return lambda op: data.get(op.segments, MISSING)


@pytest.mark.parametrize(
    "cond, query, expected",
    [
        ("service == eks", {}, None),
        ("service != eks", {}, None),
        ("not service == eks", {}, None),
        ("service == eks and os == ubuntu", {"service": "gke"}, False),  # false wins over unknown
        ("service == eks or os == ubuntu", {"os": "ubuntu"}, True),  # true wins over unknown
        ("service == eks or os == ubuntu", {"service": "gke"}, None),
        ("nodes in 2..<8", {"nodes": 8}, False),
        ("nodes in 2..8", {"nodes": 8}, True),
        ("nodes not in 2..8", {"nodes": 1}, True),
        ("accelerator not in { h100, gb200 }", {"accelerator": "a100"}, True),
        ("always", {}, True),
    ],
)
def test_three_valued_conditions(cond, query, expected):
    assert evaluate(ir_of(cond, "facts"), facts(**query)) is expected


@pytest.mark.parametrize(
    "req, data, expected",
    [
        ("K8s.server.version >= 1.32.4", {"K8s__server__version": "v1.33.5-eks-3025e55"}, True),
        ("K8s.server.version in 1.30..<1.34", {"K8s__server__version": "v1.33.9"}, True),
        ('OS.release.VERSION_ID == 24.04', {"OS__release__VERSION_ID": "24.04"}, True),
        ('OS.release.VERSION_ID == "24.04"', {"OS__release__VERSION_ID": "24.04"}, True),
        ('OS.release.ID == "ubuntu"', {"OS__release__ID": "rhel"}, False),
        ('K8s.node.gpus >= 8', {"K8s__node__gpus": "8"}, True),  # measured text coerced to int
        ('K8s.node.gpus >= 8', {"K8s__node__gpus": 4}, False),
        ('K8s.node.ready == true', {"K8s__node__ready": "True"}, True),
        ('K8s.server.version matches "-eks-"', {"K8s__server__version": "v1.33.5-eks-3025e55"}, True),
        ("exists OS.kmod.nvidia_peermem", {}, False),
        ("exists OS.kmod.nvidia_peermem", {"OS__kmod__nvidia_peermem": True}, True),
        ("K8s.server.version >= 1.30", {}, None),  # missing path: unknown, not false
        ("GPU.smi.driver >= 570", {"GPU__smi__driver": "580.82.07"}, True),  # a branch against a version
        ("GPU.smi.driver >= 580", {"GPU__smi__driver": "570.133.20"}, False),
        ("GPU.smi.driver in 570..<590", {"GPU__smi__driver": "580.82.07"}, True),
        ("GPU.smi.driver in 570..<580", {"GPU__smi__driver": "580.82.07"}, False),
    ],
)
def test_requirements_against_measurements(req, data, expected):
    assert evaluate(ir_of(req, "measurements"), measured(**data)) is expected


@pytest.mark.parametrize(
    "req, value",
    [("K8s.server.version >= 1.30", "ubuntu"), ("K8s.node.gpus >= 8", "eight"),
     ("K8s.node.gpus >= 8", True), ("K8s.server.version >= 1.30", 1.3), ('OS.release.ID == "x"', {"a": 1})],
)
def test_values_that_cannot_be_compared_raise(req, value):
    ir = ir_of(req, "measurements")
    with pytest.raises(EvalError):
        evaluate(ir, lambda op: value)


def test_trace_records_actual_values_and_errors():
    ir = ir_of('K8s.server.version >= 1.30 and OS.release.ID == "ubuntu"', "measurements")
    data = {("K8s", "server", "version"): "ubuntu", ("OS", "release", "ID"): "ubuntu"}
    value, atoms = trace(ir, lambda op: data.get(op.segments, MISSING))
    assert value is None
    assert atoms[0].error and atoms[0].actual == "ubuntu"
    assert atoms[1].result is True


@settings(max_examples=200, deadline=None)
@given(conditions())
def test_render_parses_back_to_the_same_ir(text):
    ir = ir_of(text, "facts")
    assert ir_of(render(ir), "facts") == ir


# ---------------------------------------------------------------- Kleene logic, by hand

T, F, U = True, False, None
FACTS["ratio"] = FactType("ratio", "float")
FACTS["kv"] = FactType("kv", "version")
FACTS["region"] = FactType("region", "string")
FACTS["spot"] = FactType("spot", "bool")
FACTS["p"] = FactType("p", "bool")
FACTS["q"] = FactType("q", "bool")
FACTS["s"] = FactType("s", "bool")

# Written out cell by cell (Kleene's strong logic), not computed.
AND = {(T, T): T, (T, F): F, (T, U): U, (F, T): F, (F, F): F, (F, U): F, (U, T): U, (U, F): F, (U, U): U}
OR = {(T, T): T, (T, F): T, (T, U): T, (F, T): T, (F, F): F, (F, U): U, (U, T): T, (U, F): U, (U, U): U}
NOT = {T: F, F: T, U: U}


def truth_query(**values):
    """Bool facts set to the truth value an atom ``x == true`` should have (U: not given)."""
    return facts(**{k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize("a, b", list(AND))
def test_and_or_truth_tables(a, b):
    lookup = truth_query(p=a, q=b)
    for text, table in (("p == true and q == true", AND), ("p == true or q == true", OR)):
        ir = ir_of(text, "facts")
        assert evaluate(ir, lookup) is table[a, b], text
        assert trace(ir, lookup)[0] is table[a, b], text
    assert kleene_and([a, b]) is AND[a, b] and kleene_or([a, b]) is OR[a, b]


@pytest.mark.parametrize("a", [T, F, U])
def test_not_truth_table(a):
    ir = ir_of("not p == true", "facts")
    assert evaluate(ir, truth_query(p=a)) is NOT[a]
    assert trace(ir, truth_query(p=a))[0] is NOT[a]
    assert kleene_not([a]) is NOT[a]


def test_or_of_parts_that_are_all_false_is_false():
    ir = ir_of("p == true or q == true or s == true", "facts")
    lookup = truth_query(p=F, q=F, s=F)
    assert evaluate(ir, lookup) is False
    value, atoms = trace(ir, lookup)
    assert value is False and [a.result for a in atoms] == [False, False, False]
    assert kleene_or([False, False, False]) is False and kleene_or([]) is False


def test_and_of_parts_that_are_all_true_is_true():
    ir = ir_of("p == true and q == true and s == true", "facts")
    assert evaluate(ir, truth_query(p=T, q=T, s=T)) is True
    assert evaluate(ir, truth_query(p=T, q=T, s=F)) is False
    assert kleene_and([]) is True


def test_trace_records_every_atom_where_evaluation_short_circuits():
    ir = ir_of("p == true or q == true", "facts")
    seen = []

    def lookup(op):
        seen.append(op.name)
        return True

    assert evaluate(ir, lookup) is True and seen == ["p"]  # the closure stops at the first true
    value, atoms = trace(ir, lookup)
    assert value is True and [a.text for a in atoms] == ["p == true", "q == true"]


# ---------------------------------------------------------------- every fact kind, compiled and evaluated

V = Version.parse


@pytest.mark.parametrize(
    "cond, query, expected",
    [
        # float facts (queries carry floats, as `--fact ratio=1.5` gives)
        ("ratio >= 1.5", {"ratio": 1.5}, True),
        ("ratio >= 1.5", {"ratio": 1.49}, False),
        ("ratio >= 1.5", {}, None),
        ("ratio < 2", {"ratio": 1.99}, True),
        ("ratio == 1e3", {"ratio": 1000.0}, True),
        ("ratio != 2.5", {"ratio": 2.5}, False),
        ("ratio <= 2.5", {"ratio": 2.5}, True),
        ("ratio <= 2.5", {"ratio": 2.51}, False),
        ("ratio > 2.5", {"ratio": 2.5}, False),
        ("ratio in 0.5..1.0", {"ratio": 1.0}, True),
        ("ratio in 0.5..<1.0", {"ratio": 1.0}, False),
        ("ratio not in 0.5..<1.0", {"ratio": 0.25}, True),
        # version facts (queries carry Versions)
        ("kv >= 1.30", {"kv": V("1.30.5")}, True),
        ("kv == 1.30", {"kv": V("1.30.0")}, True),
        ("kv < 1.30", {"kv": V("1.30.0")}, False),
        ("kv <= 1.30", {"kv": V("1.30.0")}, True),
        ("kv <= 1.30", {"kv": V("1.30.1")}, False),
        ("kv > 1.30", {"kv": V("v1.30.5-eks-3025e55")}, True),
        ("kv in 1.28..<1.31", {"kv": V("1.31")}, False),
        ("kv in 1.28..1.31", {"kv": V("1.31")}, True),
        ('kv == "1.29"', {"kv": V("1.29.0")}, True),
        ("kv in {1.29, 1.30}", {"kv": V("1.30.0")}, True),
        ("kv not in {1.29, 1.30}", {"kv": V("1.30.0")}, False),
        ("kv >= 570", {"kv": V("580.82.07")}, True),
        ('kv matches "^1\\\\.3"', {"kv": V("1.30.5")}, True),
        ("kv >= 1.30", {}, None),
        # string facts
        ('region == "us-east-1"', {"region": "us-east-1"}, True),
        ('region == "us-east-1"', {"region": "eu-west-1"}, False),
        ('region != "us-east-1"', {}, None),
        ('region in {"a", "b"}', {"region": "b"}, True),
        ('region not in {"a", "b"}', {"region": "b"}, False),
        ('region startswith "us-"', {"region": "us-east-1"}, True),
        ('region startswith "us-"', {"region": "eu-west-1"}, False),
        ('region startswith "us-"', {}, None),
        ('region endswith "-1"', {"region": "us-east-1"}, True),
        ('region endswith "-2"', {"region": "us-east-1"}, False),
        ('region contains "east"', {"region": "us-east-1"}, True),
        ('region contains "west"', {"region": "us-east-1"}, False),
        ('not region contains "west"', {"region": "us-east-1"}, True),
        ('region matches "^us-(east|west)-[0-9]$"', {"region": "us-east-1"}, True),
        ('region matches "^us-(east|west)-[0-9]$"', {"region": "us-east-12"}, False),
        # bool facts
        ("spot == true", {"spot": True}, True),
        ("spot == true", {"spot": False}, False),
        ("spot == true", {}, None),
        ("spot != false", {"spot": True}, True),
        ("not spot == true", {"spot": False}, True),
        # enum facts with the text operators
        ('service startswith "e"', {"service": "eks"}, True),
        ('service endswith "e"', {"service": "eks"}, False),
    ],
)
def test_conditions_on_every_fact_kind(cond, query, expected):
    ir = ir_of(cond, "facts")
    assert evaluate(ir, facts(**query)) is expected
    assert trace(ir, facts(**query))[0] is expected


@pytest.mark.parametrize(
    "req, value, expected",
    [
        # int paths: a measured 4.0 (a YAML float) is the integer 4
        ("K8s.node.gpus == 4", 4.0, True),
        ("K8s.node.gpus >= 4", 4.0, True),
        ("K8s.node.gpus < 4", 4.0, False),
        ("K8s.node.gpus != 4", 4.0, False),
        ("K8s.node.gpus in 4..8", 4.0, True),
        ("K8s.node.gpus in 5..8", 4.0, False),
        ("K8s.node.gpus == 4", " 4 ", True),
        # float paths
        ("GPU.smi.power >= 2.5e2", 300.0, True),
        ("GPU.smi.power >= 2.5e2", "250.5", True),
        ("GPU.smi.power >= 2.5e2", 200, False),
        ("GPU.smi.power in 1e2..<2.5e2", 250, False),
        # version paths
        ("K8s.server.version < 1.33", "v1.33.0-eks-1", False),
        ("K8s.server.version == 1.33", "1.33.0", True),
        ("K8s.server.version in {1.32, 1.33}", "v1.33", True),
        # string paths
        ('OS.release.ID != "ubuntu"', "rhel", True),
        ('OS.release.ID in {"ubuntu", "rhel"}', "cos", False),
        ('K8s.node.os-image startswith "Ubuntu"', "Ubuntu 24.04.1 LTS", True),
        ('K8s.node.os-image endswith "LTS"', "Ubuntu 24.04.1 LTS", True),
        ('K8s.node.os-image contains "24.04"', "Ubuntu 22.04.5 LTS", False),
        ('OS.release.VERSION_ID startswith "2"', 24, True),  # a number read as text
        ('K8s.node.ready startswith "tr"', True, True),  # true reads as "true", not "True"
        ('K8s.node.ready == "false"', False, True),
        # bool paths
        ("K8s.node.ready == true", "false", False),
        ("K8s.node.ready == true", True, True),
        ("K8s.node.ready != true", "True", False),
    ],
)
def test_requirements_on_every_measured_type(req, value, expected):
    ir = ir_of(req, "measurements")
    assert evaluate(ir, lambda op: value) is expected
    assert trace(ir, lambda op: value)[0] is expected
    assert evaluate(ir, lambda op: MISSING) is None


@pytest.mark.parametrize(
    "req, value",
    [
        ("K8s.node.gpus == 4", 4.5),
        ("K8s.node.gpus == 4", "four"),
        ("GPU.smi.power >= 2.5e2", "nan"),
        ("GPU.smi.power >= 2.5e2", float("inf")),
        ("GPU.smi.power >= 2.5e2", 10**400),
        ("K8s.node.ready == true", "yes"),
        ('K8s.node.os-image startswith "U"', {"a": 1}),
        ('K8s.node.os-image contains "U"', ["U"]),
        ("K8s.node.gpus == 4", "9" * 5000),  # past int()'s digit limit: an error, not a crash
    ],
)
def test_measured_values_of_the_wrong_type_are_errors(req, value):
    ir = ir_of(req, "measurements")
    with pytest.raises(EvalError):
        evaluate(ir, lambda op: value)
    value_, atoms = trace(ir, lambda op: value)
    assert value_ is None and atoms[0].error


def test_coerce_keeps_integral_floats_as_ints():
    assert coerce(4.0, "int") == 4 and type(coerce(4.0, "int")) is int
    assert coerce(-3.0, "int") == -3
    with pytest.raises(EvalError):
        coerce(4.5, "int")


# ---------------------------------------------------------------- text operators: type errors with location


def diagnostics_of(text: str, allow: str):
    r = Reporter()
    wrapper = (f"overlay o {{\n  when {text}\n}}" if allow == "facts"
               else f"overlay o {{\n  when always\n  require {text}\n}}")
    module = parse_module(SourceFile("t.eidos", wrapper), r)
    decl = module.decls[0]
    expr = decl.when[0] if allow == "facts" else decl.requires[0].expr
    assert Checker(FACTS, r).check(expr, allow) is None
    return r.sorted()


@pytest.mark.parametrize("op", ["startswith", "endswith", "contains"])
@pytest.mark.parametrize("fact, kind", [("kv", "version"), ("nodes", "int"), ("ratio", "float"), ("spot", "bool")])
def test_text_operators_on_non_text_facts_are_type_errors(op, fact, kind):
    (d,) = diagnostics_of(f'{fact} {op} "1"', "facts")
    assert d.code == "E301"
    assert f"'{op}' needs text; '{fact}' is a {kind} fact" in d.message
    assert (d.span.file, d.span.line, d.span.col) == ("t.eidos", 2, 8)
    assert d.span.end_col == 8 + len(f'{fact} {op} "1"')


def test_text_operators_follow_the_operand_rules():
    (d,) = diagnostics_of('K8s.node.os-image startswith "U"', "facts")
    assert d.code == "E301" and "not measurements" in d.message
    (d,) = diagnostics_of('service startswith "e"', "measurements")
    assert d.code == "E301" and "is a fact" in d.message
    (d,) = diagnostics_of('regoin contains "e"', "facts")
    assert d.code == "E201" and "region" in (d.hint or "")


def test_matches_on_a_number_fact_is_a_type_error():
    (d,) = diagnostics_of('nodes matches "^1"', "facts")
    assert d.code == "E301" and (d.span.line, d.span.col) == (2, 8)


def test_text_operators_render_and_parse_back():
    for text in ('region startswith "us-"', 'region endswith "\\"q\\""', 'region contains "é"'):
        ir = ir_of(text, "facts")
        assert ir_of(render(ir), "facts") == ir
    assert render(ir_of('region contains "a" or region startswith "b"', "facts")) == \
        'region contains "a" or region startswith "b"'


# ---------------------------------------------------------------- closures, trace and the truth tables agree

_TRUTH = st.sampled_from([T, F, U])


def _formulas():
    """(source text, oracle) pairs: the oracle evaluates by the hand-written tables above."""
    leaves = st.sampled_from(["p", "q", "s"]).map(lambda f: (f"{f} == true", lambda env, f=f: env[f]))

    def extend(inner):
        def both(pair, op, table):
            (ta, fa), (tb, fb) = pair
            return (f"({ta} {op} {tb})", lambda env: table[fa(env), fb(env)])

        return st.one_of(
            st.tuples(inner, inner).map(lambda pair: both(pair, "and", AND)),
            st.tuples(inner, inner).map(lambda pair: both(pair, "or", OR)),
            inner.map(lambda x: (f"not ({x[0]})", lambda env: NOT[x[1](env)])),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_formulas(), _TRUTH, _TRUTH, _TRUTH)
def test_closures_and_trace_follow_the_truth_tables(formula, p, q, s):
    text, oracle = formula
    ir = ir_of(text, "facts")
    lookup = truth_query(p=p, q=q, s=s)
    expected = oracle({"p": p, "q": q, "s": s})
    assert evaluate(ir, lookup) is expected
    assert trace(ir, lookup)[0] is expected
    assert ir_of(render(ir), "facts") == ir


@pytest.mark.parametrize(
    "text, allow, code",
    [
        ("nodes in 2..<2", "facts", "E304"),  # half-open with equal ends: empty
        ("nodes in 3..2", "facts", "E304"),
        ('region < "b"', "facts", "E301"),  # strings have no order
        ('region in "a".."b"', "facts", "E301"),
        ("spot >= true", "facts", "E301"),
        ("service > eks", "facts", "E301"),
        ("nodes == 1.5", "facts", "E301"),
        ('kv == "x.y"', "facts", "E303"),
        ('OS.release.ID < "b"', "measurements", "E301"),
        ("K8s.a.b in 1.2..3", "measurements", "E301"),  # ends of different types
    ],
)
def test_type_errors(text, allow, code):
    (d,) = diagnostics_of(text, allow)
    assert d.code == code and d.span.line == (2 if allow == "facts" else 3)


def test_nodes_in_an_inclusive_range_with_equal_ends_is_one_value():
    ir = ir_of("nodes in 2..2", "facts")
    assert [evaluate(ir, facts(nodes=n)) for n in (1, 2, 3)] == [False, True, False]


def test_conjoin_and_conjuncts():
    a, b, c = (ir_of(f"nodes == {i}", "facts") for i in (1, 2, 3))
    assert conjoin([]) == TrueE() and conjuncts(TrueE()) == ()
    assert conjoin([a]) is a  # one part is itself, not a conjunction of one
    assert conjoin([a, TrueE(), AndE((b, c))]) == AndE((a, b, c))
    assert conjuncts(AndE((a, AndE((b, c))))) == (a, b, c)
    assert list(atoms(NotE(OrE((a, AndE((b, c))))))) == [a, b, c]


def test_render_in_the_context_of_a_connective():
    """``render(ir, parent)`` parenthesises what would otherwise bind to its neighbours."""
    either = ir_of("nodes == 1 or nodes == 2", "facts")
    both = ir_of("nodes == 1 and nodes == 2", "facts")
    negated = ir_of("not nodes == 1", "facts")
    atom = ir_of("nodes == 1", "facts")
    assert [render(either, p) for p in ("", "or", "and", "not")] == [
        "nodes == 1 or nodes == 2", "nodes == 1 or nodes == 2",
        "(nodes == 1 or nodes == 2)", "(nodes == 1 or nodes == 2)"]
    assert [render(both, p) for p in ("", "or", "and", "not")] == [
        "nodes == 1 and nodes == 2", "nodes == 1 and nodes == 2", "nodes == 1 and nodes == 2",
        "(nodes == 1 and nodes == 2)"]
    assert render(negated, "not") == "not nodes == 1" and render(atom, "not") == "nodes == 1"
    assert render(ir_of("not (nodes == 1 or nodes == 2) and not not nodes == 3", "facts")) == \
        "not (nodes == 1 or nodes == 2) and not (not nodes == 3)"
