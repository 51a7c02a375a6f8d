"""Reading and writing snapshot documents: files, ``-`` (stdin/stdout) and ``cm://ns/name``.

Readers accept our own format (``eidos.dev/v1alpha1``) and the reference's unchanged
(``cns.nvidia.com/v1alpha1``, metadata ``source``/``source-node``, older
``snapshot-version``/``snapshot-timestamp``, documents without kind/apiVersion). Every shape
error names the source and, for YAML, the line: a malformed snapshot is an ``InputError``,
never a traceback.

The format is chosen deliberately, never guessed differently by writer and reader (a flaw
of the reference): an explicit ``--format`` wins, else a ``.json`` extension means JSON, else
YAML. Readers detect JSON by content (a document starting with ``{``), which also covers
stdin and ConfigMaps.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eidos.io import limits
from eidos.io.inputs import read_input
from eidos.errors import EnvironmentFailure, InputError, UsageError
from eidos.lang.measurements import MEASUREMENT_TYPES
from eidos.snapshot.model import (
    KIND,
    STATUSES,
    SUPPORTED_API_VERSIONS,
    Snapshot,
    from_document,
    to_document,
)

FORMATS = ("yaml", "json")
MAX_INPUT_BYTES = 64 * 1024 * 1024
CONFIGMAP_LIMIT = 1024 * 1024  # the API server refuses bigger ConfigMaps
# Values one snapshot may hold. A real node is ~2,000 (H100 fixture) and the collectors'
# own bounds (20,000 sysctls, 500 nodes, MAX_GPUS GPUs) stay far below; loading and
# validating 250,000 values takes a few seconds, so a fleet file cannot stall a run.
MAX_VALUES = 250_000
# A malformed snapshot is parsed again by the (5x slower) pure-Python parser to put a line
# number in the message; past this size the message names the path only.
LINES_REPARSE_LIMIT = 8 * 1024 * 1024
CM_DATA_KEYS = {"yaml": "snapshot.yaml", "json": "snapshot.json"}

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

ClusterFactory = Callable[[], Any]  # returns an eidos.snapshot.cluster.Cluster


# ---- destinations ----------------------------------------------------------------------


def is_configmap(target: str | None) -> bool:
    return bool(target) and target.strip().startswith("cm://")


def parse_cm_uri(uri: str) -> tuple[str, str]:
    """``cm://namespace/name`` -> (namespace, name); both must be valid Kubernetes names."""
    text = uri.strip()
    if not text.startswith("cm://"):
        raise UsageError(f"{uri!r}: a ConfigMap URI looks like cm://namespace/name")
    ns, sep, name = text[len("cm://") :].partition("/")
    ns, name = ns.strip(), name.strip()
    if not sep or not ns or not name:
        raise UsageError(f"{uri!r}: a ConfigMap URI needs a namespace and a name: cm://namespace/name")
    if not _DNS_LABEL.match(ns):
        raise UsageError(f"{uri!r}: {ns!r} is not a valid namespace name")
    if not _DNS_SUBDOMAIN.match(name):
        raise UsageError(f"{uri!r}: {name!r} is not a valid ConfigMap name")
    return ns, name


def format_for(destination: str | None, explicit: str | None) -> str:
    """--format wins; else ``.json`` -> json; else yaml (stdout and ConfigMaps included)."""
    if explicit:
        if explicit not in FORMATS:
            raise UsageError(f"unknown format {explicit!r}; choose one of: {', '.join(FORMATS)}")
        return explicit
    if destination and not is_configmap(destination) and destination != "-":
        if Path(destination).suffix.lower() == ".json":
            return "json"
    return "yaml"


# ---- serialisation ---------------------------------------------------------------------


def dumps(snapshot: Snapshot, fmt: str = "yaml") -> str:
    """The canonical text of a snapshot: the same snapshot always gives the same bytes."""
    from eidos.io import yamlio  # writing only: a warm validate reads without it (issue 17)

    doc = to_document(snapshot)
    if fmt == "json":
        return yamlio.dump_json(doc)
    return yamlio.dump(doc)


