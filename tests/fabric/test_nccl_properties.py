"""Properties of the nccl-tests reader: it never raises, and reads back what nccl-tests prints.

The printer here is an independent transcription of nccl-tests' own C formatting
(src/util.cu at v2.19.6: ``writeBenchmarkLinePreamble``, ``writeBenchmarkLineBody`` and
``getFloatStr``), not eidos code, so a row the parser misreads shows up as a difference
between what the C format printed and what came back.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eidos.fabric.nccl import parse_log
from tests.conftest import FIXTURES


def float_str(value: float, width: int) -> str:
    """getFloatStr: %.2f, then %.1f, then %.0f, then %e, whichever fits ``width``."""
    for fmt in ("%*.2f", "%*.1f", "%*.0f"):
        text = fmt % (width, value)
        if len(text) <= width:
            return text
    return ("%*.1e" if width >= 7 else "%*.0e") % (width, value)


def print_row(size, count, type_, op, root, sides) -> str:
    line = "%12li  %12li  %8s  %6s  %6s" % (size, count, type_, op, "%6i" % root)
    for time_us, algbw, busbw, wrong in sides:
        line += "  %7s  %6s  %6s  %6g" % (float_str(time_us, 7), float_str(algbw, 6),
                                          float_str(busbw, 6), float(wrong))
    return line


HEADER = [
    "# nThread 1 nGpus 1 minBytes 8 maxBytes 1024 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0",
    "#",
    "# %10s  %12s  %8s  %6s  %6s           out-of-place                       in-place          " % ("", "", "", "", ""),
    "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s " % (
        "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw",
        "busbw", "#wrong"),
]

side = st.tuples(
    # up to 1e12: wide enough that getFloatStr falls back to %e in every column
    st.floats(0, 1e12, allow_nan=False), st.floats(0, 1e12, allow_nan=False),
    st.floats(0, 1e12, allow_nan=False), st.integers(0, 10**9),
)
row = st.tuples(
    st.integers(0, 2**44), st.integers(0, 2**42), st.sampled_from(["float", "half", "bfloat16", "int8", "double"]),
    st.sampled_from(["sum", "prod", "max", "min", "avg", "none"]), st.integers(-1, 71), st.tuples(side, side),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=12))
def test_rows_printed_by_nccl_tests_format_read_back(rows):
    lines = [print_row(*r) for r in rows]
    text = "\n".join(HEADER + lines + ["# Out of bounds values : 0 OK", "# Avg bus bandwidth    : 1 ", "#"])
    (test,) = parse_log(text)
    assert len(test.rows) == len(rows)
    for got, (size, count, type_, op, root, sides) in zip(test.rows, rows):
        assert (got.size, got.count, got.type, got.redop, got.root) == (size, count, type_, op, root)
        for parsed, (time_us, algbw, busbw, wrong) in zip(got.sides(), sides):
            assert parsed.time_us == float(float_str(time_us, 7))
            assert parsed.algbw == float(float_str(algbw, 6))
            assert parsed.busbw == float(float_str(busbw, 6))
            assert parsed.wrong == int(float("%g" % wrong))
    assert test.status == ("corrupt" if any(w for r in rows for *_, w in r[5]) else "ok")


REAL = [p.read_text(encoding="utf-8").splitlines() for p in sorted((FIXTURES / "nccl").glob("*.txt"))]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_never_raises_on_arbitrary_text(text):
    tests = parse_log(text)
    assert tests
    for t in tests:
        t.to_json()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(REAL) - 1), st.integers(0, 200), st.integers(0, 300),
                          st.sampled_from(["", "[1,0]<stdout>:", "3: ", "#"])), max_size=60))
def test_never_raises_on_real_lines_shuffled_and_cut(picks):
    lines = []
    for which, index, cut, prefix in picks:
        source = REAL[which]
        assume(source)
        lines.append(prefix + source[index % len(source)][:cut])
    for t in parse_log("\n".join(lines)):
        doc = t.to_json()
        assert doc["status"] in {"ok", "corrupt", "crashed", "incomplete"}
        assert doc["wrong"] >= 0
