"""``eidos validate --conformance ai`` end to end: the real CLI and ``kubernetes`` client
against kmock clusters (tests/conformance/kube.py) that are conformant, or miss one
capability each.

Goldens: the PRODUCT.yaml and evidence written against the conformant 1.35 and 1.36
clusters are kept in tests/golden/conformance/v1.35 and v1.36 (regenerate with
EIDOS_UPDATE_GOLDEN=1 and read the diff). Each is also checked here by its content (every
MUST Implemented, CNCF's rules pass), so a golden rewritten from wrong output still fails.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from eidos.conformance import requirements as reqs
from eidos.conformance.cncf import check_product
from tests.conformance import kube as K
from tests.conformance.test_cncf_rules import METADATA

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "conformance"
WHEN = "2026-11-30T12:00:00Z"
META_FLAGS = ["--vendor", METADATA["vendorName"], "--platform-name", METADATA["platformName"],
              "--platform-version", METADATA["platformVersion"], "--website-url", METADATA["websiteUrl"],
              "--repo-url", METADATA["repoUrl"], "--documentation-url", METADATA["documentationUrl"],
              "--product-logo-url", METADATA["productLogoUrl"], "--product-description", METADATA["description"],
              "--contact-email", METADATA["contactEmailAddress"]]


def _conformance_url(version):
    return ["--k8s-conformance-url", f"https://github.com/cncf/k8s-conformance/tree/master/v{version}/turbo-encabulator"]


def _eidos(server, *args, env=None):
    import subprocess

    full = {**os.environ, "KUBECONFIG": str(server.kubeconfig), **(env or {})}
    full.pop("EIDOS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "eidos", "validate", "--conformance", "ai", "--run-id", "t1",
                           "--pod-timeout", "20", *args], capture_output=True, text=True, env=full,
                          cwd=ROOT, timeout=120, check=False)


def _run(tmp_path, monkeypatch, *args, broken=None, version=K.SERVER_VERSION, out="out"):
    with K.cluster(tmp_path, monkeypatch, broken=broken, version=version) as server, K.FakeKubelet(server) as kubelet:
        r = _eidos(server, "--evidence-dir", str(tmp_path / out), "--evidence-time", WHEN, *args)
        namespaces = set(server.live("v1/namespaces"))
    return r, kubelet, namespaces


def _product(path):
    doc = yaml.safe_load((path / "PRODUCT.yaml").read_text())
    return {r["id"]: r for items in doc["spec"].values() for r in items}, doc


def _report(r):
    return {v["name"]: v for n in json.loads(r.stdout)["nodes"] for v in n["verdicts"]}


def _submission_dir(tmp_path, out, version):
    """CNCF's validator reads the version from the vX.Y/ directory: place the output there."""
    d = tmp_path / "submission" / f"v{version}" / "turbo-encabulator"
    shutil.copytree(tmp_path / out, d)
    return d


def _compare_golden(out: Path, golden: Path):
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    if os.environ.get("EIDOS_UPDATE_GOLDEN"):
        shutil.rmtree(golden, ignore_errors=True)
        for rel in files:
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_bytes((out / rel).read_bytes())
    kept = sorted(p.relative_to(golden) for p in golden.rglob("*") if p.is_file())
    assert files == kept, "the evidence files differ from the golden's; EIDOS_UPDATE_GOLDEN=1 after review"
    for rel in files:
        assert (out / rel).read_text() == (golden / rel).read_text(), f"{rel} differs from {golden / rel}"


def _assert_conformant(tmp_path, r, out, version):
    assert r.returncode == 0, r.stdout + r.stderr
    rset = reqs.load(version)
    by_id, doc = _product(tmp_path / out)
    assert [x.id for x in rset.requirements] == list(by_id)
    assert doc["metadata"] == {**METADATA, "kubernetesVersion": f"v{version}",
                               "k8sConformanceUrl": _conformance_url(version)[1]}
    for req in rset.requirements:
        got = by_id[req.id]
        assert (got["description"], got["level"]) == (req.description, req.level)  # unchanged
        assert (tmp_path / out / "evidence" / f"{req.id}.md").is_file()  # one per requirement
        if req.level == "MUST":
            assert got["status"] == "Implemented" and got["evidence"] == [f"evidence/{req.id}.md"], req.id
    assert len(list((tmp_path / out / "evidence").iterdir())) == len(rset.requirements)
    d = _submission_dir(tmp_path, out, version)
    assert check_product(d / "PRODUCT.yaml", rset.path) == []
    assert "does not pass CNCF" not in r.stderr
    return by_id


