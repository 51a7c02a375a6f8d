"""The engine's front door: load (or compile) rules, resolve facts, render documents.

Commands and other subsystems (bundles, validation) call these functions instead of
wiring parser, compiler, cache and matcher together themselves.
"""

from __future__ import annotations

from eidos.engine import cache, sources
from eidos.errors import RulesError
from eidos.engine.graph import RuleGraph
from eidos.engine.recipe import Recipe, to_document

_matchers: dict[int, object] = {}


def load_graph(rules_dirs=(), *, use_cache: bool = True, ruleset: sources.RuleSet | None = None) -> RuleGraph:
    """The embedded rule base plus ``rules_dirs`` layered on top; raises RulesError.

    A caller that already collected the rule files passes ``ruleset`` so they are not read
    and hashed twice."""
    if ruleset is None:
        ruleset = sources.collect(list(rules_dirs))
    if use_cache:
        graph = cache.load(ruleset.digest)
        if graph is not None:
            return graph
    from eidos.engine.compiler import compile_ruleset

    graph, reporter = compile_ruleset(ruleset)
    if graph is None:
        raise RulesError(reporter.sorted())
    if use_cache:
        cache.store(graph)
    return graph


def matcher_for(graph: RuleGraph):
    from eidos.engine.matcher import Matcher

    m = _matchers.get(id(graph))
    if m is None or m.graph is not graph:
        m = _matchers[id(graph)] = Matcher(graph)
    return m


def resolve(graph: RuleGraph, facts: dict, *, explain: bool = False, fact_sources: dict | None = None) -> Recipe:
    return matcher_for(graph).resolve(facts, explain=explain, fact_sources=fact_sources)


def recipe_document(recipe: Recipe, *, explain: bool = False) -> dict:
    return to_document(recipe, explain=explain)
