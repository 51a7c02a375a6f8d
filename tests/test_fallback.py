"""No silent fallback (issue 13, deliverable 3): which given fact values a recipe is not
specific to, the warning ``recipe`` and ``bundle`` print, ``--strict``, and lint's W505.

The engine-level tests use a small standalone rule base whose overlays are chosen so that
plausible wrong definitions of "covered" disagree with the right one (docs/matrix.md
#definitions); the CLI tests layer a rule directory with its own fact (``region``) over
the embedded base, so they do not depend on which cells the shipped rules cover.
"""

from __future__ import annotations

import json

import pytest

from eidos.engine.coverage import Coverage
from tests.conftest import run_eidos, write_rules

SMALL = {
    "facts.eidos": """
        fact service: enum { eks, gke, aks }
        fact accelerator: enum { h100, gb200, a100 }
        fact os: enum { ubuntu, rhel }
        fact intent: enum { training, inference }
        fact nodes: int
    """,
    "overlays.eidos": """
        overlay base { when always }
        overlay defaults extends base { when always }
        overlay eks extends base { when service == eks }
        overlay eks-training extends eks { when intent == training }
        overlay gb200-eks-training extends eks-training { when accelerator == gb200 }
        overlay gb200-eks-ubuntu-training extends gb200-eks-training { when os == ubuntu }
        overlay not-gke extends base { when service != gke and intent == inference }
        overlay big extends base { when nodes >= 16 }
    """,
}


@pytest.fixture
def small(rules):
    graph, diagnostics = rules(SMALL, with_facts=False)
    assert graph is not None, diagnostics
    return Coverage(graph)


def query(coverage, **facts):
    applied = [o.name for o in coverage.matcher.applied(facts)]
    return applied, coverage.uncovered(facts, applied)


def test_when_always_overlays_cover_nothing(small):
    applied, uncovered = query(small, service="aks", accelerator="h100", intent="training")
    assert applied == ["base", "defaults"]
    assert uncovered == ("service", "accelerator", "intent")
    assert small.specific_overlay(applied) is None  # not "defaults": it is `when always` too


def test_a_fact_read_by_an_ancestor_is_covered(small):
    applied, uncovered = query(small, service="eks", accelerator="gb200", intent="training", os="ubuntu")
    assert applied[-1] == "gb200-eks-ubuntu-training"
    assert uncovered == ()


def test_a_value_the_overlays_do_not_read_is_uncovered(small):
    # eks-training applies for h100 but reads no accelerator: h100 is not specific
    applied, uncovered = query(small, service="eks", accelerator="h100", intent="training", os="rhel")
    assert small.specific_overlay(applied) == "eks-training"
    assert uncovered == ("accelerator", "os")


def test_any_test_of_the_fact_covers_it(small):
    # `service != gke` reads service, so service=aks is covered by not-gke
    _applied, uncovered = query(small, service="aks", accelerator="a100", intent="inference")
    assert uncovered == ("accelerator",)


def test_numeric_facts_are_never_uncovered(small):
    _applied, uncovered = query(small, service="eks", intent="training", nodes=4)
    assert "nodes" not in uncovered and uncovered == ()


def test_gap_names_the_nearest_overlays_first(small):
    facts = {"service": "aks", "accelerator": "gb200", "intent": "training", "os": "ubuntu"}
    applied = [o.name for o in small.matcher.applied(facts)]
    gaps = {g.fact: g for g in small.gaps(facts, applied)}
    assert list(gaps) == ["service", "accelerator", "os", "intent"]  # matrix axes order
    gb200 = gaps["accelerator"]
    # both gb200 overlays contradict only service=aks; the more specific one comes first
    assert [c.overlay for c in gb200.nearest] == ["gb200-eks-ubuntu-training", "gb200-eks-training"]
    assert [c.distance for c in gb200.nearest] == [1, 1]
    assert gb200.nearest[1].label == "service=eks intent=training"
    assert gb200.describe() == (
        "accelerator=gb200 has recipes for: service=eks os=ubuntu intent=training "
        "(gb200-eks-ubuntu-training); service=eks intent=training (gb200-eks-training)")
    # not-gke admits aks (it reads service and can hold with it), eks does not
    assert [c.overlay for c in gaps["service"].nearest] == ["not-gke"]
    assert gaps["service"].nearest[0].distance == 1  # it needs intent == inference


def test_gap_without_any_admitting_overlay_lists_the_served_values(rules):
    graph, _ = rules({"f.eidos": SMALL["facts.eidos"], "o.eidos": """
        overlay base { when always }
        overlay eks extends base { when service == eks }
        overlay gke extends base { when service == gke and os == ubuntu }
    """}, with_facts=False)
    coverage = Coverage(graph)
    facts = {"service": "aks", "os": "rhel"}
    gaps = coverage.gaps(facts, ["base"])
    assert gaps[0].describe() == "service=aks: no overlay is for it; overlays exist for service=eks, gke"
    assert gaps[1].describe() == "os=rhel: no overlay is for it; overlays exist for os=ubuntu"
    facts = {"service": "eks", "intent": "training"}
    (gap,) = coverage.gaps(facts, ["base", "eks"])
    assert gap.describe() == "intent=training: no overlay's condition reads intent"


