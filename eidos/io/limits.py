"""Resource bounds on untrusted YAML and JSON text, checked before a document is built.

Snapshots, recipe documents and values files come from other machines and other people.
The C YAML composer (ruamel.yaml.clib) builds nodes by C recursion, so ~30,000 nested ``[``
overflow the C stack and kill the process (SIGSEGV) before Python can raise anything; Python
refuses ``int()`` of more than 4,300 digits with a bare ``ValueError``; a few aliases can
expand to billions of values. Everything downstream (validation, canonical ordering,
deep merge, the emitters) is recursive Python, so depth must be bounded well below the
interpreter's recursion limit too.

So every document is scanned first, in one linear pass that cannot itself recurse:

* YAML: libyaml's *event* stream (its scanner and parser are iterative state machines with
  explicit stacks; only the composer recurses). The scan stops at the first event past a
  limit, so its cost is bounded by the limits, and every refusal carries ``file:line:col``.
  The same pass refuses tags outside the JSON-compatible core schema (``!!python/...``,
  ``!custom``) and counts what aliases would expand to.
* JSON: a tokenising regular expression (strings consumed whole, possessively, so an
  unterminated string cannot make it quadratic) over brackets and digit runs.
"""

from __future__ import annotations

import math
import re

from eidos.errors import InputError

MAX_DEPTH = 100  # nested collections; real snapshots need ~8, Helm values files ~15
MAX_INT_DIGITS = 4300  # Python's own int/str conversion limit (sys.int_info.default_max_str_digits)
MAX_TEXT_CHARS = 64 * 1024 * 1024
MAX_VALUES = 1_000_000  # values a document may expand to, aliases included

_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(
    {None, "!"} | {_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}
)

# YAML 1.2 (ruamel's default) and 1.1 integer forms; the digits group is what int() sees.
_INT_FORMS = (
    (re.compile(r"[-+]?0b([0-1_]+)"), 2),
    (re.compile(r"[-+]?0x([0-9a-fA-F_]+)"), 16),
    (re.compile(r"[-+]?0o?([0-7_]+)"), 8),
    (re.compile(r"[-+]?([0-9][0-9_]*)"), 10),
)


def _where(name: str, mark) -> str:
    if mark is None:
        return name
    return f"{name}:{mark.line + 1}:{mark.column + 1}"


def int_digits(text: str) -> int:
    """Decimal digits of the integer a plain scalar would become (0 if it is not one)."""
    if len(text) <= 20:
        return 0
    for pattern, base in _INT_FORMS:
        m = pattern.fullmatch(text)
        if m:
            digits = len(m.group(1).replace("_", ""))
            return digits if base == 10 else math.ceil(digits * math.log10(base))
    return 0


def _check_size(text: str, name: str, limit: int) -> None:
    if len(text) > limit:
        raise InputError(f"{name}: document larger than {limit // (1024 * 1024)} MiB")


