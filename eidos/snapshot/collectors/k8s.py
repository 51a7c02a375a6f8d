"""``K8s``: the cluster as the API server describes it.

Sub-collectors, each with its own status so a forbidden pod list does not hide the server
version:

* ``k8s-server`` -> ``K8s.server``: ``version`` is the full ``gitVersion`` including the
  vendor suffix (``v1.33.5-eks-3025e55``), plus ``platform``, ``goVersion``, ``major``, ``minor``;
* ``k8s-nodes`` -> ``K8s.node`` (the node this snapshot was taken on, when known: reference
  key names plus ``kubelet-version``, ``architecture``, ``instance-type``, ``labels``,
  ``allocatable``, ``gpu-allocatable``, ``hugepages``), ``K8s.nodes`` (every node by name, same facts) and
  ``K8s.cluster`` (counts and GPU totals);
* ``k8s-images`` -> ``K8s.image``: images of pods in GPU-related namespaces, keyed by the
  full repository (``nvcr.io/nvidia/gpu-operator``) so two images that share a short name
  never overwrite each other; the value is the tag (or digest), or a sorted list when one
  repository runs with several tags at once. eidos' own agent pods are left out;
* ``k8s-policy`` -> ``K8s.policy``: the ``spec`` of the gpu-operator ``ClusterPolicy`` from
  the ``nvidia.com`` API group only (the reference also swallowed Kyverno's
  ``ClusterPolicy``), nested as in the object, types kept; ``K8s.nic-policy`` likewise from
  the network operator's ``NicClusterPolicy`` (``mellanox.com``) when installed;
* ``k8s-dra`` -> ``K8s.dra``: ComputeDomain readiness with the NVIDIA DRA driver (CRD served,
  controller and kubelet-plugin pods ready, ``compute-domain.nvidia.com`` ResourceSlices),
  see :func:`collect_dra`;
* ``k8s-helm`` -> ``K8s.helm``: Helm releases, only when asked for (``helm=True``,
  ``--helm-releases``) because it reads Secrets; see :mod:`eidos.snapshot.collectors.helm`.

``K8s.node`` also carries ``hugepages``: allocatable ``hugepages-<size>`` as page counts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from eidos.errors import EidosError
from eidos.snapshot.model import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_UNAVAILABLE,
    CollectorStatus,
    Measurement,
    Subtype,
)

GPU_NAMESPACES = (
    "gpu-operator",
    "nvidia-gpu-operator",
    "network-operator",
    "nvidia-network-operator",
    "nvidia-dra-driver",
    "nvidia-dra-driver-gpu",
)
RUN_LABEL = "eidos.dev/run"  # the agent's run label (eidos.snapshot.agent.RUN_LABEL)
MAX_NODES = 500
_HIDDEN_LABEL_PREFIXES = ("feature.node.kubernetes.io/",)  # hundreds of CPU-flag labels
_PROVIDERS = {"aws": "eks", "gce": "gke", "azure": "aks", "oci": "oke"}
PARTS = ("k8s-server", "k8s-nodes", "k8s-images", "k8s-policy", "k8s-dra", "k8s-helm")
HELM_NOT_REQUESTED = "not requested: Helm releases are read only with --helm-releases (needs list on Secrets)"
# nvidia-dra-driver-gpu (chart 25.8.1, templates/kubeletplugin.yaml and controller.yaml): the
# kubelet plugin DaemonSet's container that serves ComputeDomains, and the controller's
DRA_PLUGIN_CONTAINER = "compute-domains"
DRA_CONTROLLER_CONTAINER = "compute-domain"
COMPUTE_DOMAIN_DRIVER = "compute-domain.nvidia.com"
RESOURCE_API_VERSIONS = ("v1", "v1beta2", "v1beta1")  # resource.k8s.io, newest first (chart _helpers.tpl)


def provider_of(provider_id: str) -> str:
    prefix = provider_id.split("://", 1)[0].strip().lower()
    return _PROVIDERS.get(prefix, prefix)


def _quantity(value):
    # ASCII digits only (str.isdigit() accepts "²", which int() refuses), and short enough
    # to print back
    if isinstance(value, str) and 0 < len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)
    return value


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_QUANTITY = re.compile(r"^(?P<n>[0-9]{1,15})(?P<u>Ki|Mi|Gi|Ti|k|M|G|T)?$")


def quantity_bytes(value) -> int | None:
    """A whole Kubernetes quantity (``"10Gi"``, ``"2048Mi"``, ``"0"``) in bytes; None for
    anything else (fractions and exponents do not occur for huge pages)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _QUANTITY.match(value) if isinstance(value, str) else None
    return int(m.group("n")) * _UNITS[m.group("u") or ""] if m else None


