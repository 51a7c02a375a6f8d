"""The recipe document as the bundlers see it: validated once, typed, in deployment order.

A recipe document is plain data (``eidos recipe -o json``) and may also be handwritten, so
everything a bundler relies on is checked here, with the location of the offending field:
names that become release and object names, versions that must survive verbatim, a
deployment order consistent with ``needs``. Bundlers downstream never re-validate.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from eidos.lang import record

from eidos.api import API_VERSION
from eidos.engine.recipe import ROLES, Component, RoleScheduling, Scheduling, deployment_order
from eidos.errors import InputError

KIND = "Recipe"
TYPES = ("helm", "kustomize", "manifest")

# Names become Helm release names (<= 53 chars), object names and directory names.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CHART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# A manifest file name in a chart's templates/: no partials (_x), no hidden files.
_MANIFEST_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(yaml|yml|tpl|txt|json)$")
_REPO_SCHEMES = ("https://", "http://", "oci://")


@record.frozen(eq=False)
class Recipe:
    document: dict[str, Any]
    criteria: dict[str, Any]
    overlays: tuple[str, ...]
    components: tuple[Component, ...]  # in deployment order

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def with_components(self, components: list[Component]) -> Recipe:
        return record.evolve(self, components=tuple(components))


class _Where:
    """Builds 'recipe.yaml: components[2] (nvsentinel).version' style locations."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> InputError:
        return InputError(f"{self.source}: {where}: {message}")


def _str(raw: dict, key: str, where: str, w: _Where, *, required: bool, default: str = "") -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise w.fail(where, f'missing "{key}"')
        return default
    if not isinstance(value, str):
        hint = " (quote it in YAML so it stays verbatim)" if isinstance(value, (int, float)) else ""
        raise w.fail(f"{where}.{key}", f"must be a string, got {type(value).__name__}{hint}")
    if required and not value.strip():
        raise w.fail(f"{where}.{key}", "must not be empty")
    _printable(value, f"{where}.{key}", w)
    return value


def _printable(value: str, where: str, w: _Where) -> None:
    """Refuse control characters in text that reaches scripts, comments and object names.

    Newlines, carriage returns, escape sequences, NUL, line separators and format
    characters (bidirectional overrides) have no business in a name, version, URL or
    path; in a script they could end a comment or fool a terminal. Everything printable
    (``$(...)``, quotes, backticks included) is accepted and quoted by the writers.
    """
    for offset, ch in enumerate(value):
        if ch != " " and not ch.isprintable():
            shown = repr(value if len(value) <= 60 else value[:60] + "...")
            raise w.fail(
                where,
                f"contains the control character U+{ord(ch):04X} at offset {offset} "
                f"({shown}); names, versions, URLs and paths must be printable text",
            )


def _str_list(raw: dict, key: str, where: str, w: _Where) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise w.fail(f"{where}.{key}", "must be a list of non-empty strings")
    for index, item in enumerate(value):
        _printable(item, f"{where}.{key}[{index}]", w)
    return tuple(value)


def _scheduling(raw: Any, where: str, w: _Where) -> Scheduling:
    if raw is None:
        return Scheduling()
    if not isinstance(raw, dict):
        raise w.fail(where, "must be a mapping of roles (system, accelerated)")
    roles = {}
    for role, spec in raw.items():
        if role not in ROLES:
            raise w.fail(
                f"{where}.{role}", f"unknown node role; expected one of {', '.join(ROLES)}"
            )
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise w.fail(f"{where}.{role}", "must be a mapping with nodeSelector / tolerations")
        for key in spec:
            if key not in ("nodeSelector", "tolerations"):
                raise w.fail(f"{where}.{role}.{key}", "expected nodeSelector or tolerations")
        roles[role] = RoleScheduling(
            node_selector=_str_list(spec, "nodeSelector", f"{where}.{role}", w),
            tolerations=_str_list(spec, "tolerations", f"{where}.{role}", w),
        )
    return Scheduling(**roles)


def _component(raw: Any, index: int, w: _Where) -> Component:
    where = f"components[{index}]"
    if not isinstance(raw, dict):
        raise w.fail(where, "must be a mapping")
    name = _str(raw, "name", where, w, required=True)
    if not _NAME.match(name):
        raise w.fail(
            f"{where}.name",
            f"{name!r} is not usable as a release name (lower-case letters, digits and '-', "
            "at most 53 characters, starting and ending with a letter or digit)",
        )
    where = f"{where} ({name})"
    ctype = _str(raw, "type", where, w, required=True)
    if ctype not in TYPES:
        raise w.fail(f"{where}.type", f"unknown type {ctype!r}; expected one of {', '.join(TYPES)}")
    namespace = _str(raw, "namespace", where, w, required=False) or name
    if not _NAMESPACE.match(namespace):
        raise w.fail(f"{where}.namespace", f"{namespace!r} is not a valid namespace name")
    values = raw.get("values")
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise w.fail(f"{where}.values", "must be a mapping")
    manifests = _str_list(raw, "manifests", where, w)
    seen: dict[str, str] = {}
    for path in manifests:
        base = path.rsplit("/", 1)[-1]
        if not _MANIFEST_FILE.match(base):
            raise w.fail(
                f"{where}.manifests",
                f"{path!r}: file name must start with a letter or digit and end in .yaml/.yml "
                "(Helm skips files starting with '_' or '.')",
            )
        if base in seen:
            raise w.fail(f"{where}.manifests", f"{path!r} and {seen[base]!r} share a file name")
        seen[base] = path
    fields: dict[str, Any] = {}
    if ctype == "helm":
        repository = _str(raw, "repository", where, w, required=True)
        if not repository.startswith(_REPO_SCHEMES) or " " in repository:
            raise w.fail(
                f"{where}.repository",
                f"{repository!r} must be an https://, http:// or oci:// chart repository URL",
            )
        chart = _str(raw, "chart", where, w, required=False) or name
        if not _CHART.match(chart):
            raise w.fail(f"{where}.chart", f"{chart!r} is not a valid chart name")
        fields.update(
            repository=repository,
            chart=chart,
            version=_str(raw, "version", where, w, required=True),
        )
    elif ctype == "kustomize":
        fields.update(
            source=_str(raw, "source", where, w, required=True),
            tag=_str(raw, "tag", where, w, required=True),
            path=_str(raw, "path", where, w, required=False, default=".") or ".",
        )
        if fields["path"].startswith("/") or ".." in fields["path"].split("/"):
            raise w.fail(f"{where}.path", "must be a relative path inside the source repository")
    elif not manifests:
        raise w.fail(where, 'a component of type "manifest" needs at least one manifest')
    return Component(
        name=name,
        type=ctype,
        namespace=namespace,
        needs=_str_list(raw, "needs", where, w),
        manifests=manifests,
        values=copy.deepcopy(values),
        aliases=_str_list(raw, "aliases", where, w),
        scheduling=_scheduling(raw.get("scheduling"), f"{where}.scheduling", w),
        **fields,
    )


