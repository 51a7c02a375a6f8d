"""Fuzzing the language core with token soup that leans on its limits: whatever the text,
parsing, checking, compiling, evaluating, tracing and rendering never raise, never recurse
past the interpreter's limit, and report only located diagnostics."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.lang import ast
from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.expr import Checker, EvalError, FactType, closure, render, trace
from eidos.lang.measurements import MISSING
from eidos.lang.parser import parse_module

FACTS = {"n": FactType("n", "int"), "s": FactType("s", "string"), "e": FactType("e", "enum", ("a", "b")),
         "v": FactType("v", "version"), "f": FactType("f", "float"), "b": FactType("b", "bool")}

TOKENS = [
    "(", ")", "[", "]", "{", "}", ",", "not", "and", "or", "in", "not in", "..", "..<", "==", "!=", ">=", "<",
    "matches", "startswith", "endswith", "contains", "exists", "always", "true", "false", "null",
    "n", "s", "e", "v", "f", "b", "a", "K8s.server.version", "OS.release.ID", "K8s.a[0].b", "1", "-3", "1.30",
    "v1.2.3-rc.1", "1e3", "1e999", "-1.5e999", "9" * 70, "9" * 5000, '"x"', '"\\ud800"', '"\\ud83d\\ude00"',
    '"a{99999999999}"', '"(a+)+$"', '"("', '"\\q"', "\n", "#c\n", "not " * 120, "(" * 120, ")" * 120,
    "[" * 120, "]" * 120,
]
PREFIXES = ["overlay o { when ", "overlay o { when always require ", "component c { set x = ",
            "check c { when always require ", "infer e = a when "]


OPERANDS = ["n", "s", "e", "v", "f", "b", "K8s.server.version", "OS.release.ID", 'K8s.node["os-image"]', "GPU.a[0].b"]
LITERALS = ["1", "-3", "570", "1.30", "v1.2.3-rc.1", "1e3", "1e999", "9" * 70, "9" * 5000, '"x"', '"1.30"',
            '"\\ud800"', "a", "b", "true", "false"]
STRINGS = ['"x"', '"ubu"', '"a{99999999999}"', '"a{1000}"', '"(a+)+$"', '"("', '"(?i)\\bgb200\\b"', '"\\ud800"', '""']


@st.composite
def atom(draw):
    o, lit, text = (draw(st.sampled_from(xs)) for xs in (OPERANDS, LITERALS, STRINGS))
    return draw(st.sampled_from([
        f"{o} {draw(st.sampled_from(['==', '!=', '<', '<=', '>', '>=']))} {lit}",
        f"{o} {draw(st.sampled_from(['in', 'not in']))} {{{lit}, {draw(st.sampled_from(LITERALS))}}}",
        f"{o} {draw(st.sampled_from(['in', 'not in']))} {lit}{draw(st.sampled_from(['..', '..<']))}"
        f"{draw(st.sampled_from(LITERALS))}",
        f"{o} {draw(st.sampled_from(['matches', 'startswith', 'endswith', 'contains']))} {text}",
        f"exists {draw(st.sampled_from(OPERANDS[6:]))}",
    ]))


def expression():
    def grow(inner):
        deep = st.sampled_from([1, 2, 49, 99, 100, 150])
        return st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(deep, inner).map(lambda t: "not " * t[0] + t[1]),
            st.tuples(deep, inner).map(lambda t: "(" * t[0] + t[1] + ")" * t[0]),
        )

    return st.recursive(atom(), grow, max_leaves=6)


@st.composite
def rule_text(draw):
    """Mostly well-formed declarations around hostile parts; sometimes token soup."""
    prefix = draw(st.sampled_from(PREFIXES))
    if draw(st.integers(0, 4)) == 0:
        body = " ".join(draw(st.lists(st.sampled_from(TOKENS), max_size=30)))
    elif prefix.startswith("component"):
        k = draw(st.sampled_from([1, 99, 100, 101, 300]))
        body = "[" * k + draw(st.sampled_from(LITERALS)) + "]" * k
    else:
        body = draw(expression())
    text = prefix + body + " }"
    if draw(st.booleans()) and len(text) > 2:  # a random cut
        cut = draw(st.integers(0, len(text) - 1))
        text = text[:cut] + text[cut + 1:]
    return text


def _conditions(decl):
    if isinstance(decl, ast.OverlayDecl | ast.CheckDecl):
        yield from ((w, "facts") for w in decl.when)
        yield from ((r.expr, "measurements") for r in decl.requires)
    elif isinstance(decl, ast.InferDecl) and decl.when is not None:
        yield decl.when, "measurements"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_text(), st.sampled_from([MISSING, 1, 4.0, "a", "1.30.2", True, "\ud800", {"k": 1}]))
def test_token_soup_never_breaks_the_language_core(text, value):
    r = Reporter()
    module = parse_module(SourceFile("fuzz.eidos", text), r)
    for d in r.items:
        assert d.code.startswith("E1") and d.span.line >= 1, d.render()
    checker = Checker(FACTS, r)
    for decl in module.decls:
        for expr, allow in _conditions(decl):
            ir = checker.check(expr, allow)
            if ir is None:
                continue
            assert checker.check(expr, allow) == ir
            try:
                closure(ir)(lambda op: value)
            except EvalError:
                pass
            trace(ir, lambda op: value)
            r2 = Reporter()
            again = parse_module(SourceFile("r.eidos", f"overlay o {{ when always require {render(ir)} }}"
                                            if allow == "measurements" else f"overlay o {{ when {render(ir)} }}"), r2)
            assert not r2.items, (render(ir), [d.render() for d in r2.items])
            assert again.decls
