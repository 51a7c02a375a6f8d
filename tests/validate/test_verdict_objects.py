"""The verdict arithmetic behind exit codes and summaries, on hand-built verdicts.

tests/validate/test_verdicts.py checks how rules become verdicts; this file checks what
the verdict objects then conclude: levels, --fail-on, --allow-errors, counts, a node's
overall status and the fleet's failing-rule table. Each expectation is written out by
hand from docs/validate.md.
"""

from __future__ import annotations

import itertools

import pytest

from eidos.validate.verdicts import FAIL_ON, SEVERITIES, STATUSES, NodeResult, Report, Verdict, count, overall


def v(status: str, severity: str = "error", ident: str = "r", actual=()) -> Verdict:
    return Verdict(ident, "check", ident, "c", "o", "x", severity, status, actual, "why", "", "", "f:1")


def node(name: str, *verdicts: Verdict) -> NodeResult:
    return NodeResult(name, f"{name}.yaml", None, (), (), (), tuple(verdicts))


def test_constants():
    assert STATUSES == ("pass", "fail", "warn", "skip", "error")
    assert SEVERITIES == ("error", "warning", "info") == FAIL_ON


@pytest.mark.parametrize(
    "status, severity, level",
    [
        ("pass", "error", 0), ("skip", "error", 0), ("pass", "info", 0), ("skip", "warning", 0),
        ("fail", "error", 3), ("error", "error", 3), ("error", "info", 3), ("fail", "info", 3),
        ("warn", "warning", 2), ("warn", "info", 1), ("warn", "error", 3),
    ],
)
def test_level(status, severity, level):
    assert v(status, severity).level == level


# (status, severity) -> counts against --fail-on error / warning / info
COUNTS_AGAINST = {
    ("fail", "error"): (True, True, True),
    ("warn", "warning"): (False, True, True),
    ("warn", "info"): (False, False, True),
    ("pass", "error"): (False, False, False),
    ("skip", "error"): (False, False, False),
    ("error", "error"): (False, False, False),  # errors are governed by --allow-errors, not --fail-on
}


@pytest.mark.parametrize("key", sorted(COUNTS_AGAINST))
def test_counts_against(key):
    status, severity = key
    assert tuple(v(status, severity).counts_against(f) for f in ("error", "warning", "info")) == COUNTS_AGAINST[key]


def test_actual_map():
    assert v("pass", actual=(("a.b", 1), ("c", None))).actual_map() == {"a.b": 1, "c": None}


def test_count_lists_every_status_in_order_with_zeros():
    got = count([v("pass"), v("pass"), v("error"), v("warn", "info")])
    assert list(got.items()) == [("pass", 2), ("fail", 0), ("warn", 1), ("skip", 0), ("error", 1)]
    assert count([]) == {"pass": 0, "fail": 0, "warn": 0, "skip": 0, "error": 0}


@pytest.mark.parametrize(
    "statuses, expected",
    [
        ((), "pass"),
        (("pass", "skip"), "pass"),
        (("skip",), "pass"),
        (("warn", "pass"), "warn"),
        (("warn", "error"), "error"),
        (("error", "fail", "warn"), "fail"),
        (("fail",), "fail"),
        (("pass", "error"), "error"),
    ],
)
def test_overall_is_fail_then_error_then_warn(statuses, expected):
    for perm in itertools.permutations(statuses):
        assert overall([v(s, "warning" if s == "warn" else "error") for s in perm]) == expected
        assert node("n", *[v(s, "warning" if s == "warn" else "error") for s in perm]).status == expected


def test_node_counts():
    n = node("n", v("pass"), v("fail"), v("fail"))
    assert n.counts == {"pass": 1, "fail": 2, "warn": 0, "skip": 0, "error": 0}


def test_report_collects_every_node_in_order():
    a, b = node("a", v("pass", ident="x"), v("fail", ident="y")), node("b", v("warn", "info", ident="z"))
    report = Report((a, b))
    assert [x.id for x in report.verdicts] == ["x", "y", "z"]
    assert report.counts == {"pass": 1, "fail": 1, "warn": 1, "skip": 0, "error": 0}


@pytest.mark.parametrize(
    "statuses, kw, code",
    [
        ([("pass", "error"), ("skip", "error")], {}, 0),
        ([("fail", "error")], {}, 1),
        ([("warn", "warning")], {}, 0),
        ([("warn", "warning")], {"fail_on": "warning"}, 1),
        ([("warn", "info")], {"fail_on": "warning"}, 0),
        ([("warn", "info")], {"fail_on": "info"}, 1),
        ([("error", "info")], {}, 1),
        ([("error", "error")], {"allow_errors": True}, 0),
        ([("error", "error"), ("fail", "error")], {"allow_errors": True}, 1),
        ([("pass", "error"), ("warn", "warning"), ("error", "warning")], {"fail_on": "info", "allow_errors": True}, 1),
    ],
)
def test_exit_code_and_status(statuses, kw, code):
    report = Report((node("n", *[v(s, sev) for s, sev in statuses]),), **kw)
    assert report.exit_code == code
    assert report.status == ("fail" if code else "pass")


def test_report_defaults():
    r = Report(())
    assert (r.fail_on, r.allow_errors, r.recipe_source, r.exit_code, r.status) == ("error", False, None, 0, "pass")


def test_failed_follows_allow_errors_and_fail_on():
    strict, lenient = Report((), fail_on="warning"), Report((), fail_on="warning", allow_errors=True)
    assert strict.failed(v("error")) is True and lenient.failed(v("error")) is False
    assert strict.failed(v("warn", "warning")) is True and strict.failed(v("warn", "info")) is False
    assert strict.failed(v("skip")) is False and strict.failed(v("pass")) is False


def test_failing_by_rule_is_sorted_by_rule_then_nodes_in_report_order():
    report = Report((
        node("n2", v("fail", ident="zeta"), v("pass", ident="alpha"), v("error", ident="mid")),
        node("n1", v("fail", ident="zeta"), v("fail", ident="alpha"), v("warn", "warning", ident="w")),
    ))
    assert report.failing_by_rule() == [("alpha", ["n1"]), ("mid", ["n2"]), ("zeta", ["n2", "n1"])]
    allowed = Report(report.nodes, allow_errors=True, fail_on="warning")
    assert allowed.failing_by_rule() == [("alpha", ["n1"]), ("w", ["n1"]), ("zeta", ["n2", "n1"])]
