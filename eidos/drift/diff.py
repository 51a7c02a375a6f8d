"""Semantic differences between snapshots: what changed on a node, and which nodes stand out.

A snapshot is compared as the set of its measurement paths (every leaf value with its
path, :meth:`Snapshot.iter_values`), not as text: key order, YAML layout and list order of
subtypes never show up. Each difference is ``added``, ``removed`` or ``changed`` with both
values; a changed pair of versions (dotted, e.g. ``570.133.20`` → ``580.82.07``) is an
``upgrade`` or a ``downgrade``, a changed pair of numbers an ``increase`` or ``decrease``.
Values that differ between any two snapshots of a healthy node (counters, random ids,
times, the node's identity) are noise, listed in ``noise.yaml`` beside this module, and
callers add their own globs.

For fleets (directories of per-node snapshots) nodes are paired by node name; for each
path, the value most nodes of the second fleet hold is the majority, and the nodes that
hold another value are listed as outliers.
"""

from __future__ import annotations

import fnmatch
import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources

import attrs

from eidos.lang.ast import format_path

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@attrs.frozen
class Change:
    path: str  # as a rule would write it (eidos.lang.ast.format_path)
    kind: str  # added | removed | changed
    before: object = None
    after: object = None
    direction: str | None = None  # upgrade | downgrade | increase | decrease

    def to_json(self) -> dict:
        out = {"path": self.path, "kind": self.kind}
        if self.kind != ADDED:
            out["before"] = self.before
            out["beforeType"] = type_name(self.before)
        if self.kind != REMOVED:
            out["after"] = self.after
            out["afterType"] = type_name(self.after)
        if self.direction:
            out["direction"] = self.direction
        return out


@attrs.frozen
class VerdictChange:
    """A rule whose verdict differs between the two snapshots (``absent``: not judged there)."""

    id: str
    before: str
    after: str
    source: str  # the rule's file:line

    def to_json(self) -> dict:
        return {"id": self.id, "before": self.before, "after": self.after, "source": self.source}


@attrs.frozen
class NodeDiff:
    node: str
    before: str | None  # source of the first snapshot (None: the node is new)
    after: str | None  # source of the second (None: the node is gone)
    changes: tuple[Change, ...]
    verdicts: tuple[VerdictChange, ...] = ()


@attrs.frozen
class Outlier:
    path: str
    majority: object
    holders: int  # nodes holding the majority value
    nodes: tuple[tuple[str, object], ...]  # (node, its value) of the others


@attrs.frozen
class DiffReport:
    nodes: tuple[NodeDiff, ...]
    outliers: tuple[Outlier, ...] = ()
    ignored: int = 0  # differences dropped as noise

    @property
    def drift(self) -> bool:
        return any(n.changes or n.verdicts or n.before is None or n.after is None for n in self.nodes)


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "map"}.get(
        type(value), type(value).__name__)


@functools.cache
def default_noise() -> tuple[str, ...]:
    from eidos.io import yamlio

    text = resources.files("eidos.drift").joinpath("noise.yaml").read_text(encoding="utf-8")
    return tuple(entry["glob"] for entry in yamlio.load(text, "eidos/drift/noise.yaml")["ignore"])


def dotted(segments: tuple) -> str:
    """The form noise globs match: segments joined by dots, unquoted."""
    return ".".join(str(s) for s in segments)


def _version(value: object):
    if not isinstance(value, str) or "." not in value:
        return None
    from eidos.lang.versions import VersionError, parse_version

    try:
        return parse_version(value)
    except VersionError:
        return None


def direction(before: object, after: object) -> str | None:
    if isinstance(before, bool) or isinstance(after, bool):
        return None
    if isinstance(before, (int, float)) and isinstance(after, (int, float)):
        return "increase" if after > before else "decrease" if after < before else None
    a, b = _version(before), _version(after)
    if a is None or b is None:
        return None
    if b != a:
        return "upgrade" if b > a else "downgrade"
    # equal as versions (rules ignore vendor suffixes: 6.8.0-1028-aws == 6.8.0), but a
    # different build of it is still drift: order the texts naturally (1024 < 1028)
    from eidos.snapshot.model import natural_key

    ka, kb = natural_key(a.vendor), natural_key(b.vendor)
    return "upgrade" if kb > ka else "downgrade" if kb < ka else None


