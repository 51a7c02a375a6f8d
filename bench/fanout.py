"""The agent fan-out (``eidos snapshot --deploy-agent --all-nodes``) over a simulated cluster.

Two emulators, because they answer different questions:

* **in-process, 10,000 GPU nodes** (+ 5% CPU nodes that must not be targeted): a dict-backed
  API (:class:`MemoryCluster`) with the same methods as :class:`eidos.snapshot.cluster.Cluster`
  and a simulated kubelet that completes each Job as soon as it exists, writing the node's
  snapshot (the real EKS H100 fixture as JSON, renamed per node) into its ConfigMap; 1% of
  the nodes fail. What is measured is eidos' own cost: objects created, API requests, time
  to create the fan-out, time to collect every snapshot (each one read, parsed and checked
  against its node), cleanup, peak memory. A real API server's latency is added by (2).
* **kmock over HTTP** through the real ``kubernetes`` client (the tests' emulator,
  tests/snapshot/snaphelpers.py), a few hundred nodes: the wall time per node when every
  request is a real round trip, which is what a user sees (times a real server's latency).

ConfigMap data is rendered when read (:class:`MemoryCluster` keeps the node's name), so the
emulator's memory stays flat and the peak measured is the CLI's.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "snapshots" / "cns-eks-h100.yaml"
SIZES = {"tiny": (200, 10), "full": (10_000, 50)}  # (in-process nodes, kmock nodes)
FAIL_EVERY = 100  # 1% of nodes fail


def _template() -> tuple[str, str]:
    """The fixture as canonical JSON, and the node name it names (replaced per node)."""
    from eidos.snapshot import io

    snap = io.load_snapshot(str(FIXTURE))
    return io.dumps(snap, "json"), snap.source_node


class MemoryCluster:
    """The subset of the Kubernetes API the fan-out uses, in memory, counting requests."""

    def __init__(self, nodes: list[dict], fail: set[str]):
        from eidos.snapshot.cluster import NotFound

        self._not_found = NotFound
        self.nodes = nodes
        self.fail = fail
        self.objects: dict[tuple[str, str], dict] = {}
        self.requests: Counter = Counter()
        self.created: Counter = Counter()
        self.lock = threading.Lock()
        self.template, self.template_node = _template()
        self.description = "in-process emulator"

    # reads
    def list_nodes(self):
        self.requests["list nodes"] += 1
        return self.nodes

    def list_objects(self, kind, namespace, label_selector=None):
        from eidos.snapshot.cluster import _labels_match

        self.requests[f"list {kind}"] += 1
        with self.lock:
            items = [o for (k, _), o in self.objects.items() if k == kind]
        return [o for o in items if not label_selector or _labels_match(o, label_selector)]

    def list_pods(self, namespace=None, label_selector=None):
        self.requests["list Pod"] += 1
        return []

    def pod_log(self, *a, **kw):
        self.requests["get log"] += 1
        return "collector gpu: nvidia-smi exited with status 9\n"

    def get_configmap(self, namespace, name):
        self.requests["get ConfigMap"] += 1
        with self.lock:
            obj = self.objects.get(("ConfigMap", name))
        if obj is None:
            raise self._not_found(f"get ConfigMap {namespace}/{name}: not found (HTTP 404)", 404)
        node = obj.get("_written")
        data = {}
        if node:
            data = {"snapshot.json": self.template.replace(self.template_node, node), "format": "json"}
        return {**obj, "data": data}

    # writes
    def create(self, manifest):
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        self.requests[f"create {kind}"] += 1
        self.created[kind] += 1
        obj = json.loads(json.dumps(manifest))
        obj["metadata"]["uid"] = str(uuid.uuid4())
        with self.lock:
            self.objects[(kind, name)] = obj
        if kind == "Job" and not obj["spec"].get("suspend"):
            self._run(obj)
        return obj

    def patch(self, kind, name, namespace, body):
        self.requests[f"patch {kind}"] += 1
        with self.lock:
            obj = self.objects[(kind, name)]
            obj["spec"].update(body.get("spec") or {})
        if kind == "Job" and not obj["spec"].get("suspend"):
            self._run(obj)
        return obj

    def delete(self, kind, name, namespace=None):
        self.requests[f"delete {kind}"] += 1
        with self.lock:
            return self.objects.pop((kind, name), None) is not None

    def close(self):
        pass

    def _run(self, job):
        """The kubelet and the agent: the pinned node's snapshot lands in the ConfigMap."""
        node = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        cm = args[args.index("--out") + 1].rsplit("/", 1)[1]
        with self.lock:
            if node in self.fail:
                job["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}
            else:
                self.objects[("ConfigMap", cm)]["_written"] = node
                self.objects[("ConfigMap", cm)]["metadata"]["labels"]["app.kubernetes.io/component"] = "snapshot"
                job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}


