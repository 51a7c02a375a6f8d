"""eidos.lang.parser.parse_expression: one condition, as validate --recipe re-reads it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eidos.lang import ast
from eidos.lang.diagnostics import Reporter
from eidos.lang.parser import parse_expression


def test_parses_a_condition():
    e = parse_expression('K8s.server.version >= 1.30 and exists OS.kmod.nvidia_peermem')
    assert isinstance(e, ast.And) and len(e.items) == 2
    e = parse_expression('OS.sysctl["/proc/sys/kernel/osrelease"] in 6.8..<7.0')
    assert isinstance(e, ast.InRange) and e.operand.segments[2] == "/proc/sys/kernel/osrelease"


def test_syntax_error_is_a_diagnostic_with_location():
    r = Reporter()
    assert parse_expression("K8s.server.version >=", "recipe.yaml:7", r) is None
    assert r.has_errors and r.sorted()[0].code == "E101"
    r = Reporter()
    assert parse_expression("K8s.server.version = 1.30", "x", r) is None
    assert r.sorted()[0].span.col == 20


def test_each_call_reports_its_own_diagnostics():
    """Caching covers only text -> (AST, diagnostics); a reporter is never part of a cache key."""
    first, second = Reporter(), Reporter()
    assert parse_expression("K8s.a.b ==", "a.yaml:1", first) is None
    assert parse_expression("K8s.a.b ==", "a.yaml:1", second) is None
    assert parse_expression("K8s.a.b ==", "a.yaml:1", second) is None
    assert len(first.items) == 1 and len(second.items) == 2
    assert first.items[0].span.file == "a.yaml:1" and first.items[0].source_line == "K8s.a.b =="
    ok = Reporter()
    e = parse_expression('K8s.node.os-image startswith "Ubuntu"', "b", ok)
    assert isinstance(e, ast.TextTest) and e.op == "startswith" and not ok.items


@given(st.text(max_size=40))
def test_never_raises(text):
    parse_expression(text)
