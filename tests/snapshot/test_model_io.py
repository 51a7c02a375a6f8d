"""Snapshot model and I/O: reference compatibility, lookup, round trips, determinism, errors."""

from __future__ import annotations

import io as _io
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.errors import InputError, UsageError
from eidos.lang.measurements import MISSING
from eidos.io import yamlio
from eidos.snapshot import io, load_snapshot, parse_snapshot
from eidos.snapshot.model import (
    API_VERSION,
    CollectorStatus,
    Measurement,
    Snapshot,
    Subtype,
    from_document,
    natural_key,
    to_document,
)

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"
EKS = ["cns-eks-h100.yaml", "cns-eks-gb200.yaml"]


@pytest.fixture(scope="module")
def h100() -> Snapshot:
    return load_snapshot(str(SNAPSHOTS / "cns-eks-h100.yaml"))


def test_reads_reference_snapshot_unchanged(h100):
    assert h100.kind == "Snapshot"
    assert h100.api_version == "cns.nvidia.com/v1alpha1"
    assert h100.source_node == "ip-10-0-158-18.ec2.internal"
    assert h100.timestamp == "2026-01-02T18:01:13Z"
    assert h100.tool_version == "0.8.12"
    assert h100.types() == ("K8s", "GPU", "OS", "SystemD")  # canonical, not file order
    assert h100.collectors == ()


@pytest.mark.parametrize(
    "segments, expected",
    [
        (("K8s", "server", "version"), "v1.30.14-eks-3025e55"),
        (("OS", "sysctl", "/proc/sys/kernel/osrelease"), "6.8.0-1024-aws"),
        (("SystemD", "containerd.service", "ActiveState"), "active"),
        (("OS", "release", "ID"), "ubuntu"),
        (("OS", "release", "VERSION_ID"), "24.04"),
        (("GPU", "smi", "gpu-count"), 8),
        (("GPU", "smi", "driver"), "570.133.20"),
        (("GPU", "smi", "cuda-version"), "12.8"),
        (("GPU", "smi", "gpu.model"), "NVIDIA H100 80GB HBM3"),
        # unquoted dotted paths still reach dotted names (longest existing match)
        (("GPU", "smi", "gpu", "model"), "NVIDIA H100 80GB HBM3"),
        (("SystemD", "containerd", "service", "ActiveState"), "active"),
        (("K8s", "policy", "driver.version"), "570.133.20"),
        (("K8s", "policy", "driver", "version"), "570.133.20"),
        (("OS", "kmod", "nvidia"), True),
    ],
)
def test_lookup(h100, segments, expected):
    value = h100.lookup(segments)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "segments",
    [
        (),
        ("K8s",),
        ("Nope", "server", "version"),
        ("K8s", "nope", "version"),
        ("K8s", "server", "nope"),
        ("K8s", "server", "version", "deeper"),
        ("OS", "kmod", "nvidia_peermem"),
        ("GPU", "smi", 0),
    ],
)
def test_lookup_missing(h100, segments):
    assert h100.lookup(segments) is MISSING


def test_lookup_nested_and_lists():
    snap = Snapshot(
        measurements=(
            Measurement("GPU", (Subtype("smi", {"models": ["A100", "H100"], "n": {"a.b": {"c": 1}}}),)),
        )
    )
    assert snap.lookup(("GPU", "smi", "models", 1)) == "H100"
    assert snap.lookup(("GPU", "smi", "models", 2)) is MISSING
    assert snap.lookup(("GPU", "smi", "n", "a.b", "c")) == 1
    assert snap.lookup(("GPU", "smi", "n", "a", "b", "c")) == 1
    assert snap.lookup(("GPU", "smi")) == {"models": ["A100", "H100"], "n": {"a.b": {"c": 1}}}
    assert snap.subtypes("GPU") == ("smi",)
    assert list(snap.iter_values())[0] == (("GPU", "smi", "models", 0), "A100")


def test_aicr_mock_without_kind_reads_and_keeps_its_shape():
    snap = load_snapshot(str(SNAPSHOTS / "aicr-mock-training.yaml"))
    assert snap.kind is None and snap.api_version is None
    assert snap.lookup(("K8s", "helm", "gpu-operator.version")) == "v25.10.1"
    assert snap.lookup(("OS", "release", "VERSION_ID")) == "24.04"
    text = io.dumps(snap)
    assert "kind:" not in text and "apiVersion" not in text


