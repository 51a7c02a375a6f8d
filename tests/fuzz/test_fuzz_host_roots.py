"""Generated host roots (files, symlinks in and out of the root, loops, FIFOs, huge sparse
files, binary junk) under ``take_snapshot``: a valid snapshot with a status per collector,
never a byte of a file outside the root, never a hang."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from eidos.snapshot import io as snap_io
from eidos.snapshot import parse_snapshot
from eidos.snapshot.collectors import HostContext, take_snapshot
from tests.fuzz.fuzzkit import bounded, fuzz_settings

CANARY = "CANARY-OUTSIDE-THE-HOST-ROOT"
PATHS = [
    "etc/os-release", "usr/lib/os-release", "proc/modules", "proc/cmdline",
    "proc/sys/kernel/osrelease", "proc/sys/kernel/version", "proc/sys/kernel/ostype",
    "proc/sys/kernel/arch", "proc/sys/kernel/hostname", "proc/sys/vm/swappiness",
    "proc/sys/net/core/rmem_max", "proc/sys/kernel", "proc/sys", "proc", "etc",
    "run/dbus/system_bus_socket",
]

contents = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["ID=ubuntu\nVERSION_ID=\"24.04\"\n", "nvidia 1 0 - Live 0x0\n", 'a="b c" -- d\n', "6.8.0\n"]),
)
node = st.one_of(
    st.tuples(st.just("file"), contents),
    st.tuples(st.just("huge"), st.just("")),
    st.tuples(st.just("fifo"), st.just("")),
    st.tuples(st.just("dir"), st.just("")),
    st.tuples(st.just("link-out-abs"), st.just("")),
    st.tuples(st.just("link-out-rel"), st.just("")),
    st.tuples(st.just("link-in"), st.sampled_from(PATHS)),
    st.tuples(st.just("link-loop"), st.just("")),
    st.tuples(st.just("link-dangling"), st.text(alphabet="abc/.", max_size=12)),
)
trees = st.dictionaries(st.sampled_from(PATHS), node, max_size=12)


def _build(root: Path, outside: Path, tree: dict) -> None:
    # deeper paths first so a parent made a file later does not break a child
    for rel, (kind, arg) in sorted(tree.items(), key=lambda kv: -kv[0].count("/")):
        path = root / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink() or path.exists():
                continue
            if kind == "file":
                path.write_text(arg, encoding="utf-8", errors="surrogateescape")
            elif kind == "huge":
                with open(path, "wb") as fh:
                    fh.truncate(3 * 1024 * 1024)  # sparse, past every read bound
            elif kind == "fifo":
                os.mkfifo(path)
            elif kind == "dir":
                path.mkdir()
            elif kind == "link-out-abs":
                path.symlink_to(outside / "secret")
            elif kind == "link-out-rel":
                path.symlink_to(os.path.relpath(outside / "secret", path.parent))
            elif kind == "link-in":
                path.symlink_to("/" + arg)
            elif kind == "link-loop":
                path.symlink_to(path.name)
            else:
                path.symlink_to(arg or "x")
        except OSError:
            pass  # e.g. a parent that is a file: that tree shape just cannot exist


@fuzz_settings(1)
@given(tree=trees)
def test_generated_host_roots(tree):
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp, "host"), Path(tmp, "outside")
        root.mkdir()
        outside.mkdir()
        (outside / "secret").write_text(CANARY + "\n")
        for rel in ("proc/sys/kernel/osrelease", "proc/sys/kernel/version"):
            (outside / rel).parent.mkdir(parents=True, exist_ok=True)
            (outside / rel).write_text(CANARY + "\n")  # what a climb out of the root would find
        _build(root, outside, tree)
        ctx = HostContext(root=root, timeout=5.0, env={"PATH": str(Path(tmp, "no-bin"))})
        with bounded():
            snap = take_snapshot(ctx, cluster=False)
        names = {c.name for c in snap.collectors}
        assert {"os-release", "kernel", "sysctl", "kmod", "cmdline", "systemd", "gpu"} <= names
        text = snap_io.dumps(snap, "yaml")
        assert CANARY not in text
        assert parse_snapshot(text, "host") == snap
        assert parse_snapshot(snap_io.dumps(snap, "json"), "host") == snap
