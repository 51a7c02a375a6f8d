"""Snapshots in ConfigMaps, whatever their size: plain, gzip-compressed, or split — never cut.

The API server refuses a ConfigMap whose ``data`` and ``binaryData`` values add up to more
than 1 MiB (1,048,576 bytes: ``ValidateConfigMap`` in kubernetes'
pkg/apis/core/validation/validation.go; "The data stored in a ConfigMap cannot exceed 1
MiB", https://kubernetes.io/docs/concepts/configuration/configmap/). A snapshot is stored in
the first form that fits:

1. ``plain`` — ``data: {snapshot.yaml: TEXT}``: what ``eidos snapshot --out cm://`` writes,
   so ``eidos diff cm://NS/NAME`` and ``eidos validate`` read a small slot directly;
2. ``gzip`` — ``binaryData: {snapshot.yaml.gz: …}`` (deterministic: ``mtime=0``);
3. ``gzip`` split — the compressed bytes cut into numbered parts: the head ConfigMap holds
   part 0, ``NAME-p1``, ``NAME-p2``… the rest.

Every form records the text's SHA-256 and byte length; reading checks both, so a torn or
stale part is an error, never a silently different snapshot. A snapshot that would need more
parts than the caller allows is refused (:class:`TooLarge`) rather than truncated.

The writer only *patches* ConfigMaps that already exist (the drift CronJob's Role grants
``patch`` on named ConfigMaps and no ``create``, which Kubernetes cannot limit by name), so
keys a previous, differently-encoded snapshot left behind are removed with ``null`` in the
same merge patch.
"""

from __future__ import annotations

import base64
import gzip
import hashlib

import attrs

from eidos.errors import EnvironmentFailure, InputError
from eidos.io.limits import MAX_TEXT_CHARS, GzipError, gunzip_bounded

CONFIGMAP_LIMIT = 1024 * 1024
# plain text: the API's limit, less room for the bookkeeping keys (format, sha256, …)
PLAIN_BUDGET = CONFIGMAP_LIMIT - 16 * 1024
# compressed bytes per ConfigMap: binaryData travels base64-encoded (4/3 larger), and 736 KiB
# keeps each request body under 1 MiB, below the request-size limits of proxies and API
# emulators in front of the API server, not only below the stored-object limit
PART_BUDGET = 736 * 1024
PLAIN_KEY = "snapshot.yaml"
GZIP_KEY = "snapshot.yaml.gz"
PART_KEY = "part"
_META_KEYS = ("format", "encoding", "parts", "sha256", "size", "timestamp", "node")


class TooLarge(EnvironmentFailure):
    """The snapshot does not fit in the ConfigMaps the caller may write."""


def part_name(head: str, index: int) -> str:
    """The ConfigMap holding part ``index`` (1-based beyond the head) of ``head``."""
    return f"{head}-p{index}"


@attrs.frozen
class Encoded:
    """What to write: the head's data/binaryData, then one binaryData value per extra part."""

    encoding: str  # plain | gzip
    data: dict
    binary: dict  # key -> bytes
    parts: tuple[bytes, ...]  # extra parts (after the head), raw bytes

    @property
    def part_count(self) -> int:
        return 1 + len(self.parts)


def encode(text: str, *, max_parts: int, budget: int = PLAIN_BUDGET, part_budget: int = PART_BUDGET,
           meta: dict | None = None) -> Encoded:
    """Choose the smallest faithful form of ``text`` (see the module doc)."""
    raw = text.encode("utf-8")
    data = {"format": "yaml", "sha256": hashlib.sha256(raw).hexdigest(), "size": str(len(raw))}
    data.update({k: str(v) for k, v in (meta or {}).items() if v})
    if len(raw) <= budget:
        return Encoded("plain", {**data, "encoding": "plain", "parts": "1", PLAIN_KEY: text}, {}, ())
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    chunks = [packed[i:i + part_budget] for i in range(0, len(packed), part_budget)]
    if len(chunks) > max_parts:
        raise TooLarge(
            f"snapshot is {len(raw)} bytes ({len(packed)} compressed): it needs {len(chunks)} "
            f"ConfigMaps of at most {part_budget} compressed bytes, and {max_parts} are allowed",
            hint="reinstall with a larger --max-parts",
        )
    data.update({"encoding": "gzip", "parts": str(len(chunks))})
    return Encoded("gzip", data, {GZIP_KEY: chunks[0]}, tuple(chunks[1:]))


