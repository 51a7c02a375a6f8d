"""Which tests run for which module, and the mutants known to be equivalent.

The map keeps each mutant's run short: only the tests that exercise a module run against
its mutants (``pytest -x`` stops at the first failure, so a killed mutant costs a
fraction of this). Keys are path prefixes without ``.py``, so ``eidos/lang/expr`` covers
both the module ``expr.py`` and a package ``expr/``; the longest matching key wins.
"""

from __future__ import annotations

_RESOLUTION = [
    "tests/test_public_names.py",
    "tests/test_resolution_semantics.py",
    "tests/test_matcher.py",
    "tests/test_golden_recipes.py",
    "tests/test_properties.py",
]

TEST_MAP: dict[str, list[str]] = {
    "eidos/lang/versions": [
        "tests/test_version_order.py",
        "tests/test_versions.py",
        "tests/validate/test_version_semantics.py",
        "tests/test_expr_shortcuts.py",
    ],
    "eidos/lang/expr": [
        "tests/test_public_names.py",
        "tests/test_expr.py",
        "tests/test_expr_shortcuts.py",
        "tests/test_expr_fastpaths.py",
        "tests/test_expr_connectives.py",
        "tests/test_expr_registry.py",
        "tests/test_expr_survivors.py",
        "tests/test_regex_bounds.py",
        "tests/test_fact_kinds.py",
        "tests/test_limits.py",
        "tests/validate/test_parse_expression.py",
        "tests/validate/test_version_semantics.py",
        "tests/validate/test_verdicts.py",
        "tests/test_matcher.py",
        "tests/test_properties.py",
    ],
    "eidos/engine/matcher": _RESOLUTION,
    "eidos/engine/values": ["tests/test_values_paths.py"] + _RESOLUTION + ["tests/bundle/test_bundle_values.py"],
    "eidos/validate/verdicts": [
        "tests/validate/test_verdict_objects.py",
        "tests/validate/test_verdicts.py",
        "tests/validate/test_reports.py",
        "tests/validate/test_fleet.py",
        "tests/validate/test_cli.py",
    ],
}

# Mutants that cannot change behaviour, by the text of their line and their description.
# Each needs a reason a reviewer can check; keep this list short.
EQUIVALENT: list[dict] = [
    # {"path": ..., "line": text on the line, "occurrence": n-th line with that text (optional),
    #  "description": substring of the mutation (optional), "reason": why no test can see it}
    {
        "path": "eidos/lang/expr/regex.py",
        "line": "options.max_mem = 8 << 20", "description": "removed",
        "reason": "8 << 20 is RE2's documented default for Options.max_mem; the line pins it so an "
                  "upstream change of default cannot loosen the bound, but removing it changes "
                  "nothing today (tests/test_regex_bounds.py shows 9 << 20 would differ).",
    },
    {
        "path": "eidos/engine/values.py",
        "line": "if end < 0:", "description": "`<` -> `<=`",
        "reason": "end is text.find(']', i) where text[i] == '['; a hit is at least i + 1 >= 1, "
                  "so end is never 0 and `< 0` and `<= 0` agree.",
    },
    {
        "path": "eidos/lang/expr/tracing.py",
        "line": '_CONTEXT = {"": 0, "or": OR, "and": AND, "not": NOT}', "description": "`0` -> `1`",
        "reason": "the top level needs no precedence; every kind's precedence is at least OR = 1 "
                  "(registry: OR, AND, NOT, ATOM = 1, 2, 3, 9), so a need of 0 or 1 parenthesises "
                  "nothing.",
    },
    {
        "path": "eidos/lang/versions.py",
        "line": 'raise VersionError(f"expected a version string, got {type(text).__name__}")',
        "occurrence": 2, "description": "removed",
        "reason": "Version._parse is reached only through Version.parse (via _parse_cached), which "
                  "already refused a non-string with the same message.",
    },
    {
        "path": "eidos/lang/versions.py",
        "line": "while end > 1 and release[end - 1] == 0:", "description": "`>` -> `>=`",
        "reason": "an all-zero release then trims to () instead of (0,); both equal each other and sort "
                  "below every other trimmed release (non-empty, non-zero last part), so no "
                  "comparison changes.",
    },
    {
        "path": "eidos/lang/versions.py",
        "line": "_RELEASED = (1, ())",
        "description": "`1` -> `2`",
        "reason": "the release marker only has to sort after the pre-release marker 0.",
    },
    {
        "path": "eidos/engine/matcher.py",
        "line": "for size in range(len(pairs) + 1):", "description": "`1` -> `2`",
        "reason": "the extra round asks for subsets of len(pairs) + 1 pairs; there are none.",
    },
    {
        "path": "eidos/engine/matcher.py",
        "line": "dropped.pop(change.name, None)",
        "reason": "`dropped` is read only for a need missing from the final state; a component included "
                  "again after a drop is in that state unless dropped again, which rewrites its entry.",
    },
    {
        "path": "eidos/engine/matcher.py",
        "line": 'fact = r.text.split(" ", 1)[0]', "description": "`1` -> `2`",
        "reason": "only the first word is used; splitting once more does not change it.",
    },
    {
        "path": "eidos/engine/matcher.py",
        "line": 'return "nothing" if value is MISSING else str(value)', "description": "'nothing' -> ",
        "reason": "conditions test facts only, and a comparison on a fact not given is unknown, which "
                  "_describe reports without a value: a true or false part never has MISSING.",
    },
]


def tests_for(path: str) -> list[str] | None:
    """The tests mapped to a module path (longest prefix wins), or None if unmapped."""
    stem = path[:-3] if path.endswith(".py") else path
    best = None
    for key in TEST_MAP:
        if stem == key or stem.startswith(key + "/"):
            if best is None or len(key) > len(best):
                best = key
    return list(TEST_MAP[best]) if best else None
