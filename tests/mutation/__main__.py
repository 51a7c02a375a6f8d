"""Command line: ``python -m tests.mutation eidos/lang/versions.py eidos/engine/matcher.py ...``.

Exit codes: 0 the run finished (and every module met ``--fail-under``), 1 a module scored
below ``--fail-under``, 2 bad invocation (unknown path, unmapped module, tests failing
without any mutation), 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.mutation import testmap
from tests.mutation.operators import mutants
from tests.mutation.runner import MutationError, expand, report_json, report_text, run, select

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help="module files or package directories to mutate")
    ap.add_argument("--sample", type=int, help="mutate at most N mutants per module (deterministic for a seed)")
    ap.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="mutants tested in parallel (default 1)")
    ap.add_argument("--timeout", type=float, help="seconds per mutant's test run (default: 4x baseline + 10, at least 20)")
    ap.add_argument("--tests", nargs="+", help="run these tests instead of the module's entry in tests/mutation/testmap.py")
    ap.add_argument("--root", type=Path, default=ROOT, help="project root to copy (default: this checkout)")
    ap.add_argument("--json", type=Path, help="also write a JSON report here")
    ap.add_argument("--only", metavar="TEXT",
                    help="only mutants whose 'path:line: description' contains TEXT (re-run one survivor)")
    ap.add_argument("--list", action="store_true", help="list the selected mutants and exit")
    ap.add_argument("--fail-under", type=float, help="exit 1 if any module scores below this percentage")
    ap.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    equivalents = testmap.EQUIVALENT if root == ROOT else []
    try:
        if args.list:
            for path in expand(root, args.paths):
                total, equivalent, chosen = select(root, path, args.sample, args.seed, equivalents, args.only)
                print(f"# {path}: {len(chosen)} of {total} mutants ({equivalent} marked equivalent)")
                for m in chosen:
                    print(f"{m.path}:{m.line}:{m.col}: {m.description} [{m.operator}]")
            return 0

        def progress(path, done, total, outcome):
            if not args.quiet:
                m = outcome.mutant
                print(f"[{done}/{total}] {outcome.status:<8} {path}:{m.line}: {m.description}",
                      file=sys.stderr, flush=True)

        results = run(root, args.paths, sample=args.sample, seed=args.seed, jobs=args.jobs,
                      timeout=args.timeout, tests_override=args.tests, test_map=testmap.tests_for,
                      equivalents=equivalents, only=args.only, progress=progress)
    except MutationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: test runs stopped, temporary copies removed; the work tree was never changed",
              file=sys.stderr)
        return 130
    print(report_text(results))
    if args.json:
        args.json.write_text(report_json(results, sample=args.sample, seed=args.seed), encoding="utf-8")
    if args.fail_under is not None and any(r.score < args.fail_under for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
