"""``SystemD.<unit>``: unit properties from ``systemctl show``.

Why ``systemctl`` and not a D-Bus library: it is the tool every node has, its output is a
stable ``Key=Value`` text, and it needs no extra Python dependency. How the host is reached:

* host root ``/``: plain ``systemctl show`` talks to the local systemd;
* another host root (the agent mounts the host at ``/host``): ``systemctl --root`` only
  covers unit *files*, not runtime state, and ``chroot`` needs a privilege the agent should
  not have. Instead ``DBUS_SYSTEM_BUS_ADDRESS`` points at the host's system bus socket
  ``<root>/run/dbus/system_bus_socket``, which systemctl (sd-bus) honours. No socket there
  means the collector is ``unavailable``, with that reason.

No ``systemctl`` at all (containers, minimal images) or a system not booted with systemd is
``unavailable``, not a failure. A unit that does not exist is still recorded, with
``LoadState: not-found``, because "kubelet is not a systemd unit here" is a fact.

Typing: ``systemctl show`` prints text, so values are typed by shape only: ``yes``/``no``
become booleans, canonical decimal integers become ints (``NRestarts: 1``), everything else
stays a string (``LimitNOFILE: infinity``, ``UMask: "0022"``).
"""

from __future__ import annotations

import re
import shutil

from eidos.snapshot.collectors.base import (
    Collector,
    CollectorFailed,
    HostContext,
    Unavailable,
    first_line,
    run_command,
)
from eidos.snapshot.model import Subtype

# nvidia-fabricmanager: rules/checks-gpu.eidos fabric-manager (HGX NVSwitch systems with a host driver)
DEFAULT_UNITS = ("containerd.service", "docker.service", "kubelet.service", "nvidia-fabricmanager.service")
_INT = re.compile(r"^(0|[1-9][0-9]{0,19})$")
_NOT_BOOTED = ("not been booted with systemd", "Failed to connect to bus", "Failed to get D-Bus")


def typed(value: str):
    if value == "yes":
        return True
    if value == "no":
        return False
    if _INT.match(value):
        return int(value)
    return value


def parse_show(text: str, units: tuple[str, ...]) -> list[Subtype]:
    """``systemctl show u1 u2 ...`` prints one block per unit, in order, blank-line separated."""
    blocks: list[dict] = []
    current: dict = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = typed(value)
    if current:
        blocks.append(current)
    out = []
    for i, block in enumerate(blocks):
        name = block.get("Id") if isinstance(block.get("Id"), str) else None
        if name not in units:
            name = units[i] if i < len(units) else name
        if name:
            out.append(Subtype(name, block))
    return out


def make_collector(units: tuple[str, ...] = DEFAULT_UNITS) -> Collector:
    units = tuple(dict.fromkeys(units))

    def collect(ctx: HostContext) -> list[Subtype]:
        exe = shutil.which("systemctl", path=ctx.env.get("PATH"))
        if exe is None:
            raise Unavailable("systemctl not found on PATH")
        env = dict(ctx.env)
        if str(ctx.root) != "/":
            socket = ctx.path("run/dbus/system_bus_socket")
            if not socket.exists():
                raise Unavailable(f"no host D-Bus socket at {socket}")
            env["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={socket}"
        env["SYSTEMD_PAGER"] = ""
        env["LC_ALL"] = "C"
        result = run_command([exe, "show", "--no-pager", *units], ctx.timeout, env)
        if result.returncode != 0:
            msg = first_line(result.stderr) or f"exit status {result.returncode}"
            if any(s in result.stderr for s in _NOT_BOOTED):
                raise Unavailable(f"systemd not reachable: {msg}")
            raise CollectorFailed(f"systemctl show failed: {msg}")
        subtypes = parse_show(result.stdout, units)
        if not subtypes:
            raise CollectorFailed("systemctl show printed no properties")
        return subtypes

    return Collector("systemd", "SystemD", collect)


COLLECTOR = make_collector()
