"""``eidos fabric parse`` output: the parsed tests as JSON, or a table a person reads."""

from __future__ import annotations

import json

API_KIND = "NcclResults"


def as_json(logs: list[dict]) -> str:
    from eidos.api import API_VERSION

    doc = {"apiVersion": API_VERSION, "kind": API_KIND, "logs": logs}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def as_table(logs: list[dict]) -> str:
    header = ("source", "test", "status", "ranks", "rows", "peak busbw", "largest", "avg busbw",
              "#wrong", "out of bounds")
    rows = []
    notes = []
    for log in logs:
        for i, t in enumerate(log["tests"], 1):
            largest = t["largest"]
            rows.append((
                log["source"] if len(log["tests"]) == 1 else f"{log['source']} #{i}",
                t["test"] or "-", t["status"], "-" if t["ranks"] is None else str(t["ranks"]),
                str(len(t["rows"])), _num(t["peak_busbw"]),
                f"{_size(largest['size'])} @ {_num(largest['busbw'])}" if largest else "-",
                _num(t["avg_busbw"]), str(t["wrong"]),
                "-" if t["out_of_bounds"] is None else str(t["out_of_bounds"]),
            ))
            notes += [f"{rows[-1][0]}: {e}" for e in t["errors"]]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    if notes:
        lines += ["", *notes]
    lines.append("bandwidths in GB/s as nccl-tests printed them")
    return "\n".join(lines) + "\n"
