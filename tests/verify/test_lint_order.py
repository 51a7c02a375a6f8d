"""``eidos lint --charts``: a deployment order that installs an object before its CRD is E408."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("helm_python", reason="lint --charts needs helm-python-sdk (the verify extra)")
pytest.importorskip("kubernetes_validate")

from eidos.cli.main import main  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CHARTS = FIXTURES / "charts"
JANUARY = FIXTURES / "verify" / "january"
H100 = {"service": "eks", "accelerator": "h100", "intent": "inference", "os": "ubuntu"}


@pytest.fixture
def one_recipe(monkeypatch):
    """Lint's matrix, cut to the H100 recipe: rendering every recipe takes a minute."""
    from eidos import engine
    from eidos.verify import cells

    def h100_only(graph):
        return [("h100-inference", engine.resolve(graph, H100, explain=True), ("h100",))]

    monkeypatch.setattr(cells, "recipe_cells", h100_only)


def test_january_cert_manager_servicemonitor_is_e408(one_recipe, capsys):
    assert main(["lint", str(JANUARY), "--charts", str(CHARTS), "--no-matrix"]) == 1
    out = capsys.readouterr().out
    [line] = [ln for ln in out.splitlines() if "E408" in ln]
    assert line.startswith(f"{JANUARY}/recipes/components/cert-manager/values.yaml:30:1: error[E408]")
    assert "ServiceMonitor" in line and "prometheus" in line
    assert "make cert-manager need prometheus" in out


def test_shipped_rules_have_no_order_hazard(one_recipe, capsys):
    assert main(["lint", "--charts", str(CHARTS), "--no-matrix"]) == 0
    assert "E408" not in capsys.readouterr().out


def test_lint_without_charts_does_not_render(monkeypatch, capsys):
    import eidos.verify.lintorder as lintorder

    monkeypatch.setattr(lintorder, "order_diagnostics", lambda *a: pytest.fail("rendered without --charts"))
    assert main(["lint", "--no-matrix"]) == 0
