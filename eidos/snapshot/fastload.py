"""The fleet fast path: well-formed snapshot text to plain values in about a millisecond.

The careful readers (:func:`eidos.io.yamlio.load`, ``_load_json`` in :mod:`eidos.snapshot.io`)
scan every document for resource bombs first, then build it through ruamel.yaml, whose
Python constructor resolves each scalar through a chain of regular expressions and caught
exceptions: ~50 ms for a real node, 94% of a fleet run. Here the same documents are read by
faster means, and every path that is not *certainly* identical gives up (returns ``None``),
so the careful reader runs and produces the value or the located error message it always did:

* JSON: the stdlib C decoder; one iterative walk checks depth, value count, value types and
  finite numbers (what the careful path checks), so no second pass over the text.
* YAML in the block shape snapshot writers emit: a line reader
  (:mod:`eidos.snapshot.blockyaml`), typing plain scalars as below.
* Other YAML: libyaml through PyYAML's C composer (PyYAML ships with ``kubernetes``), with
  *ruamel's own YAML 1.2 resolver patterns* deciding what a plain scalar is. Only the forms
  whose value is beyond doubt are converted here (decimal integers, plain floats, the six
  spellings of true/false, the null spellings); a scalar ruamel would read as anything else
  (``0x1f``, ``1_000``, ``.inf``, a timestamp, ``<<``) sends the whole document back to the
  careful path. Explicit tags, anchors/aliases and duplicate keys do too. YAML 1.1 words
  (``yes``, ``on``) are strings here exactly as in ruamel's 1.2 reading, because the 1.2
  patterns decide. tests/validate/test_fleet_fastload.py proves equality on every fixture.
* The C composer recurses per nesting level, so before it runs, a linear bound on the depth
  (flow brackets plus twice the widest block-indicator prefix of any line) must stay far
  below what the C stack holds; the walk then applies the real limit (``limits.MAX_DEPTH``).

The garbage collector is paused while a document is built: the objects are all new and
acyclic, and a collection in the middle of building 2,000 of them only re-walks them.
"""

from __future__ import annotations

import gc
import json
import math
import re
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from eidos.io import limits

# depth bound (see module docstring) above which the C composer is not trusted with a document
_C_SAFE_DEPTH = 1000
# the careful readers refuse a collection inside MAX_DEPTH others; one less here, so the fast
# path never accepts a document they would refuse (a borderline one just takes the slow path)
_MAX_DEPTH = limits.MAX_DEPTH - 1
_DECIMAL = re.compile(r"[-+]?[0-9]+\Z")
_PLAIN_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+|\.[0-9]+(?:[eE][-+][0-9]+)?)\Z")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_PLAIN = "eidos:plain"  # our mark for an untagged plain scalar: its type is decided here


class _Unsure(Exception):
    """Raised inside the fast path: this document goes to the careful reader."""


@contextmanager
def gc_paused():
    """No collection while a batch of fresh, acyclic objects is built (restored after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ---- YAML scalars: ruamel's YAML 1.2 patterns decide ----------------------------------------


# ruamel.yaml's YAML 1.2 implicit resolvers (ruamel.yaml 0.19.1, ``resolver.py``,
# ``implicit_resolvers``), in its order: (tag, pattern, flags, first characters). Copied
# rather than read from ruamel at run time: importing ``ruamel.yaml.resolver`` imports the
# whole ruamel package (its C parser included), a tenth of a warm ``eidos validate`` that
# otherwise never touches ruamel (issue 17). tests/validate/test_fleet_fastload.py checks the
# copy against the installed ruamel, so an upgrade that changes them fails there.
_X = re.X | re.U
RUAMEL_1_2_RESOLVERS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("tag:yaml.org,2002:bool", "^(?:true|True|TRUE|false|False|FALSE)$", _X, tuple("tTfF")),
    ("tag:yaml.org,2002:float", "^(?:\n         [-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
     "\n        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)\n        |[-+]?\\.[0-9_]+(?:[eE][-+][0-9]+)?"
     "\n        |[-+]?\\.(?:inf|Inf|INF)\n        |\\.(?:nan|NaN|NAN))$", _X, tuple("-+0123456789.")),
    ("tag:yaml.org,2002:int", "^(?:[-+]?0b[0-1_]+\n        |[-+]?0o?[0-7_]+\n        |[-+]?[0-9_]+"
     "\n        |[-+]?0x[0-9a-fA-F_]+)$", _X, tuple("-+0123456789")),
    ("tag:yaml.org,2002:merge", "^(?:<<)$", re.U, ("<",)),
    ("tag:yaml.org,2002:null", "^(?: ~\n        |null|Null|NULL\n        | )$", _X, ("~", "n", "N", "")),
    ("tag:yaml.org,2002:timestamp", "^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]\n        |[0-9][0-9][0-9][0-9] "
     "-[0-9][0-9]? -[0-9][0-9]?\n        (?:[Tt]|[ \\t]+)[0-9][0-9]?\n        :[0-9][0-9] :[0-9][0-9] "
     "(?:\\.[0-9]*)?\n        (?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$", _X, tuple("0123456789")),
    ("tag:yaml.org,2002:value", "^(?:=)$", re.U, ("=",)),
    ("tag:yaml.org,2002:yaml", "^(?:!|&|\\*)$", re.U, ("!", "&", "*")),
)


def _ruamel_patterns() -> dict[str, list[tuple[str, Any]]]:
    """First character -> [(tag, compiled regexp)] in ruamel's own order, YAML 1.2 only."""
    table: dict[str, list[tuple[str, Any]]] = {}
    for tag, pattern, flags, first in RUAMEL_1_2_RESOLVERS:
        compiled = re.compile(pattern, flags)
        for ch in first:
            table.setdefault(ch, []).append((tag, compiled))
    return table


