"""Reads of the cluster the conformance checks share: discovery, CRDs, objects of any group.

One :class:`Probe` per run caches every answer, so two checks asking whether
``resource.k8s.io/v1`` is served cost one request, and every check sees the same cluster.
An API failure other than 404 is raised as :class:`~eidos.snapshot.cluster.ClusterError`
(a check turns it into an ``error`` outcome, never a pass).
"""

from __future__ import annotations

from eidos.errors import EidosError
from eidos.snapshot.cluster import NotFound


class Probe:
    def __init__(self, cluster):
        self.cluster = cluster
        self._cache: dict = {}

    def _memo(self, key, fn):
        if key not in self._cache:
            try:
                self._cache[key] = ("ok", fn())
            except EidosError as err:  # cached too: the same failure is reported by every check
                self._cache[key] = ("err", err)
        kind, value = self._cache[key]
        if kind == "err":
            raise value
        return value

    def served(self, group_version: str) -> tuple[str, ...] | None:
        """The resource names ``group/version`` serves (discovery), or None when not served."""
        path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"

        def get():
            try:
                doc = self.cluster.request("GET", path)
            except NotFound:
                return None
            return tuple(str(r.get("name")) for r in (doc.get("resources") or []) if isinstance(r, dict))

        return self._memo(("served", group_version), get)

    def crd(self, name: str) -> bool:
        return self._memo(("crd", name), lambda: self.cluster.crd_exists(name))

    def list(self, group_version: str, plural: str) -> list[dict]:
        """Every object of ``plural`` in all namespaces; [] when the API is not served."""
        base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"

        def get():
            try:
                doc = self.cluster.request("GET", f"{base}/{plural}")
            except NotFound:
                return []
            return [i for i in (doc.get("items") or []) if isinstance(i, dict)]

        return self._memo(("list", group_version, plural), get)

    def get(self, path: str) -> dict | None:
        def fetch():
            try:
                return self.cluster.request("GET", path)
            except NotFound:
                return None

        return self._memo(("get", path), fetch)

    def server_version(self) -> dict:
        return self._memo(("version",), self.cluster.server_version)


def name_of(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def condition(obj: dict, kind: str) -> bool:
    """Whether ``status.conditions`` has ``kind`` with status True."""
    for c in ((obj.get("status") or {}).get("conditions")) or []:
        if isinstance(c, dict) and c.get("type") == kind and str(c.get("status")) == "True":
            return True
    return False


def deployment_ready(dep: dict) -> bool:
    spec = int((dep.get("spec") or {}).get("replicas", 1) or 0)
    available = int((dep.get("status") or {}).get("availableReplicas") or 0)
    return available >= 1 and available >= spec


def gpu_nodes(nodes: list[dict]) -> list[dict]:
    out = []
    for n in nodes:
        alloc = ((n.get("status") or {}).get("allocatable")) or {}
        labels = ((n.get("metadata") or {}).get("labels")) or {}
        try:
            gpus = int(str(alloc.get("nvidia.com/gpu", "0")))
        except ValueError:
            gpus = 0
        if gpus > 0 or labels.get("nvidia.com/gpu.present") == "true":
            out.append(n)
    return out
