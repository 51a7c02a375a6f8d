"""A tiny run of every benchmark scenario, so the harness keeps working (timings are not checked)."""

from __future__ import annotations

import io
import json

import pytest

from bench.__main__ import run, table
from bench.scenarios import SCENARIOS


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_runs_at_tiny_size(name):
    out = io.StringIO()
    results = run("tiny", [name], out=out)
    assert results, f"{name} produced no measurement"
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == results
    for r in results:
        assert set(r) == {"scenario", "size", "metric", "value", "unit"}
        assert r["size"] == "tiny" and isinstance(r["value"], (int, float)) and r["value"] >= 0
    assert table(results).count("\n") == len(results) + 1


def test_fleet_figures_are_judged_against_their_targets():
    from bench.fleet import verdicts

    def m(metric, value):
        return {"scenario": "fleet", "size": "full", "metric": metric, "value": value, "unit": ""}

    good = [m("fast: 10000 nodes, wall", 19.0), m("fast: 10000 nodes, CPU / 2 cores", 12.0),
            m("fast: per-node cost 10000 / 1000", 1.1), m("yaml / fast wall at 10000", 2.5),
            m("fast: 10000 nodes, peak RSS (largest process)", 40.0)]
    lines = verdicts(good)
    assert len(lines) == 5 and all(line.endswith(" met") for line in lines), lines
    bad = [m("fast: 10000 nodes, wall", 21.0), m("fast: per-node cost 10000 / 1000", 1.3),
           m("yaml / fast wall at 10000", 3.5), m("yaml: 10000 nodes, peak RSS (largest process)", 301.0)]
    lines = verdicts(bad)
    assert len(lines) == 4 and all(line.endswith("NOT MET") for line in lines), lines


def test_fanout_without_kmock_says_the_http_run_is_skipped(monkeypatch, capsys):
    # `pip install '.[bench]'` has no kmock (a test extra): the run must say so, not crash
    import importlib.util

    from bench import fanout

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kmock" else real(name, *a))
    results = list(fanout.over_http("tiny", 2))
    assert [(r["metric"], r["unit"]) for r in results] == [("kmock over HTTP: not installed, skipped", "skipped")]
    assert "kmock is not installed" in capsys.readouterr().err


def test_unknown_scenario_is_refused(capsys):
    from bench.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["flet", "--size", "tiny"])
    assert stop.value.code == 2 and "unknown scenario flet" in capsys.readouterr().err


# -- the peer workload (bench/peers.py): every engine agrees on every verdict ------------

def _engines():
    from bench import peers

    return peers, peers.engines()


def test_peer_workload_is_hard():
    """200 constraints with every kind of test, ``or`` and ``not`` clauses, and a mix of outcomes."""
    peers, (constraints, fns, _) = _engines()
    assert len(constraints) == peers.CONSTRAINTS == 200
    kinds = {atom[0] for c in constraints for clause in c for atom in clause[1:]}
    assert kinds == {"version", "regex", "set", "int", "bool", "text"}
    assert {clause[0] for c in constraints for clause in c} == {"test", "or", "not"}
    outcomes = peers.agreement(constraints, {k: v for k, v in fns.items() if k.startswith("eidos")})
    assert 0.2 < sum(outcomes) / len(outcomes) < 0.8  # neither all true nor all false


@pytest.mark.parametrize("peer", ["cel-expr-python", "regopy", "rule-engine", "cel-python"])
def test_peer_agrees_with_eidos_on_every_verdict(peer):
    peers, (constraints, fns, skipped) = _engines()
    if peer in skipped:
        pytest.skip(f"{peer} is not installed (pip install '.[bench]')")
    chosen = {k: v for k, v in fns.items() if k.startswith(("eidos", peer + " ")) or k == peer}
    assert len(chosen) > 3, chosen
    assert len(peers.agreement(constraints, chosen)) == 200


def test_disagreement_fails_loudly():
    peers, (constraints, fns, _) = _engines()
    right = fns["eidos (closures)"]

    def wrong():
        verdicts = right()
        verdicts[7] = not verdicts[7]
        return verdicts

    with pytest.raises(RuntimeError, match="engines disagree on constraint 7"):
        peers.agreement(constraints, {"eidos (closures)": right, "broken": wrong})


def test_versions_reach_peers_as_ordered_integers():
    from bench.peers import version_int

    assert version_int("v1.30.6") < version_int("1.31.0") < version_int("2.0.0")
    assert version_int("580.82.7") > version_int("580.65.6")


def test_issue17_figures_are_judged_against_their_targets():
    from bench.peers import verdicts

    def m(scenario, metric, value):
        return {"scenario": scenario, "size": "full", "metric": metric, "value": value, "unit": ""}

    good = [m("constraint-peers", "eidos (validate path): per constraint", 1.0),
            m("constraint-peers", "cel-expr-python (bind + evaluate): per constraint", 3.5),
            m("constraint-peers", "regopy (bind + evaluate): per constraint", 150.0),
            m("scaling", "resolve p50, indexed, shape `a == x or a == y`, 10000 overlays", 0.4)]
    lines = verdicts(good)
    assert len(lines) == 3 and all(line.endswith(" met") for line in lines), lines
    bad = [m("constraint-peers", "eidos (validate path): per constraint", 2.0),
           m("constraint-peers", "cel-expr-python (bind + evaluate): per constraint", 5.0),
           m("scaling", "resolve p50, indexed, shape `not (a != x)`, 10000 overlays", 1.5)]
    lines = verdicts(bad)
    # regopy not measured (skipped) is reported, and never as met
    assert len(lines) == 3 and all(line.endswith("NOT MET") for line in lines), lines
    assert any("not measured" in line for line in lines)


def test_a_missing_peer_is_reported_as_skipped(monkeypatch, capsys):
    from bench import peers

    real = peers.installed
    monkeypatch.setattr(peers, "installed", lambda peer: peer != "regopy" and real(peer))
    results = list(peers.constraint_peers("tiny", {"peer_rounds": 1, "peer_inner": 1}))
    assert any(r["metric"] == "regopy: not installed, skipped" and r["unit"] == "skipped" for r in results)
    assert not any(r["metric"].startswith("regopy (") for r in results)
    assert "regopy is not installed" in capsys.readouterr().err
    assert any("NOT MET" in line and "regopy" in line for line in peers.verdicts(results))


def test_cel_python_peer_binds_after_another_celpy_user():
    """celpy keeps one parser per process; a default Environment made first (as another
    test or program would) must not break the transpiling runner the bench binds."""
    celpy = pytest.importorskip("celpy", reason="cel-python is not installed (pip install '.[bench]')")
    env = celpy.Environment()
    env.program(env.compile("1 + 2 == 3"))
    peers, (constraints, fns, _) = _engines()
    assert len(peers.agreement(constraints, {k: v for k, v in fns.items()
                                             if k.startswith(("eidos (closures)", "cel-python"))})) == 200
    assert bool(env.program(env.compile("1 + 2 == 3")).evaluate({}))
