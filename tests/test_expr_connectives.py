"""The unrolled connective closures (``logic.CLOSURE_OF``) are the Kleene functions.

For every combination of operand values (true, false, unknown, and an operand that
raises) and 1–4 operands, each builder must return what its Kleene function returns
when consuming a generator, evaluate the same operands in the same order, and raise in
exactly the same cases.
"""

from __future__ import annotations

from itertools import product

import pytest

from eidos.lang.expr import EvalError
from eidos.lang.expr.logic import CLOSURE_OF, kleene_and, kleene_not, kleene_or

RAISE = "raise"


def _run(fn):
    try:
        return ("value", fn())
    except EvalError:
        return ("raised", None)


@pytest.mark.parametrize("kleene", [kleene_and, kleene_or, kleene_not], ids=lambda f: f.__name__)
def test_builder_matches_kleene_function(kleene):
    sizes = (1,) if kleene is kleene_not else (1, 2, 3, 4)
    for n in sizes:
        for values in product((True, False, None, RAISE), repeat=n):
            calls_fast, calls_ref = [], []

            def part(i, log, values=values):
                def f(lookup):
                    log.append(i)
                    if values[i] == RAISE:
                        raise EvalError("bad value")
                    return values[i]
                return f

            fast = CLOSURE_OF[kleene](tuple(part(i, calls_fast) for i in range(n)))
            ref_parts = tuple(part(i, calls_ref) for i in range(n))
            got = _run(lambda fast=fast: fast(None))
            want = _run(lambda ref_parts=ref_parts: kleene(p(None) for p in ref_parts))
            assert got == want and (got[0] == "raised" or got[1] is want[1]), (kleene.__name__, values)
            assert calls_fast == calls_ref, (kleene.__name__, values)
