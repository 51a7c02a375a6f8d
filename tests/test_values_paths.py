"""Value paths, the one module (eidos.engine.values): every expectation here is written by hand.

The matcher (``set``/``unset``/``values`` in rules) and bundles (``--set``, scheduling)
share these functions; the tests pin the one semantics both get.
"""

from __future__ import annotations

import time

import pytest

from eidos.bundle import values as bundle_values
from eidos.engine import values as paths
from eidos.engine.values import (
    Provenance,
    ValuePathError,
    deep_merge,
    format_path,
    parse_path,
    set_path,
    unset_path,
)
from eidos.errors import UsageError


def test_bundle_uses_the_engine_path_functions():
    # one home: the bundle module re-exports, it does not re-implement
    assert bundle_values.parse_path is paths.parse_path
    assert bundle_values.format_path is paths.format_path
    assert bundle_values.lookup is paths.lookup


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("a",), "a"),
        (("a", "b", 0, "c"), "a.b[0].c"),
        (("env", 0, 1), "env[0][1]"),
        (("nodeSelector", "nvidia.com/gpu.present"), r"nodeSelector.nvidia\.com/gpu\.present"),
        (("k:=v",), r"k\:\=v"),
        ((), ""),
    ],
)
def test_format_path_by_hand(path, text):
    assert format_path(path) == text
    if path:
        assert parse_path(text) == path


# ------------------------------------------------------------------ set


SET_CASES = [
    # (values, path, value, expected)
    ({}, ("a", "b"), 1, {"a": {"b": 1}}),
    ({"a": {"x": 1}}, ("a", "b"), 2, {"a": {"x": 1, "b": 2}}),
    ({"a": {"x": 1}}, ("a",), 5, {"a": 5}),  # a map replaced whole by a scalar at the leaf
    ({"a": None}, ("a", "b"), 1, {"a": {"b": 1}}),  # null is absent: created
    ({"env": [{"name": "A", "value": "1"}]}, ("env", 0, "value"), "2", {"env": [{"name": "A", "value": "2"}]}),
    ({"env": [{"name": "A"}]}, ("env", 1, "name"), "B", {"env": [{"name": "A"}, {"name": "B"}]}),
    ({"env": ["x", "y"]}, ("env", 1), "z", {"env": ["x", "z"]}),
    ({"env": ["x"]}, ("env", 1), "y", {"env": ["x", "y"]}),  # index == length appends
    ({}, ("new", 0), "x", {"new": ["x"]}),
    ({}, ("m", 0, 0), 1, {"m": [[1]]}),
    ({"l": [[1, 2]]}, ("l", 0, 1), 9, {"l": [[1, 9]]}),
]


@pytest.mark.parametrize(("values", "path", "value", "expected"), SET_CASES)
def test_set_path_by_hand(values, path, value, expected):
    before = repr(values)
    assert set_path(values, path, value) == expected
    assert repr(values) == before  # never mutated


@pytest.mark.parametrize(("values", "path", "value", "expected"), SET_CASES)
def test_bundle_set_path_is_the_same_edit(values, path, value, expected):
    copy = __import__("copy").deepcopy(values)
    bundle_values.set_path(copy, path, value, "--set x")
    assert copy == expected


SET_ERRORS = [
    ({"a": 1}, ("a", "b"), "a holds an integer, cannot set key 'b' in it"),
    ({"a": "text"}, ("a", "b", "c"), "a holds a string, cannot set key 'b' in it"),
    ({"a": [1]}, ("a", "b"), "a holds a list, cannot set key 'b' in it"),
    ({"a": {"b": 1}}, ("a", 0), "a is not a list but a mapping, cannot use index [0] in it"),
    ({"a": [1, 2]}, ("a", 3), "index [3] is out of range at a (2 item(s); use [2] to append)"),
    ({"a": [{"b": True}]}, ("a", 0, "b", "c"), "a[0].b holds a boolean, cannot set key 'c' in it"),
    ({"a": 2.5}, ("a", "b"), "a holds a number, cannot set key 'b' in it"),
]


@pytest.mark.parametrize(("values", "path", "message"), SET_ERRORS)
def test_a_set_never_replaces_a_scalar_with_a_map(values, path, message):
    with pytest.raises(ValuePathError) as err:
        set_path(values, path, {"x": 1})
    assert err.value.message == message
    assert err.value.path == path
    # the bundle's --set gets the same refusal, prefixed with the flag
    with pytest.raises(UsageError) as err2:
        bundle_values.set_path(__import__("copy").deepcopy(values), path, {"x": 1}, "--set 'c:p=v'")
    assert err2.value.message == f"--set 'c:p=v': {message}"