def hugepage_counts(allocatable: dict) -> dict:
    """``{"2Mi": pages, "1Gi": pages}`` from ``hugepages-<size>`` allocatable quantities."""
    out = {}
    for key, value in allocatable.items():
        if not key.startswith("hugepages-"):
            continue
        size = quantity_bytes(key.removeprefix("hugepages-"))
        total = quantity_bytes(value)
        if size and total is not None:
            out[key.removeprefix("hugepages-")] = total // size
    return dict(sorted(out.items()))


def node_facts(node: dict) -> dict:
    meta = node.get("metadata") or {}
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    labels = {
        k: v
        for k, v in (meta.get("labels") or {}).items()
        if not k.startswith(_HIDDEN_LABEL_PREFIXES)
    }
    facts: dict = {"labels": labels}
    for key, src in (
        ("kernel-version", "kernelVersion"),
        ("os-image", "osImage"),
        ("operating-system", "operatingSystem"),
        ("architecture", "architecture"),
        ("kubelet-version", "kubeletVersion"),
        ("container-runtime-id", "containerRuntimeVersion"),
    ):
        if info.get(src):
            facts[key] = info[src]
    runtime = facts.get("container-runtime-id", "")
    if "://" in runtime:
        facts["container-runtime-name"], facts["container-runtime-version"] = runtime.split("://", 1)
    itype = labels.get("node.kubernetes.io/instance-type") or labels.get(
        "beta.kubernetes.io/instance-type"
    )
    if itype:
        facts["instance-type"] = itype
    if spec.get("providerID"):
        facts["provider-id"] = spec["providerID"]
        facts["provider"] = provider_of(spec["providerID"])
    allocatable = status.get("allocatable") or {}
    facts["allocatable"] = {k: _quantity(v) for k, v in allocatable.items()}
    gpus = _quantity(allocatable.get("nvidia.com/gpu", 0))
    facts["gpu-allocatable"] = gpus if isinstance(gpus, int) else 0
    facts["hugepages"] = hugepage_counts(allocatable)
    facts["unschedulable"] = bool(spec.get("unschedulable", False))
    taints = []
    for t in spec.get("taints") or []:
        if isinstance(t, dict) and t.get("key"):
            value = f"={t['value']}" if t.get("value") else ""
            taints.append(f"{t['key']}{value}:{t.get('effect', '')}")
    facts["taints"] = sorted(taints)
    return facts


def split_image(ref: str) -> tuple[str, str]:
    """``registry/path/name:tag@sha256:…`` -> (``registry/path/name``, ``tag``).

    Without a tag the digest is the version; with neither, ``latest`` (what the runtime pulls).
    """
    ref = ref.strip()
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, (digest if digest else "latest")


def images_of(pods: list[dict]) -> dict:
    seen: dict[str, set] = {}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if RUN_LABEL in labels:
            continue
        spec = pod.get("spec") or {}
        for group in ("initContainers", "containers", "ephemeralContainers"):
            for c in spec.get(group) or []:
                if isinstance(c, dict) and isinstance(c.get("image"), str) and c["image"].strip():
                    repo, tag = split_image(c["image"])
                    seen.setdefault(repo, set()).add(tag)
    return {repo: (next(iter(tags)) if len(tags) == 1 else sorted(tags)) for repo, tags in seen.items()}


