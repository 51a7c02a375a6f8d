"""Resolve facts against the rule graph into a recipe.

1. Candidates come from the fact index: the query's known (fact, value) pairs are
   enumerated as subsets and looked up, so overlays that cannot match are never touched.
   A query giving an enum fact a value outside its domain is answered by evaluating every
   overlay (the index may key overlays by domain values; see :mod:`eidos.engine.index`).
2. Each candidate's full effective condition is evaluated (three-valued; only ``True``
   applies), link by link along its ``extends`` chain with a memo, which is the same as
   evaluating the conjunction but linear in the length of the chain. A child therefore
   never applies without its parent.
3. Applied overlays are ordered by (specificity, depth, name): parents first, then less
   specific before more specific, ties by name. The order is total and independent of
   file order.
4. Merging, in that order: requirements accumulate (a named one is replaced only by an
   explicit ``replace`` in a descendant); a component mentioned by an overlay is included
   and customised (version, namespace, manifests, needs, then values files, ``set`` and
   ``unset``); ``drop component`` removes one.
5. Deployment order is :func:`eidos.engine.recipe.deployment_order`: a topological sort of
   ``needs`` with ties broken by name.
"""

from __future__ import annotations

from eidos.engine import index as fact_index
from eidos.engine.graph import OverlaySpec, RuleGraph
from eidos.engine.recipe import (
    Component,
    OverlayVerdict,
    Recipe,
    RecipeError,
    ResolvedRequirement,
    Scheduling,
    deployment_order,
)
from eidos.engine.values import (
    Provenance,
    ValuePathError,
    deep_merge,
    format_path,
    set_path,
    unset_path,
)
from eidos.lang.expr import compile_closure, trace
from eidos.lang.measurements import MISSING

__all__ = ["Matcher", "RecipeError", "deployment_order"]


