"""Compile parsed modules into a ``RuleGraph``: an ordered list of named stages.

The reference found bad parents, cycles and unknown dependencies only when a query
happened to hit them. Here every check runs on every compile, so a broken rule fails CI
before it reaches a cluster. Each stage is one function over a ``CompileContext``, run in
the order of ``STAGES``; a stage reads what earlier stages left in the context and adds
its own part, reporting problems to the context's reporter:

``parse`` → ``declarations`` (names and duplicates, layering) → ``facts`` (the schema) →
``components`` (catalog entries, their names/versions and payload files) → ``overlays``
(parents, inheritance cycles, conditions, requirements, component changes) →
``needs-cycles`` (over every edge any rule can add) → ``checks`` → ``infers`` →
``condition-analysis`` (conditions that never hold, overlays whose conditions coincide) →
``index`` (the fact index of :mod:`eidos.engine.index`).

File I/O lives in :mod:`eidos.engine.payloads`, literal conversion in
:mod:`eidos.engine.literals`, cycle detection in :mod:`eidos.engine.cycles`, name and
version rules in :mod:`eidos.engine.names`, fact coercion in :mod:`eidos.engine.facts`.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable

import attrs

from eidos.engine import analysis, cycles, names
from eidos.engine.facts import FactValueError, coerce_fact
from eidos.engine.graph import (
    CheckSpec,
    ComponentChange,
    ComponentSpec,
    FactSchema,
    InferSpec,
    LazyOverlays,
    OverlaySpec,
    RequirementSpec,
    RuleGraph,
    ValueOp,
    extend_condition,
)
from eidos.engine.index import build_index
from eidos.engine.literals import set_value
from eidos.engine.payloads import PayloadLoader
from eidos.engine.sources import RuleSet
from eidos.lang import ast
from eidos.lang.diagnostics import Reporter, SourceFile, Span, did_you_mean
from eidos.lang.expr import IR, Checker, Cmp, In, Range, TrueE, atoms, conjoin, render

SEVERITIES = ("error", "warning", "info")
SCHEDULING_ROLES = ("system", "accelerated")


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


@attrs.define
class CompileContext:
    """Everything the stages share: the input, the reporter, and each stage's result."""

    ruleset: RuleSet
    r: Reporter
    payloads: PayloadLoader
    modules: list = attrs.Factory(list)  # (layer, ast.Module)
    fact_decls: _Decls | None = None
    component_decls: _Decls | None = None
    overlay_decls: _Decls | None = None
    check_decls: _Decls | None = None
    infer_decls: list = attrs.Factory(list)  # (layer, ast.InferDecl)
    checker: Checker | None = None
    facts: dict = attrs.Factory(dict)  # name -> FactSchema
    components: dict = attrs.Factory(dict)  # name -> ComponentSpec
    overlays: dict = attrs.Factory(dict)  # name -> OverlaySpec
    checks: dict = attrs.Factory(dict)  # name -> CheckSpec
    infers: list = attrs.Factory(list)  # InferSpec
    index: dict = attrs.Factory(dict)

    def graph(self) -> RuleGraph:
        return RuleGraph(
            facts=self.facts,
            components=self.components,
            overlays=LazyOverlays(self.overlays),
            checks=self.checks,
            infers=tuple(self.infers),
            payloads=dict(sorted(self.payloads.payloads.items())),
            index=self.index,
            source_hash=self.ruleset.digest,
            warnings=tuple(d for d in self.r.sorted() if not d.is_error),
        )


def compile_ruleset(ruleset: RuleSet, reporter: Reporter | None = None) -> tuple[RuleGraph | None, Reporter]:
    """Run every stage; returns (graph or None when there are errors, reporter)."""
    reporter = reporter or Reporter()
    ctx = CompileContext(ruleset, reporter, PayloadLoader(ruleset, reporter))
    # Compiling allocates millions of small acyclic objects (tokens, AST, IR); the cyclic
    # collector would rescan them over and over for nothing, so it waits until we are done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _name, stage in STAGES:
            stage(ctx)
        graph = ctx.graph()
    finally:
        if collecting:
            gc.enable()
    return (None if reporter.has_errors else graph), reporter


