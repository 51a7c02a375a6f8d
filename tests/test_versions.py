"""Version semantics: one total order shared by every operator, as users expect."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos.lang.versions import Version, VersionError, parse_version

V = Version.parse


@pytest.mark.parametrize(
    "text, release, prerelease, vendor",
    [
        ("1", (1,), None, ""),
        ("v2", (2,), None, ""),
        ("V1.2", (1, 2), None, ""),
        ("1.2.3.4", (1, 2, 3, 4), None, ""),  # four parts are fine (the reference refused them)
        ("6.8.0-1028-aws", (6, 8, 0), None, "-1028-aws"),
        ("v1.33.5-eks-3025e55", (1, 33, 5), None, "-eks-3025e55"),
        ("v1.32.4-gke.1415000", (1, 32, 4), None, "-gke.1415000"),
        ("1.29.2-hotfix.20240322", (1, 29, 2), None, "-hotfix.20240322"),
        ("580.82.07", (580, 82, 7), None, ""),
        ("24.04", (24, 4), None, ""),
        ("1.2.3-rc.1", (1, 2, 3), ((1, "rc"), (0, 1)), ""),
        ("1.2.3-beta2+build.5", (1, 2, 3), ((1, "beta"), (0, 2)), "+build.5"),
        # GKE Container-Optimized OS kernels end with a bare '+' (uname -r on COS 117: 6.6.72+);
        # before, every kernel rule errored on GKE COS nodes
        ("6.6.72+", (6, 6, 72), None, "+"),
        ("v6.1.100+", (6, 1, 100), None, "+"),
    ],
)
def test_parse(text, release, prerelease, vendor):
    v = V(text)
    assert v.release == release
    assert v.prerelease == prerelease
    assert v.vendor == vendor
    assert str(v) == text


@pytest.mark.parametrize("text", ["", "   ", "a.2.3", "1.b.3", "ubuntu", "1..2", "-1.2", "1.2.", ".1",
                                  "+", "1.2++", "+6.6.72"])
def test_not_versions(text):
    with pytest.raises(VersionError):
        V(text)


@pytest.mark.parametrize(
    "left, op, right, expected",
    [
        ("1.30.5", ">", "1.30", True),  # the reference said false (precision truncation)
        ("1.30", "==", "1.30.0", True),  # missing parts pad with zero
        ("1.30", "<", "1.30.5", True),
        ("2.0.1", "<", "2.0", False),
        ("1.32", ">=", "1.32.4", False),  # the reference said true
        ("1.33.9", "<=", "1.33", False),
        ("v1.33.5-eks-3025e55", ">=", "1.32.4", True),
        ("v1.33.5-eks-3025e55", "==", "1.33.5", True),  # vendor tags do not take part
        ("v1.33.5-eks-3025e55", "<=", "1.33.5", True),
        ("6.8.0-1028-aws", ">=", "6.8", True),
        ("5.15.0-1050-aws", ">=", "6.8", False),
        ("6.6.72+", ">=", "6.6", True),  # the COS '+' is a build tag, ignored by comparison
        ("6.1.100+", ">=", "6.8", False),
        ("6.6.72+", "==", "6.6.72", True),
        ("24.4", "==", "24.04", True),
        ("580.82.07", "<", "580.105.08", True),  # numeric, not lexical
        ("570.86.16", "<", "580.82.07", True),
        ("1.2.3-rc.1", "<", "1.2.3", True),  # pre-releases first
        ("1.2.3-rc.2", "<", "1.2.3-rc.10", True),
        ("1.2.3-alpha", "<", "1.2.3-beta", True),
        ("1.2.3-rc.1", ">", "1.2.2", True),
        ("1.2.3.4", ">", "1.2.3", True),
        ("1.2.3.0", "==", "1.2.3", True),
        ("v25.3.3", "<", "v25.10.1", True),
        ("V1.2", "==", "v1.2", True),
    ],
)
def test_compare(left, op, right, expected):
    a, b = V(left), V(right)
    result = {"==": a == b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    assert result is expected


def test_parse_version_coercions():
    assert parse_version(8) == V("8")
    with pytest.raises(VersionError, match="lose"):
        parse_version(25.1)
    with pytest.raises(VersionError):
        parse_version(True)


_parts = st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=4)
_pre = st.one_of(st.none(), st.tuples(st.sampled_from(["alpha", "beta", "rc", "dev"]), st.integers(0, 12)))
_vendor = st.sampled_from(["", "-eks-3025e55", "-1028-aws", "-gke.1415000", "+build.7"])


@st.composite
def versions(draw):
    text = ".".join(str(p) for p in draw(_parts))
    pre = draw(_pre)
    if pre is not None:
        text += f"-{pre[0]}.{pre[1]}"
    if draw(st.booleans()):
        text = "v" + text
    vendor = draw(_vendor)
    if pre is None or vendor.startswith("+"):
        text += vendor
    return V(text)


@given(versions(), versions())
def test_operators_agree(a, b):
    """Exactly one of <, ==, > holds, and <=, >=, != follow from them."""
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) == (a < b or a == b)
    assert (a >= b) == (a > b or a == b)
    assert (a != b) == (not a == b)
    assert (hash(a) == hash(b)) or a != b


@given(versions(), versions(), versions())
def test_order_is_transitive(a, b, c):
    if a <= b and b <= c:
        assert a <= c
    if a == b and b == c:
        assert a == c


@given(versions())
def test_padding_and_prefix(v):
    padded = V(str(v.text).lstrip("vV").split("-")[0].split("+")[0] + ".0")
    if v.prerelease is None:
        assert padded == v


def test_version_length_is_bounded():
    """Longer text is refused before any part reaches int(), which fails past 4,300 digits."""
    assert Version.parse("1." + "2" * 250).release[1] == int("2" * 250)
    for text in ("1." + "2" * 5000, "v" + "9" * 300):
        with pytest.raises(VersionError, match="too long"):
            Version.parse(text)
    with pytest.raises(VersionError):
        parse_version(10**5000)
    assert parse_version(570) == Version.parse("570")


@given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6))
def test_comparison_key_drops_exactly_the_trailing_zeros(parts):
    """Oracle: strip zeros from the end one by one, keeping at least one part."""
    expected = list(parts)
    while len(expected) > 1 and expected[-1] == 0:
        expected.pop()
    assert Version.parse(".".join(map(str, parts))).key[0] == tuple(expected)
