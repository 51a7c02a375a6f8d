"""``K8s.helm``: the cluster's Helm releases, read from Helm's own storage, opt-in.

Helm v3 keeps each revision of a release in a Secret of type ``helm.sh/release.v1`` named
``sh.helm.release.v1.<release>.v<revision>`` and labelled ``owner=helm``, ``name``,
``status`` and ``version`` (helm/helm v3.21.4, ``pkg/storage/driver/secrets.go``
``newSecretsObject`` and ``pkg/storage/storage.go`` ``makeKey``). Its ``release`` key holds
``base64(gzip(JSON))`` (``pkg/storage/driver/util.go`` ``encodeRelease``; ``decodeRelease``
skips the gzip step when the magic bytes ``1f 8b 08`` are absent, for releases stored before
compression), and the API server base64-encodes Secret data once more on the wire.

What is recorded, per release, keyed as the successor's ``K8s.helm`` (NVIDIA aicr
``pkg/collector/k8s/helm.go``, commit a3037f74): ``<release>.chart``, ``.version`` (chart
version), ``.appVersion``, ``.namespace``, ``.revision``, ``.status``, and — instead of the
values themselves, which may hold passwords — ``.values-digest``: ``sha256:`` over the
user-supplied values (the release's ``config``) serialised as canonical JSON (sorted keys,
no spaces, non-ASCII escaped), so two clusters deployed with the same values have the same digest. A release
name used in several namespaces is keyed ``<namespace>/<release>`` for each of them.

Only the latest revision whose status is ``deployed`` is kept for each release (Helm's
``ListDeployed`` reads the same label), chosen from the labels before anything is decoded.
Every size is bounded: a page holds at most :data:`PAGE` Secrets and is decoded as it
arrives (only small records are kept), at most :data:`MAX_SECRETS` are read, a ``release`` field longer than
:data:`MAX_ENCODED` is refused, and decompression stops at :data:`MAX_JSON` bytes, so a gzip
bomb costs at most that much memory and is reported by name, never decoded to the end.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re

import attrs

from eidos.io.limits import GzipError, gunzip_bounded

LABEL_SELECTOR = "owner=helm,status=deployed"
FIELD_SELECTOR = "type=helm.sh/release.v1"
SECRET_TYPE = "helm.sh/release.v1"
PAGE = 20
MAX_SECRETS = 2000
MAX_ENCODED = 4 * 1024 * 1024  # the API server refuses objects over 1.5 MiB; twice base64 of that
MAX_JSON = 64 * 1024 * 1024  # a release JSON carries the chart's files; large charts reach tens of MiB
_GZIP_MAGIC = b"\x1f\x8b\x08"
_NAME = re.compile(r"^sh\.helm\.release\.v1\.(?P<name>.+)\.v(?P<rev>[0-9]{1,9})$")


class ReleaseError(ValueError):
    """One release Secret could not be decoded; the message says why, without its data."""


@attrs.frozen
class Release:
    name: str
    namespace: str
    revision: int
    status: str
    chart: str | None
    version: str | None
    app_version: str | None
    values_digest: str


def decode_release(field: str, *, max_json: int = MAX_JSON) -> dict:
    """The release JSON from a Secret's ``data.release`` as the API returns it."""
    if not isinstance(field, str):
        raise ReleaseError("data.release is not a string")
    if len(field) > MAX_ENCODED:
        raise ReleaseError(f"data.release is {len(field)} bytes, over the {MAX_ENCODED} limit")
    try:
        inner = base64.b64decode(field, validate=True)  # the API server's encoding of Secret data
        raw = base64.b64decode(inner, validate=True)  # Helm's own (encodeRelease)
    except (binascii.Error, ValueError):
        raise ReleaseError("data.release is not base64(base64(...))") from None
    if raw[:3] == _GZIP_MAGIC:
        try:
            raw = gunzip_bounded(raw, max_json)
        except GzipError as err:
            raise ReleaseError(str(err)) from None
    elif len(raw) > max_json:
        raise ReleaseError(f"uncompressed release is over {max_json // (1024 * 1024)} MiB")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise ReleaseError("release is not JSON") from None
    if not isinstance(obj, dict):
        raise ReleaseError("release JSON is not an object")
    return obj


