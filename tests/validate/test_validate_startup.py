"""What a warm ``eidos validate`` of one snapshot imports (issue 17).

A fresh interpreter runs the CLI in-process with a warm compiled-rule cache and reports
``sys.modules``. Aimed at the plausible regressions of the validate path: the snapshot
reader going back to ruamel (its resolver patterns) or cattrs (the model's converter), one
snapshot forking a pool (multiprocessing), a verdict class defined with attrs (attrs import and
code generation were half of a warm validate: records, eidos.lang.record), a pinned component's version check parsing its
condition (eidos.lang.parser, Lark), one table importing the fleet's streaming writer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SNAPSHOT = ROOT / "tests" / "fixtures" / "snapshots" / "cns-eks-gb200.yaml"

PROBE = """
import contextlib, io, json, sys
from eidos.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""


def _modules(env, *argv) -> tuple[int, set[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=300)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["rc"], set(result["modules"])


def test_warm_validate_of_one_snapshot_imports_only_what_it_runs(tmp_path):
    env = dict(os.environ, EIDOS_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("EIDOS_NO_CACHE", None)
    argv = ("validate", "--snapshot", str(SNAPSHOT))
    _modules(env, *argv)  # the first run compiles the rules
    rc, modules = _modules(env, *argv)
    assert rc == 1  # the fixture's GB200 node runs Ubuntu 22.04: one failure
    top = {m.split(".")[0] for m in modules}
    assert not top & {"ruamel", "yaml", "attr", "attrs", "cattrs", "multiprocessing", "lark", "kubernetes", "jsonschema"}, \
        sorted(top)
    assert not {m for m in modules if m in ("eidos.lang.parser", "eidos.validate.recipe_input",
                                            "eidos.validate.reports.stream", "eidos.io.yamlio")}
    assert "eidos.snapshot.blockyaml" in modules  # it did read the snapshot, on the fast path
