"""Three-valued (Kleene) logic, written once for evaluation and for ``trace``.

``None`` is *unknown*: a fact the query does not give, a path the snapshot lacks, a
measured value that cannot be compared. A condition holds only when it is ``True``.

Each function takes the operands' values as an iterable and consumes it lazily, so a
closure passes a generator and short-circuits (``False and …`` stops), while ``trace``
passes a list so every atom is evaluated and recorded. Same function, same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

Truth = Optional[bool]  # True | False | None (unknown)


def kleene_and(values: Iterable[Truth]) -> Truth:
    """False if any operand is false; else unknown if any is unknown; else True (also for none)."""
    unknown = False
    for value in values:
        if value is False:
            return False
        if value is None:
            unknown = True
    return None if unknown else True


def kleene_or(values: Iterable[Truth]) -> Truth:
    """True if any operand is true; else unknown if any is unknown; else False (also for none)."""
    unknown = False
    for value in values:
        if value is True:
            return True
        if value is None:
            unknown = True
    return None if unknown else False


def kleene_not(values: Iterable[Truth]) -> Truth:
    """The negation of exactly one operand; ``not unknown`` is unknown."""
    (value,) = values
    return None if value is None else not value


# ---------------------------------------------------------------- closures of the connectives
#
# A closure built as ``combine(part(lookup) for part in parts)`` pays for a generator and a
# loop on every evaluation, which profiling showed to be ~40 % of evaluating a typical
# requirement. These builders give the same function with the loop unrolled: operands are
# evaluated left to right and evaluation stops at the first deciding value, exactly where
# the Kleene function above stops consuming its iterable (so an operand that would raise
# is reached, or not, in the same cases). ``tests/test_expr.py`` checks each builder
# against its Kleene function on every combination of values.


def _kleene_closure(parts: tuple, stop: bool):
    """``and`` (``stop`` False) or ``or`` (``stop`` True) over ``parts``, unrolled: the first
    operand giving ``stop`` decides; otherwise unknown if any was unknown, else ``not stop``."""
    rest = not stop
    if len(parts) == 2:
        first, second = parts

        def two(lookup):
            a = first(lookup)
            if a is stop:
                return stop
            b = second(lookup)
            if b is stop:
                return stop
            return None if a is None or b is None else rest

        return two

    def many(lookup):
        unknown = False
        for part in parts:
            value = part(lookup)
            if value is stop:
                return stop
            if value is None:
                unknown = True
        return None if unknown else rest

    return many


def and_closure(parts: tuple):
    """``lambda lookup: kleene_and(p(lookup) for p in parts)``, unrolled."""
    return _kleene_closure(parts, False)


def or_closure(parts: tuple):
    """``lambda lookup: kleene_or(p(lookup) for p in parts)``, unrolled."""
    return _kleene_closure(parts, True)


def not_closure(parts: tuple):
    """``lambda lookup: kleene_not([part(lookup)])``."""
    (part,) = parts

    def negation(lookup):
        value = part(lookup)
        return None if value is None else not value

    return negation


# Kleene function -> its closure builder (closures.compile_closure looks connectives up here)
CLOSURE_OF = {kleene_and: and_closure, kleene_or: or_closure, kleene_not: not_closure}
