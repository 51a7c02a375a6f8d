"""``eidos bundle``: turn a recipe into deployable artifacts (helm, argocd, flux, script).

The recipe comes from ``--recipe FILE`` (``eidos recipe -o json`` output, YAML or JSON) or
from fact flags resolved against the rule base. Nothing heavy is imported at start-up: the
bundle package and the rule engine load only when this command runs.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from eidos.cli import console, facts
from eidos.cli.options import add_output_arguments, finish_output
from eidos.errors import InputError, UsageError

DEPLOYER_CHOICES = ("helm", "argocd", "flux", "script")


def register(subparsers, argv) -> None:
    p = subparsers.add_parser(
        "bundle",
        help="turn a recipe into deployable artifacts (helm, argocd, flux, script)",
        description="Render a recipe as a Helm umbrella chart with deploy scripts (helm), an Argo CD "
        "app-of-apps (argocd), Flux HelmReleases (flux) or plain shell scripts (script). "
        "The output directory is written atomically and carries recipe.yaml, bundle.json and "
        "checksums.txt. See docs/bundles.md.",
    )
    src = p.add_argument_group("recipe")
    src.add_argument(
        "--recipe",
        metavar="FILE",
        help="recipe document from 'eidos recipe' (YAML or JSON; '-' for stdin)",
    )
    facts.add_fact_arguments(p, argv)
    out = p.add_argument_group("output")
    out.add_argument(
        "-d",
        "--deployer",
        choices=DEPLOYER_CHOICES,
        default=None,
        help="bundle flavour (default: helm); -o/--output is the same flag",
    )
    add_output_arguments(
        out,
        DEPLOYER_CHOICES,
        default=None,
        format_help="bundle flavour, as -d (the output format, as for every eidos command)",
        out_metavar="DIR",
        out_help="directory to write the bundle to (required)",
        legacy_destination=True,
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 (and write nothing) when, resolving fact flags, no applied overlay is "
        "specific to a given fact value (see docs/matrix.md)",
    )
    out.add_argument(
        "--force",
        action="store_true",
        help="replace DIR if it holds a previous eidos bundle (no stale files are kept)",
    )
    vals = p.add_argument_group("values")
    vals.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="COMPONENT:PATH[:TYPE]=VALUE",
        help="override a value (repeatable); COMPONENT is a name or alias, TYPE one of "
        "str,int,float,bool,null,json; e.g. gpu-operator:driver.version=580.82.07",
    )
    sched = p.add_argument_group(
        "node scheduling (opt-in; merged into each component's registered paths)"
    )
    sched.add_argument("--system-node-selector", action="append", default=[], metavar="KEY=VALUE")
    sched.add_argument(
        "--accelerated-node-selector", action="append", default=[], metavar="KEY=VALUE"
    )
    sched.add_argument(
        "--system-toleration", action="append", default=[], metavar="KEY[=VALUE][:EFFECT]"
    )
    sched.add_argument(
        "--accelerated-toleration", action="append", default=[], metavar="KEY[=VALUE][:EFFECT]"
    )
    sched.add_argument(
        "--toleration",
        action="append",
        default=[],
        metavar="KEY[=VALUE][:EFFECT]",
        help="a toleration for both system and accelerated components",
    )
    git = p.add_argument_group("GitOps (argocd, flux: where the bundle will be committed)")
    git.add_argument(
        "--repo", default="", metavar="URL", help="Git repository URL the bundle is pushed to"
    )
    git.add_argument(
        "--revision",
        default="",
        metavar="REF",
        help="branch, tag (refs/tags/X for flux) or commit the cluster should follow",
    )
    git.add_argument(
        "--repo-path",
        default="",
        metavar="DIR",
        help="directory inside the repository holding the bundle (default: its root)",
    )
    argo = p.add_argument_group("Argo CD (-d argocd only; refused with other deployers)")
    argo.add_argument(
        "--argocd-namespace",
        default=None,
        metavar="NS",
        help="namespace of the Application objects, where Argo CD runs (default: argocd)",
    )
    argo.add_argument(
        "--project",
        default=None,
        metavar="NAME",
        help="AppProject of every Application (default: default)",
    )
    dest = argo.add_mutually_exclusive_group()
    dest.add_argument(
        "--destination-server",
        default=None,
        metavar="URL",
        help="API server URL the components deploy to (default: https://kubernetes.default.svc)",
    )
    dest.add_argument(
        "--destination-name",
        default=None,
        metavar="NAME",
        help="name of the Argo CD cluster the components deploy to (instead of a server URL)",
    )
    argo.add_argument(
        "--name-prefix",
        default=None,
        metavar="PREFIX",
        help="prepended verbatim to every Application name, e.g. prod-a- (keeps two clusters' "
        "Applications apart in one Argo CD)",
    )
    p.set_defaults(run=run)


_ARGOCD_FLAGS = {
    "argocd_namespace": "--argocd-namespace",
    "project": "--project",
    "destination_server": "--destination-server",
    "destination_name": "--destination-name",
    "name_prefix": "--name-prefix",
}


def _facts_given(args) -> bool:
    if getattr(args, "fact", None) or getattr(args, "snapshot", None):
        return True
    return any(k.startswith("fact_") and v is not None for k, v in vars(args).items())


def _load_recipe_file(path: str) -> dict:
    from eidos.io import yamlio
    from eidos.io.inputs import read_input

    text, name = read_input(path, "a recipe document")
    document = yamlio.load(text, name)
    if not isinstance(document, dict):
        raise InputError(f"{name}: expected a recipe document (a mapping)")
    return document


def _recipe_and_reader(args):
    """(document, payload reader, name for messages) from --recipe or fact flags."""
    if args.recipe:
        if _facts_given(args):
            raise UsageError("give either --recipe or fact flags, not both")
        if args.strict:
            raise UsageError("--strict checks a recipe resolved from facts, not --recipe FILE",
                             hint="check it where it is made: eidos recipe --strict … --out FILE")
        document = _load_recipe_file(args.recipe)
        needs_payloads = any(
            isinstance(c, dict) and c.get("manifests") for c in document.get("components") or []
        )
        reader = facts.load_graph_from_args(args).read_payload if needs_payloads else None
        return document, reader, args.recipe if args.recipe != "-" else "<stdin>"
    if not _facts_given(args):
        raise UsageError(
            "give --recipe FILE, --snapshot FILE or fact flags (e.g. --service eks --accelerator gb200)"
        )
    from eidos import engine

    from eidos.cli.fallback import check_specific

    graph, recipe = facts.resolve_from_args(args)
    check_specific(graph, recipe, strict=args.strict)
    return engine.recipe_document(recipe), graph.read_payload, "recipe"


def _finish_flags(args) -> None:
    """Settle -d/-o (one flavour) and --out (the directory; deprecated: -o DIR)."""
    finish_output(args, DEPLOYER_CHOICES)
    if args.deployer and args.output and args.deployer != args.output:
        raise UsageError(f"-d {args.deployer} contradicts -o {args.output}",
                         hint="give the flavour once (-d and -o are the same flag)")
    args.deployer = args.deployer or args.output or "helm"
    if args.out is None:
        raise UsageError("give the directory to write the bundle to: --out DIR")
    if args.out == "-":
        raise UsageError("--out -: a bundle is a directory of files and cannot go to stdout",
                         hint="give a directory, e.g. --out ./bundle")


def _argocd_settings(args):
    """ArgoCDSettings from the -d argocd flags; refused (exit 2) with any other deployer."""
    from eidos.bundle.argosettings import ArgoCDSettings

    given = {dest: getattr(args, dest) for dest in _ARGOCD_FLAGS if getattr(args, dest) is not None}
    if args.deployer != "argocd":
        if given:
            flags = ", ".join(_ARGOCD_FLAGS[dest] for dest in given)
            raise UsageError(f"{flags}: only for -d argocd, not -d {args.deployer}")
        return ArgoCDSettings()
    for dest in ("destination_server", "destination_name"):
        if given.get(dest) == "":
            raise UsageError(f"{_ARGOCD_FLAGS[dest]}: empty value")
    if "argocd_namespace" in given:
        given["namespace"] = given.pop("argocd_namespace")
    return ArgoCDSettings(**given)


def run(args) -> int:
    from eidos.bundle import BundleOptions, build_request, check_target, make_bundle, write_bundle

    _finish_flags(args)
    target = Path(args.out)
    check_target(target, args.force)  # fail before any work
    scheduling = build_request(
        args.system_node_selector,
        args.accelerated_node_selector,
        args.system_toleration + args.toleration,
        args.accelerated_toleration + args.toleration,
    )
    options = BundleOptions(
        deployer=args.deployer,
        sets=tuple(args.set),
        scheduling=scheduling,
        repo=args.repo,
        revision=args.revision,
        repo_path=args.repo_path,
        argocd=_argocd_settings(args),
    )
    if args.deployer not in ("argocd", "flux") and (args.repo or args.revision or args.repo_path):
        raise UsageError(
            f"--repo/--revision/--repo-path apply to -d argocd and -d flux, not -d {args.deployer}"
        )
    from eidos.bundle.build import gitops_location

    gitops_location(options)  # refuse a missing --repo before resolving anything
    document, reader, name = _recipe_and_reader(args)
    bundle = make_bundle(document, reader, options, source=name)
    for warning in bundle.warnings:
        console.warning(warning)
    write_bundle(bundle.files, target, force=args.force)
    components = len(document.get("components") or [])
    print(
        f"wrote {args.deployer} bundle to {target} ({len(bundle.files)} files, {components} components)"
    )
    print(f"verify with: (cd {shlex.quote(str(target))} && sha256sum -c checksums.txt)")
    return 0
