"""``OS.host``: the node's operating system as the HOST sees it, for rules about the OS.

The reference agent read ``/etc/os-release`` inside its own container, so ``OS.release`` in
its snapshots names the agent image (Ubuntu 24.04) while the node runs something else
(Ubuntu 22.04.5 on both EKS fixtures). Rules that test the OS read ``OS.host.ID`` and
``OS.host.VERSION_ID`` instead, which validation derives here with one precedence:

1. ``OS.release`` when eidos' own ``os-release`` collector read it (the snapshot records
   that collector as ``ok``): it reads the host root (``/host`` in the agent), so the
   fields are the host's, exact;
2. the kubelet's ``osImage`` (``K8s.node.os-image``), which is the host's ``PRETTY_NAME``:
   ``ID`` and ``VERSION_ID`` are recovered from it with the table below;
3. nothing: a snapshot with only an ``OS.release`` of unknown origin (the reference agent's)
   gives no ``OS.host``, and rules reading it say why instead of trusting the container.

``OS.host.source`` says which one was used. Nothing here changes the snapshot: the view
is a read-only overlay consulted before the snapshot's own data.
"""

from __future__ import annotations

import re
from typing import Any

from eidos.lang.measurements import MISSING

SUBTYPE = ("OS", "host")

# PRETTY_NAME (as the kubelet reports it) -> (os-release ID, VERSION_ID pattern).
# VERSION_ID follows each distribution's os-release: Ubuntu "22.04" (not the point release
# 22.04.5 PRETTY_NAME shows), Amazon Linux "2" / "2023", RHEL "9.4".
_PRETTY = (
    (re.compile(r"^Ubuntu (?P<v>\d+\.\d+)"), "ubuntu"),
    (re.compile(r"^Ubuntu\b"), "ubuntu"),
    (re.compile(r"^Red Hat Enterprise Linux CoreOS (?P<v>\d+(?:\.\d+)?)"), "rhcos"),
    (re.compile(r"^Red Hat Enterprise Linux (?P<v>\d+(?:\.\d+)?)"), "rhel"),
    (re.compile(r"^Amazon Linux (?P<v>2023)\b"), "amzn"),
    (re.compile(r"^Amazon Linux (?P<v>2)(?: |$)"), "amzn"),
    (re.compile(r"^Container-Optimized OS\b"), "cos"),
    (re.compile(r"^(?:Microsoft )?Azure Linux (?P<v>\d+(?:\.\d+)?)"), "azurelinux"),
    (re.compile(r"^CBL-Mariner\b"), "mariner"),
    (re.compile(r"^Bottlerocket OS (?P<v>\d+(?:\.\d+)*)"), "bottlerocket"),
    (re.compile(r"^Debian GNU/Linux (?P<v>\d+)"), "debian"),
    (re.compile(r"^Rocky Linux (?P<v>\d+(?:\.\d+)?)"), "rocky"),
    (re.compile(r"^Talos\b"), "talos"),
    (re.compile(r"^Flatcar Container Linux by Kinvolk (?P<v>\d+(?:\.\d+)*)"), "flatcar"),
)

NO_HOST_OS = (
    "the snapshot has no host OS data: neither the kubelet's os-image (K8s.node.os-image) nor an "
    "os-release read from the host by eidos' os-release collector; the reference agent's OS.release "
    "is its own container's and is not used"
)


def parse_pretty_name(pretty: str) -> dict[str, str]:
    """``ID``/``VERSION_ID`` recovered from a PRETTY_NAME; only what the name actually says."""
    out = {"PRETTY_NAME": pretty}
    for pattern, os_id in _PRETTY:
        m = pattern.match(pretty)
        if m:
            out["ID"] = os_id
            if m.groupdict().get("v"):
                out["VERSION_ID"] = m.group("v")
            break
    return out


def host_os(snapshot) -> dict[str, str] | None:
    """The ``OS.host`` mapping for ``snapshot``, or None when it has no host-side OS data."""
    release = snapshot.lookup(("OS", "release"))
    collector = snapshot.collector("os-release")
    if isinstance(release, dict) and collector is not None and collector.ok:
        out = {k: v for k, v in release.items() if k in ("ID", "VERSION_ID", "PRETTY_NAME") and isinstance(v, str)}
        out["source"] = "os-release (host root, eidos os-release collector)"
        return out
    image = snapshot.lookup(("K8s", "node", "os-image"))
    if isinstance(image, str) and image.strip():
        out = parse_pretty_name(image.strip())
        out["source"] = "kubelet os-image (K8s.node.os-image)"
        return out
    return None


class HostView:
    """A snapshot with the derived ``OS.host`` subtype; everything else is the snapshot's.

    ``lookup`` serves ``("OS", "host", ...)`` from :func:`host_os` and delegates the rest;
    every other attribute (collectors, types, metadata views) is the wrapped snapshot's.
    """

    __slots__ = ("_snapshot", "_host")

    def __init__(self, snapshot) -> None:
        self._snapshot = snapshot
        self._host = host_os(snapshot)

    @property
    def host(self) -> dict[str, str] | None:
        return self._host

    def lookup(self, segments: tuple) -> Any:
        segments = tuple(segments)
        if segments[:2] == SUBTYPE:
            if self._host is None:
                return MISSING
            if len(segments) == 2:
                return dict(self._host)
            if len(segments) == 3 and segments[2] in self._host:
                return self._host[segments[2]]
            return MISSING
        return self._snapshot.lookup(segments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._snapshot, name)