# ------------------------------------------------------------------ unset


UNSET_CASES = [
    ({"a": {"b": 1, "c": 2}}, ("a", "b"), {"a": {"c": 2}}),
    ({"a": 1}, ("missing",), {"a": 1}),
    ({"a": 1}, ("a", "b"), {"a": 1}),  # through a scalar: nothing there to remove
    ({"env": ["x", "y", "z"]}, ("env", 1), {"env": ["x", "z"]}),
    ({"env": [{"n": "A", "v": "1"}]}, ("env", 0, "v"), {"env": [{"n": "A"}]}),
    ({"env": ["x"]}, ("env", 5), {"env": ["x"]}),
    ({"env": {"0": "x"}}, ("env", 0), {"env": {"0": "x"}}),  # an index is not a key
]


@pytest.mark.parametrize(("values", "path", "expected"), UNSET_CASES)
def test_unset_path_by_hand(values, path, expected):
    before = repr(values)
    assert unset_path(values, path) == expected
    assert repr(values) == before


def test_deep_merge_by_hand():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    top = {"a": {"y": [3], "z": {}}, "b": {"c": 1}}
    assert deep_merge(base, top) == {"a": {"x": 1, "y": [3], "z": {}}, "b": {"c": 1}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


# ------------------------------------------------------------------ provenance


def test_provenance_names_the_last_writer_by_hand():
    p = Provenance()
    values: dict = {}
    first = {"driver": {"enabled": True, "version": "1"}, "tags": ["a"], "cdi": {}}
    p.merged(values, first, "a.yaml", {("driver", "enabled"): 2, ("driver", "version"): 3, ("tags",): 4, ("cdi",): 5})
    values = deep_merge(values, first)
    second = {"driver": {"version": "2"}, "cdi": {}}  # an empty map over a map changes nothing
    p.merged(values, second, "b.yaml", {("driver", "version"): 7})
    values = deep_merge(values, second)
    values = set_path(values, ("tags", 1), "b")
    p.replaced(("tags", 1), "b", "rules.eidos:9")
    values = unset_path(values, ("driver", "enabled"))
    p.removed(("driver", "enabled"))
    values = set_path(values, ("extra",), {"k": 1, "l": {}})
    p.replaced(("extra",), {"k": 1, "l": {}}, "rules.eidos:11")
    assert values == {"driver": {"version": "2"}, "tags": ["a", "b"], "cdi": {}, "extra": {"k": 1, "l": {}}}
    assert p.final(values) == {
        "cdi": "b.yaml",  # both files wrote an empty map; the second is the last writer
        "driver.version": "b.yaml:7",
        "extra.k": "rules.eidos:11",
        "extra.l": "rules.eidos:11",
        "tags": "rules.eidos:9",  # a list edited through an index names that edit
    }


def test_provenance_of_an_empty_map_keeps_the_keys_below_it():
    p = Provenance()
    base = {"a": {"b": 1}}
    p.merged({}, base, "one.yaml", {("a", "b"): 1})
    p.merged(base, {"a": {}}, "two.yaml", {("a",): 1})
    assert p.final(deep_merge(base, {"a": {}})) == {"a.b": "one.yaml:1"}


def test_provenance_replaced_map_forgets_old_keys():
    p = Provenance()
    base = {"a": {"b": 1, "c": 2}}
    p.merged({}, base, "one.yaml", {("a", "b"): 1, ("a", "c"): 2})
    p.merged(base, {"a": 5}, "two.yaml", {("a",): 3})
    p.merged({"a": 5}, {"a": {"b": 9}}, "three.yaml", {("a", "b"): 4})
    assert p.final({"a": {"b": 9}}) == {"a.b": "three.yaml:4"}


def test_provenance_is_linear_in_the_number_of_keys():
    # Regression (issue 10): 20,000 keys took 52 s when each write scanned every origin.
    data = {f"k{i}": {"v": i} for i in range(20_000)}
    lines = {(f"k{i}", "v"): i + 1 for i in range(20_000)}
    start = time.perf_counter()
    p = Provenance()
    p.merged({}, data, "big.yaml", lines)
    p.merged(data, data, "big2.yaml", lines)
    final = p.final(data)
    elapsed = time.perf_counter() - start
    assert len(final) == 20_000 and final["k19999.v"] == "big2.yaml:20000"
    assert elapsed < 5.0, f"provenance of 20,000 keys took {elapsed:.1f}s"


def test_an_empty_values_file_cites_nothing():
    p = Provenance()
    p.merged({}, {}, "empty.yaml")
    assert p.final({}) == {}


def test_a_trailing_backslash_is_a_path_error_not_a_crash():
    # the escape check must look past the end of the text, not index beyond it
    with pytest.raises(ValuePathError, match="must escape one of"):
        paths.parse_path("driver\\")


@pytest.mark.parametrize(("values", "path", "expected"), [
    ({"a": {"b": [10, 20]}}, ("a", "b", 1), 20),
    ({"a": {"b": [10, 20]}}, ("a", "b", 2), "default"),  # past the end
    ({"a": {"b": None}}, ("a", "b"), None),  # a stored None is found, not the default
    ({"a": 1}, ("a", "b"), "default"),  # through a scalar
    ({}, ("a",), "default"),
])
def test_get_by_hand(values, path, expected):
    assert paths.get(values, path, "default") == expected


def test_lookup_says_how_deep_it_got():
    values = {"a": {"b": [{"c": 1}]}}
    assert paths.lookup(values, ("a", "b", 0, "c")) == (1, 4)
    assert paths.lookup(values, ("a", "b", 5, "c"))[1] == 2
    assert paths.lookup(values, ("a", "x"))[1] == 1
    assert paths.lookup(values, ("z",))[1] == 0


def test_unset_forgets_the_origins_below_it_by_hand():
    # a.yaml writes x.y (line 2); an unset of x.y leaves x an empty map, a leaf whose origin
    # must not be the removed key's line
    p = Provenance()
    first = {"x": {"y": 1}, "z": 2}
    p.merged({}, first, "a.yaml", {("x",): 1, ("x", "y"): 2, ("z",): 3})
    values = unset_path(deep_merge({}, first), ("x", "y"))
    p.removed(("x", "y"))
    assert values == {"x": {}, "z": 2}
    final = p.final(values)
    assert final.get("x") != "a.yaml:2"
    assert final["z"] == "a.yaml:3"
    p.removed(())  # unsetting nothing is a no-op, never an error
    p.removed(("nope", "deeper"))  # nor is unsetting below a key that has no origin
    assert p.final(values)["z"] == "a.yaml:3"


@pytest.mark.parametrize(("value", "expected"), [
    ({"a": {"b": 1, "c": [1, 2]}, "d": {}}, [("a", "b"), ("a", "c"), ("d",)]),
    ({}, [()]),  # an empty map is itself a leaf
    (5, [()]),
    ([{"a": 1}], [()]),  # lists are leaves: they are replaced, never walked
])
def test_leaves_by_hand(value, expected):
    assert list(paths.leaves(value)) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("driver.", "ends with '.'"),
    ("driver[0", "'[' without ']'"),
])
def test_path_syntax_errors_by_hand(text, message):
    with pytest.raises(ValuePathError) as err:
        paths.parse_path(text)
    assert message in err.value.message


