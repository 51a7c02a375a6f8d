"""The compiled-rule cache: keyed by the engine's own code, never runs code, never changes a result.

Each test is aimed at a plausible wrong implementation: a key without the engine
fingerprint (an edit to ``expr`` not seen), a plain ``pickle.load`` (a planted file runs
code), no payload digest (a flipped byte changes a recipe), no directory check (a
world-writable cache used).
"""

from __future__ import annotations

import os
import pickle
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eidos import engine
from eidos.engine import cache
from eidos.engine.graph import RuleGraph

ROOT = Path(__file__).resolve().parent.parent
QUERY = {"service": "eks", "accelerator": "gb200", "os": "ubuntu", "intent": "training"}


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    """A private, empty cache directory for one test, and a fresh warning memory."""
    d = tmp_path / "cache"
    monkeypatch.setenv("EIDOS_CACHE_DIR", str(d))
    monkeypatch.delenv("EIDOS_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "_refused", set())
    return d


class _Short(tuple):
    """A fixture value with a short repr, so a failing hypothesis example stays readable."""

    def __repr__(self) -> str:
        return f"<{type(self[0]).__name__} and {len(self) - 1} more>"


@pytest.fixture(scope="module")
def compiled():
    """The embedded rule base compiled from source (no cache), its digest and reference recipe."""
    graph = engine.load_graph(use_cache=False)
    document = engine.recipe_document(engine.resolve(graph, QUERY))
    return _Short((graph, graph.source_hash, document))


def entry_path(d: Path, digest: str) -> Path:
    return d / cache._entry_name(digest)


def recipe_of(graph) -> dict:
    return engine.recipe_document(engine.resolve(graph, QUERY))


# ---------------------------------------------------------------- the engine fingerprint
def copy_engine_sources(dest: Path) -> Path:
    """A copy of the files the fingerprint reads, laid out like the eidos package."""
    root = dest / "eidos"
    for package in cache.FINGERPRINT_PACKAGES:
        shutil.copytree(cache._EIDOS_ROOT / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for rel in cache.FINGERPRINT_MODULES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cache._EIDOS_ROOT / rel, root / rel)
    return root


def fingerprint_of(root: Path, monkeypatch) -> bytes:
    monkeypatch.setattr(cache, "_EIDOS_ROOT", root)
    monkeypatch.setattr(cache, "_fingerprint", None)
    return cache.engine_fingerprint()


@pytest.mark.parametrize("rel", ["lang/expr.py", "engine/compiler.py", "engine/graph.py", "io/yamlio.py"])
def test_fingerprint_changes_when_an_engine_module_changes(tmp_path, monkeypatch, rel):
    root = copy_engine_sources(tmp_path)
    target = root / rel
    if not target.exists():  # a module split into a package keeps its name as a directory
        target = root / rel.removesuffix(".py") / "__init__.py"
    before = fingerprint_of(root, monkeypatch)
    assert fingerprint_of(root, monkeypatch) == before  # deterministic
    target.write_text(target.read_text() + "\n# an edit\n")
    assert fingerprint_of(root, monkeypatch) != before


def test_fingerprint_covers_new_modules_and_ignores_bytecode(tmp_path, monkeypatch):
    root = copy_engine_sources(tmp_path)
    before = fingerprint_of(root, monkeypatch)
    (root / "lang" / "__pycache__").mkdir(exist_ok=True)
    (root / "lang" / "__pycache__" / "expr.cpython-311.pyc").write_bytes(b"\0" * 16)
    assert fingerprint_of(root, monkeypatch) == before
    (root / "engine" / "newstage.py").write_text("X = 1\n")
    assert fingerprint_of(root, monkeypatch) != before


def test_fingerprint_is_memoised_per_process(monkeypatch):
    monkeypatch.setattr(cache, "_fingerprint", None)
    first = cache.engine_fingerprint()
    monkeypatch.setattr(cache, "_fingerprint_files", lambda: pytest.fail("files read twice"))
    assert cache.engine_fingerprint() is first


def test_entry_from_another_engine_is_a_miss_then_replaced(cache_env, compiled, monkeypatch):
    graph, digest, _ = compiled
    cache.store(graph)
    assert cache.load(digest) is not None
    real = cache.engine_fingerprint()
    monkeypatch.setattr(cache, "_fingerprint", bytes(32))  # "the compiler was edited"
    assert cache.load(digest) is None
    cache.store(graph)
    assert cache.load(digest) is not None
    monkeypatch.setattr(cache, "_fingerprint", real)
    assert cache.load(digest) is None  # the other engine's entry replaced this one
    assert [p.name for p in cache_env.iterdir()] == [cache._entry_name(digest)]


def test_edit_to_expr_is_seen_by_next_recipe_without_clearing_the_cache(tmp_path):
    """End to end, in a copy of the source tree: edit how expressions render, run again."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "eidos", tree / "eidos", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("grammar", "rules", "recipes"):
        shutil.copytree(ROOT / name, tree / name)
    env = dict(os.environ, PYTHONPATH=str(tree), EIDOS_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("EIDOS_NO_CACHE", None)
    cmd = [sys.executable, "-m", "eidos", "recipe"] + [f"--{k}={v}" for k, v in QUERY.items()]

    def run() -> str:
        out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    first = run()
    assert "expr: K8s.server.version >= 1.33" in first
    entries = list((tmp_path / "cache").glob("graph-*"))
    assert len(entries) == 1
    assert run() == first  # served from the cache
    assert list((tmp_path / "cache").glob("graph-*")) == entries

    from eidos.lang import expr

    module = sys.modules[expr.render.__module__]
    copied = tree / Path(module.__file__).relative_to(ROOT)
    copied.write_text(copied.read_text() + (
        "\n_edited_render = render\n\n"
        "def render(ir, *args, **kwargs):\n"
        "    return 'EDITED(' + _edited_render(ir, *args, **kwargs) + ')'\n"
    ))
    second = run()
    assert "EDITED(" in second and second != first


# ---------------------------------------------------------------- a cache that cannot run code
class _System:
    """Unpickles to os.system(command): what a planted cache file would do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def forge(payload: bytes, digest: str) -> bytes:
    """A cache entry with a correct header for ``payload``: only the decoder stands in the way."""
    import hashlib

    return cache._HEADER.pack(cache.MAGIC, hashlib.sha256(payload).digest(), bytes.fromhex(digest),
                              cache.engine_fingerprint(), len(payload)) + payload


@pytest.mark.parametrize("make_payload", [
    lambda cmd: pickle.dumps(_System(cmd)),
    lambda cmd: pickle.dumps(_System(cmd), protocol=0),  # GLOBAL opcode rather than STACK_GLOBAL
    lambda cmd: pickle.dumps({"graph": [_System(cmd)]}, protocol=pickle.HIGHEST_PROTOCOL),
    lambda cmd: b"cbuiltins\nexec\n(Vimport os; os.system(" + repr(cmd).encode() + b")\ntR.",
    lambda cmd: b"csubprocess\ncall\n((S'sh'\nS'-c'\nS" + repr(cmd).encode() + b"\nltR.",
], ids=["os.system", "protocol-0", "nested", "builtins.exec", "subprocess.call"])
def test_planted_entry_does_not_run_code_and_is_recompiled(cache_env, compiled, tmp_path, make_payload):
    graph, digest, reference = compiled
    marker = tmp_path / "pwned"
    cache_env.mkdir(mode=0o700)
    entry_path(cache_env, digest).write_bytes(forge(make_payload(f"touch {marker}"), digest))
    assert cache.load(digest) is None
    assert not marker.exists()
    loaded = engine.load_graph()  # a miss: compiled again and stored over the planted file
    assert not marker.exists()
    assert recipe_of(loaded) == reference
    assert isinstance(cache.load(digest), RuleGraph)


@pytest.mark.parametrize("module,name", [
    ("eidos.engine.cache", "store"),          # a function in an allowed package
    ("eidos.engine.compiler", "_Compiler"),   # a class that is not plain data
    ("eidos.io.output", "write_atomic"),      # outside the allowed packages
    ("os", "system"),
    ("builtins", "getattr"),
    ("builtins", "eval"),
    ("eidos.engine.graph", "pickle"),         # a module reached through an allowed one
])
def test_decoder_refuses_everything_but_eidos_data_classes(module, name):
    payload = f"c{module}\n{name}\n.".encode()
    with pytest.raises(pickle.UnpicklingError, match="may not build"):
        cache.safe_loads(payload)


def test_decoder_builds_the_classes_a_graph_needs(compiled):
    graph, _, reference = compiled
    again = cache.safe_loads(pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL))
    assert recipe_of(again) == reference


