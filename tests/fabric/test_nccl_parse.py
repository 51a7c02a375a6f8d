"""nccl-tests logs in, what they say out: every fixture log with its expectation written out.

Each expectation below was read off the log by hand (the row and footer it comes from is
named); none was produced by running the parser. tests/fixtures/README.md has each log's
origin.
"""

from __future__ import annotations

import pytest

from eidos.fabric.nccl import parse_log
from tests.conftest import FIXTURES

NCCL = FIXTURES / "nccl"


def _one(name: str) -> dict:
    tests = parse_log((NCCL / name).read_text(encoding="utf-8"))
    assert len(tests) == 1, [t.to_json()["status"] for t in tests]
    return tests[0].to_json()


def _side(time_us, algbw, busbw, wrong):
    return {"time_us": time_us, "algbw": algbw, "busbw": busbw, "wrong": wrong}


def _row(size, count, time1, alg1, bus1, wrong1, time2, alg2, bus2, wrong2, *, type_="float",
         redop="sum", root=-1):
    return {"size": size, "count": count, "type": type_, "redop": redop, "root": root,
            "out_of_place": _side(time1, alg1, bus1, wrong1), "in_place": _side(time2, alg2, bus2, wrong2)}


# file -> (summary fields, {row index: full row}); rows as printed in the log
EXPECTED = {
    "01-gh200-2node-8gpu-slingshot-allreduce.txt": (
        # "Collective test starting: all_reduce_perf"; Rank 0..7 lines; 25 rows 8 B .. 128 MiB
        dict(status="ok", test="all_reduce", ranks=8, gpus=["NVIDIA GH200 120GB"], n_rows=25,
             peak_busbw=123.11, largest={"size": 134217728, "busbw": 123.11}, avg_busbw=19.7866,
             wrong=0, out_of_bounds=0, version=None),
        {0: _row(8, 2, 17.93, 0.0, 0.0, 0, 17.72, 0.0, 0.0, 0),
         -1: _row(134217728, 33554432, 1916.4, 70.04, 122.57, 0, 1907.8, 70.35, 123.11, 0)},
    ),
    "08-aws-p5-2node-efa-openmpi-rank-prefix.txt": (
        # every line prefixed "[1,0]<stdout>:"; no device list in the excerpt; 8 B .. 16 GiB
        dict(status="ok", test=None, ranks=None, gpus=[], n_rows=32, peak_busbw=483.35,
             largest={"size": 17179869184, "busbw": 483.35}, avg_busbw=156.742, wrong=0,
             out_of_bounds=0, version=None),
        {-1: _row(17179869184, 4294967296, 62239.0, 276.03, 483.05, 0, 62200.0, 276.20, 483.35, 0)},
    ),
    "11-gb200-nvl72-1rack-72gpu-allreduce-graphics-device-name.txt": (
        # only "Rank 71" is listed: 72 ranks; peak is the in-place 8 GiB cell
        dict(status="ok", test=None, ranks=72, gpus=["NVIDIA Graphics Device"], n_rows=5,
             peak_busbw=846.82, largest={"size": 8589934592, "busbw": 846.82}, avg_busbw=745.53,
             wrong=0, out_of_bounds=0, version=None),
        {0: _row(536870912, 134217728, 1806.7, 297.16, 586.06, 0, 1835.9, 292.43, 576.74, 0)},
    ),
    "14-a100-40gb-1node-8gpu-allreduce-old-error-column.txt": (
        # old format: no root column, "error" column all N/A (validation: 0); 34 rows incl. two 0 B
        dict(status="ok", test=None, ranks=8, gpus=["A100-SXM4-40GB"], n_rows=34, peak_busbw=235.26,
             largest={"size": 8589934592, "busbw": 235.26}, avg_busbw=68.4048, wrong=0,
             out_of_bounds=0, version=None),
        {0: _row(0, 0, 35.20, 0.0, 0.0, None, 34.05, 0.0, 0.0, None, root=None),
         -1: _row(8589934592, 2147483648, 63896.0, 134.44, 235.26, None, 63959.0, 134.30, 235.03, None,
                  root=None)},
    ),
    "18-rtx5090-1node-2gpu-crash-unhandled-cuda-error.txt": (
        # "Test NCCL failure common.cu:392" right after the header; five " .. Test failure" lines
        dict(status="crashed", test=None, ranks=2, gpus=["NVIDIA GeForce RTX 5090"], n_rows=0,
             peak_busbw=None, largest=None, avg_busbw=None, wrong=0, out_of_bounds=None, version=None),
        {},
    ),
    "21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt": (
        # 1 MiB row: #wrong 96 out-of-place, 32 in-place; "Out of bounds values : 4 FAILED"
        dict(status="corrupt", test="all_reduce", ranks=2, gpus=["NVIDIA GH200 120GB"], n_rows=25,
             peak_busbw=22.87, largest={"size": 134217728, "busbw": 22.87}, avg_busbw=4.79995,
             wrong=128, out_of_bounds=4, version="2.17.8"),
        {17: _row(1048576, 262144, 477.32, 2.20, 2.20, 96, 492.81, 2.13, 2.13, 32)},
    ),
    "23-a100-pcie-2node-ib-hdr-nccl-debug-info-full-run.txt": (
        # ~50 NCCL INFO lines before the table, two after the last row; 8 B .. 1 GiB
        dict(status="ok", test=None, ranks=2, gpus=["NVIDIA A100-PCIE-40GB"], n_rows=28,
             peak_busbw=6.44, largest={"size": 1073741824, "busbw": 6.44}, avg_busbw=2.36313,
             wrong=0, out_of_bounds=0, version=None),
        {-1: _row(1073741824, 268435456, 166733.0, 6.44, 6.44, 0, 167090.0, 6.43, 6.43, 0)},
    ),
    "aicr-testdata-eks-h100-16g.txt": (
        dict(status="ok", test=None, ranks=1, gpus=["NVIDIA H100 80GB HBM3"], n_rows=2,
             peak_busbw=450.30, largest={"size": 17179869184, "busbw": 450.30}, avg_busbw=225.15,
             wrong=0, out_of_bounds=0, version=None),
        {0: _row(1024, 256, 28.50, 0.04, 0.07, 0, 28.20, 0.04, 0.07, 0)},
    ),
    "aicr-testdata-gke-h100-8g.txt": (
        dict(status="ok", test=None, ranks=None, gpus=[], n_rows=2, peak_busbw=333.51,
             largest={"size": 8589934592, "busbw": 333.51}, avg_busbw=87.0675, wrong=0,
             out_of_bounds=0, version="2.17.6"),
        {0: _row(4294967296, 1073741824, 24547.5, 174.97, 328.06, 0, 24635.5, 174.34, 326.89, 0)},
    ),
    "90-derived-gh200-hung-mid-row.txt": (
        # 20 whole rows (8 B .. 4 MiB), the 8 MiB row cut mid-write, no footer
        dict(status="incomplete", test="all_reduce", ranks=8, gpus=["NVIDIA GH200 120GB"], n_rows=20,
             peak_busbw=25.08, largest={"size": 4194304, "busbw": 25.08}, avg_busbw=None, wrong=0,
             out_of_bounds=None, version=None),
        {-1: _row(4194304, 1048576, 292.7, 14.33, 25.08, 0, 295.4, 14.20, 24.85, 0)},
    ),
}


