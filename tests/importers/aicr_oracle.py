"""AICR v0.11's own recipe merge, written from ref-aicr.md §1.5 and ref-recipe.md §2, for tests.

This is the oracle the importer is judged against, so it shares no code with
eidos.importers: it reads the AICR YAML itself and implements AICR's rules as AICR states
them — match overlays by criteria (``any``/empty matches everything, a specific value needs
the same query value), merge each matched overlay's whole ``spec.base`` chain root first,
constraints last-writer-wins by name, componentRefs field by field (non-empty scalars win,
overrides merge top-level keys only, dependencyRefs replace, manifestFiles append),
registry defaults for empty fields, values = components/<name>/values.yaml ⊕ the one
surviving valuesFile ⊕ overrides, and Kahn's deployment order with a sorted ready queue.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ruamel.yaml import YAML

_ANY = {"", "any"}
_SERVICE_ANY = {"self-managed", "self", "vanilla"}
_OS_ALIAS = {"al2": "amazonlinux", "al2023": "amazonlinux"}


def _yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _norm(field: str, value) -> str:
    text = str(value if value is not None else "").strip().lower()
    if field == "service" and text in _SERVICE_ANY:
        return "any"
    if field == "os":
        text = _OS_ALIAS.get(text, text)
    return "any" if text in _ANY else text


class Aicr:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.registry = {c["name"]: c for c in _yaml(root / "registry.yaml")["components"]}
        self.overlays = {}
        for path in sorted((root / "overlays").glob("*.yaml")):
            doc = _yaml(path)
            self.overlays[doc["metadata"]["name"]] = doc.get("spec") or {}

    # -- matching
    def criteria(self, name: str) -> dict | None:
        raw = self.overlays[name].get("criteria")
        if raw is None:
            return None
        return {k: _norm(k, v) for k, v in raw.items() if k != "nodes"}

    def matches(self, name: str, query: dict) -> bool:
        crit = self.criteria(name)
        if crit is None:
            return False
        for field, want in crit.items():
            if want == "any":
                continue
            if query.get(field, "any") != want:
                return False
        return True

    def chain(self, name: str) -> list[str]:
        out = []
        while name and name != "base":
            out.append(name)
            name = self.overlays[name].get("base") or "base"
        return list(reversed(out))

    def leaves(self) -> list[str]:
        parents = {(s.get("base") or "base") for n, s in self.overlays.items() if n != "base"}
        return sorted(n for n in self.overlays if n != "base" and n not in parents)

    # -- merging
    @staticmethod
    def _merge_ref(base: dict, top: dict) -> dict:
        out = dict(base)
        for key in ("type", "source", "version", "tag", "path", "valuesFile"):
            if top.get(key):
                out[key] = top[key]
        if top.get("overrides"):
            merged = dict(base.get("overrides") or {})
            merged.update(top["overrides"])
            out["overrides"] = merged
        if top.get("dependencyRefs"):
            out["dependencyRefs"] = list(top["dependencyRefs"])
        manifests = list(base.get("manifestFiles") or [])
        manifests += [m for m in top.get("manifestFiles") or [] if m not in manifests]
        out["manifestFiles"] = manifests
        return out

    def resolve(self, query: dict) -> dict:
        query = {k: _norm(k, v) for k, v in query.items()}
        base = self.overlays["base"]
        constraints = {c["name"]: str(c["value"]) for c in base.get("constraints") or []}
        refs = {r["name"]: copy.deepcopy(r) for r in base.get("componentRefs") or []}
        matched = [n for n in self.overlays if n != "base" and self.matches(n, query)]
        matched.sort(key=lambda n: sum(1 for v in self.criteria(n).values() if v != "any"))
        applied, seen = ["base"], set()
        for name in matched:
            for link in self.chain(name):
                if link in seen:
                    continue
                seen.add(link)
                spec = self.overlays[link]
                for c in spec.get("constraints") or []:
                    constraints[c["name"]] = str(c["value"])
                for r in spec.get("componentRefs") or []:
                    refs[r["name"]] = self._merge_ref(refs[r["name"]], r) if r["name"] in refs else copy.deepcopy(r)
                applied.append(link)
        components = {}
        for name, ref in refs.items():
            reg = self.registry.get(name, {})
            helm = reg.get("helm") or {}
            components[name] = {
                "version": str(ref.get("version") or helm.get("defaultVersion") or ""),
                "source": ref.get("source") or helm.get("defaultRepository") or "",
                "namespace": helm.get("defaultNamespace") or "",
                "deps": list(ref.get("dependencyRefs") or []),
                "manifests": list(ref.get("manifestFiles") or []),
                "values": self.values(name, ref),
            }
        return {"applied": applied, "constraints": constraints, "components": components,
                "order": self.order({n: c["deps"] for n, c in components.items()})}

    def values(self, name: str, ref: dict) -> dict:
        vf, overrides = ref.get("valuesFile") or "", ref.get("overrides") or {}
        if not vf and not overrides:
            return {}
        default = f"components/{name}/values.yaml"
        out: dict = {}
        if vf == default or (self.root / default).is_file():
            out = _deep(out, _yaml(self.root / default) or {})
        if vf and vf != default:
            out = _deep(out, _yaml(self.root / vf) or {})
        return _deep(out, overrides)

    @staticmethod
    def order(deps: dict[str, list[str]]) -> list[str]:
        indegree = {n: len(d) for n, d in deps.items()}
        ready = sorted(n for n, k in indegree.items() if k == 0)
        out = []
        while ready:
            n = ready.pop(0)
            out.append(n)
            for m, d in deps.items():
                if n in d:
                    indegree[m] -= 1
                    if indegree[m] == 0:
                        ready.append(m)
                        ready.sort()
        return out


def _deep(dst, src):
    if isinstance(dst, dict) and isinstance(src, dict):
        out = dict(dst)
        for k, v in src.items():
            out[k] = _deep(dst[k], v) if k in dst else copy.deepcopy(v)
        return out
    return copy.deepcopy(src)
