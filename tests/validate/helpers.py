"""Small builders for validation tests: snapshots from plain dicts, graphs from rule text."""

from __future__ import annotations

import json

from eidos.snapshot.io import parse_snapshot

FACTS = """
fact service: enum { eks, gke }
fact accelerator: enum { h100, gb200 }
fact intent: enum { training, inference }
"""


def snap(data: dict, *, collectors=(), node: str = "node-a", timestamp: str | None = "2026-01-02T18:01:13Z"):
    """``{"K8s": {"server": {"version": "v1.30.0"}}}`` -> Snapshot (through the real parser)."""
    meta = {"source-node": node}
    if timestamp:
        meta["timestamp"] = timestamp
    doc = {
        "kind": "Snapshot",
        "apiVersion": "eidos.dev/v1alpha1",
        "metadata": meta,
        "measurements": [
            {"type": t, "subtypes": [{"subtype": s, "data": d} for s, d in subs.items()]}
            for t, subs in data.items()
        ],
        "collectors": list(collectors),
    }
    return parse_snapshot(json.dumps(doc), f"<{node}>")


def collector(name: str, mtype: str, status: str, reason: str | None = None) -> dict:
    c = {"name": name, "type": mtype, "status": status, "durationSeconds": 0}
    if reason:
        c["reason"] = reason
    return c
