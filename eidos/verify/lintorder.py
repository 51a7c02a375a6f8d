"""``eidos lint --charts DIR``: report deployment orders that would install an object before its CRD.

The deployment order comes from ``needs`` alone: eidos does not reorder components behind
the author's back. Whether a component renders objects of a kind another component defines
is only known from the charts, so lint checks it when given them: every recipe of the
matrix (:mod:`eidos.verify.cells`) is rendered and each install-order finding becomes an
E408 diagnostic at the value that switched the object on. The fix is a ``needs`` in the
catalog, or not rendering the object.
"""

from __future__ import annotations

from pathlib import Path

from eidos.lang.diagnostics import NO_SPAN, Diagnostic, Span
from eidos.validate.reports import split_source

CODE = "E408"


def _span(source: str) -> Span:
    if not source:
        return NO_SPAN
    file, line = split_source(source)
    return Span(file, line or 0, 1)


def order_diagnostics(graph, charts: Path) -> list[Diagnostic]:
    """One E408 per distinct install-order hazard over every recipe of the matrix."""
    from eidos.verify import charts as chartmod
    from eidos.verify.cells import recipe_cells
    from eidos.verify.run import Verifier

    chartmod.require_extras()
    verifier = Verifier(graph, charts)
    seen: dict[tuple, Diagnostic] = {}
    for label, recipe, _cells in recipe_cells(graph):
        for f in verifier.verify(recipe, label).findings:
            if f.check != "install-order":
                continue
            key = (f.component, f.key, f.source)
            if key not in seen:
                seen[key] = Diagnostic(CODE, "error", f"recipe {label}: {f.message}", _span(f.source),
                                       hint=f.hint or None)
    return [seen[k] for k in sorted(seen)]