def decode(head: dict, parts: list[dict], name: str) -> str:
    """The text stored by :func:`encode` (``head``/``parts``: ConfigMap objects as read)."""
    data = head.get("data") or {}
    binary = head.get("binaryData") or {}
    encoding = data.get("encoding", "plain")
    if encoding == "plain":
        for key in (PLAIN_KEY, "snapshot.json"):
            if isinstance(data.get(key), str):
                text = data[key]
                _verify(text.encode("utf-8"), data, name)
                return text
        raise InputError(f"{name}: ConfigMap holds no snapshot (no snapshot.yaml or snapshot.json key)")
    if encoding != "gzip":
        raise InputError(f"{name}: unknown snapshot encoding {encoding!r}")
    count = _count(data, name)
    if len(parts) != count - 1:
        raise InputError(f"{name}: snapshot has {count} part(s), {len(parts) + 1} were read")
    chunks = [_b64(binary.get(GZIP_KEY), name, GZIP_KEY)]
    for i, part in enumerate(parts, start=1):
        chunks.append(_b64((part.get("binaryData") or {}).get(PART_KEY), part_name(name, i), PART_KEY))
    try:
        raw = gunzip_bounded(b"".join(chunks), MAX_TEXT_CHARS)
    except GzipError as err:
        raise InputError(f"{name}: compressed snapshot is damaged ({err})") from None
    _verify(raw, data, name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: stored snapshot is not UTF-8") from None


def _count(data: dict, name: str) -> int:
    try:
        count = int(data.get("parts", "1"))
    except ValueError:
        count = 0
    if count < 1:
        raise InputError(f"{name}: bad part count {data.get('parts')!r}")
    return count


def _b64(value, name: str, key: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(f"{name}: binaryData key {key!r} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise InputError(f"{name}: binaryData key {key!r} is not base64") from None


def _verify(raw: bytes, data: dict, name: str) -> None:
    want = data.get("sha256")
    if want is None:  # written by eidos snapshot --out cm://, which records no digest
        return
    if hashlib.sha256(raw).hexdigest() != want or data.get("size", str(len(raw))) != str(len(raw)):
        raise InputError(f"{name}: stored snapshot does not match its recorded SHA-256 (torn write?)")


def write(cluster, namespace: str, name: str, text: str, *, max_parts: int, meta: dict | None = None) -> Encoded:
    """Store ``text`` in the pre-created ConfigMaps ``name`` and ``name-p1..``; parts beyond
    what this snapshot needs are emptied (their bytes would only waste etcd space)."""
    enc = encode(text, max_parts=max_parts, meta=meta)
    stale_data = {k: None for k in (*_META_KEYS, PLAIN_KEY, "snapshot.json") if k not in enc.data}
    binary = {GZIP_KEY: None, **{k: _to_b64(v) for k, v in enc.binary.items()}}
    for i, chunk in enumerate(enc.parts, start=1):
        cluster.patch("ConfigMap", part_name(name, i), namespace, {"binaryData": {PART_KEY: _to_b64(chunk)}})
    cluster.patch("ConfigMap", name, namespace, {"data": {**enc.data, **stale_data}, "binaryData": binary})
    for i in range(enc.part_count, max_parts):
        cluster.patch("ConfigMap", part_name(name, i), namespace, {"binaryData": {PART_KEY: None}})
    return enc


def read(cluster, namespace: str, name: str) -> str:
    """The snapshot text in ConfigMap ``name`` (any form :func:`encode` writes, or a plain
    ``eidos snapshot --out cm://`` ConfigMap)."""
    head = cluster.get_configmap(namespace, name)
    data = head.get("data") or {}
    parts = []
    if data.get("encoding") == "gzip":
        for i in range(1, _count(data, f"cm://{namespace}/{name}")):
            parts.append(cluster.get_configmap(namespace, part_name(name, i)))
    return decode(head, parts, f"cm://{namespace}/{name}")


def _to_b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
