"""Bringing a *measured* value to the type a rule's constant has.

Constants are typed at compile time; a snapshot cannot promise the type of what it
holds (``"8"`` for a GPU count, ``4.0`` from a YAML float, ``"v1.33.5-eks-3025e55"`` for a
version). A value that cannot be brought to the constant's type is an ``EvalError``,
which validation reports as an error rather than a silent pass or fail.
"""

from __future__ import annotations

import math
import re

from eidos.lang.versions import Version, VersionError, parse_version


class EvalError(Exception):
    """A measured value that cannot be compared as the rule asks (wrong type)."""


_INT_TEXT = re.compile(r"\s*-?\d+\s*")


def coerce(actual: object, vtype: str):
    """Bring a measured value to the rule's type, or explain why it cannot be."""
    if vtype == "version":
        try:
            return parse_version(actual)
        except VersionError as err:
            raise EvalError(str(err)) from None
    if vtype == "int":
        if isinstance(actual, bool):
            raise EvalError(f"expected an integer, got {str(actual).lower()}")
        if isinstance(actual, int):
            return actual
        if isinstance(actual, float) and actual.is_integer():
            return int(actual)  # a YAML 4.0 is the integer 4
        if isinstance(actual, str) and _INT_TEXT.fullmatch(actual):
            try:
                return int(actual)
            except ValueError:  # past Python's 4,300-digit conversion limit
                raise EvalError(f"expected an integer, got a number of {len(actual.strip())} digits") from None
        raise EvalError(f"expected an integer, got {_show(actual)}")
    if vtype == "float":
        if isinstance(actual, bool):
            raise EvalError(f"expected a number, got {str(actual).lower()}")
        try:
            number = float(actual) if isinstance(actual, (int, float)) else float(str(actual))
        except (ValueError, OverflowError):
            raise EvalError(f"expected a number, got {_show(actual)}") from None
        if not math.isfinite(number):
            raise EvalError(f"expected a finite number, got {_show(actual)}")
        return number
    if vtype == "bool":
        if isinstance(actual, bool):
            return actual
        if isinstance(actual, str) and actual.strip().lower() in ("true", "false"):
            return actual.strip().lower() == "true"
        raise EvalError(f"expected true or false, got {_show(actual)}")
    if vtype in ("string", "enum"):
        if isinstance(actual, bool):
            return "true" if actual else "false"
        if isinstance(actual, (dict, list)):
            raise EvalError(f"expected text, got a {'map' if isinstance(actual, dict) else 'list'}")
        return str(actual) if actual is not None else ""
    raise AssertionError(vtype)


def _show(actual: object) -> str:
    """A short repr for messages: a megabyte of snapshot text is not a useful message."""
    text = repr(actual)
    return text if len(text) <= 80 else text[:77] + "..."


def coercer(vtype: str):
    """``coerce`` specialised for one type, with the common case (already right) first:
    closures are built once and run for every snapshot of a fleet."""
    exact = {"int": int, "string": str, "enum": str, "bool": bool, "float": float}.get(vtype)
    if exact is None:
        return lambda actual: coerce(actual, vtype)
    if vtype == "float":
        def fast_float(actual):
            return actual if type(actual) is float and math.isfinite(actual) else coerce(actual, vtype)

        return fast_float

    def fast(actual):
        return actual if type(actual) is exact else coerce(actual, vtype)

    return fast


def as_int_or_version(actual: object, expected: int):
    """A measured value against an integer: numerically, or as versions when the value is a
    dotted version (``GPU.smi.driver >= 570`` with ``580.82.07`` compares 580.82.07 with 570)."""
    try:
        return coerce(actual, "int"), expected
    except EvalError:
        if isinstance(actual, str) and "." in actual:
            try:
                return parse_version(actual), Version.parse(str(expected))
            except VersionError:
                pass
        raise