def write_snapshot(
    snapshot: Snapshot,
    destination: str | None,
    fmt: str | None = None,
    *,
    cluster_factory: ClusterFactory | None = None,
) -> None:
    """Write to a file (atomically), stdout (``-``/None) or a ConfigMap (``cm://ns/name``)."""
    from eidos.io.output import emit

    fmt = format_for(destination, fmt)
    text = dumps(snapshot, fmt)
    if is_configmap(destination):
        ns, name = parse_cm_uri(destination)
        size = len(text.encode("utf-8"))
        if size > CONFIGMAP_LIMIT - 4096:
            raise EnvironmentFailure(
                f"{destination}: snapshot is {size} bytes; a ConfigMap holds at most 1 MiB",
                hint="write to a file instead (-o snapshot.yaml)",
            )
        cluster = _cluster(cluster_factory)
        labels = {
            "app.kubernetes.io/managed-by": "eidos",
            "app.kubernetes.io/component": "snapshot",
        }
        data = {CM_DATA_KEYS[fmt]: text, "format": fmt}
        if snapshot.timestamp:
            data["timestamp"] = snapshot.timestamp
        cluster.put_configmap(ns, name, data, labels=labels)
        return
    emit(text, destination)


def _cluster(factory: ClusterFactory | None):
    if factory is not None:
        return factory()
    from eidos.snapshot.cluster import Cluster

    return Cluster.connect()


# ---- reading ---------------------------------------------------------------------------


def read_source(source: str, *, cluster_factory: ClusterFactory | None = None) -> tuple[str, str]:
    """Return (text, display name) for a file path, ``-`` or ``cm://ns/name``."""
    if is_configmap(source):
        ns, name = parse_cm_uri(source)
        cm = _cluster(cluster_factory).get_configmap(ns, name)
        data = cm.get("data") or {}
        fmt = data.get("format")
        keys = [CM_DATA_KEYS[fmt]] if fmt in CM_DATA_KEYS else []
        keys += [k for k in ("snapshot.yaml", "snapshot.json") if k not in keys]
        for key in keys:
            if isinstance(data.get(key), str):
                return data[key], f"{source}#{key}"
        raise InputError(f"{source}: ConfigMap has no snapshot.yaml or snapshot.json key")
    return read_input(source, "a snapshot file", MAX_INPUT_BYTES)


def load_snapshot(source: str, *, cluster_factory: ClusterFactory | None = None) -> Snapshot:
    """Load a snapshot from a file path, ``-`` (stdin) or ``cm://namespace/name``."""
    text, name = read_source(source, cluster_factory=cluster_factory)
    return parse_snapshot(text, name)


def parse_snapshot(text: str, name: str = "<input>") -> Snapshot:
    """Parse YAML or JSON text into a Snapshot, or raise InputError naming the location.

    A well-formed document is read by :mod:`eidos.snapshot.fastload` (the same values, ~30x
    faster for YAML); anything it is not certain about, errors included, takes the careful
    path below, so messages and locations are unchanged."""
    from eidos.snapshot import fastload

    is_json = text.lstrip().startswith("{")
    if is_json:
        fast, canonical = fastload.load_json_checked(text, MAX_VALUES) or (None, False)
    else:
        fast, canonical = fastload.load_yaml(text, MAX_VALUES), True
    if fast is not None:
        try:
            return _validated(fast, name, {}, trusted=True, canonical=canonical)
        except InputError:
            pass  # the careful path below raises it again, with line numbers for YAML
    if is_json:
        return _validated(_load_json(text, name), name, {})
    from eidos.io import yamlio  # the careful reader: only for what the fast path declined

    # The fast C parser first; line numbers cost a slower parse, paid only when the
    # document parses but its shape is wrong and the error message needs them.
    doc = yamlio.load(text, name, max_values=MAX_VALUES)
    try:
        return _validated(doc, name, {})
    except InputError:
        if len(text) > LINES_REPARSE_LIMIT:
            raise  # the pure-Python parse would take longer than the line number is worth
        doc, lines = yamlio.load(text, name, with_lines=True, max_values=MAX_VALUES)
        return _validated(doc, name, lines)


def _validated(doc: Any, name: str, lines: dict, *, trusted: bool = False, canonical: bool = False) -> Snapshot:
    try:
        return _Validator(name, lines, trusted=trusted, canonical=canonical).snapshot(doc)
    except RecursionError:
        raise InputError(f"{name}: document nested too deeply") from None


