"""Shared test helpers: isolated compile cache, rule-directory compilation, CLI runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Never read or write the developer's real compile cache."""
    path = tmp_path_factory.mktemp("eidos-cache")
    old = os.environ.get("EIDOS_CACHE_DIR")
    os.environ["EIDOS_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("EIDOS_CACHE_DIR", None)
    else:
        os.environ["EIDOS_CACHE_DIR"] = old


def write_rules(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return directory


def compile_dir(directory: Path, *, embedded: bool = False):
    """Compile a rule directory; returns (graph or None, sorted diagnostics)."""
    from eidos.engine import sources
    from eidos.engine.compiler import compile_ruleset

    ruleset = sources.collect([str(directory)], embedded=embedded)
    graph, reporter = compile_ruleset(ruleset)
    return graph, reporter.sorted()


FACTS = """
fact service: enum { eks, gke, aks } alias { amazon = eks }
fact accelerator: enum { h100, gb200, a100 }
fact os: enum { ubuntu, rhel, cos }
fact intent: enum { training, inference }
fact nodes: int
"""


@pytest.fixture
def rules(tmp_path):
    """Compile ``{file: text}`` standalone (with a small fact schema unless given)."""

    def build(files: dict[str, str], *, with_facts: bool = True, embedded: bool = False):
        files = dict(files)
        if with_facts and not embedded:
            files.setdefault("facts.eidos", FACTS)
        d = write_rules(tmp_path / "rules", files)
        return compile_dir(d, embedded=embedded)

    return build


def codes(diagnostics) -> list[str]:
    return [d.code for d in diagnostics]


def run_eidos(*args: str, cwd: Path | None = None, env: dict | None = None, stdin: str | None = None):
    full_env = dict(os.environ)
    full_env.pop("EIDOS_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "eidos", *args],
        cwd=cwd or ROOT,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