def test_forged_overlay_inside_a_valid_entry_is_refused_when_decoded(cache_env, compiled, tmp_path):
    """Overlays decode lazily: a forged one (valid digest) must be refused then, not run."""
    graph, digest, _ = compiled
    marker = tmp_path / "pwned"
    payload = bytearray(pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL))
    loaded = pickle.loads(bytes(payload))
    name = sorted(loaded.overlays)[0]
    loaded.overlays._blobs[name] = pickle.dumps(_System(f"touch {marker}"))
    loaded.overlays._decoded.clear()
    cache_env.mkdir(mode=0o700)
    entry_path(cache_env, digest).write_bytes(
        forge(pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL), digest))
    forged = cache.load(digest)
    assert forged is not None
    with pytest.raises(cache.CacheDamaged, match="cannot be decoded") as err:
        forged.overlays[name]
    assert err.value.exit_code == 3 and "--no-cache" in err.value.hint
    assert not marker.exists()


# ---------------------------------------------------------------- corruption is detected
@pytest.fixture(scope="module")
def good_entry(compiled):
    graph, digest, _ = compiled
    return _Short((cache.encode(graph), digest))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_byte_is_a_miss(good_entry, data):
    blob, digest = good_entry
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(1, 255)),
                               min_size=1, max_size=8))
    corrupted = bytearray(blob)
    for pos, xor in flips:
        corrupted[pos] ^= xor
    assume(bytes(corrupted) != blob)  # two flips of one byte can cancel out
    assert cache.decode(bytes(corrupted), digest) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 10**9), extra=st.binary(max_size=64))
