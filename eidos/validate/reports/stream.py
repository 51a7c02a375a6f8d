"""Reports written as the fleet is validated: memory flat in the number of nodes.

For ``table``, ``json`` and ``html`` the fleet path (:func:`eidos.validate.fleet.run_nodes`)
hands each node, in the worker that validated it, to ``_Reduce``: a small ``NodeSummary``
plus, where the format has per-node detail, that node's text already rendered. The parent
folds the summaries and appends the texts to a spool file; at the end it writes the summary
and copies the spool behind it. So the summary comes first (what a person reads first, and
where ``-o json`` always had it) while nothing but the summary is held in memory.

``-o json`` is byte-for-byte the document :mod:`eidos.validate.reports.document` renders
from an in-memory ``Report``. ``-o table`` on one snapshot is the per-node report it always
was; on a fleet it is the fleet summary, with each node's section after it on ``--verbose``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager
from typing import IO, Callable, Iterator

import attrs

from eidos.errors import EidosError, EnvironmentFailure
from eidos.validate.reports.summary import FleetSummary, summarize

STREAMED = ("table", "json", "html")
_NODES_MARK = "\x00eidos-nodes\x00"


@attrs.frozen
class _Reduce:
    """NodeResult -> (NodeSummary, rendered detail or None); runs in the workers."""

    fmt: str
    fail_on: str
    allow_errors: bool
    detail: bool
    color: bool = False
    width: int = 100
    verbose: bool = False
    explain: bool = False

    def __call__(self, n):
        summary = summarize(n, self.fail_on, self.allow_errors, cells=self.fmt == "html")
        piece = None
        if self.fmt == "json":
            from eidos.io import yamlio
            from eidos.validate.reports.document import node_document

            from eidos.validate.reports import jsontext

            doc = node_document(n)
            try:  # an entry of "nodes": two levels deep in the report document
                piece = "    " + jsontext.dumps(doc, level=2)
            except ValueError:
                yamlio.dump_json(doc)  # raises the located InputError (a value JSON cannot hold)
                raise
        elif self.fmt == "table" and self.detail:
            from eidos.validate.reports import table

            piece = table.to_text(table.node_lines(n, width=self.width, verbose=self.verbose,
                                                   explain=self.explain), color=self.color)
        return summary, piece


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

    detail = fmt == "json" or (fmt == "table" and (verbose or explain))
    reduce = _Reduce(fmt, fail_on, allow_errors, detail, color=color, width=width, verbose=verbose,
                     explain=explain)
    summary = FleetSummary(fail_on, allow_errors, recipe.source if recipe else None, heat_map=fmt == "html")
    total = len(sources)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        outcomes = run_nodes(graph, sources, flag_facts=flag_facts, recipe=recipe, selection=selection,
                             explain=explain, loader=loader, per_node=reduce, jobs=jobs)
        first = True
        for i, outcome in enumerate(outcomes, 1):
            if progress is not None:
                progress(i, total, outcome.source)
            if outcome.error is not None:
                if on_error is None:
                    raise outcome.error
                on_error(outcome.source, outcome.error)
                summary.add_unreadable(outcome.source, unreadable_reason(outcome.source, outcome.error))
                continue
            node, piece = outcome.value
            summary.add(node)
            if piece is not None:
                if fmt == "json" and not first:
                    spool.write(",\n")
                spool.write(piece)
                first = False
        spool.seek(0)
        with _sink(destination) as out:
            if fmt == "json":
                _write_json(out, summary, spool)
            elif fmt == "html":
                from eidos.validate.reports.html import render_html

                out.write(render_html(summary))
            else:
                from eidos.validate.reports.fleet_table import summary_text

                out.write(summary_text(summary, width=width, color=color, detail=verbose or explain))
                shutil.copyfileobj(spool, out)
    return summary


def _write_json(out: IO[str], s: FleetSummary, spool: IO[str]) -> None:
    """The ValidationReport document, ``nodes`` copied from the spool (see document.document)."""
    from eidos import __version__
    from eidos.engine.recipe import API_VERSION
    from eidos.io import yamlio

    doc: dict = {"apiVersion": API_VERSION, "kind": "ValidationReport",
                 "metadata": {"generator": f"eidos {__version__}"}}
    if s.recipe_source:
        doc["recipe"] = s.recipe_source
    doc["failOn"] = s.fail_on
    doc["allowErrors"] = s.allow_errors
    doc["summary"] = {"status": s.status, "exitCode": s.exit_code, "nodes": s.nodes,
                      "nodesPassing": s.passing, "verdicts": s.verdict_counts()}
    doc["nodes"] = _NODES_MARK
    if s.nodes > 1:
        doc["failing"] = [{"id": rid, "nodes": where} for rid, where in s.failing_by_rule()]
    if s.unreadable:
        doc["unreadable"] = [{"snapshot": src, "reason": why} for src, why in s.unreadable]
    head, mark, tail = yamlio.dump_json(doc).partition(json.dumps(_NODES_MARK, ensure_ascii=False))
    assert mark, "the nodes mark is in the document"
    out.write(head)
    if not s.nodes:
        out.write("[]")
    else:
        out.write("[\n")
        shutil.copyfileobj(spool, out)
        out.write("\n  ]")
    out.write(tail)
