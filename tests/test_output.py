"""Outputs: nothing clobbered, nothing torn, nothing left behind.

``--out`` must write into character devices and pipes rather than rename over them, refuse
sockets, directories, block devices and symbolic links (exit 2), replace regular files by
rename, and leave no ``*.tmp``, ``.graph-*`` or ``*.old`` file after SIGINT, SIGTERM or
SIGHUP. Device nodes are made with mknod in a temporary directory (never the real
``/dev``): a wrong implementation must not be able to break the machine running the tests.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from eidos.bundle import writer
from eidos.bundle.files import FileSet
from eidos.errors import EnvironmentFailure, UsageError
from eidos.io import output

ROOT = Path(__file__).resolve().parent.parent
QUERY = ["--service", "eks", "--accelerator", "gb200", "--os", "ubuntu", "--intent", "training"]


def mknod_or_skip(path: Path, kind: int, major: int, minor: int) -> Path:
    try:
        os.mknod(path, kind | 0o666, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("creating device nodes needs root (CAP_MKNOD)")
    return path


@pytest.fixture
def devnull(tmp_path) -> Path:
    """A private node equivalent to /dev/null (char 1:3)."""
    return mknod_or_skip(tmp_path / "null", stat.S_IFCHR, 1, 3)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()
                  if p.name.endswith((".tmp", ".old")) or p.name.startswith(".graph-"))


# ---------------------------------------------------------------- regular files
def test_new_file_gets_umask_mode_and_no_temporary_is_left(tmp_path):
    target = tmp_path / "sub" / "out.yaml"
    old = os.umask(0o027)
    try:
        output.write_output(target, "a: 1\n")
    finally:
        os.umask(old)
    assert target.read_text() == "a: 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(target.parent) == [] and [p.name for p in target.parent.iterdir()] == ["out.yaml"]


def test_replacing_a_file_keeps_its_mode_and_swaps_the_inode(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    os.chmod(target, 0o604)
    inode = target.stat().st_ino
    output.write_output(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert target.stat().st_ino != inode  # renamed into place, not rewritten in place


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", broken_fsync)
    with pytest.raises(EnvironmentFailure, match="No space left on device"):
        output.write_output(target, "new")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- special files
def test_character_device_is_written_into_not_replaced(devnull):
    output.write_output(devnull, "x" * 100_000)
    st = devnull.lstat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert leftovers(devnull.parent) == []


def test_cli_snapshot_to_a_device_leaves_it_a_device(devnull, tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "snapshot"))
    try:
        from snaphelpers import fake_host
    finally:
        sys.path.pop(0)
    host = fake_host(tmp_path / "host")
    env = dict(os.environ, PATH=str(tmp_path), KUBECONFIG=str(tmp_path / "none"))
    env.pop("KUBERNETES_SERVICE_HOST", None)
    for flag in ("-o", "--output"):
        proc = subprocess.run([sys.executable, "-m", "eidos", "snapshot", "--host-root", str(host), "--no-cluster",
                               flag, str(devnull)], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_ISCHR(devnull.lstat().st_mode)
    assert leftovers(tmp_path) == []


def test_cli_recipe_to_a_device(devnull):
    proc = subprocess.run([sys.executable, "-m", "eidos", "recipe", *QUERY, "--out", str(devnull)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(devnull.lstat().st_mode)


def test_fifo_with_a_reader_receives_the_data(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []

    def read():
        with open(fifo, "rb") as fh:
            received.append(fh.read())

    reader = threading.Thread(target=read)
    reader.start()
    data = b"y" * 300_000  # more than a pipe buffer: the writer must wait for the reader
    deadline = time.monotonic() + 10
    while True:  # the reader may not have opened its end yet
        try:
            output.write_output(fifo, data)
            break
        except EnvironmentFailure as err:
            assert "no process is reading" in err.message
            assert time.monotonic() < deadline
            time.sleep(0.01)
    reader.join(10)
    assert received == [data]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_fifo_without_a_reader_fails_instead_of_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(EnvironmentFailure, match="no process is reading this FIFO") as err:
        output.write_output(fifo, "data")
    assert time.monotonic() - start < 5 and err.value.exit_code == 3
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_socket_is_refused(tmp_path):
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(UsageError, match="is a socket") as err:
            output.write_output(path, "data")
        assert err.value.exit_code == 2
        assert stat.S_ISSOCK(path.lstat().st_mode)
    finally:
        server.close()


def test_block_device_is_refused(tmp_path):
    # an unassigned experimental major number: nothing is behind it even if opened
    node = mknod_or_skip(tmp_path / "blk", stat.S_IFBLK, 240, 77)
    with pytest.raises(UsageError, match="is a block device"):
        output.write_output(node, "data")
    assert stat.S_ISBLK(node.lstat().st_mode)


def test_directory_is_refused(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        output.write_output(tmp_path, "data")


@pytest.mark.parametrize("points_to", ["file", "missing", "device"])
def test_symbolic_link_is_refused_and_nothing_is_touched(tmp_path, points_to):
    target = tmp_path / "real"
    if points_to == "file":
        target.write_text("precious")
    elif points_to == "device":
        mknod_or_skip(target, stat.S_IFCHR, 1, 3)
    link = tmp_path / "out.yaml"
    link.symlink_to(target)
    with pytest.raises(UsageError, match="is a symbolic link") as err:
        output.write_output(link, "data")
    assert str(target) in err.value.hint
    assert link.is_symlink() and os.readlink(link) == str(target)
    if points_to == "file":
        assert target.read_text() == "precious"
    elif points_to == "missing":
        assert not target.exists()
    assert leftovers(tmp_path) == []


def test_file_replaced_by_a_special_file_during_the_write_is_not_clobbered(tmp_path, monkeypatch):
    target = tmp_path / "out"
    real_fsync = os.fsync

    def swap_then_fsync(fd):
        os.mkfifo(target)  # someone puts a FIFO where the new file was going
        real_fsync(fd)

    monkeypatch.setattr(output.os, "fsync", swap_then_fsync)
    with pytest.raises(UsageError, match="not a regular file|refusing"):
        output.write_output(target, "data")
    assert stat.S_ISFIFO(target.lstat().st_mode)
    assert leftovers(tmp_path) == []


def run_cli_script(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_dev_stdout_writes_to_the_process_stdout(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "eidos", "recipe", *QUERY, "--out", "/dev/stdout"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("apiVersion: eidos.dev/v1alpha1\nkind: Recipe\n")
    # stdout redirected to a file: the file gets the document (not replaced by rename)
    redirected = tmp_path / "captured.yaml"
    with open(redirected, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "eidos", "recipe", *QUERY, "--out", "/dev/fd/1"],
                              stdout=fh, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert redirected.read_text().startswith("apiVersion: eidos.dev/v1alpha1\n")
    assert leftovers(tmp_path) == []


def test_closed_descriptor_is_a_usage_error():
    with pytest.raises(UsageError, match="descriptor 987 is not open"):
        output.write_output("/dev/fd/987", "data")


def test_stream_names_are_recognised_exactly():
    assert output._STREAM.fullmatch("/dev/stdout") and output._STREAM.fullmatch("/proc/self/fd/2")
    assert not output._STREAM.fullmatch("/dev/stdout2") and not output._STREAM.fullmatch("/dev/fd/x")


# ---------------------------------------------------------------- bundles
def bundle_files(marker: str = "new") -> FileSet:
    files = FileSet()
    files.add("bundle.json", '{"kind": "Bundle", "generator": "eidos test"}\n')
    files.add("deploy.sh", f"#!/bin/sh\necho {marker}\n", executable=True)
    for i in range(30):
        files.add(f"components/c{i:02d}/values.yaml", f"{marker}: {i}\n")
    return files


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_failed_backup_rename_does_not_name_a_backup_that_does_not_exist(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    writer.write_bundle(bundle_files("old"), out, force=False)
    before = tree(out)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src) == out:
            raise OSError(16, "Device or resource busy")
        return real_rename(src, dst)

    monkeypatch.setattr(writer.os, "rename", rename)
    with pytest.raises(EnvironmentFailure, match="Device or resource busy") as err:
        writer.write_bundle(bundle_files("new"), out, force=True)
    assert "kept at" not in err.value.message
    assert tree(out) == before
    assert leftovers(tmp_path) == []


def test_failed_swap_puts_the_previous_bundle_back(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    writer.write_bundle(bundle_files("old"), out, force=False)
    before = tree(out)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst) == out and str(src).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(writer.os, "rename", rename)
    with pytest.raises(EnvironmentFailure, match="No space left") as err:
        writer.write_bundle(bundle_files("new"), out, force=True)
    assert "kept at" not in err.value.message
    assert tree(out) == before
    assert leftovers(tmp_path) == []


def test_when_the_previous_bundle_cannot_be_put_back_the_message_names_where_it_is(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    writer.write_bundle(bundle_files("old"), out, force=False)
    before = tree(out)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst) == out:
            raise OSError(5, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(writer.os, "rename", rename)
    with pytest.raises(EnvironmentFailure, match="previous bundle is kept at") as err:
        writer.write_bundle(bundle_files("new"), out, force=True)
    kept = Path(err.value.message.rsplit("kept at ", 1)[1])
    assert kept.is_dir() and tree(kept) == before


def test_force_over_a_bundle_leaves_only_the_new_files(tmp_path):
    out = tmp_path / "bundle"
    writer.write_bundle(bundle_files("old"), out, force=False)
    (out / "stale.txt").write_text("from an older eidos")
    writer.write_bundle(bundle_files("new"), out, force=True)
    assert tree(out) == {p: f.content for p, f in bundle_files("new").items()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_target_that_becomes_a_non_bundle_while_writing_is_not_replaced(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    writer.write_bundle(bundle_files("old"), out, force=False)
    real = writer._write_tree

    def write_tree(root, files):
        real(root, files)
        (out / "bundle.json").write_text("{}")  # no longer an eidos bundle
        (out / "mine.txt").write_text("precious")

    monkeypatch.setattr(writer, "_write_tree", write_tree)
    with pytest.raises(UsageError, match="not an eidos bundle"):
        writer.write_bundle(bundle_files("new"), out, force=True)
    assert (out / "mine.txt").read_text() == "precious"
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- signals
CHILD = r"""
import os, sys, time
from pathlib import Path
mode, target, ready = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
sys.path.insert(0, sys.argv[4])
from test_output import bundle_files
from eidos.bundle import writer
from eidos.io import output

