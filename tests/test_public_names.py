"""Every name a package's ``__all__`` promises exists and is importable with ``*``.

The re-exporting modules (the expression package, the bundle's value helpers, the
snapshot and bundle packages) are the stable import surface other stages use; a name that
drifts out of ``__all__`` or a stale entry breaks ``from X import *`` and callers outside
the tree, and nothing else in the suite would notice.
"""

from __future__ import annotations

import importlib

import pytest

MODULES = (
    "eidos.lang.expr",
    "eidos.bundle",
    "eidos.bundle.values",
    "eidos.engine.matcher",
    "eidos.snapshot",
    "eidos.snapshot.collectors",
)


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_star_import_works(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []
    namespace: dict = {}
    exec(f"from {name} import *", namespace)  # noqa: S102 - the behaviour under test
    assert set(exported) <= set(namespace)


def test_expression_package_exports_what_callers_import():
    # the names the engine, validation and bundle code import from the package
    import eidos.lang.expr as expr

    for name in ("closure", "trace", "render", "EvalError", "Checker", "FactType", "coerce",
                 "atoms", "conjuncts", "conjoin", "Cmp", "Const", "Operand", "TrueE", "NotE"):
        assert name in expr.__all__, name
