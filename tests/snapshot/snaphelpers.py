"""Helpers for the snapshot tests: fake host roots, fake tools on PATH, a kmock API server.

kmock is asyncio-based while the ``kubernetes`` client is synchronous, so the emulator runs
on its own event loop in a background thread, listening on a loopback port; tests drive it
through a kubeconfig file that points at that port, exactly as a user's kubeconfig would.
"""

from __future__ import annotations

import asyncio
import re
import stat
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SERVER_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.5-eks-3025e55",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-09-01T00:00:00Z",
    "goVersion": "go1.24.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class BackgroundActor:
    """A fake controller, kubelet or agent acting on the emulator in a thread while a test
    runs (``with Actor(kube): ...``); subclasses write ``run``, which loops until ``stop``."""

    join_timeout = 5

    def __init__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(self.join_timeout)


class KMockThread:
    """A KubernetesEmulator on 127.0.0.1:<random port>, served from a background loop."""

    def __init__(self):
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.url: str | None = None
        self.emulator = None

    def start(self) -> KMockThread:
        self._thread = threading.Thread(target=self._run, name="kmock", daemon=True)
        self._thread.start()
        if not self._ready.wait(15) or self._error:
            raise RuntimeError(f"kmock did not start: {self._error!r}")
        return self

    def _run(self):
        try:
            asyncio.run(self._main())
        except BaseException as err:  # surfaced by start()
            self._error = err
            self._ready.set()

    async def _main(self):
        import kmock

        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with kmock.KubernetesEmulator() as emu, kmock.Server(emu) as server:
            self.emulator = emu
            self.url = str(server.url).rstrip("/")
            emu["get", re.compile(r"^/version/?$")] << SERVER_VERSION
            for res, kind, namespaced in (
                ("v1/configmaps", "ConfigMap", True),
                ("v1/pods", "Pod", True),
                ("v1/nodes", "Node", False),
                ("v1/serviceaccounts", "ServiceAccount", True),
                ("batch/v1/jobs", "Job", True),
                ("rbac.authorization.k8s.io/v1/roles", "Role", True),
                ("rbac.authorization.k8s.io/v1/rolebindings", "RoleBinding", True),
                ("nvidia.com/v1/clusterpolicies", "ClusterPolicy", False),
            ):
                emu.resources[res] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)
            self._ready.set()
            await self._stop.wait()

    def call(self, fn):
        """Run ``fn()`` on the server's loop (the emulator is not thread-safe)."""

        async def wrapper():
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def add_object(self, resource: str, namespace, name: str, body: dict) -> None:
        self.call(lambda: self.emulator.objects.__setitem__((resource, namespace, name), body))

    def live(self, resource: str) -> dict:
        """{(namespace, name): raw body} of objects that exist (not deleted)."""

        def snapshot():
            out = {}
            for (res, ns, name), obj in self.emulator.objects.items():
                if str(res.plural) == resource.rsplit("/", 1)[-1] and not obj.deleted:
                    out[(ns, name)] = obj.raw
            return out

        return self.call(snapshot)

    def stop(self):
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def make_exe(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_host(root: Path, *, os_release: str | None = "os-release-ubuntu-22.04") -> Path:
    """A small host tree: os-release from a fixture, a /proc/sys tree, modules, cmdline."""
    (root / "etc").mkdir(parents=True, exist_ok=True)
    if os_release:
        (root / "etc/os-release").write_text((FIXTURES / "os" / os_release).read_text())
    sys_dir = root / "proc/sys"
    files = {
        "kernel/osrelease": "6.8.0-1028-aws\n",
        "kernel/ostype": "Linux\n",
        "kernel/version": "#29~22.04.1-Ubuntu SMP Tue Apr 15 12:00:00 UTC 2025\n",
        "kernel/hostname": "ip-10-0-160-248\n",
        "kernel/printk": "4\t4\t1\t7\n",
        "vm/swappiness": "60\n",
        "net/core/rmem_max": "212992\n",
        "net/ipv4/ip_forward": "1\n",
        "sunrpc/transports": "tcp 1048576\nudp 32768\n",
    }
    for rel, text in files.items():
        p = sys_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    wo = sys_dir / "vm/compact_memory"
    wo.write_text("")
    wo.chmod(0o200)  # write-only trigger: must be skipped, not fail
    (root / "proc/modules").write_text((FIXTURES / "os" / "proc-modules-talos-nvidia-510-excerpt").read_text())
    (root / "proc/cmdline").write_text(
        'BOOT_IMAGE=/boot/vmlinuz-6.8.0-1028-aws root=UUID=abc ro nokaslr hugepages=5128 '
        'dyndbg="file foo.c +p" panic=-1\n'
    )
    return root


@contextmanager
def emulated_cluster(tmp_path: Path, monkeypatch, *, token: str = "s3cr3t-token-must-not-leak", setup=None):
    """A running emulator and a kubeconfig for it (``server.kubeconfig``); KUBECONFIG points
    at that file for the duration. ``setup(server)`` runs on the emulator's loop first
    (extra resources, routes)."""
    server = KMockThread().start()
    if setup is not None:
        server.call(lambda: setup(server))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Config
            clusters:
              - name: kmock
                cluster: {{server: "{server.url}"}}
            users:
              - name: tester
                user: {{token: "{token}"}}
            contexts:
              - name: kmock
                context: {{cluster: kmock, user: tester}}
            current-context: kmock
            """
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    server.kubeconfig = kubeconfig
    try:
        yield server
    finally:
        server.stop()


def rbac_allows(rules, namespace, request) -> bool:
    """Kubernetes RBAC for one recorded kmock request against a namespaced Role's rules: the
    audits of the snapshot agent and of scheduled drift replay every request their pods made."""
    verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(
        str(request.method.value).upper(), "get" if request.name else "list")
    if request.namespace != namespace or request.resource is None:
        return False
    for rule in rules:
        if request.resource.group not in rule.get("apiGroups", []):
            continue
        if request.resource.plural not in rule.get("resources", []):
            continue
        if verb not in rule.get("verbs", []) and "*" not in rule.get("verbs", []):
            continue
        names = rule.get("resourceNames")
        if names and request.name not in names:  # create has no name: never allowed by name
            continue
        return True
    return False
