"""The DRA workload of ``eidos validate --conformance ai``: a ResourceClaim-backed pod that
must see its GPU, then a pod without a claim on the same node that must see none.

Everything lives in the run's namespace ``eidos-conformance-<run-id>`` (labelled
``app.kubernetes.io/managed-by=eidos``, ``eidos.dev/run=<run-id>``), which is deleted on
success, failure, timeout and interruption, as ``eidos validate --fabric`` does
(:mod:`eidos.fabric.workload`). Least privilege: no service-account token, non-root user,
no privilege escalation, every capability dropped, the runtime's default seccomp profile;
the only device the claim pod gets is the one GPU the claim allocates.

The pods list ``/dev/nvidia[0-9]*`` (the per-GPU device nodes the driver creates and the
DRA driver's CDI spec injects) and print ``eidos-gpu-devices: N``; the verdicts come from
that line in each pod's log.
"""

from __future__ import annotations

import re
import time

import attrs

from eidos.conformance.checks import Outcome
from eidos.errors import EnvironmentFailure
from eidos.snapshot import runspace
from eidos.snapshot.agent import MANAGED_BY, MANAGED_BY_LABEL, RUN_LABEL

DEFAULT_IMAGE = "busybox:1.37"  # the image the predecessor's isolation pod used (ref-aicr §3.8)
SCRIPT = ("n=0; for d in /dev/nvidia[0-9]*; do [ -e \"$d\" ] && echo \"device: $d\" && n=$((n+1)); done; "
          "echo \"eidos-gpu-devices: $n\"")
DEVICES = re.compile(r"^eidos-gpu-devices: (\d+)\s*$", re.MULTILINE)
CLAIM_POD, ISOLATION_POD, CLAIM = "dra-gpu", "no-claim", "gpu"


@attrs.frozen
class DraOptions:
    run_id: str
    device_class: str | None
    image: str = DEFAULT_IMAGE
    timeout: float = 300.0
    poll_interval: float = 2.0
    cleanup: bool = True

    @property
    def namespace(self) -> str:
        return f"eidos-conformance-{self.run_id}"

    @property
    def labels(self) -> dict:
        return {MANAGED_BY_LABEL: MANAGED_BY, RUN_LABEL: self.run_id}


@attrs.frozen
class DraRun:
    claim: Outcome
    isolation: Outcome


def _container() -> dict:
    return {"name": "probe", "image": "", "command": ["sh", "-c", SCRIPT],
            "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 65534,
                                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}


def claim_manifest(opts: DraOptions) -> dict:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": CLAIM, "namespace": opts.namespace, "labels": dict(opts.labels)},
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {
                "deviceClassName": opts.device_class, "allocationMode": "ExactCount", "count": 1}}]}}}


