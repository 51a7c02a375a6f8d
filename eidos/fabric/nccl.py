"""Reading nccl-tests output: every format real runs print, damaged or not.

nccl-tests (github.com/NVIDIA/nccl-tests, ``src/util.cu`` at v2.19.6; ``src/common.cu``
before 2.17) prints, per test, a ``# nThread …`` line, a device list (``#  Rank N Group G
Pid P on HOST device D [BUS] PRODUCT``; ``Group`` only since 2.x), a three-line column
header, one row per message size and a footer (``# Out of bounds values : N OK|FAILED``,
``# Avg bus bandwidth : X``). A row is ``size count type redop root`` (``root`` only since
the column was added; the 2021 format has no ``root``) and, for out-of-place then in-place,
``time algbw busbw #wrong`` (``error`` in the old format: a magnitude, not a count; ``N/A``
when validation is off); ``-I 1`` adds four per-iteration columns per side and ``-J`` a
timestamp. Numbers use ``%.2f``, falling back to fewer decimals or ``%e`` when wide.

What arrives in practice is messier, and this reader takes it as it comes: launcher
prefixes (OpenMPI ``--tag-output`` ``[1,0]<stdout>:``, Slurm ``--label`` ``0: ``), NCCL
``INFO``/``WARN`` lines interleaved anywhere, launcher noise before the header, header
lines whose ``#`` was lost in a copy-paste, rows cut off by a hang, crashes before or
inside the table (``Test NCCL failure …``, `` .. host pid N: Test failure …``), and several
tests in one log. It never raises on text: what it cannot read becomes an ``errors`` entry.

The verdict of a run (``status``), strongest first:

* ``corrupt``: a ``#wrong`` cell above 0, or the footer's out-of-bounds count above 0 —
  the collective returned wrong data, whatever the bandwidth;
* ``crashed``: a test failure or timeout line;
* ``incomplete``: no rows, or no footer (the run hung or the log was cut);
* ``ok``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import attrs

#: a log is text from one run; 64 MiB is far above NCCL_DEBUG=INFO output of a 1,000-GPU run
MAX_LOG_BYTES = 64 * 1024 * 1024
#: lines longer than this are not nccl-tests output (the widest row, -I 1 -J, is ~260)
MAX_LINE = 4096
#: tests per log and rows per test kept; a real sweep has < 100 rows
MAX_TESTS = 256
MAX_ROWS = 10_000
MAX_ERRORS = 50
_INT = re.compile(r"[0-9]{1,20}")
_NUM = re.compile(r"[-+]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})(?:[eE][-+]?[0-9]{1,3})?")
_PREFIXES = (
    re.compile(r"^\[\d{1,6},\d{1,6}\]<(?:stdout|stderr)>:"),  # OpenMPI --tag-output
    re.compile(r"^\s{0,8}\d{1,6}: "),  # Slurm srun --label
)
_DEVICE = re.compile(
    r"^#?\s*Rank\s+(\d{1,7})\s+(?:Group\s+\d{1,7}\s+)?Pid\s+\d{1,10}\s+on\s+(\S{1,256})\s+"
    r"device\s+\d{1,5}\s+\[[^\]]{0,64}\]\s+(.{1,256}?)\s*$"
)
_FAILURE = re.compile(r"Test (?:NCCL |CUDA |)failure|Test timeout|NCCL failure|CUDA failure")
_STARTING = re.compile(r"^#\s*Collective test starting:\s*(\S{1,128})")
_CONCLUDED = re.compile(r"^#\s*Collective test concluded:")
_VERSION = re.compile(r"^#\s*nccl-tests version\s+(\S{1,32})")
_OOB = re.compile(r"^#\s*Out of bounds values\s*:\s*(\d{1,12})\s*(OK|FAILED)?")
_AVG = re.compile(r"^#\s*Avg bus bandwidth\s*:\s*(\S{1,40})")
_NRANKS = re.compile(r"\bn[Rr]anks (\d{1,7})\b")
# NCCL src/init.cc: INFO(NCCL_INIT, "Using network %s", ...) names the transport every rank
# chose (IB, Socket, a plugin such as "AWS Libfabric"); printed with NCCL_DEBUG=INFO only
_NETWORK = re.compile(r"\bNCCL INFO Using network (\S.{0,63}?)\s*$")
_NCCL_LOG = re.compile(r"\bNCCL (INFO|WARN)\b")
_SIDE_NAMES = ("out_of_place", "in_place")
_TIME_HEADS = {"time", "cputime"}
_WRONG_HEADS = {"#wrong", "wrong", "error", "#error"}


@attrs.frozen
class Side:
    """One half of a row: out-of-place or in-place."""

    time_us: float
    algbw: float
    busbw: float
    wrong: int | None  # None: "N/A" (validation off) or the old format's error magnitude
    error: float | None = None  # the pre-2.x ``error`` column, a magnitude

    def to_json(self) -> dict:
        out = {"time_us": self.time_us, "algbw": self.algbw, "busbw": self.busbw, "wrong": self.wrong}
        if self.error is not None:
            out["error"] = self.error
        return out


@attrs.frozen
class Row:
    size: int
    count: int
    type: str
    redop: str | None
    root: int | None
    out_of_place: Side | None
    in_place: Side | None

    def sides(self) -> tuple[Side, ...]:
        return tuple(s for s in (self.out_of_place, self.in_place) if s is not None)

    def busbw(self) -> float:
        return max(s.busbw for s in self.sides())

    def to_json(self) -> dict:
        return {
            "size": self.size, "count": self.count, "type": self.type, "redop": self.redop,
            "root": self.root,
            "out_of_place": self.out_of_place.to_json() if self.out_of_place else None,
            "in_place": self.in_place.to_json() if self.in_place else None,
        }


@attrs.frozen
class TestRun:
    """One test of a log, as read; ``status`` and the summaries derive from it."""

    test: str | None
    ranks: int | None
    gpus: tuple[str, ...]
    rows: tuple[Row, ...]
    avg_busbw: float | None
    out_of_bounds: int | None
    crashed: bool
    footer: bool
    errors: tuple[str, ...]
    version: str | None = None
    hosts: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()

    @property
    def wrong(self) -> int:
        return sum(s.wrong or 0 for r in self.rows for s in r.sides())

    @property
    def status(self) -> str:
        if self.wrong > 0 or (self.out_of_bounds or 0) > 0:
            return "corrupt"
        if self.crashed:
            return "crashed"
        if not self.rows or not self.footer:
            return "incomplete"
        return "ok"

    @property
    def peak_busbw(self) -> float | None:
        return max((r.busbw() for r in self.rows), default=None)

    @property
    def largest(self) -> Row | None:
        return max(self.rows, key=lambda r: r.size, default=None)

    def to_json(self) -> dict:
        largest = self.largest
        return {
            "status": self.status,
            "test": self.test,
            "ranks": self.ranks,
            "gpus": list(self.gpus),
            "rows": [r.to_json() for r in self.rows],
            "peak_busbw": self.peak_busbw,
            "largest": {"size": largest.size, "busbw": largest.busbw()} if largest else None,
            "avg_busbw": self.avg_busbw,
            "wrong": self.wrong,
            "out_of_bounds": self.out_of_bounds,
            "errors": list(self.errors),
            "version": self.version,
            "hosts": list(self.hosts),
            "networks": list(self.networks),
        }


@attrs.frozen
class Layout:
    """Where the columns of a row are, from its header (or guessed from a row's width)."""

    prefix: tuple[str, ...]  # e.g. ("size", "count", "type", "redop", "root")
    side_width: int  # columns per side: 4, or 8 with per-iteration stats
    wrong_kind: str  # "count" (#wrong) or "error" (old magnitude column)

    @property
    def width(self) -> int:
        return len(self.prefix) + 2 * self.side_width


_NEW = Layout(("size", "count", "type", "redop", "root"), 4, "count")
_OLD = Layout(("size", "count", "type", "redop"), 4, "error")


def header_layout(tokens: list[str]) -> Layout | None:
    """The layout a ``size count type …`` header line announces, or None if it is not one."""
    lowered = [t.lower() for t in tokens]
    if "size" not in lowered or "count" not in lowered or "busbw" not in lowered:
        return None
    times = [i for i, t in enumerate(lowered) if t in _TIME_HEADS]
    if not times:
        return None
    prefix = tuple(lowered[lowered.index("size"):times[0]])
    if len(times) >= 2:
        side_width = times[1] - times[0]
    else:
        side_width = 4
    side = lowered[times[0]:times[0] + side_width]
    wrong_kind = "error" if any(t in ("error", "#error") for t in side) else "count"
    if side_width < 3 or not set(prefix) >= {"size", "count"}:
        return None
    return Layout(prefix, side_width, wrong_kind)


def strip_prefix(line: str) -> str:
    for pattern in _PREFIXES:
        m = pattern.match(line)
        if m:
            return line[m.end():]
    return line


def _float(text: str) -> float | None:
    if not _NUM.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _side(cells: list[str], layout: Layout) -> Side | None:
    time_us, algbw, busbw = (_float(c) for c in cells[:3])
    if time_us is None or algbw is None or busbw is None:
        return None
    cell = cells[3] if len(cells) > 3 else "N/A"
    wrong: int | None = None
    error: float | None = None
    if cell.upper() != "N/A":
        value = _float(cell)
        if value is None or value < 0:
            return None
        if layout.wrong_kind == "error":
            error = value
        else:
            wrong = int(value)  # %6g: large counts print as 1e+06
    return Side(time_us, algbw, busbw, wrong, error)


def parse_row(tokens: list[str], layout: Layout) -> Row | None:
    """A row of the table, or None if the tokens do not make one in ``layout``."""
    if len(tokens) < layout.width:
        return None
    named = dict(zip(layout.prefix, tokens))
    size, count = named.get("size", ""), named.get("count", "")
    if not _INT.fullmatch(size) or not _INT.fullmatch(count):
        return None
    root = named.get("root")
    if root is not None and not re.fullmatch(r"-?[0-9]{1,10}", root):
        return None
    rest = tokens[len(layout.prefix):]
    sides = []
    for i in range(2):
        cells = rest[i * layout.side_width:(i + 1) * layout.side_width]
        side = _side(cells, layout)
        if side is None:
            return None
        sides.append(side)
    return Row(int(size), int(count), named.get("type", ""), named.get("redop"),
               int(root) if root is not None else None, sides[0], sides[1])


def _guess_layout(tokens: list[str]) -> Layout | None:
    """A row seen before any header (the header was cut off): guess from its width."""
    for layout in (_NEW, _OLD):
        if len(tokens) == layout.width and parse_row(tokens, layout) is not None:
            return layout
    return None


class _Builder:
    """Accumulates one test while lines arrive."""

    def __init__(self) -> None:
        self.test: str | None = None
        self.version: str | None = None
        self.ranks: dict[int, str] = {}
        self.hosts: set[str] = set()
        self.networks: set[str] = set()
        self.nranks: int | None = None
        self.rows: list[Row] = []
        self.avg: float | None = None
        self.oob: int | None = None
        self.crashed = False
        self.footer = False
        self.concluded = False
        self.layout: Layout | None = None
        self.errors: list[str] = []
        self.dropped_rows = 0

    def started(self) -> bool:
        """Has this test's table begun? A new preamble line then starts another test."""
        return bool(self.rows or self.footer or self.concluded or self.crashed or self.layout)

    def touched(self) -> bool:
        return self.started() or bool(self.ranks or self.test or self.version or self.errors)

    def error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)

    def build(self) -> TestRun:
        ranks = None
        if self.ranks:
            ranks = max(self.ranks) + 1
        elif self.nranks is not None:
            ranks = self.nranks
        errors = list(self.errors)
        if self.dropped_rows:
            errors.append(f"{self.dropped_rows} row(s) beyond the first {MAX_ROWS} ignored")
        if not self.rows and not self.crashed:
            errors.append("no result rows")
        elif not self.footer and not self.crashed:
            errors.append("no footer (# Out of bounds values): the run stopped or the log was cut")
        return TestRun(
            test=self.test, ranks=ranks, gpus=tuple(sorted(set(self.ranks.values()))),
            rows=tuple(self.rows), avg_busbw=self.avg, out_of_bounds=self.oob, crashed=self.crashed,
            footer=self.footer, errors=tuple(errors), version=self.version,
            hosts=tuple(sorted(self.hosts)), networks=tuple(sorted(self.networks)),
        )


