"""``eidos diff A B``: what changed between two snapshots, or two fleets of them.

A and B are snapshot files, ``-`` (one of them), ``cm://NS/NAME``, or directories of per-node
snapshots. Two snapshots are compared with each other whatever their node names; two
directories pair nodes by name; one snapshot against a directory is the baseline every
node of the directory is compared with.

Exit codes: 0 done (with ``--fail-on-drift``: and nothing drifted); 1 drift with
``--fail-on-drift``; 2 bad invocation or unreadable input.
"""

from __future__ import annotations

from pathlib import Path

from eidos.cli.options import add_output_arguments
from eidos.errors import InputError, UsageError

FORMATS = ("table", "json", "yaml", "junit", "sarif")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "diff",
        help="semantic differences between two snapshots (or fleets of them): drift",
        description="Compare two snapshots path by path: added, removed and changed values, "
        "upgrades and downgrades of versions; counters, random ids and times are ignored as noise "
        "(eidos/drift/noise.yaml; extend with --ignore). Directories of per-node snapshots are "
        "paired by node name, and nodes that differ from the majority are listed. See docs/drift.md.",
    )
    p.add_argument("before", metavar="A", help="snapshot file, directory of snapshots, - or cm://NS/NAME")
    p.add_argument("after", metavar="B", help="snapshot file, directory of snapshots, - or cm://NS/NAME")
    p.add_argument("--ignore", action="append", default=[], metavar="GLOB",
                   help="also ignore paths matching GLOB (segments joined by dots, e.g. "
                   "'OS.sysctl./proc/sys/vm/*'); repeatable")
    p.add_argument("--ignore-file", action="append", default=[], metavar="FILE",
                   help="a YAML list of globs (or of {glob, why} entries) to ignore; repeatable")
    p.add_argument("--no-default-ignore", action="store_true",
                   help="report every difference, the shipped noise rules included")
    p.add_argument("--fail-on-drift", action="store_true", help="exit 1 when anything drifted")
    v = p.add_argument_group("verdicts (drift from the recipe)")
    v.add_argument("--verdicts", action="store_true",
                   help="also validate both sides and report the requirements and checks whose verdict "
                   "changed (deployed component versions against the recipe included)")
    v.add_argument("--recipe", metavar="FILE", help="with --verdicts: the recipe document to judge against")
    v.add_argument("--fact", action="append", default=[], metavar="NAME=VALUE",
                   help="with --verdicts: a fact (others are inferred from each snapshot); repeatable")
    v.add_argument("--rules", action="append", default=[], metavar="DIR",
                   help="with --verdicts: a rule base layered over the embedded one (repeatable)")
    add_output_arguments(p, FORMATS, default="table", format_help="report format (default table)",
                         out_help="write the report to FILE (atomically) instead of stdout ('-': stdout)")
    p.set_defaults(run=run)


def _globs(args) -> tuple[str, ...]:
    from eidos.drift.diff import default_noise
    from eidos.io import yamlio
    from eidos.io.inputs import read_input

    globs = [] if args.no_default_ignore else list(default_noise())
    globs += args.ignore
    for path in args.ignore_file:
        text, name = read_input(path, "a YAML list of globs")
        doc = yamlio.load(text, name)
        entries = doc.get("ignore") if isinstance(doc, dict) else doc
        if not isinstance(entries, list):
            raise InputError(f"{name}: expected a list of globs (or a mapping with an 'ignore' list)")
        for i, entry in enumerate(entries):
            glob = entry.get("glob") if isinstance(entry, dict) else entry
            if not isinstance(glob, str) or not glob:
                raise InputError(f"{name}: entry {i + 1}: expected a glob string or {{glob: ...}}")
            globs.append(glob)
    return tuple(globs)


def _load_set(source: str) -> tuple[bool, dict]:
    """(is a fleet, node -> (source, snapshot))."""
    from eidos.snapshot.io import load_snapshot
    from eidos.validate.fleet import expand_sources, node_name

    fleet = source not in ("-",) and not source.startswith("cm://") and Path(source).is_dir()
    out: dict = {}
    for item in expand_sources([source]):
        snapshot = load_snapshot(item)
        name = node_name(snapshot, item)
        if name in out:
            raise InputError(f"{source}: two snapshots of node {name!r} ({out[name][0]} and {item})",
                             hint="keep one snapshot per node in a directory")
        out[name] = (item, snapshot)
    return fleet, out


def _verdict_judge(args):
    """node snapshot -> {verdict id: Verdict}, or None without --verdicts."""
    if not args.verdicts:
        if args.recipe or args.fact or args.rules:
            raise UsageError("--recipe, --fact and --rules go with --verdicts")
        return None
    from eidos.cli import facts as fact_flags
    from eidos.validate.fleet import Validator

    graph = fact_flags.load_graph_from_args(args)
    flag_facts, _ = fact_flags.facts_from_args(args, graph)
    recipe = None
    if args.recipe:
        if flag_facts:
            raise UsageError("--recipe gives the facts (its criteria); do not combine it with --fact")
        from eidos.validate.recipe_input import load_recipe

        recipe = load_recipe(args.recipe, graph)
    validator = Validator(graph, flag_facts=flag_facts, recipe=recipe)

    def judge(source: str, snapshot) -> dict:
        return {v.id: v for v in validator.node(snapshot, source).verdicts}

    return judge


def run(args) -> int:
    import attrs

    from eidos.drift.diff import diff_fleets, values_of, verdict_changes
    from eidos.drift.report import render
    from eidos.io.output import emit

    if args.before == "-" and args.after == "-":
        raise UsageError("only one of A and B can be - (stdin)")
    globs = _globs(args)
    judge = _verdict_judge(args)
    a_fleet, a = _load_set(args.before)
    b_fleet, b = _load_set(args.after)
    if a_fleet and not b_fleet:
        raise UsageError("A is a directory and B one snapshot: put the baseline first",
                         hint="eidos diff BASELINE.yaml FLEET_DIR")
    if not a_fleet and not b_fleet:
        ((a_node, a_snap),), ((b_node, b_snap),) = a.items(), b.items()
        label = a_node if a_node == b_node else f"{a_node} -> {b_node}"
        a, b = {label: a_snap}, {label: b_snap}
    elif not a_fleet:  # one baseline against every node of B
        (baseline,) = a.values()
        a = {node: baseline for node in b}
    values = lambda fleet: {n: (src, values_of(snap)) for n, (src, snap) in fleet.items()}  # noqa: E731
    report = diff_fleets(values(a), values(b), globs)
    if judge is not None:
        nodes = []
        for node in report.nodes:
            if node.node in a and node.node in b:
                before, after = judge(*a[node.node]), judge(*b[node.node])
                node = attrs.evolve(node, verdicts=verdict_changes(before, after))
            nodes.append(node)
        report = attrs.evolve(report, nodes=tuple(nodes))
    emit(render(report, args.output), args.out)
    return 1 if args.fail_on_drift and report.drift else 0
