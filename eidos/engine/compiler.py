"""Compile parsed modules into a ``RuleGraph``, checking the whole graph up front.

The reference found bad parents, cycles and unknown dependencies only when a query
happened to hit them. Here every check runs on every compile, so a broken rule fails CI
before it reaches a cluster. Checks, in order: names and duplicates; the fact schema;
components and their payload files; overlays (parents, inheritance cycles, conditions,
requirements, component changes); ``needs`` cycles over every edge any rule can add;
checks and inference rules; conditions that can never hold; overlays whose effective
conditions coincide.
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict
from typing import Iterable

from eidos.engine import analysis
from eidos.lang import ast
from eidos.lang.diagnostics import Reporter, SourceFile, Span, did_you_mean
from eidos.errors import InputError
from eidos.lang.expr import IR, Checker, Cmp, In, TrueE, atoms, conjoin, conjuncts, render
from eidos.engine.graph import (
    CheckSpec,
    ComponentChange,
    ComponentSpec,
    FactSchema,
    InferSpec,
    LazyOverlays,
    OverlaySpec,
    Payload,
    RequirementSpec,
    RuleGraph,
    ValueOp,
)
from eidos.engine.sources import PayloadError, RuleSet, resolve_payload

SEVERITIES = ("error", "warning", "info")
SCHEDULING_ROLES = ("system", "accelerated")
MAX_INDEX_KEYS = 256


class _Decls:
    """Declarations of one kind after layering: a higher layer's name replaces a lower one."""

    def __init__(self, kind: str, reporter: Reporter):
        self.kind = kind
        self.reporter = reporter
        self.items: dict[str, tuple[int, object]] = {}

    def add(self, layer: int, name: ast.Name, decl) -> None:
        if name.value in self.items:
            old_layer, old = self.items[name.value]
            if old_layer == layer:
                self.reporter.error(
                    "E205",
                    f"{self.kind} '{name.value}' is declared twice",
                    name.span,
                    notes=[f"first declared at {old.span}"],
                )
                return
            if old_layer < layer:
                self.reporter.warning(
                    "W504",
                    f"{self.kind} '{name.value}' replaces the one at {old.span}",
                    name.span,
                )
            else:
                return
        self.items[name.value] = (layer, decl)

    def __iter__(self):
        for name in sorted(self.items):
            yield name, self.items[name][0], self.items[name][1]

    def __contains__(self, name: str) -> bool:
        return name in self.items


def compile_ruleset(ruleset: RuleSet, reporter: Reporter | None = None) -> tuple[RuleGraph | None, Reporter]:
    """Parse and compile; returns (graph or None when there are errors, reporter)."""
    from eidos.lang.parser import parse_module  # Lark is only needed on this path

    reporter = reporter or Reporter()
    # Compiling allocates millions of small acyclic objects (tokens, AST, IR); the cyclic
    # collector would rescan them over and over for nothing, so it waits until we are done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        modules = []
        for f in ruleset.files:
            modules.append((f.layer, parse_module(SourceFile(f.display, f.text), reporter)))
        graph = _Compiler(ruleset, reporter).run(modules)
    finally:
        if collecting:
            gc.enable()
    return (None if reporter.has_errors else graph), reporter