def test_truncated_or_extended_entry_is_a_miss(good_entry, cut, extra):
    blob, digest = good_entry
    damaged = blob[: cut % len(blob)] + extra
    assume(damaged != blob)
    assert cache.decode(damaged, digest) is None


def test_intact_entry_decodes_to_the_same_recipe(good_entry, compiled):
    blob, digest = good_entry
    assert recipe_of(cache.decode(blob, digest)) == compiled[2]
    assert cache.decode(blob, "0" * 64) is None  # an entry for another rule base


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(positions=st.lists(st.integers(0, 10**9), min_size=1, max_size=4))
def test_corrupted_cache_file_never_changes_the_recipe(tmp_path_factory, compiled, good_entry, positions):
    """Through the front door: a damaged file on disk is recompiled, the recipe is the same."""
    blob, digest = good_entry
    d = tmp_path_factory.mktemp("corrupt") / "cache"
    d.mkdir(mode=0o700)
    corrupted = bytearray(blob)
    for pos in positions:
        corrupted[pos % len(blob)] ^= 0xFF
    assume(bytes(corrupted) != blob)  # the same byte flipped twice is no corruption
    entry_path(d, digest).write_bytes(bytes(corrupted))
    old = os.environ["EIDOS_CACHE_DIR"]
    os.environ["EIDOS_CACHE_DIR"] = str(d)
    try:
        assert recipe_of(engine.load_graph()) == compiled[2]
    finally:
        os.environ["EIDOS_CACHE_DIR"] = old
    assert entry_path(d, digest).read_bytes() != bytes(corrupted)  # the damaged entry was replaced
    assert recipe_of(_load_from(d, digest)) == compiled[2]