def _load_json(text: str, name: str) -> Any:
    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise InputError(f"{name}: duplicate key {k!r}")
            out[k] = v
        return out

    def bad_constant(c):
        raise InputError(f"{name}: {c} is not a valid JSON number")

    limits.check_json(text, name)
    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant)
    except json.JSONDecodeError as err:
        raise InputError(f"{name}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    except RecursionError:
        raise InputError(f"{name}: JSON nested too deeply") from None
    except ValueError as err:  # e.g. an integer past Python's digit limit (defence in depth)
        raise InputError(f"{name}: invalid JSON: {err}") from None
    if _count(doc, MAX_VALUES) > MAX_VALUES:
        raise InputError(f"{name}: snapshot holds more than {MAX_VALUES} values")
    return doc


def _count(doc: Any, limit: int) -> int:
    """Values in a parsed document (keys not counted), stopping once past ``limit``."""
    seen = 0
    stack = [doc]
    while stack and seen <= limit:
        v = stack.pop()
        seen += 1
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return seen


class _Validator:
    """Checks document shape and reports ``file:line: path: problem``."""

    def __init__(self, name: str, lines: dict, *, trusted: bool = False, canonical: bool = False):
        self.name = name
        self.lines = lines or {}
        # values already checked (string keys, plain finite scalars) by the fast reader's walk
        self.trusted = trusted
        # ... and every mapping's keys already sorted: the model's sorting copy can be skipped
        self.canonical = trusted and canonical

    def fail(self, path: tuple, problem: str):
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe[:-1]
        where = f"{self.name}:{line}" if line else self.name
        shown = _show_path(path)
        raise InputError(f"{where}: {shown + ': ' if shown else ''}{problem}")

    def mapping(self, value, path, what):
        if not isinstance(value, dict):
            self.fail(path, f"{what} must be a mapping, got {_kind(value)}")
        return value

    def keys(self, value: dict, path, allowed):
        for k in value:
            if k not in allowed:
                self.fail(path + (k,), f"unknown key {k!r} (allowed: {', '.join(allowed)})")

    def snapshot(self, doc) -> Snapshot:
        if doc is None:
            self.fail((), "empty document, expected a Snapshot")
        self.mapping(doc, (), "a snapshot")
        self.keys(doc, (), ("kind", "apiVersion", "metadata", "measurements", "collectors"))
        kind = doc.get("kind")
        if kind is not None and kind != KIND:
            self.fail(("kind",), f"kind is {kind!r}, expected {KIND!r}")
        api = doc.get("apiVersion")
        if api is not None and api not in SUPPORTED_API_VERSIONS:
            self.fail(
                ("apiVersion",),
                f"unsupported apiVersion {api!r} (supported: {', '.join(SUPPORTED_API_VERSIONS)})",
            )
        if "measurements" not in doc:
            self.fail((), "not a snapshot: no 'measurements' list")
        meta = _or(doc.get("metadata"), {})
        self.mapping(meta, ("metadata",), "metadata")
        for k, v in meta.items():
            if isinstance(v, (dict, list)):
                self.fail(("metadata", k), "metadata values must be scalars")
            self.value(v, ("metadata", k))
        measurements = _or(doc.get("measurements"), [])
        if not isinstance(measurements, list):
            self.fail(("measurements",), f"measurements must be a list, got {_kind(measurements)}")
        seen_types: set = set()
        out_ms = []
        for i, m in enumerate(measurements):
            out_ms.append(self.measurement(m, ("measurements", i), seen_types))
        collectors = _or(doc.get("collectors"), [])
        if not isinstance(collectors, list):
            self.fail(("collectors",), f"collectors must be a list, got {_kind(collectors)}")
        out_cs = [self.collector(c, ("collectors", i)) for i, c in enumerate(collectors)]
        clean = {
            "apiVersion": api,
            "kind": kind,
            "metadata": meta,
            "measurements": out_ms,
            "collectors": out_cs,
        }
        try:
            return _canonical_snapshot(clean) if self.canonical else from_document(clean)
        except (TypeError, ValueError, KeyError) as err:
            # validation above should make this unreachable; if not, say so with the input
            raise InputError(f"{self.name}: not a valid snapshot: {err}") from None

    def measurement(self, m, path, seen_types) -> dict:
        self.mapping(m, path, "a measurement")
        self.keys(m, path, ("type", "subtypes"))
        mtype = m.get("type")
        if not isinstance(mtype, str):
            self.fail(path + ("type",), "measurement type missing or not a string")
        if mtype not in MEASUREMENT_TYPES:
            self.fail(
                path + ("type",),
                f"unknown measurement type {mtype!r} (known: {', '.join(MEASUREMENT_TYPES)})",
            )
        if mtype in seen_types:
            self.fail(path + ("type",), f"measurement type {mtype!r} appears twice")
        seen_types.add(mtype)
        subtypes = _or(m.get("subtypes"), [])
        if not isinstance(subtypes, list):
            self.fail(path + ("subtypes",), f"subtypes must be a list, got {_kind(subtypes)}")
        names: set = set()
        out = []
        for j, st in enumerate(subtypes):
            sp = path + ("subtypes", j)
            self.mapping(st, sp, "a subtype")
            self.keys(st, sp, ("subtype", "data", "context"))
            sname = st.get("subtype")
            if not isinstance(sname, str) or not sname:
                self.fail(sp + ("subtype",), "subtype name missing or not a string")
            if sname in names:
                self.fail(sp + ("subtype",), f"subtype {sname!r} appears twice in {mtype}")
            names.add(sname)
            data = _or(st.get("data"), {})
            self.mapping(data, sp + ("data",), "data")
            self.value(data, sp + ("data",))
            context = _or(st.get("context"), {})
            self.mapping(context, sp + ("context",), "context")
            self.value(context, sp + ("context",))
            out.append({"subtype": sname, "data": data, "context": context})
        return {"type": mtype, "subtypes": out}

    def collector(self, c, path) -> dict:
        self.mapping(c, path, "a collector status")
        self.keys(c, path, ("name", "type", "status", "reason", "durationSeconds"))
        for key in ("name", "type", "status"):
            if not isinstance(c.get(key), str):
                self.fail(path + (key,), f"{key} missing or not a string")
        if c["status"] not in STATUSES:
            self.fail(path + ("status",), f"status must be one of {', '.join(STATUSES)}")
        reason = c.get("reason")
        if reason is not None and not isinstance(reason, str):
            self.fail(path + ("reason",), "reason must be a string")
        dur = c.get("durationSeconds", 0)
        if isinstance(dur, bool) or not isinstance(dur, (int, float)) or not math.isfinite(dur):
            self.fail(path + ("durationSeconds",), "durationSeconds must be a number")
        return {
            "name": c["name"],
            "type": c["type"],
            "status": c["status"],
            "reason": reason,
            "durationSeconds": dur,
        }

    def value(self, v, path):
        if self.trusted:
            return
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    self.fail(path, f"key {k!r} is not a string")
                self.value(item, path + (k,))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                self.value(item, path + (i,))
        elif isinstance(v, float) and not math.isfinite(v):
            self.fail(path, f"{v} is not a finite number")
        elif not (v is None or isinstance(v, (str, int, float, bool))):
            self.fail(path, f"unsupported value type {_kind(v)}")


def _canonical_snapshot(clean: dict) -> Snapshot:
    """``from_document`` for a checked document whose mappings are already sorted: the
    subtypes take their data as is instead of through the model's sorting deep copy
    (``canonical``), ~40% of loading a real node. Equal to ``from_document(clean)``, and
    serialises to the same bytes (tests/validate/test_fleet_fastload.py)."""
    from eidos.snapshot.model import CollectorStatus, Measurement, Subtype

    new, put = object.__new__, object.__setattr__  # what attrs' own frozen __init__ does
    measurements = []
    for m in clean["measurements"]:
        subtypes = []
        for st in m["subtypes"]:
            sub = new(Subtype)
            put(sub, "name", st["subtype"])
            put(sub, "data", st["data"])
            put(sub, "context", st["context"])
            subtypes.append(sub)
        measurements.append(Measurement(type=m["type"], subtypes=tuple(subtypes)))
    collectors = [CollectorStatus(name=c["name"], type=c["type"], status=c["status"], reason=c["reason"],
                                  duration_seconds=c["durationSeconds"]) for c in clean["collectors"]]
    return Snapshot(api_version=clean["apiVersion"], kind=clean["kind"], metadata=clean["metadata"],
                    measurements=tuple(measurements), collectors=tuple(collectors))


def _or(value, default):
    """``None`` (key absent or null) means empty; any other value is checked as given."""
    return default if value is None else value


def _kind(v) -> str:
    if v is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(v), type(v).__name__
    )


def _show_path(path: tuple) -> str:
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += ("." if out else "") + str(seg)
    return out
