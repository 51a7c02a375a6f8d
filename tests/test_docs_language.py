"""docs/language.md stays true: its ```eidos examples compile against the embedded rule
base, and its operator table names every operator the registry declares."""

from __future__ import annotations

import re

import pytest

from eidos.lang.expr import REGISTRY
from tests.conftest import ROOT, compile_dir, write_rules
from tests.docs_blocks import fenced_blocks

DOC = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")


BLOCKS = [(b.language, b.body) for b in fenced_blocks(ROOT / "docs" / "language.md")]
EXAMPLES = [body for info, body in BLOCKS if info == "eidos"]


def test_the_page_has_runnable_examples():
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_eidos_examples_compile_over_the_embedded_rules(tmp_path, index):
    d = write_rules(tmp_path / "example", {"example.eidos": EXAMPLES[index]})
    graph, diagnostics = compile_dir(d, embedded=True)
    errors = [x.render() for x in diagnostics if x.is_error]
    assert graph is not None and not errors, errors


def test_the_operator_table_lists_every_declared_operator():
    table = DOC[DOC.index("## Expressions"):DOC.index("Operands are **facts**")]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    spelled = set(re.findall(r"`([^`]+)`", " ".join(row.split("|")[2] for row in rows[2:])))
    for kind in REGISTRY:
        for op in kind.ops:
            assert op in spelled, f"{kind.name}: operator {op} is not in docs/language.md"
    assert {"matches", "exists", "in", "not in", "and", "or", "not", "always"} <= spelled


# untagged blocks that show source and the errors it gives (ellipses mark sketches)
ERROR_EXAMPLES = [body for info, body in BLOCKS if not info and "# error[" in body and "…" not in body]


def test_the_page_shows_errors_it_can_back_up():
    assert ERROR_EXAMPLES


@pytest.mark.parametrize("index", range(len(ERROR_EXAMPLES)))
def test_error_examples_give_the_errors_they_show(tmp_path, index):
    block = ERROR_EXAMPLES[index]
    source = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
    claimed = re.findall(r"^# error\[(E\d+)\]: (.*)$", block, re.MULTILINE)
    d = write_rules(tmp_path / "example", {"example.eidos": source})
    _, diagnostics = compile_dir(d)
    got = [(x.code, x.message) for x in diagnostics if x.is_error]
    assert got == claimed
