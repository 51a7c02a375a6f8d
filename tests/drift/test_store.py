"""Snapshots in ConfigMaps: plain, gzip, split; byte-identical round trips; never truncated."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eidos.drift import store
from eidos.errors import InputError


def as_configmaps(enc: store.Encoded, name="cm"):
    """What the API would hand back: binaryData base64-encoded."""
    head = {"data": dict(enc.data),
            "binaryData": {k: base64.b64encode(v).decode() for k, v in enc.binary.items()}}
    parts = [{"binaryData": {store.PART_KEY: base64.b64encode(p).decode()}} for p in enc.parts]
    return head, parts


def test_small_snapshot_is_plain_and_readable_as_eidos_snapshot_writes_it():
    enc = store.encode("kind: Snapshot\n", max_parts=1)
    assert enc.encoding == "plain" and enc.data[store.PLAIN_KEY] == "kind: Snapshot\n" and not enc.parts
    assert store.decode(*as_configmaps(enc), "cm") == "kind: Snapshot\n"


def test_over_a_mebibyte_compresses_into_one_configmap():
    text = "".join(f"key-{i}: value {i % 97}\n" for i in range(120_000))
    assert len(text.encode()) > store.CONFIGMAP_LIMIT
    enc = store.encode(text, max_parts=1)
    assert enc.encoding == "gzip" and enc.part_count == 1
    assert len(enc.binary[store.GZIP_KEY]) <= store.PART_BUDGET
    assert store.decode(*as_configmaps(enc), "cm") == text


def test_incompressible_snapshot_is_split_and_round_trips():
    text = base64.b64encode(os.urandom(1_600_000)).decode()  # ~2.1 MB that gzip barely shrinks
    enc = store.encode(text, max_parts=4)
    assert enc.part_count == 3
    assert all(len(p) <= store.PART_BUDGET for p in (enc.binary[store.GZIP_KEY], *enc.parts))
    assert store.decode(*as_configmaps(enc), "cm") == text


def test_too_large_is_refused_not_truncated():
    text = base64.b64encode(os.urandom(1_600_000)).decode()
    with pytest.raises(store.TooLarge, match="needs 3 ConfigMaps .* 2 are allowed"):
        store.encode(text, max_parts=2)


def test_a_damaged_or_missing_part_is_an_error():
    text = base64.b64encode(os.urandom(3000)).decode()
    enc = store.encode(text, max_parts=200, budget=256, part_budget=256)
    head, parts = as_configmaps(enc)
    assert len(parts) >= 3
    assert store.decode(head, parts, "cm") == text
    with pytest.raises(InputError, match=r"has \d+ part\(s\), \d+ were read"):
        store.decode(head, parts[:-1], "cm")
    stale = as_configmaps(store.encode(base64.b64encode(os.urandom(3000)).decode(), max_parts=200, budget=256, part_budget=256))[1]
    torn = [*parts[:-1], stale[len(parts) - 1]]  # a part left from another snapshot
    with pytest.raises(InputError, match="SHA-256|damaged"):
        store.decode(head, torn, "cm")


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=3000), st.integers(min_value=16, max_value=400))
def test_round_trip_any_text_any_budget(text, budget):
    try:
        enc = store.encode(text, max_parts=1000, budget=budget, part_budget=budget)
    except store.TooLarge:
        raise AssertionError("1000 parts always suffice here") from None
    assert store.decode(*as_configmaps(enc), "cm") == text



def test_a_torn_deflate_stream_is_an_error_not_a_crash():
    """A corrupt deflate block makes gzip raise zlib.error (not an OSError); the decoder must turn it
    into InputError like every other damage (found as a flaky crash of the test above)."""
    import gzip as _gzip

    text = base64.b64encode(os.urandom(3000)).decode()
    head, parts = as_configmaps(store.encode(text, max_parts=200, budget=256, part_budget=256))
    blob = bytearray(_gzip.compress(text.encode()))
    blob[20:40] = b"\xff" * 20  # inside the deflate data, after the 10-byte gzip header
    with pytest.raises(Exception) as raw:
        _gzip.decompress(bytes(blob))
    assert not isinstance(raw.value, OSError)  # the case the decoder has to catch explicitly
    head = {**head, "binaryData": {**head["binaryData"], store.GZIP_KEY: base64.b64encode(bytes(blob)).decode()}}
    head = {**head, "data": {**head["data"], "parts": "1"}}
    with pytest.raises(InputError, match="damaged"):
        store.decode(head, [], "cm")
