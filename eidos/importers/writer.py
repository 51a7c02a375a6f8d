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
import secrets
import shutil
import tempfile
from pathlib import Path

from eidos.errors import EnvironmentFailure, RulesError
from eidos.io.output import guarded

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
    target = Path(os.path.abspath(target))
    check_target(target, force)
    parent = target.parent
    backup: Path | None = None
    try:
        with guarded() as guard:
            with guard.critical():
                staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
                guard.remove_on_failure(staging, tree=True)
            os.chmod(staging, 0o755)
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
            with guard.critical():
                check_target(target, force)
                if os.path.lexists(target):
                    backup = parent / f".{target.name}.{secrets.token_hex(6)}.old"
                    os.rename(target, backup)
                try:
                    os.rename(staging, target)
                except OSError:
                    if backup is not None:
                        os.rename(backup, target)
                        backup = None
                    raise
                guard.forget(staging)
                if backup is not None:
                    guard.remove_on_failure(backup, tree=True)
            if backup is not None:
                shutil.rmtree(backup, ignore_errors=True)
                guard.forget(backup)
    except OSError as err:
        raise EnvironmentFailure(f"cannot write {target}: {err.strerror or err}") from None
