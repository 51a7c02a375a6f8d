"""Validating one snapshot or a thousand: facts, plans and closures shared across nodes.

Per snapshot the facts are the flags given on the command line over whatever the rule
base's ``infer`` rules derive from that snapshot (or, with ``--recipe``, the recipe's
criteria), so a mixed fleet (H100 and GB200 node groups) gets the right recipe per node.
Recipes and compiled plans are cached by the facts they were resolved from, and every
expression is compiled once for the whole run: the per-node cost is a YAML load plus one
closure call and a few dictionary lookups per rule.

One unreadable file must not cost the report on the other 999: with ``on_error`` every
source that cannot be read or understood is handed to it (source, message) and skipped,
so the caller can report what was read and list everything that was not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable

import attrs

from eidos.errors import EidosError, UsageError
from eidos.engine.graph import RuleGraph
from eidos.validate.deployed import deployed_rules
from eidos.validate.evaluate import evaluate
from eidos.validate.gpucapacity import GpuCapacityView
from eidos.validate.hostos import HostView
from eidos.validate.plan import ClosureCache, build_plan, from_resolved
from eidos.validate.recipe_input import RecipeInput
from eidos.validate.verdicts import NodeResult, Report

SNAPSHOT_SUFFIXES = (".yaml", ".yml", ".json")
FABRIC = "fabric"


def expand_sources(items: Iterable[str]) -> list[str]:
    """Files as given; a directory contributes its *.yaml, *.yml and *.json entries, sorted.

    Entries that are not regular files (a FIFO named ``x.yaml``) are kept, so reading them
    fails with a message instead of being skipped silently; reading never opens them in a
    way that blocks (see :func:`eidos.io.inputs.read_input`)."""
    out: list[str] = []
    for item in items:
        if item == "-" or item.startswith("cm://"):
            out.append(item)
            continue
        p = Path(item)
        if p.is_dir():
            try:
                entries = list(p.iterdir())
            except OSError as err:
                raise UsageError(f"{item}: cannot list directory: {err.strerror or err}") from None
            found = sorted(
                str(f) for f in entries if f.suffix.lower() in SNAPSHOT_SUFFIXES and not f.is_dir()
            )
            if not found:
                raise UsageError(f"{item}: directory holds no snapshot (*.yaml, *.yml, *.json)")
            out.extend(found)
        else:
            out.append(item)
    if out.count("-") > 1:
        raise UsageError("--snapshot - (stdin) can be given only once")
    return out


def _show(value) -> str:
    return str(value)


_NOT_GIVEN = re.compile(r"(\w[\w-]*) not given")


@attrs.frozen
class Selection:
    """``--only`` / ``--skip``: which rules a run reports. A name selects a check (all its
    requirements: ``gpudirect-rdma``), one requirement of a check (``gpudirect-rdma/rdma-path``),
    a recipe requirement (``os-version``) or a verdict id (``check:gpudirect-rdma:rdma-path``)."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    #: ``--fabric``: the run judges fabric results (rules of category ``fabric``, on the NCCL
    #: measurement) and only those; without it fabric rules are left out, as a node snapshot
    #: carries no NCCL results and every fabric rule would only report their absence
    fabric: bool = False

    @staticmethod
    def names(rule) -> set[str]:
        names = {rule.id, rule.name}
        if rule.kind == "check":
            names.add(rule.origin)
        return names

    def keeps(self, rule) -> bool:
        if (rule.category == FABRIC) != self.fabric:
            return False
        names = self.names(rule)
        if self.only and not names & set(self.only):
            return False
        return not names & set(self.skip)

    def check_known(self, seen: set[str], known: list[str]) -> None:
        """Raise UsageError (exit 2) for a name that selected nothing in the whole run."""
        unknown = [n for n in (*self.only, *self.skip) if n not in seen]
        if unknown:
            import difflib

            hints = [m for n in unknown for m in difflib.get_close_matches(n, known, n=1)]
            raise UsageError(
                f"--only/--skip: no check or requirement named {', '.join(repr(n) for n in unknown)}",
                hint=(f"did you mean {', '.join(repr(h) for h in hints)}?" if hints
                      else "eidos validate -o json lists every verdict's id and name"))


