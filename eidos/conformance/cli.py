"""``eidos validate --conformance ai``: the flag group and the run, called from
eidos/cli/cmd_validate.py (which stays a thin dispatcher).

Exit codes as ``validate``: 0 every MUST established (and no SHOULD failing at
``--fail-on``), 1 a requirement failed or could not be established, 2 bad invocation or
unreadable input (an unknown ``--k8s-version``, a bad ``--metadata`` file), 3 the cluster
could not be reached. The report and the submission are written before the exit code is
decided, so a failing run still leaves both.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys

from eidos.cli import console
from eidos.errors import EidosError, UsageError


def _run_id(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{1,16}", text or ""):
        raise argparse.ArgumentTypeError("expected 1-16 lower-case letters or digits")
    return text


def _pod_timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected seconds") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("expected seconds between 0 and 86400")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("CNCF AI conformance (see docs/conformance.md)")
    g.add_argument("--conformance", choices=("ai",),
                   help="test the cluster (--kubeconfig/--context) against the CNCF Kubernetes AI "
                   "Conformance requirements of its version instead of judging snapshots")
    g.add_argument("--k8s-version", metavar="MAJOR.MINOR",
                   help="--conformance: the requirement set to test (default: the cluster's version)")
    g.add_argument("--evidence-dir", metavar="DIR",
                   help="--conformance: write DIR/PRODUCT.yaml and DIR/evidence/<requirement>.md")
    g.add_argument("--evidence-time", metavar="TIME",
                   help="--conformance: the test time written in the evidence (RFC 3339; default "
                   "$SOURCE_DATE_EPOCH, else now)")
    g.add_argument("--metadata", metavar="FILE",
                   help="--conformance: PRODUCT.yaml metadata fields (YAML); the flags below override it")
    g.add_argument("--vendor", metavar="NAME", help="metadata vendorName (exactly as in the CNCF landscape)")
    g.add_argument("--platform-name", metavar="NAME", help="metadata platformName")
    g.add_argument("--platform-version", metavar="VERSION", help="metadata platformVersion")
    g.add_argument("--website-url", metavar="URL", help="metadata websiteUrl")
    g.add_argument("--repo-url", metavar="URL", help="metadata repoUrl (optional)")
    g.add_argument("--documentation-url", metavar="URL", help="metadata documentationUrl")
    g.add_argument("--product-logo-url", metavar="URL", help="metadata productLogoUrl")
    g.add_argument("--product-description", metavar="TEXT", help="metadata description (one sentence)")
    g.add_argument("--contact-email", metavar="ADDRESS", help="metadata contactEmailAddress")
    g.add_argument("--k8s-conformance-url", metavar="URL",
                   help="metadata k8sConformanceUrl (https://github.com/cncf/k8s-conformance/tree/master/vX.Y/NAME)")
    g.add_argument("--no-workloads", dest="workloads", action="store_false",
                   help="--conformance: create no test objects; requirements that need them are not established")
    g.add_argument("--probe-image", metavar="IMAGE",
                   help="--conformance: image of the test pods (default busybox:1.37)")
    g.add_argument("--pod-timeout", type=_pod_timeout, default=300.0, metavar="SECONDS",
                   help="--conformance: how long each wait of a behavioural test may take (default 300)")
    g.add_argument("--run-id", type=_run_id, metavar="ID",
                   help="--conformance: the run's id (namespaces eidos-conformance-ID[-TEST]; default random)")


def run(args: argparse.Namespace) -> int:
    from eidos.conformance import requirements as reqs
    from eidos.conformance.cncf import check_product
    from eidos.conformance.product import evidence_time, load_metadata, write_submission
    from eidos.conformance.run import RunOptions, run_conformance
    from eidos.io.output import emit
    from eidos.snapshot import agent
    from eidos.snapshot.cluster import Cluster
    from eidos.validate.reports import render

    if args.snapshot or args.fabric or args.from_log or args.recipe:
        raise UsageError("--conformance tests the cluster itself; it does not combine with "
                         "--snapshot, --fabric, --from-log or --recipe")
    if args.only or args.skip:  # a submission covers every requirement of the version
        raise UsageError("--conformance judges every requirement of the version; --only/--skip do not apply")
    when = evidence_time(args.evidence_time)
    metadata = load_metadata(args.metadata, vars(args)) if args.evidence_dir else {}
    flag_version = reqs.normalize_version(args.k8s_version) if args.k8s_version else None
    if flag_version:
        reqs.load(flag_version)  # an unknown version is a usage error before touching the cluster
    cluster = Cluster.connect(args.kubeconfig, args.context, timeout=30)
    try:
        if flag_version:
            version, source = flag_version, "flag"
        else:
            version, source = reqs.version_from_server(cluster.server_version()), "cluster"
            reqs.load(version)
        opts = RunOptions(version=version, version_source=source, workloads=args.workloads,
                          image=args.probe_image, timeout=args.pod_timeout, cleanup=args.cleanup,
                          **({"run_id": args.run_id} if args.run_id else {}))
        line = agent.Progress()  # one self-overwriting line on a terminal, nothing in CI

        def progress(message: str) -> None:
            line.update(f"conformance {version}: {message[:90]}")

        try:
            with agent.signals_interrupt():
                result = run_conformance(cluster, opts, warn=console.warning, progress=progress,
                                         fail_on=args.fail_on, allow_errors=args.allow_errors)
        except agent.Interrupted as stop:  # the run's namespace is already deleted
            console.error(f"interrupted ({stop.signal_name})")
            return stop.exit_status
        finally:
            line.done()
    finally:
        cluster.close()
    if flag_version and result.server_version:
        try:
            served = reqs.version_from_server({"gitVersion": result.server_version})
        except EidosError:
            served = None
        if served and served != flag_version:
            console.warning(f"testing the Kubernetes {flag_version} requirements on a {result.server_version} cluster")
    to_terminal = args.out in (None, "-")
    color = args.color == "always" or (args.color == "auto" and not os.environ.get("NO_COLOR")
                                       and to_terminal and console.interactive(sys.stdout))
    options = {}
    if args.output == "table":
        width = shutil.get_terminal_size((100, 24)).columns if to_terminal and console.interactive(sys.stdout) else 100
        options = {"width": max(width, 60), "verbose": args.verbose, "explain": args.explain}
    emit(render(result.report, args.output, color=color and args.output == "table", **options), args.out)
    if args.evidence_dir:
        written = write_submission(args.evidence_dir, result, metadata, when)
        product = written[-1]
        console.notice(f"wrote {product} and {len(written) - 1} evidence file(s)")
        problems = check_product(product, result.requirement_set.path)
        if problems:
            console.warning(f"{product} does not pass CNCF's submission checks yet",
                            details=problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else []))
    return result.report.exit_code