def collect_cluster(
    connect: Callable[[], object],
    *,
    node_name: str | None = None,
    namespaces: tuple[str, ...] = GPU_NAMESPACES,
    close: bool = True,
    helm: bool = False,
) -> tuple[Measurement | None, list[CollectorStatus]]:
    """Run the K8s sub-collectors against one connection; never raises for API trouble.
    ``close`` says whether the connection is ours to close (False when the caller shares it);
    ``helm`` opts in to reading Helm's release Secrets (docs/security.md says why it is off
    by default)."""
    statuses: list[CollectorStatus] = []
    subtypes: list[Subtype] = []

    def record(name, state, reason, start):
        statuses.append(CollectorStatus(name, "K8s", state, reason, time.monotonic() - start))

    start = time.monotonic()
    try:
        cluster = connect()
    except EidosError as err:
        from eidos.snapshot.cluster import NoCluster

        state = STATUS_UNAVAILABLE if isinstance(err, NoCluster) else STATUS_FAILED
        for name in PARTS:
            record(name, state, err.message, start)
        return None, statuses

    try:
        try:
            v = cluster.server_version()
            data = {k: v[src] for k, src in (
                ("version", "gitVersion"), ("platform", "platform"), ("goVersion", "goVersion"),
                ("major", "major"), ("minor", "minor"),
            ) if isinstance(v.get(src), str)}
            subtypes.append(Subtype("server", data))
            record("k8s-server", STATUS_OK, None, start)
        except EidosError as err:
            record("k8s-server", STATUS_FAILED, err.message, start)
            from eidos.snapshot.cluster import Unreachable

            if isinstance(err, Unreachable):
                for name in PARTS[1:]:
                    record(name, STATUS_UNAVAILABLE, "skipped: API server unreachable", time.monotonic())
                return _measurement(subtypes), statuses

        start = time.monotonic()
        try:
            nodes = sorted(cluster.list_nodes(), key=lambda n: (n.get("metadata") or {}).get("name", ""))
            facts = {(n.get("metadata") or {}).get("name", ""): node_facts(n) for n in nodes}
            facts.pop("", None)
            note = None
            listed = dict(list(facts.items())[:MAX_NODES])
            if len(facts) > MAX_NODES:
                note = f"{len(facts)} nodes; K8s.nodes lists the first {MAX_NODES} by name"
            subtypes.append(Subtype("nodes", listed))
            gpu_nodes = [f for f in facts.values() if f["gpu-allocatable"] > 0]
            products = sorted({
                f["labels"]["nvidia.com/gpu.product"] for f in facts.values()
                if "nvidia.com/gpu.product" in f["labels"]
            })
            subtypes.append(Subtype("cluster", {
                "node-count": len(facts),
                "gpu-node-count": len(gpu_nodes),
                "gpu-allocatable": sum(f["gpu-allocatable"] for f in gpu_nodes),
                "gpu-products": products,
            }))
            if node_name:
                if node_name in facts:
                    subtypes.append(Subtype("node", {"source-node": node_name, **facts[node_name]}))
                else:
                    note = (note + "; " if note else "") + f"node {node_name!r} not found"
            record("k8s-nodes", STATUS_OK, note, start)
        except EidosError as err:
            record("k8s-nodes", STATUS_FAILED, err.message, start)

        start = time.monotonic()
        pods: list[dict] | None = None
        try:
            pods = []
            for ns in namespaces:
                pods.extend(cluster.list_pods(ns))
            images = images_of(pods)
            if images:
                subtypes.append(Subtype("image", images))
            note = None if images else f"no pods in {', '.join(namespaces)}"
            record("k8s-images", STATUS_OK, note, start)
        except EidosError as err:
            record("k8s-images", STATUS_FAILED, err.message, start)
            pods = None

        start = time.monotonic()
        notes = []
        failed = None
        for subtype, (group, version, plural) in (
            ("policy", ("nvidia.com", "v1", "clusterpolicies")),
            ("nic-policy", ("mellanox.com", "v1alpha1", "nicclusterpolicies")),
        ):
            from eidos.snapshot.cluster import NotFound

            try:
                objs = cluster.list_cluster_objects(group, version, plural)
            except NotFound:
                notes.append(f"{plural}.{group} not installed")
                continue
            except EidosError as err:
                failed = err.message
                continue
            objs.sort(key=lambda o: (o.get("metadata") or {}).get("name", ""))
            if objs:
                spec = objs[0].get("spec")
                subtypes.append(Subtype(subtype, spec if isinstance(spec, dict) else {}))
                if len(objs) > 1:
                    names = ", ".join((o.get("metadata") or {}).get("name", "?") for o in objs)
                    notes.append(f"several {plural}: {names}; recorded the first")
            else:
                notes.append(f"no {plural}.{group} objects")
        if failed:
            record("k8s-policy", STATUS_FAILED, failed, start)
        else:
            record("k8s-policy", STATUS_OK, "; ".join(notes) or None, start)

        start = time.monotonic()
        try:
            dra, note = collect_dra(cluster, pods, node_name)
            subtypes.append(Subtype("dra", dra))
            record("k8s-dra", STATUS_OK, note, start)
        except EidosError as err:
            record("k8s-dra", STATUS_FAILED, err.message, start)

        start = time.monotonic()
        if not helm:
            record("k8s-helm", STATUS_UNAVAILABLE, HELM_NOT_REQUESTED, start)
        else:
            from eidos.snapshot.collectors.helm import collect_helm

            try:
                data, note = collect_helm(cluster)
                if data:
                    subtypes.append(Subtype("helm", data))
                record("k8s-helm", STATUS_OK, note, start)
            except EidosError as err:
                record("k8s-helm", STATUS_FAILED, err.message, start)
        return _measurement(subtypes), statuses
    finally:
        if close and hasattr(cluster, "close"):
            cluster.close()


