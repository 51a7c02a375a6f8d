"""YAML in and out, the one place eidos touches ruamel.yaml.

Loading returns plain Python values (dict, list, str, int, float, bool, None), never
ruamel's comment-carrying subclasses, so nothing downstream depends on the YAML library.
Aliases are allowed, but a document that expands past ``MAX_NODES`` values is refused:
deep-merging a "billion laughs" document would otherwise exhaust memory. Every document is
first checked by :mod:`eidos.io.limits` (depth, size, integer length, tags, alias expansion)
before the C composer, which cannot defend itself against deep nesting, sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eidos.errors import InputError
from eidos.io import limits

MAX_NODES = limits.MAX_VALUES
# ints beyond this cannot be printed back (int -> str is bounded like str -> int)
_MAX_INT = 10**limits.MAX_INT_DIGITS

Lines = dict  # value path (tuple) -> 1-based line number


def _yaml(typ: str, *, pure: bool = True):
    from ruamel.yaml import YAML

    y = YAML(typ=typ, pure=pure)
    y.allow_duplicate_keys = False
    return y


def _plain(node: Any, budget: list[int], path: tuple, lines: Lines | None) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise InputError(f"document expands to more than {MAX_NODES} values (YAML alias bomb?)")
    if isinstance(node, dict):
        out = {}
        lc = getattr(node, "lc", None)
        for key, value in node.items():
            k = key if isinstance(key, (str, int, float, bool)) or key is None else str(key)
            if isinstance(k, (int, float, bool)) or k is None:
                k = json.dumps(k) if not isinstance(k, str) else k
            if lines is not None and lc is not None:
                try:
                    lines[path + (k,)] = lc.key(key)[0] + 1
                except (KeyError, TypeError, AttributeError):
                    pass
            out[k] = _plain(value, budget, path + (k,), lines)
        return out
    if isinstance(node, (list, tuple)):
        lc = getattr(node, "lc", None)
        items = []
        for i, value in enumerate(node):
            if lines is not None and lc is not None:
                try:
                    lines[path + (i,)] = lc.item(i)[0] + 1
                except (KeyError, TypeError, AttributeError, IndexError):
                    pass
            items.append(_plain(value, budget, path + (i,), lines))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        if not -_MAX_INT < node < _MAX_INT:
            raise InputError(f"integer with more than {limits.MAX_INT_DIGITS} digits")
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    # timestamps and other YAML scalars: keep their text, the form the author wrote
    return str(node)


@contextmanager
def _parse_errors(name: str) -> Iterator[None]:
    """One translation of the YAML parser's failures into located input errors."""
    import warnings

    from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError

    try:
        with warnings.catch_warnings():
            # an anchor defined twice makes every later alias ambiguous to a reader: refuse it
            warnings.simplefilter("error", ReusedAnchorWarning)
            yield
    except ReusedAnchorWarning as err:
        # the pure parser (used for line numbers) warns where the C parser raises; the
        # warning carries only text: "found duplicate anchor 'x'", then both places
        text = str(err.args[0] if err.args else err)
        anchor = re.search(r"duplicate anchor '([^']*)'", text)
        lines = re.findall(r"line (\d+), column (\d+)", text)
        where = f"{name}:{lines[-1][0]}:{lines[-1][1]}" if lines else name
        since = f"; first defined at line {lines[0][0]}" if len(lines) > 1 else ""
        what = f"anchor '{anchor.group(1)}'" if anchor else "an anchor"
        raise InputError(f"{where}: invalid YAML: {what} defined twice{since}") from None
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        if "duplicate anchor" in str(err.context) and err.context_mark is not None:
            raise InputError(f"{where}: invalid YAML: an anchor defined twice; first defined at "
                             f"line {err.context_mark.line + 1}") from None
        raise InputError(f"{where}: invalid YAML: {err.problem or err.context}") from None
    except YAMLError as err:
        raise InputError(f"{name}: invalid YAML: {err}") from None
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply") from None
    except ValueError as err:  # a scalar the constructor cannot convert (defence in depth)
        raise InputError(f"{name}: invalid YAML value: {err}") from None


def load(text: str, name: str = "<input>", *, with_lines: bool = False, max_values: int = MAX_NODES):
    """Parse one YAML document. With ``with_lines`` also return {path: line} for keys."""
    limits.check_yaml(text, name, max_values=max_values)
    with _parse_errors(name):
        # the C parser (ruamel.yaml.clib) is several times faster; line numbers need "rt"
        raw = _yaml("rt", pure=True).load(text) if with_lines else _yaml("safe", pure=False).load(text)
    lines: Lines | None = {} if with_lines else None
    try:
        data = _plain(raw, [max_values], (), lines)
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply") from None
    except InputError as err:
        raise InputError(f"{name}: {err.message}") from None
    return (data, lines) if with_lines else data


def load_all(text: str, name: str = "<input>") -> list:
    limits.check_yaml(text, name)
    with _parse_errors(name):
        docs = list(_yaml("safe", pure=False).load_all(text))
    budget = [MAX_NODES]
    try:
        return [_plain(d, budget, (), None) for d in docs if d is not None]
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply") from None
    except InputError as err:
        raise InputError(f"{name}: {err.message}") from None


