"""Run the benchmarks: ``python -m bench [SCENARIO...] [--size tiny|full] [--only NAME]... [--write-docs]``.

``python -m bench fleet`` runs the fleet scenario alone and prints each figure beside its
target, and whether it is met.

Prints one JSON line per measurement on stdout, then a summary table on stderr. With
``--write-docs`` the results section of docs/performance.md (between its markers) is
replaced by this run's figures, with the machine and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.fanout import fanout_scale
from bench.scenarios import SCENARIOS

SCENARIOS.setdefault("fanout", fanout_scale)  # issue 16: the agent fan-out (bench/fanout.py)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def run(size: str, only: list[str] | None = None, out=sys.stdout) -> list[dict]:
    results = []
    for name, scenario in SCENARIOS.items():
        if only and name not in only:
            continue
        saved = dict(os.environ)
        try:
            for measurement in scenario(size):
                results.append(measurement)
                print(json.dumps(measurement), file=out, flush=True)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return results


def table(results: list[dict]) -> str:
    width = max((len(r["metric"]) for r in results), default=10)
    lines = [f"| scenario | {'metric'.ljust(width)} | value | unit |", f"| --- | {'-' * width} | ---: | --- |"]
    for r in results:
        value = f"{r['value']:.3f}" if isinstance(r["value"], float) and r["value"] < 1000 else f"{r['value']:.0f}"
        lines.append(f"| {r['scenario']} | {r['metric'].ljust(width)} | {value} | {r['unit']} |")
    return "\n".join(lines)


def write_docs(results: list[dict], size: str) -> None:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    section = f"{START}\nMeasured {when} on {machine()} (`python -m bench --size {size}`).\n\n{table(results)}\n{END}"
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else f"# Performance\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    from eidos.io.output import write_atomic

    write_atomic(DOCS, head + section + tail)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"run only these ({', '.join(SCENARIOS)})")
    parser.add_argument("--size", choices=("tiny", "full"), default="full")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only this scenario")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)} (choose from {', '.join(SCENARIOS)})")
    results = run(args.size, (args.only or []) + args.scenarios or None)
    print(table(results), file=sys.stderr)
    if any(r["scenario"] == "fleet" for r in results):
        from bench.fleet import verdicts

        print("\nFleet targets (issue 16; the full-size run is the one they apply to):", file=sys.stderr)
        for line in verdicts(results):
            print("  " + line, file=sys.stderr)
    if any(r["scenario"] in ("constraint-peers", "scaling") for r in results):
        from bench.peers import verdicts as issue17

        lines = issue17(results)
        if lines:
            print("\nIndex and evaluation targets (issue 17; the full-size run is the one they apply to):",
                  file=sys.stderr)
            for line in lines:
                print("  " + line, file=sys.stderr)
    if args.write_docs:
        write_docs(results, args.size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
