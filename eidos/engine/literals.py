"""Rule literals in ``set`` turned into plain YAML values (no file I/O, no graph).

Versions must be quoted (``set driver.version = 580.82.07`` would otherwise not be the
text it looks like), a dotted number such as ``25.10`` is the float 25.1 (with W503 when
that loses a trailing zero), and a number YAML/JSON cannot carry (``1e999`` is infinity)
is refused: it would print as ``Infinity``, which no JSON parser reads.
"""

from __future__ import annotations

import math
import re

from eidos.lang import ast
from eidos.lang.diagnostics import Reporter


def set_value(lit: ast.Literal, r: Reporter):
    """The plain value of a ``set`` literal; problems are reported at the literal."""
    k = lit.kind
    if k in ("string", "int", "bool", "null"):
        return lit.value
    if k == "float":
        if not math.isfinite(lit.value):
            r.error("E301", f"{lit.value!r} is not a finite number", lit.span,
                    hint="Helm values are JSON-compatible: write a finite number, or quote it as a string")
            return None
        return lit.value
    if k == "version":
        text = str(lit.value)
        if re.fullmatch(r"\d+\.\d+", text):
            if text.endswith("0"):
                r.warning("W503", f"{text} is the number {float(text)!r} in Helm values", lit.span,
                          hint=f'quote it to keep the text: "{text}"')
            return float(text)
        r.error("E301", f"version {text} in a value must be quoted", lit.span, hint=f'write "{text}"')
        return text
    if k == "symbol":
        r.error("E301", f"bare word '{lit.value}' in a value", lit.span, hint=f'quote strings: "{lit.value}"')
        return lit.value
    if k == "list":
        return [set_value(item, r) for item in lit.value]
    if k == "map":
        out = {}
        for key, item in lit.value:
            if key in out:
                r.error("E205", f"key '{key}' appears twice in a map", item.span)
            out[key] = set_value(item, r)
        return out
    raise AssertionError(k)
