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
