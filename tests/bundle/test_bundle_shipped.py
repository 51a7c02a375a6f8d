"""The golden bundles are bundles of the shipped gb200 recipe: keep the fixture in step with
the embedded rule base (after an intended rule change, regenerate it with
``eidos recipe --service eks --accelerator gb200 --os ubuntu --intent training -o json``
and the goldens with ``EIDOS_UPDATE_GOLDEN=1 pytest tests/bundle``)."""

from __future__ import annotations

import json

from bundlekit import RECIPE_FILE, load_payloads

from eidos import engine

GB200 = {"service": "eks", "accelerator": "gb200", "os": "ubuntu", "intent": "training"}


def test_recipe_fixture_is_the_shipped_gb200_recipe():
    graph = engine.load_graph([])
    expected = engine.recipe_document(engine.resolve(graph, GB200))
    assert json.loads(RECIPE_FILE.read_text(encoding="utf-8")) == expected


def test_payload_copies_match_the_rule_base():
    graph = engine.load_graph([])
    payloads = load_payloads()
    assert payloads
    for path, text in payloads.items():
        assert graph.read_payload(path) == text, path
