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
    """(is a fleet, node -> (source, values))."""
    from eidos.drift.diff import values_of
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
        out[name] = (item, values_of(snapshot))
    return fleet, out


def run(args) -> int:
    from eidos.drift.diff import DiffReport, diff_fleets, diff_values
    from eidos.drift.report import render
    from eidos.io.output import emit

    if args.before == "-" and args.after == "-":
        raise UsageError("only one of A and B can be - (stdin)")
    globs = _globs(args)
    a_fleet, a = _load_set(args.before)
    b_fleet, b = _load_set(args.after)
    if not a_fleet and not b_fleet:
        ((a_node, (a_src, a_vals)),), ((b_node, (b_src, b_vals)),) = a.items(), b.items()
        changes, ignored = diff_values(a_vals, b_vals, globs)
        from eidos.drift.diff import NodeDiff

        label = a_node if a_node == b_node else f"{a_node} -> {b_node}"
        report = DiffReport((NodeDiff(label, a_src, b_src, changes),), (), ignored)
    elif not a_fleet:  # one baseline against every node of B
        (baseline,) = a.values()
        report = diff_fleets({node: baseline for node in b}, b, globs)
    elif not b_fleet:
        raise UsageError("A is a directory and B one snapshot: put the baseline first",
                         hint="eidos diff BASELINE.yaml FLEET_DIR")
    else:
        report = diff_fleets(a, b, globs)
    emit(render(report, args.output), args.out)
    return 1 if args.fail_on_drift and report.drift else 0
