"""The evaluation shortcuts give exactly the answers of the general paths they bypass.

* ``versions.version_key`` reads the comparison key of a plain release (``v2.14.3``)
  without the full parse: checked against ``Version._parse`` (the regular-expression
  parser, independent of the shortcut) on texts near the plain form, for both the key and
  the error.
* ``regex.searcher`` tests a literal pattern (``^aws://``, ``-eks-``, ``^(a|b)``) with
  ``str.startswith`` / ``in``: checked against RE2's own ``search`` on patterns drawn from
  literals, operators and escapes, and texts ASCII and not.
* ``not`` of a comparison, a set test or a range compiles to the complementary atom:
  checked against ``kleene_not`` of the atom's own closure on every value kind, including
  missing values and values that raise.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from eidos.lang.expr import EvalError, compile_closure, regex
from eidos.lang.expr.ir import AndE, Cmp, Const, In, NotE, Operand, OrE, Range
from eidos.lang.expr.logic import kleene_not
from eidos.lang.limits import MAX_VERSION_CHARS
from eidos.lang.measurements import MISSING
from eidos.lang.versions import CACHES, Version, VersionError, _parse_cached, version_key


# ---------------------------------------------------------------- version keys
def _full(text: str):
    """(key, None) or (None, message) by the full parser alone."""
    try:
        return Version._parse(text).key, None
    except VersionError as err:
        return None, str(err)


def _short(text: str):
    try:
        return version_key(text), None
    except VersionError as err:
        return None, str(err)


near_versions = st.text(alphabet=st.sampled_from("0123456789..vV-+ _a²١"), max_size=14)


@settings(max_examples=600, deadline=None)
@given(near_versions)
@example("v1.33.5-eks-3025e55")
@example("١٢.٣")  # Arabic-Indic digits: \d and int() both read them
@example("1²")  # a digit str.isdigit admits and int() refuses
@example("1..2")
@example(".1")
@example("1.")
@example("v")
@example("vv1")
@example("+1")
@example("1_0")
@example(" 1.2")
@example("1.2.0.0")
@example("0.0")
def test_version_key_is_the_full_parse_key(text):
    assert _short(text) == _full(text)


def test_a_plain_release_is_keyed_without_a_full_parse():
    for cache in CACHES:
        cache.cache_clear()
    assert version_key("v2.14.0") == ((2, 14), (1, ()))
    assert version_key("570.133.20") == ((570, 133, 20), (1, ()))
    assert version_key("V3.1") == ((3, 1), (1, ()))
    longest = "1." + "2" * (MAX_VERSION_CHARS - 2)  # exactly at the limit
    assert version_key(longest) == ((1, int(longest[2:])), (1, ()))
    assert _parse_cached.cache_info().currsize == 0  # no Version was built
    assert version_key("1.2.3-rc.1") == Version.parse("1.2.3-rc.1").key  # the full parse's
    assert _parse_cached.cache_info().currsize == 1


def test_a_version_read_back_from_a_pickle_compares_as_before():
    import pickle

    for text in ("v1.30.0-eks-1", "1.2.3-rc.1", "570.133.20"):
        version = Version.parse(text)
        copy = pickle.loads(pickle.dumps(version))
        assert (copy.text, copy.release, copy.prerelease, copy.vendor) == (
            version.text, version.release, version.prerelease, version.vendor)
        assert copy.key == version.key and copy == version and not copy < version


def test_an_overlong_plain_text_is_refused_as_by_the_parser():
    text = "1." + "0" * 5000
    with pytest.raises(VersionError, match="too long"):
        version_key(text)


# ---------------------------------------------------------------- literal patterns
@pytest.mark.parametrize("body, words", [
    ("-eks-", ("-eks-",)),
    ("ocid1\\.", ("ocid1.",)),
    ("(Microsoft Azure Linux|Azure Linux|CBL-Mariner)", ("Microsoft Azure Linux", "Azure Linux", "CBL-Mariner")),
    ("(a|)", ("a", "")),
    ("()", ("",)),
    ("Linux X", ("Linux X",)),
    ("", ("",)),
    ("\\(x\\)\\|\\\\", ("(x)|\\",)),
    ("a|b", None),  # a top-level alternation is left to RE2
    ("(?i)eks", None),
    ("(a)(b)", None),
    ("a\\d", None),
    ("a\\b", None),
    ("0[a-z]", None),
    ("a.c", None),
    ("x$", None),
    ("a{2}", None),
    ("ab\\", None),
])
def test_literal_alternatives(body, words):
    assert regex.literal_alternatives(body) == words


pieces = st.sampled_from(["a", "b", "é", "-", "/", " ", ".", "\\.", "\\(", "\\|", "\\\\", "\\d", "(", ")", "|",
                          "^", "$", "*", "?", "[ab]", "{2}"])
patterns = st.builds(lambda anchor, parts: anchor + "".join(parts), st.sampled_from(["", "^"]),
                     st.lists(pieces, max_size=6))
subjects = st.text(alphabet=st.sampled_from("ab-./ ()|\\é\n9"), max_size=10)


def _compiles(pattern: str) -> bool:
    try:
        regex.check(pattern)
    except regex.RegexError:
        return False
    return True


@settings(max_examples=800, deadline=None)
@given(patterns, subjects)
@example("^(a|b)", "bx")
@example("-\\.", "x-.y")
@example("^a", "é")
def test_searcher_is_re2_search(pattern, text):
    assume(_compiles(pattern))
    assert regex.searcher(pattern)(text) is (regex.compile_pattern(pattern).search(text) is not None)


def test_a_binding_without_re2s_own_match_falls_back_to_search(monkeypatch):
    import types

    real = regex._re2()
    regex.compile_pattern("^a[0-9]")  # compiled (and cached) with the real binding
    monkeypatch.setattr(regex, "_re2", lambda: (types.SimpleNamespace(), real[1]))  # no _re2.RE2.Anchor
    found = regex._re2_searcher("^a[0-9]")
    assert found.__name__ == "<lambda>"
    assert found("a1") is True and found("b1") is False and found("xa1") is False


def test_literal_patterns_take_the_string_test():
    # the shortcut is what runs for ASCII texts: RE2 is not called
    assert regex.searcher("^aws://").__name__ == "found_prefix"
    assert regex.searcher("-eks-").__name__ == "found_within"
    assert regex.searcher("^a[0-9]").__name__ == "found"
    with pytest.raises(UnicodeEncodeError):  # a non-ASCII text still goes to RE2, as before
        regex.searcher("^a")("a\ud800")


# ---------------------------------------------------------------- `not` of an atom
PATH = Operand("path", "K8s.server.version", ("K8s", "server", "version"))
RAISES = object()


def _atoms():
    v = [Const("version", Version.parse(t), t) for t in ("1.30.0", "1.32.4")]
    i = [Const("int", n, str(n)) for n in (3, 8)]
    s = [Const("string", t, f'"{t}"') for t in ("a", "b")]
    for op in ("==", "!=", "<", "<=", ">", ">="):
        yield Cmp(op, PATH, v[0])
        yield Cmp(op, PATH, i[0])
    for op in ("==", "!="):
        yield Cmp(op, PATH, s[0])
        yield Cmp(op, PATH, Const("bool", True, "true"))
    for negated in (False, True):
        yield In(PATH, tuple(s), negated)
        yield In(PATH, tuple(i), negated)
        for inclusive in (False, True):
            yield Range(PATH, v[0], v[1], inclusive, negated)
            yield Range(PATH, i[0], i[1], inclusive, negated)


VALUES = ["v1.29.9", "1.30", "1.30.0", "v1.31.2-eks-1", "1.32.4", "1.33", "not a version", 2, 3, 5, 8, 9, "8",
          4.0, 4.5, True, False, "true", "a", "b", "c", "", MISSING, [1]]


def _outcome(fn, value):
    try:
        return ("value", fn(lambda _: value))
    except EvalError:
        return ("raised", None)


@pytest.mark.parametrize("atom", list(_atoms()), ids=str)
def test_not_of_an_atom_is_its_complement(atom):
    negated, plain = compile_closure(NotE(atom)), compile_closure(atom)
    for value in VALUES:
        want = _outcome(lambda get: kleene_not([plain(get)]), value)
        got = _outcome(negated, value)
        assert got == want and (got[1] is want[1]), (str(atom), value)


def test_a_one_operand_connective_is_its_operand():
    atom = Cmp("==", PATH, Const("string", "a", '"a"'))
    for connective in (AndE((atom,)), OrE((atom,))):
        fn = compile_closure(connective)
        assert fn.__name__ == "cmp" and fn(lambda _: "a") is True and fn(lambda _: "b") is False
        assert fn(lambda _: MISSING) is None


def test_not_of_a_comparison_is_one_closure():
    # the complement is compiled in its place: no negation wrapper around the atom
    fn = compile_closure(NotE(Cmp("!=", PATH, Const("string", "a", '"a"'))))
    assert fn.__name__ == "cmp" and fn(lambda _: "a") is True
    fn = compile_closure(NotE(In(PATH, (Const("string", "a", '"a"'),), False)))
    assert fn.__name__ == "member" and fn(lambda _: "a") is False and fn(lambda _: MISSING) is None


def test_a_measured_version_is_compared_by_its_key():
    fn = compile_closure(Cmp(">=", PATH, Const("version", Version.parse("1.30"), "1.30")))
    assert fn.__name__ == "cmp_version"
    assert fn(lambda _: "v1.30.0-eks-1") is True and fn(lambda _: "1.29.9") is False
    with pytest.raises(EvalError, match="'x' is not a version"):
        fn(lambda _: "x")
