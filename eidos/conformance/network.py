"""The high-performance-networking test (SHOULD, 1.36): a specialised network resource is
discoverable, and a pod that asks for one gets it attached.

Discovery — the resources eidos knows how to ask for, with their origin:

* a DRA network driver: DRANET's DeviceClass and driver ``dra.net`` (kubernetes-sigs/dranet,
  tests/manifests/resourceclaim.yaml), with devices in ResourceSlices — the mechanism the
  requirement names;
* extended resources of device plugins on the nodes: ``vpc.amazonaws.com/efa`` (the AWS EFA
  device plugin) and ``rdma/*`` (the RDMA shared device plugin of the NVIDIA Network
  Operator, e.g. ``rdma/rdma_shared_device_a``).

Behaviour — one pod in the test's own namespace (:mod:`eidos.conformance.behaviour`) asking
for one device (a ResourceClaim of the DRA class, else one unit of the extended resource);
it counts the network interfaces beside ``lo`` and ``eth0`` in ``/sys/class/net`` (where
a DRA network driver moves the allocated interface) and the RDMA verbs devices
``/dev/infiniband/uverbs*`` (which EFA and RDMA device plugins mount), and prints
``eidos-net-devices: N``. The verdict is the pod's phase and that line: Succeeded with N >= 1.
"""

from __future__ import annotations

import re

from eidos.conformance.behaviour import ProbeOptions, container, own_namespace, pod_line, pod_spec, poll
from eidos.conformance.checks import Outcome
from eidos.conformance.probe import name_of
from eidos.errors import EnvironmentFailure

DRA_GV = "resource.k8s.io/v1"
DRANET = "dra.net"
EXTENDED = re.compile(r"^(vpc\.amazonaws\.com/efa|rdma/.+)$")
POD, CLAIM = "net-attach", "net"
SCRIPT = ("n=0; for i in /sys/class/net/*; do b=${i##*/}; [ \"$b\" = lo ] || [ \"$b\" = eth0 ] || "
          "{ echo \"interface: $b\"; n=$((n+1)); }; done; "
          "for d in /dev/infiniband/uverbs*; do [ -e \"$d\" ] && echo \"rdma: $d\" && n=$((n+1)); done; "
          "echo \"eidos-net-devices: $n\"")
DEVICES = re.compile(r"^eidos-net-devices: (\d+)\s*$", re.MULTILINE)


def discover(probe) -> tuple[dict | None, list[str]]:
    """What the test will ask for — ``{"class": name}`` or ``{"resource": name}`` — and what was found."""
    lines: list[str] = []
    if probe.served(DRA_GV) is not None:
        classes = [name_of(c) for c in probe.list(DRA_GV, "deviceclasses")
                   if name_of(c) == DRANET or DRANET in str((c.get("spec") or {}).get("selectors"))]
        devices = sum(len((s.get("spec") or {}).get("devices") or []) for s in probe.list(DRA_GV, "resourceslices")
                      if (s.get("spec") or {}).get("driver") == DRANET)
        lines.append(f"DRA network DeviceClass: {', '.join(classes) or 'none'}; {DRANET} devices in ResourceSlices: {devices}")
        if classes and devices:
            return {"class": classes[0]}, lines
    found: dict[str, int] = {}
    for n in probe.list("v1", "nodes"):
        for key, value in (((n.get("status") or {}).get("allocatable")) or {}).items():
            if EXTENDED.match(str(key)):
                try:
                    found[key] = found.get(key, 0) + int(str(value))
                except ValueError:
                    continue
    lines.append("network extended resources: " + (", ".join(f"{k}={v}" for k, v in sorted(found.items())) or "none"))
    usable = sorted(k for k, v in found.items() if v > 0)
    return ({"resource": usable[0]} if usable else None), lines


def run_network(cluster, probe, opts: ProbeOptions, warn) -> Outcome:
    what = (f"namespace {opts.namespace('net')}: pod {POD} requesting one high-performance network device "
            "(a dra.net ResourceClaim, or one unit of an EFA/RDMA extended resource); it counts the extra "
            "interfaces in /sys/class/net and /dev/infiniband/uverbs*")
    lines: list[str] = []
    try:
        want, lines = discover(probe)
        if want is None:
            return Outcome("hpn-attach", "fail", "no high-performance network resource is exposed to pods",
                           what=what, output=tuple(lines),
                           remedy="expose the RDMA/secondary NICs through a DRA network driver (e.g. DRANET) or a "
                                  "device plugin (EFA, RDMA shared device plugin)")
        with own_namespace(cluster, opts, "net", warn) as ns:
            c = container(opts.image, SCRIPT)
            extra: dict = {}
            if "class" in want:
                cluster.request("POST", f"/apis/{DRA_GV}/namespaces/{ns}/resourceclaims", {
                    "apiVersion": DRA_GV, "kind": "ResourceClaim", "metadata": {"name": CLAIM, "namespace": ns},
                    "spec": {"devices": {"requests": [{"name": "net", "exactly": {
                        "deviceClassName": want["class"], "allocationMode": "ExactCount", "count": 1}}]}}})
                extra["resourceClaims"] = [{"name": "net", "resourceClaimName": CLAIM}]
                asked = f"ResourceClaim {CLAIM} (DeviceClass {want['class']})"
            else:
                c["resources"] = {"requests": {want["resource"]: "1"}, "limits": {want["resource"]: "1"}}
                asked = f"{want['resource']}: 1"
            lines.append(f"asked for: {asked}")
            cluster.request("POST", f"/api/v1/namespaces/{ns}/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD, "namespace": ns},
                "spec": pod_spec([c], tolerations=[{"operator": "Exists", "effect": "NoSchedule"}], **extra)})
            pod, timed_out = poll(lambda: cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{POD}"),
                                  lambda p: (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"), opts)
            try:
                log = cluster.pod_log(ns, POD, tail_lines=None, limit_bytes=1 << 20)
            except EnvironmentFailure:
                log = ""
            lines += [pod_line(pod)] + log.splitlines()[-20:]
            m = DEVICES.search(log)
            if timed_out or (pod.get("status") or {}).get("phase") != "Succeeded" or not m or not int(m[1]):
                why = (f"the pod did not finish within {opts.timeout:g}s" if timed_out else
                       "the pod saw no high-performance network device" if m else
                       f"the pod ended {(pod.get('status') or {}).get('phase')} without a device count")
                return Outcome("hpn-attach", "fail", why, what=what, output=tuple(lines),
                               remedy="check the network driver or device plugin attaches the device to the pod "
                                      "(kubectl describe pod, the driver's logs)")
            return Outcome("hpn-attach", "pass", f"a pod asking for {asked} got {m[1]} network device(s)",
                           what=what, output=tuple(lines))
    except EnvironmentFailure as err:
        return Outcome("hpn-attach", "error", f"could not run: {err.message}", what=what, output=tuple(lines),
                       remedy="the user running eidos needs the permissions listed in docs/security.md")
