"""Fabric test profiles: which image, binary, environment and devices run nccl-tests where.

The profiles are data (``profiles.yaml`` beside this module); this module reads them once,
checks their shape, and picks the first whose ``match`` holds for the cluster's facts.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Mapping

import attrs

from eidos.errors import UsageError

TESTS = ("all_reduce", "all_gather", "reduce_scatter", "alltoall", "broadcast", "reduce", "sendrecv")
_RESOURCE = re.compile(r"^[a-z0-9][-a-z0-9.]{0,252}/[-A-Za-z0-9_.]{1,63}$")


@attrs.frozen
class Profile:
    name: str
    match: tuple[tuple[str, tuple[str, ...]], ...]
    image: str
    binary: str
    mpirun: str
    env: tuple[tuple[str, str], ...]
    device_resources: tuple[str, ...]
    multi_node: bool
    multi_node_note: str = ""
    device_prefixes: tuple[str, ...] = ()  # every allocatable resource with this prefix (rdma/)
    compute_domain: bool = False  # multi-node: IMEX channels through a DRA ComputeDomain
    # multi-node workers only (GKE GPUDirect): pod annotations (multi-network NICs, device
    # paths for a sidecar), host directories mounted into the test container, native sidecars
    # (initContainers with restartPolicy Always, e.g. the TCPXO receive-data-path daemon)
    annotations: tuple[tuple[str, str], ...] = ()
    # (volume name, host path, mount path in the test container or "" for a sidecar's only,
    # read-only in the test container)
    volumes: tuple[tuple[str, str, str, bool], ...] = ()
    mpirun_args: tuple[str, ...] = ()  # e.g. keep MPI's own TCP traffic on the primary NIC
    sidecars: tuple[Mapping, ...] = ()
    source: str = ""  # a script every rank sources before the test (the plugin's NCCL settings)
    worker_command: tuple[str, ...] = ("/usr/sbin/sshd", "-De")
    node_selector: tuple[tuple[str, str], ...] = ()  # the default --node-selector for this profile
    single_node: str = ""  # the profile a one-node run uses instead (the NVLink test)

    def applies(self, facts: Mapping[str, object]) -> bool:
        return all(str(facts.get(k)) in values for k, values in self.match)

    def command(self, test: str) -> str:
        return self.binary.format(test=test)


def _profile(raw: dict) -> Profile:
    try:
        profile = Profile(
            name=str(raw["name"]),
            match=tuple(sorted((str(k), tuple(str(v) for v in vs)) for k, vs in (raw.get("match") or {}).items())),
            image=str(raw["image"]),
            binary=str(raw["binary"]),
            mpirun=str(raw["mpirun"]),
            env=tuple(sorted((str(k), str(v)) for k, v in (raw.get("env") or {}).items())),
            device_resources=tuple(str(r) for r in raw.get("device_resources") or ()),
            multi_node=bool(raw.get("multi_node")),
            multi_node_note=" ".join(str(raw.get("multi_node_note") or "").split()),
            device_prefixes=tuple(str(r) for r in raw.get("device_prefixes") or ()),
            compute_domain=bool(raw.get("compute_domain")),
            annotations=tuple(sorted((str(k), str(v)) for k, v in (raw.get("annotations") or {}).items())),
            volumes=tuple((str(v["name"]), str(v["host_path"]), str(v.get("mount_path") or ""),
                           bool(v.get("read_only"))) for v in raw.get("volumes") or ()),
            mpirun_args=tuple(str(a) for a in raw.get("mpirun_args") or ()),
            sidecars=tuple(_frozen(dict(c)) for c in raw.get("sidecars") or ()),
            source=str(raw.get("source") or ""),
            worker_command=tuple(str(a) for a in raw.get("worker_command") or ("/usr/sbin/sshd", "-De")),
            node_selector=tuple(sorted((str(k), str(v)) for k, v in (raw.get("node_selector") or {}).items())),
            single_node=str(raw.get("single_node") or ""),
        )
    except (KeyError, TypeError, AttributeError) as err:  # a broken shipped file: a bug, said plainly
        raise ValueError(f"fabric profile {raw!r}: {err}") from None
    if "{test}" not in profile.binary:
        raise ValueError(f"fabric profile {profile.name}: binary must contain {{test}}")
    bad = [r for r in profile.device_resources if not _RESOURCE.match(r)]
    if bad:
        raise ValueError(f"fabric profile {profile.name}: bad resource names {bad}")
    if any(not isinstance(c.get("name"), str) or not c.get("image") for c in profile.sidecars):
        raise ValueError(f"fabric profile {profile.name}: every sidecar needs a name and an image")
    return profile


def _frozen(value):
    """Sidecar containers are kept as given (they are Kubernetes objects, not ours to model),
    but read-only, so one run cannot change the profile another run uses."""
    from types import MappingProxyType

    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def thaw(value):
    """A plain, JSON-serialisable copy of a frozen sidecar (for a manifest)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@functools.cache
def load_profiles() -> tuple[Profile, ...]:
    from eidos.io import yamlio

    text = resources.files("eidos.fabric").joinpath("profiles.yaml").read_text(encoding="utf-8")
    doc = yamlio.load(text, "eidos/fabric/profiles.yaml")
    loaded = tuple(_profile(raw) for raw in doc["profiles"])
    names = {p.name for p in loaded}
    for profile in loaded:
        if profile.single_node and profile.single_node not in names:
            raise ValueError(f"fabric profile {profile.name}: single_node {profile.single_node!r} is no profile")
    return loaded


def select(facts: Mapping[str, object]) -> Profile:
    for profile in load_profiles():
        if profile.applies(facts):
            return profile
    raise UsageError("no fabric profile matches these facts")  # the last profile matches everything


def by_name(name: str) -> Profile:
    for profile in load_profiles():
        if profile.name == name:
            return profile
    raise ValueError(f"no fabric profile named {name!r}")  # a broken shipped file


def for_run(profile: Profile, nodes: int) -> Profile:
    """The profile a run of ``nodes`` uses: a one-node run of a profile that names a
    ``single_node`` profile is that profile's NVLink test, on the same nodes (its node
    selector is kept): GKE's TCPXO/gIB settings need the multi-node plumbing (sidecar, NICs)."""
    if nodes != 1 or not profile.single_node:
        return profile
    single = by_name(profile.single_node)
    return attrs.evolve(single, node_selector=profile.node_selector or single.node_selector)


def check_test(test: str) -> str:
    if test not in TESTS:
        raise UsageError(f"--test {test!r}: not an nccl-tests collective",
                         hint="one of " + ", ".join(TESTS))
    return test
