"""One fact coercion for flags, rule literals and inference (eidos.engine.facts)."""

from __future__ import annotations

import math

import pytest

from eidos.engine.facts import FactValueError, coerce_fact
from eidos.engine.graph import FactSchema
from eidos.engine.inference import infer_facts
from eidos.lang.diagnostics import NO_SPAN
from eidos.lang.measurements import MISSING
from eidos.lang.versions import Version
from tests.conftest import run_eidos, write_rules


def fact(kind, values=(), aliases=()):
    return FactSchema("f", kind, tuple(values), tuple(aliases), "", NO_SPAN)


ACCEPT = [
    ("enum", "EKS", "eks"),
    ("enum", "amazon", "eks"),
    ("int", "8", 8),
    ("int", " 8 ", 8),
    ("int", 12, 12),
    ("int", 4.0, 4),  # a measured 4.0 is the integer 4, not nothing
    ("int", "0", 0),
    ("float", "1.5", 1.5),
    ("float", 2, 2.0),
    ("version", "v1.30", Version.parse("1.30")),
    ("bool", "yes", True),
    ("bool", "0", False),
    ("bool", True, True),
    ("string", " us-east ", " us-east "),  # strings are kept verbatim
]


@pytest.mark.parametrize(("kind", "raw", "expected"), ACCEPT)
def test_accepted(kind, raw, expected):
    spec = fact(kind, ("eks", "gke"), (("amazon", "eks"),))
    assert coerce_fact(spec, raw) == expected


REJECT = [
    ("enum", "ekz", "'ekz' is not one of: eks, gke"),
    ("int", "-1", "must not be negative, got -1"),
    ("int", -3, "must not be negative, got -3"),
    ("int", "eight", "must be an integer, got 'eight'"),
    ("int", 4.5, "must be an integer, got 4.5"),
    ("int", True, "must be an integer, got True"),
    ("int", "9" * 5000, "must be an integer of at most 64 digits"),
    ("float", "nan", "must be a finite number, got 'nan'"),
    ("float", "1e999", "must be a finite number, got '1e999'"),
    ("float", 10**400, "must be a finite number"),
    ("bool", "maybe", "must be true or false, got 'maybe'"),
    ("string", 5, "must be a string, got 5"),
    ("int", [1], "must be a single int value, got a list"),
    ("string", "us\nrm -rf /", "must not contain the control character '\\n'"),
    ("string", "a\x1b[2J", "must not contain the control character '\\x1b'"),
]


@pytest.mark.parametrize(("kind", "raw", "reason"), REJECT)
def test_rejected_with_a_reason(kind, raw, reason):
    with pytest.raises(FactValueError) as err:
        coerce_fact(fact(kind, ("eks", "gke")), raw)
    assert err.value.reason.startswith(reason)


def test_inf_is_never_a_float_fact():
    for raw in (math.inf, -math.inf, math.nan):
        with pytest.raises(FactValueError):
            coerce_fact(fact("float"), raw)


# ---------------------------------------------------------------- the same answer everywhere

FACTS = "fact offset: int\nfact ratio: float\n"


def test_a_rule_literal_the_flags_refuse_is_refused_in_the_rule(rules):
    graph, diags = rules({"f.eidos": FACTS, "o.eidos": "overlay o { when offset == -1 }\n"}, with_facts=False)
    assert graph is None
    (d,) = [d for d in diags if d.is_error]
    assert d.code == "E301" and "offset must not be negative, got -1" in d.message
    assert (d.span.line, d.span.file.endswith("o.eidos")) == (1, True)


def test_a_non_finite_float_literal_is_refused_in_a_condition(rules):
    graph, diags = rules({"f.eidos": FACTS, "o.eidos": "overlay o { when ratio >= 1e999 }\n"}, with_facts=False)
    assert graph is None
    assert "1e999 is out of range (not a finite float)" in next(d for d in diags if d.is_error).message


def test_flag_and_rule_agree_on_accepted_values(tmp_path):
    d = write_rules(tmp_path / "r", {
        "f.eidos": "fact zoffset: int\n",
        "o.eidos": "overlay zo { when zoffset == 0 }\n",
    })
    ok = run_eidos("recipe", "--rules", str(d), "--fact", "zoffset=0", "-o", "json")
    assert ok.returncode == 0, ok.stderr
    assert '"zo"' in ok.stdout
    bad = run_eidos("recipe", "--rules", str(d), "--fact", "zoffset=-1")
    assert bad.returncode == 2 and "zoffset must not be negative, got -1" in bad.stderr
    assert "Traceback" not in bad.stderr


# ---------------------------------------------------------------- inference records what it refused


def lookup_from(data):
    return lambda op: data.get(op.segments, MISSING)


def test_inference_records_a_rejected_value_with_path_and_reason(rules):
    graph, diags = rules({"i.eidos": "infer nodes = K8s.node.count\n"})
    assert graph is not None, diags
    facts, sources = infer_facts(graph, lookup_from({("K8s", "node", "count"): "-4"}))
    assert facts == {}
    (rejected,) = sources["nodes"]["rejected"]
    assert rejected["value"] == "'-4'"
    assert rejected["path"] == "K8s.node.count"
    assert rejected["reason"] == "must not be negative, got -4"
    assert rejected["rule"].endswith("i.eidos:1")


def test_inference_keeps_rejections_next_to_the_value_a_later_rule_gave(rules):
    graph, diags = rules({"i.eidos": "infer nodes = K8s.node.count\ninfer nodes = K8s.node.total\n"})
    assert graph is not None, diags
    data = {("K8s", "node", "count"): "many", ("K8s", "node", "total"): 4.0}
    facts, sources = infer_facts(graph, lookup_from(data))
    assert facts == {"nodes": 4}
    assert sources["nodes"]["value"] == "4" and sources["nodes"]["rule"].endswith("i.eidos:2")
    assert sources["nodes"]["rejected"][0]["reason"] == "must be an integer, got 'many'"


def test_inference_records_an_evaluation_error_instead_of_swallowing_it(rules):
    graph, diags = rules({"i.eidos": "infer service = eks when K8s.server.version >= 1.30\n"})
    assert graph is not None, diags
    facts, sources = infer_facts(graph, lookup_from({("K8s", "server", "version"): "ubuntu"}))
    assert facts == {}
    (error,) = sources["service"]["errors"]
    assert error["rule"].endswith("i.eidos:1") and "ubuntu" in error["error"]


def test_explain_shows_a_rejected_snapshot_value(tmp_path):
    from tests.conftest import FIXTURES

    # K8s.server.version is "v1.30.14-eks-3025e55" in this fixture: not a node count.
    d = write_rules(tmp_path / "r", {"i.eidos": "infer nodes = K8s.server.version\n"})
    result = run_eidos("recipe", "--rules", str(d), "--snapshot", str(FIXTURES / "snapshots" / "cns-eks-h100.yaml"),
                       "--explain", "-o", "json")
    assert result.returncode == 0, result.stderr
    nodes = __import__("json").loads(result.stdout)["explain"]["facts"]["nodes"]
    assert nodes["rejected"] == [{
        "value": "'v1.30.14-eks-3025e55'",
        "path": "K8s.server.version",
        "rule": nodes["rejected"][0]["rule"],
        "reason": "must be an integer, got 'v1.30.14-eks-3025e55'",
    }]
    assert nodes["rejected"][0]["rule"].endswith("i.eidos:1")
    assert "value" not in nodes