# Strings a YAML 1.1 reader (Go's go-yaml, used by Helm, Argo CD, Flux and kubectl) would
# take for something else: ``on`` is true there, ``1:20`` is a number, ``25.10`` a float.
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "", "<<", "="}
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_FLOAT11 = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?$")
# Characters a YAML reader treats as line breaks: in a plain or single-quoted scalar they
# would come back as spaces, so strings holding them are written double-quoted (escaped).
_ODD_BREAKS = ("\x85", "\u2028", "\u2029", "\r")


_DIGIT = re.compile(r"\d")  # what int() and float() take as digits (Unicode Nd)
_NON_FINITE = re.compile(r"[+-]?(inf|infinity|nan)", re.IGNORECASE)


def _is_number(text: str) -> bool:
    """Would Go's ParseInt (base 0) or ParseFloat, go-yaml's fallbacks, accept it?

    Without a digit only float's spellings of infinity and NaN parse: that test first
    spares most strings two raised exceptions (a profile of ``eidos recipe`` put this
    function at a tenth of writing the YAML)."""
    plain = text.replace("_", "")
    if not _DIGIT.search(plain):
        return bool(_NON_FINITE.fullmatch(plain.strip()))
    for parse in (lambda t: int(t, 0), float):
        try:
            parse(plain)
            return True
        except ValueError:
            pass
    return False


def ambiguous(text: str) -> bool:
    """True when a YAML 1.1 or 1.2 reader could read the plain string as a non-string."""
    if text.lower() in _YAML11_WORDS:
        return True
    plain = text.replace("_", "")
    if not _DIGIT.search(plain):
        # most strings (issue 17): without a digit, no sexagesimal or timestamp matches,
        # _FLOAT11 only as dots and signs ("."), and _is_number only inf/nan spellings
        return bool(_NON_FINITE.fullmatch(plain.strip()) or _FLOAT11.match(text))
    return _is_number(text) or bool(_SEXAGESIMAL.match(text) or _TIMESTAMP.match(text) or _FLOAT11.match(text))


def _fits_literal_block(text: str) -> bool:
    """A ``|`` block reproduces the text exactly only without edge whitespace on its lines."""
    lines = text.split("\n")
    return not text[:1].isspace() and all(line == line.rstrip(" \t") for line in lines)


_PLAIN_ASCII = re.compile(r"[ -~]*\Z")  # printable ASCII only


def str_style(data: str) -> str | None:
    """The scalar style a string is written in: ``'"'``, ``"|"``, ``"'"`` or None (plain if the emitter may)."""
    if _PLAIN_ASCII.match(data):  # the common case: nothing to escape, no line break
        return "'" if ambiguous(data) else None
    if any(ch in data for ch in _ODD_BREAKS) or not all(c.isprintable() or c in "\n\t" for c in data):
        return '"'  # only double quotes can escape these
    if "\n" in data and _fits_literal_block(data):
        return "|"
    if ambiguous(data):
        return "'"
    return None


def _dumper():
    from ruamel.yaml.representer import SafeRepresenter

    class Representer(SafeRepresenter):
        pass

    def represent_str(representer, data: str):
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style=str_style(data))

    Representer.add_representer(str, represent_str)
    y = _yaml("safe")
    y.Representer = Representer
    y.default_flow_style = False
    y.sort_base_mapping_type_on_output = False
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def dump(data: Any) -> str:
    """Block-style YAML, keys in the order given (callers order them deliberately), every
    string quoted where any YAML reader, 1.1 or 1.2, could mistake it for another type.

    The text is ruamel's; :mod:`eidos.io.yamlemit` writes the same bytes without importing
    ruamel (the start-up cost of issue 17), and hands anything it cannot reproduce exactly
    back to ruamel (:func:`dump_ruamel`)."""
    from eidos.io import yamlemit

    try:
        return yamlemit.dump(data, str_style)
    except yamlemit.Unsupported:
        return dump_ruamel(data)


def dump_ruamel(data: Any) -> str:
    """:func:`dump` through ruamel.yaml's own emitter: the reference the fast path is tested against."""
    import io

    buf = io.StringIO()
    _dumper().dump(data, buf)
    return buf.getvalue()


def dump_json(data: Any) -> str:
    """Strict JSON: NaN and infinities have no JSON spelling, so a document holding one is
    refused (naming where) rather than printed as ``Infinity``, which JSON readers reject."""
    try:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        where, what = _unwritable(data, ())
        raise InputError(
            f"cannot write JSON: {_show(where) or 'the document'} is {what}, "
            "which JSON cannot represent",
            hint="write YAML instead, or fix the value at its source",
        ) from None


def _unwritable(value: Any, path: tuple) -> tuple[tuple, Any]:
    """The first value strict JSON cannot hold (a non-finite float or an over-long int)."""
    import math

    stack = [(path, value)]
    while stack:
        at, v = stack.pop()
        if isinstance(v, dict):
            stack.extend((at + (k,), item) for k, item in reversed(list(v.items())))
        elif isinstance(v, (list, tuple)):
            stack.extend((at + (i,), item) for i, item in reversed(list(enumerate(v))))
        elif isinstance(v, float) and not math.isfinite(v):
            return at, str(v)
        elif isinstance(v, int) and not isinstance(v, bool) and not -_MAX_INT < v < _MAX_INT:
            return at, f"an integer with more than {limits.MAX_INT_DIGITS} digits"
    return (), "a value"


def _show(path: tuple) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else ("." if out else "") + str(seg)
    return out
