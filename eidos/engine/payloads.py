"""Reading the payload files rules reference (Helm values, manifests): the compiler's only I/O.

Each payload is read and parsed once, at compile time, and carried in the graph, so
resolving a recipe never touches the file system. Values files are parsed with their line
numbers for ``--explain`` provenance. A path that failed once is not retried (and not
reported twice) for the same layer.
"""

from __future__ import annotations

from eidos.engine.graph import Payload
from eidos.engine.sources import PayloadError, RuleSet, resolve_payload
from eidos.errors import InputError
from eidos.lang import ast
from eidos.lang.diagnostics import Reporter


class PayloadLoader:
    def __init__(self, ruleset: RuleSet, reporter: Reporter):
        self.ruleset = ruleset
        self.r = reporter
        self.payloads: dict[str, Payload] = {}
        self._failures: set[tuple[int, str]] = set()

    def load(self, layer: int, ref: ast.Name, *, values: bool) -> str | None:
        """The payload key for ``ref`` as seen from ``layer``; None after reporting why not."""
        key = ref.value
        if (layer, key) in self._failures:
            return None
        if key in self.payloads:
            return key
        try:
            origin, text = resolve_payload(self.ruleset, layer, key)
        except PayloadError as err:
            self._failures.add((layer, key))
            self.r.error(err.code, err.message, ref.span)
            return None
        data, lines = None, ()
        if values:
            from eidos.io import yamlio

            try:
                data, line_map = yamlio.load(text, origin, with_lines=True)
            except InputError as err:
                self._failures.add((layer, key))
                self.r.error("E406", err.message, ref.span)
                return None
            if data is None:
                data = {}
            if not isinstance(data, dict):
                self._failures.add((layer, key))
                self.r.error("E406", f"{origin}: Helm values must be a mapping at the top level", ref.span)
                return None
            lines = tuple(sorted(line_map.items(), key=lambda kv: tuple(map(str, kv[0]))))
        self.payloads[key] = Payload(key, origin, text, data, lines)
        return key