# ---------------------------------------------------------------------- parse, declarations


def parse(ctx: CompileContext) -> None:
    from eidos.lang.parser import parse_module  # Lark is only needed on this path

    for f in ctx.ruleset.files:
        ctx.modules.append((f.layer, parse_module(SourceFile(f.display, f.text), ctx.r)))


def declarations(ctx: CompileContext) -> None:
    ctx.fact_decls = _Decls("fact", ctx.r)
    ctx.component_decls = _Decls("component", ctx.r)
    ctx.overlay_decls = _Decls("overlay", ctx.r)
    ctx.check_decls = _Decls("check", ctx.r)
    for layer, module in ctx.modules:
        for decl in module.decls:
            if isinstance(decl, ast.FactDecl):
                ctx.fact_decls.add(layer, decl.name, decl)
            elif isinstance(decl, ast.ComponentDecl):
                ctx.component_decls.add(layer, decl.name, decl)
            elif isinstance(decl, ast.OverlayDecl):
                ctx.overlay_decls.add(layer, decl.name, decl)
            elif isinstance(decl, ast.CheckDecl):
                ctx.check_decls.add(layer, decl.name, decl)
            elif isinstance(decl, ast.InferDecl):
                ctx.infer_decls.append((layer, decl))


# ---------------------------------------------------------------------- facts


def facts(ctx: CompileContext) -> None:
    r = ctx.r
    for name, _layer, d in ctx.fact_decls:
        values: list[str] = []
        for v in d.values:
            if v.value in values:
                r.error("E205", f"value '{v.value}' listed twice in fact '{name}'", v.span)
            else:
                values.append(v.value)
        aliases = []
        for alias, target in d.aliases:
            if target.value not in values:
                r.error("E202", f"alias target '{target.value}' is not a value of '{name}'", target.span,
                        hint=did_you_mean(target.value, values))
            elif alias.value in values:
                r.error("E205", f"alias '{alias.value}' is already a value of '{name}'", alias.span)
            else:
                aliases.append((alias.value, target.value))
        if d.kind == "enum" and not values:
            r.error("E301", f"enum fact '{name}' has no values", d.span)
        ctx.facts[name] = FactSchema(name, d.kind, tuple(values), tuple(aliases), d.doc, d.span)
    ctx.checker = Checker({n: spec.type for n, spec in ctx.facts.items()}, r)


def _check_facts(ctx: CompileContext, expr: ast.Expr) -> IR | None:
    """Type-check a condition on facts, then pass every constant it compares a fact with
    through :func:`coerce_fact` (the function flags and inference use), so a rule cannot
    test a value no query could ever give."""
    ir = ctx.checker.check(expr, "facts")
    if ir is None:
        return None
    for atom in atoms(ir):
        if atom.operand.kind != "fact":
            continue
        if isinstance(atom, Cmp):
            consts = (atom.const,)
        elif isinstance(atom, In):
            consts = atom.consts
        elif isinstance(atom, Range):
            consts = (atom.low, atom.high)
        else:
            continue
        for const in consts:
            try:
                coerce_fact(ctx.facts[atom.operand.name], const.value)
            except FactValueError as err:
                ctx.r.error("E301", f"{err.message} (in '{render(atom)}')", expr.span)
                return None
    return ir


# ---------------------------------------------------------------------- components


def _ops(ctx: CompileContext, layer: int, values: Iterable[ast.Name], sets, unsets) -> tuple[ValueOp, ...]:
    ops = []
    for ref in values:
        key = ctx.payloads.load(layer, ref, values=True)
        if key is not None:
            ops.append(ValueOp("values", (), key, ref.span))
    for s in sets:
        ops.append(ValueOp("set", s.path, set_value(s.value, ctx.r), s.span))
    for u in unsets:
        ops.append(ValueOp("unset", u.path, None, u.span))
    return tuple(ops)


