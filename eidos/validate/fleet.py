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

Thousands of nodes (:func:`run_nodes`): a pool of forked workers, one per CPU, each with the
rule graph and plans it inherited, validates chunks of sources and hands back only what the
caller's per-node reduction keeps; results come back in source order, a bounded number in
flight, so a streamed report (:mod:`eidos.validate.reports.stream`) keeps memory flat.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from eidos.errors import EidosError, UsageError
from eidos.engine.graph import RuleGraph
from eidos.lang import record
from eidos.validate.deployed import deployed_rules
from eidos.validate.evaluate import evaluate, judge_all
from eidos.validate.gpucapacity import GpuCapacityView
from eidos.validate.hostos import HostView
from eidos.validate.plan import ClosureCache, build_plan, from_resolved
from eidos.validate.verdicts import NodeResult, Report

if TYPE_CHECKING:  # read only with --recipe, which imports it (cli.cmd_validate)
    from eidos.validate.recipe_input import RecipeInput

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


@record.frozen
class Selection:
    """``--only`` / ``--skip``: which rules a run reports. A name selects a check (all its
    requirements: ``gpudirect-rdma``), one requirement of a check (``gpudirect-rdma/rdma-path``),
    a recipe requirement (``os-version``) or a verdict id (``check:gpudirect-rdma:rdma-path``).

    ``fabric`` (``--fabric``): the run judges fabric results (rules of category ``fabric``, on
    the NCCL measurement) and only those; without it fabric rules are left out, as a node
    snapshot carries no NCCL results and every fabric rule would only report their absence."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
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
        if self.explain:  # every verdict traced: a second, recording evaluation per rule
            verdicts = tuple(evaluate(rule, snapshot, explain=True) for rule in kept)
        else:  # statuses decided at once, each Verdict built when a report reads it
            verdicts = judge_all(kept, snapshot)
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
    jobs: int | None = 1,
) -> Report:
    """Load and validate every snapshot source into one in-memory ``Report``.

    Without ``on_error`` the first source that cannot be read (or gives no facts) raises;
    with it, that source is passed to ``on_error`` and left out of the report. An
    ``--only``/``--skip`` name that matches no rule of any node is a UsageError. ``jobs``
    other than 1 spreads the work over a process pool (:func:`run_nodes`); for a fleet too
    big to hold, stream with :func:`run_nodes` instead (eidos.validate.reports.stream)."""
    nodes = []
    unreadable: list[tuple[str, str]] = []
    total = len(sources)
    outcomes = run_nodes(graph, sources, flag_facts=flag_facts, recipe=recipe, selection=selection,
                         explain=explain, loader=loader, jobs=jobs)
    for i, outcome in enumerate(outcomes, 1):
        source = outcome.source
        if progress is not None:
            progress(i, total, source)
        err = outcome.error
        if err is None:
            node = outcome.value
            if total > 1 and type(node.verdicts) is not tuple:
                # a node's lazy verdicts keep its whole snapshot until read: a report holding
                # many nodes holds their verdicts instead (as evaluate per rule built them)
                node = record.evolve(node, verdicts=tuple(node.verdicts))
            nodes.append(node)
            continue
        if on_error is None:
            raise err
        on_error(source, err)
        unreadable.append((source, unreadable_reason(source, err)))
    return Report(tuple(nodes), fail_on, allow_errors, recipe.source if recipe else None, tuple(unreadable))


def unreadable_reason(source: str, err: EidosError) -> str:
    """The line a report gives a snapshot it could not use: the message, naming the source."""
    return err.message if source in err.message else f"{source}: {err.message}"


# ---- the fleet path: every core, results in order, nothing accumulated --------------------

# Nodes a worker takes at a time, and chunks in flight per worker: enough to keep every core
# busy, few enough that results waiting for their turn (order is kept) stay a bounded few.
CHUNK = 16
IN_FLIGHT_PER_WORKER = 4
# Below this many snapshots per worker, forking costs more than it saves.
MIN_PER_WORKER = 32

_WORK: dict = {}  # what the workers inherit by fork: validator, loader, per-node reduction


def default_jobs() -> int:
    """The CPUs this process may run on (a container's cpuset, not the host's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@record.frozen
class Outcome:
    """One source's result: what ``per_node`` made of its ``NodeResult``, or why it failed;
    ``seen``: the rule names of its plan (only when --only/--skip need them)."""

    source: str
    value: Any = None
    error: EidosError | _Failure | None = None
    seen: frozenset = frozenset()

    def with_error(self, error) -> Outcome:
        return Outcome(self.source, self.value, error, self.seen)


@record.frozen
class _Failure:
    """An ``EidosError`` in a form that crosses processes intact (its ``hint`` included)."""

    kind: str
    message: str
    hint: str | None

    def error(self) -> EidosError:
        import eidos.errors as errors

        cls = getattr(errors, self.kind, EidosError)
        if not (isinstance(cls, type) and issubclass(cls, EidosError)) or self.kind == "RulesError":
            cls = EidosError
        err = cls.__new__(cls)
        EidosError.__init__(err, self.message, hint=self.hint)
        return err


def _one(validator: Validator, loader: Callable, per_node: Callable, source: str, want_seen: bool) -> Outcome:
    if want_seen:
        validator.seen = set()
    try:
        value = per_node(validator.node(loader(source), source))
    except EidosError as err:
        return Outcome(source, error=err)
    return Outcome(source, value=value, seen=frozenset(validator.seen) if want_seen else frozenset())


def _work_chunk(indices: list[int]) -> list[Outcome]:
    w = _WORK
    out = []
    for i in indices:
        o = _one(w["validator"], w["loader"], w["per_node"], w["sources"][i], w["want_seen"])
        if o.error is not None:  # exceptions do not pickle with their keyword arguments
            o = o.with_error(_Failure(type(o.error).__name__, o.error.message, o.error.hint))
        out.append(o)
    return out


def _worker_start() -> None:
    import gc

    # the rule graph, plans and closures came with the fork and live for the whole run: out
    # of the collector's sight, so collections neither walk them nor copy their pages
    gc.freeze()


def run_nodes(
    graph: RuleGraph,
    sources: list[str],
    *,
    flag_facts: dict | None = None,
    recipe: RecipeInput | None = None,
    selection: Selection | None = None,
    explain: bool = False,
    loader: Callable | None = None,
    per_node: Callable = lambda result: result,
    jobs: int | None = None,
) -> Iterator[Outcome]:
    """Validate every source, yielding one ``Outcome`` per source in source order.

    With more than one CPU and enough sources, a pool of forked workers (one per CPU) does
    the loading, validation and ``per_node`` reduction; only the reductions come back, a
    bounded number in flight, so the caller can stream them to a report with flat memory.
    An ``--only``/``--skip`` name that matched nothing raises UsageError at the end."""
    if loader is None:
        from eidos.snapshot.io import load_snapshot as loader
    validator = Validator(graph, flag_facts=flag_facts, recipe=recipe, selection=selection, explain=explain)
    want_seen = selection is not None and bool(selection.only or selection.skip)
    seen: set[str] = set()
    jobs = default_jobs() if jobs is None else max(jobs, 1)
    jobs = min(jobs, len(sources) // MIN_PER_WORKER)
    if jobs <= 1 or not _can_fork():  # one process: multiprocessing is not even imported
        for source in sources:
            outcome = _one(validator, loader, per_node, source, want_seen)
            seen |= outcome.seen
            yield outcome
    else:
        yield from _pooled(validator, loader, per_node, sources, want_seen, jobs, seen)
    if selection is not None:
        selection.check_known(seen, sorted(seen))


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _pooled(validator, loader, per_node, sources, want_seen, jobs, seen) -> Iterator[Outcome]:
    import gc
    import multiprocessing
    from collections import deque

    _WORK.update(validator=validator, loader=loader, per_node=per_node, sources=sources, want_seen=want_seen)
    gc.collect()
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_start) as pool:
            pending: deque = deque()
            window = jobs * IN_FLIGHT_PER_WORKER

            def drain():
                for o in pending.popleft().get():
                    if isinstance(o.error, _Failure):
                        o = o.with_error(o.error.error())
                    seen.update(o.seen)
                    yield o

            for start in range(0, len(sources), CHUNK):
                pending.append(pool.apply_async(_work_chunk, (list(range(start, min(start + CHUNK, len(sources)))),)))
                if len(pending) >= window:
                    yield from drain()
            while pending:
                yield from drain()
    finally:
        _WORK.clear()
