"""Regular expressions for ``matches``: RE2, bounded, so evaluation is linear time.

A pattern comes from a rule layer and is evaluated on snapshot values; both are written
by others. Python's backtracking ``re`` takes exponential time on patterns such as
``(a+)+$`` and raises OverflowError on ``a{99999999999}``. RE2 (PyPI ``google-re2``)
guarantees time linear in the subject and refuses what it cannot do that way
(backreferences, lookaround). On top of RE2, the pattern's length, its counted
repetitions and its compiled size are bounded (``eidos.lang.limits``), and every refusal
is a ``RegexError`` whose message the checker reports with the rule's location.
"""

from __future__ import annotations

import re
from functools import lru_cache

from eidos.lang.limits import MAX_REGEX_CHARS, MAX_REGEX_PROGRAM, MAX_REGEX_REPEAT


class RegexError(ValueError):
    """A pattern eidos will not run; the message says why in the author's terms."""




@lru_cache(maxsize=1)
def _re2():
    """(re2 module, options), imported on the first pattern: most CLI runs compile none, and
    the extension costs a few milliseconds of every start-up otherwise."""
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print refusals to stderr; library code never prints
    options.max_mem = 8 << 20  # RE2's own default, pinned: the memory its automata may use
    return re2, options

_COUNTED = re.compile(r"\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")
# The only spellings RE2 reads as a repetition; other brace groups above it matches literally.
_RE2_COUNTED = re.compile(r"\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}")


def _repetitions(pattern: str):
    """(text, numbers) of every counted repetition ``{n}``, ``{n,}``, ``{n,m}`` outside classes.

    RE2 reads ``{99999999999}`` (the number does not fit), ``{010}``, ``{,5}`` and ``{ 5 }`` as
    literal text, which would make an author's mistake silently match braces; eidos
    refuses them instead (see ``compile_pattern``).
    """
    i, in_class, n = 0, False, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":  # a leading ] is a member, not the end
                i += 1
        elif c == "{":
            m = _COUNTED.match(pattern, i)
            if m and (m.group(1) or m.group(2)):
                yield m.group(0), tuple(number for number in m.groups() if number)
                i = m.end()
                continue
        i += 1


def check(pattern: str) -> None:
    """Raise ``RegexError`` unless ``pattern`` is one eidos runs; see ``compile_pattern``."""
    compile_pattern(pattern)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str):
    """The compiled RE2 program for ``pattern`` (cached: rule bases repeat patterns)."""
    if len(pattern) > MAX_REGEX_CHARS:
        raise RegexError(f"pattern of {len(pattern)} characters is too long (the limit is {MAX_REGEX_CHARS})")
    for text, numbers in _repetitions(pattern):
        for number in numbers:
            if len(number) > 6 or int(number) > MAX_REGEX_REPEAT:
                raise RegexError(f"repetition count {number} is too large (the limit is {MAX_REGEX_REPEAT})")
        if not _RE2_COUNTED.fullmatch(text):
            raise RegexError(f"{text} would match the braces literally in RE2; write the count as "
                             "{n}, {n,} or {n,m} with plain numbers (no spaces or leading zeros), "
                             "or escape the brace as \\{")
    re2, options = _re2()
    try:
        program = re2.compile(pattern, options)
    except re2.error as err:
        raise RegexError(_reason(err)) from None
    except (TypeError, ValueError, UnicodeError) as err:  # e.g. text RE2 cannot encode
        raise RegexError(str(err)) from None
    if program.programsize > MAX_REGEX_PROGRAM:
        raise RegexError(f"pattern compiles to {program.programsize} instructions "
                         f"(the limit is {MAX_REGEX_PROGRAM}); simplify its repetitions")
    return program


# RE2's operators; any other character of a pattern stands for itself, and each of these
# does when escaped
_OPERATORS = frozenset("\\.+*?()|[]{}^$")


def literal_alternatives(body: str) -> tuple[str, ...] | None:
    """The texts a pattern ``body`` is made of when it is a literal (``-eks-``, ``ocid1\\.``)
    or a group of literal alternatives (``(Azure Linux|CBL-Mariner)``); None for any other
    body. Only escaped operators count as escaped literals (``\\d``, ``\\b``, ``\\Q`` do not)."""
    grouped = len(body) >= 2 and body[0] == "(" and body[-1] == ")"
    if grouped:
        body = body[1:-1]
    words: list[str] = []
    word: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == "\\":
            escaped = body[i + 1:i + 2]
            if not escaped or escaped not in _OPERATORS:
                return None
            word.append(escaped)
            i += 2
            continue
        if c == "|" and grouped:
            words.append("".join(word))
            word = []
        elif c in _OPERATORS:
            return None
        else:
            word.append(c)
        i += 1
    words.append("".join(word))
    return tuple(words)


@lru_cache(maxsize=4096)
def searcher(pattern: str):
    """``text -> bool``: whether ``pattern`` matches somewhere in ``text`` (as
    ``compile_pattern(pattern).search(text) is not None``, and raising UnicodeEncodeError
    for the same texts).

    Calling RE2 from Python costs ~0.5 µs however short the text (the binding's argument
    and result conversion), several times what a literal test costs; most patterns in
    rules are literals, anchored or not (``^aws://``, ``-eks-``, ``^(Azure Linux|CBL-Mariner)``).
    Such a pattern is tested with ``str.startswith`` or ``in`` on ASCII texts (other
    texts still go to RE2, which decides Unicode and lone surrogates as it always has).
    Other patterns go to RE2's own unanchored match: the wrapper's ``search`` also computes
    match positions in characters, several times the cost, which a ``matches`` test does
    not need; when the binding lacks that entry point, ``search`` is used."""
    regex_found = _re2_searcher(pattern)  # also checks the pattern
    anchored = pattern[:1] == "^"
    words = literal_alternatives(pattern[1:] if anchored else pattern)
    if words is None:
        return regex_found
    if anchored:
        def found_prefix(text: str) -> bool:
            return text.startswith(words) if text.isascii() else regex_found(text)

        return found_prefix

    def found_within(text: str) -> bool:
        if not text.isascii():
            return regex_found(text)
        for word in words:
            if word in text:
                return True
        return False

    return found_within


def _re2_searcher(pattern: str):
    """``searcher`` by RE2 alone."""
    program = compile_pattern(pattern)
    raw = getattr(program, "_regexp", None)
    re2, _ = _re2()
    anchor = getattr(getattr(getattr(re2, "_re2", None), "RE2", None), "Anchor", None)
    if raw is None or anchor is None or not hasattr(raw, "Match"):
        search = program.search
        return lambda text: search(text) is not None
    match, unanchored, no_match = raw.Match, anchor.UNANCHORED, (-1, -1)

    def found(text: str) -> bool:
        data = text.encode("utf-8")
        return match(unanchored, data, 0, len(data))[0] != no_match

    return found


def _reason(err: Exception) -> str:
    detail = err.args[0] if err.args else str(err)
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail)
