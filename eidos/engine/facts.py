"""Fact values: the one function that turns a raw value into a fact's type.

Three places produce fact values and all go through :func:`coerce_fact`, so a value means
the same thing wherever it comes from:

* flags (``--nodes 8``, ``--fact offset=-1``; :mod:`eidos.cli.facts`, recipe documents);
* rule literals (``when offset == -1``): the compiler passes every constant a condition
  compares a fact with through it and reports a refusal at the condition;
* inference (``infer nodes = K8s.node.count``): a refused snapshot value is recorded with
  the reason so ``--explain`` can show it, never dropped silently.

Rules: enum values match case-insensitively and through aliases; ``int`` is a
non-negative integer (int facts count things: nodes, GPUs; an integral float such as a
measured ``4.0`` is that integer; booleans are not integers); ``float`` is a finite number; ``version`` follows :mod:`eidos.lang.versions`;
``bool`` is true/false (also yes/no and 1/0 from flags); ``string`` is kept verbatim but
may not contain control characters (a newline would end a ``#`` comment in a script).
Surrounding whitespace is ignored except for strings.
"""

from __future__ import annotations

import math
import re

from eidos.errors import UsageError
from eidos.lang import limits
from eidos.lang.diagnostics import did_you_mean

# Python refuses to parse integers past 4,300 digits; a fact never needs more than this.
MAX_INT_DIGITS = limits.MAX_INT_DIGITS  # one bound for rule literals and fact values
_INT = re.compile(r"[+-]?[0-9]+")
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


class FactValueError(UsageError):
    """A value a fact cannot take; ``reason`` says why (without the fact's name)."""

    def __init__(self, fact: str, raw: object, reason: str, *, hint: str | None = None,
                 message: str | None = None):
        super().__init__(message or f"{fact} {reason}", hint=hint)
        self.fact = fact
        self.raw = raw
        self.reason = reason


def _short(raw: object) -> str:
    text = repr(raw) if isinstance(raw, str) else str(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce_fact(fact, raw: object):
    """``raw`` (flag text, rule constant, snapshot value) as a value of ``fact``.

    ``fact`` is anything with ``name``, ``kind``, ``values`` and ``aliases`` (a
    ``FactSchema`` or the checker's ``FactType``). Raises FactValueError.
    """
    kind, name = fact.kind, fact.name
    if kind == "string":
        if not isinstance(raw, str):
            raise FactValueError(name, raw, f"must be a string, got {_short(raw)}")
        bad = next((c for c in raw if ord(c) < 32 or ord(c) == 127), None)
        if bad is not None:  # fact values end up in comments of generated scripts
            raise FactValueError(name, raw, f"must not contain the control character {bad!r}")
        return raw
    if isinstance(raw, (dict, list, tuple)):
        raise FactValueError(name, raw, f"must be a single {kind} value, got a {type(raw).__name__}")
    text = str(raw).strip()
    if kind == "enum":
        lowered = text.lower()
        for value in fact.values:
            if value.lower() == lowered:
                return value
        for alias, target in fact.aliases:
            if alias.lower() == lowered:
                return target
        known = list(fact.values) + [a for a, _ in fact.aliases]
        raise FactValueError(
            name, raw, f"{_short(raw)} is not one of: {', '.join(fact.values)}",
            hint=did_you_mean(lowered, known),
            message=f"{_short(raw)} is not a known {name}; known: {', '.join(fact.values)}",
        )
    if kind == "int":
        if isinstance(raw, bool):
            raise FactValueError(name, raw, f"must be an integer, got {_short(raw)}")
        if isinstance(raw, float):
            if not (math.isfinite(raw) and raw.is_integer()):
                raise FactValueError(name, raw, f"must be an integer, got {_short(raw)}")
            value = int(raw)
        elif isinstance(raw, int):
            value = raw
        elif not _INT.fullmatch(text):
            raise FactValueError(name, raw, f"must be an integer, got {_short(raw)}")
        elif len(text.lstrip("+-")) > MAX_INT_DIGITS:
            raise FactValueError(name, raw, f"must be an integer of at most {MAX_INT_DIGITS} digits")
        else:
            value = int(text)
        if value < 0:
            raise FactValueError(name, raw, f"must not be negative, got {value}")
        return value
    if kind == "float":
        if isinstance(raw, bool):
            raise FactValueError(name, raw, f"must be a number, got {_short(raw)}")
        if isinstance(raw, (int, float)):
            value = float(raw) if not isinstance(raw, int) or abs(raw) < 2**1023 else math.inf
        else:
            try:
                value = float(text)
            except ValueError:
                raise FactValueError(name, raw, f"must be a number, got {_short(raw)}") from None
        if not math.isfinite(value):
            raise FactValueError(name, raw, f"must be a finite number, got {_short(raw)}")
        return value
    if kind == "version":
        from eidos.lang.versions import Version, VersionError

        if isinstance(raw, Version):
            return raw
        if isinstance(raw, bool):
            raise FactValueError(name, raw, f"must be a version, got {_short(raw)}")
        try:
            return Version.parse(text)
        except VersionError as err:
            raise FactValueError(name, raw, f"must be a version: {err}") from None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise FactValueError(name, raw, f"must be true or false, got {_short(raw)}")
    raise AssertionError(f"unknown fact kind {kind!r}")
