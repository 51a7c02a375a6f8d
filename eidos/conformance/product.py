"""The submission: ``PRODUCT.yaml`` for the version and one evidence document per requirement.

``id``, ``description`` and ``level`` are copied unchanged from CNCF's requirement file
(instructions.md: "must be submitted without adjustments or changes in spec to the fields
id, description, level"); ``status``, ``evidence`` and ``notes`` come from the results. Only
a requirement whose verdict is ``pass`` is ``Implemented``, with its evidence document
listed; every other one is left ``status: ""`` with a note saying why and what is missing.
Evidence paths are relative to PRODUCT.yaml (``evidence/<id>.md``), which is how CNCF's
``scripts/validate.go`` resolves local evidence files.

Every file is written atomically, and the output depends only on the cluster's answers,
the metadata and the evidence time (``--evidence-time`` or ``SOURCE_DATE_EPOCH``), so a
rerun against the same cluster reproduces it byte for byte.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml

from eidos import __version__
from eidos.conformance.run import ConformanceResult, RequirementResult
from eidos.errors import InputError, UsageError
from eidos.io.output import write_atomic

# metadata field -> CLI flag; the order is CNCF's template order (AIConformance-1.35.yaml)
METADATA_FLAGS = (
    ("platformName", "platform_name"),
    ("platformVersion", "platform_version"),
    ("vendorName", "vendor"),
    ("websiteUrl", "website_url"),
    ("repoUrl", "repo_url"),
    ("documentationUrl", "documentation_url"),
    ("productLogoUrl", "product_logo_url"),
    ("description", "product_description"),
    ("contactEmailAddress", "contact_email"),
    ("k8sConformanceUrl", "k8s_conformance_url"),
)
METADATA_KEYS = tuple(k for k, _ in METADATA_FLAGS)


def evidence_time(flag: str | None, env=None) -> dt.datetime:
    """``--evidence-time`` (RFC 3339), else ``SOURCE_DATE_EPOCH``, else now; UTC, seconds."""
    env = os.environ if env is None else env
    if flag:
        try:
            t = dt.datetime.fromisoformat(flag.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--evidence-time {flag!r}: expected an RFC 3339 time, e.g. 2026-11-30T12:00:00Z") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
    elif env.get("SOURCE_DATE_EPOCH"):
        try:
            t = dt.datetime.fromtimestamp(int(env["SOURCE_DATE_EPOCH"]), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise UsageError(f"SOURCE_DATE_EPOCH={env['SOURCE_DATE_EPOCH']!r}: expected whole seconds since 1970") from None
    else:
        t = dt.datetime.now(dt.UTC)
    return t.astimezone(dt.UTC).replace(microsecond=0)


def load_metadata(path: str | None, flags: dict) -> dict:
    """The submission's metadata: ``--metadata FILE`` (a mapping, or one under ``metadata:``),
    then the flags over it. Unknown keys are refused (a typo would silently drop a field)."""
    meta: dict = {}
    if path:
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as err:
            raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            raise InputError(f"{path}{where}: not valid YAML") from None
        if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
            doc = doc["metadata"]
        if not isinstance(doc, dict):
            raise InputError(f"{path}: expected a mapping of metadata fields ({', '.join(METADATA_KEYS)})")
        for key, value in doc.items():
            if key == "kubernetesVersion":
                continue  # always the version eidos tested
            if key not in METADATA_KEYS:
                raise InputError(f"{path}: unknown metadata field {key!r}",
                                 hint="known fields: " + ", ".join(METADATA_KEYS))
            if not isinstance(value, str):
                raise InputError(f"{path}: metadata field {key} must be a string")
            meta[key] = value
    for key, flag in METADATA_FLAGS:
        if flags.get(flag) is not None:
            meta[key] = flags[flag]
    return meta


def product_document(result: ConformanceResult, metadata: dict, when: dt.datetime) -> str:
    rset = result.requirement_set
    md = {"kubernetesVersion": f"v{rset.version}"}
    for key in METADATA_KEYS:
        md[key] = metadata.get(key, "")
    spec: dict = {}
    for r in result.results:
        spec.setdefault(r.requirement.category, []).append({
            "id": r.requirement.id,
            "description": r.requirement.description,
            "level": r.requirement.level,
            "status": "Implemented" if r.claimed else "",
            "evidence": [evidence_path(r)] if r.claimed else [],
            "notes": _notes(r, when),
        })
    header = (f"# Kubernetes AI Conformance self-assessment for Kubernetes v{rset.version}\n"
              f"# Written by eidos {__version__} (eidos validate --conformance ai) on {_iso(when)}\n"
              f"# against {result.server_version or 'a cluster of unknown version'}; requirements from "
              f"cncf/k8s-ai-conformance docs/{rset.name}.\n"
              "# Requirements left with status \"\" were not established by eidos; see their notes.\n")
    body = yaml.safe_dump({"metadata": md, "spec": spec}, sort_keys=False, allow_unicode=True, width=1 << 20,
                          default_flow_style=False)
    return header + body


def evidence_path(r: RequirementResult) -> str:
    return f"evidence/{r.requirement.id}.md"


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _notes(r: RequirementResult, when: dt.datetime) -> str:
    v = r.verdict
    if r.claimed:
        return f"Established by eidos {__version__} on {_iso(when)}: {v.reason}"
    if v.status == "skip" and r.manual:
        return "Not claimed: " + r.manual
    why = {"fail": "the check failed", "warn": "the check failed", "error": "it could not be established",
           "skip": "it could not be established"}[v.status]
    text = f"Not claimed: {why}: {v.reason}"
    return text + (f"; remedy: {v.remedy}" if v.remedy else "")


def evidence_document(result: ConformanceResult, r: RequirementResult, when: dt.datetime) -> str:
    req, v = r.requirement, r.verdict
    lines = [
        f"# {req.id} ({req.level})",
        "",
        (f"- **Requirement:** `{req.id}` in `{req.category}`, level {req.level}, from "
         f"cncf/k8s-ai-conformance `docs/{result.requirement_set.name}`"),
        (f"- **Result:** {v.status.upper()}; PRODUCT.yaml status: "
         + ("`Implemented`" if r.claimed else "`\"\"` (not claimed)")),
        f"- **Tested:** {_iso(when)} by eidos {__version__} (`eidos validate --conformance ai`)",
        f"- **Cluster:** Kubernetes {result.server_version or 'version unknown'} ({result.cluster})",
        "",
        "## Requirement",
        "",
        req.description,
        "",
        "## Verdict",
        "",
        v.reason,
    ]
    if v.remedy and not r.claimed and v.remedy not in v.reason:
        lines += ["", f"**Remedy:** {v.remedy}"]
    if not r.outcomes:
        lines += ["", "## Checks", "", "eidos has no check for this requirement; nothing was run."]
    else:
        lines += ["", "## Checks"]
    for o in r.outcomes:
        lines += ["", f"### {o.check}: {o.status.upper()}", "", f"- **Ran:** {o.what}", f"- **Found:** {o.reason}"]
        if o.remedy and o.status != "pass":
            lines.append(f"- **Remedy:** {o.remedy}")
        if o.output:
            text = "\n".join(o.output)
            fence = "`" * max(3, _longest_backticks(text) + 1)
            lines += ["", "Output:", "", f"{fence}text", text, fence]
    return "\n".join(lines) + "\n"


def _longest_backticks(text: str) -> int:
    best = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    return best


def write_submission(directory: str | Path, result: ConformanceResult, metadata: dict,
                     when: dt.datetime) -> list[Path]:
    """Write PRODUCT.yaml and evidence/<id>.md for every requirement; the paths written."""
    root = Path(directory)
    written = []
    for r in result.results:
        path = root / evidence_path(r)
        write_atomic(path, evidence_document(result, r, when))
        written.append(path)
    product = root / "PRODUCT.yaml"
    write_atomic(product, product_document(result, metadata, when))
    written.append(product)
    return written
