"""Fleets: many snapshots, one compilation per expression, per-node facts, a summary."""

from __future__ import annotations

import shutil

from eidos.validate import plan as plan_mod
from eidos.validate.fleet import Validator, expand_sources, validate
from tests.conftest import FIXTURES
from tests.validate.helpers import snap


def test_directory_expands_sorted(tmp_path):
    for n in ("b.yaml", "a.json", "c.txt"):
        (tmp_path / n).write_text("{}")
    assert expand_sources([str(tmp_path)]) == [str(tmp_path / "a.json"), str(tmp_path / "b.yaml")]


def test_each_expression_compiled_once_for_the_fleet(embedded_graph, monkeypatch):
    calls = []
    real = plan_mod.closure
    monkeypatch.setattr(plan_mod, "closure", lambda ir: calls.append(ir) or real(ir))
    v = Validator(embedded_graph, flag_facts={"service": "eks", "accelerator": "h100", "intent": "training"})
    for i in range(50):
        v.node(snap({"K8s": {"server": {"version": f"v1.{28 + i % 6}.0"}}}, node=f"n{i}"), f"n{i}.yaml")
    assert len(calls) == len(set(calls)) == len(v.cache)


def test_mixed_fleet_gets_per_node_recipes_and_summary(embedded_graph, tmp_path):
    for n in ("cns-eks-h100.yaml", "cns-eks-gb200.yaml"):
        shutil.copy(FIXTURES / "snapshots" / n, tmp_path / n)
    report = validate(embedded_graph, expand_sources([str(tmp_path)]), flag_facts={"intent": "training"})
    by = {n.node: n for n in report.nodes}
    assert dict(by["ip-10-0-160-248.ec2.internal"].criteria)["accelerator"] == "gb200"
    assert dict(by["ip-10-0-158-18.ec2.internal"].criteria)["accelerator"] == "h100"
    assert "gb200-eks-ubuntu-training" in by["ip-10-0-160-248.ec2.internal"].overlays
    # the GB200 host is Ubuntu 22.04.5 (kubelet os-image): both the check and the recipe's
    # os-version requirement (== 24.04) fail on it, and on nothing else
    assert report.failing_by_rule() == [("check:gb200-host-os:host-os", ["ip-10-0-160-248.ec2.internal"]),
                                        ("requirement:os-version", ["ip-10-0-160-248.ec2.internal"])]
    assert report.exit_code == 1


