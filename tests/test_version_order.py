"""The version order, operator by operator, at the boundaries where a slip shows.

tests/test_versions.py checks the documented dialects; this file pins what a one-token
slip in eidos/lang/versions.py would change: each operator at equality and on either
side, every pre-release tag, separators inside pre-releases, build metadata, the
coercions of parse_version, and the error messages users read.
"""

from __future__ import annotations

import pytest

from eidos.lang.versions import Version, VersionError, is_version, parse_version

V = Version.parse

OPS = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


@pytest.mark.parametrize(
    "left, right, expected",
    [
        # (left, right): the results of <, <=, >, >=, ==, != in that order
        ("1.2", "1.2.0", (False, True, False, True, True, False)),
        ("1.2", "1.3", (True, True, False, False, False, True)),
        ("1.3", "1.2.9", (False, False, True, True, False, True)),
        ("1.0.0-rc.1", "1.0.0", (True, True, False, False, False, True)),
        ("0", "0.0.0", (False, True, False, True, True, False)),
        ("0", "0.1", (True, True, False, False, False, True)),
        ("10", "9.99", (False, False, True, True, False, True)),
    ],
)
def test_every_operator_at_and_around_equality(left, right, expected):
    a, b = V(left), V(right)
    got = tuple(OPS[op](a, b) for op in ("<", "<=", ">", ">=", "==", "!="))
    assert got == expected
    # and mirrored
    mirror = (expected[2], expected[3], expected[0], expected[1], expected[4], expected[5])
    assert tuple(OPS[op](b, a) for op in ("<", "<=", ">", ">=", "==", "!=")) == mirror


@pytest.mark.parametrize("tag", ["alpha", "beta", "rc", "pre", "preview", "dev", "RC", "Beta"])
@pytest.mark.parametrize("sep", ["-", "~", ""])
def test_every_prerelease_tag_orders_before_its_release(tag, sep):
    text = f"2.1.0{sep}{tag}1"
    v = V(text)
    assert v.prerelease is not None and v.vendor == ""
    assert v < V("2.1.0") and v > V("2.0.99")
    assert V(f"2.1.0{sep}{tag}") < v  # a bare tag sorts before a numbered one


def test_prerelease_precedence():
    # alpha < beta < dev < pre < preview < rc (alphabetical, as SemVer compares words)
    chain = ["1.0-alpha", "1.0-beta", "1.0-dev", "1.0-pre", "1.0-preview", "1.0-rc", "1.0"]
    assert sorted(chain[::-1], key=V) == chain
    assert V("1.0-rc.2") < V("1.0-rc.10")  # numbers compare as numbers
    assert V("1.0-rc.1") == V("1.0-rc1") == V("1.0-RC1") == V("1.0~rc.1")  # separators and case do not count
    assert V("1.0-rc..2") > V("1.0-rc..1")  # an empty part is skipped, not the end
    assert V("1.0-rc.1") < V("1.0-rc.a")  # numbers before words (SemVer)
    assert V("1.0-rc.1.1") > V("1.0-rc.1")


def test_words_that_only_start_like_a_tag_are_vendor_tags():
    for text in ("1.2.3-prod", "1.2.3-devel", "1.2.3-rcx", "1.2Xrc1"):
        v = V(text)
        assert v.prerelease is None, text
        assert v == V("1.2.3") or text == "1.2Xrc1"
    assert V("1.2Xrc1") == V("1.2")


def test_build_metadata_after_a_prerelease():
    v = V("1.2.3-rc.1+a+b")
    assert (v.prerelease, v.vendor) == (((1, "rc"), (0, 1)), "+a+b")
    v = V("1.2.3-rc.1")
    assert (v.prerelease, v.vendor) == (((1, "rc"), (0, 1)), "")
    v = V("1.2.3+build.5")
    assert (v.release, v.prerelease, v.vendor) == ((1, 2, 3), None, "+build.5")
    assert V("1.2.3+build.5") == V("1.2.3")


def test_text_and_repr_keep_the_spelling():
    v = V("  v1.02-eks-1 ")
    assert (str(v), repr(v)) == ("v1.02-eks-1", "Version('v1.02-eks-1')")
    assert v.release == (1, 2)


def test_versions_hash_by_value():
    assert len({V("1.30"), V("1.30.0"), V("v1.30.0-eks-1"), V("1.31")}) == 2
    assert {V("1.2"): "x"}[V("1.2.0")] == "x"


def test_comparison_with_other_types_is_not_equality():
    assert (V("1.2") == "1.2") is False
    assert (V("1.2") != "1.2") is True


@pytest.mark.parametrize("bad", [None, 1.5, ["1"], {"a": 1}])
def test_parse_refuses_non_strings_with_a_version_error(bad):
    with pytest.raises(VersionError, match=f"^expected a version string, got {type(bad).__name__}$"):
        Version.parse(bad)


def test_error_messages():
    with pytest.raises(VersionError, match="^empty version$"):
        V("  ")
    with pytest.raises(VersionError, match=r"^'ubuntu' is not a version \(expected digits separated by dots"):
        V("ubuntu")


def test_parse_version_coercions():
    v = V("1.2")
    assert parse_version(v) is v
    assert parse_version(8) == V("8") and parse_version(8).text == "8"
    assert parse_version("1.2.0") == v and parse_version("1.2.0").text == "1.2.0"
    with pytest.raises(VersionError, match="^expected a version, got the boolean true$"):
        parse_version(True)
    with pytest.raises(VersionError, match="^expected a version, got the boolean false$"):
        parse_version(False)
    with pytest.raises(VersionError, match=r"^expected a version, got the number 24\.04; versions must be strings"):
        parse_version(24.04)
    with pytest.raises(VersionError, match="not a version"):
        parse_version("x")


def test_is_version():
    assert is_version("1.2.3") is True
    assert is_version("v1.33.5-eks-3025e55") is True
    assert is_version("ubuntu") is False
    assert is_version("") is False


def test_version_length_bound_is_exact():
    from eidos.lang.limits import MAX_VERSION_CHARS

    longest = "1." + "0." * ((MAX_VERSION_CHARS - 3) // 2) + "1"
    longest = longest + "0" * (MAX_VERSION_CHARS - len(longest))
    assert len(longest) == MAX_VERSION_CHARS
    assert Version.parse(longest) > Version.parse("1")  # at the bound: a version
    with pytest.raises(VersionError, match=f"a version of {MAX_VERSION_CHARS + 1} characters is too long"):
        Version.parse(longest + "0")


def test_huge_integers_are_refused_by_their_size_not_by_str():
    from eidos.lang.limits import MAX_VERSION_CHARS

    # 4 bits per allowed character: past that the integer is refused before str() is tried,
    # with the bit count in the message (a looser bound would fail later, on the length)
    just_over = 1 << (4 * MAX_VERSION_CHARS)  # bit_length = 4 * MAX + 1
    with pytest.raises(VersionError, match=f"an integer of {4 * MAX_VERSION_CHARS + 1} bits"):
        parse_version(just_over)
    assert parse_version(2 ** 20) == Version.parse("1048576")
