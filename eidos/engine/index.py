"""The fact index, the one definition of its format: built by the compiler, read by the matcher.

Format: ``{frozenset of (fact, value) pairs: sorted overlay names}``. Each overlay is keyed
by sets of (fact, value) pairs such that, whenever its effective condition is true, the
query's pairs include at least one of its keys. A query enumerates the subsets of its own
(fact, value) pairs and looks each one up, so its cost grows with the number of facts it
gives, not with the number of overlays.

An overlay's keys come from its condition, normalised (:func:`keys_of`):

* ``f == v`` requires (f, v); ``f in {a, b}`` requires one of (f, a), (f, b);
* ``x or y`` requires what ``x`` requires or what ``y`` requires (the union of their keys),
  so ``f == a or f == b`` is indexed like ``f in {a, b}``;
* ``x and y`` requires both (every union of one key of each);
* ``not`` is pushed inwards: ``not (f != v)`` is ``f == v``, ``not (f in S)`` is
  ``f not in S``, ``not (x and y)`` is ``not x or not y`` and ``not (x or y)`` is
  ``not x and not y`` (De Morgan's laws and double negation hold in Kleene's three-valued
  logic, so these rewrite the condition into one with the same value for every query);
* a sub-condition that tests only one **enum** fact (``f != v``, ``f not in S``,
  ``f matches "h1.*"``, any combination of them) is evaluated once per value of the
  fact's domain at build time, and requires one of the values for which it is true. This
  is exact: a test of an absent fact is unknown, and no combination of unknowns is true.

Keying an overlay by a weaker requirement than its condition's is always sound (the
matcher evaluates the full condition of every candidate); keying it by a pair its
condition does not require would lose it. Domain keys assume the query's value of the
fact is one of the domain's (the CLI and inference coerce every fact value into it);
the matcher falls back to a full scan for a query that gives any other
(:func:`in_domain`), so it never returns a different set than evaluating every overlay.
Both sides live here so they cannot drift apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations

from eidos.lang.expr import AndE, Cmp, EvalError, In, NotE, OrE, TrueE, closure
from eidos.lang.expr.ir import Atom, atoms
from eidos.lang.measurements import MISSING

# An ``in`` set or an ``or`` multiplies an overlay's keys; past this many, a conjunct's
# requirement is dropped (weaker, still sound) and an ``or`` requires nothing.
MAX_INDEX_KEYS = 256

Key = frozenset  # of (fact, value) pairs
Index = dict  # Key -> tuple[str, ...]

ROOT = frozenset({frozenset()})  # requires nothing: a candidate for every query
NEVER = frozenset()  # can never be true: a candidate for no query

Domains = Mapping[str, tuple]  # enum fact -> every value it can take


def domains_of(facts: Mapping) -> dict[str, tuple]:
    """The enum facts' domains from ``FactSchema``s (``kind``, ``values``)."""
    return {name: tuple(spec.values) for name, spec in facts.items() if spec.kind == "enum" and spec.values}


def _negate(ir):
    """``not ir`` with the negation pushed one level in, or None when it cannot be."""
    if isinstance(ir, NotE):
        return ir.item
    if isinstance(ir, AndE):
        return OrE(tuple(NotE(item) for item in ir.items))
    if isinstance(ir, OrE):
        return AndE(tuple(NotE(item) for item in ir.items))
    if isinstance(ir, Cmp) and ir.op in ("==", "!="):
        return Cmp("!=" if ir.op == "==" else "==", ir.operand, ir.const)
    if isinstance(ir, In):
        return In(ir.operand, ir.consts, not ir.negated)
    return None


def _single_enum_fact(ir, domains: Domains) -> str | None:
    """The one enum fact every atom of ``ir`` tests, if there is exactly one (and no ``always``)."""
    facts = set()
    stack = [ir]
    while stack:
        node = stack.pop()
        if isinstance(node, TrueE):
            return None
        stack.extend(node.children)
    for atom in atoms(ir):
        if atom.operand.kind != "fact":
            return None
        facts.add(atom.operand.name)
    if len(facts) != 1:
        return None
    (fact,) = facts
    return fact if fact in domains else None


def _by_domain(ir, fact: str, domains: Domains) -> frozenset | None:
    """Keys of a condition on one enum fact: the domain values for which it is true."""
    fn = closure(ir)
    keys = []
    for value in domains[fact]:
        try:
            if fn(lambda op, value=value: value if op.name == fact else MISSING) is True:
                keys.append(frozenset({(fact, value)}))
        except EvalError:
            return None
    return frozenset(keys)


def _product(left: frozenset, right: frozenset) -> frozenset:
    """Every union of one key of each side, less those giving one fact two values (a
    query gives each fact one value, so such a key would never be looked up)."""
    out = set()
    for a in left:
        for b in right:
            key = a | b
            if len({fact for fact, _ in key}) == len(key):
                out.add(key)
    return frozenset(out)


