"""A test run's own namespace, released on every exit path.

``eidos validate --fabric`` and ``--conformance`` create their test objects in a namespace
of their own (``eidos-<what>-<run-id>``) so that one deletion removes everything the run or
a controller beneath it made. This module is the one place that deletion happens: with the
interrupting signals ignored while it is sent (a second Ctrl-C must not leave the namespace
behind), and with the command that removes it by hand when it could not be deleted or the
user asked to keep it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eidos.errors import EnvironmentFailure
from eidos.snapshot.agent import INTERRUPT_SIGNALS


@contextmanager
def signals_ignored(signals: tuple[int, ...] = INTERRUPT_SIGNALS) -> Iterator[None]:
    """Ignore ``signals`` for the duration (main thread only; elsewhere a no-op)."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in signals} if in_main else {}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def release(cluster, namespace: str, *, created: bool, cleanup: bool,
            warn: Callable[[str], None]) -> None:
    """Delete the run's namespace (when it was created and ``cleanup``), or say how to."""
    if not created:
        return
    removal = f"kubectl delete namespace {namespace}"
    if not cleanup:
        warn(f"kept namespace {namespace} (--no-cleanup); remove it with: {removal}")
        return
    with signals_ignored():
        try:
            cluster.delete("Namespace", namespace)
        except EnvironmentFailure as err:
            warn(f"could not delete namespace {namespace}: {err.message}; remove it with: {removal}")
