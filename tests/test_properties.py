"""Properties that must hold for every rule base, generated from the grammar."""

from __future__ import annotations

import itertools
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.io import yamlio
from eidos.engine import recipe_document
from eidos.lang.expr import compile_closure
from eidos.engine.matcher import Matcher, RecipeError, deployment_order
from eidos.lang.measurements import MISSING
from tests.conftest import FACTS, compile_dir, write_rules
from tests.grammar_strategies import FACT_VALUES, conditions, requirement

COMPONENTS = ["alpha", "beta", "gamma", "delta"]


@st.composite
def rule_bases(draw):
    """A base overlay plus up to 6 overlays with random conditions, parents and changes."""
    decls = [FACTS.strip()]
    decls.append("\n".join(
        f'component {c} {{ helm repo "r" chart "{c}" version "1.{i}.0"'
        + (f" needs {COMPONENTS[i - 1]}" if i and draw(st.booleans()) else "") + " }"
        for i, c in enumerate(COMPONENTS)
    ))
    decls.append("overlay base {\n  when always\n  component alpha\n}")
    names = ["base"]
    for i in range(draw(st.integers(1, 6))):
        name = f"o{i}"
        parent = draw(st.sampled_from(names))
        body = [f"  when {draw(conditions())}"]
        for _ in range(draw(st.integers(0, 2))):
            body.append("  " + draw(requirement()))
        comp = draw(st.sampled_from(COMPONENTS))
        key = draw(st.sampled_from(["a", "b.c", "b.d"]))
        body.append(f'  component {comp} {{ set {key} = "{name}" }}')
        decls.append(f"overlay {name} extends {parent} {{\n" + "\n".join(body) + "\n}")
        names.append(name)
    return decls


def _compile(tmp_path, decls, order, chunk):
    if tmp_path.exists():
        shutil.rmtree(tmp_path)
    ordered = [decls[i] for i in order]
    files = {f"f{i:02d}.eidos": "\n\n".join(ordered[i:i + chunk]) for i in range(0, len(ordered), chunk)}
    return compile_dir(write_rules(tmp_path, files))


queries = st.fixed_dictionaries({}, optional={f: st.sampled_from(v) for f, v in FACT_VALUES.items()})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(decls=rule_bases(), data=st.data())
def test_output_independent_of_file_and_declaration_order(tmp_path, decls, data):
    graph, diags = _compile(tmp_path / "a", decls, list(range(len(decls))), 2)
    if graph is None:
        return  # a generated condition may legitimately be unsatisfiable; nothing to compare
    perm = data.draw(st.permutations(list(range(len(decls)))))
    chunk = data.draw(st.integers(1, 4))
    graph2, _ = _compile(tmp_path / "b", decls, perm, chunk)
    assert graph2 is not None
    for _ in range(4):
        q = data.draw(queries)
        assert _outcome(graph, q) == _outcome(graph2, q)


def _outcome(graph, query) -> str:
    """The recipe document, or the error: both must not depend on declaration order."""
    try:
        return yamlio.dump_json(recipe_document(Matcher(graph).resolve(query)))
    except RecipeError as err:
        return f"error: {err.message}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(decls=rule_bases(), data=st.data())
def test_index_finds_exactly_what_a_full_scan_finds(tmp_path, decls, data):
    graph, _ = _compile(tmp_path, decls, list(range(len(decls))), 3)
    if graph is None:
        return
    m = Matcher(graph)
    for _ in range(6):
        q = data.draw(queries)
        scan = sorted(
            (o for o in graph.overlays.values()
             if compile_closure(o.condition)(lambda op: q.get(op.name, MISSING)) is True),
            key=lambda o: o.order_key,
        )
        assert [o.name for o in m.applied(q)] == [o.name for o in scan]
        # a parent applies whenever its child does
        names = {o.name for o in scan}
        for o in scan:
            assert set(o.chain) <= names


@given(st.data())
def test_deployment_order_respects_needs(data):
    n = data.draw(st.integers(1, 12))
    names = [f"c{i:02d}" for i in data.draw(st.permutations(list(range(n))))]
    needs = {}
    for i, name in enumerate(names):
        needs[name] = tuple(data.draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else ())
    order = deployment_order(needs)
    assert sorted(order) == sorted(names)
    position = {name: i for i, name in enumerate(order)}
    for name, deps in needs.items():
        for d in deps:
            assert position[d] < position[name]
    # ties are broken by name: the first component is the smallest one with no needs
    assert order[0] == min(n for n, d in needs.items() if not d)


def test_deployment_order_is_deterministic_for_every_permutation():
    needs = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ()}
    orders = {tuple(deployment_order(dict(p))) for p in itertools.permutations(needs.items())}
    assert orders == {("a", "b", "c", "d", "e")}
