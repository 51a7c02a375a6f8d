"""The line reader for block-style snapshots reads what ruamel reads, or declines.

``blockyaml.load`` either gives the values ``yamlio.load`` (ruamel) gives, or raises
``_Unsure`` so libyaml and then ruamel read the document. Proved on every fixture, on
snapshot documents written by eidos' own writer (a round-trip property: write with
``snapshot.io.dumps``, read with the line reader == read with ruamel), on hand-picked
shapes at the edges of what it accepts, and on the same text read twice (the meaning of a
row is remembered across documents; a remembered row must not change what a later
document reads as). A reader that declined everything would pass the equality tests, so
each test also checks that the line reader really took the document.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from eidos.errors import InputError
from eidos.io import yamlio
from eidos.snapshot import blockyaml, fastload
from eidos.snapshot import io as snap_io
from eidos.snapshot.fastload import _Unsure
from tests.conftest import FIXTURES
from tests.fuzz.fuzzkit import fuzz_settings

SNAPSHOTS = sorted((FIXTURES / "snapshots").glob("*.yaml"))
MAX = snap_io.MAX_VALUES


def _same(a, b) -> bool:
    """Equal values of equal types (1 == 1.0 == True to ``==``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _block(text: str):
    try:
        return blockyaml.load(text, MAX)
    except _Unsure:
        return _Unsure


def _ruamel(text: str):
    try:
        return yamlio.load(text, "t", max_values=MAX)
    except InputError:
        return InputError


@pytest.fixture(autouse=True)
def _fresh_memory():
    blockyaml._ENTRIES.clear()
    yield
    blockyaml._ENTRIES.clear()


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_fixtures_and_their_eidos_rewrites_are_read_by_the_line_reader(path):
    text = path.read_text(encoding="utf-8")
    rewritten = snap_io.dumps(snap_io.parse_snapshot(text, "t"), "yaml")
    for doc in (text, rewritten, text, rewritten):  # twice: with the remembered rows too
        got = _block(doc)
        assert got is not _Unsure, "the line reader declined a real snapshot"
        assert _same(got, yamlio.load(doc, "t"))
        assert list(got) == sorted(got)  # canonical order, as the snapshot model keeps it


def test_remembered_rows_do_not_change_a_later_document():
    assert _block("a: 1\nb: x\n") == {"a": 1, "b": "x"}
    # the row "b: x" seen before, now followed by a deeper line: a continued scalar
    assert _block("b: x\n  y\n") is _Unsure
    assert _ruamel("b: x\n  y\n") == {"b": "x y"}
    # a remembered "a:" row, now with a block below it
    assert _block("a:\n") == {"a": None}
    assert _block("a:\n  - 1\n") == {"a": [1]}
    assert _block("a: 1\na: 1\n") is _Unsure  # duplicate keys, remembered or not


@pytest.mark.parametrize("text", [
    "a: 1\nb:\n  c: [x]\n",  # flow collections
    "a: {b: 1}\n",
    "a: &x 1\nb: *x\n",  # anchors, aliases
    "a: !!str 1\n",  # tags
    "? a\n: 1\n",  # complex keys
    "a: >\n  folded\n",  # folded blocks
    "a: |2\n   indented\n",  # explicit indentation
    "a: 'multi\n  line'\n",  # quoted over lines
    "a: plain\n  continued\n",
    "a: 1 # comment\n",
    "a:\tb\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "%YAML 1.2\n---\na: 1\n",
    "a: 1\r\nb: 2\r\n",
    "a: \x85b\n",
    "\ufeffa: 1\n",
    "a: 0x1f\n",  # a form left to ruamel
    "<<: 1\n",
    "a: |+\n  x\n\nb: 1\n",  # kept trailing blank lines
    "- |\n  x\n- y\n",  # a block as a sequence entry
    "a:\n  - x\n  b: 1\n",  # a key where the sequence goes on
    "  a: 1\n",
    "",
])
def test_declines_what_it_does_not_read(text):
    assert _block(text) is _Unsure
    # and whatever reads it instead gives ruamel's values or ruamel's refusal
    careful = _ruamel(text)
    fast = fastload.load_yaml(text, MAX)
    if fast is not None:
        assert careful is not InputError and _same(fast, careful)


@pytest.mark.parametrize("text", [
    "a: |\n  line 1\n\n  line 3\nb: 2\n",
    "a: |\n  x\n\n",  # a block running to the end of the text
    "a: |-\n  x\n# a comment\nb: |\n  y\n  # not a comment\n",
    "a: |-\n  x\n  y\nb: 2\n",
    "a: |+\n  x\nb: 2\n",
    "a: |\n  x\n    deeper\nb: 1\n",
    "a:\n- x\n- y\nb: 1\n",  # indentless sequence (the reference's writer)
    "- a: 1\n  b: 2\n- - x\n  - y\n-\n  c: 3\n-\n",
    "k: 'it''s'\nq: \"tab\\there \\u00e9 \\x41 \\\\\"\n'q k': 1\n\"d\\\"k\": 2\n",
    "e: []\nf: {}\ng: ''\nh: \"\"\ni:\nj: ~\nk: -1\nl: -.5\n",
    "url: http://x:8080/a#b\nt: 2024-01-01x\nv: a&b*c!d\n",
    "a: yes\nb: 007\nc: 1.5\nd: true\ne: null\nf: 24.04\ng: 5.15.0-1\n'1': x\n2: y\ntrue: z\n",
    "# comment\na:   spaced\nb: trailing   \n\n  # indented comment\nc: 1\n",
])
def test_reads_the_shapes_writers_emit_as_ruamel_does(text):
    got = _block(text)
    assert got is not _Unsure, text
    assert _same(got, _ruamel(text)), (got, _ruamel(text))


# ---- the round-trip property: eidos' writer, then both readers -----------------------------

_words = st.sampled_from(["yes", "no", "on", "1.0", "007", "0x1f", "1e3", "~", "null", "true", "-", "- x",
                          "a: b", "#c", " lead", "trail ", "2024-01-01", "<<", "*a", "&a", "!t", "|", ">",
                          "'q'", '"d"', "a\nb", "a\n\nb\n", "x\n", "\n", "\t", "é", "\x85", "\u2028", ""])
_text = st.text(max_size=12) | _words
_scalar = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
           | st.floats(allow_nan=False, allow_infinity=False) | _text)
