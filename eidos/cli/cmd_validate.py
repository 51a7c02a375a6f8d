"""``eidos validate``: judge snapshots against a recipe's requirements and the checks library.

Exit codes: 0 every verdict passes at the ``--fail-on`` level and nothing errored; 1 a
failure at or above ``--fail-on``, or an ``error`` verdict (a rule that could not be
evaluated) unless ``--allow-errors``; 2 bad invocation or unreadable input (snapshots,
recipe, rules). The report is written before the exit code is decided, so a failing run
still leaves its report.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from eidos.cli import console
from eidos.cli import facts as fact_flags
from eidos.cli.argtypes import kubeconfig_file, seconds
from eidos.cli.options import add_output_arguments
from eidos.errors import UsageError

FORMATS = ("table", "json", "yaml", "junit", "ctrf", "sarif", "html")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "validate",
        help="evaluate a recipe's requirements and the checks library against snapshots",
        description="Evaluate every requirement of the recipe (resolved from facts, or read with "
        "--recipe) and every applicable check against one or more snapshots. Verdicts: pass, fail, "
        "warn, skip, error; each with the values found, the reason and the remedy.",
        conflict_handler="resolve",  # --snapshot here takes several files or directories
    )
    fact_flags.add_fact_arguments(p, argv)
    p.add_argument("--snapshot", "-s", nargs="+", metavar="FILE|DIR|-",
                   help="snapshot file(s), directories of snapshots, - for stdin, or cm://NS/NAME; "
                   "facts not given as flags are inferred from each snapshot (required unless "
                   "--from-log is given)")
    fabric = p.add_argument_group("fabric (NCCL results; see docs/fabric.md)")
    fabric.add_argument("--fabric", action="store_true",
                        help="judge fabric results (the fabric checks, on NCCL test logs) instead of "
                        "node snapshots")
    fabric.add_argument("--from-log", action="append", default=[], metavar="LOG",
                        help="an nccl-tests log from a run done elsewhere (Slurm, a previous Job); "
                        "repeatable; implies --fabric")
    fabric.add_argument("--test", default="all_reduce", metavar="NAME",
                        help="the collective to run on the cluster, or the test a log is of when the "
                        "log does not say (default all_reduce)")
    fabric.add_argument("--kubeconfig", metavar="FILE", type=kubeconfig_file,
                        help="--fabric on a cluster: kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    fabric.add_argument("--context", metavar="NAME", help="--fabric on a cluster: kubeconfig context")
    fabric.add_argument("--gpus-per-node", type=int, metavar="N",
                        help="GPUs per node to test (default: the first GPU node's allocatable nvidia.com/gpu)")
    fabric.add_argument("--min-bytes", default="1K", metavar="SIZE", help="smallest message (default 1K)")
    fabric.add_argument("--max-bytes", default="16G", metavar="SIZE", help="largest message (default 16G)")
    fabric.add_argument("--timeout", type=seconds, default=1800.0, metavar="SECONDS",
                        help="how long the test may run (default 1800)")
    fabric.add_argument("--image", metavar="IMAGE", help="nccl-tests image instead of the profile's")
    fabric.add_argument("--node-selector", action="append", metavar="KEY=VALUE",
                        help="GPU nodes to run on (default nvidia.com/gpu.present=true; repeatable)")
    fabric.add_argument("--toleration", action="append", metavar="KEY[=VALUE][:EFFECT]",
                        help="tolerations of the test pods (default nvidia.com/gpu:NoSchedule; repeatable)")
    fabric.add_argument("--no-cleanup", dest="cleanup", action="store_false",
                        help="keep the run's namespace for inspection")
    from eidos.conformance.cli import add_arguments as add_conformance_arguments

    add_conformance_arguments(p)  # --conformance ai and its submission flags (docs/conformance.md)
    p.add_argument("--recipe", "-r", metavar="FILE",
                   help="a recipe document (eidos recipe -o yaml|json); its criteria are the facts")
    add_output_arguments(p, FORMATS, default="table", format_help="report format (default table)",
                         out_help="write the report to FILE (atomically) instead of stdout ('-': stdout)")
    p.add_argument("--fail-on", choices=("error", "warning", "info"), default="error",
                   help="lowest severity whose failure fails the run (default error)")
    p.add_argument("--allow-errors", action="store_true",
                   help="do not fail the run on 'error' verdicts (rules that could not be evaluated)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the table (auto: on a terminal, unless CI or NO_COLOR is set)")
    p.add_argument("--only", action="append", default=[], metavar="CHECK",
                   help="report only this check, check/requirement, recipe requirement or verdict id "
                   "(repeatable)")
    p.add_argument("--skip", action="append", default=[], metavar="CHECK",
                   help="leave this check, check/requirement, recipe requirement or verdict id out "
                   "(repeatable)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="table: list every skipped rule with its reason (default: one line per reason); "
                   "on a fleet, also each node's verdicts after the summary")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="fleets: worker processes (default: one per CPU; 1 validates in this process)")
    p.add_argument("--explain", action="store_true",
                   help="show how each verdict was reached: why the rule applied, each test of its "
                   "expression with the value found (table; json/yaml gain an explain field)")
    p.set_defaults(run=run)


def _progress(stream):
    """A one-line counter on a terminal for fleets; nothing in CI or when redirected."""
    if not console.interactive(stream):
        return None

    def show(i: int, total: int, source: str) -> None:
        if total < 2:
            return
        end = "\n" if i == total else ""
        stream.write(f"\rvalidating {i}/{total} {os.path.basename(source)[:60]:<60}{end}")
        stream.flush()

    return show


def run(args: argparse.Namespace) -> int:
    from eidos.io.output import emit
    from eidos.validate.fleet import Selection, expand_sources, validate
    from eidos.validate.reports import render

    if getattr(args, "conformance", None):
        from eidos.conformance.cli import run as run_conformance

        return run_conformance(args)
    if args.from_log:
        args.fabric = True
    if args.fabric:
        from eidos.fabric.profiles import check_test

        check_test(args.test)
    on_cluster = args.fabric and not args.from_log
    if on_cluster and args.snapshot:
        raise UsageError("--fabric runs the test on the cluster; --snapshot goes with --from-log",
                         hint="drop --snapshot, or judge an existing log with --from-log LOG")
    if not args.snapshot and not args.fabric:
        raise UsageError("give --snapshot FILE|DIR|- (or --fabric, with --from-log LOG or a cluster)")
    graph = fact_flags.load_graph_from_args(args)
    flag_facts, _ = fact_flags.facts_from_args(args, graph)
    recipe = None
    if args.recipe:
        if flag_facts:
            raise UsageError("--recipe gives the facts (its criteria); do not combine it with fact flags",
                             hint="drop " + ", ".join(f"--{k}" for k in sorted(flag_facts)))
        from eidos.validate.recipe_input import load_recipe

        recipe = load_recipe(args.recipe, graph)
    loader = None
    if on_cluster:
        from eidos.cli.fabric_cluster import run_on_cluster
        from eidos.fabric.load import fabric_loader_from_text
        from eidos.snapshot.agent import Interrupted

        try:
            label, log = run_on_cluster(args, flag_facts)
        except Interrupted as stop:  # the run's namespace is already deleted
            console.error(f"interrupted ({stop.signal_name})")
            return stop.exit_status
        sources, loader = fabric_loader_from_text([(label, log)], args.test)
    elif args.from_log:
        from eidos.fabric.load import fabric_loader

        sources, loader = fabric_loader(args.from_log, args.snapshot, args.test)
    else:
        from eidos.snapshot.cmsource import expand as expand_runs  # cm://NS/?run=ID: a run's set

        sources = expand_sources(expand_runs(args.snapshot))
    unreadable: list = []  # (source, error): every snapshot that could not be read, not just the first
    selection = None
    if args.only or args.skip or args.fabric:
        selection = Selection(tuple(args.only), tuple(args.skip), fabric=args.fabric)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: give 1 or more worker processes")
    if not args.fabric and _streamed(args.output, sources):
        return _run_fleet(args, graph, sources, flag_facts, recipe, selection)
    report = validate(graph, sources, flag_facts=flag_facts, recipe=recipe, fail_on=args.fail_on,
                      allow_errors=args.allow_errors, progress=_progress(sys.stderr),
                      selection=selection, explain=args.explain, loader=loader,
                      on_error=lambda source, err: unreadable.append((source, err)), jobs=args.jobs)
    color, width = _display(args)
    options = {}
    if args.output == "table":
        options = {"width": max(width, 60), "verbose": args.verbose, "explain": args.explain}
    emit(render(report, args.output, color=color and args.output == "table", **options), args.out)
    if unreadable:
        for _, why in report.unreadable:
            console.error(why)
        console.error(f"{len(unreadable)} of {len(sources)} snapshot(s) could not be used; "
                      f"the report covers the other {len(report.nodes)}")
        return max([report.exit_code] + [err.exit_code for _, err in unreadable])
    return report.exit_code


def _display(args) -> tuple[bool, int]:
    """(colour the table?, its width): colour on a terminal unless CI or NO_COLOR says no,
    or as --color says; the terminal's width, else 100."""
    to_terminal = args.out in (None, "-") and console.interactive(sys.stdout)
    if args.color == "always":
        color = True
    elif args.color == "never" or os.environ.get("NO_COLOR"):
        color = False
    else:
        color = to_terminal
    width = shutil.get_terminal_size((100, 24)).columns if to_terminal else 100
    return color, width


