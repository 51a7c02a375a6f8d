"""Streamed reports hold nothing per node: peak memory does not grow with the fleet.

Each format is written for a small fleet and for one several times larger, in this process
(``jobs=1``, so the validation, the per-node rendering and the parent's folding are all
traced), and the peak of Python's allocations (tracemalloc) is compared. Keeping the nodes'
results to render at the end costs ~65 KB a node even for these tiny snapshots (checked
below on the in-memory path, so the bound is known to catch it); streaming stays within
a few hundred KB whatever the size. Also: ``--jobs 1`` and ``--jobs 2`` write the same bytes.
"""

from __future__ import annotations

import tracemalloc

import pytest

from eidos.validate.fleet import expand_sources, validate
from eidos.validate.reports import render
from eidos.validate.reports.stream import write_fleet
from tests.validate.test_fleet_stream import _small

GROWTH_BOUND = 400_000  # bytes of extra peak allowed for the larger fleet
# ruamel's YAML emitter takes ~0.1 s a node under tracemalloc: a smaller pair for yaml
SIZES = {"yaml": (8, 32)}
DEFAULT_SIZES = (20, 80)


def _fleet(directory, count: int) -> list[str]:
    directory.mkdir()
    for i in range(count):
        (directory / f"n{i:04d}.yaml").write_text(_small(i))
    return expand_sources([str(directory)])


def _peak(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["json", "yaml", "junit", "ctrf", "sarif", "table", "html"])
def test_peak_memory_does_not_grow_with_the_fleet(embedded_graph, tmp_path, fmt):
    facts = {"intent": embedded_graph.facts["intent"].coerce("training")}
    small_n, large_n = SIZES.get(fmt, DEFAULT_SIZES)
    small, large = _fleet(tmp_path / "small", small_n), _fleet(tmp_path / "large", large_n)
    out = tmp_path / "report"

    def write(sources):
        return lambda: write_fleet(embedded_graph, sources, fmt, str(out), flag_facts=facts, jobs=1,
                                   verbose=fmt == "table")

    write(small[:2])()  # imports and caches first, outside the measurement
    grown = _peak(write(large)) - _peak(write(small))
    assert grown < GROWTH_BOUND, f"{fmt}: peak grew {grown} bytes from {small_n} to {large_n} nodes"


def test_the_bound_catches_a_report_held_in_memory(embedded_graph, tmp_path):
    facts = {"intent": embedded_graph.facts["intent"].coerce("training")}
    small_n, large_n = SIZES["yaml"]  # the smallest pair any format is measured with
    small, large = _fleet(tmp_path / "small", small_n), _fleet(tmp_path / "large", large_n)

    def held(sources):
        return lambda: render(validate(embedded_graph, sources, flag_facts=facts, jobs=1), "junit")

    held(small[:2])()
    assert _peak(held(large)) - _peak(held(small)) > GROWTH_BOUND


@pytest.mark.parametrize("fmt", ["json", "yaml", "junit", "ctrf", "sarif", "table", "html"])
def test_jobs_one_and_two_write_the_same_bytes(tmp_path, capsys, fmt):
    from eidos.cli.main import main

    d = tmp_path / "fleet"
    _fleet(d, 70 if fmt != "yaml" else 66)  # two workers need 64 snapshots or more
    texts = []
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}"
        code = main(["validate", "-s", str(d), "--intent", "training", "-o", fmt, "--out", str(out),
                     "--jobs", jobs, "--verbose", "--color", "never"])
        assert code in (0, 1)
        texts.append(out.read_bytes())
    assert texts[0] == texts[1] and len(texts[0]) > 1000
