"""What the behavioural conformance tests (gang scheduling, node scale-up, pod autoscaling)
share: their own namespace, a least-privilege container, and polling with a deadline.

Each test runs in a namespace of its own, ``eidos-conformance-<run-id>-<test>`` (labelled
``app.kubernetes.io/managed-by=eidos``, ``eidos.dev/run=<run-id>``), created first and
deleted on every exit path — success, failure, timeout, an API error and Ctrl-C (the
``finally`` of :func:`own_namespace` runs when :mod:`eidos.snapshot.agent` turns the signal
into an exception) — through :func:`eidos.snapshot.runspace.release`, as the DRA workload
does. Deleting the namespace removes every pod, group, queue binding, Deployment and HPA
the test made, and whatever a controller made beneath them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from eidos.snapshot import runspace
from eidos.snapshot.agent import MANAGED_BY, MANAGED_BY_LABEL, RUN_LABEL

DEFAULT_IMAGE = "busybox:1.37"


@attrs.frozen
class ProbeOptions:
    run_id: str
    image: str = DEFAULT_IMAGE
    timeout: float = 300.0
    poll_interval: float = 2.0
    cleanup: bool = True

    def namespace(self, test: str) -> str:
        return f"eidos-conformance-{self.run_id}-{test}"

    @property
    def labels(self) -> dict:
        return {MANAGED_BY_LABEL: MANAGED_BY, RUN_LABEL: self.run_id}


@contextmanager
def own_namespace(cluster, opts: ProbeOptions, test: str, warn: Callable[[str], None]) -> Iterator[str]:
    """Create the test's namespace; delete it however the block ends."""
    ns = opts.namespace(test)
    created = False
    try:
        cluster.create({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": ns, "labels": dict(opts.labels)}})
        created = True
        yield ns
    finally:
        runspace.release(cluster, ns, created=created, cleanup=opts.cleanup, warn=warn)


def container(image: str, command: str, resources: dict | None = None) -> dict:
    """A container that cannot escalate: non-root, no capabilities, default seccomp."""
    c: dict = {"name": "probe", "image": image, "command": ["sh", "-c", command],
               "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 65534,
                                   "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}
    if resources:
        c["resources"] = resources
    return c


def pod_spec(containers: list[dict], **extra: Any) -> dict:
    """A pod spec without a service-account token (the probes never call the API)."""
    return {"restartPolicy": "Never", "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 1,
            "containers": containers, **extra}


def poll(fetch: Callable[[], Any], done: Callable[[Any], bool], opts: ProbeOptions) -> tuple[Any, bool]:
    """Call ``fetch`` until ``done(value)`` or the timeout: (last value, timed out). The first
    polls come quickly (a scripted cluster answers at once), then every ``poll_interval``."""
    start, polls = time.monotonic(), 0
    while True:
        value = fetch()
        if done(value):
            return value, False
        elapsed = time.monotonic() - start
        if elapsed >= opts.timeout:
            return value, True
        time.sleep(min(opts.poll_interval, 0.1 * 2 ** min(polls, 6), max(opts.timeout - elapsed, 0.01)))
        polls += 1


def pod_condition(pod: dict, kind: str) -> dict | None:
    for c in ((pod.get("status") or {}).get("conditions")) or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return None


def pod_line(pod: dict) -> str:
    """``name: phase, node, PodScheduled condition`` for the evidence."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    cond = pod_condition(pod, "PodScheduled")
    why = f"PodScheduled={cond.get('status')} {cond.get('reason') or ''} {cond.get('message') or ''}".rstrip() \
        if cond else "PodScheduled: (none)"
    return f"pod {meta.get('name')}: {status.get('phase') or 'Pending'}, node {spec.get('nodeName') or '-'}, {why}"[:300]


def events(cluster, namespace: str) -> list[dict]:
    """The namespace's Events (what the scheduler, an autoscaler or the HPA said about the test objects)."""
    doc = cluster.request("GET", f"/api/v1/namespaces/{namespace}/events")
    return [e for e in (doc.get("items") or []) if isinstance(e, dict)]


def quantity(text: Any) -> float:
    """A Kubernetes quantity (``37``, ``37500m``, ``1.5k``, ``2Ki``) as a number."""
    s = str(text).strip()
    suffixes = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40}
    for suffix in sorted(suffixes, key=len, reverse=True):
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * suffixes[suffix]
    return float(s)
