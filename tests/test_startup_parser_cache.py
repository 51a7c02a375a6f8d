"""The Lark parser tables kept in the compiled-rule cache directory (issue 17).

Aimed at plausible wrong implementations: Lark's own ``cache=`` (a pickle: a planted file
runs code), a key without the grammar (an edited grammar parsed with old tables), no
payload digest (a flipped byte used), a loaded parser that differs from a built one.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import pytest

from eidos.engine import cache
from eidos.io.resources import embedded_root
from eidos.lang import parser as parsermod
from eidos.lang.diagnostics import Reporter, SourceFile


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("EIDOS_CACHE_DIR", str(d))
    monkeypatch.delenv("EIDOS_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "_refused", set())
    parsermod._parser.cache_clear()
    yield d
    parsermod._parser.cache_clear()


def _entries(d: Path) -> list[Path]:
    return sorted(d.glob("lark-*.cache")) if d.exists() else []


def _parse_all():
    """Every embedded rule file, parsed: (modules, diagnostics)."""
    modules, diags = [], []
    for path in sorted(embedded_root().rglob("*.eidos")):
        reporter = Reporter()
        modules.append(parsermod.parse_module(SourceFile(str(path), path.read_text(encoding="utf-8")), reporter))
        diags.extend(reporter.sorted())
    return modules, diags


BROKEN = 'fact service: enum { eks, gke }\noverlay x {\n  when service == \n}\ncomponent y {\n  chart "a" "b"\n'


def _broken_diagnostics():
    reporter = Reporter()
    parsermod.parse_module(SourceFile("broken.eidos", BROKEN), reporter)
    return [(d.code, d.message, d.span) for d in reporter.sorted()]


def test_loaded_tables_parse_exactly_like_built_ones(cache_env):
    built, built_diags = _parse_all()
    built_broken = _broken_diagnostics()
    assert len(_entries(cache_env)) >= 1  # the module parser's tables were stored
    parsermod._parser.cache_clear()
    loaded_parser = parsermod._parser("module")
    assert loaded_parser.source_path == "<deserialized>"  # really loaded, not rebuilt
    loaded, loaded_diags = _parse_all()
    assert loaded == built and loaded_diags == built_diags
    assert built_broken and _broken_diagnostics() == built_broken


def test_condition_parser_is_cached_too(cache_env):
    first = parsermod.parse_expression("service == eks and GPU.count >= 4")
    parsermod._parser.cache_clear()
    parsermod._parse_condition.cache_clear()
    assert parsermod._parser("cond").source_path == "<deserialized>"
    assert parsermod.parse_expression("service == eks and GPU.count >= 4") == first


def test_entries_are_private_files(cache_env):
    parsermod._parser("module")
    assert stat.S_IMODE(cache_env.stat().st_mode) == 0o700
    for entry in _entries(cache_env):
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600


@pytest.mark.parametrize("damage", ["flip", "truncate", "key"])
def test_damaged_entry_is_a_miss_and_is_rewritten(cache_env, damage):
    parsermod._parser("module")
    [entry] = [e for e in _entries(cache_env) if e.stat().st_size > 100_000]
    data = bytearray(entry.read_bytes())
    if damage == "flip":
        data[-10] ^= 0x01
    elif damage == "truncate":
        del data[-100:]
    else:
        data[20] ^= 0x01  # inside the stored key
    entry.write_bytes(bytes(data))
    parsermod._parser.cache_clear()
    assert parsermod._parser("module").source_path != "<deserialized>"  # built from the grammar
    parsermod._parser.cache_clear()
    assert parsermod._parser("module").source_path == "<deserialized>"  # and stored again


def test_a_pickle_with_a_valid_digest_is_not_code(cache_env, tmp_path):
    # A file that would run code if it were unpickled, wrapped in a header with the right
    # key and digest: the entry is JSON, so it is a miss and nothing runs.
    import pickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    parsermod._parser("module")
    [entry] = [e for e in _entries(cache_env) if e.stat().st_size > 100_000]
    key = entry.read_bytes()[len(cache._BLOB_MAGIC):len(cache._BLOB_MAGIC) + 32]
    cache.store_blob("lark", key, pickle.dumps(Evil()))
    parsermod._parser.cache_clear()
    assert parsermod._parser("module").source_path != "<deserialized>"
    assert not marker.exists()


def test_key_follows_the_grammar(cache_env, tmp_path, monkeypatch):
    parsermod._parser("module")
    before = {e.name for e in _entries(cache_env)}
    grammar = tmp_path / "eidos.lark"
    grammar.write_text(parsermod.grammar_path().read_text(encoding="utf-8") + "\n// edited\n", encoding="utf-8")
    monkeypatch.setattr(parsermod, "grammar_path", lambda: grammar)
    parsermod._parser.cache_clear()
    assert parsermod._parser("module").source_path != "<deserialized>"  # not the old tables
    assert {e.name for e in _entries(cache_env)} - before  # a new entry


def test_unsafe_directory_is_not_used(cache_env):
    cache_env.mkdir(mode=0o700)
    os.chmod(cache_env, 0o777)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parser = parsermod._parser("module")
    assert parser.source_path != "<deserialized>"
    assert _entries(cache_env) == []
    assert any(issubclass(w.category, cache.CacheWarning) for w in caught)


def test_no_cache_variable_disables_it(cache_env, monkeypatch):
    monkeypatch.setenv("EIDOS_NO_CACHE", "1")
    parsermod._parser("module")
    assert _entries(cache_env) == []


# ---------------------------------------------------------------- parsed conditions
CONDITION = 'K8s.helm["gpu-operator.version"] == v25.3.0'


def _fresh():
    parsermod._parser.cache_clear()
    parsermod._parse_condition.cache_clear()


def _cond_entries(d: Path) -> list[Path]:
    return sorted(d.glob("cond-*.cache")) if d.exists() else []


def test_condition_is_read_back_without_lark(cache_env):
    import subprocess
    import sys

    code = ("import sys, json; from eidos.lang.parser import parse_expression; "
            f"e = parse_expression({CONDITION!r}); print(json.dumps([repr(e), 'lark' in sys.modules]))")
    env = dict(os.environ, EIDOS_CACHE_DIR=str(cache_env))
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    import json

    (r1, lark1), (r2, lark2) = json.loads(first.stdout), json.loads(second.stdout)
    assert lark1 and not lark2  # parsed, then read back
    assert r1 == r2 and "Compare(" in r1


def test_condition_syntax_errors_come_back_identical(cache_env):
    from eidos.lang.diagnostics import Reporter

    def diagnostics():
        reporter = Reporter()
        assert parsermod.parse_expression("GPU.count >= ", "x.eidos", reporter) is None
        return [(d.code, d.message, d.span, d.hint) for d in reporter.items]

    built = diagnostics()
    assert built and len(_cond_entries(cache_env)) == 1
    _fresh()
    assert diagnostics() == built


def test_forged_condition_entry_runs_nothing(cache_env, tmp_path):
    import hashlib
    import json
    import pickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    key = hashlib.sha256(cache.engine_fingerprint() + json.dumps([CONDITION, "<expression>"]).encode()).digest()
    cache.store_blob("cond", key, pickle.dumps((Evil(), ())))
    _fresh()
    expr = parsermod.parse_expression(CONDITION)
    assert not marker.exists()
    assert type(expr).__name__ == "Compare"  # parsed again


def test_condition_entry_of_the_wrong_shape_is_a_miss(cache_env):
    import hashlib
    import json
    import pickle

    key = hashlib.sha256(cache.engine_fingerprint() + json.dumps([CONDITION, "<expression>"]).encode()).digest()
    cache.store_blob("cond", key, pickle.dumps((("not", "an", "expression"), ())))
    _fresh()
    assert type(parsermod.parse_expression(CONDITION)).__name__ == "Compare"


def test_condition_key_follows_the_engine(cache_env, monkeypatch):
    parsermod.parse_expression(CONDITION)
    before = {e.name for e in _cond_entries(cache_env)}
    monkeypatch.setattr(cache, "_fingerprint", b"\x01" * 32)  # as if a module of eidos.lang changed
    _fresh()
    parsermod.parse_expression(CONDITION)
    assert {e.name for e in _cond_entries(cache_env)} - before


def test_entries_of_a_kind_are_bounded(cache_env, monkeypatch):
    monkeypatch.setattr(cache, "MAX_BLOBS", 3)
    for i in range(6):
        cache.store_blob("cond", bytes([i]) * 32, b"x")
        os.utime(cache_env / cache._blob_name("cond", bytes([i]) * 32), (1000 + i, 1000 + i))
    kept = sorted(p.name for p in _cond_entries(cache_env))
    assert kept == sorted(cache._blob_name("cond", bytes([i]) * 32) for i in (3, 4, 5))  # the newest three
    assert cache.load_blob("cond", bytes([5]) * 32) == b"x"
