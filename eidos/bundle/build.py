"""From recipe document to finished in-memory bundle: the one pipeline every deployer shares.

recipe document -> validated ``Recipe`` -> ``--set`` overrides -> opt-in scheduling ->
manifest payloads -> deployer files -> recipe.yaml, bundle.json, checksums.txt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from eidos.lang import record

from eidos.bundle import argocd, flux, helm, script, yamlout
from eidos.bundle.argosettings import ArgoCDSettings
from eidos.bundle.context import Context, GitOps
from eidos.bundle.files import FileSet
from eidos.bundle.model import parse_recipe
from eidos.bundle.scheduling import SchedulingRequest, inject, unused_roles
from eidos.bundle.summary import CHECKSUMS, RECIPE, SUMMARY, checksums, summary
from eidos.bundle.values import SetOverride, apply_overrides, parse_set, resolve_component
from eidos.errors import EidosError, InputError, UsageError

DEPLOYERS: dict[str, Callable[[Context], FileSet]] = {
    "helm": helm.render,
    "argocd": argocd.render,
    "flux": flux.render,
    "script": script.render,
}
GITOPS_DEPLOYERS = ("argocd", "flux")
_REPO_URL = re.compile(r"^(https?://|ssh://|git@)[^\s]+$")

PayloadReader = Callable[[str], str]


@record.frozen
class BundleOptions:
    deployer: str
    sets: tuple[str, ...] = ()
    scheduling: SchedulingRequest = record.field(factory=SchedulingRequest)
    repo: str = ""
    revision: str = ""
    repo_path: str = ""
    argocd: ArgoCDSettings = record.field(factory=ArgoCDSettings)


@record.frozen(eq=False)
class Bundle:
    deployer: str
    files: FileSet
    warnings: tuple[str, ...]


def gitops_location(options: BundleOptions) -> GitOps | None:
    """Validate --repo/--revision/--repo-path; ``None`` for deployers that need no Git."""
    if options.deployer not in GITOPS_DEPLOYERS:
        return None
    missing = [
        flag
        for flag, value in (("--repo", options.repo), ("--revision", options.revision))
        if not value
    ]
    if missing:
        raise UsageError(
            f"-d {options.deployer} needs {' and '.join(missing)}: the generated objects read this "
            "bundle back from your Git repository, and a placeholder URL would never sync",
            hint=f"e.g. -d {options.deployer} --repo https://github.com/acme/gitops.git --revision main",
        )
    if not _REPO_URL.match(options.repo):
        raise UsageError(f"--repo {options.repo!r}: expected an https://, ssh:// or git@ Git URL")
    if any(ch.isspace() for ch in options.revision):
        raise UsageError(f"--revision {options.revision!r}: must not contain whitespace")
    path = options.repo_path.strip().strip("/")
    path = "/".join(p for p in path.split("/") if p not in ("", "."))
    if (
        options.repo_path.startswith("/")
        or ".." in path.split("/")
        or any(ch.isspace() for ch in path)
    ):
        raise UsageError(
            f"--repo-path {options.repo_path!r}: expected a relative directory inside the repository"
        )
    return GitOps(repo=options.repo, revision=options.revision, path=path)


def _read_payloads(recipe, read_payload: PayloadReader | None) -> dict[str, str]:
    texts: dict[str, str] = {}
    for component in recipe.components:
        for path in component.manifests:
            if path in texts:
                continue
            if read_payload is None:
                raise InputError(
                    f"cannot read manifest {path!r} of component {component.name}: no rule base "
                    "to read it from",
                    hint="pass --rules DIR pointing at the rule base the recipe came from",
                )
            try:
                texts[path] = read_payload(path)
            except KeyError:
                raise InputError(
                    f"cannot read manifest {path!r} of component {component.name}: "
                    "not in the rule base",
                    hint="pass --rules DIR for the rule base the recipe was made from",
                ) from None
            except EidosError as err:
                raise InputError(
                    f"cannot read manifest {path!r} of component {component.name}: {err.message}"
                ) from None
            except (OSError, ValueError) as err:
                raise InputError(
                    f"cannot read manifest {path!r} of component {component.name}: {err}"
                ) from None
    return texts


def make_bundle(
    document: dict[str, Any],
    read_payload: PayloadReader | None,
    options: BundleOptions,
    source: str = "recipe",
) -> Bundle:
    """Render a complete bundle in memory (nothing touches the disk here)."""
    if options.deployer not in DEPLOYERS:
        raise UsageError(
            f"unknown deployer {options.deployer!r}; expected one of {', '.join(DEPLOYERS)}"
        )
    gitops = gitops_location(options)
    recipe = parse_recipe(document, source)
    overrides: list[SetOverride] = [parse_set(raw) for raw in options.sets]
    keys = {key: c.name for c in recipe.components for key in (c.name, *c.aliases)}
    by_component: dict[str, list[SetOverride]] = {}
    for override in overrides:
        name = resolve_component(override.component, keys, f"--set {override.raw!r}")
        by_component.setdefault(name, []).append(override)
    warnings: list[str] = []
    components = []
    for component in recipe.components:
        values, notes = apply_overrides(
            component.values, by_component.get(component.name, []), component.name
        )
        warnings += notes
        warnings += inject(component, values, options.scheduling)
        components.append(record.evolve(component, values=values))
    warnings += unused_roles(components, options.scheduling)
    recipe = recipe.with_components(components)
    ctx = Context(
        recipe=recipe,
        payloads=_read_payloads(recipe, read_payload),
        gitops=gitops,
        argocd=options.argocd,
    )
    files = DEPLOYERS[options.deployer](ctx)
    files.add(RECIPE, yamlout.dump(document))
    inputs: dict[str, Any] = {"set": list(options.sets)}
    scheduling = options.scheduling.as_dict()
    if scheduling:
        inputs["scheduling"] = scheduling
    if options.deployer == "argocd" and options.argocd.as_dict():
        inputs["argocd"] = options.argocd.as_dict()
    files.add(SUMMARY, summary(ctx, options.deployer, inputs, warnings, files.paths()))
    files.add(CHECKSUMS, checksums(files))
    return Bundle(deployer=options.deployer, files=files, warnings=tuple(warnings))
