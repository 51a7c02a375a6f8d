"""What a chart reads: its default values (subcharts' included) and the value paths its templates use.

The templates are read as text, not executed: every ``.Values.a.b`` chain and every
``index .Values "a" "b"`` form gives a path the chart reads. The analysis is conservative:
a path read as a whole (``toYaml .Values.a``, ``$x := .Values.a``, ``with .Values.a``)
makes every key under it live; a subchart packed as an archive (not unpacked) makes its
whole key live, as does a template passing the root ``.Values`` around.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs

from eidos.io import yamlio

Path_ = tuple[str, ...]

_CHAIN = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_INDEX = re.compile(
    r"\b(?:index|hasKey|get|dig)\s+\(?\s*\$?[A-Za-z0-9_]*\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\)?((?:\s+\"[^\"]*\")+)"
)
_ASSIGN = re.compile(
    r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*((?:index|hasKey|get|dig)\s+[^}]*?|\$?\.Values(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*-?\}\}"
)
_QUOTED = re.compile(r"\"([^\"]*)\"")
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")


@attrs.frozen(eq=False)
class ChartInfo:
    """The static facts about one chart directory that ``verify`` needs."""

    path: Path
    name: str
    defaults: dict[str, Any]  # values.yaml, with subcharts' defaults under their keys
    reads: frozenset[Path_]  # value paths the templates read (root-relative)
    schema: dict | None  # values.schema.json of the top chart

    def is_live(self, path: Path_) -> bool:
        """True if the chart defaults ``path`` or any template reads it, a parent or a child."""
        if _in_defaults(self.defaults, path):
            return True
        n = len(path)
        for read in self.reads:
            m = len(read)
            if (m <= n and path[:m] == read) or (m > n and read[:n] == path):
                return True
        return False

    def known_paths(self) -> list[str]:
        """Every default leaf and read path, dotted: candidates for did-you-mean."""
        out = {".".join(p) for p in _leaf_paths(self.defaults)}
        out |= {".".join(p) for p in self.reads if p}
        return sorted(out)


def _in_defaults(defaults: Any, path: Path_) -> bool:
    node = defaults
    for seg in path:
        if not isinstance(node, dict) or seg not in node:
            return False
        node = node[seg]
    return True


def _leaf_paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    if isinstance(value, dict) and value:
        out: list[Path_] = []
        for key, child in value.items():
            out += _leaf_paths(child, prefix + (str(key),))
        return out
    return [prefix] if prefix else []


def template_reads(text: str) -> set[Path_]:
    """The value paths one template text reads (``()`` means the whole ``.Values``)."""
    reads: set[Path_] = set()
    spans: list[tuple[int, int]] = []
    for m in _INDEX.finditer(text):
        chain = tuple(s for s in m.group(1).split(".") if s)
        reads.add(chain + tuple(_QUOTED.findall(m.group(2))))
        spans.append(m.span())
    for m in _CHAIN.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        reads.add(tuple(s for s in m.group(1).split(".") if s))
    # ``$v := index .Values "a"`` then ``$v.b.c`` reads a.b.c (the base read keeps all of a live
    # anyway; this is for precision where a caller looks below it, e.g. eidos' own manifests)
    for m in _ASSIGN.finditer(text):
        base = _base_path(m.group(2))
        if base is None:
            continue
        for use in re.finditer(r"\$" + re.escape(m.group(1)) + r"((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
            reads.add(base + tuple(s for s in use.group(1).split(".") if s))
    return reads


def _base_path(expr: str) -> Path_ | None:
    m = _INDEX.match(expr)
    if m:
        return tuple(s for s in m.group(1).split(".") if s) + tuple(_QUOTED.findall(m.group(2)))
    m = _CHAIN.match(expr.lstrip("$"))
    if m:
        return tuple(s for s in m.group(1).split(".") if s)
    return None


def _load_yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    return yamlio.load(path.read_text(encoding="utf-8"), str(path))


def _merge_under(target: dict, key: str, sub: dict) -> None:
    """Subchart defaults under ``key``; the parent's own values for it win."""
    existing = target.get(key)
    if not isinstance(existing, dict):
        existing = {} if existing is None else existing
    if isinstance(existing, dict):
        merged = dict(sub)
        merged.update(existing)
        target[key] = merged


def _walk(chart: Path, prefix: Path_, reads: set[Path_]) -> dict:
    """Defaults of ``chart`` (with subcharts); adds its template reads under ``prefix``."""
    defaults = _load_yaml(chart / "values.yaml") or {}
    if not isinstance(defaults, dict):
        defaults = {}
    templates = chart / "templates"
    if templates.is_dir():
        for file in sorted(templates.rglob("*")):
            if file.is_file() and file.name.endswith(_TEMPLATE_SUFFIXES):
                for read in template_reads(file.read_text(encoding="utf-8", errors="replace")):
                    if read[:1] == ("global",):
                        reads.add(read)
                    reads.add(prefix + read)
    meta = _load_yaml(chart / "Chart.yaml") or {}
    deps = meta.get("dependencies") or [] if isinstance(meta, dict) else []
    keys = {d.get("name"): d.get("alias") or d.get("name") for d in deps if isinstance(d, dict)}
    for dep in deps:
        if isinstance(dep, dict):
            for cond in str(dep.get("condition") or "").split(","):
                if cond.strip():
                    reads.add(prefix + tuple(cond.strip().split(".")))
            for tag in dep.get("tags") or ():
                reads.add(prefix + ("tags", str(tag)))
    subdir = chart / "charts"
    if subdir.is_dir():
        for sub in sorted(subdir.iterdir()):
            if sub.is_dir() and (sub / "Chart.yaml").is_file():
                sub_meta = _load_yaml(sub / "Chart.yaml") or {}
                name = sub_meta.get("name", sub.name) if isinstance(sub_meta, dict) else sub.name
                key = keys.get(name, name)
                _merge_under(defaults, key, _walk(sub, prefix + (key,), reads))
            elif sub.name.endswith(".tgz"):
                name = re.sub(r"-v?\d[^/]*\.tgz$", "", sub.name)
                reads.add(prefix + (keys.get(name, name),))  # not unpacked: all of it is live
    return defaults


def load_chart_info(chart: Path) -> ChartInfo:
    reads: set[Path_] = set()
    defaults = _walk(chart, (), reads)
    meta = _load_yaml(chart / "Chart.yaml") or {}
    schema_file = chart / "values.schema.json"
    schema = None
    if schema_file.is_file():
        import json

        schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return ChartInfo(
        path=chart,
        name=str(meta.get("name", chart.parent.name)) if isinstance(meta, dict) else chart.parent.name,
        defaults=defaults,
        reads=frozenset(reads),
        schema=schema,
    )
