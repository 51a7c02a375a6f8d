"""NCCL results as a snapshot measurement, so thresholds are ordinary rules.

Each test name becomes a subtype of the ``NCCL`` measurement (``NCCL.all_reduce``,
``NCCL.all_gather``…) with the keys below; a key whose value the log did not give is left
out, so ``exists`` means something and a rule on it skips or errors (by severity) instead of
comparing against a made-up zero:

``status`` (ok | corrupt | crashed | incomplete), ``runs``, ``rows``, ``peak-busbw``,
``largest-size``, ``largest-busbw``, ``avg-busbw``, ``wrong``, ``out-of-bounds``, ``ranks``,
``nodes`` (distinct hosts of the device list), ``gpus``, ``network`` and ``networks`` (the
transports NCCL reported with ``NCCL_DEBUG=INFO``; ``network`` is ``Socket`` if any rank fell
back to TCP sockets, else the first, so one rule catches a partial fallback).

When the logs hold several runs of one test, the measurement is the run with the worst
status (corrupt, then crashed, then incomplete, then ok), the last of equals: a corrupt run
is never hidden by a good one printed after it.
"""

from __future__ import annotations

from collections.abc import Iterable

from eidos.fabric.nccl import TestRun
from eidos.snapshot.model import CollectorStatus, Measurement, Subtype

MEASUREMENT = "NCCL"
_RANK = {"corrupt": 3, "crashed": 2, "incomplete": 1, "ok": 0}


def subtype_data(run: TestRun, runs: int) -> dict:
    data: dict = {"status": run.status, "runs": runs, "rows": len(run.rows), "wrong": run.wrong}
    if run.rows:
        largest = run.largest
        data["peak-busbw"] = run.peak_busbw
        data["largest-size"] = largest.size
        data["largest-busbw"] = largest.busbw()
    optional = {"avg-busbw": run.avg_busbw, "out-of-bounds": run.out_of_bounds, "ranks": run.ranks}
    data.update({k: v for k, v in optional.items() if v is not None})
    if run.hosts:
        data["nodes"] = len(run.hosts)
    if run.gpus:
        data["gpus"] = list(run.gpus)
    if run.networks:
        data["networks"] = list(run.networks)
        data["network"] = "Socket" if "Socket" in run.networks else run.networks[0]
    return data


def measurement(runs: Iterable[TestRun], default_test: str = "all_reduce") -> Measurement:
    """Every run, keyed by its test name (``default_test`` for logs that do not name it)."""
    chosen: dict[str, TestRun] = {}
    counts: dict[str, int] = {}
    for run in runs:
        name = run.test or default_test
        counts[name] = counts.get(name, 0) + 1
        if name not in chosen or _RANK[run.status] >= _RANK[chosen[name].status]:
            chosen[name] = run
    return Measurement(MEASUREMENT, tuple(Subtype(n, subtype_data(r, counts[n])) for n, r in chosen.items()))


def collector_status(sources: list[str]) -> CollectorStatus:
    return CollectorStatus("nccl-log", MEASUREMENT, "ok", f"read from {', '.join(sources)}")
