"""Conditions on every fact kind, through the whole engine: compiled from rule text,
indexed, and matched against queries typed the way ``--fact NAME=VALUE`` types them.

The expected overlay lists are written by hand, one query at a time."""

from __future__ import annotations

import pytest

from eidos.engine.matcher import Matcher

RULES = """
fact ratio: float
fact kv: version
fact region: string
fact spot: bool
fact nodes: int

overlay base { when always }
overlay dense extends base { when ratio >= 1.5 }
overlay sparse extends base { when ratio in 0.25..<1.0 }
overlay modern extends base { when kv >= 1.30 }
overlay legacy extends base { when kv in 1.20..<1.30 or kv == "1.19" }
overlay east extends base { when region startswith "us-east-" }
overlay first extends base { when region endswith "-1" and not region contains "gov" }
overlay exact extends base { when region in {"eu-west-1", "eu-west-2"} }
overlay pattern extends base { when region matches "^(ap|sa)-" }
overlay spot extends base { when spot == true }
overlay ondemand extends base { when spot != true }
overlay big extends base { when nodes > 8 }
"""


@pytest.fixture(scope="module")
def matcher(tmp_path_factory):
    from tests.conftest import compile_dir, write_rules

    d = write_rules(tmp_path_factory.mktemp("kinds") / "r", {"r.eidos": RULES})
    graph, diags = compile_dir(d)
    assert graph is not None and not [x for x in diags if x.is_error], [x.render() for x in diags]
    return Matcher(graph)


def applied(matcher, **flags) -> list[str]:
    """Overlays that apply when each flag is given as ``--fact name=text`` would give it."""
    facts = {name: matcher.graph.facts[name].coerce(text) for name, text in flags.items()}
    return sorted(o.name for o in matcher.applied(facts) if o.name != "base")


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({}, []),  # nothing given: every condition is unknown, so nothing but base applies
        ({"ratio": "1.5"}, ["dense"]),
        ({"ratio": "1.49"}, []),
        ({"ratio": "0.25"}, ["sparse"]),
        ({"ratio": "1.0"}, []),
        ({"kv": "1.30.2"}, ["modern"]),
        ({"kv": "v1.29.9-eks-1"}, ["legacy"]),
        ({"kv": "1.19.0"}, ["legacy"]),
        ({"kv": "1.18"}, []),
        ({"region": "us-east-1"}, ["east", "first"]),
        ({"region": "us-gov-east-1"}, []),
        ({"region": "eu-west-1"}, ["exact", "first"]),
        ({"region": "eu-west-3"}, []),
        ({"region": "ap-south-2"}, ["pattern"]),
        ({"spot": "true"}, ["spot"]),
        ({"spot": "false"}, ["ondemand"]),
        ({"nodes": "9"}, ["big"]),
        ({"nodes": "8"}, []),
        ({"ratio": "2", "kv": "1.31", "region": "us-east-2", "spot": "no", "nodes": "16"},
         ["big", "dense", "east", "modern", "ondemand"]),
    ],
)
def test_conditions_on_each_fact_kind(matcher, flags, expected):
    assert applied(matcher, **flags) == expected
