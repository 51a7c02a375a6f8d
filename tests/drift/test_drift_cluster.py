"""``eidos drift`` against the kmock emulator: install, run (the pod's action, in this
process), status, alerts and uninstall, through the real ``kubernetes`` client.

The fake host is the snapshot tests' (tests/snapshot/snaphelpers.py); the baseline is a
real ``eidos snapshot --out cm://`` of it, and drift is made by changing the host's kernel
release, the way an unattended upgrade would.
"""

from __future__ import annotations

import base64
import json
import os

import pytest

from eidos.cli.main import main
from eidos.drift import store
from eidos.snapshot.agent import HOST_PATHS
from eidos.snapshot.cluster import Cluster
from tests.conftest import run_eidos
from tests.drift.kubehelpers import everything, kube  # noqa: F401 - the fixture
from tests.drift.webhook import Receiver
from tests.snapshot.snaphelpers import fake_host, rbac_allows

NS = "gpu-operator"
INSTALL = ["drift", "install", "--schedule", "*/30 * * * *", "--baseline", "golden", "--image",
           "registry.example/eidos:1", "--keep", "2", "--max-parts", "3"]
PRIVILEGED_VERBS = {"create", "delete", "list", "watch", "deletecollection", "escalate", "bind", "impersonate", "*"}


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setenv("NODE_NAME", "gpu-node-1")
    return fake_host(tmp_path / "host")


@pytest.fixture
def baseline(kube, host, capsys):  # noqa: F811
    assert main(["snapshot", "--host-root", str(host), "--no-cluster", "--out", f"cm://{NS}/golden"]) == 0
    capsys.readouterr()
    return host


def drift_run(host, *extra):
    return main(["drift", "run", "--baseline", "golden", "--keep", "2", "--max-parts", "3",
                 "--host-root", str(host), "--collector-timeout", "5", *extra])