_data = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=4),
                     max_leaves=20)
_subtype = st.fixed_dictionaries({"subtype": st.text(min_size=1, max_size=8) | _words.filter(bool),
                                  "data": st.dictionaries(_text, _data, max_size=6)})
_snapshot = st.fixed_dictionaries({
    "kind": st.just("Snapshot"),
    "apiVersion": st.just("eidos.dev/v1alpha1"),
    "metadata": st.dictionaries(_text, _scalar, max_size=3),
    "measurements": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["K8s", "OS", "GPU", "SystemD"]),
                                                     "subtypes": st.lists(_subtype, max_size=3)}),
                             max_size=3, unique_by=lambda m: m["type"]),
})


@fuzz_settings(3)
@given(doc=_snapshot)
def test_eidos_written_snapshots_read_the_same_by_the_line_reader(doc):
    try:
        snapshot = snap_io.parse_snapshot(json.dumps(doc), "t")
    except (InputError, ValueError):
        assume(False)
    text = snap_io.dumps(snapshot, "yaml")
    careful = _ruamel(text)
    assert careful is not InputError
    for _ in range(2):  # cold, then with every row remembered
        got = _block(text)
        if got is not _Unsure:
            assert _same(got, careful), text
    # the whole reader, and the snapshot it builds, are the careful ones
    assert snap_io.parse_snapshot(text, "t") == snapshot


def test_the_round_trip_property_mostly_takes_the_line_reader():
    """The property above would hold for a reader that always declined: make sure it reads
    the ordinary snapshots eidos writes (quoted words, numbers, blocks, nesting)."""
    doc = {"kind": "Snapshot", "apiVersion": "eidos.dev/v1alpha1", "metadata": {"source-node": "n1"},
           "measurements": [{"type": "OS", "subtypes": [{"subtype": "release", "data": {
               "words": ["yes", "on", "007", "1.0", "~", "#x", "- y", "a: b"], "n": 1, "f": 2.5, "t": True,
               "none": None, "text": "line 1\nline 2\n", "strip": "a\nb", "nested": {"x": {"y": [1, {"z": ""}]}},
               "empty": {}, "list": [], "é": "ü"}}]}]}
    text = snap_io.dumps(snap_io.parse_snapshot(json.dumps(doc), "t"), "yaml")
    got = _block(text)
    assert got is not _Unsure, text
    assert _same(got, _ruamel(text))


_INSERTS = st.sampled_from(["- ", ": ", "'", '"', "#", "\n", "  ", "|\n", "|-\n", "|+\n", "[]", "{}", "\\",
                            "yes", "0x1", "1e3", "---\n", "...\n", "&a ", "*a", "!x "])


@fuzz_settings(3)
@given(edits=st.lists(st.tuples(st.floats(0, 1), _INSERTS | st.text(max_size=4), st.integers(0, 6)),
                      min_size=1, max_size=5))
def test_mutated_writer_output_agrees_with_ruamel(edits):
    base = snap_io.dumps(snap_io.parse_snapshot((FIXTURES / "snapshots" / "aicr-mock-training.yaml")
                                                .read_text(encoding="utf-8"), "t"), "yaml")
    _block(base)  # remember the rows of the unmutated text first
    text = base
    for where, insert, cut in edits:
        pos = int(where * len(text))
        text = text[:pos] + insert + text[pos + cut:]
    got = _block(text)
    if got is not _Unsure:
        careful = _ruamel(text)
        assert careful is not InputError, text
        assert _same(got, careful), text


def test_remembered_rows_stay_bounded(monkeypatch):
    monkeypatch.setattr(blockyaml, "_ENTRIES_CAP", 50)
    text = SNAPSHOTS[0].read_text(encoding="utf-8")
    expected = yamlio.load(text, "t")
    for _ in range(2):
        assert _same(_block(text), expected)
        assert len(blockyaml._ENTRIES) <= 50
