"""Snapshot documents, structured and byte-level, YAML and JSON: a Snapshot or an
``InputError`` naming the input, never a traceback, crash or hang; what parses round-trips."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from eidos.errors import InputError
from eidos.io import limits, yamlio
from eidos.io.inputs import decode
from eidos.snapshot import io as snap_io
from eidos.snapshot import parse_snapshot
from tests.conftest import FIXTURES
from tests.fuzz.fuzzkit import fuzz_settings, outcome

SAMPLE = (FIXTURES / "snapshots" / "aicr-mock-training.yaml").read_text()
SAMPLE_JSON = snap_io.dumps(parse_snapshot(SAMPLE, "sample"), "json")

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["24.04", "on", "no", "~", "0x1f", "1e999", ".nan", "-.inf", "9" * 4400, "'", "a: b", "#"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)
mtypes = st.sampled_from(["K8s", "GPU", "OS", "SystemD", "Nope", 3, None])
subtype = st.fixed_dictionaries(
    {"subtype": st.text(max_size=8) | st.integers(), "data": values},
    optional={"context": values, "extra": values},
)
measurement = st.fixed_dictionaries(
    {"type": mtypes, "subtypes": st.lists(subtype, max_size=3) | values}
)
collector = st.fixed_dictionaries(
    {"name": st.text(max_size=6), "type": mtypes, "status": st.sampled_from(["ok", "failed", "unavailable", "x"])},
    optional={"reason": values, "durationSeconds": scalars},
)
documents = st.fixed_dictionaries(
    {"measurements": st.lists(measurement, max_size=4) | values},
    optional={
        "kind": st.sampled_from(["Snapshot", "Recipe"]) | values,
        "apiVersion": st.sampled_from(["eidos.dev/v1alpha1", "cns.nvidia.com/v1alpha1", "v9"]),
        "metadata": st.dictionaries(st.text(max_size=8), values, max_size=3),
        "collectors": st.lists(collector, max_size=3) | values,
    },
)


def _check(text: str, name: str = "fuzz") -> None:
    snap, err = outcome(parse_snapshot, text, name)
    if err is not None:
        assert isinstance(err, InputError)
        assert err.message.startswith(name), err.message
        return
    for fmt in ("yaml", "json"):
        written, werr = outcome(snap_io.dumps, snap, fmt)
        assert werr is None, werr.message  # a parsed snapshot is always writable
        assert parse_snapshot(written, "again") == snap


def _yaml_or_none(doc):
    try:
        return yamlio.dump(doc)
    except ValueError:  # ruamel cannot print an over-long int itself
        return None


@fuzz_settings(2)
@given(doc=documents, as_json=st.booleans())
def test_structured_documents(doc, as_json):
    if as_json:
        text = json.dumps(doc, allow_nan=True)  # NaN/Infinity on purpose: must be refused
    else:
        text = _yaml_or_none(doc)
        if text is None:
            text = json.dumps(doc)
    _check(text)


_INSERTS = st.sampled_from([
    "[", "]", "{", "}", "- ", "? ", ": ", "&a ", "*a", "!!python/object/apply:os.system ", "!x ",
    "'", '"', "#", "\n", "\t", "|\n", ">-\n", "---\n", "%YAML 1.1\n", "9" * 4400, "0x" + "f" * 3700,
    "[" * (limits.MAX_DEPTH + 5), "- " * (limits.MAX_DEPTH + 5), "\ufeff", "\x00", "\\u0000",
])


@fuzz_settings(3)
@given(
    base=st.sampled_from([SAMPLE, SAMPLE_JSON]),
    edits=st.lists(st.tuples(st.floats(0, 1), _INSERTS | st.text(max_size=6), st.integers(0, 8)), max_size=6),
)
def test_mutated_fixture_text(base, edits):
    text = base
    for where, insert, cut in edits:
        pos = int(where * len(text))
        text = text[:pos] + insert + text[pos + cut:]
    _check(text)


@fuzz_settings(3)
@given(data=st.binary(max_size=400) | st.builds(lambda b, s: s.encode()[:200] + b, st.binary(max_size=50), st.text(max_size=200)))
def test_raw_bytes(data):
    text, err = outcome(decode, data, "bytes")
    if err is None:
        _check(text)


@fuzz_settings(1)
@given(
    depth=st.integers(limits.MAX_DEPTH - 8, limits.MAX_DEPTH + 8),
    style=st.sampled_from(["flow", "block-seq", "block-map", "json", "mixed"]),
)
def test_nesting_around_the_limit(depth, style):
    inner = depth - 6
    if style == "flow":
        value = "[" * inner + "1" + "]" * inner
    elif style == "block-seq":
        value = "\n" + "".join("  " * (i + 6) + "-\n" for i in range(inner - 1)) + "  " * (inner + 5) + "- 1"
    elif style == "block-map":
        value = "\n" + "".join("  " * (i + 6) + f"k{i}:\n" for i in range(inner - 1)) + "  " * (inner + 5) + "k: 1"
    elif style == "mixed":
        value = "- " * (inner // 2) + "[" * (inner - inner // 2) + "1" + "]" * (inner - inner // 2)
    else:
        value = None
    if value is None:
        doc = '{"measurements": [{"type": "OS", "subtypes": [{"subtype": "s", "data": {"v": ' + "[" * (inner - 1) + "1" + "]" * (inner - 1) + "}}]}]}"
    else:
        doc = "measurements:\n  - type: OS\n    subtypes:\n      - subtype: s\n        data:\n          v: " + value + "\n"
    snap, err = outcome(parse_snapshot, doc, "deep")
    if err is not None:
        assert "nested deeper than" in err.message or "invalid YAML" in err.message, err.message
    _check(doc, "deep")


def _write_case(tmp: str, text: str) -> str:
    import os

    path = os.path.join(tmp, "snap.yaml")
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(text)
    return path


_cli_texts = st.one_of(
    documents.map(lambda d: json.dumps(d, allow_nan=True)),
    st.builds(lambda n, s: s * n, st.integers(1, 40000), st.sampled_from(["[", "- ", "{a: ", "&a [*a, "])),
    st.text(max_size=300),
)


@fuzz_settings(0.6)
@given(text=_cli_texts)
def test_validate_cli_in_process(text):
    """``main()`` on a fuzzed snapshot: exit 0/1 (validated) or 2 (refused), never 3."""
    import contextlib
    import io
    import tempfile

    from eidos.cli.main import main
    from tests.fuzz.fuzzkit import bounded

    with tempfile.TemporaryDirectory() as tmp:
        path = _write_case(tmp, text)
        err = io.StringIO()
        with bounded(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(["validate", "--snapshot", path, "--service", "eks", "-o", "json"])
        assert code in (0, 1, 2), (code, err.getvalue())
        if code == 2:
            assert path in err.getvalue()


@fuzz_settings(0.12)
@given(text=_cli_texts)
def test_validate_cli_subprocess(text):
    """A real process: a crash in C code (a signal, exit 139) shows here as a failure."""
    import tempfile

    from tests.conftest import run_eidos

    with tempfile.TemporaryDirectory() as tmp:
        path = _write_case(tmp, text)
        result = run_eidos("validate", "--snapshot", path, "--service", "eks", "-o", "json")
        assert result.returncode in (0, 1, 2), (result.returncode, result.stderr[-400:])
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