def status_json(capsys):
    capsys.readouterr()
    assert main(["drift", "status", "-o", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def upgrade_kernel(host, release):
    (host / "proc/sys/kernel/osrelease").write_text(release + "\n")


def test_install_creates_the_cronjob_and_least_privilege_rbac(kube, capsys):  # noqa: F811
    assert main([*INSTALL, "--webhook-secret", "drift-hook", "--alert-format", "json"]) == 0
    assert "baseline ConfigMap gpu-operator/golden does not exist yet" in capsys.readouterr().err
    live = everything(kube)
    ((_, cron),) = live["batch/v1/cronjobs"].items()
    spec = cron["spec"]
    assert cron["metadata"]["name"] == "eidos-drift-default"
    assert spec["schedule"] == "*/30 * * * *" and spec["suspend"] is False  # resumed after creation
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example/eidos:1"
    assert container["args"][:2] == ["drift", "run"] and "--host-root" in container["args"]
    assert container["args"][container["args"].index("--baseline") + 1] == "golden"
    assert pod["serviceAccountName"] == "eidos-drift-default"
    # the snapshot agent's hardening, unchanged
    assert pod["securityContext"]["runAsNonRoot"] is True
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["privileged"] is False
    host_paths = {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    assert host_paths == {path for _, path, _ in HOST_PATHS}
    assert all(m["readOnly"] for m in container["volumeMounts"] if m["name"] != "tmp")
    # the webhook comes from the Secret, as a file: the CronJob names it and holds no URL
    (secret_volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert secret_volume["secret"]["secretName"] == "drift-hook"
    assert "--webhook-file" in container["args"] and "http" not in json.dumps(cron)
    # RBAC: a Role (no ClusterRole), ConfigMaps only, by name, no create/list/delete
    ((_, role),) = live["rbac.authorization.k8s.io/v1/roles"].items()
    named = set()
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""] and rule["resources"] == ["configmaps"]
        assert not set(rule["verbs"]) & PRIVILEGED_VERBS
        named |= set(rule["resourceNames"])
    cms = {name for (_, name) in live["v1/configmaps"]}
    assert named == cms | {"golden"}  # exactly the pre-created ConfigMaps and the baseline
    verbs = {name: set(r["verbs"]) for r in role["rules"] for name in r["resourceNames"]}
    assert verbs.pop("golden") == {"get"}  # the baseline is read, never written
    assert verbs.pop("eidos-drift-default-result") == {"get", "patch"}
    assert verbs and all(v == {"patch"} for v in verbs.values())  # snapshot slots: written only
    assert len(cms) == 1 + 2 * 3  # result + 2 slots x 3 parts
    ((_, binding),) = live["rbac.authorization.k8s.io/v1/rolebindings"].items()
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "eidos-drift-default", "namespace": NS}]
    assert len(live["v1/serviceaccounts"]) == 1
    for objs in live.values():
        for body in objs.values():
            labels = body["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "eidos" and labels["eidos.dev/drift"] == "default"
    capsys.readouterr()
    assert main(INSTALL) == 3
    assert "already installed" in capsys.readouterr().err


def test_lifecycle_run_status_uninstall(kube, baseline, capsys):  # noqa: F811
    assert main(INSTALL) == 0
    upgrade_kernel(baseline, "6.8.0-1030-aws")
    assert drift_run(baseline) == 0
    assert "2 change(s) from baseline golden" in capsys.readouterr().err
    cluster = Cluster.connect()
    stored = store.read(cluster, NS, "eidos-drift-default-0")
    assert "6.8.0-1030-aws" in stored and "gpu-node-1" in stored
    doc = status_json(capsys)
    run = doc["lastRun"]
    assert run["status"] == "ok" and run["drift"] is True and run["snapshot"] == "eidos-drift-default-0"
    assert doc["cronJob"]["schedule"] == "*/30 * * * *"
    (node,) = doc["diff"]["nodes"]
    changed = {c["path"]: (c["before"], c["after"], c.get("direction")) for c in node["changes"]}
    assert changed == {"OS.kernel.release": ("6.8.0-1028-aws", "6.8.0-1030-aws", "upgrade"),
                       'OS.sysctl["/proc/sys/kernel/osrelease"]': ("6.8.0-1028-aws", "6.8.0-1030-aws", "upgrade")}
    assert doc["state"]["snapshots"][0]["configMap"] == "eidos-drift-default-0"
    assert main(["drift", "status"]) == 0
    table = capsys.readouterr().out
    assert "DRIFT: 2 change(s)" in table and "~ OS.kernel.release" in table and "(upgrade)" in table
    assert main(["drift", "status", "--fail-on-drift"]) == 1
    capsys.readouterr()
    assert main(["drift", "uninstall"]) == 0
    left = everything(kube)
    assert left["v1/configmaps"].keys() == {(NS, "golden")}  # the user's baseline stays
    assert all(not objs for res, objs in left.items() if res != "v1/configmaps")
    assert main(["drift", "status"]) == 3
    assert "not installed" in capsys.readouterr().err


def test_ring_keeps_the_last_n(kube, baseline, capsys):  # noqa: F811
    assert main(INSTALL) == 0
    for release in ("6.8.0-1029-aws", "6.8.0-1030-aws", "6.8.0-1031-aws"):
        upgrade_kernel(baseline, release)
        assert drift_run(baseline) == 0
    doc = status_json(capsys)
    kept = [s["configMap"] for s in doc["state"]["snapshots"]]
    assert kept == ["eidos-drift-default-0", "eidos-drift-default-1"]  # third run reused slot 0
    cluster = Cluster.connect()
    assert "6.8.0-1031-aws" in store.read(cluster, NS, "eidos-drift-default-0")
    assert "6.8.0-1030-aws" in store.read(cluster, NS, "eidos-drift-default-1")
    assert doc["state"]["runs"] == 3 and doc["state"]["driftEvents"] == 3


def test_failed_run_is_recorded(kube, host, capsys):  # noqa: F811
    assert main(INSTALL) == 0  # no baseline ConfigMap was written
    capsys.readouterr()
    assert drift_run(host) == 3
    assert "golden" in capsys.readouterr().err
    doc = status_json(capsys)
    assert doc["lastRun"]["status"] == "error" and "golden" in doc["lastRun"]["message"]
    assert main(["drift", "status", "--fail-on-drift"]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_large_snapshot_round_trips_through_the_emulator(kube):  # noqa: F811
    assert main(INSTALL) == 0
    cluster = Cluster.connect()
    compressible = "".join(f"line {i}: {'abc' * (i % 7)}\n" for i in range(90_000))
    random_text = base64.b64encode(os.urandom(1_600_000)).decode()  # ~2.1 MB, gzip cannot halve it
    for text, encoding, parts in ((compressible, "gzip", 1), (random_text, "gzip", 3)):
        assert len(text.encode()) > 1024 * 1024
        enc = store.write(cluster, NS, "eidos-drift-default-1", text, max_parts=3)
        assert (enc.encoding, enc.part_count) == (encoding, parts)
        assert store.read(cluster, NS, "eidos-drift-default-1") == text  # byte-identical
        for (_, name), body in kube.live("v1/configmaps").items():
            size = sum(len(v) for v in (body.get("data") or {}).values())
            size += sum(len(base64.b64decode(v)) for v in (body.get("binaryData") or {}).values())
            assert size <= 1024 * 1024, name
    # back to a small one: stale keys and parts are cleared, the slot is plain again
    store.write(cluster, NS, "eidos-drift-default-1", "small: 1\n", max_parts=3)
    cms = kube.live("v1/configmaps")
    assert cms[(NS, "eidos-drift-default-1")]["data"]["snapshot.yaml"] == "small: 1\n"
    assert not (cms[(NS, "eidos-drift-default-1")].get("binaryData") or {})
    assert not (cms[(NS, "eidos-drift-default-1-p1")].get("binaryData") or {})
    with pytest.raises(store.TooLarge):
        store.write(cluster, NS, "eidos-drift-default-1", base64.b64encode(os.urandom(3_000_000)).decode(),
                    max_parts=3)


def test_webhook_one_alert_per_drift_event_with_retries(kube, baseline, tmp_path, capsys):  # noqa: F811
    assert main([*INSTALL, "--webhook-secret", "drift-hook"]) == 0
    url_file = tmp_path / "url"
    hook_args = ("--webhook-file", str(url_file), "--webhook-backoff", "0.01", "--webhook-timeout", "5")
    with Receiver([500]) as hook:
        url_file.write_text(hook.url)
        assert drift_run(baseline, *hook_args) == 0  # no drift yet: nothing sent
        assert hook.requests == []
        upgrade_kernel(baseline, "6.8.0-1030-aws")
        assert drift_run(baseline, *hook_args) == 0  # drift: 500, then delivered on the retry
        err = capsys.readouterr().err
        assert len(hook.requests) == 2 and "retrying" in err and "delivered after 2 attempt(s)" in err
        assert hook.requests[0]["body"] == hook.requests[1]["body"]
        firing = hook.requests[1]["body"]
        assert firing["status"] == "firing" and firing["version"] == "4"
        assert firing["alerts"][0]["labels"]["node"] == "gpu-node-1"
        assert drift_run(baseline, *hook_args) == 0  # the same drift: no second alert
        assert len(hook.requests) == 2
        upgrade_kernel(baseline, "6.8.0-1031-aws")
        assert drift_run(baseline, *hook_args) == 0  # a new drift event
        assert len(hook.requests) == 3 and hook.requests[2]["body"]["status"] == "firing"
        assert "6.8.0-1031-aws" in hook.requests[2]["body"]["alerts"][0]["annotations"]["description"]
        upgrade_kernel(baseline, "6.8.0-1028-aws")
        assert drift_run(baseline, *hook_args) == 0  # back to the baseline: resolved
        assert len(hook.requests) == 4 and hook.requests[3]["body"]["status"] == "resolved"
        assert drift_run(baseline, *hook_args) == 0
        assert len(hook.requests) == 4
    err = capsys.readouterr().err
    assert "T0KEN" not in err and "/hooks/" not in err
    doc = status_json(capsys)
    assert doc["state"]["alertsSent"] == 3 and doc["state"]["driftEvents"] == 2


def test_undelivered_alert_fails_the_run_and_is_retried_next_time(kube, baseline, tmp_path, capsys):  # noqa: F811
    assert main([*INSTALL, "--webhook-secret", "drift-hook"]) == 0
    url_file = tmp_path / "url"
    hook_args = ("--webhook-file", str(url_file), "--webhook-backoff", "0.01", "--webhook-retries", "1")
    upgrade_kernel(baseline, "6.8.0-1030-aws")
    with Receiver([503, 503]) as hook:
        url_file.write_text(hook.url)
        capsys.readouterr()
        assert drift_run(baseline, *hook_args) == 3
        err = capsys.readouterr().err
        assert "alert not delivered" in err and "T0KEN" not in err
        assert len(hook.requests) == 2
        doc = status_json(capsys)
        assert doc["lastRun"]["alert"]["delivered"] is False and doc["lastRun"]["status"] == "ok"
        assert drift_run(baseline, *hook_args) == 0  # same drift, but never delivered: sent again
        assert len(hook.requests) == 3


def test_prometheus_status_parses(kube, baseline, capsys):  # noqa: F811
    parser = pytest.importorskip("prometheus_client.parser")
    assert main(INSTALL) == 0
    upgrade_kernel(baseline, "6.8.0-1030-aws")
    assert drift_run(baseline) == 0
    capsys.readouterr()
    assert main(["drift", "status", "-o", "prometheus"]) == 0
    fam = {f.name: f for f in parser.text_string_to_metric_families(capsys.readouterr().out)}
    paths = {s.labels["path"] for s in fam["eidos_drift_path_changed"].samples}
    assert paths == {"OS.kernel.release", 'OS.sysctl["/proc/sys/kernel/osrelease"]'}
    assert fam["eidos_drift_last_run_success"].samples[0].value == 1
    # the same text is what the run recorded in the result ConfigMap
    cm = kube.live("v1/configmaps")[(NS, "eidos-drift-default-result")]
    assert {f.name for f in parser.text_string_to_metric_families(cm["data"]["metrics.prom"])} == set(fam)


def test_cli_subprocess_and_bad_input(kube):  # noqa: F811
    bad = run_eidos("drift", "install", "--schedule", "every hour", "--baseline", "golden", "--image", "x")
    assert bad.returncode == 2 and "five cron fields" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_eidos("drift", "install", "--schedule", "@hourly", "--baseline", "Golden!", "--image", "x")
    assert bad.returncode == 2 and "not a valid ConfigMap name" in bad.stderr
    bad = run_eidos("drift", "install", "--schedule", "@hourly", "--baseline", "eidos-drift-default-0", "--image", "x")
    assert bad.returncode == 2 and "installation's own ConfigMaps" in bad.stderr
    bad = run_eidos("drift", "status", "--schedule", "@hourly")
    assert bad.returncode == 2 and "--schedule goes with drift install, not drift status" in bad.stderr
    bad = run_eidos("drift", "uninstall", "--keep", "3")
    assert bad.returncode == 2 and "--keep goes with drift install" in bad.stderr
    bad = run_eidos("drift", "install", "--schedule", "@hourly", "--baseline", "g", "--image", "x", "-o", "json")
    assert bad.returncode == 2 and "--output goes with drift status" in bad.stderr
    bad = run_eidos("drift", "uninstall", "--name", "a,b")
    assert bad.returncode == 2
    ok = run_eidos("drift", "install", "--schedule", "@hourly", "--baseline", "golden", "--image", "x", "--suspend")
    assert ok.returncode == 0, ok.stderr
    ((_, cron),) = kube.live("batch/v1/cronjobs").items()
    assert cron["spec"]["suspend"] is True
    gone = run_eidos("drift", "uninstall", "--name", "all")
    assert gone.returncode == 0 and "deleted CronJob" in gone.stderr
    assert all(not objs for objs in everything(kube).values())
    assert "run" not in run_eidos("drift", "--help").stdout.split("positional arguments:")[1].split("options:")[0]




def test_every_request_of_a_run_is_allowed_by_its_role(kube, baseline, tmp_path, monkeypatch, capsys):  # noqa: F811
    assert main(INSTALL) == 0
    role = kube.live("rbac.authorization.k8s.io/v1/roles")[(NS, "eidos-drift-default")]
    pod_kubeconfig = tmp_path / "pod-kubeconfig"
    pod_kubeconfig.write_text(kube.kubeconfig.read_text().replace("t0ken", "drift-sa-token"))
    monkeypatch.setenv("KUBECONFIG", str(pod_kubeconfig))
    start = kube.call(lambda: len(kube.emulator._requests))
    # a snapshot big enough to be split: every part is written, then a small one clears them
    big = "x: |\n" + "".join(f"  {base64.b64encode(os.urandom(60)).decode()}\n" for _ in range(30_000))
    import eidos.snapshot.io as snapio

    real_dumps = snapio.dumps
    monkeypatch.setattr(snapio, "dumps", lambda snapshot, fmt="yaml": real_dumps(snapshot, fmt) + "# " + big)
    upgrade_kernel(baseline, "6.8.0-1030-aws")
    assert drift_run(baseline) == 0
    monkeypatch.setattr(snapio, "dumps", real_dumps)
    assert drift_run(baseline) == 0
    requests = kube.call(lambda: list(kube.emulator._requests)[start:])
    pod_requests = [r for r in requests if r.headers.get("Authorization") == "Bearer drift-sa-token"]
    assert len(pod_requests) >= 2 * (1 + 1 + 3 + 1)  # state, baseline, slot parts, result
    refused = [(str(r.method.value), str(r.url)) for r in pod_requests if not rbac_allows(role["rules"], NS, r)]
    assert refused == []
    states = json.loads(kube.live("v1/configmaps")[(NS, "eidos-drift-default-result")]["data"]["state.json"])
    assert states["snapshots"][1]["parts"] > 1  # the first run's snapshot was split