def _valid(ctx: CompileContext, what: str, ref: ast.Name | None) -> None:
    """Report ``ref`` (a name, version, chart…) at its location when it is not a valid ``what``."""
    if ref is None:
        return
    found = names.problem(what, ref.value)
    if found is not None:
        message, hint = found
        ctx.r.error("E306", message, ref.span, hint=hint)


def components(ctx: CompileContext) -> None:
    r = ctx.r
    decls = ctx.component_decls
    out = ctx.components
    alias_owner: dict[str, str] = {}
    for name, layer, d in decls:
        _valid(ctx, "component", d.name)
        _valid(ctx, "namespace", d.namespace)
        kind, repo, chart, version, source, tag, path = "manifest", "", "", "", "", "", ""
        version_span = d.span
        if d.helm and d.kustomize:
            r.error("E301", f"component '{name}' is both a Helm chart and a Kustomize app", d.kustomize.span)
        if d.helm:
            kind = "helm"
            for what, ref in (("repo", d.helm.repo), ("chart", d.helm.chart), ("version", d.helm.version)):
                _valid(ctx, what, ref)
            repo = d.helm.repo.value if d.helm.repo else ""
            chart = d.helm.chart.value if d.helm.chart else name
            version = d.helm.version.value if d.helm.version else ""
            version_span = d.helm.version.span if d.helm.version else d.helm.span
            if not repo:
                r.error("E301", f"Helm component '{name}' needs a repo", d.helm.span,
                        hint='helm repo "https://…" chart "…" version "…"')
            if not version:
                r.error("E301", f"Helm component '{name}' needs a version", d.helm.span,
                        hint="pin every chart so recipes are reproducible")
        elif d.kustomize:
            kind = "kustomize"
            for what, ref in (("source", d.kustomize.source), ("tag", d.kustomize.tag), ("path", d.kustomize.path)):
                _valid(ctx, what, ref)
            source = d.kustomize.source.value if d.kustomize.source else ""
            tag = d.kustomize.tag.value if d.kustomize.tag else ""
            path = d.kustomize.path.value if d.kustomize.path else ""
            version, version_span = tag, (d.kustomize.tag.span if d.kustomize.tag else d.kustomize.span)
            if not source or not tag:
                r.error("E301", f"Kustomize component '{name}' needs a source and a tag", d.kustomize.span)
        manifests = []
        for m in d.manifests:
            key = ctx.payloads.load(layer, m, values=False)
            if key is not None and key not in manifests:
                manifests.append(key)
        for a in d.aliases:
            if a.value in alias_owner and alias_owner[a.value] != name:
                r.error("E205", f"alias '{a.value}' is also used by component '{alias_owner[a.value]}'", a.span)
            elif a.value in decls and a.value != name:
                r.error("E205", f"alias '{a.value}' is the name of another component", a.span)
            alias_owner[a.value] = name
        scheduling = []
        for s in d.scheduling:
            if s.role.value not in SCHEDULING_ROLES:
                r.error("E301", f"scheduling role must be system or accelerated, not '{s.role.value}'", s.role.span)
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
            ops=_ops(ctx, layer, d.values, d.sets, d.unsets),
            doc=d.doc,
            span=d.span,
            version_span=version_span,
        )
    for name, _layer, d in decls:
        for n in d.needs:
            _known_component(ctx, n)


def _known_component(ctx: CompileContext, ref: ast.Name) -> bool:
    if ref.value in ctx.components:
        return True
    ctx.r.error("E204", f"unknown component '{ref.value}'", ref.span,
                hint=did_you_mean(ref.value, ctx.components) or "declare it with 'component NAME { … }'")
    return False


