"""Reports written as the fleet is validated: memory flat in the number of nodes.

The fleet path (:func:`eidos.validate.fleet.run_nodes`) hands each node, in the worker that
validated it, to ``_Reduce``: a small ``NodeSummary`` plus, where the format has per-node
detail, that node's part of the report already rendered (UTF-8 bytes). The parent folds the
summaries and appends the parts to spool files; at the end it writes the head of the report
(the summary, totals, exit code) and copies the spools into place. So the summary comes
first (what a person reads first, and where ``-o json`` always had it) while nothing but
the summary is held in memory.

``json``, ``yaml``, ``junit``, ``ctrf`` and ``sarif`` (:mod:`eidos.validate.reports.fleetdocs`)
are byte-for-byte the documents their renderers make from an in-memory ``Report``, for any
``--jobs``. ``-o table`` on one snapshot is the per-node report it always was; on a fleet it
is the fleet summary, with each node's section after it on ``--verbose``; ``html`` holds
only the summary and the heat map.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from typing import IO, Callable, Iterator

import attrs

from eidos.errors import EidosError, EnvironmentFailure
from eidos.validate.reports.summary import FleetSummary, summarize

STREAMED = ("table", "json", "yaml", "junit", "ctrf", "sarif", "html")


@attrs.frozen
class _Reduce:
    """NodeResult -> (NodeSummary, rendered piece or None, the piece's numbers); runs in the workers."""

    fmt: str
    fail_on: str
    allow_errors: bool
    detail: bool
    color: bool = False
    width: int = 100
    verbose: bool = False
    explain: bool = False
    # what a format's pieces need to know of the run (ctrf: more than one node?), and what
    # one process remembers between its nodes (sarif: the rules it described already)
    state: dict = attrs.field(factory=dict, eq=False)

    def __call__(self, n):
        from eidos.validate.reports.fleetdocs import FORMATS

        summary = summarize(n, self.fail_on, self.allow_errors, cells=self.fmt == "html")
        piece, extra = None, None
        if self.fmt in FORMATS:
            from eidos.validate.verdicts import Report

            piece, extra = FORMATS[self.fmt].piece(Report((), self.fail_on, self.allow_errors), n, self.state)
        elif self.fmt == "table" and self.detail:
            from eidos.validate.reports import table

            piece = table.to_text(table.node_lines(n, width=self.width, verbose=self.verbose,
                                                   explain=self.explain), color=self.color).encode("utf-8")
        return summary, piece, extra


@contextmanager
def _sink(destination: str | None) -> Iterator[IO[str]]:
    """stdout, or a regular file replaced atomically once everything is written (as ``emit``
    does); anything else the user names goes through ``emit`` itself."""
    if destination in (None, "-"):
        yield sys.stdout
        sys.stdout.flush()
        return
    from eidos.io.output import _new_file_mode

    target = os.path.abspath(destination)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        mode = _new_file_mode()
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {destination}: {err.strerror or err}") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            # /dev/stdout, a FIFO, /dev/null, or something eidos refuses to replace (a symlink,
            # a directory): the ordinary writer's rules, on the report held in memory
            import io

            from eidos.io.output import emit

            buffer = io.StringIO()
            yield buffer
            emit(buffer.getvalue(), destination)
            return
        mode = stat.S_IMODE(st.st_mode)
    directory = os.path.dirname(target)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {destination}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {destination}: {err.strerror or err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_fleet(graph, sources: list[str], fmt: str, destination: str | None, *, flag_facts=None,
                recipe=None, fail_on: str = "error", allow_errors: bool = False, selection=None,
                explain: bool = False, loader=None, progress: Callable | None = None,
                on_error: Callable[[str, EidosError], None] | None = None, jobs: int | None = None,
                color: bool = False, width: int = 100, verbose: bool = False) -> FleetSummary:
    """Validate ``sources`` on every core and write the ``fmt`` report to ``destination``."""
    from eidos.validate.fleet import run_nodes, unreadable_reason
    from eidos.validate.reports.fleetdocs import FORMATS, Spool

    detail = fmt in FORMATS or (fmt == "table" and (verbose or explain))
    reduce = _Reduce(fmt, fail_on, allow_errors, detail, color=color, width=width, verbose=verbose,
                     explain=explain, state={"multi": len(sources) > 1})
    options = dict(flag_facts=flag_facts, recipe=recipe, selection=selection, explain=explain, loader=loader)

    def fold(outcomes, summary, assembler, spool, first_readable):
        for i, outcome in enumerate(outcomes, 1):
            if progress is not None:
                progress(i, total, outcome.source)
            if outcome.error is not None:
                if on_error is None:
                    raise outcome.error
                on_error(outcome.source, outcome.error)
                summary.add_unreadable(outcome.source, unreadable_reason(outcome.source, outcome.error))
                continue
            node, piece, extra = outcome.value
            summary.add(node)
            if not first_readable:
                first_readable.append(outcome.source)
            if assembler is not None:
                assembler.add(piece, extra)
            elif piece is not None:
                spool.add(piece)

    summary = FleetSummary(fail_on, allow_errors, recipe.source if recipe else None, heat_map=fmt == "html")
    total = len(sources)
    assembler = FORMATS[fmt]() if fmt in FORMATS else None
    spool = Spool(b"")
    first_readable: list[str] = []
    try:
        fold(run_nodes(graph, sources, per_node=reduce, jobs=jobs, **options), summary, assembler, spool,
             first_readable)
        if fmt == "ctrf" and summary.nodes == 1 and reduce.state["multi"]:
            # one node was readable of several sources: its tests are named as a single node's
            assembler.close()
            assembler = FORMATS[fmt]()
            single = attrs.evolve(reduce, state={"multi": False})
            for outcome in run_nodes(graph, first_readable, per_node=single, jobs=1, **options):
                if outcome.error is not None:  # changed since it was read a moment ago
                    raise outcome.error
                assembler.add(*outcome.value[1:])
        with _sink(destination) as out:
            if assembler is not None:
                assembler.write(out, summary)
            elif fmt == "html":
                from eidos.validate.reports.html import render_html

                out.write(render_html(summary))
            else:
                from eidos.validate.reports.fleet_table import summary_text

                out.write(summary_text(summary, width=width, color=color, detail=verbose or explain))
                spool.copy_to(out)
    finally:
        spool.close()
        if assembler is not None:
            assembler.close()
    return summary
