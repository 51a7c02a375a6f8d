"""``eidos fabric parse LOG...``: read nccl-tests logs and print what they say.

Exit codes: 0 the logs were read (whatever the runs' status: a corrupt or crashed run is
reported, not an error of this command); 2 a log cannot be read.
"""

from __future__ import annotations

from eidos.cli.options import add_output_arguments

FORMATS = ("json", "table")
ACTIONS = ("parse",)


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "fabric",
        help="read nccl-tests results (fabric parse LOG...)",
        description="parse: read nccl-tests logs (all_reduce_perf and friends, any nccl-tests 2.x "
        "format, OpenMPI/Slurm prefixes, NCCL INFO noise, crashed or cut-off runs) and print each "
        "test's rows, peak and average bus bandwidth, #wrong and out-of-bounds counts and status "
        "(ok, corrupt, crashed, incomplete). See docs/fabric.md.",
    )
    p.add_argument("action", choices=ACTIONS, metavar="ACTION", help="parse")
    p.add_argument("logs", nargs="+", metavar="LOG", help="nccl-tests output ('-': stdin)")
    add_output_arguments(p, FORMATS, default="table", format_help="output format (default table)")
    p.set_defaults(run=run)


def run(args) -> int:
    from eidos.fabric.nccl import MAX_LOG_BYTES, parse_logs
    from eidos.fabric.report import as_json, as_table
    from eidos.io.inputs import read_input
    from eidos.io.output import emit

    sources = [read_input(path, "an nccl-tests log", MAX_LOG_BYTES, lenient=True)[::-1]
               for path in args.logs]
    logs = parse_logs(sources)
    emit(as_json(logs) if args.output == "json" else as_table(logs), args.out)
    return 0
