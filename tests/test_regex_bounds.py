"""The regular-expression bounds of ``matches``, pinned where a wrong pre-scan would differ.

``eidos.lang.expr.regex`` scans a pattern for counted repetitions before RE2 sees it, so
``a{99999999999}`` is refused instead of silently matching braces. The scan must skip
what is not a repetition (escaped braces, braces inside character classes, including the
classes ``[]...]`` and ``[^]...]`` whose leading ``]`` is a member) and must not stop
early. The refusal messages are asserted whole: RE2 refuses some of the same patterns
with its own wording, so a scan that missed a count would still raise, but say the
wrong thing. Expected values are written by hand from the RE2 syntax.
"""

from __future__ import annotations

import pytest

from eidos.lang.expr import regex
from eidos.lang.expr.regex import RegexError, compile_pattern
from eidos.lang.limits import MAX_REGEX_PROGRAM, MAX_REGEX_REPEAT

TOO_LARGE = "repetition count {} is too large (the limit is 1000)"


def refusal(pattern: str) -> str:
    with pytest.raises(RegexError) as info:
        compile_pattern(pattern)
    return str(info.value)


def test_the_limits_these_tests_are_written_for():
    assert (MAX_REGEX_REPEAT, MAX_REGEX_PROGRAM) == (1000, 10_000)


@pytest.mark.parametrize(
    "pattern, number",
    [
        ("a{1001}", "1001"),
        ("a{1,1001}", "1001"),
        ("a{1001,}", "1001"),
        ("a{ 1001 }", "1001"),
        ("a{,1001}", "1001"),  # no lower bound: RE2 reads it as text; eidos still refuses the count
        ("a{0000100}", "0000100"),  # seven digits: refused on length, before the number is read
        ("a{99999999999}", "99999999999"),
        ("[ab]{1001}", "1001"),  # a repetition after a closed class counts
        ("[^a]{1001}", "1001"),
        ("[]]{1001}", "1001"),  # the class is `]` alone; the count follows it
        ("[^]]{1001}", "1001"),
        ("\\[{1001}]", "1001"),  # an escaped [ opens no class
        ("\\.a{1001}", "1001"),  # the scan goes on after an escape
        ("a{2}b{1001}", "1001"),  # and after a repetition it accepted
        ("a{2,3}b{1001}", "1001"),
        ("{1001}", "1001"),  # at the very start
    ],
)
def test_counted_repetitions_over_the_limit_are_refused_by_eidos(pattern, number):
    assert refusal(pattern) == TOO_LARGE.format(number)


@pytest.mark.parametrize(
    "pattern, subject, found",
    [
        ("a{1000}", "a" * 1000, True),  # at the limit
        ("a{1,1000}", "b", False),
        ("a{999}", "a" * 999, True),
        ("\\{1001}", "{1001}", True),  # an escaped brace is text, not a repetition
        ("a\\{1001}", "a{1001}", True),
        ("[{1001}]", "1", True),  # braces inside a class are members
        ("[x{1001}]", "}", True),
        ("[]{1001}]", "]", True),  # a leading ] is a member: the class runs to the last ]
        ("[]{1001}]", "{", True),
        ("[^]{1001}]", "x", True),  # likewise after ^
        ("[^]{1001}]", "1", False),
        ("x{1000}[{1001}]", "x" * 1000 + "{", True),
    ],
)
def test_braces_that_are_not_repetitions_are_not_counted(pattern, subject, found):
    assert (compile_pattern(pattern).search(subject) is not None) is found


def test_the_compiled_size_limit_is_inclusive():
    at_limit = "a{1000}" * 9 + "a{996}"
    assert compile_pattern(at_limit).programsize == MAX_REGEX_PROGRAM
    over = "a{1000}" * 9 + "a{997}"
    assert refusal(over) == ("pattern compiles to 10001 instructions (the limit is 10000); "
                             "simplify its repetitions")


def test_re2_memory_is_pinned_at_eight_mebibytes():
    """``\\pL`` is a large class: ``\\pL{400}`` fits in RE2's 8 MiB and is refused for its
    size by eidos; ``\\pL{474}`` does not fit (it would in 9 MiB), so RE2 itself refuses it."""
    assert refusal("\\pL{400}").startswith("pattern compiles to ")
    assert refusal("\\pL{474}") == "pattern too large - compile failed"


def test_refusals_from_re2_are_text_not_bytes():
    assert refusal("(") == "missing ): ("
    assert refusal("a**") == "bad repetition operator: **"
    assert refusal("\\é") == "invalid escape sequence: \\é"


def test_reason_decodes_bytes_and_survives_invalid_utf8():
    assert regex._reason(ValueError(b"bad \xc3\xa9")) == "bad é"
    assert regex._reason(ValueError(b"bad \xff!")) == "bad \ufffd!"
    assert regex._reason(ValueError("plain text")) == "plain text"
    assert regex._reason(ValueError()) == ""


@pytest.mark.parametrize("pattern", ["a{010}", "a{,5}", "a{ 5 }", "a{05,7}", "a{2, 3}", "x(ab){01}"])
def test_counts_re2_would_read_as_literal_text_are_refused(pattern):
    # RE2 matches these braces literally ("a{010}" matches the text a{010}, not ten a's);
    # an author who wrote them meant a count, so eidos refuses instead of silently matching
    from eidos.lang.expr.regex import RegexError, compile_pattern

    with pytest.raises(RegexError, match="would match the braces literally in RE2"):
        compile_pattern(pattern)


@pytest.mark.parametrize(("pattern", "subject"), [("^a{10}$", "a" * 10), ("^a{0,1}$", ""), ("^a{2,}$", "aaa")])
def test_plain_counts_still_repeat(pattern, subject):
    from eidos.lang.expr.regex import compile_pattern

    assert compile_pattern(pattern).search(subject)


def test_pattern_length_bound_is_inclusive():
    from eidos.lang.expr.regex import RegexError
    from eidos.lang.limits import MAX_REGEX_CHARS

    assert compile_pattern("a" * MAX_REGEX_CHARS).search("a" * MAX_REGEX_CHARS)
    with pytest.raises(RegexError, match=f"pattern of {MAX_REGEX_CHARS + 1} characters is too long"):
        compile_pattern("a" * (MAX_REGEX_CHARS + 1))


@pytest.mark.parametrize(("pattern", "subject"), [("a{x}", "a{x}"), ("{}", "{}"), ("x{", "x{")])
def test_a_brace_that_starts_no_count_is_text(pattern, subject):
    assert compile_pattern(pattern).search(subject)
