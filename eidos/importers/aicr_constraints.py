"""AICR constraints (``{name, value}``) as eidos requirements.

AICR's constraint language (ref-aicr.md §2.1) is an optional operator prefix (``>=``,
``<=``, ``!=``, ``==``, ``>``, ``<``, longest first) and a value; ordered operators
compare versions, ``==``/``!=`` compare versions when the value looks like one, and no
operator means exact text. Names are measurement paths ``Type.subtype.key`` split on the
first two dots. What does not fit eidos' expressions comes back as a reason, never as a
guess.
"""

from __future__ import annotations

import re

from eidos.importers import quoting
from eidos.lang.measurements import MEASUREMENT_TYPES

_OPS = (">=", "<=", "!=", "==", ">", "<")
_VERSION = re.compile(r"[vV]?\d+(?:\.\d+)+(?:-[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?(?:\+[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?")
_INT = re.compile(r"\d+")
_LOOKS_VERSION = re.compile(r"^v?(?=.*\d)(?=.*\.)")
SEVERITIES = ("error", "warning", "info")


def requirement_name(constraint_name: str) -> str:
    """``K8s.server.version`` → ``k8s-server-version``: a NAME that stays recognisable."""
    words = re.findall(r"[A-Za-z0-9]+", constraint_name.lower())
    name = "-".join(words) or "constraint"
    return name if name[0].isalpha() else "c-" + name


def measurement_path(name: str) -> str | None:
    parts = name.split(".", 2)
    if len(parts) != 3 or not all(parts) or parts[0] not in MEASUREMENT_TYPES:
        return None
    return quoting.value_path((parts[0], parts[1])) + _segment(parts[2])


def _segment(key: str) -> str:
    return "." + key if quoting.is_name(key) else "[" + quoting.string(key) + "]"


def expression(name: str, value: str) -> tuple[str | None, str]:
    """(eidos expression, "") or (None, why it cannot be expressed)."""
    path = measurement_path(name)
    if path is None:
        head = name.split(".", 1)[0]
        return None, (f"'{name}' is not a measurement path eidos knows (type '{head}' is not one of "
                      f"{', '.join(MEASUREMENT_TYPES)})")
    text = value.strip()
    op = next((o for o in _OPS if text.startswith(o)), None)
    if op is None:
        return f"{path} == {quoting.string(text)}", ""
    operand = text[len(op):].strip()
    versionish = _VERSION.fullmatch(operand) or _INT.fullmatch(operand)
    if op in ("==", "!=") and not _LOOKS_VERSION.match(operand):
        return f"{path} {op} {quoting.string(operand)}", ""
    if not versionish:
        return None, f"'{value}' does not compare a version eidos can read"
    return f"{path} {op} {operand}", ""
