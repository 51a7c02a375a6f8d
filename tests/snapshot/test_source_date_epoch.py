"""SOURCE_DATE_EPOCH (issue 10): honoured when valid, exit 2 with a message when not.

Before: a huge value crashed with "internal error" (exit 3, OverflowError/EOVERFLOW), and a
negative or fractional one was silently replaced by the current time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eidos.errors import UsageError
from eidos.snapshot.collectors import timestamp
from eidos.snapshot.collectors.base import HostContext

ROOT = Path(__file__).resolve().parents[2]

BAD = [
    "-1",
    "-5",
    "1.5",
    "1e9",
    " 1700000000",
    "0x10",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes, the spec says ASCII
    "253402300800",  # one second past 9999-12-31T23:59:59Z
    "99999999999999999",  # EOVERFLOW in the old code
    "9" * 5000,  # longer than int() accepts by default
    "now",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "1970-01-01T00:00:00Z"),
        ("1700000000", "2023-11-14T22:13:20Z"),  # date -u -d @1700000000
        ("253402300799", "9999-12-31T23:59:59Z"),
    ],
)
def test_valid_values_are_honoured(value, expected):
    assert timestamp({"SOURCE_DATE_EPOCH": value}) == expected


def test_unset_or_empty_means_now():
    for env in ({}, {"SOURCE_DATE_EPOCH": ""}):
        assert timestamp(env).endswith("Z") and timestamp(env)[:2] in ("20", "21")


@pytest.mark.parametrize("value", BAD)
def test_bad_values_are_usage_errors(value):
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH=") as err:
        timestamp({"SOURCE_DATE_EPOCH": value})
    assert err.value.exit_code == 2
    assert len(err.value.message) < 200  # a 5000-digit value is not echoed whole


def test_take_snapshot_fails_before_collecting(tmp_path, monkeypatch):
    """The check runs first: no collector (here: none may run at all) is started."""
    from eidos.snapshot import collectors

    def no_collectors(*args, **kwargs):
        raise AssertionError("collectors ran despite a bad SOURCE_DATE_EPOCH")

    monkeypatch.setattr(collectors, "run_collectors", no_collectors)
    ctx = HostContext(root=tmp_path, timeout=1, env={"SOURCE_DATE_EPOCH": "-1"})
    with pytest.raises(UsageError):
        collectors.take_snapshot(ctx, cluster=False)


@pytest.mark.parametrize("value", ["-5", "99999999999999999", "1.5"])
def test_cli_exit_2_with_a_message(value, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("EIDOS_DEBUG", "CI")}
    env["SOURCE_DATE_EPOCH"] = value
    out = tmp_path / "snap.json"
    proc = subprocess.run(
        [sys.executable, "-m", "eidos", "snapshot", "--no-cluster", "--host-root", str(tmp_path),
         "-o", str(out)],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"SOURCE_DATE_EPOCH={value!r}" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert not out.exists()