def _streamed(fmt: str, sources: list[str]) -> bool:
    """Every format streams (every core, flat memory), but table on one snapshot: that is
    the per-node report, not the fleet summary."""
    if fmt == "table" and len(sources) <= 1:
        return False  # decided without importing the streaming writer
    from eidos.validate.reports.stream import STREAMED

    return fmt in STREAMED and (fmt != "table" or len(sources) > 1)


def _run_fleet(args, graph, sources, flag_facts, recipe, selection) -> int:
    from eidos.validate.reports.stream import write_fleet

    unreadable: list = []
    color, width = _display(args)
    summary = write_fleet(graph, sources, args.output, args.out, flag_facts=flag_facts, recipe=recipe,
                          fail_on=args.fail_on, allow_errors=args.allow_errors, selection=selection,
                          explain=args.explain, progress=_progress(sys.stderr),
                          on_error=lambda source, err: unreadable.append((source, err)), jobs=args.jobs,
                          color=color and args.output == "table", width=max(width, 60), verbose=args.verbose)
    if unreadable:
        for _, why in summary.unreadable:
            console.error(why)
        console.error(f"{len(unreadable)} of {len(sources)} snapshot(s) could not be used; "
                      f"the report covers the other {summary.nodes}")
        return max([summary.exit_code] + [err.exit_code for _, err in unreadable])
    return summary.exit_code
