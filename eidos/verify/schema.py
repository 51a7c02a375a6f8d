"""Schema checks: values against the chart's values.schema.json, objects against their kinds.

Built-in kinds are checked with ``kubernetes-validate`` (the upstream OpenAPI schemas of
the newest Kubernetes it ships); custom kinds against the ``openAPIV3Schema`` of the CRD
the bundle itself installs. Unknown fields are not errors for custom kinds: the API server
prunes them.
"""

from __future__ import annotations

import functools
import re

from eidos.engine.values import format_path
from eidos.verify.deadvalues import source_of
from eidos.verify.findings import Finding
from eidos.verify.order import BUILTIN_GROUPS


def values_schema(component, schema: dict | None, merged: dict) -> list[Finding]:
    if not schema:
        return []
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    findings = []
    for err in sorted(cls(schema).iter_errors(merged), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        path = tuple(str(p) for p in err.absolute_path)
        findings.append(Finding(
            severity="error", check="values-schema", component=component.name,
            key=format_path(path) or "(top level)",
            message=f"values.schema.json of {component.chart} {component.version} rejects "
            f"{format_path(path) or 'the values'}: {err.message}",
            source=source_of(component.provenance, path),
        ))
    return findings


def _pruned(value):
    """Nulls removed: the API server prunes null fields that are not nullable before validating."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _defaulted(err) -> bool:
    """A 'required' error for fields the CRD defaults: the API server fills them in first."""
    if err.validator != "required" or not isinstance(err.instance, dict):
        return False
    props = err.schema.get("properties") or {}
    missing = [p for p in err.validator_value if p not in err.instance]
    return bool(missing) and all("default" in (props.get(p) or {}) for p in missing)


def _crd_schema(crd: dict, version: str) -> dict | None:
    for v in (crd.get("spec") or {}).get("versions") or ():
        if isinstance(v, dict) and v.get("name") == version:
            return ((v.get("schema") or {}).get("openAPIV3Schema")) or None
    return None


@functools.lru_cache(maxsize=None)
def _definitions(schema_dir: str):
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    defs = schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", schema_dir)
    return Resource.from_contents(defs) @ Registry()


@functools.lru_cache(maxsize=None)
def builtin_validator(kind: str, api_version: str, version: str):
    """The strict validator ``kubernetes_validate.validate`` builds for ``kind`` at
    ``api_version`` (its schema file naming and registry, Draft 2020-12), built once per
    kind instead of once per object: the library reads and decodes its multi-megabyte
    ``_definitions.json`` on every call, which made ``verify --all`` spend most of its
    time in ``json.load``. None when the library has no schema for the kind."""
    import jsonschema
    from kubernetes_validate.utils import schema_contents
    from referencing import Resource

    schema_dir = f"v{version}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _definitions(schema_dir)
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def object_schema(name: str, objects, crds: dict) -> list[Finding]:
    import jsonschema
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    findings = []
    for obj in objects:
        message = ""
        if obj.group in BUILTIN_GROUPS:
            validator = builtin_validator(obj.kind, obj.api_version, version)
            # the first error, as the library's validate() raises it
            err = next(iter(validator.iter_errors(obj.body)), None) if validator else None
            if validator is None:
                # offline, Helm's .Capabilities know no cluster: a chart may pick an old API
                # version it would not pick on a real one, so this is a warning
                findings.append(Finding(
                    severity="warning", check="object-schema", component=name, key=obj.ref,
                    message=f"{obj.ref} from {obj.template}: {obj.api_version} {obj.kind} is not "
                    f"served by Kubernetes {version} (rendered without a cluster's capabilities)",
                ))
                continue
            if err is not None:
                where = ".".join(str(p) for p in err.path)
                message = f"{err.message}" + (f" (at {where})" if where else "")
        else:
            crd = crds.get((obj.group, obj.kind))
            schema = _crd_schema(crd, obj.api_version.rpartition("/")[2]) if crd else None
            if crd and schema is None:
                message = f"the CRD of {obj.kind} does not serve version {obj.api_version}"
            elif schema:
                errors = sorted((e for e in jsonschema.Draft7Validator(schema).iter_errors(_pruned(obj.body))
                                 if not _defaulted(e)),
                                key=lambda e: list(map(str, e.absolute_path)))
                if errors:
                    err = errors[0]
                    where = ".".join(str(p) for p in err.absolute_path)
                    message = f"{err.message}" + (f" (at {where})" if where else "")
        if message:
            findings.append(Finding(
                severity="error", check="object-schema", component=name, key=obj.ref,
                message=f"{obj.ref} from {obj.template}: {message}",
            ))
    return findings
