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


def test_unknown_scenario_is_refused(capsys):
    from bench.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["flet", "--size", "tiny"])
    assert stop.value.code == 2 and "unknown scenario flet" in capsys.readouterr().err