def test_every_fixture_log_has_an_expectation():
    assert sorted(p.name for p in NCCL.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_log(name):
    summary, rows = EXPECTED[name]
    got = _one(name)
    for key, value in summary.items():
        if key == "n_rows":
            assert len(got["rows"]) == value, key
        else:
            assert got[key] == value, key
    for index, row in rows.items():
        assert got["rows"][index] == row, index
    # bandwidths are the printed numbers, rows in log order
    sizes = [r["size"] for r in got["rows"]]
    assert sizes == sorted(sizes)


def test_crash_reports_the_failure_lines():
    got = _one("18-rtx5090-1node-2gpu-crash-unhandled-cuda-error.txt")
    assert got["errors"][0].startswith("line 10: GENOA-06: Test NCCL failure common.cu:392")
    assert sum("Test failure" in e for e in got["errors"]) == 5


def test_hung_run_names_the_cut_row_and_the_missing_footer():
    got = _one("90-derived-gh200-hung-mid-row.txt")
    assert any(e.startswith("line 37: unreadable result row: 8388608") for e in got["errors"])
    assert any("no footer" in e for e in got["errors"])


def test_corrupt_wins_over_the_failure_lines_that_follow_it():
    # log 21 ends in " .. Test failure common.cu:1189" lines (the test exits non-zero because
    # of the bad values); the verdict is what went wrong first: the data
    got = _one("21-gh200-2node-2gpu-nonzero-wrong-out-of-bounds-4-FAILED.txt")
    assert got["status"] == "corrupt"
    assert sum("Test failure common.cu:1189" in e for e in got["errors"]) == 2


def _table(rows: list[str], *, prefix: str = "", footer: bool = True) -> str:
    head = [
        "# nThread 1 nGpus 1 minBytes 8 maxBytes 1024 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0",
        "#",
        "#  Rank  0 Group  0 Pid   5425 on      test1 device  0 [0x81] NVIDIA H100 80GB HBM3",
        "#  Rank  1 Group  0 Pid   4962 on      test2 device  0 [0x81] NVIDIA H100 80GB HBM3",
        "#",
        "#                                                              out-of-place                       in-place",
        "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong",
        "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)",
    ]
    tail = ["# Out of bounds values : 0 OK", "# Avg bus bandwidth    : 1.5 ", "#"] if footer else []
    return "\n".join(prefix + line for line in head + rows + tail) + "\n"


ROW_8 = "           8             2     float     sum      -1    17.08    0.00    0.00      0    16.76    0.00    0.00      0"
ROW_16 = "          16             4     float     sum      -1    16.72    0.50    1.00      0    16.66    0.50    1.50      0"


def test_slurm_label_prefix():
    tests = parse_log(_table([ROW_8, ROW_16], prefix="0: "))
    assert [t.status for t in tests] == ["ok"]
    assert tests[0].peak_busbw == 1.5 and tests[0].ranks == 2


def test_header_that_lost_its_hash_in_a_copy_paste():
    text = _table([ROW_8, ROW_16]).replace("#       size", "        size")
    tests = parse_log(text)
    assert [t.status for t in tests] == ["ok"] and len(tests[0].rows) == 2


def test_launcher_noise_and_warn_lines_anywhere():
    text = ("Warning: Permanently added 'worker-0' (ED25519) to the list of known hosts.\n"
            + _table([ROW_8, "worker-0:12:12 [0] NCCL WARN NET/OFI Only EFA provider is supported", ROW_16]))
    (test,) = parse_log(text)
    assert test.status == "ok" and len(test.rows) == 2
    assert any("NCCL WARN NET/OFI" in e for e in test.errors)


def test_two_tests_in_one_log():
    text = _table([ROW_8]) + _table([ROW_16]).replace("Avg bus bandwidth    : 1.5", "Avg bus bandwidth    : 2.5")
    tests = parse_log(text)
    assert [t.avg_busbw for t in tests] == [1.5, 2.5]
    assert [[r.size for r in t.rows] for t in tests] == [[8], [16]]


def test_large_wrong_counts_printed_with_g_format():
    row = ROW_16.replace("  0    16.66", "  1.23457e+06    16.66")
    (test,) = parse_log(_table([row]))
    assert test.rows[0].out_of_place.wrong == 1234570
    assert test.status == "corrupt"


def test_per_iteration_columns():
    header = ("#       size         count      type   redop    root     time   algbw   busbw #wrong   i_min   i_max"
              "   i_p99   i_cv%     time   algbw   busbw #wrong   i_min   i_max   i_p99   i_cv%")
    row = ("        1024           256     float     sum      -1    28.50    0.04    0.07      0    27.00    30.00"
           "    29.90    2.10    28.20    0.04    0.09      0    27.10    29.00    28.90    1.90")
    text = _table([row]).replace(
        "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong",
        header)
    (test,) = parse_log(text)
    assert test.rows[0].in_place.busbw == 0.09 and test.rows[0].in_place.time_us == 28.20


def test_empty_and_unrelated_text_is_one_incomplete_test():
    for text in ("", "hello\nworld\n", "\x00\x01binary"):
        (test,) = parse_log(text)
        assert test.status == "incomplete" and test.rows == ()
        assert "no result rows" in test.errors
