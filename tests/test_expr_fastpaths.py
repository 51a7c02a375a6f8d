"""The fast paths of atom evaluation give the answers of the plain ones.

``regex.searcher`` (RE2's own unanchored match) against the wrapper's ``search``, and the
per-text caches of version comparisons (``versions.version_key``) and ``matches`` against a
fresh evaluation, on texts that repeat, vary, are not ASCII, and overflow the cache.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eidos.lang.expr import EvalError, compile_closure, regex
from eidos.lang.expr.ir import Cmp, Const, Match, Operand
from eidos.lang.expr.registry import TEXT_MEMO_LIMIT
from eidos.lang.measurements import MISSING
from eidos.lang.versions import Version, version_key

PATTERNS = ["^v1\\.", "^(ab|é+)[0-9]", "x$", "[[:alpha:]]{2,3}-", "^$", "a.c", "(?i)EKS"]
texts = st.text(alphabet=st.sampled_from("abcxv1.-é0EKSeks9 \n"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), text=texts)
def test_searcher_agrees_with_search(pattern, text):
    assert regex.searcher(pattern)(text) is (regex.compile_pattern(pattern).search(text) is not None)


def test_searcher_refuses_a_lone_surrogate_like_search():
    with pytest.raises(UnicodeEncodeError):
        regex.compile_pattern("a").search("a\ud800")
    with pytest.raises(UnicodeEncodeError):
        regex.searcher("a")("a\ud800")


def _path():
    return Operand("path", "K8s.server.version", ("K8s", "server", "version"))


@pytest.mark.parametrize("op", [">=", "<", "==", "!="])
def test_version_answers_survive_the_memo(op):
    expected = Version.parse("1.30.2")
    fn = compile_closure(Cmp(op, _path(), Const("version", expected, "1.30.2")))
    values = [f"v1.{minor}.{patch}" for minor in range(28, 33) for patch in range(4)] * 3
    values += [f"1.30.{i}" for i in range(version_key.cache_info().maxsize + 5)]  # past the cache's bound
    import operator
    test = {">=": operator.ge, "<": operator.lt, "==": operator.eq, "!=": operator.ne}[op]
    for text in values:
        assert fn(lambda _, text=text: text) is test(Version.parse(text.lstrip("v")), expected), text
    assert fn(lambda _: MISSING) is None
    with pytest.raises(EvalError):
        fn(lambda _: "not a version")
    with pytest.raises(EvalError):  # an error is not remembered as an answer
        fn(lambda _: "not a version")


def test_match_answers_survive_the_memo():
    fn = compile_closure(Match(_path(), "^v1\\.3[0-9]"))
    for text in ["v1.33.5", "v1.29", "v1.33.5", "x", 133, True] * 2 + [f"v1.{i}" for i in range(TEXT_MEMO_LIMIT + 3)]:
        want = regex.compile_pattern("^v1\\.3[0-9]").search(
            "true" if text is True else str(text)) is not None
        assert fn(lambda _, text=text: text) is want, text
    with pytest.raises(EvalError):
        fn(lambda _: "v1\ud800")
