"""Every report format streamed: per-node pieces made in the workers, framed in the parent.

Each format's document is, in the order people and tools read it, a head that depends on
the whole fleet (counts, totals, the exit code), then one list of per-node entries, then a
little more. The workers render each node's entries (``piece``: UTF-8 bytes, already
indented for where they stand) and a few numbers (``extra``) the head needs; the parent
appends the pieces to a temporary file (:class:`Spool`) and folds the numbers. At the end it
renders the head and tail around placeholders with the format's own code and copies the
spool in between, so nothing per node is held in memory and the bytes are those of the
in-memory renderers (:mod:`eidos.validate.reports`; tests/validate/test_fleet_stream.py
compares them for every format and any ``--jobs``).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from typing import IO, Any

from eidos.validate.reports import jsontext

# Placeholders in the rendered text, never in the output. A per-run nonce (the workers fork
# from the parent after this import, so they share it) keeps a snapshot string from
# imitating one.
_NONCE = secrets.token_hex(8)
_MARK = "\x00eidos-{}-" + _NONCE + "\x00"
_RULE_INDEX = _MARK.format("rule-index")  # SARIF ruleIndex, known only in the parent


def mark(name: str) -> str:
    return _MARK.format(name)


def _json_mark(name: str) -> str:
    return json.dumps(mark(name), ensure_ascii=False)


def items_text(items, level: int, *, strict: bool = True) -> str:
    """List items as they stand in an ``indent=2`` JSON document at ``level``, joined by
    ``,\\n``. ``strict``: a non-finite number raises (``allow_nan=False``), else it is
    written as ``json.dumps`` does (``Infinity``)."""
    pad = "  " * level
    out = []
    for item in items:
        try:
            text = jsontext.dumps(item, level=level)
        except ValueError:
            if strict:
                raise
            text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)
        out.append(pad + text)
    return ",\n".join(out)


class Spool:
    """One streamed list: pieces appended to a temporary binary file, ``separator`` between."""

    def __init__(self, separator: bytes = b",\n"):
        self.file = tempfile.TemporaryFile("w+b")
        self.separator = separator
        self.count = 0

    def add(self, piece: bytes) -> None:
        if not piece:
            return
        if self.count:
            self.file.write(self.separator)
        self.file.write(piece)
        self.count += 1

    def copy_to(self, out: IO[str]) -> None:
        """Append the spool to the text stream ``out`` (its bytes as they are, when it has them)."""
        self.file.flush()
        self.file.seek(0)
        buffer = getattr(out, "buffer", None)
        if buffer is None:  # an in-memory sink
            out.write(self.file.read().decode("utf-8"))
            return
        out.flush()
        shutil.copyfileobj(self.file, buffer, 1 << 16)  # a small buffer: memory flat
        buffer.flush()

    def close(self) -> None:
        self.file.close()


def splice_json(out: IO[str], frame: str, lists: dict[str, Spool]) -> None:
    """Write ``frame`` (an ``indent=2`` JSON text where each streamed list is ``[mark(name)]``)
    with each list's spool in place of its mark, ``[]`` for an empty one."""
    placed = sorted(lists, key=lambda name: frame.index(_json_mark(name)))
    rest = frame
    for name in placed:
        before, found, after = rest.partition(_json_mark(name))
        assert found, name
        pad = before[len(before.rstrip(" ")):]
        head = before[:len(before) - len(pad)]
        closing = "\n" + pad[2:] + "]"
        assert head.endswith("[\n") and after.startswith(closing), name
        spool = lists[name]
        if not spool.count:
            out.write(head[:-2] + "[]")
        else:
            out.write(head)
            spool.copy_to(out)
            out.write(closing)
        rest = after[len(closing):]
    out.write(rest)


# ---- the formats: piece (in a worker) and frame (in the parent) ---------------------------