def diff_values(a: Mapping[tuple, object], b: Mapping[tuple, object],
                ignore: Iterable[str] = ()) -> tuple[tuple[Change, ...], int]:
    """(changes sorted by path, how many differences were noise)."""
    globs = tuple(ignore)
    changes, ignored = [], 0
    for segments in sorted(set(a) | set(b), key=lambda s: tuple((isinstance(x, int), str(x)) for x in s)):
        in_a, in_b = segments in a, segments in b
        if in_a and in_b and _same(a[segments], b[segments]):
            continue
        if any(fnmatch.fnmatchcase(dotted(segments), g) for g in globs):
            ignored += 1
            continue
        path = format_path(segments)
        if not in_a:
            changes.append(Change(path, ADDED, after=b[segments]))
        elif not in_b:
            changes.append(Change(path, REMOVED, before=a[segments]))
        else:
            changes.append(Change(path, CHANGED, a[segments], b[segments], direction(a[segments], b[segments])))
    return tuple(changes), ignored


def _same(x: object, y: object) -> bool:
    # 1 and 1.0 and True are different readings (a type change is drift); equal types compare
    return type(x) is type(y) and x == y


def values_of(snapshot) -> dict[tuple, object]:
    return dict(snapshot.iter_values())


def diff_fleets(before: Mapping[str, tuple[str, dict]], after: Mapping[str, tuple[str, dict]],
                ignore: Iterable[str] = ()) -> DiffReport:
    """``before``/``after``: node -> (source, values). Nodes pair by name."""
    globs = tuple(ignore)
    nodes, ignored = [], 0
    for node in sorted(set(before) | set(after)):
        a, b = before.get(node), after.get(node)
        if a is None or b is None:
            nodes.append(NodeDiff(node, a[0] if a else None, b[0] if b else None, ()))
            continue
        changes, noise = diff_values(a[1], b[1], globs)
        ignored += noise
        nodes.append(NodeDiff(node, a[0], b[0], changes))
    return DiffReport(tuple(nodes), outliers(after, globs), ignored)


def outliers(fleet: Mapping[str, tuple[str, dict]], ignore: Iterable[str] = ()) -> tuple[Outlier, ...]:
    """Per path, the nodes whose value differs from what most nodes hold (3+ nodes only:
    with two there is no majority). A path some nodes lack counts as the value ``None``."""
    if len(fleet) < 3:
        return ()
    globs = tuple(ignore)
    paths: set = set()
    for _source, values in fleet.values():
        paths |= set(values)
    out = []
    for segments in sorted(paths, key=lambda s: tuple((isinstance(x, int), str(x)) for x in s)):
        if any(fnmatch.fnmatchcase(dotted(segments), g) for g in globs):
            continue
        held = {node: values.get(segments) for node, (_s, values) in fleet.items()}
        counts = Counter(_key(v) for v in held.values())
        if len(counts) < 2:
            continue
        (top, n), *rest = counts.most_common()
        if rest and rest[0][1] == n:
            continue  # no majority (a tie): nothing stands out
        majority = next(v for v in held.values() if _key(v) == top)
        others = tuple(sorted((node, v) for node, v in held.items() if _key(v) != top))
        out.append(Outlier(format_path(segments), majority, n, others))
    return tuple(out)


def _key(value: object) -> tuple:
    return (type_name(value), repr(value))


def verdict_changes(before: dict, after: dict) -> tuple[VerdictChange, ...]:
    """``before``/``after``: verdict id -> Verdict, as :class:`eidos.validate.fleet.Validator`
    gives them for one node; the ids whose status differs, sorted."""
    out = []
    for vid in sorted(set(before) | set(after)):
        a, b = before.get(vid), after.get(vid)
        sa, sb = (a.status if a else "absent"), (b.status if b else "absent")
        if sa != sb:
            out.append(VerdictChange(vid, sa, sb, (b or a).source))
    return tuple(out)
