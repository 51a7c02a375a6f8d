"""The snapshot document: what a node or cluster looked like at one moment.

A snapshot holds *measurements* (one per type: ``K8s``, ``GPU``, ``OS``, ``SystemD``), each
made of named *subtypes* whose ``data`` maps keys to values. Values keep their YAML/JSON type
(an int stays an int, ``"24.04"`` stays a string) and may nest (lists, mappings).

Two things the reference format lacked are first-class here:

* every collector that ran reports a status (``ok`` / ``failed`` / ``unavailable``), a reason
  and its duration, so a partial snapshot is still valid and says what is missing and why;
* the model is canonical on construction: measurements in ``MEASUREMENT_TYPES`` order,
  subtypes in natural name order (``gpu2`` before ``gpu10``), mapping keys sorted, collectors
  by name. Serialising the same snapshot therefore always gives the same bytes, no matter in
  which order collectors finished.

The classes are frozen records (:mod:`eidos.lang.record`, each with its own converting
``__init__``); :func:`to_document` and
:func:`from_document` turn them into plain dicts and back. Validation with file locations happens in :mod:`eidos.snapshot.io` before
structuring, so the converter only ever sees well-formed data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from eidos.api import API_VERSION
from eidos.lang import record
from eidos.lang.measurements import MEASUREMENT_TYPES, MISSING

REFERENCE_API_VERSION = "cns.nvidia.com/v1alpha1"
SUPPORTED_API_VERSIONS = (API_VERSION, REFERENCE_API_VERSION)
KIND = "Snapshot"

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_UNAVAILABLE = "unavailable"
STATUSES = (STATUS_OK, STATUS_FAILED, STATUS_UNAVAILABLE)

_NUM_RE = re.compile(r"([0-9]+)")


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically: gpu2 < gpu10.

    Digit runs compare by (length without leading zeros, text), which is numeric order
    without ``int()``: a subtype name read from a file may hold 5,000 digits (``int`` refuses
    past 4,300) or digits ``int`` does not take at all (``²``, hence ASCII ``[0-9]`` only)."""
    out = []
    for i, p in enumerate(_NUM_RE.split(name)):
        if not p:
            continue
        if i % 2:  # split() puts the captured digit runs at odd positions
            digits = p.lstrip("0")
            out.append((0, len(digits), digits, ""))
        else:
            out.append((1, 0, "", p))
    return tuple(out)