def check_yaml(
    text: str,
    name: str,
    *,
    max_depth: int = MAX_DEPTH,
    max_values: int = MAX_VALUES,
    max_chars: int = MAX_TEXT_CHARS,
) -> None:
    """Refuse (``InputError`` with a location) YAML that is too large, too deep, holds an
    over-long integer or an unknown tag, or whose aliases expand past ``max_values``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    _check_size(text, name, max_chars)
    # stack of [anchor, values so far, is_mapping, items seen] per open collection
    stack: list[list] = []
    sizes: dict[str, int] = {}  # anchor -> values its node expands to
    open_anchors: set[str] = set()
    total = 0

    def add(count: int, mark) -> None:
        nonlocal total
        if stack:
            frame = stack[-1]
            is_key = frame[2] and frame[3] % 2 == 0
            frame[3] += 1
            if is_key:
                return  # _plain counts values, not keys
            frame[1] += count
        total += count
        if total > max_values:
            raise InputError(
                f"{_where(name, mark)}: document expands to more than {max_values} values "
                "(YAML alias bomb?)"
            )

    def check_tag(ev) -> None:
        if ev.tag not in ALLOWED_TAGS:
            raise InputError(
                f"{_where(name, ev.start_mark)}: YAML tag {ev.tag!r} is not allowed "
                "(only plain data: mappings, lists, strings, numbers, booleans, null)"
            )

    def start(ev) -> None:
        check_tag(ev)
        if len(stack) >= max_depth:
            raise InputError(
                f"{_where(name, ev.start_mark)}: nested deeper than {max_depth} levels"
            )
        add(1, ev.start_mark)
        stack.append([ev.anchor, 0, isinstance(ev, MappingStartEvent), 0])
        if ev.anchor is not None:
            open_anchors.add(ev.anchor)

    def end(ev) -> None:
        anchor, inner = stack.pop()[:2]
        if stack and not (stack[-1][2] and stack[-1][3] % 2 == 1):
            stack[-1][1] += inner
        if anchor is not None:
            open_anchors.discard(anchor)
            sizes[anchor] = inner + 1

    def scalar(ev) -> None:
        check_tag(ev)
        if (ev.tag == _CORE + "int" or (not ev.style and ev.tag is None)) and int_digits(ev.value) > MAX_INT_DIGITS:
            raise InputError(
                f"{_where(name, ev.start_mark)}: integer with more than {MAX_INT_DIGITS} digits"
            )
        add(1, ev.start_mark)
        if ev.anchor is not None:
            sizes[ev.anchor] = 1

    def alias(ev) -> None:
        if ev.anchor in open_anchors:
            raise InputError(f"{_where(name, ev.start_mark)}: recursive alias *{ev.anchor}")
        if ev.anchor not in sizes:
            raise InputError(f"{_where(name, ev.start_mark)}: undefined alias *{ev.anchor}")
        add(sizes[ev.anchor], ev.start_mark)

    dispatch = {
        ScalarEvent: scalar,
        SequenceStartEvent: start,
        MappingStartEvent: start,
        SequenceEndEvent: end,
        MappingEndEvent: end,
        AliasEvent: alias,
    }
    try:
        for ev in YAML(typ="safe", pure=False).parse(text):
            handler = dispatch.get(type(ev))
            if handler is not None:
                handler(ev)
            elif type(ev).__name__ == "DocumentStartEvent":
                sizes.clear()  # anchors do not cross documents
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise InputError(f"{_where(name, mark)}: invalid YAML: {err.problem or err.context}") from None
    except YAMLError as err:
        raise InputError(f"{name}: invalid YAML: {err}") from None


# A JSON string (possessive: linear even when unterminated), a bracket, or a digit run.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\[\s\S])*+(?:"|\\?\Z)|[\[\]{}]|[0-9]++')


def check_json(text: str, name: str, *, max_depth: int = MAX_DEPTH, max_chars: int = MAX_TEXT_CHARS) -> None:
    """Refuse JSON nested deeper than ``max_depth`` or holding a number longer than
    ``MAX_INT_DIGITS`` digits, naming ``file:line:col``. Syntax is left to the parser."""
    _check_size(text, name, max_chars)
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        ch = text[m.start()]
        if ch == '"':
            continue
        if ch in "[{":
            depth += 1
            if depth > max_depth:
                raise InputError(f"{_json_where(text, name, m.start())}: nested deeper than {max_depth} levels")
        elif ch in "]}":
            depth = max(depth - 1, 0)
        elif m.end() - m.start() > MAX_INT_DIGITS:
            raise InputError(
                f"{_json_where(text, name, m.start())}: number with more than {MAX_INT_DIGITS} digits"
            )


def _json_where(text: str, name: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{name}:{line}:{col}"


class GzipError(ValueError):
    """Compressed input that is damaged, truncated or expands past its limit."""


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """One gzip member of ``data``, refusing more than ``limit`` bytes of output.

    ``gzip.decompress`` inflates everything before anyone can look at the size, so a few
    kilobytes from a ConfigMap or a Helm release Secret could expand to gigabytes; and a
    torn deflate stream raises ``zlib.error``, which is not an ``OSError``. Both become a
    :class:`GzipError` here, as does a stream that ends before its member does."""
    import zlib

    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as err:
        raise GzipError(f"not valid gzip ({err})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise GzipError(f"decompresses to more than {limit // (1024 * 1024)} MiB; refused (gzip bomb?)")
    if not inflater.eof:
        raise GzipError("compressed data ends early (truncated)")
    return out