class JsonReport:
    """``-o json``: the ValidationReport document, ``nodes`` streamed."""

    level = 2

    def __init__(self):
        self.nodes = Spool()

    @classmethod
    def piece(cls, judge, n, state) -> tuple[bytes, Any]:
        from eidos.io import yamlio
        from eidos.validate.reports.document import node_document

        doc = node_document(n)
        try:
            text = items_text([doc], cls.level)
        except ValueError:
            yamlio.dump_json(doc)  # raises the located InputError (a value JSON cannot hold)
            raise
        return text.encode("utf-8"), None

    def add(self, piece: bytes, extra) -> None:
        self.nodes.add(piece)

    def write(self, out: IO[str], s) -> None:
        from eidos.io import yamlio

        splice_json(out, yamlio.dump_json(_report_document(s, [mark("nodes")])), {"nodes": self.nodes})

    def close(self) -> None:
        self.nodes.close()


class YamlReport(JsonReport):
    """``-o yaml``: the same document in YAML, each node's entry dumped on its own."""

    def __init__(self):
        self.nodes = Spool(b"")

    @classmethod
    def piece(cls, judge, n, state) -> tuple[bytes, Any]:
        from eidos.io import yamlio
        from eidos.validate.reports.document import node_document

        text = yamlio.dump({"nodes": [node_document(n)]})
        head, _, entry = text.partition("\n")
        assert head == "nodes:", head
        return entry.encode("utf-8"), None

    def write(self, out: IO[str], s) -> None:
        from eidos.io import yamlio

        frame = yamlio.dump(_report_document(s, mark("nodes")))
        lines = frame.split("\n")
        at = next(i for i, line in enumerate(lines) if line.startswith("nodes: ") and "eidos-nodes" in line)
        if not self.nodes.count:
            lines[at] = "nodes: []"
            out.write("\n".join(lines))
            return
        out.write("\n".join(lines[:at]) + "\nnodes:\n")
        self.nodes.copy_to(out)
        out.write("\n".join(lines[at + 1:]))


def _report_document(s, nodes) -> dict:
    """The ValidationReport document (as :func:`document.document`) from the fleet summary."""
    from eidos import __version__
    from eidos.engine.recipe import API_VERSION

    doc: dict = {"apiVersion": API_VERSION, "kind": "ValidationReport",
                 "metadata": {"generator": f"eidos {__version__}"}}
    if s.recipe_source:
        doc["recipe"] = s.recipe_source
    doc["failOn"] = s.fail_on
    doc["allowErrors"] = s.allow_errors
    doc["summary"] = {"status": s.status, "exitCode": s.exit_code, "nodes": s.nodes,
                      "nodesPassing": s.passing, "verdicts": s.verdict_counts()}
    doc["nodes"] = nodes
    if s.nodes > 1:
        doc["failing"] = [{"id": rid, "nodes": where} for rid, where in s.failing_by_rule()]
    if s.unreadable:
        doc["unreadable"] = [{"snapshot": src, "reason": why} for src, why in s.unreadable]
    return doc


class JunitReport:
    """``-o junit``: one ``<testsuite>`` per node; the totals go on ``<testsuites>``."""

    def __init__(self):
        self.suites = Spool(b"\n")
        self.totals = [0, 0, 0, 0]

    @staticmethod
    def piece(judge, n, state) -> tuple[bytes, Any]:
        from eidos.validate.reports import junit

        c = junit.counts(judge, n.verdicts)
        extra = (int(c["tests"]), int(c["failures"]), int(c["errors"]), int(c["skipped"]))
        return ("  " + junit.suite_text(judge, n)).encode("utf-8"), extra

    def add(self, piece: bytes, extra) -> None:
        self.suites.add(piece)
        self.totals = [a + b for a, b in zip(self.totals, extra)]

    def write(self, out: IO[str], s) -> None:
        from eidos.validate.reports import junit

        tests, failures, errors, skipped = self.totals
        totals = {"tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": str(skipped),
                  "time": "0"}
        out.write(junit.head(totals, empty=not self.suites.count))
        if self.suites.count:
            out.write("\n")
            self.suites.copy_to(out)
            out.write("\n</testsuites>")
        out.write("\n")

    def close(self) -> None:
        self.suites.close()


