"""``eidos matrix`` (issue 13, deliverable 4): the coverage table, its axes and formats,
the shared enumeration, and the goldens of the shipped matrix.

Goldens: docs/matrix.md (the section between the BEGIN/END markers is ``eidos matrix -o
markdown``) and tests/golden/matrix-mvp.json (``-o json`` of the issue's 120 MVP cells, one per line). After an intended change to
rules/, regenerate both with ``EIDOS_UPDATE_GOLDEN=1 python -m pytest -q tests/test_matrix.py``
and read the diff. The goldens are written by the code under test, so the hand-checked
expectations below (a tiny rule base whose table is worked out by hand, and cells of the
shipped matrix read off rules/) are what make the tests able to fail.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from eidos.cli.cmd_matrix import Layout, footer
from eidos.engine.coverage import Coverage, matrix_axes
from eidos.engine.fact_space import Axis, combinations, enum_axes, size
from tests.conftest import ROOT, run_eidos
from tests.test_fallback import SMALL

DOC = ROOT / "docs" / "matrix.md"
GOLDEN_JSON = Path(__file__).parent / "golden" / "matrix-mvp.json"
# The 120 MVP cells: {eks, gke, aks, oke, self-managed} x {h100, h200, gb200, b200,
# a100, l40s} x {ubuntu, no os} x {training, inference}, no platform.
MVP = ("--service", "eks,gke,aks,oke,self-managed", "--accelerator", "h100,h200,gb200,b200,a100,l40s",
       "--os", "ubuntu,none", "--intent", "training,inference", "--platform", "none")
BEGIN = "<!-- BEGIN eidos matrix -o markdown"
END = "<!-- END eidos matrix -o markdown -->"
UPDATE = bool(os.environ.get("EIDOS_UPDATE_GOLDEN"))


@pytest.fixture
def small(rules):
    graph, diagnostics = rules(SMALL, with_facts=False)
    assert graph is not None, diagnostics
    return graph


# ---- the shared enumeration ---------------------------------------------------------------

def test_fact_space_has_every_value_and_not_given(small):
    axes = enum_axes(small)
    assert [a.fact for a in axes] == ["accelerator", "intent", "os", "service"]  # enums only, by name
    assert axes[0].values == (None, "h100", "gb200", "a100")
    combos = list(combinations(axes))
    assert size(axes) == len(combos) == 4 * 3 * 3 * 4
    assert combos[0] == {}  # nothing given
    assert {"accelerator": "a100", "intent": "inference", "os": "rhel", "service": "aks"} in combos
    assert len({json.dumps(c, sort_keys=True) for c in combos}) == len(combos)


def test_lint_verify_and_matrix_walk_the_same_space():
    # one enumeration: the modules that walk the space take it from fact_space
    import eidos.engine.lint_matrix as lint_matrix
    import eidos.verify.cells as cells
    from eidos.engine import fact_space

    for module in (lint_matrix, cells):
        assert module.combinations is fact_space.combinations
        assert module.MAX_COMBINATIONS == fact_space.MAX_COMBINATIONS


# ---- a hand-checked table -----------------------------------------------------------------

SMALL_MARKDOWN = """\
### service: eks

| accelerator | os | training | inference |
| --- | --- | --- | --- |
| gb200 | ubuntu | gb200-eks-ubuntu-training | not-gke\\* |
| gb200 | no os | gb200-eks-training | not-gke\\* |

### service: aks

| accelerator | os | training | inference |
| --- | --- | --- | --- |
| gb200 | ubuntu | — | not-gke\\* |
| gb200 | no os | — | not-gke\\* |

8 cells: 2 specific to every given fact, 4 partly specific (\\*), 2 base recipe only (—)

