"""Reading a recipe document (``eidos recipe -o yaml|json``) back for ``validate --recipe``.

A recipe file is data a user may have edited, so it is checked like any input: the shape
(``kind: Recipe``, a ``requirements`` list of mappings with an ``expr``), every fact in
``criteria`` against the rule base's schema, and every ``expr`` re-parsed and type-checked
with the language's own parser and checker. Each problem is an ``InputError`` naming the
file and line; nothing here ends in a traceback.
"""

from __future__ import annotations

import attrs

from eidos.io import yamlio
from eidos.io.inputs import read_input
from eidos.errors import EidosError, InputError
from eidos.engine.graph import RuleGraph
from eidos.engine.recipe import API_VERSION
from eidos.validate.plan import RequirementSource
from eidos.validate.verdicts import SEVERITIES

MAX_BYTES = 16 * 1024 * 1024


@attrs.frozen(slots=True)
class RecipeInput:
    source: str
    criteria: dict  # typed facts
    overlays: tuple[str, ...]
    requirements: tuple[RequirementSource, ...]


def read_text(path: str) -> str:
    return read_input(path, "a recipe file", MAX_BYTES)[0]


def load_recipe(path: str, graph: RuleGraph) -> RecipeInput:
    text = read_text(path)
    doc, lines = yamlio.load(text, path, with_lines=True)  # JSON is YAML too, with lines

    def where(*keys) -> str:
        probe = tuple(keys)
        while probe:
            if probe in lines:
                return f"{path}:{lines[probe]}"
            probe = probe[:-1]
        return path

    if not isinstance(doc, dict):
        raise InputError(f"{path}: not a recipe document (expected a mapping with kind: Recipe)")
    if doc.get("kind") != "Recipe":
        raise InputError(f"{where('kind')}: kind is {doc.get('kind')!r}, expected 'Recipe'",
                         hint="write one with: eidos recipe ... -o yaml --out recipe.yaml")
    if doc.get("apiVersion", API_VERSION) != API_VERSION:
        raise InputError(f"{where('apiVersion')}: unsupported apiVersion {doc.get('apiVersion')!r} "
                         f"(supported: {API_VERSION})")
    criteria = _criteria(doc.get("criteria"), graph, where)
    overlays = doc.get("overlays") or []
    if not isinstance(overlays, list) or not all(isinstance(o, str) for o in overlays):
        raise InputError(f"{where('overlays')}: overlays must be a list of names")
    reqs = doc.get("requirements")
    if reqs is None:
        reqs = []
    if not isinstance(reqs, list):
        raise InputError(f"{where('requirements')}: requirements must be a list")
    out = [_requirement(item, i, graph, path, where) for i, item in enumerate(reqs)]
    return RecipeInput(path, criteria, tuple(overlays), tuple(out))


def _criteria(raw, graph: RuleGraph, where) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(f"{where('criteria')}: criteria must be a mapping of fact: value")
    facts = {}
    for name, value in raw.items():
        spec = graph.facts.get(name)
        if spec is None:
            raise InputError(f"{where('criteria', name)}: unknown fact '{name}' in criteria",
                             hint="known facts: " + ", ".join(sorted(graph.facts)))
        try:
            facts[name] = spec.coerce(value)
        except EidosError as err:
            raise InputError(f"{where('criteria', name)}: {err.message}") from None
    return facts


def _requirement(item, i: int, graph: RuleGraph, path: str, where) -> RequirementSource:
    from eidos.lang.diagnostics import Reporter
    from eidos.lang.expr import Checker
    from eidos.lang.parser import parse_expression

    at = ("requirements", i)
    if not isinstance(item, dict):
        raise InputError(f"{where(*at)}: requirements[{i}] must be a mapping with an 'expr'")
    text = item.get("expr")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where(*at, 'expr')}: requirements[{i}].expr must be a non-empty string")
    severity = item.get("severity", "error")
    if severity not in SEVERITIES:
        raise InputError(f"{where(*at, 'severity')}: requirements[{i}].severity must be one of "
                         f"{', '.join(SEVERITIES)}, got {severity!r}")
    for key in ("name", "message", "remedy", "overlay", "source"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise InputError(f"{where(*at, key)}: requirements[{i}].{key} must be a string")
    loc = where(*at, "expr")
    reporter = Reporter()
    expr = parse_expression(text, loc, reporter)
    ir = None
    if expr is not None:
        ir = Checker({n: f.type for n, f in graph.facts.items()}, reporter).check(expr, "measurements")
    if ir is None or reporter.has_errors:
        d = reporter.sorted()[0]
        hint = f"{d.hint}" if d.hint else None
        raise InputError(f"{loc}: requirements[{i}].expr {text!r}: {d.message} (column {d.span.col})", hint=hint)
    return RequirementSource(
        item.get("name") or None,
        ir,
        text,
        severity,
        item.get("message") or "",
        item.get("remedy") or "",
        item.get("overlay") or "recipe",
        item.get("source") or loc,
    )
