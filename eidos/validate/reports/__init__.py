"""Report renderers: one module per format, each a pure function of the ``Report``.

Formats: ``table`` (people), ``json``/``yaml`` (the ``ValidationReport`` document),
``junit`` (JUnit XML for CI test tabs), ``ctrf`` (Common Test Report Format), ``sarif``
(SARIF 2.1.0 for code-scanning views, results pointing at the rule lines), ``html`` (a
self-contained page with a nodes x checks heat map). Fleets stream through
:mod:`eidos.validate.reports.stream` for table/json/html. Every renderer
is deterministic: the same report gives the same bytes; times come from the snapshots'
own timestamps, never from the clock.
"""

from __future__ import annotations

import importlib

FORMATS = ("table", "json", "yaml", "junit", "ctrf", "sarif", "html")
_MODULES = {
    "table": "eidos.validate.reports.table",
    "json": "eidos.validate.reports.document",
    "yaml": "eidos.validate.reports.document",
    "junit": "eidos.validate.reports.junit",
    "ctrf": "eidos.validate.reports.ctrf",
    "sarif": "eidos.validate.reports.sarif",
    "html": "eidos.validate.reports.html",
}


def render(report, fmt: str, *, color: bool = False, **table_options) -> str:
    """The report as text in ``fmt`` (``color`` and ``table_options`` — width, verbose,
    explain — only affect ``table``; ``--explain`` data is in every verdict of json/yaml)."""
    module = importlib.import_module(_MODULES[fmt])
    if fmt == "table":
        return module.render(report, color=color, **table_options)
    if fmt in ("json", "yaml"):
        return module.render(report, fmt)
    return module.render(report)


def split_source(source: str) -> tuple[str, int | None]:
    """``rules/eks.eidos:12`` -> (``rules/eks.eidos``, 12); no line -> (source, None)."""
    head, sep, tail = source.rpartition(":")
    if sep and tail.isdigit() and head:
        return head, int(tail)
    return source, None


def epoch_ms(timestamp: str | None) -> int | None:
    """RFC 3339 text -> milliseconds since the epoch (None when absent or unparseable)."""
    if not timestamp:
        return None
    import datetime as dt

    text = timestamp.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def iso_utc(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
