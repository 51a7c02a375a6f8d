"""Resource limits on untrusted documents (issue 10): depth, integer length, tags, aliases,
size, strict JSON output, and inputs that are not regular files.

The crash cases run in a subprocess: a segfault there is a failing test, not a dead pytest.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

from eidos.errors import InputError
from eidos.io import limits, yamlio
from eidos.io.inputs import read_input
from eidos.snapshot import io as snap_io
from eidos.snapshot import parse_snapshot
from tests.conftest import FIXTURES, run_eidos

H100 = FIXTURES / "snapshots" / "cns-eks-h100.yaml"


def _nested_data(depth: int) -> dict:
    """A snapshot whose document nests exactly ``depth`` collections deep."""
    # root map, measurements list, measurement map, subtypes list, subtype map, data map = 6
    value: object = "leaf"
    for i in range(depth - 6):
        value = [value] if i % 2 else {"k": value}
    return {
        "measurements": [{"type": "OS", "subtypes": [{"subtype": "deep", "data": {"v": value}}]}]
    }


# ---- crashes become exit 2 (subprocess) ----------------------------------------------------


@pytest.mark.parametrize(
    "name, text, line",
    [
        ("flow.yaml", "[" * 30000, 1),  # the 60 KB file: SIGSEGV in the C composer
        ("dashes.yaml", "measurements:\n" + "- " * 30000 + "x\n", 2),  # block nesting, 2 bytes a level
        ("deep.json", '{"measurements": ' + "[" * 30000 + "]" * 30000 + "}", 1),
    ],
)
def test_deeply_nested_snapshot_is_exit_2_not_a_segfault(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    result = run_eidos("validate", "--snapshot", str(path), "--service", "eks")
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert f"{path}:{line}:" in result.stderr
    assert f"nested deeper than {limits.MAX_DEPTH} levels" in result.stderr
    assert "Traceback" not in result.stderr


def test_deep_snapshot_in_recipe_command_is_exit_2(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 30000)
    result = run_eidos("recipe", "--snapshot", str(path), "--intent", "training")
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert f"{path}:1:" in result.stderr


# ---- depth: the limit is exact, and what it admits is processed without recursion errors --


@pytest.mark.parametrize("as_json", [False, True])
def test_document_at_the_depth_limit_round_trips(as_json):
    doc = _nested_data(limits.MAX_DEPTH)
    text = json.dumps(doc) if as_json else yamlio.dump(doc)
    snap = parse_snapshot(text, "at-limit")
    assert parse_snapshot(snap_io.dumps(snap, "json"), "again") == snap
    assert parse_snapshot(snap_io.dumps(snap, "yaml"), "again") == snap
    yamlio.load(text, "at-limit", with_lines=True)  # the pure parser with line numbers too


@pytest.mark.parametrize("as_json", [False, True])
def test_one_level_past_the_limit_is_refused_with_a_line(as_json):
    doc = _nested_data(limits.MAX_DEPTH + 1)
    text = json.dumps(doc, indent=1) if as_json else yamlio.dump(doc)
    with pytest.raises(InputError, match=rf"^past:\d+:\d+: nested deeper than {limits.MAX_DEPTH} levels"):
        parse_snapshot(text, "past")


def test_brackets_inside_strings_and_block_scalars_do_not_count():
    opener = "[" * 500
    text = (
        f"measurements:\n  - type: OS\n    subtypes:\n      - subtype: s\n        data:\n"
        f"          q: \"{opener}\"\n          b: |\n            {opener}\n          c: '{opener}'\n"
    )
    snap = parse_snapshot(text, "strings")
    assert snap.lookup(("OS", "s", "b")) == opener + "\n"
    as_json = json.dumps({"measurements": [{"type": "OS", "subtypes": [{"subtype": "s", "data": {"q": opener + '\\"'}}]}]})
    assert parse_snapshot(as_json, "j").lookup(("OS", "s", "q")) == opener + '\\"'


# ---- integers past Python's conversion limit -----------------------------------------------


@pytest.mark.parametrize(
    "literal",
    ["9" * 5000, "-" + "1_2" * 3000, "0x" + "f" * 4000, "!!int '" + "7" * 5000 + "'"],
)
def test_overlong_integer_is_refused_with_a_line(literal):
    text = f"measurements: []\nmetadata:\n  a: {literal}\n"
    with pytest.raises(InputError, match=rf"^big:3:\d+: integer with more than {limits.MAX_INT_DIGITS} digits"):
        parse_snapshot(text, "big")


def test_overlong_integer_in_json_is_refused_with_a_line():
    text = '{"measurements": [],\n "metadata": {"a": ' + "9" * 5000 + "}}"
    with pytest.raises(InputError, match=r"^big:2:\d+: number with more than 4300 digits"):
        parse_snapshot(text, "big")


def test_long_digit_strings_are_just_strings():
    digits = "9" * 5000
    text = f"measurements: []\nmetadata:\n  a: '{digits}'\n"
    assert parse_snapshot(text, "s").metadata["a"] == digits
    assert parse_snapshot(json.dumps({"measurements": [], "metadata": {"a": digits}}), "j").metadata["a"] == digits


def test_integer_exactly_at_the_limit_loads_and_prints():
    n = int("9" * limits.MAX_INT_DIGITS)
    assert yamlio.load(f"a: {n}\n") == {"a": n}
    assert json.loads(yamlio.dump_json({"a": n}))["a"] == n


# ---- tags -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, tag",
    [
        ('!!python/object/apply:os.system ["touch pwned"]', "python/object/apply:os.system"),
        ("!custom [1, 2]", "!custom"),
        ("!custom {a: 1}", "!custom"),
        ("!!binary aGVsbG8=", "binary"),
        ("!!set {a, b}", "set"),
        ("!!timestamp 2026-01-01", "timestamp"),
    ],
)
def test_unknown_tags_are_refused_with_a_location(value, tag):
    text = f"measurements: []\nmetadata:\n  a: {value}\n"
    with pytest.raises(InputError, match=rf"^tags:3:6: YAML tag '[^']*{tag}' is not allowed"):
        parse_snapshot(text, "tags")
    with pytest.raises(InputError, match=r"^tags:3:6: YAML tag"):
        yamlio.load_all(text, "tags")


def test_core_tags_stay_allowed():
    doc = yamlio.load("a: !!str 1\nb: ! x\nc: !!int '3'\nd: !!map {x: !!seq [!!null '', !!bool true]}\n")
    assert doc == {"a": "1", "b": "x", "c": 3, "d": {"x": [None, True]}}


# ---- aliases --------------------------------------------------------------------------------


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_before_it_is_built():
    with pytest.raises(InputError, match=r"^bomb:\d+:\d+: document expands to more than 1000000 values"):
        yamlio.load(_bomb(9), "bomb")
    with pytest.raises(InputError, match="alias bomb"):
        parse_snapshot("measurements: []\n" + _bomb(9), "bomb")


def test_modest_aliases_are_fine_and_recursive_ones_refused():
    assert yamlio.load(_bomb(3))["a2"][0][0] == ["x"] * 10
    with pytest.raises(InputError, match=r"^r:1:\d+: recursive alias \*a"):
        yamlio.load("a: &a [1, *a]\n", "r")
    with pytest.raises(InputError, match="undefined alias"):
        yamlio.load("a: *nope\n", "u")


def test_snapshot_value_budget():
    text = "measurements: []\nmetadata: {}\nx: [" + ", ".join(["1"] * (snap_io.MAX_VALUES + 1)) + "]\n"
    with pytest.raises(InputError, match=f"more than {snap_io.MAX_VALUES} values"):
        parse_snapshot(text, "many")
    as_json = json.dumps({"measurements": [], "x": [1] * (snap_io.MAX_VALUES + 1)})
    with pytest.raises(InputError, match=f"more than {snap_io.MAX_VALUES} values"):
        parse_snapshot(as_json, "many")


# ---- strict JSON output -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_dump_json_never_prints_non_json(bad):
    with pytest.raises(InputError, match=r"cannot write JSON: components\[1\]\.values\.f is (inf|-inf|nan)"):
        yamlio.dump_json({"components": [{}, {"values": {"ok": 1.5, "f": bad}}]})


def test_dump_json_refuses_unprintable_integers_and_keeps_good_documents_exact():
    with pytest.raises(InputError, match="a is an integer with more than 4300 digits"):
        yamlio.dump_json({"a": 10**5000})
    doc = {"a": [1, 2.5, None, True, "ü"], "b": {"c": -0.0}}
    assert json.loads(yamlio.dump_json(doc)) == doc


# ---- inputs that are not regular files ----------------------------------------------------------


def _within(seconds: float, fn):
    box: dict = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as err:  # surfaced below
            box["error"] = err

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "blocked"
    if "error" in box:
        raise box["error"]
    return box.get("result")


def test_fifo_given_by_name_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "snap.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"snap.yaml: not a regular file \(a FIFO\)"):
        _within(5, lambda: read_input(str(fifo), "a snapshot file"))


def test_device_is_refused_and_regular_file_read(tmp_path):
    with pytest.raises(InputError, match=r"/dev/zero: not a regular file \(a character device\)"):
        _within(5, lambda: read_input("/dev/zero", "a snapshot file"))
    link = tmp_path / "h100.yaml"
    link.symlink_to(H100)  # a symlink to a regular file is a regular file
    text, name = read_input(str(link), "a snapshot file")
    assert name == str(link) and text == H100.read_text()
    with pytest.raises(InputError, match="not a valid file name"):
        read_input("a\0b", "a snapshot file")


def test_fifo_in_the_cli_is_exit_2_quickly(tmp_path):
    fifo = tmp_path / "snap.yaml"
    os.mkfifo(fifo)
    result = run_eidos("validate", "--snapshot", str(fifo), "--service", "eks")
    assert result.returncode == 2
    assert "not a regular file (a FIFO)" in result.stderr


# ---- the other readers: recipe documents for validate --recipe and bundle --recipe ---------


def test_deep_recipe_document_is_refused_by_both_readers(tmp_path, capsys):
    from eidos import engine
    from eidos.cli.main import main
    from eidos.validate.recipe_input import load_recipe

    path = tmp_path / "recipe.yaml"
    path.write_text("kind: Recipe\ncomponents:\n  - " + "[" * 30000)
    with pytest.raises(InputError, match=rf"^{path}:3:\d+: nested deeper than"):
        load_recipe(str(path), engine.load_graph())
    code = main(["bundle", "--recipe", str(path), "-o", str(tmp_path / "out")])
    assert code == 2
    assert f"{path}:3:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_recipe_with_python_tag_is_refused(tmp_path):
    from eidos import engine
    from eidos.validate.recipe_input import load_recipe

    path = tmp_path / "recipe.yaml"
    path.write_text("kind: Recipe\ncriteria: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(InputError, match=rf"^{path}:2:11: YAML tag"):
        load_recipe(str(path), engine.load_graph())
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("with_lines", [False, True])
def test_an_anchor_defined_twice_is_a_located_error(with_lines):
    # the C parser raises, the pure one (line numbers) only warns: both paths refuse it the
    # same way, so no warning leaks to the terminal and no alias silently means the second
    import warnings

    text = "a: &x 1\nb: &x 2\nc: *x\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked warning fails the test
        with pytest.raises(InputError) as err:
            yamlio.load(text, "dup.yaml", with_lines=with_lines)
    assert err.value.message.startswith("dup.yaml:2:4: invalid YAML: ")
    assert "defined twice; first defined at line 1" in err.value.message


def test_gunzip_bounded_refuses_bombs_truncation_and_torn_streams():
    """One bounded inflater for every gzip eidos reads from a cluster (Helm release Secrets,
    drift-store ConfigMaps): a wrong one that inflates first, misses a truncated member or lets
    zlib.error through fails here."""
    import gzip

    from eidos.io.limits import GzipError, gunzip_bounded

    text = b"snapshot: 1\n" * 1000
    packed = gzip.compress(text)
    assert gunzip_bounded(packed, len(text)) == text
    with pytest.raises(GzipError, match="more than"):
        gunzip_bounded(packed, len(text) - 1)
    with pytest.raises(GzipError, match="more than"):
        gunzip_bounded(gzip.compress(b"\0" * (64 << 20)), 1 << 20)  # 64 MiB of zeros in ~64 KiB
    with pytest.raises(GzipError, match="truncated"):
        gunzip_bounded(packed[: len(packed) // 2], len(text))
    torn = bytearray(packed)
    torn[20:40] = b"\xff" * 20
    with pytest.raises(GzipError, match="not valid gzip"):
        gunzip_bounded(bytes(torn), len(text))
