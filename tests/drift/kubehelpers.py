"""The kmock emulator for the drift tests: the snapshot tests' server plus CronJobs.

kmock (0.8) knows only the resources it is told about; the snapshot tests register the
agent's kinds (tests/snapshot/snaphelpers.py) and these tests add batch/v1 cronjobs, the way
tests/fabric/test_fabric_cluster.py adds its EXTRA_RESOURCES.
"""

from __future__ import annotations

import pytest

from tests.snapshot.snaphelpers import KMockThread

EXTRA_RESOURCES = (("batch/v1/cronjobs", "CronJob", True),)
# every kind eidos drift creates, as kmock names them (resource plural path)
DRIFT_RESOURCES = ("batch/v1/cronjobs", "batch/v1/jobs", "v1/configmaps", "v1/serviceaccounts",
                   "rbac.authorization.k8s.io/v1/roles", "rbac.authorization.k8s.io/v1/rolebindings")


@pytest.fixture
def kube(tmp_path, monkeypatch):
    import kmock

    server = KMockThread().start()

    def register():
        for res, kind, namespaced in EXTRA_RESOURCES:
            server.emulator.resources[res] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)

    server.call(register)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: kmock, cluster: {{server: \"{server.url}\"}}}}]\n"
        "users: [{name: tester, user: {token: t0ken}}]\n"
        "contexts: [{name: kmock, context: {cluster: kmock, user: tester}}]\n"
        "current-context: kmock\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    server.kubeconfig = kubeconfig
    try:
        yield server
    finally:
        server.stop()


def everything(kube) -> dict:
    """{resource: {(namespace, name): body}} of every live object of the drift kinds."""
    return {res: kube.live(res) for res in DRIFT_RESOURCES}