def _test_name(program: str) -> str:
    name = program.rsplit("/", 1)[-1]
    for suffix in ("_mpi", "_perf"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def parse_log(text: str) -> list[TestRun]:
    """Every test in an nccl-tests log, in order. Never raises on text."""
    tests: list[TestRun] = []
    current = _Builder()

    def new_test() -> None:
        nonlocal current
        if current.touched() and len(tests) < MAX_TESTS:
            tests.append(current.build())
        current = _Builder()

    for number, raw in enumerate(text.splitlines(), 1):
        if len(raw) > MAX_LINE:
            current.error(f"line {number}: longer than {MAX_LINE} characters, skipped")
            continue
        line = strip_prefix(raw.replace("\t", " ").rstrip("\r"))
        stripped = line.strip()
        if not stripped:
            continue
        if _NCCL_LOG.search(line):
            m = _NRANKS.search(line)
            if m:
                current.nranks = int(m.group(1))
            m = _NETWORK.search(line)
            if m:
                current.networks.add(m.group(1))
            if "NCCL WARN" in line:
                current.error(f"line {number}: {stripped[:300]}")
            continue
        if _FAILURE.search(line):
            current.crashed = True
            current.error(f"line {number}: {stripped[:300]}")
            continue
        m = _VERSION.match(stripped)
        if m:
            if current.started():
                new_test()
            current.version = m.group(1)
            continue
        m = _STARTING.match(stripped)
        if m:
            if current.started():
                new_test()
            current.test = _test_name(m.group(1))
            continue
        if stripped.startswith("# nThread") or stripped.startswith("#nThread"):
            if current.started():
                new_test()
            continue
        if _CONCLUDED.match(stripped):
            current.concluded = True
            continue
        m = _OOB.match(stripped)
        if m:
            current.oob = int(m.group(1))
            current.footer = True
            continue
        m = _AVG.match(stripped)
        if m:
            current.avg = _float(m.group(1))
            current.footer = True
            continue
        m = _DEVICE.match(stripped)
        if m:
            if current.rows or current.footer:
                new_test()
            current.ranks[int(m.group(1))] = m.group(3)
            current.hosts.add(m.group(2))
            continue
        tokens = stripped.lstrip("#").split()
        layout = header_layout(tokens)
        if layout is not None:
            if current.rows or current.footer:
                new_test()
            current.layout = layout
            continue
        if stripped.startswith("#") or not tokens or not _INT.fullmatch(tokens[0]):
            continue  # comments, units line, launcher noise
        layout = current.layout or _guess_layout(tokens)
        row = parse_row(tokens, layout) if layout else None
        if row is None:
            current.error(f"line {number}: unreadable result row: {stripped[:200]}")
            continue
        if current.footer:  # rows after a footer without a new header: another test
            new_test()
            current.layout = layout
        if current.layout is None:
            current.layout = layout
        if len(current.rows) < MAX_ROWS:
            current.rows.append(row)
        else:
            current.dropped_rows += 1
    if current.touched() or not tests:
        if len(tests) < MAX_TESTS:
            tests.append(current.build())
    return tests


def parse_logs(sources: Iterable[tuple[str, str]]) -> list[dict]:
    """[(name, text)] -> the JSON-ready list ``eidos fabric parse`` prints."""
    return [{"source": name, "tests": [t.to_json() for t in parse_log(text)]} for name, text in sources]
