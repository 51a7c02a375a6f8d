"""Expression evaluation: three-valued logic, coercion of measured values, rendering."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.expr import Checker, EvalError, FactType, evaluate, render, trace
from eidos.lang.measurements import MISSING
from eidos.lang.parser import parse_module
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