class _Compiler:
    def __init__(self, ruleset: RuleSet, reporter: Reporter):
        self.ruleset = ruleset
        self.r = reporter
        self.payloads: dict[str, Payload] = {}
        self._payload_failures: set[tuple[int, str]] = set()

    # ------------------------------------------------------------------ driver
    def run(self, modules) -> RuleGraph:
        facts = _Decls("fact", self.r)
        comps = _Decls("component", self.r)
        overlays = _Decls("overlay", self.r)
        checks = _Decls("check", self.r)
        infers: list[tuple[int, ast.InferDecl]] = []
        for layer, module in modules:
            for decl in module.decls:
                if isinstance(decl, ast.FactDecl):
                    facts.add(layer, decl.name, decl)
                elif isinstance(decl, ast.ComponentDecl):
                    comps.add(layer, decl.name, decl)
                elif isinstance(decl, ast.OverlayDecl):
                    overlays.add(layer, decl.name, decl)
                elif isinstance(decl, ast.CheckDecl):
                    checks.add(layer, decl.name, decl)
                elif isinstance(decl, ast.InferDecl):
                    infers.append((layer, decl))

        fact_specs = self._facts(facts)
        types = {name: spec.type for name, spec in fact_specs.items()}
        self.checker = Checker(types, self.r)
        comp_specs = self._components(comps)
        overlay_specs = self._overlays(overlays, comp_specs)
        self._needs_cycles(comp_specs, overlay_specs)
        check_specs = self._checks(checks)
        infer_specs = self._infers(infers, fact_specs)
        self._condition_analysis(overlay_specs, fact_specs)
        index = build_index(overlay_specs.values())
        return RuleGraph(
            facts=fact_specs,
            components=comp_specs,
            overlays=LazyOverlays(overlay_specs),
            checks=check_specs,
            infers=tuple(infer_specs),
            payloads=dict(sorted(self.payloads.items())),
            index=index,
            source_hash=self.ruleset.digest,
            warnings=tuple(d for d in self.r.sorted() if not d.is_error),
        )

    # ------------------------------------------------------------------ facts
    def _facts(self, decls: _Decls) -> dict[str, FactSchema]:
        out = {}
        for name, _layer, d in decls:
            values: list[str] = []
            for v in d.values:
                if v.value in values:
                    self.r.error("E205", f"value '{v.value}' listed twice in fact '{name}'", v.span)
                else:
                    values.append(v.value)
            aliases = []
            for alias, target in d.aliases:
                if target.value not in values:
                    self.r.error("E202", f"alias target '{target.value}' is not a value of '{name}'", target.span,
                                 hint=did_you_mean(target.value, values))
                elif alias.value in values:
                    self.r.error("E205", f"alias '{alias.value}' is already a value of '{name}'", alias.span)
                else:
                    aliases.append((alias.value, target.value))
            if d.kind == "enum" and not values:
                self.r.error("E301", f"enum fact '{name}' has no values", d.span)
            out[name] = FactSchema(name, d.kind, tuple(values), tuple(aliases), d.doc, d.span)
        return out

    # ------------------------------------------------------------------ payloads
    def _payload(self, layer: int, ref: ast.Name, *, values: bool) -> str | None:
        key = ref.value
        if (layer, key) in self._payload_failures:
            return None
        if key in self.payloads:
            return key
        try:
            origin, text = resolve_payload(self.ruleset, layer, key)
        except PayloadError as err:
            self._payload_failures.add((layer, key))
            self.r.error(err.code, err.message, ref.span)
            return None
        data, lines = None, ()
        if values:
            from eidos.io import yamlio

            try:
                data, line_map = yamlio.load(text, origin, with_lines=True)
            except InputError as err:
                self._payload_failures.add((layer, key))
                self.r.error("E406", err.message, ref.span)
                return None
            if data is None:
                data = {}
            if not isinstance(data, dict):
                self._payload_failures.add((layer, key))
                self.r.error("E406", f"{origin}: Helm values must be a mapping at the top level", ref.span)
                return None
            lines = tuple(sorted(line_map.items(), key=lambda kv: tuple(map(str, kv[0]))))
        self.payloads[key] = Payload(key, origin, text, data, lines)
        return key

    # ------------------------------------------------------------------ values
    def _value(self, lit: ast.Literal):
        """A literal in ``set`` becomes a plain YAML value; versions must be quoted."""
        k = lit.kind
        if k in ("string", "int", "bool", "null"):
            return lit.value
        if k == "float":
            return lit.value
        if k == "version":
            text = str(lit.value)
            if re.fullmatch(r"\d+\.\d+", text):
                if text.endswith("0"):
                    self.r.warning("W503", f"{text} is the number {float(text)!r} in Helm values", lit.span,
                                   hint=f'quote it to keep the text: "{text}"')
                return float(text)
            self.r.error("E301", f"version {text} in a value must be quoted", lit.span, hint=f'write "{text}"')
            return text
        if k == "symbol":
            self.r.error("E301", f"bare word '{lit.value}' in a value", lit.span, hint=f'quote strings: "{lit.value}"')
            return lit.value
        if k == "list":
            return [self._value(item) for item in lit.value]
        if k == "map":
            out = {}
            for key, item in lit.value:
                if key in out:
                    self.r.error("E205", f"key '{key}' appears twice in a map", item.span)
                out[key] = self._value(item)
            return out
        raise AssertionError(k)

    def _ops(self, layer: int, values: Iterable[ast.Name], sets, unsets) -> tuple[ValueOp, ...]:
        ops = []
        for ref in values:
            key = self._payload(layer, ref, values=True)
            if key is not None:
                ops.append(ValueOp("values", (), key, ref.span))
        for s in sets:
            ops.append(ValueOp("set", s.path, self._value(s.value), s.span))
        for u in unsets:
            ops.append(ValueOp("unset", u.path, None, u.span))
        return tuple(ops)

    # ------------------------------------------------------------------ components
    def _components(self, decls: _Decls) -> dict[str, ComponentSpec]:
        out = {}
        alias_owner: dict[str, str] = {}
        for name, layer, d in decls:
            kind, repo, chart, version, source, tag, path = "manifest", "", "", "", "", "", ""
            version_span = d.span
            if d.helm and d.kustomize:
                self.r.error("E301", f"component '{name}' is both a Helm chart and a Kustomize app", d.kustomize.span)
            if d.helm:
                kind = "helm"
                repo = d.helm.repo.value if d.helm.repo else ""
                chart = d.helm.chart.value if d.helm.chart else name
                version = d.helm.version.value if d.helm.version else ""
                version_span = d.helm.version.span if d.helm.version else d.helm.span
                if not repo:
                    self.r.error("E301", f"Helm component '{name}' needs a repo", d.helm.span,
                                 hint='helm repo "https://…" chart "…" version "…"')
                if not version:
                    self.r.error("E301", f"Helm component '{name}' needs a version", d.helm.span,
                                 hint="pin every chart so recipes are reproducible")
            elif d.kustomize:
                kind = "kustomize"
                source = d.kustomize.source.value if d.kustomize.source else ""
                tag = d.kustomize.tag.value if d.kustomize.tag else ""
                path = d.kustomize.path.value if d.kustomize.path else ""
                version, version_span = tag, (d.kustomize.tag.span if d.kustomize.tag else d.kustomize.span)
                if not source or not tag:
                    self.r.error("E301", f"Kustomize component '{name}' needs a source and a tag", d.kustomize.span)
            manifests = []
            for m in d.manifests:
                key = self._payload(layer, m, values=False)
                if key is not None and key not in manifests:
                    manifests.append(key)
            for a in d.aliases:
                if a.value in alias_owner and alias_owner[a.value] != name:
                    self.r.error("E205", f"alias '{a.value}' is also used by component '{alias_owner[a.value]}'", a.span)
                elif a.value in decls and a.value != name:
                    self.r.error("E205", f"alias '{a.value}' is the name of another component", a.span)
                alias_owner[a.value] = name
            scheduling = []
            for s in d.scheduling:
                if s.role.value not in SCHEDULING_ROLES:
                    self.r.error("E301", f"scheduling role must be system or accelerated, not '{s.role.value}'",
                                 s.role.span)
                    continue
                scheduling.append((s.role.value, tuple(p.value for p in s.node_selector_paths),
                                   tuple(p.value for p in s.toleration_paths)))
            scheduling.sort()
            out[name] = ComponentSpec(
                name=name,
                kind=kind,
                repository=repo,
                chart=chart,
                version=version,
                source=source,
                tag=tag,
                path=path,
                namespace=d.namespace.value if d.namespace else name,
                manifests=tuple(manifests),
                needs=tuple(n.value for n in d.needs),
                display=d.display or name,
                aliases=tuple(a.value for a in d.aliases),
                scheduling=tuple(scheduling),
                ops=self._ops(layer, d.values, d.sets, d.unsets),
                doc=d.doc,
                span=d.span,
                version_span=version_span,
            )
        for name, _layer, d in decls:
            for n in d.needs:
                self._known_component(n, out)
        return out

    def _known_component(self, ref: ast.Name, comps) -> bool:
        if ref.value in comps:
            return True
        self.r.error("E204", f"unknown component '{ref.value}'", ref.span,
                     hint=did_you_mean(ref.value, comps) or "declare it with 'component NAME { … }'")
        return False

    # ------------------------------------------------------------------ overlays
    def _overlays(self, decls: _Decls, comps) -> dict[str, OverlaySpec]:
        raw = {name: (layer, d) for name, layer, d in decls}
        chains: dict[str, tuple[str, ...] | None] = {}
        for name in raw:
            chains[name] = self._chain(name, raw)
        own: dict[str, IR | None] = {}
        for name, (layer, d) in raw.items():
            parts = [self.checker.check(w, "facts") for w in d.when]
            if any(p is None for p in parts):
                own[name] = None
            else:
                own[name] = conjoin(parts) if parts else None
            if not d.when and d.parent is None:
                self.r.error("E208", f"overlay '{name}' has no condition", d.name.span,
                             hint="add 'when …', or 'when always' if it really applies to every cluster")
        out = {}
        for name, (layer, d) in sorted(raw.items()):
            chain = chains[name]
            if chain is None:
                continue
            parts, broken = [], False
            for link in chain:
                link_decl = raw[link][1]
                if link_decl.when and own[link] is None:
                    broken = True
                if own[link] is not None:
                    parts.append(own[link])
            if broken:
                continue
            condition = conjoin(parts)
            requirements = self._overlay_requirements(name, d, chain, raw)
            changes = []
            for use in d.components:
                if not self._known_component(use.name, comps):
                    continue
                changes.append(self._change(layer, use, comps))
            drops = []
            for ref in d.drops:
                if self._known_component(ref, comps):
                    drops.append((ref.value, ref.span))
            facts_used = {a.operand.name for a in atoms(condition)}
            out[name] = OverlaySpec(
                name=name,
                parent=d.parent.value if d.parent else None,
                chain=chain,
                condition=condition,
                condition_text=render(condition),
                specificity=len(facts_used),
                depth=len(chain) - 1,
                requirements=requirements,
                components=tuple(changes),
                drops=tuple(drops),
                doc=d.doc,
                span=d.span,
            )
        return out

    def _chain(self, name: str, raw) -> tuple[str, ...] | None:
        """Root-first ancestry; reports unknown parents and cycles (each cycle once)."""
        path = [name]
        seen = {name}
        current = raw[name][1]
        while current.parent is not None:
            parent = current.parent.value
            if parent not in raw:
                if current.name.value == name:
                    self.r.error("E203", f"overlay '{name}' extends unknown overlay '{parent}'", current.parent.span,
                                 hint=did_you_mean(parent, raw))
                return None
            if parent in seen:
                cycle = path[path.index(parent):] + [parent]
                if min(cycle[:-1]) == name:  # report a cycle once, from its smallest member
                    self.r.error("E401", "inheritance cycle: " + " -> ".join(cycle), raw[name][1].parent.span,
                                 hint="an overlay cannot extend itself, directly or through others")
                return None
            path.append(parent)
            seen.add(parent)
            current = raw[parent][1]
        return tuple(reversed(path))

    def _requirement(self, owner: str, req: ast.Requirement) -> RequirementSpec | None:
        ir = self.checker.check(req.expr, "measurements")
        severity = "error"
        if req.severity is not None:
            if req.severity.value not in SEVERITIES:
                self.r.error("E301", f"severity must be error, warning or info, not '{req.severity.value}'",
                             req.severity.span)
            else:
                severity = req.severity.value
        if ir is None:
            return None
        return RequirementSpec(
            name=req.name.value if req.name else None,
            ir=ir,
            text=render(ir),
            severity=severity,
            message=req.message,
            remedy=req.remedy,
            replace=req.replace,
            owner=owner,
            span=req.span,
        )

    def _overlay_requirements(self, name, d, chain, raw) -> tuple[RequirementSpec, ...]:
        inherited: dict[str, ast.Requirement] = {}
        for link in chain[:-1]:
            for req in raw[link][1].requires:
                if req.name is not None:
                    inherited[req.name.value] = req
        out, names = [], {}
        for req in d.requires:
            if req.name is not None:
                n = req.name.value
                if n in names:
                    self.r.error("E205", f"requirement '{n}' is declared twice in overlay '{name}'", req.name.span,
                                 notes=[f"first declared at {names[n]}"])
                names[n] = req.span
                if req.replace and n not in inherited:
                    self.r.error("E206", f"'replace {n}' names no requirement of an ancestor of '{name}'",
                                 req.name.span, hint=did_you_mean(n, inherited))
                elif not req.replace and n in inherited:
                    self.r.error("E209", f"requirement '{n}' is already defined at {inherited[n].span}",
                                 req.name.span, hint=f"write 'replace {n}: …' to replace it on purpose")
            spec = self._requirement(name, req)
            if spec is None:
                continue
            if req.replace and req.name is not None and req.name.value in inherited:
                old = self.checker.check(inherited[req.name.value].expr, "measurements")
                if old is not None and analysis.loosens(old, spec.ir):
                    self.r.warning("W502", f"'replace {req.name.value}' loosens '{render(old)}' to '{spec.text}'",
                                   req.span, notes=[f"replaced requirement at {inherited[req.name.value].span}"])
            out.append(spec)
        return tuple(out)

    def _change(self, layer: int, use: ast.ComponentUse, comps) -> ComponentChange:
        manifests = []
        for m in use.manifests:
            key = self._payload(layer, m, values=False)
            if key is not None:
                manifests.append(key)
        for n in use.needs:
            self._known_component(n, comps)
        for n in use.drop_needs:
            self._known_component(n, comps)
        return ComponentChange(
            name=use.name.value,
            version=use.version.value if use.version else None,
            version_span=use.version.span if use.version else None,
            namespace=use.namespace.value if use.namespace else None,
            manifests=tuple(manifests),
            drop_manifests=tuple(m.value for m in use.drop_manifests),
            needs=tuple(n.value for n in use.needs if n.value in comps),
            drop_needs=tuple(n.value for n in use.drop_needs),
            ops=self._ops(layer, use.values, use.sets, use.unsets),
            span=use.span,
        )

    # ------------------------------------------------------------------ needs
    def _needs_cycles(self, comps, overlays) -> None:
        """A cycle over every edge any rule can add is a cycle some recipe can hit."""
        edges: dict[str, set[str]] = defaultdict(set)
        where: dict[tuple[str, str], Span] = {}
        for c in comps.values():
            for n in c.needs:
                edges[c.name].add(n)
                where.setdefault((c.name, n), c.span)
        for o in overlays.values():
            for ch in o.components:
                for n in ch.needs:
                    edges[ch.name].add(n)
                    where.setdefault((ch.name, n), ch.span)
        state: dict[str, int] = {}
        reported: set[frozenset] = set()

        def visit(node, stack):
            state[node] = 1
            stack.append(node)
            for nxt in sorted(edges.get(node, ())):
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt):] + [nxt]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.r.error("E402", "needs cycle: " + " -> ".join(cycle), where[(node, nxt)],
                                     hint="components cannot need each other in a circle")
                elif state.get(nxt) is None:
                    visit(nxt, stack)
            stack.pop()
            state[node] = 2

        for node in sorted(edges):
            if state.get(node) is None:
                visit(node, [])

    # ------------------------------------------------------------------ checks & infers
    def _checks(self, decls: _Decls) -> dict[str, CheckSpec]:
        out = {}
        for name, _layer, d in decls:
            parts = [self.checker.check(w, "facts") for w in d.when]
            if not d.when:
                self.r.error("E208", f"check '{name}' has no condition", d.name.span,
                             hint="add 'when …', or 'when always' if it applies to every cluster")
                continue
            if any(p is None for p in parts):
                continue
            condition = conjoin(parts)
            reqs = []
            seen: dict[str, Span] = {}
            for req in d.requires:
                if req.replace:
                    self.r.error("E206", "checks cannot replace requirements", req.span)
                    continue
                if req.name is not None:
                    if req.name.value in seen:
                        self.r.error("E205", f"requirement '{req.name.value}' is declared twice in check '{name}'",
                                     req.name.span)
                    seen[req.name.value] = req.span
                spec = self._requirement(name, req)
                if spec is not None:
                    reqs.append(spec)
            out[name] = CheckSpec(name, condition, render(condition), tuple(reqs), d.category, d.doc, d.span)
        return out

    def _infers(self, infers, facts) -> list[InferSpec]:
        out = []
        for _layer, d in infers:
            fact = facts.get(d.fact.value)
            if fact is None:
                self.r.error("E201", f"unknown fact '{d.fact.value}'", d.fact.span, hint=did_you_mean(d.fact.value, facts))
                continue
            condition: IR | None = TrueE()
            if d.when is not None:
                condition = self.checker.check(d.when, "measurements")
                if condition is None:
                    continue
            if isinstance(d.value, ast.PathRef):
                probe = ast.Exists(d.value, d.value.span)
                checked = self.checker.check(probe, "measurements")
                if checked is None:
                    continue
                out.append(InferSpec(fact.name, checked.operand, True, condition, render(condition), d.span))
                continue
            probe = ast.Compare("==", ast.FactRef(fact.name, d.fact.span), d.value, d.span)
            checked = self.checker.check(probe, "facts")
            if checked is None:
                continue
            out.append(InferSpec(fact.name, checked.const.value, False, condition, render(condition), d.span))
        out.sort(key=lambda s: (s.fact, s.span.file, s.span.line))
        return out

    # ------------------------------------------------------------------ analysis
    def _condition_analysis(self, overlays: dict[str, OverlaySpec], facts) -> None:
        canon: dict[object, str] = {}
        for name, spec in sorted(overlays.items()):
            shape = analysis.normal_form(spec.condition, facts)
            if shape is None:
                continue
            if shape == analysis.NEVER:
                self.r.error("E405", f"the condition of overlay '{name}' can never hold: {spec.condition_text}",
                             spec.span, hint="two tests on the same fact contradict each other")
                continue
            if shape in canon:
                other = overlays[canon[shape]]
                self.r.warning(
                    "W501",
                    f"overlays '{canon[shape]}' and '{name}' apply under the same condition ({spec.condition_text})",
                    spec.span,
                    notes=[f"'{canon[shape]}' is at {other.span}"],
                    hint="merge them, or make one more specific",
                )
            else:
                canon[shape] = name


