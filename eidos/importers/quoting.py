"""The one way importers spell data as ``.eidos`` source text.

Generated rules must read back as exactly the data that went in, whatever it holds
(quotes, backslashes, newlines, keywords used as map keys, floats that look like
versions). Every string, name, value path and ``set`` value an importer writes goes
through these functions; tests/importers/test_quoting.py round-trips them through eidos'
own parser with hypothesis.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")
# words the grammar lexes as something other than a name where a value or key may stand
_RESERVED = frozenset({"true", "false", "null", "always", "in", "not", "and", "or", "matches",
                       "startswith", "endswith", "contains", "exists"})
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unquotable(ValueError):
    """A value the grammar cannot carry (a lone surrogate, NaN, an infinite float)."""


def string(text: str) -> str:
    """A STRING token for ``text``: JSON escapes, ASCII only, so it always ends on its line."""
    if not isinstance(text, str):
        raise Unquotable(f"not text: {text!r}")
    if _SURROGATE.search(text):
        raise Unquotable("text holds a lone surrogate, which is not encodable")
    return json.dumps(text, ensure_ascii=True)


def is_name(text: str) -> bool:
    """Can ``text`` stand as a bare NAME (overlay, component, fact value, plain key)?"""
    return bool(_NAME.fullmatch(text)) and text not in _RESERVED


def key(text: str) -> str:
    """A map key or value-path segment: bare where it is a plain name, else quoted."""
    return text if is_name(text) else string(text)


def value_path(segments: tuple) -> str:
    """A value path (``a.b."c.d"[0]``) for ``set``/``unset``."""
    if not segments or isinstance(segments[0], int):
        raise Unquotable("a value path starts with a key")
    out = []
    for i, seg in enumerate(segments):
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        else:
            out.append(key(str(seg)) if i == 0 else "." + key(str(seg)))
    return "".join(out)


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise Unquotable(f"{value} is not a finite number")
    text = repr(value)
    if "e" not in text and "E" not in text:
        # 1.5 would lex as a version literal: the exponent form is unambiguously a float
        text = f"{text}e0" if "." in text else f"{text}.0e0"
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if mantissa.startswith("-"):
        return f"{mantissa}e{exponent}"  # SIGNED_FLOAT needs the fraction
    return f"{mantissa}e{exponent}"


def value(data: Any) -> str:
    """A ``set`` value: YAML data as the grammar's literal (strings quoted, floats unambiguous)."""
    if data is None:
        return "null"
    if data is True:
        return "true"
    if data is False:
        return "false"
    if isinstance(data, int):
        return str(data)
    if isinstance(data, float):
        return _number(data)
    if isinstance(data, str):
        return string(data)
    if isinstance(data, (list, tuple)):
        return "[" + ", ".join(value(v) for v in data) + "]"
    if isinstance(data, dict):
        return "{" + ", ".join(f"{key(str(k))}: {value(v)}" for k, v in data.items()) + "}"
    raise Unquotable(f"cannot write a {type(data).__name__} as a value")
