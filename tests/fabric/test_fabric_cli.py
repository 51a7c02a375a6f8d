"""``eidos fabric parse`` end to end: exit codes, JSON document, bad inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES

NCCL = FIXTURES / "nccl"


def _eidos(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "eidos", *args], capture_output=True, text=True,
                          input=stdin, timeout=60)


def test_every_fixture_parses_with_exit_0_and_json():
    logs = sorted(NCCL.glob("*.txt"))
    result = _eidos("fabric", "parse", *map(str, logs), "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kind"] == "NcclResults"
    assert [entry["source"] for entry in doc["logs"]] == [str(p) for p in logs]
    by_name = {os.path.basename(e["source"]): e["tests"][0]["status"] for e in doc["logs"]}
    assert by_name["21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt"] == "corrupt"
    assert by_name["18-rtx5090-1node-2gpu-crash-unhandled-cuda-error.txt"] == "crashed"
    assert by_name["90-derived-gh200-hung-mid-row.txt"] == "incomplete"
    assert "Traceback" not in result.stderr


def test_table_is_the_default_and_names_the_status():
    result = _eidos("fabric", "parse", str(NCCL / "21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt"))
    assert result.returncode == 0
    first, row = result.stdout.splitlines()[:2]
    assert first.split()[:3] == ["source", "test", "status"]
    assert "corrupt" in row.split() and "128" in row.split()


def test_stdin():
    text = (NCCL / "aicr-testdata-eks-h100-16g.txt").read_text()
    result = _eidos("fabric", "parse", "-", "-o", "json", stdin=text)
    assert result.returncode == 0
    assert json.loads(result.stdout)["logs"][0]["tests"][0]["peak_busbw"] == 450.30


@pytest.mark.parametrize("make", ["missing", "directory", "fifo"])
def test_unreadable_log_is_exit_2_naming_it(tmp_path, make):
    path = tmp_path / "log"
    if make == "directory":
        path.mkdir()
    elif make == "fifo":
        os.mkfifo(path)
    result = _eidos("fabric", "parse", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and "Traceback" not in result.stderr


def test_binary_junk_is_read_not_refused(tmp_path):
    path = tmp_path / "junk.log"
    path.write_bytes(bytes(range(256)) * 40)
    result = _eidos("fabric", "parse", str(path), "-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["logs"][0]["tests"][0]["status"] == "incomplete"


def test_unknown_action_is_a_usage_error():
    result = _eidos("fabric", "prase", str(NCCL / "aicr-testdata-eks-h100-16g.txt"))
    assert result.returncode == 2