_PATTERNS: dict | None = None
# first characters some resolver claims: a plain scalar starting otherwise is a string, which
# the block reader decides without calling scalar_value (most keys and words of a snapshot)
TYPED_FIRST = frozenset(ch for *_, first in RUAMEL_1_2_RESOLVERS for ch in first if ch)


def scalar_value(text: str) -> Any:
    """The value ruamel.yaml (YAML 1.2, safe) gives the untagged plain scalar ``text``;
    raises ``_Unsure`` for the forms this module leaves to ruamel."""
    global _PATTERNS
    if _PATTERNS is None:
        _PATTERNS = _ruamel_patterns()
    candidates = _PATTERNS.get(text[:1] if text else "")
    if not candidates:
        return text
    for tag, regexp in candidates:
        if regexp.match(text):
            break
    else:
        return text
    if tag.endswith(":null") and text in _NULLS:
        return None
    if tag.endswith(":bool") and text in _BOOLS:
        return _BOOLS[text]
    if tag.endswith(":int") and _DECIMAL.match(text):
        return int(text)  # ruamel reads 007 as 7, like int(); over 4,300 digits raises ValueError
    if tag.endswith(":float") and _PLAIN_FLOAT.match(text):
        value = float(text)
        if math.isfinite(value):  # 1e999: ruamel gives inf, which the snapshot reader refuses
            return value
    raise _Unsure(text)


def _loader_class():
    import yaml

    if not getattr(yaml, "__with_libyaml__", False):
        return None
    from yaml.nodes import ScalarNode

    class Loader(yaml.CBaseLoader):
        """libyaml's parser and composer; scalars tagged only as plain or not."""

        def descend_resolver(self, current_node, current_index):
            pass  # path-dependent resolvers are not used: skip the per-node bookkeeping

        def ascend_resolver(self):
            pass

        def resolve(self, kind, value, implicit):
            if kind is ScalarNode:
                return _PLAIN if implicit[0] else _STR
            return _SEQ if kind.__name__ == "SequenceNode" else _MAP

    return Loader


_LOADER: Any = False


