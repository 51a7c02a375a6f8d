"""The compiled rule graph: everything the matcher needs, nothing it has to re-check.

The graph is plain frozen data (picklable, so it can be cached by content hash). Payload
files (values and manifests) are read and parsed at compile time and carried inside the
graph, so resolving a recipe never touches the file system.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from eidos.lang import record
from eidos.lang.diagnostics import Diagnostic, Span
from eidos.lang.expr import IR, AndE, FactType, TrueE, render

# Bumped whenever the pickled shape of the graph changes, so a cache written by an older
# engine is never decoded by this one (it is part of every rule set's digest).
GRAPH_FORMAT = "2"

ValuePath = tuple[str | int, ...]


@record.frozen
class FactSchema:
    name: str
    kind: str  # enum | int | float | version | string | bool
    values: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]
    doc: str
    span: Span

    @property
    def type(self) -> FactType:
        return FactType(self.name, self.kind, self.values, self.aliases)

    def coerce(self, raw: object):
        """``raw`` in this fact's type: :func:`eidos.engine.facts.coerce_fact` (raises
        FactValueError, a UsageError)."""
        from eidos.engine.facts import coerce_fact

        return coerce_fact(self, raw)


@record.frozen
class Payload:
    """A values or manifest file, read once at compile time."""

    path: str  # as referenced in rules (relative to a rule base root)
    origin: str  # display path of the file actually read
    text: str
    data: object = None  # parsed YAML for values files
    lines: tuple[tuple[ValuePath, int], ...] = ()  # key path -> line, for provenance


@record.frozen
class ValueOp:
    kind: str  # "values" | "set" | "unset"
    path: ValuePath  # key path for set/unset; () for a values file
    value: object  # plain value for set; payload path for values
    span: Span


@record.frozen
class ComponentSpec:
    """A catalog entry with its defaults."""

    name: str
    kind: str  # helm | kustomize | manifest
    repository: str
    chart: str
    version: str
    source: str
    tag: str
    path: str
    namespace: str
    manifests: tuple[str, ...]
    needs: tuple[str, ...]
    display: str
    aliases: tuple[str, ...]
    scheduling: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]  # (role, nodeSelector, tolerations)
    ops: tuple[ValueOp, ...]
    doc: str
    span: Span
    version_span: Span


@record.frozen
class ComponentChange:
    """An overlay's mention of a component: include it, then customise."""

    name: str
    version: str | None
    version_span: Span | None
    namespace: str | None
    manifests: tuple[str, ...]
    drop_manifests: tuple[str, ...]
    needs: tuple[str, ...]
    drop_needs: tuple[str, ...]
    ops: tuple[ValueOp, ...]
    span: Span


@record.frozen
class RequirementSpec:
    name: str | None
    ir: IR
    text: str
    severity: str  # error | warning | info
    message: str
    remedy: str
    replace: bool
    owner: str
    span: Span


def extend_condition(parent: IR, parent_text: str, own: IR) -> tuple[IR, str]:
    """The effective condition (and its rendering) of an overlay whose parent's effective
    condition is ``parent`` and whose own ``when`` is ``own``.

    Equal to ``conjoin([parent, own])`` and its ``render``, but built from the parent's
    result with tuple and string concatenation, so a chain of a thousand ``extends`` costs
    a thousand small steps in Python rather than half a million.
    """
    if isinstance(own, TrueE):
        return parent, parent_text
    if isinstance(parent, TrueE):
        return own, render(own)
    head = parent.items if isinstance(parent, AndE) else (parent,)
    tail = own.items if isinstance(own, AndE) else (own,)
    head_text = parent_text if isinstance(parent, AndE) else render(parent, "and")
    tail_text = render(own) if isinstance(own, AndE) else render(own, "and")
    return AndE(head + tail), f"{head_text} and {tail_text}"


