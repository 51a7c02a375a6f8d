"""Which tests run for which module, and the mutants known to be equivalent.

The map keeps each mutant's run short: only the tests that exercise a module run against
its mutants (``pytest -x`` stops at the first failure, so a killed mutant costs a
fraction of this). Keys are path prefixes without ``.py``, so ``eidos/lang/expr`` covers
both the module ``expr.py`` and a package ``expr/``; the longest matching key wins.
"""

from __future__ import annotations

_RESOLUTION = [
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
    ],
    "eidos/lang/expr": [
        "tests/test_expr.py",
        "tests/validate/test_parse_expression.py",
        "tests/validate/test_version_semantics.py",
        "tests/validate/test_verdicts.py",
        "tests/test_matcher.py",
        "tests/test_properties.py",
    ],
    "eidos/engine/matcher": _RESOLUTION,
    "eidos/engine/merge": _RESOLUTION + ["tests/bundle/test_bundle_values.py"],
    "eidos/engine/values": _RESOLUTION + ["tests/bundle/test_bundle_values.py"],
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
    # {"path": "eidos/x.py", "line": "text on the line", "occurrence": 2 (optional, 1-based among
    #  lines with that text), "description": "substring of the mutation (optional)", "reason": "..."}
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