def _yaml_node(text: str):
    global _LOADER
    if _LOADER is False:
        try:
            _LOADER = _loader_class()
        except ImportError:
            _LOADER = None
    if _LOADER is None:
        raise _Unsure("libyaml unavailable")
    import yaml

    loader = _LOADER(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError:
        raise _Unsure("malformed") from None
    finally:
        loader.dispose()


def _too_deep_for_c(text: str) -> bool:
    """Whether the depth libyaml could compose for ``text`` may pass ``_C_SAFE_DEPTH``.

    An upper bound on the depth: flow collections each need an opening ``[``/``{``; a block
    collection starts at a column where only spaces and block indicators (``-``, ``?``,
    ``:``) precede it on its line, each nested one at a greater column, plus one indentless
    sequence per mapping level. So the depth is at most the brackets plus twice (the longest
    such line prefix + 2); one search for a prefix that long answers without a per-line list."""
    room = (_C_SAFE_DEPTH - text.count("[") - text.count("{")) // 2 - 2
    if room <= 0:
        return True
    return _long_prefix(room).search(text) is not None


@lru_cache(maxsize=64)
def _long_prefix(length: int):
    return re.compile(r"^[ \t?:-]{%d}" % length, re.M)


def _first(pair):
    return pair[0]


def _yaml_plain(node, max_values: int) -> Any:
    """Composed nodes -> plain values (as :func:`eidos.io.yamlio._plain` gives them), iteratively.

    No node is shared: :func:`load_yaml` only gets here for text that cannot hold an alias."""
    budget = max_values
    memo: dict[str, Any] = {}  # plain scalar text -> value (the same words recur across a node)
    root: list = [None]
    stack: list = [(node, root, 0, 0)]  # (node, container, key or index, depth)
    pop, push = stack.pop, stack.append
    while stack:
        n, into, at, depth = pop()
        budget -= 1
        if budget < 0 or depth >= _MAX_DEPTH:
            raise _Unsure("limits")
        tag = n.tag
        if tag == _PLAIN:
            text = n.value
            value = memo.get(text, memo)
            if value is memo:
                value = memo[text] = scalar_value(text)
            into[at] = value
        elif tag == _STR:
            if not n.style:  # an explicit !!str on a plain scalar (libyaml: plain style is "")
                raise _Unsure("tag")
            into[at] = n.value
        elif tag == _MAP:
            pairs = []
            for k, v in n.value:
                if k.tag == _PLAIN:
                    key = scalar_value(k.value)
                    if not isinstance(key, str):
                        key = json.dumps(key)
                elif k.tag == _STR and k.style:
                    key = k.value
                else:
                    raise _Unsure("key")
                pairs.append((key, v))
            pairs.sort(key=_first)  # canonical order (keys sorted), as the snapshot model keeps it
            out: dict = {}
            into[at] = out
            for key, v in pairs:
                if key in out or key == "<<":
                    raise _Unsure("duplicate or merge key")
                out[key] = None
                push((v, out, key, depth + 1))
        elif tag == _SEQ:
            items = [None] * len(n.value)
            into[at] = items
            for i, v in enumerate(n.value):
                push((v, items, i, depth + 1))
        else:
            raise _Unsure("tag")
    return root[0]


def load_yaml(text: str, max_values: int) -> Any:
    """Plain values of a YAML snapshot document, or ``None``: use the careful reader.

    The block shape snapshot writers emit is read line by line (:class:`_Block`); anything
    else by libyaml's composer. Mapping keys come out sorted (canonical order), so the
    snapshot built from them needs no second, sorting copy."""
    if len(text) > limits.MAX_TEXT_CHARS:
        return None
    from eidos.snapshot import blockyaml

    try:
        with gc_paused():
            return blockyaml.load(text, max_values)
    except (_Unsure, ValueError, RecursionError):
        pass
    if "&" in text and "*" in text:
        # anchors with aliases (a text without both cannot compose a shared node): ruamel's
        # expansion and its alias-bomb accounting stay with the careful path
        return None
    if _too_deep_for_c(text):
        return None
    try:
        with gc_paused():
            node = _yaml_node(text)
            if node is None:
                return None
            return _yaml_plain(node, max_values)
    except (_Unsure, ValueError, RecursionError):
        return None


# ---- JSON ------------------------------------------------------------------------------


def _unique(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Unsure("duplicate key")
    return out


def _reject_constant(name: str):
    raise _Unsure(name)


def _json_walk(doc: Any, max_values: int) -> int:
    """Depth, count, types and finite floats, as the careful JSON path checks them: -1 when
    refused, else 1 when every mapping's keys are already in canonical (sorted) order, 0 not.

    Only containers go on the stack; scalars are checked where they sit (most values are)."""
    budget = max_values - 1  # the document itself counts, as in io._count
    canonical = 1
    if type(doc) is not dict and type(doc) is not list:
        return 1 if type(doc) is not float or math.isfinite(doc) else -1
    stack = [(doc, 0)]
    pop, push, isfinite = stack.pop, stack.append, math.isfinite
    while stack:
        v, depth = pop()
        if depth >= _MAX_DEPTH:
            return -1
        if type(v) is dict:
            # subtype data and context sit at depth 5 (doc.measurements[i].subtypes[j].data):
            # only mappings there and below are sorted by the model, so only they must be
            if canonical and depth >= 5:
                keys = list(v)
                if keys != sorted(keys):
                    canonical = 0
            items = v.values()
        else:
            items = v
        budget -= len(items)
        if budget < 0:
            return -1
        for x in items:
            t = type(x)
            if t is dict or t is list:
                push((x, depth + 1))
            elif t is float and not isfinite(x):
                return -1
    return canonical


def load_json(text: str, max_values: int) -> Any:
    """Plain values of a JSON snapshot document, or ``None``: use the careful reader."""
    loaded = load_json_checked(text, max_values)
    return None if loaded is None else loaded[0]


def load_json_checked(text: str, max_values: int) -> tuple[Any, bool] | None:
    """(values, keys already in canonical order) of a JSON document, or ``None``.

    The stdlib C decoder guards its own recursion (``RecursionError``, not a C stack
    overflow), so unlike YAML no bound is needed before it runs."""
    if len(text) > limits.MAX_TEXT_CHARS:
        return None
    try:
        with gc_paused():
            doc = json.loads(text, object_pairs_hook=_unique, parse_constant=_reject_constant)
            verdict = _json_walk(doc, max_values)
    except (_Unsure, ValueError, RecursionError):
        return None
    return None if verdict < 0 else (doc, bool(verdict))