def test_conformant_1_35_cluster(tmp_path, monkeypatch):
    r, kubelet, namespaces = _run(tmp_path, monkeypatch, *META_FLAGS, *_conformance_url("1.35"))
    by_id = _assert_conformant(tmp_path, r, "out", "1.35")
    # SHOULD items: established ones claimed, the ones eidos has no check for left to the vendor
    assert by_id["gpu_sharing"]["status"] == "Implemented"
    assert by_id["virtualized_accelerator"]["status"] == "" and by_id["virtualized_accelerator"]["evidence"] == []
    assert "vGPU" in by_id["virtualized_accelerator"]["notes"]
    # the DRA workload and each behavioural test ran in its own namespace, and every one is gone
    assert kubelet.namespaces == set(RUN_NAMESPACES)
    assert not kubelet.namespaces & {n for _, n in namespaces}
    claim_pod = kubelet.pods[("eidos-conformance-t1", "dra-gpu")]["spec"]
    iso_pod = kubelet.pods[("eidos-conformance-t1", "no-claim")]["spec"]
    assert claim_pod["resourceClaims"] == [{"name": "gpu", "resourceClaimName": "gpu"}]
    assert "resourceClaims" not in iso_pod and iso_pod["nodeName"] == "gpu-node-1"
    for spec in (claim_pod, iso_pod):
        assert spec["automountServiceAccountToken"] is False
        sc = spec["containers"][0]["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["runAsNonRoot"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert "limits" not in spec["containers"][0].get("resources", {})  # no device-plugin GPU
    claim = kubelet.claims[("eidos-conformance-t1", "gpu")]["spec"]["devices"]["requests"][0]["exactly"]
    assert claim == {"deviceClassName": "gpu.nvidia.com", "allocationMode": "ExactCount", "count": 1}
    evidence = (tmp_path / "out" / "evidence" / "secure_accelerator_access.md").read_text()
    assert "eidos-gpu-devices: 0" in evidence and "Kubernetes v1.35.2" in evidence and WHEN in evidence
    _assert_behavioural_objects(kubelet, tmp_path / "out")
    _compare_golden(tmp_path / "out", GOLDEN / "v1.35")


RUN_NAMESPACES = ("eidos-conformance-t1", "eidos-conformance-t1-gang", "eidos-conformance-t1-scaleup",
                  "eidos-conformance-t1-hpa")


def _assert_behavioural_objects(kubelet, out):
    """What the gang, scale-up and HPA tests asked of the cluster, read from the objects the
    emulator received (so a test that 'passes' without creating them fails here)."""
    gang = {name: body for (ns, name), body in kubelet.pods.items() if ns == "eidos-conformance-t1-gang"}
    assert sorted(gang) == ["fits-0", "fits-1", "too-big-0", "too-big-1"]  # 1 GPU node + 1
    for name, pod in gang.items():
        assert pod["spec"]["schedulerName"] == "kai-scheduler"
        assert pod["metadata"]["annotations"]["pod-group-name"] == name.rsplit("-", 1)[0]
        assert pod["metadata"]["labels"]["kai.scheduler/queue"] == "default-queue"
        assert pod["spec"]["automountServiceAccountToken"] is False
        limits = pod["spec"]["containers"][0]["resources"]["limits"]
        assert limits.get("nvidia.com/gpu") == ("8" if name.startswith("too-big") else None)
    groups = {name: body for (res, ns, name), body in kubelet.objects.items() if res.endswith("podgroups")}
    assert {n: g["spec"] for n, g in groups.items()} == {"fits": {"minMember": 2, "queue": "default-queue"},
                                                        "too-big": {"minMember": 2, "queue": "default-queue"}}
    (scale,) = [b for (ns, _), b in kubelet.pods.items() if ns == "eidos-conformance-t1-scaleup"]
    assert scale["spec"]["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] == "1"
    term = scale["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["cpu-node-1", "gpu-node-1"]}]
    hpa = kubelet.objects[("autoscaling/v2/horizontalpodautoscalers", "eidos-conformance-t1-hpa", "gpu-metric-probe")]
    assert hpa["spec"]["metrics"][0]["external"]["metric"] == {"name": "DCGM_FI_DEV_GPU_UTIL"}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 0
    assert "1 -> 3 -> 1" in (out / "evidence" / "pod_autoscaling.md").read_text()
    assert "none of the 2 pods of the group that cannot fit was placed" in (out / "evidence" / "gang_scheduling.md").read_text()
    assert "Karpenter created NodeClaim gpu-x7k2p" in (out / "evidence" / "cluster_autoscaling.md").read_text()


def test_conformant_1_36_cluster(tmp_path, monkeypatch):
    version = {**K.SERVER_VERSION, "minor": "36", "gitVersion": "v1.36.0"}
    r, kubelet, _ = _run(tmp_path, monkeypatch, *META_FLAGS, *_conformance_url("1.36"), version=version)
    by_id = _assert_conformant(tmp_path, r, "out", "1.36")
    assert "dra_support" not in by_id
    assert by_id["advanced_inference_ingress"]["status"] == "Implemented"
    assert by_id["disaggregated_inference"]["status"] == ""
    assert by_id["high_performance_networking"]["status"] == "Implemented"
    (pod,) = [b for (ns, _), b in kubelet.pods.items() if ns == "eidos-conformance-t1-net"]
    assert pod["spec"]["resourceClaims"] == [{"name": "net", "resourceClaimName": "net"}]
    claim = kubelet.claims[("eidos-conformance-t1-net", "net")]["spec"]["devices"]["requests"][0]["exactly"]
    assert claim["deviceClassName"] == "dra.net"
    assert kubelet.namespaces == {*RUN_NAMESPACES, "eidos-conformance-t1-net"}
    _compare_golden(tmp_path / "out", GOLDEN / "v1.36")


def test_1_36_cluster_whose_network_device_is_not_attached(tmp_path, monkeypatch):
    """high_performance_networking is a SHOULD: failing it warns, is not claimed, and the
    run still passes at --fail-on error."""
    version = {**K.SERVER_VERSION, "minor": "36", "gitVersion": "v1.36.0"}
    r, _, _ = _run(tmp_path, monkeypatch, *META_FLAGS, *_conformance_url("1.36"), "-o", "json",
                   version=version, broken="hpn")
    assert r.returncode == 0, r.stderr
    verdict = _report(r)["high_performance_networking"]
    assert verdict["status"] == "warn" and "saw no high-performance network device" in verdict["reason"]
    assert verdict["remedy"]
    by_id, _ = _product(tmp_path / "out")
    assert by_id["high_performance_networking"]["status"] == "" and by_id["high_performance_networking"]["evidence"] == []


def test_k8s_version_flag_chooses_the_requirement_set(tmp_path, monkeypatch):
    r, _, _ = _run(tmp_path, monkeypatch, "--k8s-version", "1.36", "-o", "json")
    by_id, doc = _product(tmp_path / "out")
    assert doc["metadata"]["kubernetesVersion"] == "v1.36"
    assert [x.id for x in reqs.load("1.36").requirements] == list(by_id) == list(_report(r))
    assert "testing the Kubernetes 1.36 requirements on a v1.35.2 cluster" in r.stderr
    assert "does not pass CNCF's submission checks yet" in r.stderr  # no metadata given
    assert "Metadata field vendorName is empty" in r.stderr


@pytest.mark.parametrize("broken", sorted(K.BROKEN))
def test_cluster_missing_a_capability(tmp_path, monkeypatch, broken):
    requirement = K.BROKEN[broken]
    quick = ["--pod-timeout", "3"] if broken in K.SLOW else []
    r, _, namespaces = _run(tmp_path, monkeypatch, *META_FLAGS, *_conformance_url("1.35"), "-o", "json", *quick,
                            broken=broken)
    assert r.returncode == 1, r.stderr
    verdict = _report(r)[requirement]
    assert verdict["status"] == "fail", verdict
    assert verdict["remedy"]
    by_id, _ = _product(tmp_path / "out")
    assert by_id[requirement]["status"] == "" and by_id[requirement]["evidence"] == []
    assert by_id[requirement]["notes"].startswith("Not claimed: the check failed")
    evidence = (tmp_path / "out" / "evidence" / f"{requirement}.md").read_text()
    assert "**Result:** FAIL" in evidence and "**Remedy:**" in evidence
    # every other MUST is still established (one missing capability fails one requirement;
    # the DRA API missing also stops the DRA workload secure access relies on)
    others = {k: v for k, v in by_id.items() if v["level"] == "MUST" and k != requirement}
    if broken == "dra":
        assert by_id["secure_accelerator_access"]["status"] == ""
        assert _report(r)["secure_accelerator_access"]["status"] == "error"
        others.pop("secure_accelerator_access")
    assert all(v["status"] == "Implemented" for v in others.values()), others
    errors = check_product(_submission_dir(tmp_path, "out", "1.35") / "PRODUCT.yaml", reqs.load("1.35").path)
    assert f"Requirement '{requirement}' is MUST level but status is ''. It must be 'Implemented'." in errors
    assert not any(n.startswith("eidos-conformance-") for _, n in namespaces)


def test_no_workloads_leaves_the_behavioural_requirements_unestablished(tmp_path, monkeypatch):
    r, kubelet, _ = _run(tmp_path, monkeypatch, "--no-workloads", "-o", "json")
    assert r.returncode == 1
    report = _report(r)
    behavioural = ("dra_support", "secure_accelerator_access", "gang_scheduling", "cluster_autoscaling", "pod_autoscaling")
    for rid in behavioural:
        assert report[rid]["status"] == "error" and "--no-workloads" in report[rid]["reason"], rid
    assert report["accelerator_metrics"]["status"] == "pass"
    by_id, _ = _product(tmp_path / "out")
    assert all(by_id[rid]["status"] == "" for rid in behavioural)
    assert not kubelet.namespaces and not kubelet.pods


def test_ctrf_and_junit_name_tests_by_requirement_id(tmp_path, monkeypatch):
    with K.cluster(tmp_path, monkeypatch) as server, K.FakeKubelet(server):
        ctrf = _eidos(server, "-o", "ctrf", "--no-workloads")
        junit = _eidos(server, "-o", "junit", "--no-workloads")
    ids = [r.id for r in reqs.load("1.35").requirements]
    tests = json.loads(ctrf.stdout)["results"]["tests"]
    assert sorted(t["name"] for t in tests) == sorted(ids)
    status = {t["name"]: t["status"] for t in tests}
    assert status["dra_support"] == "failed" and status["gang_scheduling"] == "failed"  # an error never passes
    assert status["accelerator_metrics"] == "passed"
    cases = ET.fromstring(junit.stdout).iter("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(ids)


def test_source_date_epoch_sets_the_evidence_time(tmp_path, monkeypatch):
    with K.cluster(tmp_path, monkeypatch) as server, K.FakeKubelet(server):
        r = _eidos(server, "--no-workloads", "--evidence-dir", str(tmp_path / "o"), env={"SOURCE_DATE_EPOCH": "1764504000"})
    assert r.returncode == 1
    assert "**Tested:** 2025-11-30T12:00:00Z" in (tmp_path / "o" / "evidence" / "gang_scheduling.md").read_text()


def test_metadata_file_and_flags(tmp_path, monkeypatch):
    meta = tmp_path / "meta.yaml"
    meta.write_text(yaml.safe_dump({"metadata": {**METADATA, "vendorName": "From File"}}))
    _run(tmp_path, monkeypatch, "--metadata", str(meta), "--vendor", "From Flag", "--no-workloads")
    _, doc = _product(tmp_path / "out")
    assert doc["metadata"]["vendorName"] == "From Flag"
    assert doc["metadata"]["platformName"] == METADATA["platformName"]
    assert doc["metadata"]["kubernetesVersion"] == "v1.35"  # always the version tested


def test_bad_invocations_exit_2_before_touching_the_cluster(tmp_path, monkeypatch):
    bad_meta = tmp_path / "bad.yaml"
    bad_meta.write_text("vendor: Yoyodyne\n")
    with K.cluster(tmp_path, monkeypatch) as server, K.FakeKubelet(server) as kubelet:
        unknown = _eidos(server, "--k8s-version", "1.20")
        meta = _eidos(server, "--metadata", str(bad_meta), "--evidence-dir", str(tmp_path / "o"))
        combo = _eidos(server, "--snapshot", "x.yaml")
        when = _eidos(server, "--evidence-time", "yesterday")
        only = _eidos(server, "--only", "dra_support")
    assert unknown.returncode == 2 and "1.33, 1.34, 1.35, 1.36" in unknown.stderr
    assert meta.returncode == 2 and "unknown metadata field 'vendor'" in meta.stderr
    assert combo.returncode == 2 and "--conformance tests the cluster itself" in combo.stderr
    assert when.returncode == 2 and "RFC 3339" in when.stderr
    assert only.returncode == 2 and "--only/--skip do not apply" in only.stderr
    for r in (unknown, meta, combo, when, only):
        assert "Traceback" not in r.stderr
    assert not kubelet.namespaces and not (tmp_path / "o").exists()


def test_unreachable_cluster_exits_3(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
                          "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
                          "current-context: c\n")
    import subprocess

    r = subprocess.run([sys.executable, "-m", "eidos", "validate", "--conformance", "ai", "--kubeconfig", str(kubeconfig)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert r.returncode == 3 and "Traceback" not in r.stderr
