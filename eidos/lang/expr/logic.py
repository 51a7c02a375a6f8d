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