@record.frozen
class OverlaySpec:
    name: str
    parent: str | None
    chain: tuple[str, ...]  # root first, this overlay last
    condition: IR  # effective: own `when` AND every ancestor's
    condition_text: str
    specificity: int  # distinct facts the effective condition tests
    depth: int
    requirements: tuple[RequirementSpec, ...]
    components: tuple[ComponentChange, ...]
    drops: tuple[tuple[str, Span], ...]
    doc: str
    span: Span
    own: IR = record.field(factory=TrueE)  # this overlay's own `when` (the matcher evaluates chains link by link)

    @property
    def order_key(self) -> tuple:
        """The one total order of application: parents first, then specificity, then name."""
        return (self.specificity, self.depth, self.name)


class LazyOverlays(Mapping):
    """Overlays by name, each kept pickled until first used.

    A query evaluates only the few overlays the index hands it, so loading a cached graph
    should not pay to rebuild ten thousand overlays it will never touch. Each overlay is
    stored as its own pickle and decoded on first access; a freshly compiled graph starts
    fully decoded and encodes lazily when it is itself pickled.

    An overlay is pickled without its effective condition (only its own ``when``) and
    without its chain: both repeat every ancestor's, which would make the pickles of a long
    ``extends`` chain quadratic in size. Decoding rebuilds them from the parent's.
    """

    __slots__ = ("_blobs", "_decoded", "_names")

    def __init__(self, specs: dict | None = None, blobs: dict | None = None):
        self._decoded: dict = dict(specs or {})
        self._blobs: dict = dict(blobs or {})
        self._names: tuple = tuple(sorted(set(self._decoded) | set(self._blobs)))

    def __getitem__(self, name: str) -> OverlaySpec:
        spec = self._decoded.get(name)
        if spec is not None:
            return spec
        pending = []  # decode the missing ancestors too, root first, without recursion
        while spec is None:
            spec = self._load(name)
            pending.append(spec)
            name = spec.parent
            spec = self._decoded.get(name) if name is not None else TrueE()
        parent = spec
        for spec in reversed(pending):
            if isinstance(parent, TrueE):
                condition, text, chain = spec.own, render(spec.own), (spec.name,)
            else:
                condition, text = extend_condition(parent.condition, parent.condition_text, spec.own)
                chain = parent.chain + (spec.name,)
            parent = self._decoded[spec.name] = record.evolve(
                spec, condition=condition, condition_text=text, chain=chain
            )
        return parent

    def _load(self, name: str) -> OverlaySpec:
        """Decode one stored overlay; the cache overrides this with its restricted decoder."""
        import pickle

        return pickle.loads(self._blobs[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._decoded or name in self._blobs

    def __reduce__(self):
        import pickle  # only when a graph is written: loading one never imports pickle.py

        for name, spec in self._decoded.items():
            if name not in self._blobs:
                bare = record.evolve(spec, condition=TrueE(), condition_text="", chain=())
                self._blobs[name] = pickle.dumps(bare, protocol=pickle.HIGHEST_PROTOCOL)
        return (LazyOverlays, (None, self._blobs))


@record.frozen
class CheckSpec:
    name: str
    condition: IR
    condition_text: str
    requirements: tuple[RequirementSpec, ...]
    category: str
    doc: str
    span: Span


@record.frozen
class InferSpec:
    fact: str
    value: object  # a constant of the fact's type, or an IR Operand (path) to read
    from_path: bool
    condition: IR
    condition_text: str
    span: Span


@record.frozen
class RuleGraph:
    facts: dict[str, FactSchema]
    components: dict[str, ComponentSpec]
    overlays: Mapping[str, OverlaySpec]  # a LazyOverlays
    checks: dict[str, CheckSpec]
    infers: tuple[InferSpec, ...]
    payloads: dict[str, Payload]
    # frozenset of (fact, value) equality atoms -> overlay names whose condition needs them
    index: dict[frozenset, tuple[str, ...]]
    source_hash: str
    warnings: tuple[Diagnostic, ...] = ()

    def read_payload(self, path: str) -> str:
        """Text of a values or manifest file the rules reference (used by bundles)."""
        payload = self.payloads.get(path)
        if payload is None:
            raise KeyError(path)
        return payload.text

    def component_by_key(self, key: str) -> ComponentSpec | None:
        """Look a component up by name or by one of its aliases."""
        if key in self.components:
            return self.components[key]
        for spec in self.components.values():
            if key in spec.aliases:
                return spec
        return None