def pause():
    ready.write_text("ready")
    time.sleep(60)
    sys.exit(99)  # the signal never came

try:
    if mode == "file":
        real = os.fsync
        os.fsync = lambda fd: (pause(), real(fd))
        output.write_output(target, "z" * 1_000_000)
    elif mode in ("bundle-new", "bundle-force"):
        real_tree = writer._write_tree
        def write_tree(root, files):
            real_tree(root, files)
            pause()
        writer._write_tree = write_tree
        writer.write_bundle(bundle_files("new"), target, force=mode == "bundle-force")
    elif mode == "bundle-swap":  # interrupted while the previous bundle is being deleted
        import shutil
        real_rmtree = shutil.rmtree
        calls = []
        def rmtree(path, *a, **k):
            calls.append(path)
            if len(calls) == 1 and str(path).endswith(".old"):
                pause()
            return real_rmtree(path, *a, **k)
        shutil.rmtree = rmtree
        writer.write_bundle(bundle_files("new"), target, force=True)
    elif mode == "cache":
        from eidos import engine
        from eidos.engine import cache
        graph = engine.load_graph(use_cache=False)
        real_fdopen = os.fdopen
        def fdopen(*a, **k):
            fh = real_fdopen(*a, **k)
            pause()
            return fh
        os.fdopen = fdopen
        cache.store(graph)
    sys.exit(98)  # finished without being interrupted
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("mode", ["file", "bundle-new", "bundle-force", "bundle-swap", "cache"])
def test_signal_mid_write_leaves_nothing_behind(tmp_path, mode, signum):
    work = tmp_path / "work"
    work.mkdir()
    target = work / ("out.yaml" if mode == "file" else "bundle")
    if mode == "file":
        target.write_text("old")
    elif mode in ("bundle-force", "bundle-swap"):
        writer.write_bundle(bundle_files("old"), target, force=False)
    before = tree(target) if target.is_dir() else None
    cache_dir = work / "cache" if mode == "cache" else tmp_path / "cache"
    ready = tmp_path / "ready"
    env = dict(os.environ, EIDOS_CACHE_DIR=str(cache_dir))
    env.pop("EIDOS_NO_CACHE", None)
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(target), str(ready), str(ROOT / "tests")],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "child never reached the pause"
            time.sleep(0.02)
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    expected = 130 if signum == signal.SIGINT else -signum
    assert child.returncode == expected, stderr
    assert "Traceback" not in stderr
    for directory in (work, cache_dir) if cache_dir.exists() else (work,):
        assert leftovers(directory) == [], sorted(p.name for p in directory.iterdir())
    if mode == "file":
        assert target.read_text() == "old"
    elif mode == "bundle-new":
        assert not target.exists()
    elif mode == "bundle-force":
        assert tree(target) == before
    elif mode == "bundle-swap":
        assert tree(target) == {p: f.content for p, f in bundle_files("new").items()}
    elif mode == "cache":
        # the Lark tables the compile stored before the interrupted write are a complete entry
        assert sorted(p.name for p in cache_dir.iterdir() if not p.name.startswith("lark-")) == []


def test_guard_restores_signal_handlers(tmp_path):
    before = {s: signal.getsignal(s) for s in output.GUARDED_SIGNALS}
    output.write_output(tmp_path / "x", "data")
    with pytest.raises(RuntimeError):
        with output.guarded() as guard:
            (tmp_path / "y").write_text("partial")
            guard.remove_on_failure(tmp_path / "y")
            raise RuntimeError("boom")
    assert not (tmp_path / "y").exists()
    assert {s: signal.getsignal(s) for s in output.GUARDED_SIGNALS} == before
