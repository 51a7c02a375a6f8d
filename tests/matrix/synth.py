"""Snapshots made up to satisfy, or to violate, a recipe's requirements.

For each requirement the operands' candidate values come from the expression's own
constants (the constant itself, one step above and below it, a value outside a set, a
missing key), and the first combination the expression's evaluation accepts is taken;
requirements are satisfied together (a later choice must not break an earlier one). The
evaluation is eidos' own; what the matrix test checks with these snapshots is the rule base
(every cell's requirements can hold at once, each can fail alone, and its failure carries a
remedy), not the evaluator, which has its own oracle tests.
"""

from __future__ import annotations

import itertools
import re

from eidos.lang.expr.closures import evaluate
from eidos.lang.expr.ir import Cmp, Exist, In, Match, Range, TextTest, atoms
from eidos.lang.measurements import MISSING
from eidos.snapshot.model import CollectorStatus, Measurement, Snapshot, Subtype

MAX_TRIES = 5_000


def _bump(text: str, step: int) -> str | None:
    """A version one step away in its last number: 1.32.4 -> 1.32.5 / 1.32.3."""
    m = re.match(r"^(v?)([0-9]+(?:\.[0-9]+)*)", text)
    if not m:
        return None
    parts = [int(p) for p in m.group(2).split(".")]
    parts[-1] += step
    if parts[-1] < 0:
        if len(parts) == 1:
            return None
        parts[-1] = 0
        parts[-2] = max(parts[-2] - 1, 0)
    return m.group(1) + ".".join(map(str, parts))


def _const_values(const) -> list:
    v, t = const.value, const.vtype
    if t == "version":
        text = const.text
        return [x for x in (text, _bump(text, 1), _bump(text, -1), _bump(text, 10)) if x]
    if t == "int":
        return [v, v + 1, v - 1]
    if t == "float":
        return [v, v * 2 + 1, v / 2]
    if t == "bool":
        return [v, not v]
    return [v, f"{v}-other", "zz-other"]


def candidates(atom) -> list:
    if isinstance(atom, Cmp):
        return _const_values(atom.const)
    if isinstance(atom, In):
        out = [c for const in atom.consts for c in _const_values(const)[:1]]
        return out + [c for c in _const_values(atom.consts[0])[1:]]
    if isinstance(atom, Range):
        return _const_values(atom.low) + _const_values(atom.high)
    if isinstance(atom, TextTest):
        return [atom.text, f"x{atom.text}x", "zz-other"]
    if isinstance(atom, Exist):
        return ["present"]
    if isinstance(atom, Match):
        return []  # patterns are not inverted; such a requirement is reported, not guessed
    return []


def _operands(ir) -> dict:
    out: dict = {}
    for atom in atoms(ir):
        op = atom.operand
        out.setdefault(op, [])
        for value in candidates(atom):
            if value not in out[op]:
                out[op].append(value)
    for values in out.values():
        values.append(MISSING)
    return out


def holds(ir, assignment: dict) -> bool:
    try:
        return evaluate(ir, lambda op: assignment.get(op.segments, MISSING)) is True
    except Exception:
        return False


def key(req) -> tuple[str, str]:
    """A requirement's identity in a recipe: sibling overlays may each hold one of a name."""
    return (req.name, req.overlay)


def satisfy(requirements, goal: dict[tuple[str, str], bool], start: dict | None = None) -> dict | None:
    """An assignment {segments: value} making each requirement's truth what ``goal`` says
    (by :func:`key`); None if the search finds none. A requirement made false gets values
    for every path it reads: a missing value is an error verdict, not a failure."""
    assignment = dict(start or {})
    done = []
    for req in requirements:
        ops = _operands(req.ir)
        for op, values in ops.items():  # keeping what an earlier requirement chose comes first
            if op.segments in assignment:
                current = assignment[op.segments]
                ops[op] = [current] + [v for v in values if v is MISSING or v != current]
        names = list(ops)
        found = None
        for i, combo in enumerate(itertools.product(*(ops[o] for o in names))):
            if i > MAX_TRIES:
                break
            trial = dict(assignment)
            for op, value in zip(names, combo):
                if value is MISSING:
                    trial.pop(op.segments, None)
                else:
                    trial[op.segments] = value
            if not goal[key(req)] and any(a.operand.segments not in trial for a in atoms(req.ir)):
                continue
            if holds(req.ir, trial) == goal[key(req)] and all(
                    holds(r.ir, trial) == goal[key(r)] for r in done):
                found = trial
                break
        if found is None:
            return None
        assignment = found
        done.append(req)
    return assignment


def snapshot_of(assignment: dict) -> Snapshot:
    """The assignment as a snapshot. ``OS.host`` paths are written as an ``OS.release`` read
    by eidos' own os-release collector, which is where validation takes the host's OS from."""
    data: dict = {}
    host = False
    for segments, value in assignment.items():
        mtype, sub, *rest = segments
        if (mtype, sub) == ("OS", "host"):
            sub, host = "release", True
        node = data.setdefault(mtype, {}).setdefault(sub, {})
        for key in rest[:-1]:
            node = node.setdefault(key, {})
        node[rest[-1]] = value
    measurements = tuple(Measurement(t, tuple(Subtype(s, d) for s, d in subs.items())) for t, subs in data.items())
    collectors = (CollectorStatus("os-release", "OS", "ok"),) if host else ()
    return Snapshot(metadata={"source-node": "synthetic"}, measurements=measurements, collectors=collectors)