def _load_from(d: Path, digest: str):
    old = os.environ["EIDOS_CACHE_DIR"]
    os.environ["EIDOS_CACHE_DIR"] = str(d)
    try:
        return cache.load(digest)
    finally:
        os.environ["EIDOS_CACHE_DIR"] = old


# ---------------------------------------------------------------- a private place
def test_created_directory_and_files_are_private(cache_env, compiled):
    graph, digest, _ = compiled
    old = os.umask(0)
    try:
        cache.store(graph)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_env.stat().st_mode) == 0o700
    files = list(cache_env.iterdir())
    assert [p.name for p in files] == [cache._entry_name(digest)]  # no temporary file left
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
def test_group_or_world_writable_directory_is_not_used(cache_env, compiled, mode):
    graph, digest, _ = compiled
    cache_env.mkdir()
    cache.store(graph)
    assert cache.load(digest) is not None
    os.chmod(cache_env, mode)
    with pytest.warns(cache.CacheWarning, match="writable by") as record:
        assert cache.load(digest) is None
        cache.store(graph)
        assert cache.load(digest) is None
    assert len(record) == 1  # one warning per process, not one per access
    assert str(cache_env) in str(record[0].message)


def test_directory_owned_by_someone_else_is_not_used(cache_env, compiled):
    if os.geteuid() != 0:
        pytest.skip("needs root to give the directory to another user")
    graph, digest, _ = compiled
    cache_env.mkdir(mode=0o700)
    cache.store(graph)
    os.chown(cache_env, 65534, 65534)
    with pytest.warns(cache.CacheWarning, match="owned by uid 65534"):
        assert cache.load(digest) is None


def test_entry_that_is_a_symlink_or_writable_by_others_is_ignored(cache_env, compiled, tmp_path):
    graph, digest, _ = compiled
    cache_env.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(cache.encode(graph))
    entry_path(cache_env, digest).symlink_to(elsewhere)
    assert cache.load(digest) is None
    entry_path(cache_env, digest).unlink()
    cache.store(graph)
    os.chmod(entry_path(cache_env, digest), 0o666)
    assert cache.load(digest) is None


def test_unsafe_directory_is_reported_once_by_the_cli(tmp_path):
    d = tmp_path / "shared"
    d.mkdir()
    os.chmod(d, 0o777)
    env = dict(os.environ, EIDOS_CACHE_DIR=str(d))
    env.pop("EIDOS_NO_CACHE", None)
    cmd = [sys.executable, "-m", "eidos", "recipe"] + [f"--{k}={v}" for k, v in QUERY.items()]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "kind: Recipe" in out.stdout
    lines = [line for line in out.stderr.splitlines() if "cache" in line]
    assert len(lines) == 1 and lines[0].startswith("eidos: warning: compiled-rule cache not used")
    assert list(d.iterdir()) == []


def test_stale_temporary_files_and_old_format_entries_are_swept_on_store(cache_env, compiled):
    graph, digest, _ = compiled
    cache_env.mkdir(mode=0o700)
    stale, fresh = cache_env / ".graph-dead.tmp", cache_env / ".graph-live.tmp"
    legacy, other = cache_env / "graph-0123.pickle", cache_env / "notes.txt"
    for path in (stale, fresh, legacy, other):
        path.write_bytes(b"x")
    os.utime(stale, (0, 0))
    cache.store(graph)
    assert not stale.exists() and not legacy.exists()
    assert fresh.exists() and other.exists()


def test_library_code_does_not_print(cache_env, compiled, capfd):
    graph, digest, _ = compiled
    cache_env.mkdir()
    os.chmod(cache_env, 0o777)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cache.load(digest)
        cache.store(graph)
    assert capfd.readouterr() == ("", "")
