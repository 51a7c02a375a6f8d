"""Typed --set: parsing, paths, typing rules and application (cases from ref-bundle-cli §6.1/6.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eidos.bundle import yamlout
from eidos.bundle.values import (
    apply_overrides,
    format_path,
    parse_path,
    parse_set,
    resolve_component,
)
from eidos.errors import UsageError
from eidos.io import yamlio


def apply(values, *raws):
    return apply_overrides(values, [parse_set(r) for r in raws], "c")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", ("a",)),
        ("a.b.c", ("a", "b", "c")),
        ("a.b[0].c", ("a", "b", 0, "c")),
        ("a[0][1]", ("a", 0, 1)),
        (r"nodeSelector.nvidia\.com/gpu", ("nodeSelector", "nvidia.com/gpu")),
        (r"a\[0\]", ("a[0]",)),
        (r"weird\:key\=x\\y", ("weird:key=x\\y",)),
    ],
)
def test_parse_path(text, expected):
    assert parse_path(text) == expected


@pytest.mark.parametrize(
    "text", ["", ".a", "a.", "a..b", "[0]", "a[x]", "a[-1]", "a[0", "a]", "a[0]b", "a\\q"]
)
def test_parse_path_errors(text):
    with pytest.raises(UsageError, match="invalid path"):
        parse_path(text)


@given(
    st.lists(
        st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 50)), min_size=1, max_size=6
    ).filter(lambda p: isinstance(p[0], str))
)
def test_format_parse_roundtrip(path):
    assert parse_path(format_path(tuple(path))) == tuple(path)


@pytest.mark.parametrize(
    ("raw", "component", "path", "type_", "value"),
    [
        ("gpuoperator:gds.enabled=true", "gpuoperator", ("gds", "enabled"), None, "true"),
        ("b:path=value=with=equals", "b", ("path",), None, "value=with=equals"),
        (
            "gpuoperator:custom.label=hello world",
            "gpuoperator",
            ("custom", "label"),
            None,
            "hello world",
        ),
        ("g:driver.enabled:bool=false", "g", ("driver", "enabled"), "bool", "false"),
        ("g:a=", "g", ("a",), None, ""),
        ("g:a=x:y", "g", ("a",), None, "x:y"),
        (r"g:k\:x:str=1", "g", ("k:x",), "str", "1"),
        ("g:list:json=[1,2]", "g", ("list",), "json", "[1,2]"),
    ],
)
def test_parse_set(raw, component, path, type_, value):
    o = parse_set(raw)
    assert (o.component, o.path, o.type, o.value) == (component, path, type_, value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("invalid-no-colon", "expected COMPONENT:PATH"),
        ("bundler:path-no-equals", "missing '=VALUE'"),
        ("bundler:=value", "empty path"),
        (":a=b", "expected COMPONENT:PATH"),
        ("gpuoperator:", "missing '=VALUE'"),
        ("g:a:float32=1", "unknown type 'float32'"),
    ],
)
def test_parse_set_errors(raw, message):
    with pytest.raises(UsageError, match=message):
        parse_set(raw)


def test_strings_stay_strings():
    values, _ = apply({"driver": {"version": "580.82.07"}}, "c:driver.version=25.10")
    assert values["driver"]["version"] == "25.10"
    # a new path is inferred conservatively: only canonical ints and true/false convert
    values, _ = apply(
        {},
        "c:a=25.10",
        "c:b=1.0",
        "c:c=1e3",
        "c:d=007",
        "c:e=NaN",
        "c:f=42",
        "c:g=true",
        "c:h=TRUE",
        "c:i=-3",
        "c:j=null",
    )
    assert values == {
        "a": "25.10",
        "b": "1.0",
        "c": "1e3",
        "d": "007",
        "e": "NaN",
        "f": 42,
        "g": True,
        "h": "TRUE",
        "i": -3,
        "j": "null",
    }


def test_type_follows_existing_value():
    base = {"s": "580", "b": True, "i": 5, "f": 0.5}
    values, warnings = apply(base, "c:s=600", "c:b=false", "c:i=7", "c:f=1")
    assert values == {"s": "600", "b": False, "i": 7, "f": 1.0}
    assert warnings == []
    assert base["b"] is True  # the input is not mutated
    with pytest.raises(UsageError, match="expected true or false"):
        apply(base, "c:b=yes")
    with pytest.raises(UsageError, match="expected an integer"):
        apply(base, "c:i=1.5")


def test_explicit_types():
    values, _ = apply(
        {"s": "x"},
        "c:s:int=3",
        "c:n:null=",
        "c:f:float=25.10",
        'c:j:json={"a": [1, 2]}',
        "c:t:str=true",
        "c:b:bool=False",
    )
    assert values == {"s": 3, "n": None, "f": 25.1, "j": {"a": [1, 2]}, "t": "true", "b": False}
    for bad, message in [
        ("c:x:float=inf", "not a finite"),
        ("c:x:json={", "invalid JSON"),
        ("c:x:json=NaN", "invalid JSON"),
        ("c:x:null=1", "takes no value"),
    ]:
        with pytest.raises(UsageError, match=message):
            apply({}, bad)


def test_replacing_a_mapping_needs_json():
    with pytest.raises(UsageError, match="holds a mapping"):
        apply({"a": {"b": 1}}, "c:a=x")
    values, _ = apply({"a": {"b": 1}}, 'c:a:json={"c": 2}')
    assert values == {"a": {"c": 2}}


def test_list_indices():
    base = {"env": [{"name": "A", "value": "1"}]}
    values, warnings = apply(base, "c:env[0].value=2", "c:env[1].name=B", "c:new[0]=x")
    assert values == {"env": [{"name": "A", "value": "2"}, {"name": "B"}], "new": ["x"]}
    assert len(warnings) == 2  # env[1].name and new[0] were not in the values
    with pytest.raises(UsageError, match="out of range"):
        apply(base, "c:env[3].name=x")
    with pytest.raises(UsageError, match="not a list"):
        apply({"env": {"a": 1}}, "c:env[0]=x")


def test_escaped_dots_reach_the_right_key():
    values, _ = apply({"nodeSelector": {}}, r"c:nodeSelector.nvidia\.com/gpu=true")
    assert values == {"nodeSelector": {"nvidia.com/gpu": True}}


def test_scalar_in_the_way_is_an_error():
    with pytest.raises(UsageError, match="holds a str"):
        apply({"driver": "string-value"}, "c:driver.version=550.0.0")


def test_unknown_path_warns_with_nearest_keys():
    _, warnings = apply({"driver": {"version": "1", "enabled": True}}, "c:driver.verison=2")
    assert len(warnings) == 1
    assert "driver.verison" in warnings[0] and "nearest keys under driver: version" in warnings[0]


def test_last_override_wins():
    values, _ = apply({}, "c:a=1", "c:a=2")
    assert values == {"a": 2}


def test_unknown_component_suggests():
    names = {
        "gpu-operator": "gpu-operator",
        "gpuoperator": "gpu-operator",
        "cert-manager": "cert-manager",
    }
    assert resolve_component("gpuoperator", names, "--set") == "gpu-operator"
    with pytest.raises(UsageError) as err:
        resolve_component("gpu-operater", names, "--set")
    assert "did you mean 'gpu-operator'" in err.value.hint


@given(
    st.text(alphabet="0123456789.eE+-_:xXoObB", min_size=1, max_size=8)
    | st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "~",
            "null",
            "NULL",
            "True",
            "1:20",
            "2001-12-14",
            ".inf",
            "<<",
            "=",
        ]
    )
)
def test_any_string_value_survives_yaml_as_a_string(text):
    """What --set keeps as a string must reach Helm (YAML 1.1) as a string, quoted."""
    values, _ = apply({"v": "old"}, f"c:v={text}")
    assert values["v"] == text
    dumped = yamlout.dump(values)
    assert yamlio.load(dumped) == {"v": text}
    assert dumped.startswith(("v: '", 'v: "')) or not _yaml11_ambiguous(text)


def _yaml11_ambiguous(text: str) -> bool:
    from eidos.io.yamlio import ambiguous as _needs_quotes

    return _needs_quotes(text)
