"""Writing an imported rule base: all files or none, and never over someone else's work.

The tree is written to a staging directory beside the target, compiled there with eidos'
own compiler (an import that does not compile is an error, not an output), and renamed
into place; a previous import is swapped out and removed only after the new one is in.
A non-empty target is refused unless ``force`` is given and it holds an earlier import
(its ``import-report.json`` says so).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eidos.errors import RulesError

REPORT = "import-report.json"


def _is_import(directory: Path) -> bool:
    try:
        data = json.loads((directory / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == "ImportReport" and str(
        data.get("generator", "")).startswith("eidos import")


def check_target(target: Path, force: bool) -> None:
    from eidos.io.output import check_output_dir

    check_output_dir(target, force, is_ours=_is_import, kind="an eidos import", marker=REPORT,
                     earlier="an earlier import")


def _compile(staging: Path, target: Path) -> None:
    """Compile the staged rules over the embedded base; diagnostics name the target's paths."""
    from eidos.engine import sources
    from eidos.engine.compiler import compile_ruleset

    ruleset = sources.collect([str(staging)])
    graph, reporter = compile_ruleset(ruleset)
    if graph is None:
        # the paths name the staging copy (removed on the way out); the import is a bug or
        # data eidos cannot hold, and the diagnostics say which file and statement
        raise RulesError(reporter.sorted())


def write_tree(files: dict[str, bytes], target: Path, *, force: bool, compile_check: bool = True) -> None:
    from eidos.io.output import replace_directory

    target = Path(os.path.abspath(target))
    check_target(target, force)

    def fill(staging: Path) -> None:
        for rel, content in sorted(files.items()):
            dest = staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(dest, 0o644)
        if compile_check:
            _compile(staging, target)

    replace_directory(target, fill, recheck=lambda t: check_target(t, force), label="import")