# ---------------------------------------------------------------------- overlays


def overlays(ctx: CompileContext) -> None:
    r = ctx.r
    raw = {name: (layer, d) for name, layer, d in ctx.overlay_decls}
    chains, problems = cycles.ancestries({n: (d.parent.value if d.parent else None) for n, (_l, d) in raw.items()})
    for p in problems:
        if isinstance(p, cycles.Unknown):
            ref = raw[p.child][1].parent
            r.error("E203", f"overlay '{p.child}' extends unknown overlay '{p.parent}'", ref.span,
                    hint=did_you_mean(p.parent, raw))
        else:
            r.error("E401", "inheritance cycle: " + " -> ".join(p.members), raw[p.members[0]][1].parent.span,
                    hint="an overlay cannot extend itself, directly or through others")
    own: dict[str, IR | None] = {}
    for name, (layer, d) in raw.items():
        parts = [_check_facts(ctx, w) for w in d.when]
        if any(p is None for p in parts):
            own[name] = None
        else:
            own[name] = conjoin(parts) if parts else None
        if not d.when and d.parent is None:
            r.error("E208", f"overlay '{name}' has no condition", d.name.span,
                    hint="add 'when …', or 'when always' if it really applies to every cluster")
    # Effective conditions and the facts they test, built from the parent's (root first).
    effective: dict[str, tuple[IR, str] | None] = {}
    tested: dict[str, frozenset] = {}
    for name in sorted(raw, key=lambda n: (len(chains[n] or ()), n)):
        chain = chains[name]
        if chain is None:
            continue
        d = raw[name][1]
        parent = chain[-2] if len(chain) > 1 else None
        if (parent is not None and effective.get(parent) is None) or (d.when and own[name] is None):
            effective[name] = None
            continue
        mine = own[name] if own[name] is not None else TrueE()
        if parent is None:
            effective[name] = (mine, render(mine))
        else:
            effective[name] = extend_condition(*effective[parent], mine)
        facts_ = frozenset(a.operand.name for a in atoms(mine))
        tested[name] = (tested[parent] | facts_) if parent is not None else facts_
    inherited = _inherited_requirements(raw, chains)
    for name, (layer, d) in sorted(raw.items()):
        if effective.get(name) is None:
            continue
        condition, condition_text = effective[name]
        chain = chains[name]
        requirements = _overlay_requirements(ctx, name, d, inherited.get(chain[-2], {}) if len(chain) > 1 else {})
        changes = []
        for use in d.components:
            if not _known_component(ctx, use.name):
                continue
            changes.append(_change(ctx, layer, use))
        drops = []
        for ref in d.drops:
            if _known_component(ctx, ref):
                drops.append((ref.value, ref.span))
        ctx.overlays[name] = OverlaySpec(
            name=name,
            parent=d.parent.value if d.parent else None,
            chain=chain,
            condition=condition,
            condition_text=condition_text,
            specificity=len(tested[name]),
            depth=len(chain) - 1,
            requirements=requirements,
            components=tuple(changes),
            drops=tuple(drops),
            doc=d.doc,
            span=d.span,
            own=own[name] if own[name] is not None else TrueE(),
        )


def _inherited_requirements(raw, chains) -> dict[str, dict[str, ast.Requirement]]:
    """For each overlay, its named requirements and its ancestors' (nearest wins), shared
    with its parent's map when it names none, so a long chain costs linear space."""
    out: dict[str, dict[str, ast.Requirement]] = {}
    for name in sorted(raw, key=lambda n: (len(chains[n] or ()), n)):
        chain = chains[name]
        if chain is None:
            continue
        parent = out.get(chain[-2], {}) if len(chain) > 1 else {}
        named = [req for req in raw[name][1].requires if req.name is not None]
        if named:
            mine = dict(parent)
            for req in named:
                mine[req.name.value] = req
            out[name] = mine
        else:
            out[name] = parent
    return out


