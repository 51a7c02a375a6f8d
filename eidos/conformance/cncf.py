"""CNCF's own checks of a submission, ported from cncf/k8s-ai-conformance.

Origin: ``scripts/validate.go`` and ``instructions.md`` at commit
``b2c89690e77f705dd4aec8da7d33a3b5d9831d8e``. Every rule validate.go applies is here, with
its error text, except the ones that need the network: the CNCF-membership look-up of
``vendorName`` in the CNCF landscape, and the reachability of URLs (metadata URLs and
``http(s)`` evidence links), whose *format* rules are still applied. One rule comes from
instructions.md rather than the script: ``id``, ``description`` and ``level`` must be
unchanged from the requirement file (the script matches requirements by ``id`` only), and a
MUST's evidence must be filled.

eidos runs these on every PRODUCT.yaml it writes and prints what fails (e.g. metadata the
vendor has not given yet); tests/conformance runs them on every submission the tests write.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

VALID_STATUSES = ("Implemented", "Not Implemented", "Partially Implemented", "N/A")
K8S_CONFORMANCE_URL = re.compile(r"^https://github\.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?$")
METADATA_FIELDS = {  # field -> required (validate.go metadataFields)
    "kubernetesVersion": True,
    "platformName": True,
    "platformVersion": True,
    "vendorName": True,
    "websiteUrl": True,
    "repoUrl": False,
    "documentationUrl": True,
    "productLogoUrl": True,
    "description": True,
    "contactEmailAddress": True,
    "k8sConformanceUrl": True,
}


def to_snake_case(name: str) -> str:
    """validate.go toSnakeCase: the two regular expressions, then lower case."""
    snake = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake)
    return snake.lower()


def version_from_path(path: str) -> str | None:
    """validate.go: the ``vX.Y/`` directory a PRODUCT.yaml is in ("1.35"), or None."""
    m = re.search(r"(?:^|/)(v\d+\.\d+)/", str(path).replace("\\", "/"))
    return m[1][1:] if m else None


def _requirement(raw) -> dict:
    """A requirement as Go's yaml.v3 decodes it into the Requirement struct: absent or null
    fields are zero values."""
    raw = raw if isinstance(raw, dict) else {}
    evidence = raw.get("evidence") or []
    return {"id": raw.get("id") or "", "description": raw.get("description") or "",
            "level": raw.get("level") or "", "status": raw.get("status") or "",
            "evidence": evidence if isinstance(evidence, list) else [evidence],
            "notes": raw.get("notes") or ""}


def check_product(product_path: str | Path, schema_path: str | Path, *, unchanged: bool = True) -> list[str]:
    """The errors CNCF's validator would report for ``product_path`` against the requirement
    file ``schema_path`` (network rules left out); [] when it passes."""
    errors: list[str] = []
    product_path = Path(product_path)
    try:
        product = yaml.safe_load(product_path.read_text(encoding="utf-8")) or {}
        schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        return [f"Error loading product: {err}"]
    if not isinstance(product, dict):
        return ["Error loading product: not a mapping"]
    metadata = product.get("metadata")
    if not isinstance(metadata, dict):
        errors.append("Missing 'metadata' section")
    else:
        for field, required in METADATA_FIELDS.items():
            snake = to_snake_case(field)
            if field in metadata:
                val = metadata[field]
            else:
                val = metadata.get(snake)
            if val is None:
                if required:
                    errors.append(f"Missing metadata field: {field} (or {snake})")
                continue
            if not isinstance(val, str):
                errors.append(f"Metadata field {field} is not a string")
                continue
            if val == "":
                if required:
                    errors.append(f"Metadata field {field} is empty")
            elif val.startswith("[") and val.endswith("]"):
                errors.append(f"Metadata field {field} has placeholder value: {val}")
            elif field == "k8sConformanceUrl" and not K8S_CONFORMANCE_URL.match(val):
                errors.append(f"Invalid k8sConformanceUrl format: {val}. Expected format: "
                              "https://github.com/cncf/k8s-conformance/tree/master/v{version}/{product}")
            # URL reachability (validateURL) needs the network: not ported
    spec = product.get("spec")
    if not isinstance(spec, dict):
        errors.append("Missing 'spec' section")
        return errors
    product_dir = product_path.parent
    for category, schema_reqs in (schema.get("spec") or {}).items():
        if category not in spec:
            errors.append(f"Missing spec category: {category}")
            continue
        prod = {}
        for raw in spec.get(category) or []:
            r = _requirement(raw)
            prod[r["id"]] = r
        for s in map(_requirement, schema_reqs or []):
            p = prod.get(s["id"])
            if p is None:
                errors.append(f"Missing requirement '{s['id']}' in category '{category}'")
                continue
            if unchanged:  # instructions.md: id, description, level unchanged
                for key in ("description", "level"):
                    if p[key] != s[key]:
                        errors.append(f"Requirement '{s['id']}': field '{key}' differs from the requirement file")
            if s["level"] == "SHOULD" and p["status"] == "" and not p["evidence"]:
                continue
            if p["status"] not in VALID_STATUSES:
                errors.append(f"Invalid status '{p['status']}' for '{s['id']}'. Must be one of {list(VALID_STATUSES)}")
            if s["level"] == "MUST":
                if p["status"] != "Implemented":
                    errors.append(f"Requirement '{s['id']}' is MUST level but status is '{p['status']}'. "
                                  "It must be 'Implemented'.")
                if unchanged and not [e for e in p["evidence"] if e]:  # instructions.md: MUST fields filled
                    errors.append(f"Requirement '{s['id']}' is MUST level but has no evidence")
            if p["status"] == "N/A" and p["notes"] == "":
                errors.append(f"Notes required for '{s['id']}' when status is N/A")
            for link in p["evidence"]:
                if not link:
                    continue
                link = str(link)
                if link.startswith(("http://", "https://")):
                    continue  # reachability needs the network: not ported
                full = product_dir / link
                if not full.exists():
                    errors.append(f"Invalid evidence file for '{s['id']}': {link} (not found at {full})")
    return errors
