"""Import discipline (issue 17): each command imports what it uses, nothing more.

A fresh interpreter runs the CLI in-process with a warm compiled-rule cache and reports
``sys.modules``. Aimed at the plausible regressions: a command module importing a heavy
library at the top (every command pays for it, as every command module is imported to
build the parser), ``yamlio.dump`` going back to ruamel, a condition parse importing Lark
although it was parsed before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "fixtures" / "snapshots" / "cns-eks-gb200.yaml"
QUERY = ["--service", "eks", "--accelerator", "gb200", "--os", "ubuntu", "--intent", "training"]

PROBE = """
import contextlib, io, json, sys
from eidos.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""

# never needed by these commands (kubernetes: cluster access; jsonschema: conformance/importers;
# lark: parsing, which a warm cache spares; ruamel: YAML writing has its own emitter)
NEVER = ("kubernetes", "jsonschema", "lark", "ruamel", "yaml", "cattrs", "multiprocessing", "urllib3")


@pytest.fixture(scope="module")
def warm_env(tmp_path_factory):
    env = dict(os.environ, EIDOS_CACHE_DIR=str(tmp_path_factory.mktemp("cache")))
    env.pop("EIDOS_NO_CACHE", None)
    return env


def _modules(env, *argv) -> tuple[int, set[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=300)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["rc"], set(result["modules"])


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def _warm(env, *argv):
    _modules(env, *argv)  # the first run compiles (and imports Lark); the second is the warm one
    return _modules(env, *argv)


def test_help_imports_no_engine(warm_env):
    rc, modules = _modules(warm_env, "--help")
    assert rc == 0
    assert not _top(modules) & {"attr", "attrs", *NEVER}
    assert not {m for m in modules if m.startswith(("eidos.engine", "eidos.lang", "eidos.drift", "eidos.snapshot"))}


def test_warm_recipe_imports_only_the_engine(warm_env):
    rc, modules = _warm(warm_env, "recipe", *QUERY)
    assert rc == 0
    assert not _top(modules) & set(NEVER), sorted(_top(modules) & set(NEVER))
    assert not {m for m in modules if m.startswith(("eidos.drift", "eidos.snapshot", "eidos.validate",
                                                   "eidos.bundle", "eidos.cli.completion", "eidos.engine.compiler",
                                                   "eidos.lang.parser", "eidos.lang.ast_decls"))}


def test_warm_bundle_imports_no_parser_and_no_ruamel(warm_env, tmp_path):
    rc, modules = _warm(warm_env, "bundle", *QUERY, "--out", str(tmp_path / "b"), "--force")
    assert rc == 0
    assert not _top(modules) & set(NEVER), sorted(_top(modules) & set(NEVER))


def test_warm_validate_does_not_import_lark(warm_env):
    # the snapshot reader (ruamel/PyYAML) is validate's own business; the deployed-version
    # conditions it parses must come from the cache on the second run
    rc, modules = _warm(warm_env, "validate", "--snapshot", str(SNAPSHOT))
    assert rc in (0, 1)
    assert not _top(modules) & {"lark", "kubernetes", "jsonschema"}, sorted(_top(modules))


def test_declarations_defined_on_first_use_are_still_ast_classes():
    # eidos.lang.ast defines its declaration nodes lazily (eidos.lang.ast_decls); they must keep
    # the module, pickling through the cache's restricted decoder, frozenness and equality
    import pickle

    import attrs

    from eidos.engine import cache
    from eidos.lang import ast
    from eidos.lang.diagnostics import Span

    span = Span("f.eidos", 1, 1, 1, 5)
    module = ast.Module("f.eidos", (ast.FactDecl(ast.Name("os", span), "enum", span=span),))
    assert type(module).__module__ == "eidos.lang.ast" and type(module).__qualname__ == "Module"
    assert attrs.has(ast.OverlayDecl) and ast.Decl.__args__[0] is ast.FactDecl
    assert cache.safe_loads(pickle.dumps(module)) == module
    assert hash(module) == hash(ast.Module("f.eidos", module.decls))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        module.file = "g"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ast.NoSuchNode  # noqa: B018
