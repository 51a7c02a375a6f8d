"""Validate Argo CD and Flux objects against the real CRDs in tests/fixtures/crds.

A CRD's ``openAPIV3Schema`` is an OpenAPI v3.0 *structural* schema with Kubernetes
extensions; it is close to, but not, a JSON Schema. :func:`json_schema` converts it the way
the API server treats an object under strict field validation (kubectl's default,
``--validate=strict``, which fails a request with unknown fields; server-side field
validation, KEP-2885, GA in Kubernetes 1.27), and the result is checked with
``jsonschema``'s Draft 4 validator, the draft OpenAPI 3.0 schema objects are based on:

* an object node without ``x-kubernetes-preserve-unknown-fields: true`` and without
  ``additionalProperties`` gets ``additionalProperties: false``: the API server prunes
  unknown fields and strict field validation rejects them, so a misspelt field fails;
* ``nullable: true`` admits ``null``; without it ``null`` is refused (the API server would
  drop it, and eidos never means to write one);
* ``x-kubernetes-int-or-string: true`` admits an integer or a string, whatever ``type``
  says; ``x-kubernetes-preserve-unknown-fields: true`` keeps any field below (Helm values);
  ``x-kubernetes-embedded-resource: true`` admits ``apiVersion``/``kind``/``metadata``;
* ``x-kubernetes-list-type: set`` means unique items, ``map`` unique ``list-map-keys``;
* ``x-kubernetes-validations`` rules (CEL) are evaluated with cel-python, with ``self``
  bound to the value at that node, as the API server does (transition rules, which need
  ``oldSelf``, cannot apply to a new object and are skipped);
* ``format`` ``int32``/``int64``/``date-time`` are checked; ``description`` and ``default``
  play no part in validation.

The CRD schemas say only ``metadata: {type: object}`` (the API server validates ObjectMeta
itself), so ``metadata`` is checked against the Kubernetes object-name and label rules
(kubernetes.io/docs/concepts/overview/working-with-objects/names and /labels), limited to
the fields eidos writes. ``apiVersion``/``kind`` must name a served, non-deprecated version
of a known CRD.
"""

from __future__ import annotations

import copy
import datetime
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import yaml

CRDS = Path(__file__).resolve().parent.parent / "fixtures" / "crds"

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
_QUALIFIED_NAME = rf"^({_SUBDOMAIN}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{{0,61}}[A-Za-z0-9])?\Z"
METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": rf"^{_SUBDOMAIN}\Z"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": rf"^{_LABEL}\Z"},
        "labels": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {
                _QUALIFIED_NAME: {
                    "type": "string",
                    "maxLength": 63,
                    "pattern": r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z",
                }
            },
        },
        "annotations": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {_QUALIFIED_NAME: {"type": "string"}},
        },
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


@attrs.frozen
class ServedVersion:
    """One served version of a CRD: what an object with this apiVersion/kind must satisfy."""

    crd: str  # metadata.name of the CRD, e.g. applications.argoproj.io
    api_version: str
    kind: str
    deprecated: bool
    schema: dict  # the openAPIV3Schema as published
    file: str