def _cluster_nodes(count: int) -> tuple[list[dict], set[str]]:
    nodes, fail = [], set()
    for i in range(count):
        name = f"ip-10-1-{i // 250}-{i % 250}.ec2.internal"
        nodes.append({"metadata": {"name": name, "labels": {"nvidia.com/gpu.present": "true"}},
                      "status": {"allocatable": {"nvidia.com/gpu": "8"}}})
        if i % FAIL_EVERY == FAIL_EVERY - 1:
            fail.add(name)
    for i in range(max(1, count // 20)):
        nodes.append({"metadata": {"name": f"cpu-{i}.ec2.internal", "labels": {"role": "cpu"}},
                      "status": {"allocatable": {"cpu": "96"}}})
    return nodes, fail


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_process(size: str, count: int):
    from bench.scenarios import _m
    from eidos.snapshot.fanout import FanoutOptions, run_fanout

    nodes, fail = _cluster_nodes(count)
    cluster = MemoryCluster(nodes, fail)
    phases = {}

    class Timing:
        enabled = True

        def update(self, text):
            if text.startswith("agents started"):
                phases["created"] = time.perf_counter()

        def done(self):
            pass

    opts = FanoutOptions(image="eidos:bench", poll_interval=0.2, timeout=600)
    start = time.perf_counter()
    result = run_fanout(cluster, opts, Timing(), warn=lambda message: None)
    total = time.perf_counter() - start
    created = phases.get("created", start) - start
    requests = sum(cluster.requests.values())
    left = len(cluster.objects) - len(result.succeeded)
    name = f"in-process: {count} GPU nodes"
    yield _m("fanout", size, f"{name}, objects created", result.created, "objects")
    yield _m("fanout", size, f"{name}, API requests", requests, "requests")
    yield _m("fanout", size, f"{name}, create the fan-out", created, "s")
    yield _m("fanout", size, f"{name}, collect + clean up", total - created, "s")
    yield _m("fanout", size, f"{name}, wall", total, "s")
    yield _m("fanout", size, f"{name}, snapshots gathered", len(result.succeeded), "nodes")
    yield _m("fanout", size, f"{name}, failures recorded", len(result.failed), "nodes")
    yield _m("fanout", size, f"{name}, objects left (result ConfigMaps excluded)", left, "objects")
    yield _m("fanout", size, f"{name}, peak RSS", _peak_mb(), "MB")
    if len(result.succeeded) != count - len(fail) or len(result.failed) != len(fail) or left:
        raise AssertionError(f"fan-out over the emulator went wrong: {len(result.succeeded)} ok, "
                             f"{len(result.failed)} failed, {left} objects left")


def over_http(size: str, count: int):
    """kmock on loopback through the real client; the 'kubelet' acts on the emulator directly."""
    import tempfile

    import importlib.util

    from bench.scenarios import _m
    from eidos.snapshot.cluster import Cluster
    from eidos.snapshot.fanout import FanoutOptions, run_fanout

    if importlib.util.find_spec("kmock") is None:  # a test dependency, imported by the server thread
        print("fanout: kmock is not installed (pip install '.[test]'): the HTTP run is SKIPPED", file=sys.stderr)
        yield _m("fanout", size, "kmock over HTTP: not installed, skipped", 0, "skipped")
        return
    sys.path.insert(0, str(ROOT / "tests" / "snapshot"))
    try:
        from snaphelpers import KMockThread
    finally:
        sys.path.pop(0)
    server = KMockThread().start()
    try:
        nodes, fail = _cluster_nodes(count)
        for n in nodes:
            server.add_object("v1/nodes", None, n["metadata"]["name"], n)
        template, template_node = _template()
        stop = threading.Event()

        def kubelet():
            done = set()
            while not stop.is_set():
                for (ns, name), job in server.live("batch/v1/jobs").items():
                    if name in done or job["spec"].get("suspend"):
                        continue
                    done.add(name)
                    node = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
                        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]

                    def finish(ns=ns, name=name, node=node):
                        for (res, o_ns, o_name), obj in server.emulator.objects.items():
                            if o_ns == ns and o_name == name and not obj.deleted:
                                if str(res.plural) == "configmaps" and node not in fail:
                                    raw = dict(obj.raw)
                                    raw["data"] = {"snapshot.json": template.replace(template_node, node), "format": "json"}
                                    raw["metadata"] = {**raw["metadata"], "labels": {
                                        **raw["metadata"]["labels"], "app.kubernetes.io/component": "snapshot"}}
                                    server.emulator.objects[res, ns, name] = raw
                                elif str(res.plural) == "jobs":
                                    cond = {"type": "Failed" if node in fail else "Complete", "status": "True"}
                                    server.emulator.objects[res, ns, name] = {**obj.raw, "status": {"conditions": [cond]}}

                    server.call(finish)
                time.sleep(0.2)

        thread = threading.Thread(target=kubelet, daemon=True)
        thread.start()
        with tempfile.TemporaryDirectory() as tmp:
            kc = Path(tmp) / "kubeconfig"
            kc.write_text(f"apiVersion: v1\nkind: Config\nclusters: [{{name: k, cluster: {{server: '{server.url}'}}}}]\n"
                          "users: [{name: u, user: {token: t}}]\ncontexts: [{name: k, context: {cluster: k, user: u}}]\n"
                          "current-context: k\n")
            cluster = Cluster.connect(str(kc), timeout=30)
            cluster.server_version()  # the client's import and first connection are not the fan-out's
            start_requests = server.call(lambda: len(server.emulator._requests))
            start = time.perf_counter()
            result = run_fanout(cluster, FanoutOptions(image="eidos:bench", poll_interval=0.2, timeout=600),
                                warn=lambda message: None)
            wall = time.perf_counter() - start
            requests = server.call(lambda: len(server.emulator._requests)) - start_requests
            cluster.close()
        stop.set()
        thread.join(5)
        name = f"kmock over HTTP: {count} GPU nodes"
        yield _m("fanout", size, f"{name}, wall", wall, "s")
        yield _m("fanout", size, f"{name}, per node", wall / count * 1000, "ms")
        yield _m("fanout", size, f"{name}, API requests", requests, "requests")
        yield _m("fanout", size, f"{name}, snapshots gathered", len(result.succeeded), "nodes")
        if len(result.succeeded) != count - len(fail):
            raise AssertionError(f"fan-out over kmock gathered {len(result.succeeded)} of {count - len(fail)}")
    finally:
        server.stop()


def fanout_scale(size: str):
    memory_nodes, http_nodes = SIZES[size]
    yield from in_process(size, memory_nodes)
    yield from over_http(size, http_nodes)

