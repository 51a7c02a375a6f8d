from __future__ import annotations

import pytest

from tests.conftest import compile_dir, write_rules
from tests.validate.helpers import FACTS


@pytest.fixture
def graph_of(tmp_path):
    """Compile standalone rule text (with a small fact schema) into a graph, or fail loudly."""

    def build(text: str):
        d = write_rules(tmp_path / "rules", {"facts.eidos": FACTS, "rules.eidos": text})
        graph, diags = compile_dir(d)
        assert graph is not None, [x.render() for x in diags]
        return graph

    return build


@pytest.fixture(scope="session")
def embedded_graph():
    from eidos import engine

    return engine.load_graph()