def _requirement(ctx: CompileContext, owner: str, req: ast.Requirement) -> RequirementSpec | None:
    ir = ctx.checker.check(req.expr, "measurements")
    severity = "error"
    if req.severity is not None:
        if req.severity.value not in SEVERITIES:
            ctx.r.error("E301", f"severity must be error, warning or info, not '{req.severity.value}'",
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


def _overlay_requirements(ctx: CompileContext, name, d, inherited) -> tuple[RequirementSpec, ...]:
    r = ctx.r
    out, seen = [], {}
    for req in d.requires:
        if req.name is not None:
            n = req.name.value
            if n in seen:
                r.error("E205", f"requirement '{n}' is declared twice in overlay '{name}'", req.name.span,
                        notes=[f"first declared at {seen[n]}"])
            seen[n] = req.span
            if req.replace and n not in inherited:
                r.error("E206", f"'replace {n}' names no requirement of an ancestor of '{name}'",
                        req.name.span, hint=did_you_mean(n, inherited))
            elif not req.replace and n in inherited:
                r.error("E209", f"requirement '{n}' is already defined at {inherited[n].span}",
                        req.name.span, hint=f"write 'replace {n}: …' to replace it on purpose")
        spec = _requirement(ctx, name, req)
        if spec is None:
            continue
        if req.replace and req.name is not None and req.name.value in inherited:
            old = ctx.checker.check(inherited[req.name.value].expr, "measurements")
            if old is not None and analysis.loosens(old, spec.ir):
                r.warning("W502", f"'replace {req.name.value}' loosens '{render(old)}' to '{spec.text}'",
                          req.span, notes=[f"replaced requirement at {inherited[req.name.value].span}"])
        out.append(spec)
    return tuple(out)


def _change(ctx: CompileContext, layer: int, use: ast.ComponentUse) -> ComponentChange:
    comps = ctx.components
    spec = comps[use.name.value]
    _valid(ctx, "namespace", use.namespace)
    _valid(ctx, "tag" if spec.kind == "kustomize" else "version", use.version)
    manifests = []
    for m in use.manifests:
        key = ctx.payloads.load(layer, m, values=False)
        if key is not None:
            manifests.append(key)
    for n in use.needs:
        _known_component(ctx, n)
    for n in use.drop_needs:
        _known_component(ctx, n)
    return ComponentChange(
        name=use.name.value,
        version=use.version.value if use.version else None,
        version_span=use.version.span if use.version else None,
        namespace=use.namespace.value if use.namespace else None,
        manifests=tuple(manifests),
        drop_manifests=tuple(m.value for m in use.drop_manifests),
        needs=tuple(n.value for n in use.needs if n.value in comps),
        drop_needs=tuple(n.value for n in use.drop_needs),
        ops=_ops(ctx, layer, use.values, use.sets, use.unsets),
        span=use.span,
    )


# ---------------------------------------------------------------------- needs


def needs_cycles(ctx: CompileContext) -> None:
    """A cycle over every edge any rule can add is a cycle some recipe can hit."""
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], Span] = {}
    for c in ctx.components.values():
        for n in c.needs:
            edges[c.name].add(n)
            where.setdefault((c.name, n), c.span)
    for o in ctx.overlays.values():
        for ch in o.components:
            for n in ch.needs:
                edges[ch.name].add(n)
                where.setdefault((ch.name, n), ch.span)
    for cycle in cycles.needs_cycles(edges):
        ctx.r.error("E402", "needs cycle: " + " -> ".join(cycle), where[(cycle[-2], cycle[-1])],
                    hint="components cannot need each other in a circle")


# ---------------------------------------------------------------------- checks & infers


