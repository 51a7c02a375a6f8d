"""The peer bench's no-memo rows really compute every answer, and are judged honestly.

``bench.peers.memos`` must find the per-text memo of every regular expression among a
rule's closures (connectives included), and ``forget`` must empty them and the version
key caches, so the next run computes each answer; the no-memo figures are judged against
the same targets.
"""

from __future__ import annotations

from eidos.lang.diagnostics import Reporter, SourceFile
from eidos.lang.expr import Checker
from eidos.lang.expr.closures import compile_closure, keyed_closure
from eidos.lang.parser import parse_module


def _ir(text):
    reporter = Reporter()
    module = parse_module(SourceFile("t.eidos", f"overlay o {{ when always\nrequire {text}\n}}"), reporter)
    ir = Checker({}, reporter).check(module.decls[0].requires[0].expr, "measurements")
    assert not reporter.items
    return ir


def test_memos_are_found_through_connectives_and_emptied():
    from bench.peers import forget, memos
    from eidos.lang.versions import CACHES, version_key

    ir = _ir('K8s.server.version >= 1.30 and (not (OS.release.ID matches "^u") or OS.release.ID == "x")')
    values = {"K8s.server.version": "v1.31.0", "OS.release.ID": "ubuntu"}
    for fn, lookup in ((compile_closure(ir), lambda op: values[op.name]),
                       (keyed_closure(ir)[0], values.__getitem__)):
        found = memos([fn])
        assert len(found) == 1  # the regular expression's (a version comparison keeps none)
        fn(lookup)
        assert all(len(m) == 1 for m in found)
        forget(found)
        assert all(len(m) == 0 for m in found)
        assert all(cache.cache_info().currsize == 0 for cache in CACHES)
        misses = version_key.cache_info().misses
        assert fn(lookup) is False and all(len(m) == 1 for m in found)  # computed again
        assert version_key.cache_info().misses == misses + 1  # the version's key too


def test_no_memo_figures_are_judged_too():
    from bench.peers import verdicts

    def m(metric, value):
        return {"scenario": "constraint-peers", "size": "full", "metric": metric, "value": value, "unit": "us"}

    lines = verdicts([m("eidos (validate path): per constraint", 1.0),
                      m("eidos (validate path, no memo): per constraint", 2.0),
                      m("cel-expr-python (bind + evaluate): per constraint", 4.0),
                      m("regopy (bind + evaluate): per constraint", 150.0)])
    assert lines == [
        "validate path vs cel-expr-python bind + evaluate: 1.000 µs vs 4.000 µs = 4.0× (target ≥ 3×) met",
        "validate path vs cel-expr-python bind + evaluate, no memo: 2.000 µs vs 4.000 µs = 2.0× (target ≥ 3×) NOT MET",
        "validate path vs regopy: 1.000 µs vs 150.000 µs = 150.0× (target ≥ 100×) met",
        "validate path vs regopy, no memo: 2.000 µs vs 150.000 µs = 75.0× (target ≥ 100×) NOT MET",
    ]