def canonical(value: Any) -> Any:
    """Deep copy with mapping keys sorted, so equal data always serialises identically."""
    if isinstance(value, Mapping):
        return {str(k): canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


def _type_rank(mtype: str) -> tuple:
    if mtype in MEASUREMENT_TYPES:
        return (MEASUREMENT_TYPES.index(mtype), "")
    return (len(MEASUREMENT_TYPES), mtype)


_put = object.__setattr__
_DEFAULT: Any = object()  # an argument not given (``None`` given is kept, as attrs kept it)


@record.frozen
class Subtype:
    """One named group of readings, e.g. ``OS.release`` or ``SystemD.containerd.service``.

    ``context``: the reference format's optional string context; never filled by its
    collectors, kept so reading and writing one of its snapshots loses nothing."""

    name: str
    data: dict
    context: dict

    def __init__(self, name: str, data: dict = _DEFAULT, context: dict = _DEFAULT):
        _put(self, "name", name)
        _put(self, "data", canonical({} if data is _DEFAULT else data))
        _put(self, "context", canonical({} if context is _DEFAULT else context))


def _sort_subtypes(subtypes) -> tuple[Subtype, ...]:
    return tuple(sorted(subtypes, key=lambda s: natural_key(s.name)))


@record.frozen
class Measurement:
    """All subtypes of one measurement type."""

    type: str
    subtypes: tuple[Subtype, ...]

    def __init__(self, type: str, subtypes=()):  # noqa: A002 - the document's field name
        _put(self, "type", type)
        _put(self, "subtypes", _sort_subtypes(subtypes))

    def subtype(self, name: str) -> Subtype | None:
        for st in self.subtypes:
            if st.name == name:
                return st
        return None


@record.frozen
class CollectorStatus:
    """How one collector fared: ``ok``, ``failed`` (it tried and broke) or ``unavailable``
    (its source does not exist here, e.g. no ``nvidia-smi`` or no cluster)."""

    name: str
    type: str
    status: str
    reason: str | None
    duration_seconds: float

    def __init__(self, name: str, type: str, status: str, reason: str | None = None,  # noqa: A002
                 duration_seconds: float = 0.0):
        duration = round(float(duration_seconds), 3)
        if status not in STATUSES:  # what attrs.validators.in_ said
            raise ValueError(f"'status' must be in {STATUSES!r} (got {status!r})")
        _put(self, "name", name)
        _put(self, "type", type)
        _put(self, "status", status)
        _put(self, "reason", reason)
        _put(self, "duration_seconds", duration)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


def _sort_measurements(ms) -> tuple[Measurement, ...]:
    return tuple(sorted(ms, key=lambda m: _type_rank(m.type)))


def _sort_collectors(cs) -> tuple[CollectorStatus, ...]:
    return tuple(sorted(cs, key=lambda c: (c.name, c.type)))


@record.frozen
class Snapshot:
    """A whole snapshot document.

    ``api_version`` and ``kind`` are kept as read (``None`` when a document omitted them, as
    the later reference's mock snapshots do) so converting a file between YAML and JSON does
    not rewrite its identity. Snapshots eidos collects carry ``eidos.dev/v1alpha1``.
    """

    __slots__ = ("_index",)  # derived from measurements: not a field, rebuilt by __init__
    api_version: str | None
    kind: str | None
    metadata: dict
    measurements: tuple[Measurement, ...]
    collectors: tuple[CollectorStatus, ...]

    def __init__(self, api_version: str | None = API_VERSION, kind: str | None = KIND,
                 metadata: dict = _DEFAULT, measurements=(), collectors=()):
        _put(self, "api_version", api_version)
        _put(self, "kind", kind)
        _put(self, "metadata", canonical({} if metadata is _DEFAULT else metadata))
        _put(self, "measurements", _sort_measurements(measurements))
        _put(self, "collectors", _sort_collectors(collectors))
        _put(self, "_index", {m.type: {st.name: st.data for st in m.subtypes} for m in self.measurements})

    def __reduce__(self):  # through __init__, which rebuilds the derived _index
        return (self.__class__, self.__record_values__(self))

    # ---- navigation --------------------------------------------------------------------

    def types(self) -> tuple[str, ...]:
        """Measurement types present, in canonical order."""
        return tuple(m.type for m in self.measurements)

    def measurement(self, mtype: str) -> Measurement | None:
        for m in self.measurements:
            if m.type == mtype:
                return m
        return None

    def subtypes(self, mtype: str) -> tuple[str, ...]:
        """Subtype names of one measurement type (empty if the type is absent)."""
        return tuple(self._index.get(mtype, {}))

    def collector(self, name: str) -> CollectorStatus | None:
        for c in self.collectors:
            if c.name == name:
                return c
        return None

    def lookup(self, segments: tuple) -> Any:
        """Value at ``(type, subtype, key, *deeper)`` or ``MISSING``.

        Each segment is matched exactly first. If that fails for a string segment inside a
        mapping, the longest run of following string segments joined with ``.`` that names an
        existing key is used instead, so ``("SystemD", "containerd", "service", "ActiveState")``
        and ``("GPU", "smi", "gpu", "model")`` reach the dotted names the reference wrote
        (``containerd.service``, ``gpu.model``). Integer segments index lists. With only two
        segments the whole subtype data mapping is returned (treat it as read-only).
        """
        if type(segments) is tuple and len(segments) == 3:  # the common Type.subtype.key
            data = self._index.get(segments[0])
            if type(data) is dict:
                data = data.get(segments[1])
                if type(data) is dict and type(segments[2]) is str:
                    value = data.get(segments[2], MISSING)
                    if value is not MISSING:
                        return value
        segments = tuple(segments)
        if len(segments) < 2 or not isinstance(segments[0], str):
            return MISSING
        current: Any = self._index.get(segments[0], MISSING)
        # fast path: exact string keys of plain dicts, as nearly every rule's path is
        # (``_step`` below does the same for these, slower, then the general cases)
        i, n = 1, len(segments)
        while i < n and type(current) is dict and type(segments[i]) is str:
            nxt = current.get(segments[i], MISSING)
            if nxt is MISSING:
                break
            current, i = nxt, i + 1
        rest = segments[i:]
        while rest and current is not MISSING:
            current, rest = _step(current, rest)
        return current

    def iter_values(self) -> Iterator[tuple[tuple, Any]]:
        """Every leaf value with its segment path, in canonical order (for diffs and reports)."""
        for m in self.measurements:
            for st in m.subtypes:
                yield from _walk((m.type, st.name), st.data)

    # ---- metadata views (the reference spelled these several ways) -----------------------

    @property
    def source_node(self) -> str | None:
        return _first(self.metadata, "source-node", "source")

    @property
    def timestamp(self) -> str | None:
        return _first(self.metadata, "timestamp", "snapshot-timestamp")

    @property
    def tool_version(self) -> str | None:
        return _first(self.metadata, "version", "snapshot-version")

    # ---- derivation ----------------------------------------------------------------------

    def replace_type(
        self, measurement: Measurement | None, collectors: tuple[CollectorStatus, ...], mtype: str
    ) -> Snapshot:
        """A copy whose ``mtype`` measurement and that type's collector statuses are replaced
        (used to merge the CLI's cluster view into an agent's node snapshot)."""
        ms = [m for m in self.measurements if m.type != mtype]
        if measurement is not None and measurement.subtypes:
            ms.append(measurement)
        cs = [c for c in self.collectors if c.type != mtype] + list(collectors)
        return Snapshot(self.api_version, self.kind, self.metadata, tuple(ms), tuple(cs))


def _first(meta: Mapping, *keys: str) -> str | None:
    for k in keys:
        v = meta.get(k)
        if v not in (None, ""):
            return str(v)
    return None


def _step(current: Any, rest: tuple) -> tuple[Any, tuple]:
    seg = rest[0]
    if isinstance(current, list):
        if isinstance(seg, int) and not isinstance(seg, bool) and 0 <= seg < len(current):
            return current[seg], rest[1:]
        return MISSING, ()
    if not isinstance(current, Mapping):
        return MISSING, ()
    if isinstance(seg, str) and seg in current:
        return current[seg], rest[1:]
    # dotted-name fallback: longest run of string segments first
    run = 0
    while run < len(rest) and isinstance(rest[run], str):
        run += 1
    for n in range(run, 1, -1):
        key = ".".join(rest[:n])
        if key in current:
            return current[key], rest[n:]
    return MISSING, ()


def _walk(prefix: tuple, value: Any) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            yield from _walk(prefix + (k,), v)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from _walk(prefix + (i,), v)
    else:
        yield prefix, value


# ---- (un)structuring ---------------------------------------------------------------------
# By hand (it was one cattrs converter: ~8 ms of importing cattrs for every command that
# read a snapshot). Field order and omissions are the converter's: a subtype's ``context``
# and a collector's ``reason`` only when set, ``collectors`` only when there are any.


def _subtype_document(st: Subtype) -> dict:
    out = {"subtype": st.name, "data": _plain_copy(st.data)}
    if st.context:
        out["context"] = _plain_copy(st.context)
    return out


def _collector_document(c: CollectorStatus) -> dict:
    out: dict = {"name": c.name, "type": c.type, "status": c.status}
    if c.reason is not None:
        out["reason"] = c.reason
    out["durationSeconds"] = c.duration_seconds
    return out


def _plain_copy(value: Any) -> Any:
    """A copy of plain data (as the converter gave), so a caller editing the document cannot
    reach into the frozen snapshot."""
    if type(value) is dict:
        return {k: _plain_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_plain_copy(v) for v in value]
    return value


def to_document(snapshot: Snapshot) -> dict:
    """Plain, ordered dict in document order: kind, apiVersion, metadata, measurements,
    collectors. Absent identity fields (``None``) are left out, as they were read."""
    doc: dict = {}
    if snapshot.kind is not None:
        doc["kind"] = snapshot.kind
    if snapshot.api_version is not None:
        doc["apiVersion"] = snapshot.api_version
    if snapshot.metadata:
        doc["metadata"] = _plain_copy(snapshot.metadata)
    doc["measurements"] = [
        {"type": m.type, "subtypes": [_subtype_document(st) for st in m.subtypes]} for m in snapshot.measurements
    ]
    if snapshot.collectors:
        doc["collectors"] = [_collector_document(c) for c in snapshot.collectors]
    return doc


def _only(doc: dict, allowed: tuple[str, ...], what: str) -> dict:
    extra = [k for k in doc if k not in allowed]
    if extra:
        raise ValueError(f"{what}: unknown key(s) {', '.join(map(repr, extra))}")
    return doc


def from_document(doc: dict) -> Snapshot:
    """Build a Snapshot from an already validated document (see
    :func:`eidos.snapshot.io.parse_snapshot`, which checks every shape with locations first)."""
    _only(doc, ("apiVersion", "kind", "metadata", "measurements", "collectors"), "snapshot")
    measurements = []
    for m in doc.get("measurements", ()):
        subtypes = [Subtype(st["subtype"], st.get("data", {}), st.get("context", {}))
                    for st in m.get("subtypes", ())
                    if _only(st, ("subtype", "data", "context"), "subtype") is not None]
        measurements.append(Measurement(m["type"], tuple(subtypes)))
    collectors = [CollectorStatus(c["name"], c["type"], c["status"], c.get("reason"), c.get("durationSeconds", 0.0))
                  for c in doc.get("collectors", ())
                  if _only(c, ("name", "type", "status", "reason", "durationSeconds"), "collector") is not None]
    return Snapshot(doc.get("apiVersion", API_VERSION), doc.get("kind", KIND), doc.get("metadata", {}),
                    tuple(measurements), tuple(collectors))