def parse_recipe(document: Any, source: str = "recipe") -> Recipe:
    """Validate a recipe document and return it with components in deployment order."""
    w = _Where(source)
    if not isinstance(document, dict):
        raise InputError(f"{source}: a recipe document must be a mapping")
    kind, api = document.get("kind"), document.get("apiVersion")
    if kind != KIND or api != API_VERSION:
        raise InputError(
            f"{source}: not an eidos recipe (kind {kind!r}, apiVersion {api!r}); "
            f"expected kind {KIND!r}, apiVersion {API_VERSION!r}",
            hint="produce one with 'eidos recipe ... -o yaml'",
        )
    raw_components = document.get("components")
    if not isinstance(raw_components, list) or not raw_components:
        raise w.fail("components", "the recipe has no components to bundle")
    components: dict[str, Component] = {}
    for index, raw in enumerate(raw_components):
        comp = _component(raw, index, w)
        if comp.name in components:
            raise w.fail(f"components[{index}].name", f"duplicate component {comp.name!r}")
        components[comp.name] = comp
    for comp in components.values():
        if comp.manifests and comp.type != "manifest" and comp.manifest_release in components:
            raise w.fail(
                f"components ({comp.name}).manifests",
                f"its manifests install as release {comp.manifest_release!r}, "
                "which is also a component name",
            )
    keys: dict[str, str] = {}
    for comp in components.values():
        for need in comp.needs:
            if need not in components:
                raise w.fail(f"components ({comp.name}).needs", f"unknown component {need!r}")
        for key in (comp.name, *comp.aliases):
            if keys.get(key, comp.name) != comp.name:
                raise w.fail(
                    f"components ({comp.name}).aliases",
                    f"{key!r} already names component {keys[key]!r}",
                )
            keys[key] = comp.name
    order = document.get("deploymentOrder")
    if order is None:
        names = deployment_order({n: c.needs for n, c in components.items()})
    else:
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
            raise w.fail("deploymentOrder", "must be a list of component names")
        unknown = [n for n in order if n not in components]
        missing = [n for n in components if n not in order]
        if unknown or missing or len(set(order)) != len(order):
            parts = []
            if unknown:
                parts.append(f"names unknown components: {', '.join(unknown)}")
            if missing:
                parts.append(f"leaves out: {', '.join(missing)}")
            if len(set(order)) != len(order):
                parts.append("lists a component twice")
            raise w.fail("deploymentOrder", "; ".join(parts))
        position = {n: i for i, n in enumerate(order)}
        for comp in components.values():
            for need in comp.needs:
                if position[need] > position[comp.name]:
                    raise w.fail(
                        "deploymentOrder",
                        f"{comp.name!r} comes before {need!r}, which it needs",
                    )
        names = list(order)
    criteria = document.get("criteria") or {}
    if not isinstance(criteria, dict):
        raise w.fail("criteria", "must be a mapping")
    for key, value in criteria.items():
        _printable(str(key), "criteria", w)
        if isinstance(value, str):
            _printable(value, f"criteria.{key}", w)
    overlays = document.get("overlays") or []
    if not isinstance(overlays, list):
        raise w.fail("overlays", "must be a list")
    for index, overlay in enumerate(overlays):
        _printable(str(overlay), f"overlays[{index}]", w)
    # The deployers read requirements (Helm kubeVersion, README table): check their shape
    # here, once, so a hand-edited document fails with its location instead of deep inside.
    requirements = document.get("requirements") or []
    if not isinstance(requirements, list):
        raise w.fail("requirements", "must be a list")
    for index, req in enumerate(requirements):
        if not isinstance(req, dict):
            raise w.fail(f"requirements[{index}]", "must be a mapping (name, expr, severity)")
        for field in ("name", "expr", "severity"):
            if field in req and not isinstance(req[field], str):
                raise w.fail(f"requirements[{index}].{field}", "must be a string")
    return Recipe(
        document=document,
        criteria=dict(criteria),
        overlays=tuple(str(o) for o in overlays),
        components=tuple(components[n] for n in names),
    )