class CtrfReport:
    """``-o ctrf``: one test per node and verdict."""

    level = 3

    def __init__(self):
        from eidos.validate.reports.ctrf import COUNTED

        self.tests = Spool()
        self.counts = dict.fromkeys(COUNTED, 0)
        self.first: int | None = None
        self.last: int | None = None

    @classmethod
    def piece(cls, judge, n, state) -> tuple[bytes, Any]:
        from eidos.validate.reports import epoch_ms
        from eidos.validate.reports.ctrf import COUNTED, test_doc

        tests = [test_doc(judge, n, v, state["multi"]) for v in n.verdicts]
        counts = tuple(sum(1 for t in tests if t["status"] == c) for c in COUNTED)
        return items_text(tests, cls.level, strict=False).encode("utf-8"), (counts, epoch_ms(n.timestamp))

    def add(self, piece: bytes, extra) -> None:
        counts, ms = extra
        self.tests.add(piece)
        for key, c in zip(self.counts, counts):
            self.counts[key] += c
        if ms is not None:
            self.first = ms if self.first is None else min(self.first, ms)
            self.last = ms if self.last is None else max(self.last, ms)

    def write(self, out: IO[str], s) -> None:
        from eidos.validate.reports import ctrf

        stamps = [] if self.first is None else [self.first, self.last]
        doc = ctrf.document([mark("tests")], dict(self.counts), s.nodes, stamps, s.fail_on, s.allow_errors,
                            s.exit_code)
        splice_json(out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", {"tests": self.tests})

    def close(self) -> None:
        self.tests.close()


class SarifReport:
    """``-o sarif``: a result per node and verdict; rules (in order of first appearance) and
    the notifications of ``error`` verdicts come before the results in the document."""

    results_level = 4
    notifications_level = 6
    rules_level = 6

    def __init__(self):
        self.rules = Spool()
        self.results = Spool()
        self.notifications = Spool()
        self.index: dict[str, int] = {}

    @classmethod
    def piece(cls, judge, n, state) -> tuple[bytes, Any]:
        from eidos.validate.reports.sarif import notification_doc, result_doc, rule_doc

        sent = state.setdefault("rules", set())  # rules this process already described
        rules = []
        for v in n.verdicts:
            if v.id not in sent:
                sent.add(v.id)
                rules.append((v.id, rule_doc(v)))
        text = items_text([result_doc(n, v, _RULE_INDEX) for v in n.verdicts], cls.results_level, strict=False)
        fragments = text.split(_json_mark_text(_RULE_INDEX))
        assert len(fragments) == len(n.verdicts) + 1 or not n.verdicts
        errors = [notification_doc(n, v) for v in n.verdicts if v.status == "error"]
        notes = items_text(errors, cls.notifications_level, strict=False).encode("utf-8")
        return b"", (rules, [v.id for v in n.verdicts], fragments, notes)

    def add(self, piece: bytes, extra) -> None:
        rules, ids, fragments, notes = extra
        for rid, doc in rules:
            if rid not in self.index:
                self.index[rid] = len(self.index)
                self.rules.add(items_text([doc], self.rules_level).encode("utf-8"))
        if ids:
            parts = [fragments[0]]
            for rid, fragment in zip(ids, fragments[1:]):
                parts.append(str(self.index[rid]))
                parts.append(fragment)
            self.results.add("".join(parts).encode("utf-8"))
        self.notifications.add(notes)

    def write(self, out: IO[str], s) -> None:
        from eidos.validate.reports import sarif

        lists = {"rules": self.rules, "results": self.results}
        notifications = []
        if self.notifications.count:
            notifications = [mark("notifications")]
            lists["notifications"] = self.notifications
        doc = sarif.document([mark("rules")], [mark("results")], notifications, not s.counts.get("error"),
                             s.fail_on, s.exit_code)
        splice_json(out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", lists)

    def close(self) -> None:
        for spool in (self.rules, self.results, self.notifications):
            spool.close()


def _json_mark_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


FORMATS = {"json": JsonReport, "yaml": YamlReport, "junit": JunitReport, "ctrf": CtrfReport, "sarif": SarifReport}
