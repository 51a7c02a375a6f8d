"""Reading AICR v0.11 recipe data: ``registry.yaml`` and the ``RecipeMetadata`` overlays.

The reader checks what AICR itself would refuse or silently mis-read (unknown criteria
values, a ``spec.base`` that names nothing or loops, files that escape the data root) and
fails with the file and line, so an import never starts from data AICR would not load.
Criteria are normalised exactly as AICR parses them (case-insensitive, trimmed, aliases).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import attrs

from eidos.errors import InputError
from eidos.importers import quoting
from eidos.io import yamlio
from eidos.io.inputs import read_input

API_VERSION = "aicr.nvidia.com/v1alpha1"

# AICR v0.11 pkg/recipe/criteria.go (ref-aicr.md §1.1): canonical values and aliases.
# An alias mapping to None means "any" (no test).
CRITERIA: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    "service": (("eks", "gke", "aks", "oke", "kind"),
                {"": None, "any": None, "self-managed": None, "self": None, "vanilla": None}),
    "accelerator": (("h100", "gb200", "b200", "a100", "l40"), {"": None, "any": None}),
    "intent": (("training", "inference"), {"": None, "any": None}),
    "os": (("ubuntu", "rhel", "cos", "amazonlinux"),
           {"": None, "any": None, "al2": "amazonlinux", "al2023": "amazonlinux"}),
    "platform": (("dynamo", "kubeflow"), {"": None, "any": None}),
}
CRITERIA_ORDER = ("service", "accelerator", "os", "intent", "platform", "nodes")

REF_FIELDS = frozenset({"name", "type", "source", "version", "tag", "path", "valuesFile", "overrides",
                        "patches", "dependencyRefs", "manifestFiles", "namespace", "chart", "cleanup",
                        "expectedResources", "healthCheckAsserts"})


@attrs.frozen(slots=True)
class Constraint:
    name: str
    value: str
    severity: str
    remediation: str
    unit: str
    where: str


@attrs.frozen(slots=True)
class Ref:
    """One ``componentRefs`` entry as written (empty fields mean "inherit")."""

    name: str
    type: str
    source: str
    version: str
    tag: str
    path: str
    values_file: str
    overrides: dict | None
    dependency_refs: tuple[str, ...] | None
    manifest_files: tuple[str, ...]
    raw: dict = attrs.field(eq=False, repr=False)
    where: str = ""


@attrs.frozen(slots=True)
class Overlay:
    name: str
    file: str
    where: str
    base: str | None  # spec.base; None when absent (AICR then inherits from "base")
    criteria: dict[str, Any] | None  # normalised; None = no criteria block (parent only)
    constraints: tuple[Constraint, ...]
    refs: tuple[Ref, ...]
    validation: dict
    raw_spec: dict = attrs.field(eq=False, repr=False)
    lines: dict = attrs.field(eq=False, repr=False)


@attrs.frozen(slots=True)
class RegistryEntry:
    name: str
    raw: dict = attrs.field(eq=False, repr=False)
    where: str = ""


@attrs.frozen(slots=True)
class Data:
    root: Path
    registry_file: str
    registry: tuple[RegistryEntry, ...]
    overlays: tuple[Overlay, ...]
    skipped: tuple[tuple[str, str], ...]  # (file, kind) of YAML files that are not overlays

    def overlay(self, name: str) -> Overlay:
        return next(o for o in self.overlays if o.name == name)

    def entry(self, name: str) -> RegistryEntry | None:
        return next((e for e in self.registry if e.name == name), None)


def _at(shown: str, lines: dict, path: tuple) -> str:
    for cut in range(len(path), 0, -1):
        line = lines.get(path[:cut])
        if line:
            return f"{shown}:{line}"
    return f"{shown}:1"


def _load(root: Path, rel: str) -> tuple[Any, dict, str]:
    shown = str(root / rel)
    text, _ = read_input(shown, "AICR YAML file")
    data, lines = yamlio.load(text, shown, with_lines=True)
    return data, lines, shown


def _text(value: Any, where: str, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"{where}: {field} must be text, not {type(value).__name__}")
    return str(value)


def data_path(root: Path, rel: str, where: str, field: str) -> str:
    """A payload path of the data (relative to the root); refused if it escapes or is missing."""
    norm = posixpath.normpath(rel)
    if rel.startswith("/") or "\\" in rel or norm.startswith("..") or norm == ".":
        raise InputError(f"{where}: {field} '{rel}' must be a relative path inside the AICR data directory")
    full = root / norm
    if not full.is_file():
        raise InputError(f"{where}: {field} '{rel}' not found under {root}")
    real_root = root.resolve()
    if real_root not in full.resolve().parents:
        raise InputError(f"{where}: {field} '{rel}' points outside the AICR data directory")
    return norm


def _criteria(raw: Any, shown: str, lines: dict) -> dict | None:
    if raw is None:
        return None
    base = ("spec", "criteria")
    if not isinstance(raw, dict):
        raise InputError(f"{_at(shown, lines, base)}: spec.criteria must be a mapping")
    out: dict[str, Any] = {}
    for field, value in raw.items():
        where = _at(shown, lines, base + (field,))
        if field == "nodes":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{where}: criteria.nodes must be a whole number >= 0, not {value!r}")
            if value:
                out["nodes"] = value
            continue
        if field not in CRITERIA:
            raise InputError(f"{where}: unknown criteria field '{field}'",
                             hint="AICR criteria are " + ", ".join(CRITERIA_ORDER))
        canonical, aliases = CRITERIA[field]
        text = _text(value, where, f"criteria.{field}").strip().lower()
        if text in aliases:
            mapped = aliases[text]
        elif text in canonical:
            mapped = text
        else:
            raise InputError(f"{where}: unknown {field} '{value}' in criteria",
                             hint=f"AICR v0.11 knows {', '.join(canonical)} (or any)")
        if mapped is not None:
            out[field] = mapped
    return out


def _constraints(raw: Any, shown: str, lines: dict, path: tuple) -> tuple[Constraint, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{_at(shown, lines, path)}: {'.'.join(path)} must be a list")
    out = []
    for i, item in enumerate(raw):
        where = _at(shown, lines, path + (i,))
        if not isinstance(item, dict) or not item.get("name"):
            raise InputError(f"{where}: a constraint needs a name and a value")
        out.append(Constraint(_text(item.get("name"), where, "name"), _text(item.get("value"), where, "value"),
                              _text(item.get("severity"), where, "severity"),
                              _text(item.get("remediation"), where, "remediation"),
                              _text(item.get("unit"), where, "unit"), where))
    return tuple(out)


def _refs(root: Path, raw: Any, shown: str, lines: dict) -> tuple[Ref, ...]:
    path = ("spec", "componentRefs")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{_at(shown, lines, path)}: spec.componentRefs must be a list")
    out, seen = [], set()
    for i, item in enumerate(raw):
        where = _at(shown, lines, path + (i,))
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise InputError(f"{where}: a componentRef needs a name")
        name = item["name"]
        if not quoting.is_name(name):
            raise InputError(f"{where}: component name '{name}' is not an eidos name",
                             hint="letters, digits, '_' and inner '-'")
        if name in seen:
            raise InputError(f"{where}: component '{name}' listed twice in one overlay")
        seen.add(name)
        overrides = item.get("overrides")
        if overrides is not None and not isinstance(overrides, dict):
            raise InputError(f"{_at(shown, lines, path + (i, 'overrides'))}: overrides must be a mapping")
        deps = item.get("dependencyRefs")
        if deps is not None and (not isinstance(deps, list) or not all(isinstance(d, str) for d in deps)):
            raise InputError(f"{_at(shown, lines, path + (i, 'dependencyRefs'))}: dependencyRefs must be a list of names")
        manifests = item.get("manifestFiles") or []
        if not isinstance(manifests, list) or not all(isinstance(m, str) for m in manifests):
            raise InputError(f"{_at(shown, lines, path + (i, 'manifestFiles'))}: manifestFiles must be a list of paths")
        values_file = _text(item.get("valuesFile"), where, "valuesFile")
        if values_file:
            values_file = data_path(root, values_file, _at(shown, lines, path + (i, "valuesFile")), "valuesFile")
        manifests = [data_path(root, m, _at(shown, lines, path + (i, "manifestFiles", j)), "manifestFiles")
                     for j, m in enumerate(manifests)]
        out.append(Ref(
            name=name, type=_text(item.get("type"), where, "type"), source=_text(item.get("source"), where, "source"),
            version=_text(item.get("version"), where, "version"), tag=_text(item.get("tag"), where, "tag"),
            path=_text(item.get("path"), where, "path"), values_file=values_file,
            overrides=dict(overrides) if overrides else None,
            dependency_refs=tuple(deps) if deps else None, manifest_files=tuple(manifests),
            raw=item, where=where,
        ))
    return tuple(out)


def _check_kind(data: dict, shown: str, lines: dict, kind: str) -> None:
    api = data.get("apiVersion") or ""
    if api and api != API_VERSION:
        raise InputError(f"{_at(shown, lines, ('apiVersion',))}: apiVersion '{api}' is not {API_VERSION}",
                         hint="this importer reads AICR v0.11 data")


def _overlay(root: Path, rel: str) -> Overlay | tuple[str, str]:
    data, lines, shown = _load(root, rel)
    if not isinstance(data, dict):
        raise InputError(f"{shown}:1: expected a RecipeMetadata mapping")
    kind = data.get("kind") or ""
    if kind and kind != "RecipeMetadata":
        return (rel, str(kind))
    _check_kind(data, shown, lines, "RecipeMetadata")
    meta = data.get("metadata") or {}
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(f"{_at(shown, lines, ('metadata',))}: metadata.name is required")
    if not quoting.is_name(name):
        raise InputError(f"{_at(shown, lines, ('metadata', 'name'))}: overlay name '{name}' is not an eidos name",
                         hint="letters, digits, '_' and inner '-'")
    spec = data.get("spec") or {}
    if not isinstance(spec, dict):
        raise InputError(f"{_at(shown, lines, ('spec',))}: spec must be a mapping")
    base = spec.get("base")
    if base is not None and not isinstance(base, str):
        raise InputError(f"{_at(shown, lines, ('spec', 'base'))}: spec.base must be an overlay name")
    validation = spec.get("validation") or {}
    if not isinstance(validation, dict):
        raise InputError(f"{_at(shown, lines, ('spec', 'validation'))}: spec.validation must be a mapping")
    return Overlay(
        name=name, file=shown, where=_at(shown, lines, ("metadata", "name")), base=base or None,
        criteria=_criteria(spec.get("criteria"), shown, lines),
        constraints=_constraints(spec.get("constraints"), shown, lines, ("spec", "constraints")),
        refs=_refs(root, spec.get("componentRefs"), shown, lines),
        validation=validation, raw_spec=spec, lines=lines,
    )


def _registry(root: Path) -> tuple[str, tuple[RegistryEntry, ...]]:
    if not (root / "registry.yaml").is_file():
        raise InputError(f"{root}: no registry.yaml (the AICR component registry)",
                         hint="give the AICR recipes data directory: the one holding registry.yaml and overlays/")
    data, lines, shown = _load(root, "registry.yaml")
    if not isinstance(data, dict) or (data.get("kind") or "ComponentRegistry") != "ComponentRegistry":
        raise InputError(f"{shown}:1: expected kind ComponentRegistry")
    _check_kind(data, shown, lines, "ComponentRegistry")
    comps = data.get("components")
    if not isinstance(comps, list):
        raise InputError(f"{_at(shown, lines, ('components',))}: components must be a list")
    out, seen = [], set()
    for i, item in enumerate(comps):
        where = _at(shown, lines, ("components", i))
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise InputError(f"{where}: a registry component needs a name")
        if item["name"] in seen:
            raise InputError(f"{where}: duplicate component name '{item['name']}'")
        if not quoting.is_name(item["name"]):
            raise InputError(f"{where}: component name '{item['name']}' is not an eidos name",
                             hint="letters, digits, '_' and inner '-'")
        seen.add(item["name"])
        out.append(RegistryEntry(item["name"], item, where))
    return shown, tuple(out)


def _overlay_files(root: Path) -> list[str]:
    """AICR reads every YAML under the root except components/, checks/ and the registry."""
    out = []
    real_root = root.resolve()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or path.suffix not in (".yaml", ".yml"):
            continue
        if real_root not in path.resolve().parents:
            raise InputError(f"{path}: symbolic link points outside the AICR data directory")
        if rel == "registry.yaml" or rel.split("/")[0] in ("components", "checks") or "/." in "/" + rel:
            continue
        out.append(rel)
    return out


def chain(data: Data, name: str) -> tuple[str, ...]:
    """The inheritance chain root first (``base`` ... ``name``); a cycle is an input error."""
    seen: list[str] = []
    current: str | None = name
    while current is not None:
        if current in seen:
            loop = " -> ".join(seen[seen.index(current):] + [current])
            raise InputError(f"{data.overlay(current).where}: circular spec.base inheritance: {loop}")
        seen.append(current)
        overlay = data.overlay(current)
        if current == "base":
            break
        parent = overlay.base or "base"
        if not any(o.name == parent for o in data.overlays):
            raise InputError(f"{_at(overlay.file, overlay.lines, ('spec', 'base'))}: spec.base '{parent}' "
                             "names no overlay")
        current = parent
    return tuple(reversed(seen))


def load(root: str | Path) -> Data:
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such directory", hint="give the AICR recipes data directory")
    registry_file, registry = _registry(root)
    overlays, skipped, names = [], [], {}
    for rel in _overlay_files(root):
        item = _overlay(root, rel)
        if isinstance(item, tuple):
            skipped.append(item)
            continue
        if item.name in names:
            raise InputError(f"{item.where}: overlay '{item.name}' is also defined in {names[item.name]}")
        names[item.name] = item.where
        overlays.append(item)
    if "base" not in names:
        raise InputError(f"{root}: no overlay named 'base' (AICR's root recipe, overlays/base.yaml)")
    data = Data(root, registry_file, registry, tuple(overlays), tuple(skipped))
    for overlay in overlays:
        chain(data, overlay.name)
    return data