def test_every_escapable_character_is_a_plain_key_character_once_escaped():
    # the six characters the path syntax uses are each allowed behind a backslash
    assert paths.parse_path("a\\.b\\:c\\=d\\[e\\]f\\\\g") == ("a.b:c=d[e]f\\g",)
    with pytest.raises(ValuePathError, match="must escape one of"):
        paths.parse_path("a\\b")  # any other escape is a mistake, not a key character


def test_path_errors_name_where_the_path_came_from():
    with pytest.raises(ValuePathError) as err:
        paths.parse_path("a.")
    assert err.value.message == "path: invalid path 'a.': ends with '.'"
    with pytest.raises(ValuePathError) as err:
        paths.parse_path("a.", "--set gpu:a.=1")
    assert err.value.message.startswith("--set gpu:a.=1: invalid path 'a.'")


def test_a_value_of_another_type_is_named_by_its_type():
    # values from a Python caller (not YAML) are still described, never "None"
    with pytest.raises(ValuePathError) as err:
        set_path({"a": (1, 2)}, ("a", "b"), 1)
    assert err.value.message == "a holds a tuple, cannot set key 'b' in it"


@pytest.mark.parametrize("text", ["a\\X", "a\\n", "a\\ "])
def test_only_the_syntax_characters_can_be_escaped(text):
    with pytest.raises(ValuePathError, match="must escape one of"):
        paths.parse_path(text)