class Validator:
    """Turns snapshots into ``NodeResult``s against one rule graph."""

    def __init__(self, graph: RuleGraph, *, flag_facts: dict | None = None, recipe: RecipeInput | None = None,
                 selection: Selection | None = None, explain: bool = False):
        self.graph = graph
        self.flag_facts = dict(flag_facts or {})
        self.recipe = recipe
        self.selection = selection or Selection()
        self.explain = explain
        self.cache = ClosureCache()
        self._plans: dict = {}
        self.seen: set[str] = set()  # every name --only/--skip could have matched (for typos)

    def _facts(self, snapshot) -> tuple[dict, dict, tuple[tuple[str, str], ...]]:
        if self.recipe is not None:
            return dict(self.recipe.criteria), {k: "recipe" for k in self.recipe.criteria}, ()
        from eidos.engine.inference import infer_facts, notices

        def lookup(op):
            return snapshot.lookup(op.segments)

        facts, sources = infer_facts(self.graph, lookup)
        told = tuple((n["fact"], n["message"]) for n in notices(self.graph, lookup, facts, given=tuple(self.flag_facts)))
        origin = {k: f"snapshot ({sources[k]['rule']})" for k in facts}
        for name, value in self.flag_facts.items():
            facts[name] = value
            origin[name] = "flag"
        return facts, origin, told

    def _plan(self, facts: dict):
        key = tuple(sorted((k, repr(v)) for k, v in facts.items()))
        plan = self._plans.get(key)
        if plan is None:
            components: tuple = ()
            if self.recipe is not None:
                overlays, reqs = self.recipe.overlays, self.recipe.requirements
            else:
                from eidos import engine

                resolved = engine.resolve(self.graph, facts)
                overlays, reqs = resolved.overlays, from_resolved(resolved)
                components = tuple(resolved.components)
            plan = self._plans[key] = (tuple(overlays), build_plan(self.graph, reqs, facts, self.cache), components)
        return plan

    def node(self, snapshot, source: str) -> NodeResult:
        snapshot = HostView(snapshot)  # rules about the OS read OS.host, the host's view
        snapshot = GpuCapacityView(snapshot)  # K8s.gpu-capacity: smi GPUs against allocatable
        facts, origin, told = self._facts(snapshot)
        if not facts:
            flags = ", ".join(f"--{n}" for n in sorted(self.graph.facts))
            raise UsageError(f"{source}: no facts: the snapshot gave none and no flag was passed",
                             hint=f"pass at least one of {flags}")
        overlays, rules, components = self._plan(facts)
        # deployed versions against the recipe's: after the recipe requirements, before checks
        deployed = deployed_rules(components, snapshot, self.graph, self.cache)
        if deployed:
            n_req = sum(1 for r in rules if r.kind == "requirement")
            rules = rules[:n_req] + tuple(deployed) + rules[n_req:]
        for rule in rules:
            self.seen |= Selection.names(rule)
        # a notice for each fact some rule of this run skipped for lack of ("accelerator not
        # given"): an unknown GPU model is said where the GPU checks are skipped
        kept = [rule for rule in rules if self.selection.keeps(rule)]
        wanted = {m for r in kept if r.skip_reason for m in _NOT_GIVEN.findall(r.skip_reason)}
        told = tuple(message for fact, message in told if fact in wanted)
        verdicts = tuple(evaluate(rule, snapshot, explain=self.explain) for rule in kept)
        return NodeResult(
            node=node_name(snapshot, source),
            snapshot=source,
            timestamp=snapshot.timestamp,
            criteria=tuple((k, _show(facts[k])) for k in sorted(facts)),
            fact_sources=tuple((k, origin[k]) for k in sorted(origin)),
            overlays=overlays,
            verdicts=verdicts,
            notices=told,
        )


def node_name(snapshot, source: str) -> str:
    name = snapshot.source_node
    if not name:
        value = snapshot.lookup(("K8s", "node", "source-node"))
        name = value if isinstance(value, str) and value else None
    return name or (Path(source).stem if source not in ("-",) else "stdin")


def validate(
    graph: RuleGraph,
    sources: list[str],
    *,
    flag_facts: dict | None = None,
    recipe: RecipeInput | None = None,
    fail_on: str = "error",
    allow_errors: bool = False,
    loader: Callable | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    selection: Selection | None = None,
    explain: bool = False,
    on_error: Callable[[str, EidosError], None] | None = None,
) -> Report:
    """Load and validate every snapshot source.

    Without ``on_error`` the first source that cannot be read (or gives no facts) raises;
    with it, that source is passed to ``on_error`` and left out of the report. An
    ``--only``/``--skip`` name that matches no rule of any node is a UsageError."""
    if loader is None:
        from eidos.snapshot.io import load_snapshot as loader
    validator = Validator(graph, flag_facts=flag_facts, recipe=recipe, selection=selection, explain=explain)
    nodes = []
    unreadable: list[tuple[str, str]] = []
    total = len(sources)
    for i, source in enumerate(sources, 1):
        if progress is not None:
            progress(i, total, source)
        try:
            nodes.append(validator.node(loader(source), source))
        except EidosError as err:
            if on_error is None:
                raise
            on_error(source, err)
            reason = err.message if source in err.message else f"{source}: {err.message}"
            unreadable.append((source, reason))
    if selection is not None:
        selection.check_known(validator.seen, sorted(validator.seen))
    return Report(tuple(nodes), fail_on, allow_errors, recipe.source if recipe else None, tuple(unreadable))
