"""``validate --from-log``: nccl-tests logs as the NCCL measurement of the snapshots judged.

Without ``--snapshot`` the logs stand alone: one synthetic snapshot holding only the NCCL
measurement, named after the log(s), whose facts come from the flags. With ``--snapshot``
the measurement is added to every snapshot read (the fabric result is the cluster's, and
the snapshot supplies the facts by inference).
"""

from __future__ import annotations

from eidos.fabric.measure import MEASUREMENT, collector_status, measurement
from eidos.fabric.nccl import MAX_LOG_BYTES, parse_log
from eidos.io.inputs import read_input
from eidos.snapshot.model import Snapshot


def read_runs(logs: list[str]) -> list:
    runs = []
    for path in logs:
        text, _name = read_input(path, "an nccl-tests log", MAX_LOG_BYTES, lenient=True)
        runs.extend(parse_log(text))
    return runs


def _standalone(label: str, runs: list, default_test: str, sources: list[str]):
    nccl = measurement(runs, default_test)
    status = (collector_status(sources),)

    def standalone(source: str) -> Snapshot:
        return Snapshot(metadata={"source-node": label}, measurements=(nccl,), collectors=status)

    return [label], standalone


def fabric_loader_from_text(logs: list[tuple[str, str]], default_test: str):
    """(sources, loader) for logs already in memory: [(label, text)] (a run on the cluster)."""
    runs = [run for _label, text in logs for run in parse_log(text)]
    return _standalone(" + ".join(label for label, _ in logs), runs, default_test, [l for l, _ in logs])


def fabric_loader(logs: list[str], snapshots: list[str] | None, default_test: str):
    """(sources, loader) for :func:`eidos.validate.fleet.validate`."""
    if not snapshots:
        return _standalone(" + ".join(logs), read_runs(logs), default_test, logs)
    nccl = measurement(read_runs(logs), default_test)
    status = (collector_status(logs),)

    from eidos.snapshot.io import load_snapshot
    from eidos.validate.fleet import expand_sources

    def with_results(source: str) -> Snapshot:
        return load_snapshot(source).replace_type(nccl, status, MEASUREMENT)

    return expand_sources(snapshots), with_results
