"""``nvidia-smi -q -x`` output, mutated: subtypes or ``CollectorFailed`` with a reason, never
another exception; whatever is parsed makes a snapshot that writes and reads back."""

from __future__ import annotations

import itertools
import re

from hypothesis import given
from hypothesis import strategies as st

from eidos.snapshot import io as snap_io
from eidos.snapshot import parse_snapshot
from eidos.snapshot.collectors import gpu
from eidos.snapshot.collectors.base import CollectorFailed
from eidos.snapshot.model import Measurement, Snapshot
from tests.conftest import FIXTURES
from tests.fuzz.fuzzkit import bounded, fuzz_settings

SAMPLES = sorted((FIXTURES / "nvidia-smi").glob("*.xml"))
TEXTS = [p.read_text() for p in SAMPLES]
_ELEMENT = re.compile(r"<([a-z_]+)>[^<]*</\1>")

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a0 "aaaaaaaaaa">'
    + "".join(f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 10))
    + "]><nvidia_smi_log><driver_version>&a9;</driver_version></nvidia_smi_log>"
)


def _parse(text: str):
    with bounded():
        try:
            return gpu.parse_smi_xml(text), None
        except CollectorFailed as err:
            assert str(err).strip()
            return None, err


def _round_trip(subtypes) -> None:
    snap = Snapshot(measurements=(Measurement("GPU", tuple(subtypes)),))
    for fmt in ("yaml", "json"):
        assert parse_snapshot(snap_io.dumps(snap, fmt), "smi") == snap


@fuzz_settings(2)
@given(
    index=st.integers(0, len(TEXTS) - 1),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.sampled_from(["", "<gpu>", "</gpu>", "<", "&", "&amp;", "&#0;", "]]>", "N/A", "99999999999999999999999 MiB",
                             "<gpu id='x'>", "\x00", "\ufffe", "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>", "&e;"])
            | st.text(max_size=8),
            st.integers(0, 40),
        ),
        max_size=5,
    ),
)
def test_mutated_samples(index, edits):
    text = TEXTS[index]
    for where, insert, cut in edits:
        pos = int(where * len(text))
        text = text[:pos] + insert + text[pos + cut:]
    subtypes, err = _parse(text)
    if err is None:
        assert subtypes[0].name == "smi"
        _round_trip(subtypes)


@fuzz_settings(1)
@given(
    index=st.integers(0, len(TEXTS) - 1),
    values=st.lists(st.text(max_size=30), min_size=1, max_size=20),
    copies=st.integers(0, 5),
)
def test_field_values_and_gpu_counts(index, values, copies):
    """Random text in every leaf element, and the <gpu> block repeated."""
    it = itertools.cycle(values)
    text = _ELEMENT.sub(lambda m: f"<{m.group(1)}>{_escape(next(it))}</{m.group(1)}>", TEXTS[index])
    start, end = text.find("<gpu "), text.rfind("</gpu>")
    if start > 0 and copies:
        block = text[start:end + len("</gpu>")]
        text = text[:start] + block * copies + text[end + len("</gpu>"):]
    subtypes, err = _parse(text)
    assert err is None, err  # well-formed XML with an nvidia_smi_log root always parses
    _round_trip(subtypes)


def _escape(s: str) -> str:
    return "".join(c for c in s if c.isprintable()).replace("&", "&amp;").replace("<", "&lt;")


def test_entity_bomb_and_external_entities_are_refused_or_inert():
    subtypes, err = _parse(BOMB)
    assert err is not None or len(repr(subtypes)) < 100_000
    subtypes, err = _parse(
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<nvidia_smi_log><driver_version>&e;</driver_version></nvidia_smi_log>"
    )
    assert err is not None or "root:" not in repr(subtypes)
