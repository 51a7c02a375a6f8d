"""Prometheus metrics of scheduled drift, in the text exposition format (version 0.0.4).

Written by every ``drift run`` into the result ConfigMap (key ``metrics.prom``) and printed
by ``eidos drift status -o prometheus`` — for a textfile collector, a push to a Pushgateway,
or a scrape job that reads the ConfigMap. Format rules
(https://prometheus.io/docs/instrumenting/exposition_formats/): one ``# HELP`` and one
``# TYPE`` line per metric, label values in double quotes with ``\\``, ``"`` and line feed
escaped as ``\\\\``, ``\\"`` and ``\\n``, HELP text with ``\\`` and line feed escaped, the last
line ending in a line feed. Hand-written (eight metrics do not earn a dependency); the tests
read it back with ``prometheus_client``'s parser.

Metrics (every one labelled ``namespace`` and ``install``):

=================================================  =======  ==========================================
``eidos_drift_path_changed{node,path,kind}``       gauge    1 per measurement path that differs from
                                                            the baseline in the last successful run
``eidos_drift_node_changes{node}``                 gauge    how many paths differ on the node
``eidos_drift_node_verdict_changes{node}``         gauge    rule verdicts that changed (``--verdicts``)
``eidos_drift_drifted_nodes``                      gauge    nodes that differ from the baseline
``eidos_drift_last_run_timestamp_seconds``         gauge    when the last run ended (success or not)
``eidos_drift_last_success_timestamp_seconds``     gauge    when the last successful run ended
``eidos_drift_last_run_success``                   gauge    1 if the last run succeeded, else 0
``eidos_drift_runs_total`` / ``…_events_total``    counter  runs, and drift events (new sets of
                                                            differences) since install
=================================================  =======  ==========================================
"""

from __future__ import annotations

import datetime as _dt


def escape_label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def epoch(stamp: str | None) -> float | None:
    """RFC 3339 UTC (``2026-11-30T14:00:00Z``) -> seconds since the epoch."""
    if not stamp:
        return None
    try:
        moment = _dt.datetime.fromisoformat(stamp)  # Python 3.11 reads the trailing Z
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Writer:
    def __init__(self, base: dict):
        self.base = base
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        self.lines.append(f"# HELP {name} {_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            merged = {**self.base, **labels}
            text = ",".join(f'{k}="{escape_label(v)}"' for k, v in merged.items())
            self.lines.append(f"{name}{{{text}}} {_num(value)}")


def render(*, namespace: str, install: str, result: dict, state: dict, diff: dict | None) -> str:
    """The exposition text for the last run's ``result``, the installation's ``state`` and
    the last successful run's ``diff`` document (as :mod:`eidos.drift.runner` records them).
    Deterministic: samples sorted."""
    w = _Writer({"namespace": namespace, "install": install})
    diff = diff or {}
    paths, per_node, verdicts = [], [], []
    drifted = 0
    for node in sorted(diff.get("nodes", []), key=lambda n: n.get("node", "")):
        name = node.get("node", "")
        changes = node.get("changes", [])
        if node.get("status") != "same":
            drifted += 1
        per_node.append(({"node": name}, len(changes)))
        verdicts.append(({"node": name}, len(node.get("verdicts", []))))
        for c in sorted(changes, key=lambda c: (c.get("path", ""), c.get("kind", ""))):
            paths.append(({"node": name, "path": c.get("path", ""), "kind": c.get("kind", "")}, 1))
    w.family("eidos_drift_path_changed", "gauge",
             "1 for each measurement path that differs from the baseline (last successful run)", paths)
    w.family("eidos_drift_node_changes", "gauge",
             "Measurement paths that differ from the baseline on the node (last successful run)", per_node)
    w.family("eidos_drift_node_verdict_changes", "gauge",
             "Rule verdicts that changed against the baseline on the node (last successful run)", verdicts)
    w.family("eidos_drift_drifted_nodes", "gauge", "Nodes that differ from the baseline (last successful run)",
             [({}, drifted)] if diff else [])
    last_run = epoch(result.get("time"))
    last_ok = epoch(state.get("lastSuccess"))
    w.family("eidos_drift_last_run_timestamp_seconds", "gauge", "When the last drift run ended (Unix time)",
             [({}, last_run)] if last_run is not None else [])
    w.family("eidos_drift_last_success_timestamp_seconds", "gauge",
             "When the last successful drift run ended (Unix time)", [({}, last_ok)] if last_ok is not None else [])
    w.family("eidos_drift_last_run_success", "gauge", "1 if the last drift run succeeded, else 0",
             [({}, 1 if result.get("status") == "ok" else 0)] if result else [])
    w.family("eidos_drift_runs_total", "counter", "Drift runs since install", [({}, int(state.get("runs", 0)))])
    w.family("eidos_drift_events_total", "counter",
             "Drift events (a new set of differences from the baseline) since install",
             [({}, int(state.get("driftEvents", 0)))])
    return "\n".join(w.lines) + "\n"