def load_crds(directory: Path = CRDS) -> dict[tuple[str, str], ServedVersion]:
    """(apiVersion, kind) -> served version, for every CRD file in ``directory``."""
    out: dict[tuple[str, str], ServedVersion] = {}
    for path in sorted(directory.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert crd["kind"] == "CustomResourceDefinition", path
        spec = crd["spec"]
        for version in spec["versions"]:
            if not version.get("served"):
                continue
            api_version = f"{spec['group']}/{version['name']}"
            key = (api_version, spec["names"]["kind"])
            out[key] = ServedVersion(
                crd=crd["metadata"]["name"],
                api_version=api_version,
                kind=spec["names"]["kind"],
                deprecated=bool(version.get("deprecated")),
                schema=version["schema"]["openAPIV3Schema"],
                file=path.name,
            )
    return out


@functools.cache
def crds() -> dict[tuple[str, str], ServedVersion]:
    return load_crds()


def groups() -> set[str]:
    return {api.split("/")[0] for api, _ in crds()}


# ---------------------------------------------------------------- schema conversion


def json_schema(node: dict, *, root: bool = True) -> dict:
    """The JSON Schema (Draft 4) for a structural schema node; see the module docstring."""
    out = _convert(node, structural=True)
    if root:
        out.setdefault("properties", {})["metadata"] = copy.deepcopy(METADATA_SCHEMA)
        out["properties"].pop("status", None)  # eidos writes no status
    return out


_DROP = {
    "description",
    "default",
    "example",
    "externalDocs",
    "nullable",
    "x-kubernetes-validations",
}


def end_of_text(pattern: str) -> str:
    """``pattern`` with a final ``$`` as ``\\Z``: in Go's RE2 and ECMA-262 (what the API server
    and CEL use) ``$`` is the end of the text, in Python's ``re`` it also matches before a
    trailing newline, which would let ``"10m\\n"`` pass ``^...$``."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


def _convert(node: dict, *, structural: bool) -> dict:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, structural=structural) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _convert(value, structural=structural and key != "not")
        elif key in ("allOf", "anyOf", "oneOf"):
            # Value validations only (a structural schema puts no type or field there).
            out[key] = [_convert(sub, structural=False) for sub in value]
        elif key == "pattern":
            out[key] = end_of_text(value)
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if (
        structural
        and not preserve
        and "additionalProperties" not in out
        and (out.get("type") == "object" or "properties" in out)
    ):
        out["additionalProperties"] = False
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("nullable"):
        return {"anyOf": [{"type": "null"}, out]}
    return out


@functools.cache
def _validator(key: tuple[str, str]):
    import jsonschema

    served = crds()[key]
    schema = json_schema(served.schema)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=_format_checker())


def _format_checker():
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())

    def in_range(bits: int):
        def check(value: object) -> bool:
            return not isinstance(value, int) or -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)

        return check

    checker.checks("int32")(in_range(32))
    checker.checks("int64")(in_range(64))

    @checker.checks("date-time")
    def date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            datetime.datetime.fromisoformat(value)
        except ValueError:
            return False
        return "T" in value.upper()

    return checker


# ---------------------------------------------------------------- CEL and list types


@functools.cache
def _cel_program(rule: str):
    import celpy

    env = celpy.Environment()
    return env.program(env.compile(rule))


def _cel_and_lists(node: dict, value: Any, path: str) -> Iterator[str]:
    """Rules the JSON Schema cannot say: CEL validations and list-map keys, node by node."""
    if value is None:
        return
    import celpy

    for rule in node.get("x-kubernetes-validations", []):
        if "oldSelf" in rule["rule"]:
            continue  # a transition rule: only checked on update
        result = _cel_program(rule["rule"]).evaluate({"self": celpy.json_to_cel(value)})
        # A CEL evaluation error comes back as a value, not an exception: it fails too.
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            yield f"{path or '<root>'}: {rule.get('message') or rule['rule']} (rule: {rule['rule']})"
    if isinstance(value, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, sub in value.items():
            child = properties.get(key) or (extra if isinstance(extra, dict) else None)
            if child is not None:
                yield from _cel_and_lists(child, sub, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        if node.get("x-kubernetes-list-type") == "map":
            keys = node.get("x-kubernetes-list-map-keys", [])
            seen = [tuple(item.get(k) for k in keys) for item in value if isinstance(item, dict)]
            if len(seen) != len(set(seen)):
                yield f"{path}: duplicate list-map keys {keys}"
        items = node.get("items")
        if isinstance(items, dict):
            for index, sub in enumerate(value):
                yield from _cel_and_lists(items, sub, f"{path}[{index}]")


# ---------------------------------------------------------------- entry points


def served_version(obj: dict) -> ServedVersion:
    """The served CRD version for ``obj``'s apiVersion/kind; AssertionError naming what is."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    table = crds()
    if (api_version, kind) in table:
        return table[(api_version, kind)]
    same_kind = sorted(k[0] for k in table if k[1] == kind)
    if same_kind:
        raise AssertionError(
            f"{kind} {api_version!r} is not a served version of its CRD (served: {same_kind})"
        )
    raise AssertionError(f"no CRD in {CRDS.name}/ for apiVersion {api_version!r} kind {kind!r}")


def violations(obj: dict) -> list[str]:
    """Every way ``obj`` fails its CRD; empty when the API server would accept it."""
    try:
        served = served_version(obj)
    except AssertionError as err:
        return [str(err)]
    found = []
    if served.deprecated:
        found.append(f"{served.api_version} {served.kind} is deprecated in {served.file}")
    for error in sorted(
        _validator((served.api_version, served.kind)).iter_errors(obj), key=lambda e: list(e.path)
    ):
        where = ".".join(str(p) for p in error.absolute_path) or "<root>"
        found.append(f"{where}: {error.message}")
    found += list(_cel_and_lists(served.schema, obj, ""))
    return found


def check(obj: dict, where: str = "") -> None:
    """Assert that ``obj`` satisfies its CRD, listing every violation otherwise."""
    found = violations(obj)
    name = obj.get("metadata", {}).get("name") if isinstance(obj.get("metadata"), dict) else None
    assert not found, f"{where} {obj.get('kind')} {name}:\n  " + "\n  ".join(found)