def keys_of(ir, domains: Domains | None = None) -> frozenset:
    """What a condition requires of the query: a set of keys, one of which the query's
    (fact, value) pairs include whenever the condition is true (see the module docstring).
    ``ROOT`` requires nothing; ``NEVER`` is never true."""
    domains = domains or {}
    if isinstance(ir, Atom) and ir.operand.kind == "fact":
        keys = _structural(ir, domains)  # ``==`` and ``in`` name their values: no need to enumerate
        if keys != ROOT:
            return keys
    # e.g. ``f != v``, ``not (f == a or f == b)``, ``f matches "…"``: exact over an enum's domain
    fact = _single_enum_fact(ir, domains)
    if fact is not None:
        by_domain = _by_domain(ir, fact, domains)
        if by_domain is not None and len(by_domain) <= MAX_INDEX_KEYS:
            return by_domain
    return _structural(ir, domains)


def _structural(ir, domains: Domains) -> frozenset:
    """``keys_of`` for the connectives and the atoms that name their values (``==``, ``in``)."""
    if isinstance(ir, TrueE):
        return ROOT
    if isinstance(ir, AndE):
        keys = ROOT
        for part in ir.items:
            part_keys = keys_of(part, domains)
            if len(keys) * len(part_keys) > MAX_INDEX_KEYS:
                continue  # dropping a conjunct's requirement only weakens it
            keys = _product(keys, part_keys)
        return keys
    if isinstance(ir, OrE):
        union: set = set()
        for part in ir.items:
            part_keys = keys_of(part, domains)
            if frozenset() in part_keys:
                return ROOT
            union |= part_keys
            if len(union) > MAX_INDEX_KEYS:
                return ROOT
        return frozenset(union)
    if isinstance(ir, NotE):
        inner = _negate(ir.item)
        return ROOT if inner is None else keys_of(inner, domains)
    if isinstance(ir, Atom) and ir.operand.kind == "fact":
        if isinstance(ir, Cmp) and ir.op == "==":
            return frozenset({frozenset({(ir.operand.name, ir.const.value)})})
        if isinstance(ir, In) and not ir.negated and ir.consts and len(ir.consts) <= MAX_INDEX_KEYS:
            return frozenset(frozenset({(ir.operand.name, c.value)}) for c in ir.consts)
    return ROOT


def extend_keys(base: frozenset, condition, domains: Domains | None = None) -> frozenset:
    """The index keys of ``base``'s condition AND ``condition`` (at most ``MAX_INDEX_KEYS``).

    ``base`` is the result of an earlier call (``ROOT`` for ``always``); an overlay's keys
    are built from its parent's, so a long ``extends`` chain costs linear time.
    """
    own = keys_of(condition, domains)
    if len(base) * len(own) > MAX_INDEX_KEYS:
        return base
    return _product(base, own)


def keys_for(condition, domains: Domains | None = None) -> frozenset:
    """The index keys of one effective condition."""
    return extend_keys(ROOT, condition, domains)


def build_index(overlays: Iterable, facts: Mapping | None = None) -> Index:
    """Index ``OverlaySpec``s (``name``, ``parent``, ``chain``, ``own`` condition) by what
    their effective conditions require; ``facts`` (name -> ``FactSchema``) gives the enum
    domains.

    Every overlay's parent must be among ``overlays`` (the compiler only keeps overlays
    whose whole chain compiled).
    """
    domains = domains_of(facts or {})
    specs = {spec.name: spec for spec in overlays}
    keys: dict[str, frozenset] = {}
    index: dict[Key, list[str]] = defaultdict(list)
    for name in sorted(specs, key=lambda n: (len(specs[n].chain), n)):
        spec = specs[name]
        base = keys[spec.parent] if spec.parent is not None else ROOT
        keys[name] = extend_keys(base, spec.own, domains)
        for key in keys[name]:
            index[key].append(name)
    return {k: tuple(sorted(v)) for k, v in index.items()}


def indexed_facts(index: Index) -> list[str]:
    """The facts that appear in some key, sorted: the only facts a lookup needs to look at."""
    return sorted({fact for key in index for fact, _ in key})


def in_domain(facts: dict, domains: Domains) -> bool:
    """Whether every enum fact the query gives has a value of its domain (else the index,
    whose keys may enumerate a domain, cannot answer and the matcher scans)."""
    for fact, values in domains.items():
        value = facts.get(fact, MISSING)
        if value is not MISSING and not (type(value) is str and value in values):
            return False
    return True


def candidates(index: Index, indexed: list[str], facts: dict) -> set[str]:
    """Names of every overlay whose key is a subset of the query's (fact, value) pairs."""
    pairs = [(f, facts[f]) for f in indexed if f in facts]
    found: set[str] = set()
    get = index.get
    for size in range(len(pairs) + 1):
        for subset in combinations(pairs, size):
            names = get(frozenset(subset))
            if names:
                found.update(names)
    return found