def _types(value):
    """Structure of a value with its Python types, for exact type comparison."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("name", EKS)
def test_yaml_json_yaml_round_trip_keeps_every_key_and_type(name, tmp_path):
    original = load_snapshot(str(SNAPSHOTS / name))
    json_path = tmp_path / "snap.json"
    io.write_snapshot(original, str(json_path))  # format from the extension
    assert json_path.read_text().startswith("{")
    via_json = load_snapshot(str(json_path))
    yaml_path = tmp_path / "snap.yaml"
    io.write_snapshot(via_json, str(yaml_path))
    back = load_snapshot(str(yaml_path))
    assert back == original
    for m in original.measurements:
        for sub in m.subtypes:
            other = back.measurement(m.type).subtype(sub.name)
            assert _types(other.data) == _types(sub.data), (m.type, sub.name)
    # spot checks of the types the reference's JSON reader got wrong
    assert back.lookup(("GPU", "smi", "gpu-count")) == {"cns-eks-h100.yaml": 8, "cns-eks-gb200.yaml": 4}[name]
    assert type(back.lookup(("GPU", "smi", "gpu-count"))) is int
    assert back.lookup(("SystemD", "containerd.service", "LimitNOFILE")) == 18446744073709551615
    assert back.lookup(("GPU", "smi", "cuda-version")) in ("12.8", "13.1")


@pytest.mark.parametrize("name", EKS)
def test_output_is_deterministic(name):
    a = load_snapshot(str(SNAPSHOTS / name))
    text = io.dumps(a)
    assert io.dumps(parse_snapshot(text)) == text
    j = io.dumps(a, "json")
    assert io.dumps(parse_snapshot(j), "json") == j
    # the same data built in a different order serialises identically
    shuffled = Snapshot(
        api_version=a.api_version,
        kind=a.kind,
        metadata=dict(reversed(list(a.metadata.items()))),
        measurements=tuple(
            Measurement(m.type, tuple(Subtype(s.name, dict(reversed(list(s.data.items())))) for s in reversed(m.subtypes)))
            for m in reversed(a.measurements)
        ),
    )
    assert io.dumps(shuffled) == text


def test_partial_snapshot_round_trips_statuses():
    snap = Snapshot(
        metadata={"source-node": "n1", "timestamp": "2026-01-01T00:00:00Z", "version": "0.1.0"},
        measurements=(Measurement("OS", (Subtype("release", {"VERSION_ID": "24.04"}),)),),
        collectors=(
            CollectorStatus("gpu", "GPU", "unavailable", "nvidia-smi not found", 0.0011),
            CollectorStatus("os-release", "OS", "ok", None, 0.002),
        ),
    )
    text = io.dumps(snap)
    back = parse_snapshot(text)
    assert back == snap
    assert back.collector("gpu").reason == "nvidia-smi not found"
    assert back.collector("gpu").duration_seconds == 0.001
    assert back.api_version == API_VERSION
    assert 'VERSION_ID: "24.04"' in text or "VERSION_ID: '24.04'" in text


def test_natural_subtype_order():
    m = Measurement("GPU", tuple(Subtype(f"gpu{i}") for i in (10, 2, 0, 1)) + (Subtype("smi"),))
    assert [s.name for s in m.subtypes] == ["gpu0", "gpu1", "gpu2", "gpu10", "smi"]
    assert natural_key("a2") < natural_key("a10")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty document"),
        ("[]", "must be a mapping"),
        ("kind: Recipe\nmeasurements: []\n", "expected 'Snapshot'"),
        ("apiVersion: x/v9\nmeasurements: []\n", "unsupported apiVersion"),
        ("kind: Snapshot\n", "no 'measurements'"),
        ("measurements: {}\n", "must be a list"),
        ("measurements:\n  - type: k8s\n", "unknown measurement type 'k8s'"),
        ("measurements:\n  - type: OS\n  - type: OS\n", "appears twice"),
        ("measurements:\n  - type: OS\n    subtypes:\n      - data: {}\n", "subtype name"),
        ("measurements:\n  - type: OS\n    subtypes:\n      - subtype: a\n        data: [1]\n", "data must be a mapping"),
        ("measurements:\n  - type: OS\n    subtypes:\n      - subtype: a\n        data: {x: .nan}\n", "finite"),
        ("measurements: []\nextra: 1\n", "unknown key 'extra'"),
        ("measurements: []\ncollectors:\n  - {name: a, type: OS, status: meh}\n", "status must be one of"),
        ("measurements: [\n", "invalid YAML"),
        ('{"measurements": [}', "invalid JSON"),
        ('{"measurements": [], "measurements": []}', "duplicate key"),
        ('{"measurements": [{"type": "OS", "subtypes": [{"subtype": "a", "data": {"x": NaN}}]}]}', "NaN"),
    ],
)
def test_malformed_documents_are_input_errors(text, fragment):
    with pytest.raises(InputError) as info:
        parse_snapshot(text, "snap.yaml")
    assert fragment in info.value.message
    assert "snap.yaml" in info.value.message


def test_error_carries_line_number():
    text = "kind: Snapshot\nmeasurements:\n  - type: OS\n    subtypes:\n      - subtype: a\n        data: 5\n"
    with pytest.raises(InputError) as info:
        parse_snapshot(text, "snap.yaml")
    assert info.value.message.startswith("snap.yaml:6:")
    assert "measurements[0].subtypes[0].data" in info.value.message


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(["kind", "apiVersion", "metadata", "measurements", "collectors", "type",
                        "subtypes", "subtype", "data", "context", "x"])
doc_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=doc_like, as_json=st.booleans())
def test_fuzzed_documents_never_traceback(doc, as_json):
    try:
        text = json.dumps(doc) if as_json else yamlio.dump(doc)
    except ValueError:
        return
    try:
        snap = parse_snapshot(text, "fuzz")
    except InputError as err:
        assert err.message.startswith("fuzz")
        return
    # whatever parsed must serialise and parse back to the same snapshot
    assert parse_snapshot(io.dumps(snap), "again") == snap
    assert parse_snapshot(io.dumps(snap, "json"), "again") == snap


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_fuzzed_text_never_tracebacks(text):
    try:
        parse_snapshot(text, "fuzz")
    except InputError:
        pass


@settings(max_examples=60, deadline=None)
@given(data=st.dictionaries(st.text(min_size=1, max_size=10), json_like, max_size=6))
def test_values_round_trip_with_types(data):
    snap = Snapshot(measurements=(Measurement("OS", (Subtype("x", data),)),))
    if _non_finite(data):
        # NaN/inf have no JSON spelling: refused with the value's path, never printed
        with pytest.raises(InputError, match=r"cannot write JSON: measurements\[0\]\.subtypes"):
            io.dumps(snap, "json")
        return
    assert parse_snapshot(io.dumps(snap, "json")) == snap
    assert parse_snapshot(io.dumps(snap)) == snap


def _non_finite(value) -> bool:
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


def test_load_from_stdin(monkeypatch):
    text = (SNAPSHOTS / "aicr-mock-training.yaml").read_text()
    monkeypatch.setattr("sys.stdin", _io.TextIOWrapper(_io.BytesIO(text.encode())))
    assert load_snapshot("-").lookup(("K8s", "server", "version")) == "v1.33.0"


def test_load_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_snapshot(str(tmp_path / "missing.yaml"))
    with pytest.raises(InputError, match="is a directory"):
        load_snapshot(str(tmp_path))
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        load_snapshot(str(bad))


@pytest.mark.parametrize(
    "uri, ok",
    [
        ("cm://gpu-operator/eidos-snapshot", ("gpu-operator", "eidos-snapshot")),
        ("cm://gpu-operator / eidos-snapshot ", ("gpu-operator", "eidos-snapshot")),
        ("cm://gpu-operator/", None),
        ("cm:///name", None),
        ("cm://gpu-operator", None),
        ("cm://", None),
        ("cm://Bad_NS/name", None),
        ("http://ns/name", None),
    ],
)
def test_configmap_uri(uri, ok):
    if ok:
        assert io.parse_cm_uri(uri) == ok
    else:
        with pytest.raises(UsageError):
            io.parse_cm_uri(uri)


@pytest.mark.parametrize(
    "dest, explicit, fmt",
    [("a.json", None, "json"), ("A.JSON", None, "json"), ("a.yaml", None, "yaml"), ("a", None, "yaml"),
     ("-", None, "yaml"), ("cm://ns/n", None, "yaml"), ("a.json", "yaml", "yaml"), ("-", "json", "json")],
)
def test_format_choice(dest, explicit, fmt):
    assert io.format_for(dest, explicit) == fmt


def test_natural_key_never_converts_digits_with_int():
    """Subtype names come from files: 5,000 digits or "²" must sort, not raise."""
    long = "gpu" + "1" * 5000
    names = ["gpu10", "²", long, "gpu2", "gpu02x", "٣"]
    assert [n[:6] for n in sorted(names, key=natural_key)] == ["gpu2", "gpu02x", "gpu10", "gpu111", "²", "٣"]
    text = "measurements:\n  - type: GPU\n    subtypes:\n" + "".join(
        f"      - subtype: '{n}'\n        data: {{}}\n" for n in names
    )
    snap = parse_snapshot(text, "names")
    assert snap.subtypes("GPU")[:2] == ("gpu2", "gpu02x")
    assert parse_snapshot(io.dumps(snap, "json"), "again") == snap


# ---- the model's records behave as the attrs classes they replaced (issue 17) -------------


def test_records_compare_hash_freeze_and_pickle_like_attrs_classes():
    import pickle

    import attrs

    sub = Subtype("release", {"b": 1, "a": [{"y": 2, "x": 1}]})
    assert list(sub.data) == ["a", "b"] and list(sub.data["a"][0]) == ["x", "y"]  # canonical on construction
    assert sub == Subtype("release", {"a": [{"x": 1, "y": 2}], "b": 1}) and sub != Subtype("release")
    assert repr(Subtype("x")) == "Subtype(name='x', data={}, context={})"
    with pytest.raises(TypeError):
        hash(sub)  # a dict field is unhashable, as with attrs
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        sub.name = "other"  # type: ignore[misc]
    c = CollectorStatus("gpu", "GPU", "ok", duration_seconds="0.12345")
    assert c.duration_seconds == 0.123 and c.ok and hash(c) == hash(CollectorStatus("gpu", "GPU", "ok", None, 0.123))
    with pytest.raises(ValueError, match="status"):
        CollectorStatus("gpu", "GPU", "fine")
    snap = Snapshot(metadata={"source-node": "n1"},
                    measurements=(Measurement("OS", (Subtype("release", {"ID": "ubuntu"}),)),
                                  Measurement("GPU", (Subtype("gpu10"), Subtype("gpu2")))),
                    collectors=(c,))
    assert snap.types() == ("GPU", "OS") and [s.name for s in snap.measurements[0].subtypes] == ["gpu2", "gpu10"]
    assert snap.lookup(("OS", "release", "ID")) == "ubuntu"
    assert pickle.loads(pickle.dumps(snap)) == snap and "_index" not in repr(snap)
    assert from_document(to_document(snap)) == snap
    replaced = snap.replace_type(None, (), "GPU")
    assert replaced.types() == ("OS",) and replaced.collectors == () and snap.types() == ("GPU", "OS")


def test_document_round_trip_on_every_fixture():
    # to_document is what the writer serialises, from_document what the careful reader builds:
    # the fast reader's snapshot of each fixture must survive both unchanged
    for path in sorted(SNAPSHOTS.glob("*.*")):
        if path.suffix not in (".yaml", ".json"):
            continue
        snap = load_snapshot(str(path))
        doc = to_document(snap)
        # identity fields absent from the document take the model's defaults (as with cattrs);
        # the reader passes them explicitly, None included
        assert from_document({**doc, "apiVersion": snap.api_version, "kind": snap.kind}) == snap, path
        doc["measurements"][0]["subtypes"][0]["data"]["__edited__"] = 1  # a copy, not the snapshot's own
        assert "__edited__" not in snap.measurements[0].subtypes[0].data


def test_from_document_refuses_unknown_keys():
    with pytest.raises(ValueError, match="unknown key"):
        from_document({"measurements": [], "extra": 1})
    with pytest.raises(ValueError, match="unknown key"):
        from_document({"measurements": [{"type": "OS", "subtypes": [{"subtype": "x", "dat": {}}]}]})