def test_progress_callback_sees_every_node(embedded_graph):
    seen = []
    snaps = {f"s{i}": snap({"K8s": {"server": {"version": "v1.33.0"}}}, node=f"s{i}") for i in range(3)}
    validate(embedded_graph, list(snaps), flag_facts={"service": "eks"}, loader=snaps.__getitem__,
             progress=lambda i, total, src: seen.append((i, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


# ---- per-file errors (issue 10) ------------------------------------------------------------

BROKEN = {
    "b00-deep.yaml": "[" * 30000,
    "b01-syntax.yaml": "measurements: [\n",
    "b02-tag.yaml": "measurements: !!python/object/apply:os.system [echo]\n",
    "b03-shape.yaml": "measurements:\n  - type: Nope\n",
    "b04-utf8.yaml": b"\xff\xfe\x00",
    "b05-empty.yaml": "",
    "b06-json.json": '{"measurements": [}',
    "b07-int.yaml": "measurements: []\nmetadata: {a: " + "9" * 5000 + "}\n",
    "b08-bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i > 1 else "*a"] * 10) + "]\n" for i in range(1, 9)
    ),
    "b09-fifo.yaml": None,  # a FIFO: must be refused, not block the run
}


def _small_snapshot(i: int) -> str:
    return (
        "kind: Snapshot\napiVersion: eidos.dev/v1alpha1\n"
        f"metadata: {{source-node: node-{i:04d}}}\n"
        "measurements:\n  - type: K8s\n    subtypes:\n      - subtype: server\n"
        f"        data: {{version: v1.{30 + i % 4}.2}}\n"
    )


def test_thousand_snapshot_fleet_with_ten_broken_files(tmp_path, capsys):
    import json
    import os

    from eidos.cli.main import main

    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for i in range(990):
        (fleet / f"n{i:04d}.yaml").write_text(_small_snapshot(i))
    for name, body in BROKEN.items():
        if body is None:
            os.mkfifo(fleet / name)
        elif isinstance(body, bytes):
            (fleet / name).write_bytes(body)
        else:
            (fleet / name).write_text(body)
    out = tmp_path / "report.json"
    code = main(["validate", "--snapshot", str(fleet), "--service", "eks", "-o", "json", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    report = json.loads(out.read_text())
    assert len(report["nodes"]) == 990
    assert {n["node"] for n in report["nodes"]} == {f"node-{i:04d}" for i in range(990)}
    listed = [line for line in err.splitlines() if line.startswith("eidos: ") and "/fleet/b" in line]
    assert len(listed) == len(BROKEN), err
    for name in BROKEN:
        assert any(f"/fleet/{name}" in line for line in listed), name
    # every line says why
    assert "nested deeper than" in err and "not a regular file (a FIFO)" in err
    assert "YAML tag" in err and "not UTF-8" in err and "integer with more than" in err
    assert "alias bomb" in err and "invalid JSON" in err and "unknown measurement type" in err
    assert "10 of 1000 snapshot(s) could not be used; the report covers the other 990" in err
    # the report itself names them too, and does not look clean
    assert sorted(u["snapshot"] for u in report["unreadable"]) == sorted(str(fleet / n) for n in BROKEN)
    assert all(u["reason"].startswith(u["snapshot"]) for u in report["unreadable"])
    assert report["summary"]["exitCode"] == 2 and report["summary"]["status"] == "fail"


def test_table_report_lists_unreadable_snapshots(tmp_path, capsys):
    from eidos.cli.main import main

    (tmp_path / "bad.yaml").write_text("measurements: [\n")
    (tmp_path / "good.yaml").write_text(_small_snapshot(3))
    code = main(["validate", "--snapshot", str(tmp_path), "--service", "eks", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 2
    assert "Unreadable: 1 snapshot(s) left out of this report" in out
    assert f"  {tmp_path / 'bad.yaml'}:2:1: invalid YAML" in out
    assert "Result: FAIL" in out


def test_fleet_without_on_error_still_raises_on_the_first_bad_file(embedded_graph, tmp_path):
    import pytest

    from eidos.errors import InputError

    (tmp_path / "a.yaml").write_text("measurements: [\n")
    (tmp_path / "b.yaml").write_text(_small_snapshot(1))
    with pytest.raises(InputError, match="a.yaml"):
        validate(embedded_graph, expand_sources([str(tmp_path)]), flag_facts={"service": "eks"})
    seen = []
    report = validate(embedded_graph, expand_sources([str(tmp_path)]), flag_facts={"service": "eks"},
                      on_error=lambda source, err: seen.append((source, err.message)))
    assert [n.node for n in report.nodes] == ["node-0001"]
    assert seen == [(str(tmp_path / "a.yaml"), seen[0][1])] and "invalid YAML" in seen[0][1]


def test_findings_and_unreadable_files_exit_2_with_the_report_written(tmp_path, capsys):
    from eidos.cli.main import main

    (tmp_path / "bad.yaml").write_text("measurements: [\n")
    (tmp_path / "old.yaml").write_text(_small_snapshot(0).replace("v1.30.2", "v1.20.0"))
    out = tmp_path / "r.json"
    code = main(["validate", "--snapshot", str(tmp_path / "bad.yaml"), str(tmp_path / "old.yaml"),
                 "--service", "eks", "--accelerator", "h100", "-o", "json", "--out", str(out)])
    assert code == 2
    assert '"status": "fail"' in out.read_text()
    assert "bad.yaml" in capsys.readouterr().err