def build_index(overlays: Iterable[OverlaySpec]) -> dict[frozenset, tuple[str, ...]]:
    """Key each overlay by the (fact, value) pairs its condition requires.

    A query looks up the subsets of its own pairs, so its cost grows with the number of
    facts it gives, not with the number of overlays. Conditions without such pairs (or
    whose pairs would multiply past ``MAX_INDEX_KEYS``) are keyed by fewer pairs, which is
    always sound: the matcher evaluates the full condition of every candidate.
    """
    index: dict[frozenset, list[str]] = defaultdict(list)
    for spec in overlays:
        keys: list[tuple] = [()]
        for part in conjuncts(spec.condition):
            alternatives = None
            if isinstance(part, Cmp) and part.op == "==" and part.operand.kind == "fact":
                alternatives = (part.const.value,)
            elif isinstance(part, In) and not part.negated and part.operand.kind == "fact" and part.consts:
                alternatives = tuple(c.value for c in part.consts)
            if alternatives is None or len(keys) * len(alternatives) > MAX_INDEX_KEYS:
                continue
            fact = part.operand.name
            keys = [k + ((fact, v),) for k in keys for v in alternatives] if len(alternatives) > 1 else [
                k + ((fact, alternatives[0]),) for k in keys]
        for key in {frozenset(k) for k in keys}:
            index[key].append(spec.name)
    return {k: tuple(sorted(v)) for k, v in index.items()}

