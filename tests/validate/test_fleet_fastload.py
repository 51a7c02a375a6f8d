"""The fleet fast path reads exactly what the careful readers read, or declines.

``fastload`` may only ever (a) give the same values as ``yamlio.load`` / ``_load_json`` or
(b) return ``None`` so the careful path runs. These tests prove (a) on every snapshot
fixture and on fuzzed documents and scalars, prove (b) on whatever the careful path refuses,
and make sure the fast path is really taken on real snapshots (a fast path that always
declined would pass every equality test and speed nothing up).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from eidos.errors import InputError
from eidos.io import limits, yamlio
from eidos.snapshot import fastload
from eidos.snapshot import io as snap_io
from tests.conftest import FIXTURES
from tests.fuzz.fuzzkit import fuzz_settings

SNAPSHOTS = sorted((FIXTURES / "snapshots").glob("*.yaml"))
MAX = snap_io.MAX_VALUES


def _same(a, b) -> bool:
    """Equal values of equal types (``==`` says 1 == 1.0 == True); key order aside (the fast
    reader gives canonical order, the careful one document order; the model sorts both)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _careful_yaml(text: str):
    try:
        return yamlio.load(text, "t", max_values=MAX)
    except InputError:
        return InputError


def _careful_json(text: str):
    try:
        return snap_io._load_json(text, "t")
    except InputError:
        return InputError


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_every_snapshot_fixture_reads_the_same_and_fast(path: Path):
    text = path.read_text(encoding="utf-8")
    fast = fastload.load_yaml(text, MAX)
    assert fast is not None, "the fast path declined a real snapshot"
    assert fast == yamlio.load(text, "t", max_values=MAX)
    # types too (== says 1 == 1.0 == True)
    assert json.dumps(fast, sort_keys=True) == json.dumps(yamlio.load(text, "t"), sort_keys=True)
    as_json = snap_io.dumps(snap_io.parse_snapshot(text, "t"), "json")
    fast_json = fastload.load_json(as_json, MAX)
    assert fast_json is not None
    assert json.dumps(fast_json, sort_keys=True) == json.dumps(snap_io._load_json(as_json, "t"), sort_keys=True)


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_parse_snapshot_gives_the_careful_snapshot(path: Path, monkeypatch):
    text = path.read_text(encoding="utf-8")
    fast = snap_io.parse_snapshot(text, "t")
    as_json = snap_io.dumps(fast, "json")
    fast_from_json = snap_io.parse_snapshot(as_json, "t")
    monkeypatch.setattr(fastload, "load_yaml", lambda text, n: None)
    monkeypatch.setattr(fastload, "load_json_checked", lambda text, n: None)
    careful = snap_io.parse_snapshot(text, "t")
    assert fast == careful
    assert fast_from_json == snap_io.parse_snapshot(as_json, "t") == fast
    # and the same bytes when written again: key order included, not just equality
    for fmt in ("yaml", "json"):
        assert snap_io.dumps(fast, fmt) == snap_io.dumps(careful, fmt) == snap_io.dumps(fast_from_json, fmt)


def test_unsorted_json_is_still_written_in_canonical_order():
    doc = {"measurements": [{"type": "OS", "subtypes": [{"subtype": "s", "data": {"b": 1, "a": {"y": 2, "x": 3}}}]}]}
    text = json.dumps(doc)
    loaded = fastload.load_json_checked(text, MAX)
    assert loaded is not None and loaded[1] is False  # not canonical: the model sorts it
    snap = snap_io.parse_snapshot(text, "t")
    assert list(snap.measurements[0].subtypes[0].data) == ["a", "b"]
    assert list(snap.measurements[0].subtypes[0].data["a"]) == ["x", "y"]
    assert fastload.load_json_checked(json.dumps(doc, sort_keys=True), MAX)[1] is True
    # YAML: the fast reader sorts as it builds
    assert list(fastload.load_yaml("b: 1\na: {y: 2, x: 3}\n", MAX)) == ["a", "b"]


# Every plain-scalar form the YAML 1.1 / 1.2 split, ruamel's resolver or Python's converters
# treat specially; each is read by the fast path exactly as ruamel reads it, or declined.
TRICKY = [
    "1", "+1", "-1", "01", "0", "-0", "007", "1_000", "0x1f", "0o17", "0b1", "1.5", "1.", "+.5", ".5",
    "-1.5e3", "1e3", "1E3", "1.0e+3", "1.0e3", ".inf", "-.inf", ".nan", "NaN", "yes", "no", "on", "off",
    "y", "n", "Y", "N", "true", "True", "TRUE", "tRue", "false", "null", "Null", "NULL", "~", "1:20",
    "2024-01-01", "2001-12-14t21:59:43.10-05:00", "24.04", "5.15.0-1", "v1.2", "1e", "e3", "0.", "-.5",
    "+0.5e-3", "12345678901234567890123", "0e0", "00", "+0", "1__0", "1.5_0", "1e999", "-1e999", "<<",
    "=", "0x", "1.2.3", "1e+3", ".5e-3", ".5e3", "08", "09.5", "-", "+", ".", "0b", "nul", "Nulls",
]


@pytest.mark.parametrize("scalar", TRICKY)
def test_tricky_scalars(scalar):
    for text in (f"k: {scalar}\n", f"{scalar}: v\n", f"- {scalar}\n"):
        careful = _careful_yaml(text)
        fast = fastload.load_yaml(text, MAX)
        if fast is not None:
            assert careful is not InputError and _same(fast, careful), (text, fast, careful)