- —: no overlay other than 'when always' applies; \\*: the overlay does not read every fact of the cell (eidos recipe warns; -o json lists them as 'uncovered')
- declared values no overlay is for: accelerator: h100, a100; os: rhel; service: gke
"""


def small_layout(graph, **chosen):
    coverage = Coverage(graph)
    axes = matrix_axes(graph, chosen)
    return Layout(axes, coverage.cells(axes)), coverage


def test_small_matrix_markdown_by_hand(small):
    # eks/gb200/inference: eks (specificity 1) and not-gke (2) apply; not-gke is last and
    # reads no accelerator or os. aks/training: only `base` and `defaults` (when always).
    layout, coverage = small_layout(small, service="eks,aks", accelerator="gb200", os="ubuntu,none")
    assert layout.markdown() + footer(layout, coverage, markdown=True) == SMALL_MARKDOWN


def test_small_matrix_table_and_cells(small):
    layout, coverage = small_layout(small, service="eks", accelerator="gb200,h100", os="ubuntu", intent="training")
    table = layout.table().splitlines()
    assert table[0].split() == ["service", "accelerator", "os", "training"]
    assert table[1].split() == ["eks", "gb200", "ubuntu", "gb200-eks-ubuntu-training"]
    assert table[2].split() == ["eks", "h100", "ubuntu", "eks-training*"]
    cells = {(c.value("accelerator")): c for c in layout.cells}
    assert cells["h100"].to_dict() == {
        "service": "eks", "accelerator": "h100", "os": "ubuntu", "intent": "training",
        "platform": None, "overlay": "eks-training", "uncovered": ["accelerator", "os"],
    }
    assert cells["gb200"].uncovered == ()


def test_default_axes(small):
    axes = {a.fact: a.values for a in matrix_axes(small)}
    # every declared value; "not given" for os (last: a row) and none for service/intent;
    # platform is not declared in this schema, so it is no axis
    assert axes == {"service": ("eks", "gke", "aks"), "accelerator": ("h100", "gb200", "a100"),
                    "os": ("ubuntu", "rhel", None), "intent": ("training", "inference")}


def test_shipped_default_axes_put_no_platform_first():
    from eidos import engine

    axes = {a.fact: a.values for a in matrix_axes(engine.load_graph([]))}
    assert axes["platform"][0] is None and axes["os"][-1] is None
    assert None not in axes["service"] and None not in axes["intent"]


# ---- the command ---------------------------------------------------------------------------

def test_json_is_a_list_of_cells():
    result = run_eidos("matrix", "-o", "json", "--service", "eks", "--accelerator", "gb200",
                       "--os", "ubuntu", "--intent", "training", "--platform", "none")
    assert result.returncode == 0, result.stderr
    (cell,) = json.loads(result.stdout)
    assert cell == {"service": "eks", "accelerator": "gb200", "os": "ubuntu", "intent": "training",
                    "platform": None, "overlay": "gb200-eks-ubuntu-training", "uncovered": []}


@pytest.mark.parametrize("argv, message", [
    (["--service", "ekss"], "did you mean 'eks'?"),
    (["--os", "ubuntu,,rhel"], "empty value"),
    (["--accelerator", "tpu"], "accelerator"),
])
def test_bad_axis_values_exit_2(argv, message):
    result = run_eidos("matrix", *argv)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_axis_aliases_and_not_given():
    result = run_eidos("matrix", "-o", "json", "--service", "vanilla", "--accelerator", "h100",
                       "--os", "none,al2023", "--intent", "none", "--platform", "none")
    cells = json.loads(result.stdout)
    assert [(c["service"], c["os"], c["intent"]) for c in cells] == [
        ("self-managed", None, None), ("self-managed", "amazonlinux2023", None)]


def test_output_is_deterministic_and_fast(tmp_path):
    started = time.monotonic()
    first = run_eidos("matrix", "-o", "json")
    elapsed = time.monotonic() - started
    assert first.returncode == 0
    assert run_eidos("matrix", "-o", "json").stdout == first.stdout
    assert len(json.loads(first.stdout)) > 2000
    assert elapsed < 30  # a process start and ~3,000 cells; about a second on a quiet machine


def test_in_process_walk_is_fast():
    from eidos import engine

    graph = engine.load_graph([])
    coverage = Coverage(graph)
    axes = enum_axes(graph)  # every enum fact, each value and not given: the largest walk
    started = time.monotonic()
    cells = coverage.cells(axes)
    assert len(cells) == size(axes)
    assert time.monotonic() - started < 10


def test_cells_agree_with_full_resolution():
    """The matrix uses the matcher's selection only; a full resolve must give the same
    overlays (sampled: every 7th cell of the shipped matrix)."""
    from eidos import engine

    graph = engine.load_graph([])
    axes = matrix_axes(graph)
    cells = Coverage(graph).cells(axes)
    for cell in cells[::7]:
        facts = {f: v for f, v in cell.facts if v is not None}
        recipe = engine.resolve(graph, facts)
        specific = [o for o in recipe.overlays if graph.overlays[o].condition_text != "always"]
        assert cell.overlay == (specific[-1] if specific else None), facts


# ---- the shipped matrix --------------------------------------------------------------------

def matrix_cells() -> dict:
    result = run_eidos("matrix", "-o", "json")
    assert result.returncode == 0, result.stderr
    return {(c["service"], c["accelerator"], c["os"], c["intent"], c["platform"]): c
            for c in json.loads(result.stdout)}


def test_shipped_cells_read_off_rules():
    """Derived by reading rules/ (eks.eidos, gke.eidos, aks.eidos, oke.eidos, h100.eidos, monitoring.eidos)."""
    cells = matrix_cells()
    # gb200-eks-ubuntu-training: eks -> eks-training -> gb200-eks-training -> os == ubuntu
    assert cells["eks", "gb200", "ubuntu", "training", None]["overlay"] == "gb200-eks-ubuntu-training"
    assert cells["eks", "gb200", "ubuntu", "training", None]["uncovered"] == []
    # the same cell without an OS stops one link earlier
    assert cells["eks", "gb200", None, "training", None]["overlay"] == "gb200-eks-training"
    # gke.eidos: gke-cos (gke + os == cos) and h100-gke-training (gke + accelerator and
    # intent) both apply; the latter reads more facts
    assert cells["gke", "h100", "cos", "training", None]["overlay"] == "h100-gke-training"
    # h100-gke-cos-inference (gke + accelerator, intent -> os == cos) reads four facts;
    # without an OS, h100-gke-inference (three) is the cell's, with nothing uncovered
    assert cells["gke", "h100", "cos", "inference", None]["overlay"] == "h100-gke-cos-inference"
    assert cells["gke", "h100", "cos", "inference", None]["uncovered"] == []
    assert cells["gke", "h100", None, "inference", None]["overlay"] == "h100-gke-inference"
    assert cells["gke", "h100", None, "inference", None]["uncovered"] == []
    # on Ubuntu h100.eidos' h100-inference (three facts, depth 1) applies too; h100-gke-inference
    # (three facts, depth 2) comes later and names the cell, h100-inference covers the os
    assert cells["gke", "h100", "ubuntu", "inference", None]["overlay"] == "h100-gke-inference"
    assert cells["gke", "h100", "ubuntu", "inference", None]["uncovered"] == []
    # eks.eidos h100-eks-inference (eks + accelerator and intent) and h100.eidos
    # h100-inference (accelerator, os, intent) both apply; the later-applied one names it
    assert cells["eks", "h100", "ubuntu", "inference", None]["overlay"] == "h100-eks-inference"
    # aks.eidos: h100-aks-training (aks + accelerator and intent)
    assert cells["aks", "h100", "ubuntu", "training", None]["overlay"] == "h100-aks-training"
    # oke.eidos: h100-oke-training / h100-oke-inference (oke + accelerator and intent). On
    # Ubuntu inference h100-inference (accelerator, os, intent) applies too, with the same
    # specificity; the OKE one extends oke, is deeper, and comes last
    assert cells["oke", "h100", None, "training", None]["overlay"] == "h100-oke-training"
    assert cells["oke", "h100", None, "training", None]["uncovered"] == []
    assert cells["oke", "h100", "ubuntu", "inference", None]["overlay"] == "h100-oke-inference"
    assert cells["oke", "h100", "ubuntu", "inference", None]["uncovered"] == []
    # no other OKE shape has an overlay of its own (docs/matrix.md, "Cells left ...")
    assert cells["oke", "l40s", None, "training", None]["overlay"] == "oke"


def test_docs_matrix_is_the_markdown_output():
    result = run_eidos("matrix", "-o", "markdown")
    assert result.returncode == 0, result.stderr
    text = DOC.read_text(encoding="utf-8")
    head, found = text.split(BEGIN, 1)
    marker_line, rest = found.split("\n", 1)
    section, tail = rest.split(END, 1)
    if UPDATE and section != result.stdout:
        DOC.write_text(head + BEGIN + marker_line + "\n" + result.stdout + END + tail, encoding="utf-8")
        section = result.stdout
    assert section == result.stdout, "docs/matrix.md is stale: EIDOS_UPDATE_GOLDEN=1 pytest tests/test_matrix.py"


def test_golden_json_of_the_mvp_cells():
    result = run_eidos("matrix", "-o", "json", *MVP)
    assert result.returncode == 0, result.stderr
    cells = json.loads(result.stdout)
    assert len(cells) == 120
    lines = "[\n" + ",\n".join(json.dumps(c) for c in cells) + "\n]\n"
    if UPDATE:
        GOLDEN_JSON.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_JSON.write_text(lines, encoding="utf-8")
    assert json.loads(GOLDEN_JSON.read_text(encoding="utf-8")) == cells, \
        "tests/golden/matrix-mvp.json is stale: EIDOS_UPDATE_GOLDEN=1 pytest tests/test_matrix.py"


def test_too_many_cells_is_refused(small, monkeypatch):
    import eidos.engine.coverage as coverage_module
    from eidos.errors import InputError

    monkeypatch.setattr(coverage_module, "MAX_COMBINATIONS", 5)
    with pytest.raises(InputError, match="more than 5"):
        Coverage(small).cells([Axis("service", ("eks", "gke", "aks")), Axis("os", ("ubuntu", "rhel"))])