class Matcher:
    """Holds per-graph derived state (the indexed facts, the enum domains, each overlay's
    compiled condition) so repeated queries are cheap."""

    def __init__(self, graph: RuleGraph):
        self.graph = graph
        self._indexed = fact_index.indexed_facts(graph.index)
        self._domains = {f: frozenset(v) for f, v in fact_index.domains_of(graph.facts).items()}
        # overlay name -> closure of its own `when`, compiled on first use: a query looks
        # it up by name, never by hashing the condition's IR (which costs as much as the
        # evaluation for a large condition)
        self._own: dict[str, object] = {}

    # -- selection -----------------------------------------------------------
    def candidates(self, facts: dict) -> set[str]:
        if not fact_index.in_domain(facts, self._domains):
            return set(self.graph.overlays)
        return fact_index.candidates(self.graph.index, self._indexed, facts)

    def _closure(self, name: str):
        fn = self._own.get(name)
        if fn is None:
            fn = self._own[name] = compile_closure(self.graph.overlays[name].own)
        return fn

    def applied(self, facts: dict) -> list[OverlaySpec]:
        def lookup(operand):
            return facts.get(operand.name, MISSING)

        # An overlay applies when its own `when` and every ancestor's hold; walking each
        # candidate's chain root first with a memo evaluates every link once, so a long
        # `extends` chain costs linear time (its effective condition is quadratic in size).
        overlays = self.graph.overlays
        own = self._own
        holds: dict[str, bool] = {}
        for name in self.candidates(facts):
            ok = True
            for link in overlays[name].chain:
                known = holds.get(link)
                if known is None:
                    known = holds[link] = ok and (own.get(link) or self._closure(link))(lookup) is True
                ok = known
        chosen = [overlays[n] for n, ok in holds.items() if ok]
        chosen.sort(key=lambda o: o.order_key)
        return chosen

    # -- resolution ----------------------------------------------------------
    def resolve(self, facts: dict, *, explain: bool = False, fact_sources: dict | None = None) -> Recipe:
        applied = self.applied(facts)
        requirements = self._requirements(applied)
        components = self._components(applied)
        order = deployment_order({c.name: c.needs for c in components})
        by_name = {c.name: c for c in components}
        return Recipe(
            criteria=dict(facts),
            overlays=tuple(o.name for o in applied),
            requirements=tuple(requirements),
            components=tuple(by_name[n] for n in sorted(by_name)),
            deployment_order=tuple(order),
            explanation=self.explain(facts, {o.name for o in applied}) if explain else None,
            fact_sources=fact_sources if explain else None,
        )

    def _requirements(self, applied: list[OverlaySpec]) -> list[ResolvedRequirement]:
        """Conjunction of every applied requirement, minus those an applied descendant replaced.

        A named requirement defined in overlay A is shadowed when an applied overlay whose
        ancestors include A says ``replace NAME``. Siblings that both replace their
        parent's requirement therefore both hold: replacing never loosens across branches.
        """
        replacing: dict[str, list[OverlaySpec]] = {}
        for overlay in applied:
            for req in overlay.requirements:
                if req.replace:
                    replacing.setdefault(req.name, []).append(overlay)
        by_owner = {o.name: o for o in applied}
        out: list[ResolvedRequirement] = []
        for overlay in applied:
            for req in overlay.requirements:
                if req.name is not None and any(
                    overlay.name in other.chain[:-1] for other in replacing.get(req.name, ())
                ):
                    continue
                replaced: tuple[str, ...] = ()
                if req.replace:
                    replaced = tuple(
                        old.span.short
                        for link in overlay.chain[:-1]
                        for old in by_owner[link].requirements
                        if old.name == req.name
                    )
                out.append(
                    ResolvedRequirement(
                        req.name, req.text, req.severity, req.message, req.remedy, overlay.name,
                        req.span, req.ir, replaced,
                    )
                )
        return out

    def _components(self, applied: list[OverlaySpec]) -> list[Component]:
        catalog = self.graph.components
        state: dict[str, dict] = {}
        dropped: dict[str, str] = {}
        for overlay in applied:
            for change in overlay.components:
                spec = catalog[change.name]
                s = state.get(change.name)
                if s is None:
                    s = state[change.name] = {
                        "version": spec.version,
                        "namespace": spec.namespace,
                        "manifests": list(spec.manifests),
                        "needs": list(spec.needs),
                        "ops": [(op, spec.name) for op in spec.ops],
                        "prov": {"declared": spec.span.short, "included": change.span.short,
                                 "version": spec.version_span.short},
                    }
                    dropped.pop(change.name, None)
                if change.version is not None:
                    s["version"] = change.version
                    s["prov"]["version"] = change.version_span.short
                if change.namespace is not None:
                    s["namespace"] = change.namespace
                    s["prov"]["namespace"] = change.span.short
                for m in change.manifests:
                    if m not in s["manifests"]:
                        s["manifests"].append(m)
                s["manifests"] = [m for m in s["manifests"] if m not in change.drop_manifests]
                for n in change.needs:
                    if n not in s["needs"]:
                        s["needs"].append(n)
                s["needs"] = [n for n in s["needs"] if n not in change.drop_needs]
                s["ops"].extend((op, overlay.name) for op in change.ops)
            for name, span in overlay.drops:
                state.pop(name, None)
                dropped[name] = f"overlay '{overlay.name}' at {span.short}"

        out = []
        for name in sorted(state):
            s = state[name]
            for need in s["needs"]:
                if need not in state:
                    why = f" (dropped by {dropped[need]})" if need in dropped else ""
                    raise RecipeError(
                        f"component '{name}' needs '{need}', which this recipe does not include{why}",
                        hint=f"include '{need}' in an applied overlay, or 'drop needs {need}' from '{name}'",
                    )
            values, value_prov = self._values(name, s["ops"])
            spec = catalog[name]
            prov = dict(s["prov"])
            prov["values"] = value_prov
            out.append(
                Component(
                    name=name,
                    type=spec.kind,
                    repository=spec.repository,
                    chart=spec.chart,
                    version=s["version"],
                    source=spec.source,
                    tag=s["version"] if spec.kind == "kustomize" else spec.tag,
                    path=spec.path,
                    namespace=s["namespace"],
                    needs=tuple(sorted(s["needs"])),
                    manifests=tuple(s["manifests"]),
                    values=values,
                    aliases=spec.aliases,
                    scheduling=Scheduling.from_roles(spec.scheduling),
                    provenance=prov,
                )
            )
        return out

    def _values(self, component: str, ops) -> tuple[dict, dict]:
        values: dict = {}
        prov = Provenance()
        for op, _owner in ops:
            if op.kind == "values":
                payload = self.graph.payloads[op.value]
                prov.merged(values, payload.data, payload.origin, dict(payload.lines))
                values = deep_merge(values, payload.data)
            elif op.kind == "set":
                try:
                    values = set_path(values, op.path, op.value)
                except ValuePathError as err:
                    raise RecipeError(
                        f"{op.span}: cannot set {component} {format_path(op.path)}: {err.message}"
                    ) from None
                prov.replaced(op.path, op.value, op.span.short)
            else:
                values = unset_path(values, op.path)
                prov.removed(op.path)
        return values, prov.final(values)

    # -- explanation ---------------------------------------------------------
    def explain(self, facts: dict, applied: set[str]) -> tuple[OverlayVerdict, ...]:
        def lookup(operand):
            return facts.get(operand.name, MISSING)

        verdicts = []
        traced: dict[str, list] = {}  # overlay -> atom results of its effective condition
        for overlay in sorted(self.graph.overlays.values(), key=lambda o: o.order_key):
            parent = traced.get(overlay.parent, []) if overlay.parent is not None else []
            results = traced[overlay.name] = parent + trace(overlay.own, lookup)[1]
            if overlay.name in applied:
                reason = "applies: " + _describe(results, want=True) if results else "applies: 'when always'"
            else:
                reason = "does not apply: " + _describe(results, want=False)
            verdicts.append(
                OverlayVerdict(overlay.name, overlay.name in applied, overlay.condition_text,
                               overlay.specificity, overlay.span.short, reason)
            )
        return tuple(verdicts)


def _describe(results, want: bool) -> str:
    parts = []
    for r in results:
        if want and r.result is True:
            parts.append(f"{r.text} (got {_show(r.actual)})")
        elif not want and r.result is False:
            parts.append(f"{r.text} is false (got {_show(r.actual)})")
        elif not want and r.result is None:
            fact = r.text.split(" ", 1)[0]
            parts.append(f"{r.text} is unknown ({fact} not given)")
    return "; ".join(parts) if parts else "condition does not hold"


def _show(value) -> str:
    return "nothing" if value is MISSING else str(value)
