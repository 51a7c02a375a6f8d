"""Recipe documents as ``eidos validate --recipe`` and ``eidos bundle --recipe`` read them:
structured mutations of a real recipe and raw text edits. A result or an ``EidosError`` with
a message (exit 2/3), never a traceback or hang; a few runs go through ``main()`` to check
the exit code a user sees."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos.bundle.build import BundleOptions, make_bundle
from eidos.io import yamlio
from tests.conftest import FIXTURES
from tests.fuzz.fuzzkit import bounded, fuzz_settings, outcome

H100 = FIXTURES / "snapshots" / "cns-eks-h100.yaml"


@pytest.fixture(scope="module")
def world():
    from eidos import engine

    graph = engine.load_graph()
    recipe = engine.resolve(graph, {"service": "eks", "accelerator": "h100", "intent": "training"})
    return graph, engine.recipe_document(recipe)


leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["", "v1$(touch pwned)", "a\nb", "K8s.server.version >= 1.30", ">= 1.30", "error", "Recipe"])
)
junk = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _replace(doc, path, value):
    if not path:
        return value
    out = copy.deepcopy(doc)
    target = out
    for seg in path[:-1]:
        target = target[seg]
    target[path[-1]] = value
    return out


def _through_both_readers(graph, text: str) -> None:
    from eidos.validate.recipe_input import load_recipe

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "recipe.yaml")
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        outcome(load_recipe, str(path), graph)
    document, err = outcome(yamlio.load, text, "recipe.yaml")
    if err is None and isinstance(document, dict):
        for deployer in ("helm", "script"):
            outcome(make_bundle, document, graph.read_payload, BundleOptions(deployer=deployer), "recipe.yaml")


@fuzz_settings(1)
@given(data=st.data(), new=junk, as_json=st.booleans())
def test_structured_recipe_mutations(world, data, new, as_json):
    graph, document = world
    paths = list(_paths(document))
    index = data.draw(st.integers(0, len(paths) - 1))
    mutated = _replace(document, paths[index], new)
    text = json.dumps(mutated) if as_json else yamlio.dump(mutated)
    _through_both_readers(graph, text)


@fuzz_settings(1)
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["[", "{", "- ", ": ", "!!python/name:os.system ", "&a ", "*a", "'", "\n  ", "\t", "9" * 4400]) | st.text(max_size=5), st.integers(0, 6)), max_size=4))
def test_recipe_text_edits(world, edits):
    graph, document = world
    text = yamlio.dump(document)
    for where, insert, cut in edits:
        pos = int(where * len(text))
        text = text[:pos] + insert + text[pos + cut:]
    _through_both_readers(graph, text)


@fuzz_settings(0.2)
@given(new=junk, key=st.sampled_from(["criteria", "requirements", "overlays", "kind", "components"]))
def test_recipe_through_the_cli(world, new, key):
    """In-process ``main()``: the exit code is one the docs promise, never 3 for bad input."""
    from eidos.cli.main import main

    graph, document = world
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "recipe.yaml")
        path.write_text(yamlio.dump(_replace(document, (key,), new)))
        code, err = _main(main, ["validate", "--recipe", str(path), "--snapshot", str(H100), "-o", "json"])
        assert code in (0, 1, 2), (code, err)
        assert "internal error" not in err and "Traceback" not in err
        code, err = _main(main, ["bundle", "--recipe", str(path), "-o", str(Path(tmp, "out"))])
        assert code in (0, 2), (code, err)
        assert "internal error" not in err and "Traceback" not in err


def _main(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with bounded(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()
