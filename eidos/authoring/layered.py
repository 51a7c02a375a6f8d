"""Compile a generated file over the rule base before it is written.

The file is placed alone in a temporary directory that is layered on top of the embedded
base and the user's ``--rules`` directories, exactly as ``eidos lint DIR`` would layer it,
and compiled (about half a second). Diagnostics about that file — located in it, or
naming it in a note (W501 is reported at the other overlay) — are returned with the
temporary path replaced by the name the user will see.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from eidos.lang.diagnostics import Diagnostic


def _mentions(d: Diagnostic, marker: str) -> bool:
    return marker in str(d.span.file) or any(marker in n for n in d.notes) or marker in d.message


def _shown(d: Diagnostic, marker: str, display: str) -> Diagnostic:
    import attrs

    return attrs.evolve(
        d,
        message=d.message.replace(marker, display),
        span=d.span._replace(file=str(d.span.file).replace(marker, display)),
        notes=tuple(n.replace(marker, display) for n in d.notes),
    )


def declares(path: str | None, kind: str, name: str) -> bool:
    """Does the file ``path`` (about to be overwritten with --force) declare ``kind name``?

    Read from the file itself, not from the graph's spans: a cached graph compiled from an
    identical directory elsewhere carries that directory's paths."""
    if path in (None, "-") or not os.path.isfile(path):
        return False
    from eidos.lang.diagnostics import Reporter, SourceFile
    from eidos.lang.parser import parse_module

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    module = parse_module(SourceFile(str(path), text), Reporter())
    wanted = {"overlay": "OverlayDecl", "check": "CheckDecl"}[kind]
    return any(type(d).__name__ == wanted and d.name.value == name for d in module.decls)


def relative_name(out: str | None, rules: list[str], default: str) -> str:
    """Where the new file sits in its layer: its path inside the ``--rules`` directory that
    holds it (so, layered on top, it replaces the file it will overwrite), else ``default``."""
    if out in (None, "-"):
        return default
    target = Path(out).resolve()
    for root in rules:
        try:
            return target.relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return target.name


def diagnostics_for(text: str, filename: str, rules: list[str], display: str) -> list[Diagnostic]:
    """Every compile diagnostic that concerns ``text`` when layered over ``rules``.

    ``filename`` is its path inside the layer (:func:`relative_name`)."""
    from eidos.engine import sources
    from eidos.engine.compiler import compile_ruleset

    with tempfile.TemporaryDirectory(prefix="eidos-new-") as tmp:
        path = Path(tmp) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        ruleset = sources.collect([*rules, tmp])
        _graph, reporter = compile_ruleset(ruleset)
        marker = str(path)
        return [_shown(d, marker, display) for d in reporter.sorted() if _mentions(d, marker)]