def values_digest(config) -> str:
    """sha256 over the user-supplied values as canonical JSON (``{}`` when there are none)."""
    # ensure_ascii: non-ASCII (and lone surrogates a hostile release may carry) are \u-escaped,
    # so the text is canonical and always encodable
    text = json.dumps(config if isinstance(config, dict) else {}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _str(value) -> str | None:
    return value if isinstance(value, str) and value else None


def release_of(secret: dict, *, max_json: int = MAX_JSON) -> Release:
    meta = secret.get("metadata") or {}
    labels = meta.get("labels") or {}
    m = _NAME.match(str(meta.get("name", "")))
    obj = decode_release(((secret.get("data") or {}).get("release")), max_json=max_json)
    info = obj.get("info") if isinstance(obj.get("info"), dict) else {}
    chart = obj.get("chart") if isinstance(obj.get("chart"), dict) else {}
    md = chart.get("metadata") if isinstance(chart.get("metadata"), dict) else {}
    name = _str(obj.get("name")) or _str(labels.get("name")) or (m.group("name") if m else None)
    if not name:
        raise ReleaseError("release has no name")
    revision = obj.get("version")
    if not isinstance(revision, int) or isinstance(revision, bool):
        revision = int(m.group("rev")) if m else 0
    return Release(
        name=name,
        namespace=_str(obj.get("namespace")) or _str(meta.get("namespace")) or "",
        revision=revision,
        status=_str(info.get("status")) or _str(labels.get("status")) or "unknown",
        chart=_str(md.get("name")),
        version=_str(md.get("version")),
        app_version=_str(md.get("appVersion")),
        values_digest=_digest_or_refuse(obj.get("config")),
    )


def _digest_or_refuse(config) -> str:
    try:
        return values_digest(config)
    except (RecursionError, ValueError, TypeError):
        raise ReleaseError("values cannot be serialised (too deeply nested?)") from None


def _revision_label(secret: dict) -> int:
    meta = secret.get("metadata") or {}
    value = str((meta.get("labels") or {}).get("version", ""))
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    m = _NAME.match(str(meta.get("name", "")))
    return int(m.group("rev")) if m else 0


def _candidate(secret: dict) -> tuple[tuple[str, str], int] | None:
    """``((namespace, release), revision)`` of a deployed Helm release Secret, from its type,
    name and labels only (nothing decoded); None for anything else."""
    meta = secret.get("metadata") or {}
    labels = meta.get("labels") or {}
    if secret.get("type") != SECRET_TYPE or labels.get("owner") != "helm":
        return None
    if labels.get("status") != "deployed":
        return None
    m = _NAME.match(str(meta.get("name", "")))
    name = labels.get("name") or (m.group("name") if m else None)
    if not name:
        return None
    return (str(meta.get("namespace", "")), str(name)), _revision_label(secret)


def helm_data(releases: list[Release]) -> dict[str, str]:
    """The flat ``K8s.helm`` mapping, keys sorted."""
    names: dict[str, int] = {}
    for r in releases:
        names[r.name] = names.get(r.name, 0) + 1
    out: dict[str, str] = {}
    for r in sorted(releases, key=lambda r: (r.name, r.namespace)):
        prefix = r.name if names[r.name] == 1 else f"{r.namespace}/{r.name}"
        for key, value in (
            ("chart", r.chart), ("version", r.version), ("appVersion", r.app_version),
            ("namespace", r.namespace), ("revision", str(r.revision)), ("status", r.status),
            ("values-digest", r.values_digest),
        ):
            if value is not None:
                out[f"{prefix}.{key}"] = value
    return dict(sorted(out.items()))


def collect_helm(cluster, *, max_secrets: int | None = None, max_json: int | None = None):
    """``(data, note)`` from the cluster's Helm release Secrets; API errors propagate (the
    caller records them). Undecodable releases are named in the note and left out.

    Each page is decoded as it arrives and only the small :class:`Release` records are kept
    (the latest revision per release so far), so memory holds one page of Secrets at most,
    never every release's manifest and chart at once."""
    max_secrets = MAX_SECRETS if max_secrets is None else max_secrets
    max_json = MAX_JSON if max_json is None else max_json
    kept: dict[tuple[str, str], tuple[int, Release | str]] = {}
    read = 0
    truncated = False
    for page in cluster.list_secrets_paged(LABEL_SELECTOR, FIELD_SELECTOR, page=PAGE):
        for secret in page:
            if read >= max_secrets:
                truncated = True
                break
            read += 1
            c = _candidate(secret)
            if c is None or (c[0] in kept and kept[c[0]][0] >= c[1]):
                continue
            meta = secret.get("metadata") or {}
            try:
                kept[c[0]] = (c[1], release_of(secret, max_json=max_json))
            except ReleaseError as err:
                kept[c[0]] = (c[1], f"{meta.get('namespace', '?')}/{meta.get('name', '?')}: {err}")
        if truncated:
            break
    releases = [r for _, r in kept.values() if isinstance(r, Release)]
    problems = [r for _, r in sorted(kept.items()) for r in [r[1]] if isinstance(r, str)]
    notes = []
    if truncated:
        notes.append(f"more than {max_secrets} deployed release Secrets; read the first {max_secrets}")
    if problems:
        notes.append("not decoded: " + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
    if not releases and not problems:
        notes.append("no deployed Helm releases (Secrets of type helm.sh/release.v1, owner=helm)")
    return helm_data(releases), ("; ".join(notes) or None)
