"""``cm://NAMESPACE/?run=ID``: the snapshot set of one ``--all-nodes`` run, as a fleet source.

``eidos snapshot --deploy-agent --all-nodes`` leaves one ConfigMap per succeeded node,
labelled ``eidos.dev/run=ID`` and written by its agent (which adds
``app.kubernetes.io/component=snapshot``). :func:`expand` turns the set URI into the plain
``cm://NAMESPACE/NAME`` of each, sorted by node name, which the ordinary reader
(:func:`eidos.snapshot.io.load_snapshot`) loads one at a time. Listing asks for the run's
ConfigMaps with a label selector and filters again here (an emulator or proxy that ignores
selectors must not widen the set).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from eidos.errors import InputError, UsageError

RUN_QUERY = re.compile(r"^cm://([^/?]*)/\?run=(.*)$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def is_run_uri(text: str) -> bool:
    return bool(RUN_QUERY.match(text.strip()))


def parse_run_uri(uri: str) -> tuple[str, str]:
    """``cm://NS/?run=ID`` -> (NS, ID); both checked, so neither can widen the selector."""
    from eidos.snapshot.agent import check_run_selector

    m = RUN_QUERY.match(uri.strip())
    if not m:
        raise UsageError(f"{uri!r}: a run's snapshot set looks like cm://NAMESPACE/?run=ID")
    ns, run = m.group(1), m.group(2)
    if not _DNS_LABEL.match(ns):
        raise UsageError(f"{uri!r}: {ns!r} is not a valid namespace name")
    if run == "all" or not run:
        raise UsageError(f"{uri!r}: give the run id (as printed by eidos snapshot --all-nodes)")
    check_run_selector(run)
    return ns, run


def run_sources(cluster, namespace: str, run: str) -> list[str]:
    """The ``cm://`` URI of each written snapshot of ``run`` in ``namespace``, by node name."""
    from eidos.snapshot.agent import MANAGED_BY, MANAGED_BY_LABEL, RUN_LABEL
    from eidos.snapshot.fanout import COMPONENT_LABEL, NODE_LABEL

    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{RUN_LABEL}={run},{COMPONENT_LABEL}=snapshot"
    found = []
    for cm in cluster.list_objects("ConfigMap", namespace, label_selector=selector):
        meta = cm.get("metadata") or {}
        name = meta.get("name")
        if not isinstance(name, str):
            continue
        node = (meta.get("annotations") or {}).get(NODE_LABEL) or (meta.get("labels") or {}).get(NODE_LABEL) or name
        found.append((str(node), name))
    return [f"cm://{namespace}/{name}" for _, name in sorted(found)]


def expand(items: Iterable[str], cluster_factory: Callable | None = None) -> list[str]:
    """``items`` with every run URI replaced by its snapshots' URIs; other items unchanged.
    A run with no snapshot in the namespace is an input error (exit 2), naming both."""
    items = list(items)
    if not any(is_run_uri(i) for i in items):
        return items
    for item in items:  # every URI checked before anything connects
        if is_run_uri(item):
            parse_run_uri(item)
    if cluster_factory is None:
        from eidos.snapshot.cluster import Cluster

        cluster_factory = Cluster.connect
    cluster = cluster_factory()
    out: list[str] = []
    try:
        for item in items:
            if not is_run_uri(item):
                out.append(item)
                continue
            ns, run = parse_run_uri(item)
            sources = run_sources(cluster, ns, run)
            if not sources:
                raise InputError(f"{item}: no snapshot of run {run} in namespace {ns}",
                                 hint="the run id is printed by eidos snapshot --all-nodes; "
                                      "a run written with --out DIR left files, not ConfigMaps")
            out.extend(sources)
    finally:
        close = getattr(cluster, "close", None)
        if close:
            close()
    return out