def checks(ctx: CompileContext) -> None:
    r = ctx.r
    for name, _layer, d in ctx.check_decls:
        parts = [_check_facts(ctx, w) for w in d.when]
        if not d.when:
            r.error("E208", f"check '{name}' has no condition", d.name.span,
                    hint="add 'when …', or 'when always' if it applies to every cluster")
            continue
        if any(p is None for p in parts):
            continue
        condition = conjoin(parts)
        reqs = []
        seen: dict[str, Span] = {}
        for req in d.requires:
            if req.replace:
                r.error("E206", "checks cannot replace requirements", req.span)
                continue
            if req.name is not None:
                if req.name.value in seen:
                    r.error("E205", f"requirement '{req.name.value}' is declared twice in check '{name}'",
                            req.name.span)
                seen[req.name.value] = req.span
            spec = _requirement(ctx, name, req)
            if spec is not None:
                reqs.append(spec)
        ctx.checks[name] = CheckSpec(name, condition, render(condition), tuple(reqs), d.category, d.doc, d.span)


def infers(ctx: CompileContext) -> None:
    out = ctx.infers
    for _layer, d in ctx.infer_decls:
        fact = ctx.facts.get(d.fact.value)
        if fact is None:
            ctx.r.error("E201", f"unknown fact '{d.fact.value}'", d.fact.span,
                        hint=did_you_mean(d.fact.value, ctx.facts))
            continue
        condition: IR | None = TrueE()
        if d.when is not None:
            condition = ctx.checker.check(d.when, "measurements")
            if condition is None:
                continue
        if isinstance(d.value, ast.PathRef):
            probe = ast.Exists(d.value, d.value.span)
            checked = ctx.checker.check(probe, "measurements")
            if checked is None:
                continue
            out.append(InferSpec(fact.name, checked.operand, True, condition, render(condition), d.span))
            continue
        probe = ast.Compare("==", ast.FactRef(fact.name, d.fact.span), d.value, d.span)
        checked = _check_facts(ctx, probe)
        if checked is None:
            continue
        out.append(InferSpec(fact.name, checked.const.value, False, condition, render(condition), d.span))
    out.sort(key=lambda s: (s.fact, s.span.file, s.span.line))


# ---------------------------------------------------------------------- analysis, index


def condition_analysis(ctx: CompileContext) -> None:
    overlays_ = ctx.overlays
    terms: dict[str, list | None] = {}
    shapes: dict[str, object] = {}
    for name in sorted(overlays_, key=lambda n: (overlays_[n].depth, n)):
        spec = overlays_[name]
        if spec.parent is not None and terms[spec.parent] is None:
            terms[name] = None
        else:
            terms[name] = analysis.extend_terms(terms[spec.parent] if spec.parent else None, spec.own, ctx.facts)
        shapes[name] = analysis.shape(terms[name])
    canon: dict[object, str] = {}
    for name, spec in sorted(overlays_.items()):
        shape = shapes[name]
        if shape is None:
            continue
        if shape == analysis.NEVER:
            ctx.r.error("E405", f"the condition of overlay '{name}' can never hold: {spec.condition_text}",
                        spec.span, hint="two tests on the same fact contradict each other")
            continue
        if shape in canon:
            other = overlays_[canon[shape]]
            ctx.r.warning(
                "W501",
                f"overlays '{canon[shape]}' and '{name}' apply under the same condition ({spec.condition_text})",
                spec.span,
                notes=[f"'{canon[shape]}' is at {other.span}"],
                hint="merge them, or make one more specific",
            )
        else:
            canon[shape] = name


def index(ctx: CompileContext) -> None:
    ctx.index = build_index(ctx.overlays.values(), ctx.facts)


STAGES: tuple[tuple[str, Callable[[CompileContext], None]], ...] = (
    ("parse", parse),
    ("declarations", declarations),
    ("facts", facts),
    ("components", components),
    ("overlays", overlays),
    ("needs-cycles", needs_cycles),
    ("checks", checks),
    ("infers", infers),
    ("condition-analysis", condition_analysis),
    ("index", index),
)
