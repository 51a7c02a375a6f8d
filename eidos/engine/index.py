"""The fact index, the one definition of its format: built by the compiler, read by the matcher.

Format: ``{frozenset of (fact, value) pairs: sorted overlay names}``. Each overlay is keyed
by the ``fact == value`` (and ``fact in {…}``) tests its effective condition requires; a
query enumerates the subsets of its own (fact, value) pairs and looks each one up, so its
cost grows with the number of facts it gives, not with the number of overlays.

Keying an overlay by fewer pairs than its condition tests is always sound (the matcher
evaluates the full condition of every candidate); keying it by a pair its condition does
not require would lose it. Both sides live here so they cannot drift apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations

from eidos.lang.expr import Cmp, In, conjuncts

# An ``in`` set multiplies an overlay's keys; past this many, the extra pairs are dropped.
MAX_INDEX_KEYS = 256

Key = frozenset  # of (fact, value) pairs
Index = dict  # Key -> tuple[str, ...]


def _alternatives(part) -> tuple | None:
    """The values one conjunct requires of one fact, or None when it requires none."""
    if isinstance(part, Cmp) and part.op == "==" and part.operand.kind == "fact":
        return (part.const.value,)
    if isinstance(part, In) and not part.negated and part.operand.kind == "fact" and part.consts:
        return tuple(c.value for c in part.consts)
    return None


def extend_keys(base: frozenset, condition) -> frozenset:
    """The index keys of ``base``'s condition AND ``condition`` (at most ``MAX_INDEX_KEYS``).

    ``base`` is the result of an earlier call (``ROOT`` for ``always``); an overlay's keys
    are built from its parent's, so a long ``extends`` chain costs linear time.
    """
    keys = set(base)
    for part in conjuncts(condition):
        alternatives = _alternatives(part)
        if alternatives is None or len(keys) * len(alternatives) > MAX_INDEX_KEYS:
            continue
        fact = part.operand.name
        keys = {k | {(fact, v)} for k in keys for v in alternatives}
    return frozenset(keys)


ROOT = frozenset({frozenset()})


def keys_for(condition) -> frozenset:
    """The index keys of one effective condition."""
    return extend_keys(ROOT, condition)


def build_index(overlays: Iterable) -> Index:
    """Index ``OverlaySpec``s (``name``, ``parent``, ``chain``, ``own`` condition) by the
    pairs their effective conditions require.

    Every overlay's parent must be among ``overlays`` (the compiler only keeps overlays
    whose whole chain compiled).
    """
    specs = {spec.name: spec for spec in overlays}
    keys: dict[str, frozenset] = {}
    index: dict[Key, list[str]] = defaultdict(list)
    for name in sorted(specs, key=lambda n: (len(specs[n].chain), n)):
        spec = specs[name]
        base = keys[spec.parent] if spec.parent is not None else ROOT
        keys[name] = extend_keys(base, spec.own)
        for key in keys[name]:
            index[key].append(name)
    return {k: tuple(sorted(v)) for k, v in index.items()}


def indexed_facts(index: Index) -> list[str]:
    """The facts that appear in some key, sorted: the only facts a lookup needs to look at."""
    return sorted({fact for key in index for fact, _ in key})


def candidates(index: Index, indexed: list[str], facts: dict) -> set[str]:
    """Names of every overlay whose key is a subset of the query's (fact, value) pairs."""
    pairs = [(f, facts[f]) for f in indexed if f in facts]
    found: set[str] = set()
    for size in range(len(pairs) + 1):
        for subset in combinations(pairs, size):
            names = index.get(frozenset(subset))
            if names:
                found.update(names)
    return found
