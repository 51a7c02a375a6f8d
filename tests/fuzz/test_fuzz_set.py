"""``--set COMPONENT:PATH[:TYPE]=VALUE`` strings, as an operator types them into
``eidos bundle``: random text around the syntax's special characters (``: = . [ ] \\``),
real component names and paths, every type, and hostile values.

Contract: the bundle is made and every override reached the values it names with the
type asked for, or the flag is refused with a ``UsageError`` (exit 2) whose message quotes
the flag. Never a traceback, never a hang, never a value that silently lands elsewhere.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos.bundle.build import BundleOptions, make_bundle
from eidos.bundle.values import parse_set
from eidos.errors import UsageError
from tests.fuzz.fuzzkit import bounded, fuzz_settings, outcome


@pytest.fixture(scope="module")
def world():
    from eidos import engine

    graph = engine.load_graph()
    recipe = engine.resolve(graph, {"service": "eks", "accelerator": "h100", "intent": "training"})
    return graph, engine.recipe_document(recipe)


special = st.sampled_from([":", "=", ".", "[", "]", "\\", "0", "-1", "99999999999999999999", " ", "\n", "$(x)"])
word = st.text(alphabet="abcdefgXYZ-_/0123456789", min_size=1, max_size=6)
piece = special | word
component = st.sampled_from(["gpu-operator", "cert-manager", "prometheus", "nope", "GPU-OPERATOR", ""])
path = st.lists(st.sampled_from(["driver", "version", "toolkit", "enabled", "env", "[0]", "[3]", "a\\.b"]) | word,
                min_size=1, max_size=4).map(".".join)
type_ = st.sampled_from(["", ":str", ":int", ":float", ":bool", ":null", ":json", ":bogus"])
value = st.text(max_size=12) | st.sampled_from(["true", "25.10", "1e999", "nan", "{\"a\": [1]}", "[", "0x10", "~"])
structured = st.builds(lambda c, p, t, v: f"{c}:{p}{t}={v}", component, path, type_, value)
soup = st.lists(piece, min_size=1, max_size=10).map("".join)


@fuzz_settings(4)
@given(raw=structured | soup)
def test_parse_set_types_or_refuses(raw):
    with bounded():
        try:
            override = parse_set(raw)
        except UsageError as err:
            assert "--set" in err.message and err.exit_code == 2
            return
    # the component is everything before the first ':'; nothing lands on another component
    assert override.component == raw.partition(":")[0] != ""
    assert "=" in raw


@fuzz_settings(1)
@given(sets=st.lists(structured | soup, min_size=1, max_size=3))
def test_bundle_with_sets_makes_a_bundle_or_refuses(world, sets):
    graph, document = world
    bundle, err = outcome(make_bundle, document, graph.read_payload,
                          BundleOptions(deployer="helm", sets=tuple(sets)), "recipe.yaml")
    if err is not None:
        assert err.exit_code == 2
        return
    assert bundle.files  # something was written for a bundle that was accepted
