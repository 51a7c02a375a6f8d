"""Version semantics, to the letter, observed through validation verdicts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos.validate.fleet import Validator
from tests.validate.helpers import snap


def status(graph_of, expr: str, actual) -> str:
    graph = graph_of(f'overlay base {{\n  when always\n  require v: {expr}\n}}\n')
    node = Validator(graph, flag_facts={"service": "eks"}).node(
        snap({"K8s": {"server": {"version": actual}}}), "t.yaml")
    return {v.id: v for v in node.verdicts}["requirement:v"].status


CASES = [
    # missing parts pad with zero
    ("K8s.server.version > 1.30", "1.30.5", "pass"),
    ("K8s.server.version == 1.30", "1.30.0", "pass"),
    ("K8s.server.version >= 1.32.4", "1.32", "fail"),
    ("K8s.server.version < 2.0", "2.0.1", "fail"),
    # a leading v is ignored, on either side
    ("K8s.server.version == v1.30.0", "1.30", "pass"),
    ("K8s.server.version >= 1.30", "v1.30.0", "pass"),
    # vendor suffixes do not take part
    ("K8s.server.version >= 1.32.4", "v1.33.5-eks-3025e55", "pass"),
    ("K8s.server.version == 1.33.5", "v1.33.5-eks-3025e55", "pass"),
    ("K8s.server.version >= 1.30", "v1.30.14-eks-3025e55", "pass"),
    ("K8s.server.version > 1.30", "v1.30.14-eks-3025e55", "pass"),  # the reference said fail
    ("K8s.server.version >= 6.8", "6.8.0-1028-aws", "pass"),
    ("K8s.server.version < 6.8.1", "6.8.0-1028-aws", "pass"),
    ("K8s.server.version < 1.32.5", "v1.32.4-gke.1415000", "pass"),
    ("K8s.server.version >= 1.32.4", "v1.32.4-gke.1415000", "pass"),
    # driver versions
    ("K8s.server.version < 580.105.08", "580.82.07", "pass"),
    ("K8s.server.version >= 570.0", "580.82.07", "pass"),
    ("K8s.server.version >= 580.82.7", "580.82.07", "pass"),  # leading zeros do not count
    ("K8s.server.version >= 575.0", "570.133.20", "fail"),
    # pre-releases order before releases
    ("K8s.server.version < 1.30.0", "1.30.0-rc.1", "pass"),
    ("K8s.server.version >= 1.30", "1.30.0-rc.1", "fail"),  # the reference ignored the pre-release
    ("K8s.server.version > 1.30.0-rc.1", "1.30.0-rc.2", "pass"),
    ("K8s.server.version > 1.30.0-alpha.1", "1.30.0-beta.1", "pass"),
    # four-part versions
    ("K8s.server.version > 1.2.3.4", "1.2.3.5", "pass"),
    ("K8s.server.version == 1.2.3.0", "1.2.3", "pass"),
    ("K8s.server.version < 1.2.3.1", "1.2.3", "pass"),
    # ranges
    ("K8s.server.version in 1.30..<1.34", "v1.33.9-eks-1", "pass"),
    ("K8s.server.version in 1.30..<1.34", "1.34.0", "fail"),
    ("K8s.server.version in 1.30..1.34", "1.34.0", "pass"),
    ("K8s.server.version not in 1.30..<1.34", "1.29.9", "pass"),
    ("K8s.server.version in {1.30, 1.31}", "v1.31.0-gke.1", "pass"),
    # not a version: an evaluation error, never a silent pass or fail
    ("K8s.server.version >= 1.30", "ubuntu", "error"),
]


@pytest.mark.parametrize("expr,actual,expected", CASES)
def test_version_semantics(graph_of, expr, actual, expected):
    assert status(graph_of, expr, actual) == expected


def test_yaml_float_is_an_error_not_a_guess(graph_of):
    # "24.04" read as a YAML float would be 24.04 -> 24.4: eidos refuses to guess
    assert status(graph_of, "K8s.server.version >= 24.04", 24.04) == "error"


parts = st.lists(st.integers(0, 999), min_size=1, max_size=4)


@given(a=parts, b=parts, suffix=st.sampled_from(["", "-eks-3025e55", "-1028-aws", "+build.7"]))
def test_order_is_numeric_with_zero_padding_and_vendor_tags_ignored(a, b, suffix):
    from eidos.validate.plan import ClosureCache, requirement_rules, RequirementSource
    from eidos.validate.evaluate import evaluate
    from eidos.lang.expr import Cmp, Const, Operand
    from eidos.lang.versions import Version

    ir = Cmp(">=", Operand("path", "K8s.server.version", ("K8s", "server", "version")),
             Const("version", Version.parse(".".join(map(str, b))), ".".join(map(str, b))))
    rule = requirement_rules([RequirementSource("v", ir, "v", "error", "", "", "base", "x:1")], ClosureCache())[0]
    actual = "v" + ".".join(map(str, a)) + suffix
    got = evaluate(rule, snap({"K8s": {"server": {"version": actual}}})).status
    width = max(len(a), len(b))
    pad = lambda xs: xs + [0] * (width - len(xs))  # noqa: E731
    assert got == ("pass" if pad(a) >= pad(b) else "fail")
