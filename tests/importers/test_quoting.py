"""Every string, key, value path and value the importer writes reads back, through eidos'
own parser, as exactly the data that went in (eidos.importers.quoting)."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from eidos.engine.literals import set_value
from eidos.importers import quoting
from eidos.importers.aicr_emit import comment
from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.parser import parse_module

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
keys = st.one_of(text, st.sampled_from(["true", "null", "always", "a.b", "x-y", "-x", "é", "a b", "1", "_"]))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), text,
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


def _parse_set(line: str):
    source = SourceFile("gen.eidos", f"overlay x {{\n  when always\n  component c {{\n    {line}\n  }}\n}}\n")
    reporter = Reporter()
    module = parse_module(source, reporter)
    errors = [d for d in reporter.items if d.severity == "error"]
    assert not errors, (line, [d.message for d in errors])
    (decl,) = module.decls
    (use,) = decl.components
    return use, reporter


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@settings(max_examples=300, deadline=None)
@given(values)
def test_values_round_trip_through_the_parser(data):
    use, reporter = _parse_set(f"set k = {quoting.value(data)}")
    got = set_value(use.sets[0].value, reporter)
    assert not [d for d in reporter.items if d.severity == "error"]
    assert not [d for d in reporter.items if d.code == "W503"]  # no float read as a version
    assert _same(got, data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(keys, st.integers(min_value=0, max_value=99)), min_size=1, max_size=5))
def test_value_paths_round_trip_through_the_parser(segments):
    assume(isinstance(segments[0], str))
    use, _ = _parse_set(f"unset {quoting.value_path(tuple(segments))}")
    assert tuple(use.unsets[0].path) == tuple(segments)


@settings(max_examples=300, deadline=None)
@given(text)
def test_strings_round_trip_as_a_doc(s):
    source = SourceFile("gen.eidos", f"overlay x {{\n  doc {quoting.string(s)}\n  when always\n}}\n")
    reporter = Reporter()
    module = parse_module(source, reporter)
    assert not reporter.items
    assert module.decls[0].doc == s


@settings(max_examples=200, deadline=None)
@given(text)
def test_a_comment_never_ends_early(s):
    """A generated comment stays one comment whatever the text holds (newlines included)."""
    source = SourceFile("gen.eidos", f"{comment(s)}\noverlay x {{\n  when always\n}}\n")
    reporter = Reporter()
    module = parse_module(source, reporter)
    assert not reporter.items and len(module.decls) == 1


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "\ud800", {"k": "\udfff"}, object()])
def test_what_the_grammar_cannot_carry_is_refused(bad):
    with pytest.raises(quoting.Unquotable):
        quoting.value(bad)


def test_keywords_and_odd_keys_are_quoted():
    assert quoting.key("true") == '"true"'
    assert quoting.key("gpu-operator") == "gpu-operator"
    assert quoting.value_path(("a.b", "c", 0)) == '"a.b".c[0]'
    assert quoting.value(1.5) == "1.5e0" and quoting.value(-2.0) == "-2.0e0"
