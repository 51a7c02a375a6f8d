"""Validation throughput over a fleet of snapshots derived from the real EKS fixtures.

Each synthetic node is one of the two captured snapshots (H100, GB200; ~1,850 values
each) with its identity and a few drifting values changed: node name, Kubernetes patch
release, kernel ABI, driver patch. Loading the YAML is the floor; evaluation (inference,
recipe, every requirement and check) should add little to it.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "snapshots"


def write_fleet(directory: Path, count: int, seed: int = 3) -> list[Path]:
    rng = random.Random(seed)
    templates = [(FIXTURES / name).read_text(encoding="utf-8") for name in ("cns-eks-h100.yaml", "cns-eks-gb200.yaml")]
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        text = templates[i % 2]
        text = re.sub(r"ip-10-0-\d+-\d+\.ec2\.internal", f"ip-10-1-{i // 250}-{i % 250}.ec2.internal", text)
        text = re.sub(r"version: v1\.(\d+)\.(\d+)-eks", lambda m: f"version: v1.{m.group(1)}.{rng.randrange(1, 20)}-eks", text)
        text = re.sub(r"6\.8\.0-10(\d\d)-aws", lambda m: f"6.8.0-10{rng.randrange(10, 60)}-aws", text)
        path = directory / f"node-{i:04d}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def fleet_measurements(size: str, count: int):
    from bench.scenarios import _m
    from eidos import engine
    from eidos.snapshot.io import load_snapshot
    from eidos.validate.fleet import Validator

    paths = write_fleet(Path(tempfile.mkdtemp(prefix="eidos-bench-fleet-")), count)
    graph = engine.load_graph([])
    facts = {"intent": graph.facts["intent"].coerce("training")}

    start = time.perf_counter()
    snapshots = [load_snapshot(str(p)) for p in paths]
    load_s = time.perf_counter() - start

    validator = Validator(graph, flag_facts=facts)
    start = time.perf_counter()
    results = [validator.node(s, str(p)) for s, p in zip(snapshots, paths)]
    eval_s = time.perf_counter() - start
    verdicts = sum(len(r.verdicts) for r in results)
    keys = sum(1 for _ in snapshots[0].iter_values())

    yield _m("validation", size, "snapshots", count, "count")
    yield _m("validation", size, "values per snapshot", keys, "count")
    yield _m("validation", size, "verdicts", verdicts, "count")
    yield _m("validation", size, "load (YAML parse and model)", load_s, "s")
    yield _m("validation", size, "evaluate (inference, recipe, every rule)", eval_s, "s")
    yield _m("validation", size, "snapshots per second (load and evaluate)", count / (load_s + eval_s), "1/s")
    yield _m("validation", size, "evaluation overhead vs load", eval_s / load_s * 100, "%")
