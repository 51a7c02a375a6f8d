"""Properties that must hold for every rule base, generated from the grammar."""

from __future__ import annotations

import itertools
import shutil

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eidos.io import yamlio
from eidos.engine import recipe_document
from eidos.engine.matcher import Matcher, RecipeError, deployment_order
from tests.conftest import FACTS, compile_dir, write_rules
from tests.grammar_strategies import FACT_VALUES, conditions, requirement

COMPONENTS = ["alpha", "beta", "gamma", "delta"]


@st.composite
def rule_bases(draw):
    """A base overlay plus up to 6 overlays with random conditions, parents and changes.

    Returns the declarations (file text) and, for the oracle, each overlay's
    ``(name, parent, condition text)``.
    """
    decls = [FACTS.strip()]
    decls.append("\n".join(
        f'component {c} {{ helm repo "r" chart "{c}" version "1.{i}.0"'
        + (f" needs {COMPONENTS[i - 1]}" if i and draw(st.booleans()) else "") + " }"
        for i, c in enumerate(COMPONENTS)
    ))
    decls.append("overlay base {\n  when always\n  component alpha\n}")
    names = ["base"]
    shape = [("base", None, "always")]
    for i in range(draw(st.integers(1, 6))):
        name = f"o{i}"
        parent = draw(st.sampled_from(names))
        condition = draw(conditions())
        shape.append((name, parent, condition))
        body = [f"  when {condition}"]
        for _ in range(draw(st.integers(0, 2))):
            body.append("  " + draw(requirement()))
        comp = draw(st.sampled_from(COMPONENTS))
        key = draw(st.sampled_from(["a", "b.c", "b.d"]))
        body.append(f'  component {comp} {{ set {key} = "{name}" }}')
        decls.append(f"overlay {name} extends {parent} {{\n" + "\n".join(body) + "\n}")
        names.append(name)
    return decls, shape


def _compile(tmp_path, decls, order, chunk):
    if tmp_path.exists():
        shutil.rmtree(tmp_path)
    ordered = [decls[i] for i in order]
    files = {f"f{i:02d}.eidos": "\n\n".join(ordered[i:i + chunk]) for i in range(0, len(ordered), chunk)}
    return compile_dir(write_rules(tmp_path, files))


queries = st.fixed_dictionaries({}, optional={f: st.sampled_from(v) for f, v in FACT_VALUES.items()})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(base=rule_bases(), data=st.data())
def test_output_independent_of_file_and_declaration_order(tmp_path, base, data):
    decls, _shape = base
    graph, diags = _compile(tmp_path / "a", decls, list(range(len(decls))), 2)
    assume(graph is not None)  # a generated condition may legitimately be unsatisfiable
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


# -- an oracle for overlay selection that shares no code with eidos --------------------
#
# The generated conditions use a small subset of the language: `fact == v`, `fact != v`,
# `fact in {a, b}`, `fact not in {a, b}`, `(x and y)`, `(x or y)`, `not (x)`, `always`.
# Their meaning, from docs/language.md: a fact the query does not give makes every
# comparison on it unknown; `and`/`or`/`not` are Kleene's three-valued connectives; an
# overlay applies when its own condition is true and its parent applies. Overlays apply
# in the order (distinct facts their chain tests, depth, name).

_TOKEN = re.compile(r"\s*(not in|==|!=|[(){},]|[A-Za-z_][\w-]*)")


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"oracle cannot read {text[pos:]!r}"
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _parse(tokens: list[str]):
    """condition := term (('and'|'or') term)* ; generated text always parenthesises mixes."""
    node, rest = _term(tokens)
    while rest and rest[0] in ("and", "or"):
        op = rest[0]
        right, rest = _term(rest[1:])
        node = (op, node, right)
    return node, rest


def _term(tokens):
    head = tokens[0]
    if head == "(":
        node, rest = _parse(tokens[1:])
        assert rest[0] == ")"
        return node, rest[1:]
    if head == "not" and tokens[1] == "(":
        node, rest = _term(tokens[1:])
        return ("not", node), rest
    if head == "always":
        return ("always",), tokens[1:]
    fact, op = tokens[0], tokens[1]
    if op in ("==", "!="):
        return (op, fact, tokens[2]), tokens[3:]
    if op == "in" or op == "not in":
        end = tokens.index("}")
        values = frozenset(t for t in tokens[3:end] if t != ",")
        return (op, fact, values), tokens[end + 1:]
    raise AssertionError(f"oracle: unexpected {tokens}")


def condition_of(text: str):
    node, rest = _parse(_tokens(text))
    assert not rest, rest
    return node


def truth(node, facts: dict):
    """Kleene logic by hand: True, False or None (unknown)."""
    kind = node[0]
    if kind == "always":
        return True
    if kind == "not":
        inner = truth(node[1], facts)
        return None if inner is None else not inner
    if kind in ("and", "or"):
        a, b = truth(node[1], facts), truth(node[2], facts)
        if kind == "and":
            return False if False in (a, b) else (None if None in (a, b) else True)
        return True if True in (a, b) else (None if None in (a, b) else False)
    fact, want = node[1], node[2]
    if fact not in facts:
        return None
    return {"==": facts[fact] == want, "!=": facts[fact] != want,
            "in": facts[fact] in want, "not in": facts[fact] not in want}[kind]


def facts_of(node) -> set[str]:
    if node[0] == "always":
        return set()
    if node[0] == "not":
        return facts_of(node[1])
    if node[0] in ("and", "or"):
        return facts_of(node[1]) | facts_of(node[2])
    return {node[1]}


def oracle_applied(shape, facts: dict) -> list[str]:
    parent = {name: p for name, p, _ in shape}
    cond = {name: condition_of(text) for name, _, text in shape}

    def chain(name):
        return (chain(parent[name]) if parent[name] else []) + [name]

    applies = [n for n in cond if all(truth(cond[c], facts) is True for c in chain(n))]
    key = {n: (len(set().union(*(facts_of(cond[c]) for c in chain(n)))), len(chain(n)) - 1, n) for n in cond}
    return sorted(applies, key=key.__getitem__)


def test_the_oracle_itself():
    node = condition_of("not ((service == eks or intent in {training, inference}))")
    assert truth(node, {"service": "gke", "intent": "training"}) is False
    assert truth(node, {"service": "gke"}) is None
    assert truth(node, {"service": "gke", "intent": "x"}) is True
    assert truth(condition_of("(os != cos and accelerator not in {h100})"), {"os": "cos"}) is False
    assert facts_of(condition_of("(os != cos and (os == rhel or intent == training))")) == {"os", "intent"}
    shape = [("base", None, "always"), ("a", "base", "service == eks"), ("b", "a", "os == cos"),
             ("c", "base", "(service == eks and os == cos)")]
    assert oracle_applied(shape, {"service": "eks", "os": "cos"}) == ["base", "a", "c", "b"]
    assert oracle_applied(shape, {"os": "cos"}) == ["base"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(base=rule_bases(), data=st.data())
def test_matcher_selects_and_orders_what_the_oracle_says(tmp_path, base, data):
    decls, shape = base
    graph, _ = _compile(tmp_path, decls, list(range(len(decls))), 3)
    assume(graph is not None)  # a generated condition may legitimately be unsatisfiable
    m = Matcher(graph)
    for _ in range(6):
        q = data.draw(queries)
        expected = oracle_applied(shape, q)
        assert [o.name for o in m.applied(q)] == expected
        try:
            recipe = m.resolve(q)
        except RecipeError:
            continue  # a generated `needs` may be missing; selection was checked above
        assert list(recipe.overlays) == expected


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