def pod_manifest(opts: DraOptions, name: str, *, claim: bool, node: str | None = None) -> dict:
    container = {**_container(), "image": opts.image}
    spec: dict = {"restartPolicy": "Never", "automountServiceAccountToken": False,
                  "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                  "containers": [container]}
    if claim:
        container["resources"] = {"claims": [{"name": "gpu"}]}
        spec["resourceClaims"] = [{"name": "gpu", "resourceClaimName": CLAIM}]
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": opts.namespace, "labels": dict(opts.labels)}, "spec": spec}


def _wait(cluster, opts: DraOptions, name: str) -> tuple[str, dict]:
    """Poll the pod until Succeeded/Failed or the timeout; (phase, pod)."""
    path = f"/api/v1/namespaces/{opts.namespace}/pods/{name}"
    start, polls = time.monotonic(), 0
    while True:
        pod = cluster.request("GET", path)
        phase = str((pod.get("status") or {}).get("phase") or "Pending")
        if phase in ("Succeeded", "Failed"):
            return phase, pod
        elapsed = time.monotonic() - start
        if elapsed >= opts.timeout:
            return "Timeout", pod
        time.sleep(min(opts.poll_interval, 0.1 * 2 ** min(polls, 6), max(opts.timeout - elapsed, 0.01)))
        polls += 1


def _devices(log: str) -> int | None:
    m = DEVICES.search(log)
    return int(m[1]) if m else None


def run_dra(cluster, opts: DraOptions, warn=None) -> DraRun:
    """Run both pods; never raises for the cluster's answers (they become outcomes)."""
    warn = warn or (lambda message: None)
    what_claim = (f"namespace {opts.namespace}: ResourceClaim {CLAIM} (deviceClassName {opts.device_class}, "
                  f"ExactCount 1) and pod {CLAIM_POD} ({opts.image}) using it; the pod lists /dev/nvidia[0-9]*")
    what_iso = (f"namespace {opts.namespace}: pod {ISOLATION_POD} ({opts.image}) without a claim on the claim "
                "pod's node; it lists /dev/nvidia[0-9]*")
    if opts.device_class is None:
        why = "cannot run: no GPU DeviceClass (see dra-device-class)"
        return DraRun(Outcome("dra-claim-pod", "skip", why, what=what_claim),
                      Outcome("dra-isolation", "skip", why, what=what_iso))
    created = False
    try:
        cluster.create({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": opts.namespace, "labels": dict(opts.labels)}})
        created = True
        cluster.request("POST", f"/apis/resource.k8s.io/v1/namespaces/{opts.namespace}/resourceclaims",
                        claim_manifest(opts))
        cluster.request("POST", f"/api/v1/namespaces/{opts.namespace}/pods",
                        pod_manifest(opts, CLAIM_POD, claim=True))
        phase, pod = _wait(cluster, opts, CLAIM_POD)
        log = _log(cluster, opts, CLAIM_POD)
        node = (pod.get("spec") or {}).get("nodeName")
        out = tuple(log.splitlines()[-20:]) + (f"phase: {phase}", f"node: {node}")
        n = _devices(log)
        if phase != "Succeeded" or not n:
            reason = (f"the claim pod did not finish within {opts.timeout:g}s" if phase == "Timeout" else
                      f"the claim pod ended {phase}" if phase != "Succeeded" else
                      "the claim pod saw no GPU device")
            claim = Outcome("dra-claim-pod", "fail", reason, what=what_claim, output=out,
                            remedy="check the DRA driver allocates the claim (kubectl describe resourceclaim) and "
                                   "the pod can be scheduled on a GPU node")
            iso = Outcome("dra-isolation", "skip", "cannot run: the claim pod did not see a GPU", what=what_iso)
            return DraRun(claim, iso)
        claim = Outcome("dra-claim-pod", "pass", f"the claim pod saw {n} GPU device(s) on node {node}",
                        what=what_claim, output=out)
        cluster.request("POST", f"/api/v1/namespaces/{opts.namespace}/pods",
                        pod_manifest(opts, ISOLATION_POD, claim=False, node=node))
        phase, _ = _wait(cluster, opts, ISOLATION_POD)
        log = _log(cluster, opts, ISOLATION_POD)
        out = tuple(log.splitlines()[-20:]) + (f"phase: {phase}", f"node: {node}")
        n = _devices(log)
        if phase != "Succeeded" or n is None:
            iso = Outcome("dra-isolation", "error", f"the isolation pod ended {phase} without a device count",
                          what=what_iso, output=out)
        elif n:
            iso = Outcome("dra-isolation", "fail", f"a pod without a claim saw {n} GPU device(s) on node {node}",
                          what=what_iso, output=out,
                          remedy="GPUs must be reachable only through a claim or device-plugin request: check "
                                 "the container runtime does not inject all GPUs (NVIDIA_VISIBLE_DEVICES=all, "
                                 "accept-nvidia-visible-devices-envvar-when-unprivileged)")
        else:
            iso = Outcome("dra-isolation", "pass", f"a pod without a claim on node {node} saw no GPU device",
                          what=what_iso, output=out)
        return DraRun(claim, iso)
    except EnvironmentFailure as err:
        why = f"could not run: {err.message}"
        return DraRun(Outcome("dra-claim-pod", "error", why, what=what_claim),
                      Outcome("dra-isolation", "error", why, what=what_iso))
    finally:
        runspace.release(cluster, opts.namespace, created=created, cleanup=opts.cleanup, warn=warn)


def _log(cluster, opts: DraOptions, name: str) -> str:
    try:
        return cluster.pod_log(opts.namespace, name, tail_lines=None, limit_bytes=1 << 20)
    except EnvironmentFailure:
        return ""

