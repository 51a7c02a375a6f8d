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
        )
    except (KeyError, TypeError, AttributeError) as err:  # a broken shipped file: a bug, said plainly
        raise ValueError(f"fabric profile {raw!r}: {err}") from None
    if "{test}" not in profile.binary:
        raise ValueError(f"fabric profile {profile.name}: binary must contain {{test}}")
    bad = [r for r in profile.device_resources if not _RESOURCE.match(r)]
    if bad:
        raise ValueError(f"fabric profile {profile.name}: bad resource names {bad}")
    return profile


@functools.cache
def load_profiles() -> tuple[Profile, ...]:
    from eidos.io import yamlio

    text = resources.files("eidos.fabric").joinpath("profiles.yaml").read_text(encoding="utf-8")
    doc = yamlio.load(text, "eidos/fabric/profiles.yaml")
    return tuple(_profile(raw) for raw in doc["profiles"])


def select(facts: Mapping[str, object]) -> Profile:
    for profile in load_profiles():
        if profile.applies(facts):
            return profile
    raise UsageError("no fabric profile matches these facts")  # the last profile matches everything


def check_test(test: str) -> str:
    if test not in TESTS:
        raise UsageError(f"--test {test!r}: not an nccl-tests collective",
                         hint="one of " + ", ".join(TESTS))
    return test