def test_more_than_four_nearest_are_counted(rules):
    overlays = "\n".join(f"overlay o{i} extends base {{ when accelerator == gb200 and os == ubuntu and nodes >= {i} }}"
                         for i in range(1, 7))
    graph, diags = rules({"f.eidos": SMALL["facts.eidos"],
                          "o.eidos": "overlay base { when always }\n" + overlays}, with_facts=False)
    assert graph is not None, diags
    (gap,) = Coverage(graph).gaps({"accelerator": "gb200"}, ["base"])
    assert len(gap.nearest) == 4 and gap.more == 2
    assert gap.describe().endswith("; and 2 more")
    assert [c.overlay for c in gap.nearest] == ["o1", "o2", "o3", "o4"]
    # a condition that is not a plain conjunction of memberships is shown as written
    assert gap.nearest[0].label == "accelerator == gb200 and os == ubuntu and nodes >= 1"


# ---- the CLI --------------------------------------------------------------------------------

REGION = {
    "region.eidos": """
        fact region: enum { us, eu }
          doc "Where the cluster runs (test fact)."

        overlay region-us extends gb200-eks-ubuntu-training {
          when region == us
        }
    """,
}
SPECIFIC = ("--service", "eks", "--accelerator", "gb200", "--intent", "training", "--os", "ubuntu")


@pytest.fixture
def region(tmp_path):
    return str(write_rules(tmp_path / "region", REGION))


def test_recipe_warns_about_the_uncovered_value_and_still_writes(region):
    result = run_eidos("recipe", "--rules", region, *SPECIFIC, "--region", "eu", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["overlays"][-1] == "gb200-eks-ubuntu-training"
    lines = result.stderr.splitlines()
    assert lines[0].startswith("eidos: warning: no applied overlay is specific to region=eu (applied: ")
    assert "gb200-eks-ubuntu-training" in lines[0] and lines[0].endswith("; none of them reads region)")
    assert "  region=eu: no overlay is for it; overlays exist for region=us" in lines
    assert lines[-1] == ("  hint: 'eidos matrix --service eks --accelerator gb200' shows the overlay "
                         "of each cell around this one; --strict makes this exit 1")


def test_recipe_is_silent_when_every_given_fact_is_covered(region):
    result = run_eidos("recipe", "--rules", region, *SPECIFIC, "--region", "us", "--strict")
    assert result.returncode == 0 and result.stderr == ""
    assert "region-us" in result.stdout


def test_recipe_strict_exits_1_and_writes_nothing(region, tmp_path):
    out = tmp_path / "r.yaml"
    result = run_eidos("recipe", "--rules", region, *SPECIFIC, "--region", "eu", "--strict", "--out", str(out))
    assert result.returncode == 1
    assert result.stdout == "" and not out.exists()
    assert "region=eu: no overlay is for it" in result.stderr
    assert "eidos: --strict: the recipe is not specific to every given fact; nothing written" in result.stderr
    assert "Traceback" not in result.stderr


def test_bundle_warns_and_strict_refuses(region, tmp_path):
    out = tmp_path / "b"
    result = run_eidos("bundle", "--rules", region, *SPECIFIC, "--region", "eu", "--strict", "--out", str(out))
    assert result.returncode == 1 and not out.exists()
    assert "region=eu" in result.stderr
    result = run_eidos("bundle", "--rules", region, *SPECIFIC, "--region", "eu", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "recipe.yaml").is_file()
    assert "eidos: warning: no applied overlay is specific to region=eu" in result.stderr


def test_bundle_strict_passes_a_specific_recipe(region, tmp_path):
    result = run_eidos("bundle", "--rules", region, *SPECIFIC, "--region", "us", "--strict",
                       "--out", str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_acceptance_aks_gb200_training_is_specific_or_warns():
    """Issue 13: either a specific AKS GB200 recipe, or a warning naming the missing cell
    and exit 1 under --strict (whichever the shipped rules make true)."""
    args = ("recipe", "--service", "aks", "--accelerator", "gb200", "--intent", "training", "-o", "json")
    result = run_eidos(*args)
    assert result.returncode == 0
    strict = run_eidos(*args, "--strict")
    if "warning" in result.stderr:
        assert "service=aks" in result.stderr or "accelerator=gb200" in result.stderr
        assert strict.returncode == 1 and strict.stdout == ""
    else:
        assert strict.returncode == 0
        from eidos import engine

        graph = engine.load_graph([])
        last = json.loads(result.stdout)["overlays"][-1]
        text = graph.overlays[last].condition_text
        assert "service" in text and "accelerator" in text and "intent" in text


# ---- lint W505 ------------------------------------------------------------------------------

def test_lint_reports_a_fact_no_overlay_reads(tmp_path):
    d = write_rules(tmp_path / "r", {"f.eidos": 'fact region: enum { us, eu }\n  doc "x"\n'})
    result = run_eidos("lint", str(d), "-o", "json")
    found = [x for x in json.loads(result.stdout)["diagnostics"] if x["code"] == "W505"]
    assert [(x["file"].endswith("f.eidos"), x["line"], x["severity"]) for x in found] == [(True, 1, "warning")]
    assert "'region'" in found[0]["message"]
    assert result.returncode == 0
    assert run_eidos("lint", "--strict", str(d)).returncode == 1


def test_lint_is_quiet_once_an_overlay_reads_the_fact(region):
    result = run_eidos("lint", region, "-o", "json")
    codes = [x["code"] for x in json.loads(result.stdout)["diagnostics"]]
    assert "W505" not in codes  # and the embedded base's own declarations are not this layer's


def test_bundle_strict_with_a_recipe_file_is_refused(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("criteria: {}\ncomponents: []\n", encoding="utf-8")
    result = run_eidos("bundle", "--recipe", str(recipe), "--strict", "--out", str(tmp_path / "b"))
    assert result.returncode == 2 and not (tmp_path / "b").exists()
    assert "--strict checks a recipe resolved from facts" in result.stderr