def test_plain_words_and_numbers_are_taken_on_the_fast_path():
    doc = "a: yes\nb: 007\nc: 1.5\nd: true\ne: ~\nf: 24.04\ng: 5.15.0-1\nh: -3\n"
    assert fastload.load_yaml(doc, MAX) == {"a": "yes", "b": 7, "c": 1.5, "d": True, "e": None, "f": 24.04,
                                            "g": "5.15.0-1", "h": -3}


def test_resolver_copy_is_ruamels_own():
    """fastload types plain scalars with a copy of ruamel's YAML 1.2 implicit resolvers (so a
    warm validate never imports ruamel); the copy must be exactly the installed ruamel's:
    same tags, patterns, flags, first characters, order."""
    from ruamel.yaml.resolver import implicit_resolvers

    theirs = [(tag, regexp.pattern, regexp.flags, tuple(first or [None]))
              for versions, tag, regexp, first in implicit_resolvers if (1, 2) in versions]
    assert [tuple(r) for r in fastload.RUAMEL_1_2_RESOLVERS] == theirs


def test_reading_a_snapshot_imports_no_ruamel():
    """The fast path is the point of the copy above: a well-formed snapshot, read in a fresh
    interpreter, must not pull ruamel (nor cattrs) in."""
    import subprocess
    import sys

    code = ("import sys; from eidos.snapshot.io import load_snapshot; load_snapshot(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ruamel', 'cattrs', 'yaml')))")
    done = subprocess.run([sys.executable, "-c", code, str(FIXTURES / "snapshots" / "cns-eks-gb200.yaml")], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.parametrize("text", [
    "a: &x [1, 2]\nb: *x\n",  # aliases: ruamel's expansion and accounting
    "a: !!str 12\n",  # explicit tags
    "a: !custom x\n",
    "a: 1\na: 2\n",  # duplicate keys
    "<<: {a: 1}\n",  # merge keys
    "a: 0x1f\n",  # forms left to ruamel
    "a: 2024-01-01\n",
    "a: .inf\n",
    "[" * 2000 + "]" * 2000,  # deeper than the C composer is trusted with
    "- " * 3000 + "x\n",
    "a: [\n",  # malformed
    "--- 1\n--- 2\n",  # two documents
    "",
])
def test_declines(text):
    assert fastload.load_yaml(text, MAX) is None


def test_json_declines_what_the_careful_path_refuses():
    for text in ('{"a": 1, "a": 2}', '{"a": NaN}', '{"a": Infinity}', '{"a": 1e999}', '{"a": [}',
                 '{"a": ' + "9" * 5000 + "}", "[" * (limits.MAX_DEPTH + 1) + "]" * (limits.MAX_DEPTH + 1)):
        assert fastload.load_json(text, MAX) is None, text
        assert _careful_json(text) is InputError or text.startswith('{"a": 1e999'), text


def test_value_budget_is_kept():
    doc = "a: [" + ", ".join(["1"] * 50) + "]\n"
    assert fastload.load_yaml(doc, 10) is None
    assert fastload.load_json(json.dumps({"a": [1] * 50}), 10) is None
    assert fastload.load_yaml(doc, 100) == {"a": [1] * 50}


# ---- fuzz: random scalars and random documents -------------------------------------------

_scalar_text = st.text(alphabet="0123456789+-._eExXoObBnNuUlLtTrRfFaAsSyY~:<=! ", min_size=0, max_size=10)


@fuzz_settings(2)
@given(scalar=_scalar_text)
def test_random_scalars_agree_with_ruamel(scalar):
    text = f"k: {scalar}\n"
    careful = _careful_yaml(text)
    assume(careful is not InputError)
    fast = fastload.load_yaml(text, MAX)
    if fast is not None:
        assert _same(fast, careful), (text, fast, careful)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10) | _scalar_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6) | _scalar_text, inner, max_size=4),
    max_leaves=30,
)


@fuzz_settings(2)
@given(doc=_values)
def test_random_documents_agree(doc):
    try:
        text = yamlio.dump(doc)
    except ValueError:
        assume(False)
    careful = _careful_yaml(text)
    fast = fastload.load_yaml(text, MAX)
    if fast is not None:
        assert careful is not InputError and _same(fast, careful)
    as_json = json.dumps(doc)
    careful_json = _careful_json(as_json)
    fast_json = fastload.load_json(as_json, MAX)
    if fast_json is not None:
        assert careful_json is not InputError and _same(fast_json, careful_json)


_INSERTS = st.sampled_from(["[", "]", "{", "}", "- ", "? ", ": ", "&a ", "*a", "!x ", "'", '"', "#", "\n",
                            "\t", "|\n", ">-\n", "---\n", "%YAML 1.1\n", "\ufeff", "\x00", "yes", "0x1", "1e3"])


@fuzz_settings(3)
@given(edits=st.lists(st.tuples(st.floats(0, 1), _INSERTS | st.text(max_size=6), st.integers(0, 8)), max_size=6))
def test_mutated_fixture_text_agrees(edits):
    text = (FIXTURES / "snapshots" / "aicr-mock-training.yaml").read_text()
    for where, insert, cut in edits:
        pos = int(where * len(text))
        text = text[:pos] + insert + text[pos + cut:]
    careful = _careful_yaml(text)
    fast = fastload.load_yaml(text, MAX)
    if fast is not None:
        assert careful is not InputError, text
        assert _same(fast, careful)