def _container_ready(pod: dict, container: str) -> bool | None:
    """Whether ``container`` of ``pod`` is ready; None when the pod has no such container."""
    names = [c.get("name") for c in ((pod.get("spec") or {}).get("containers") or []) if isinstance(c, dict)]
    if container not in names:
        return None
    for st in (pod.get("status") or {}).get("containerStatuses") or []:
        if isinstance(st, dict) and st.get("name") == container:
            return st.get("ready") is True
    return False


def dra_pods(pods: list[dict], node_name: str | None) -> dict:
    """Readiness of the DRA driver's ComputeDomain pods, found by their fixed container
    names (a ``nameOverride`` changes labels and object names, never these)."""
    out: dict = {}
    plugins = [(p, _container_ready(p, DRA_PLUGIN_CONTAINER)) for p in pods]
    plugins = [(p, r) for p, r in plugins if r is not None]
    controllers = [r for r in (_container_ready(p, DRA_CONTROLLER_CONTAINER) for p in pods) if r is not None]
    out["controller-pods"] = len(controllers)
    out["controller-ready"] = sum(controllers)
    out["kubelet-plugin-pods"] = len(plugins)
    out["kubelet-plugin-ready"] = sum(r for _, r in plugins)
    if node_name:
        here = [r for p, r in plugins if (p.get("spec") or {}).get("nodeName") == node_name]
        out["kubelet-plugin-on-node"] = bool(here)
        out["kubelet-plugin-ready-on-node"] = bool(here) and all(here)
    return out


def collect_dra(cluster, pods: list[dict] | None, node_name: str | None) -> tuple[dict, str | None]:
    """``K8s.dra``: what IMEX / ComputeDomain readiness on GB200 rests on with the NVIDIA DRA
    driver: the ``computedomains.resource.nvidia.com`` CRD being served, the driver's
    controller and kubelet-plugin pods ready, and ResourceSlices of the
    ``compute-domain.nvidia.com`` driver (cluster-wide and for this node)."""
    from eidos.snapshot.cluster import NotFound

    notes = []
    data: dict = {}
    try:
        cluster.list_cluster_objects("resource.nvidia.com", "v1beta1", "computedomains")
        data["computedomain-crd"] = True
    except NotFound:
        data["computedomain-crd"] = False
    if pods is None:
        notes.append("DRA driver pods unknown: the pod list failed (k8s-images)")
    else:
        data.update(dra_pods(pods, node_name))
    try:
        slices = cluster.list_cluster_objects_any("resource.k8s.io", RESOURCE_API_VERSIONS, "resourceslices")
        mine = [s for s in slices if (s.get("spec") or {}).get("driver") == COMPUTE_DOMAIN_DRIVER]
        data["compute-domain-slices"] = len(mine)
        if node_name:
            data["compute-domain-slices-on-node"] = sum(
                1 for s in mine if (s.get("spec") or {}).get("nodeName") == node_name
            )
    except NotFound:
        notes.append("resource.k8s.io ResourceSlices not served (no DRA API on this cluster)")
    return dict(sorted(data.items())), ("; ".join(notes) or None)


def _measurement(subtypes: list[Subtype]) -> Measurement | None:
    return Measurement("K8s", tuple(subtypes)) if subtypes else None
