"""The fast YAML writer (eidos.io.yamlemit) against ruamel's, byte for byte.

``yamlio.dump`` writes through yamlemit and falls back to ruamel when yamlemit is unsure;
these tests pin both halves: on generated plain data the two writers agree whenever
yamlemit answers, every documented fallback is taken (and gives ruamel's text), and the
real documents eidos writes (recipe goldens, bundle goldens) come out identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.io import yamlemit, yamlio

ROOT = Path(__file__).parent

TRICKY = [
    "", " ", "a", "1", "1.0", "1e3", "0x1", "0o17", "0b101", "0777", "+1", "-1", ".5", "1_000", "1:20", "25.10",
    "yes", "no", "on", "off", "y", "n", "true", "True", "FALSE", "null", "Null", "~", "<<", "=", ".inf", "-.inf",
    ".nan", "2024-01-02", "2001-12-14t21:59:43.10-05:00", "a: b", "a:b", "a #b", "a#b", "#a", "- a", "-", "--",
    "---", "...", "--- a", "? a", "?a", ":a", ": a", "a:", "[a]", "{a}", "a,b", "a]", "&a", "*a", "!a", "|a",
    ">a", "'a'", '"a"', "%a", "@a", "`a", "it's", "a'b\nc", "x\ny", "x\ny\n", "x\n\n", "x\n\ny", " x", "x ",
    "x \ny", "x\n y", "\nx", "x\n", "\n", "é ü", "日本語", "\U0001F600", "a\tb", "a\x00b", "a\x85b", "a\u2028b",
    "\xa0", "\ufeff", "a\rb", "x" * 5000, ("word " * 1200).strip(), "'" * 3, "a  b", "a   ", "Ñ: ñ",
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TRICKY),
    st.text(alphabet=st.sampled_from(list("ab :#-'\"\n.01yesnul{}[],?&*!|>%@`\t é日\U0001F600")), max_size=12),
    st.text(max_size=8),
)
keys = st.one_of(st.sampled_from(TRICKY[:60]), st.text(max_size=10))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=25,
).filter(lambda d: isinstance(d, (dict, list)))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_matches_ruamel_whenever_it_answers(doc):
    reference = yamlio.dump_ruamel(doc)
    try:
        fast = yamlemit.dump(doc, yamlio.str_style)
    except yamlemit.Unsupported:
        fast = None
    if fast is not None:
        assert fast == reference
    assert yamlio.dump(doc) == reference  # with the fallback, always


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("where", ["value", "item", "key", "nested"])
def test_tricky_strings(text, where):
    doc = {"value": {"k": text}, "item": [text, "x"], "key": {text: 1}, "nested": [{"a": [text], text: [[text]]}]}[where]
    assert yamlio.dump(doc) == yamlio.dump_ruamel(doc)


def _answers(doc) -> bool:
    try:
        yamlemit.dump(doc, yamlio.str_style)
    except yamlemit.Unsupported:
        return False
    return True


def test_common_strings_take_the_fast_path():
    # the point of the writer: what recipes hold must not fall back
    doc = {"kind": "Recipe", "version": "v25.10", "on": "yes", "empty": "", "list": [], "map": {},
           "script": "set -e\necho hi\n", "n": [1, 2.5, True, None], "nested": [[1, [2]], {"a": {"b": []}}],
           "quote": "it's", "colon": "a: b", "unicode": "日本"}
    assert _answers(doc)
    assert yamlio.dump(doc) == yamlio.dump_ruamel(doc)


class _Str(str):
    pass


@pytest.mark.parametrize("doc", [
    {"a": "tab\there"}, {"a": "ctrl\x01\x1b\ufeff\U000e0001"}, {"a": "x \ny"}, {"a": "\nleading"},
    {"a": "GKE's: own"}, ["it's \nmulti"], {"a": "\u2028"},
], ids=["tab", "control", "space-break", "leading-break", "quote-colon", "quote-break", "odd-break"])
def test_double_quoted_strings_take_the_fast_path(doc):
    assert _answers(doc)
    assert yamlemit.dump(doc, yamlio.str_style) == yamlio.dump_ruamel(doc)
    assert '"' in yamlio.dump(doc)


@pytest.mark.parametrize("doc", [
    {"a": "it's: " + "word " * 1000},   # a double-quoted line ruamel would fold at the width
    {1: "int key"},                     # non-string key
    {"k" * 150: 1},                     # a key too long to be simple
    {"a\nb": 1},                        # a multi-line key
    {"a": ("t", "u")},                  # a tuple: ruamel refuses it, and must still be the one to refuse
    {"a": _Str("sub")},                 # a str subclass
    "scalar document",
], ids=["folded", "int-key", "long-key", "multiline-key", "tuple",
        "str-subclass", "scalar-root"])
def test_fallbacks(doc):
    assert not _answers(doc)
    try:
        expected = yamlio.dump_ruamel(doc)
    except Exception as err:  # noqa: BLE001 - the same failure through dump
        with pytest.raises(type(err)):
            yamlio.dump(doc)
        return
    assert yamlio.dump(doc) == expected


def test_shared_container_falls_back_to_anchors():
    shared = {"x": 1}
    doc = {"a": shared, "b": shared}
    assert not _answers(doc)
    out = yamlio.dump(doc)
    assert out == yamlio.dump_ruamel(doc) and "&id001" in out


def test_deep_nesting_falls_back():
    doc: list = []
    cur = doc
    for _ in range(yamlemit.MAX_DEPTH + 5):
        cur.append([])
        cur = cur[0]
    cur.append(1)
    assert not _answers(doc)
    assert yamlio.dump(doc) == yamlio.dump_ruamel(doc)


def test_resolver_agrees_with_ruamel():
    pytest.importorskip("ruamel.yaml")
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    resolver = VersionedResolver()
    for text in TRICKY + ["12", "-0.5e3", "0x_ff", "NULL", "TRUE", "1e", "e1", "0b", "0o8"]:
        tag = str(resolver.resolve(ScalarNode, text, (True, False))).rsplit(":", 1)[-1]
        assert yamlemit.resolve(text) == tag, text


def _recipe_goldens():
    return sorted((ROOT / "golden" / "recipes").glob("*.json"))


@pytest.mark.parametrize("path", _recipe_goldens(), ids=lambda p: p.stem)
def test_recipe_documents_identical(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert _answers(doc), "a golden recipe fell back to ruamel"
    assert yamlemit.dump(doc, yamlio.str_style) == yamlio.dump_ruamel(doc)


def _bundle_yaml():
    # values files and manifests eidos writes; Helm templates (under templates/) are not YAML until rendered
    return sorted(p for p in (ROOT / "fixtures" / "bundle" / "golden").rglob("*.yaml") if "templates" not in p.parts)


@pytest.mark.parametrize("path", _bundle_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_bundle_values_round_trip_identical(path):
    docs = yamlio.load_all(path.read_text(encoding="utf-8"), str(path))
    for doc in docs:
        if isinstance(doc, (dict, list)):
            assert yamlio.dump(doc) == yamlio.dump_ruamel(doc)


def _is_number_by_parsing(text: str) -> bool:
    plain = text.replace("_", "")
    for parse in (lambda t: int(t, 0), float):
        try:
            parse(plain)
            return True
        except ValueError:
            pass
    return False


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(alphabet=st.sampled_from(list("0123456789_+-.eExXoObBinfINFaty \t\n\u0663\u00b2\u00a0")),
                         max_size=8),
                 st.sampled_from(["inf", "-Infinity", " nan ", "+-inf", "infinit", "\u0661\u0662", "\u00b2"]),
                 st.text(max_size=6)))
def test_number_shortcut_agrees_with_parsing(text):
    # the digit-free shortcut in yamlio._is_number decides quoting: it must agree with int()/float()
    assert yamlio._is_number(text) == _is_number_by_parsing(text)
