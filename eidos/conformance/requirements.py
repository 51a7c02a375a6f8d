"""The CNCF requirement files shipped with eidos, and the mapping to eidos checks.

Why data and not code: CNCF revises the requirement set per Kubernetes version (1.36 drops
``dra_support`` and adds three SHOULD items); a new version is a new file and a mapping line,
and the ``id``/``description``/``level`` written into a submission come from the file
itself, unchanged, as CNCF's instructions require.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import yaml

from eidos.errors import InputError, UsageError

HERE = Path(__file__).resolve().parent
REQUIREMENTS_DIR = HERE / "requirements"
MAPPING_FILE = HERE / "mapping.yaml"


@attrs.frozen
class Requirement:
    id: str
    category: str  # the spec section: accelerators, networking, ...
    description: str
    level: str  # MUST | SHOULD
    line: int  # 1-based line of ``- id:`` in the file, for report sources


@attrs.frozen
class RequirementSet:
    version: str  # "1.35"
    path: Path
    metadata_keys: tuple[str, ...]  # the template's metadata fields, in order
    requirements: tuple[Requirement, ...]

    @property
    def name(self) -> str:
        return self.path.name

    def source(self, req: Requirement) -> str:
        return f"eidos/conformance/requirements/{self.path.name}:{req.line}"


@attrs.frozen
class Mapping:
    checks: tuple[str, ...]
    manual: str  # the note for requirements eidos cannot establish ("" when checks exist)


def versions() -> tuple[str, ...]:
    """Every shipped version, oldest first ("1.33", ...)."""
    found = []
    for p in REQUIREMENTS_DIR.glob("AIConformance-*.yaml"):
        m = re.fullmatch(r"AIConformance-(\d+)\.(\d+)\.yaml", p.name)
        if m:
            found.append((int(m[1]), int(m[2])))
    return tuple(f"{a}.{b}" for a, b in sorted(found))


def normalize_version(text: str) -> str:
    """"v1.36", "1.36", "1.36.2", "v1.35.3-eks-abc" -> "1.36"; UsageError otherwise."""
    m = re.match(r"^v?(\d+)\.(\d+)(?:[.+-].*)?$", str(text).strip())
    if not m:
        raise UsageError(f"--k8s-version {text!r}: expected MAJOR.MINOR, e.g. 1.35")
    return f"{int(m[1])}.{int(m[2])}"


def version_from_server(info: dict) -> str:
    """The minor version from ``/version``: gitVersion first (``minor`` can read "33+")."""
    git = str(info.get("gitVersion") or "")
    m = re.match(r"^v?(\d+)\.(\d+)", git)
    if m:
        return f"{int(m[1])}.{int(m[2])}"
    major = re.match(r"\d+", str(info.get("major") or ""))
    minor = re.match(r"\d+", str(info.get("minor") or ""))
    if major and minor:
        return f"{int(major[0])}.{int(minor[0])}"
    raise InputError("the API server's /version names no Kubernetes version",
                     hint="give --k8s-version MAJOR.MINOR")


def load(version: str) -> RequirementSet:
    """The requirement set of ``version``; UsageError naming the shipped ones otherwise."""
    path = REQUIREMENTS_DIR / f"AIConformance-{version}.yaml"
    if not path.is_file():
        raise UsageError(f"no CNCF AI conformance requirements for Kubernetes {version}",
                         hint="eidos ships " + ", ".join(versions()) + "; choose one with --k8s-version")
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    lines = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*-\s*id:\s*(\S+)\s*$", line)
        if m:
            lines[m[1]] = n
    reqs = []
    for category, items in (doc.get("spec") or {}).items():
        for item in items or []:
            reqs.append(Requirement(id=item["id"], category=category, description=item["description"],
                                    level=item["level"], line=lines.get(item["id"], 0)))
    return RequirementSet(version=version, path=path, metadata_keys=tuple(doc.get("metadata") or {}),
                          requirements=tuple(reqs))


def load_mapping() -> dict[str, Mapping]:
    doc = yaml.safe_load(MAPPING_FILE.read_text(encoding="utf-8")) or {}
    out = {}
    for rid, entry in (doc.get("requirements") or {}).items():
        out[rid] = Mapping(checks=tuple(entry.get("checks") or ()), manual=str(entry.get("manual") or ""))
    return out
