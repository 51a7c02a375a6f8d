"""Static reasoning about conditions: can one ever hold, are two the same, is one looser.

Conditions are brought to disjunctive normal form over fact constraints. Each conjunct
term keeps, per fact, either the set of values still allowed (enum, string, bool and
``in`` tests) or an interval (ordered types), so contradictions such as
``service == eks and service == gke`` or ``nodes > 8 and nodes < 4`` show up as an empty
term. Atoms this model cannot reason about (regexes, negated ranges) are kept verbatim:
they never make a term unsatisfiable, so the analysis only reports certain problems.
"""

from __future__ import annotations

from eidos.lang.expr import IR, AndE, Cmp, Exist, In, Match, NotE, OrE, Range, TrueE, render

NEVER = "never"
MAX_TERMS = 64

_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _nnf(ir: IR, negate: bool = False):
    """Push negations down to atoms; returns an IR without NotE (except on opaque atoms)."""
    if isinstance(ir, NotE):
        return _nnf(ir.item, not negate)
    if isinstance(ir, AndE):
        items = tuple(_nnf(i, negate) for i in ir.items)
        return OrE(items) if negate else AndE(items)
    if isinstance(ir, OrE):
        items = tuple(_nnf(i, negate) for i in ir.items)
        return AndE(items) if negate else OrE(items)
    if not negate:
        return ir
    if isinstance(ir, Cmp):
        return Cmp(_NEGATE[ir.op], ir.operand, ir.const)
    if isinstance(ir, In):
        return In(ir.operand, ir.consts, not ir.negated)
    if isinstance(ir, Range):
        return Range(ir.operand, ir.low, ir.high, ir.include_high, not ir.negated)
    return NotE(ir)


def _dnf(ir) -> list[list] | None:
    if isinstance(ir, TrueE):
        return [[]]
    if isinstance(ir, OrE):
        out: list = []
        for item in ir.items:
            sub = _dnf(item)
            if sub is None:
                return None
            out.extend(sub)
            if len(out) > MAX_TERMS:
                return None
        return out
    if isinstance(ir, AndE):
        terms: list = [[]]
        for item in ir.items:
            sub = _dnf(item)
            if sub is None:
                return None
            terms = [t + s for t in terms for s in sub]
            if len(terms) > MAX_TERMS:
                return None
        return terms
    return [[ir]]


def _key(value):
    return getattr(value, "key", value)


class _Term:
    """Per-fact constraints of one conjunction; ``dead`` once a contradiction appears."""

    def __init__(self, facts):
        self.facts = facts
        self.allowed: dict[str, frozenset] = {}
        self.excluded: dict[str, frozenset] = {}
        self.low: dict[str, tuple] = {}
        self.high: dict[str, tuple] = {}
        self.opaque: set[str] = set()
        self.dead = False

    def copy(self) -> "_Term":
        other = _Term(self.facts)
        other.allowed, other.excluded = dict(self.allowed), dict(self.excluded)
        other.low, other.high = dict(self.low), dict(self.high)
        other.opaque = set(self.opaque)
        return other

    def _domain(self, fact):
        spec = self.facts.get(fact)
        if spec is not None and spec.kind == "enum":
            return frozenset(spec.values)
        if spec is not None and spec.kind == "bool":
            return frozenset((True, False))
        return None

    def allow(self, fact, values):
        values = frozenset(values)
        self.allowed[fact] = self.allowed[fact] & values if fact in self.allowed else values

    def exclude(self, fact, values):
        domain = self._domain(fact)
        if domain is not None:
            self.allow(fact, domain - frozenset(values))
        else:
            self.excluded[fact] = self.excluded.get(fact, frozenset()) | frozenset(values)

    def bound(self, fact, op, value):
        k = _key(value)
        if op in (">", ">="):
            cur = self.low.get(fact)
            new = (k, op == ">=", value)
            if cur is None or new[0] > cur[0] or (new[0] == cur[0] and not new[1]):
                self.low[fact] = new
        else:
            cur = self.high.get(fact)
            new = (k, op == "<=", value)
            if cur is None or new[0] < cur[0] or (new[0] == cur[0] and not new[1]):
                self.high[fact] = new

    def add(self, atom):
        if isinstance(atom, Cmp) and atom.operand.kind == "fact":
            f, v = atom.operand.name, atom.const.value
            if atom.op == "==":
                self.allow(f, [v])
            elif atom.op == "!=":
                self.exclude(f, [v])
            else:
                self.bound(f, atom.op, v)
        elif isinstance(atom, In) and atom.operand.kind == "fact":
            values = [c.value for c in atom.consts]
            (self.exclude if atom.negated else self.allow)(atom.operand.name, values)
        elif isinstance(atom, Range) and atom.operand.kind == "fact" and not atom.negated:
            self.bound(atom.operand.name, ">=", atom.low.value)
            self.bound(atom.operand.name, "<=" if atom.include_high else "<", atom.high.value)
        else:
            self.opaque.add(render(atom) if not isinstance(atom, NotE) else "not " + render(atom.item))

    def finish_shape(self):
        """The term's shape, or None when it can never hold."""
        found = self.finish()
        return None if self.dead else found

    def finish(self):
        facts = set(self.allowed) | set(self.low) | set(self.high) | set(self.excluded)
        shape = []
        for f in sorted(facts):
            lo, hi = self.low.get(f), self.high.get(f)
            if lo and hi and (lo[0] > hi[0] or (lo[0] == hi[0] and not (lo[1] and hi[1]))):
                self.dead = True
                return None
            if f in self.allowed:
                keep = set()
                for v in self.allowed[f]:
                    k = _key(v)
                    if lo and (k < lo[0] or (k == lo[0] and not lo[1])):
                        continue
                    if hi and (k > hi[0] or (k == hi[0] and not hi[1])):
                        continue
                    if v in self.excluded.get(f, ()):
                        continue
                    keep.add(k)
                if not keep:
                    self.dead = True
                    return None
                shape.append((f, "in", frozenset(keep)))
            else:
                shape.append((f, "range", lo[:2] if lo else None, hi[:2] if hi else None,
                              frozenset(_key(v) for v in self.excluded.get(f, ()))))
        return frozenset(shape) | frozenset(("opaque", o) for o in self.opaque)


def _add(term: _Term, atom) -> None:
    if isinstance(atom, (Exist, Match)):
        term.opaque.add(render(atom))
    else:
        term.add(atom)


def extend_terms(base: list | None, ir: IR, facts) -> list | None:
    """The DNF terms of ``base AND ir``, where ``base`` is the result of an earlier call
    (None for ``always``); returns None when the normal form would be too big.

    An overlay's effective condition is its parent's AND its own ``when``, so building each
    overlay's terms from its parent's keeps a long ``extends`` chain linear.
    """
    terms = _dnf(_nnf(ir))
    if terms is None:
        return None
    start = base if base is not None else [_Term(facts)]
    if len(start) * len(terms) > MAX_TERMS:
        return None
    out = []
    for b in start:
        for atoms_ in terms:
            term = b.copy()
            for atom in atoms_:
                _add(term, atom)
            out.append(term)
    return out


def shape(terms: list | None) -> object:
    """A canonical shape for comparing conditions; ``NEVER`` if unsatisfiable; None if too big."""
    if terms is None:
        return None
    shapes = set()
    for term in terms:
        found = term.copy().finish_shape()
        if found is not None:
            shapes.add(found)
    if not shapes:
        return NEVER
    return frozenset(shapes)


def normal_form(ir: IR, facts) -> object:
    """A canonical shape for comparing conditions; ``NEVER`` if unsatisfiable; None if too big."""
    return shape(extend_terms(None, ir, facts))


def loosens(old: IR, new: IR) -> bool:
    """True when ``new`` clearly admits values ``old`` rejected (same operand, same direction)."""
    if not (isinstance(old, Cmp) and isinstance(new, Cmp)) or old.operand != new.operand:
        return False
    if old.const.vtype != new.const.vtype:
        return False
    a, b = _key(old.const.value), _key(new.const.value)
    if old.op in (">=", ">") and new.op in (">=", ">"):
        return b < a or (a == b and old.op == ">" and new.op == ">=")
    if old.op in ("<=", "<") and new.op in ("<=", "<"):
        return b > a or (a == b and old.op == "<" and new.op == "<=")
    if old.op == "==" and new.op != "==":
        return True
    return False
