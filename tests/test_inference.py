"""Facts inferred from real snapshots through rules/infer.eidos (issue: fact inference)."""

from __future__ import annotations

import json

import pytest

from eidos import engine
from eidos.engine.inference import infer_facts
from eidos.lang.measurements import MISSING
from tests.conftest import FIXTURES, run_eidos

SNAPSHOTS = FIXTURES / "snapshots"


def lookup_from(data: dict):
    return lambda op: data.get(op.segments, MISSING)


@pytest.fixture(scope="module")
def graph():
    return engine.load_graph([])


@pytest.mark.parametrize(
    "name, expected",
    [
        ("cns-eks-h100.yaml", {"service": "eks", "accelerator": "h100", "os": "ubuntu"}),
        ("cns-eks-gb200.yaml", {"service": "eks", "accelerator": "gb200", "os": "ubuntu"}),
    ],
)
def test_eks_fixtures_infer_service_accelerator_os(graph, name, expected):
    from eidos.snapshot.io import load_snapshot

    snap = load_snapshot(str(SNAPSHOTS / name))
    facts, sources = infer_facts(graph, lambda op: snap.lookup(op.segments))
    assert facts == expected
    assert sources["service"]["rule"] == "rules/infer.eidos:15"  # the -eks- server version rule
    assert "-eks-" in sources["service"]["evidence"][0]
    assert "gpu.model" in sources["accelerator"]["evidence"][0]


@pytest.mark.parametrize(
    "data, expected",
    [
        ({("K8s", "server", "version"): "v1.32.4-gke.1415000"}, {"service": "gke"}),
        ({("K8s", "node", "provider-id"): "azure:///subscriptions/x"}, {"service": "aks"}),
        ({("K8s", "node", "provider-id"): "kind://docker/kind/kind-control-plane"}, {"service": "kind"}),
        ({("GPU", "smi", "gpu.model"): "NVIDIA L40S"}, {"accelerator": "l40s"}),
        ({("GPU", "smi", "gpu.model"): "NVIDIA L40"}, {"accelerator": "l40"}),
        ({("GPU", "smi", "gpu.model"): "NVIDIA A100-SXM4-80GB"}, {"accelerator": "a100"}),
        # Amazon Linux 2 and 2023 are different systems: ID amzn alone says neither
        ({("OS", "release", "ID"): "amzn"}, {}),
        ({("OS", "release", "ID"): "amzn", ("OS", "release", "VERSION_ID"): "2023"}, {"os": "amazonlinux2023"}),
        ({("OS", "release", "ID"): "amzn", ("OS", "release", "VERSION_ID"): "2"}, {"os": "amazonlinux2"}),
        ({("K8s", "node", "os-image"): "Amazon Linux 2"}, {"os": "amazonlinux2"}),
        ({("K8s", "node", "os-image"): "Amazon Linux 2023.6.20241010"}, {"os": "amazonlinux2023"}),
        ({("K8s", "node", "os-image"): "Container-Optimized OS from Google"}, {"os": "cos"}),
        # Azure Linux 3 and its predecessor CBL-Mariner (os-release IDs azurelinux / mariner)
        ({("K8s", "node", "os-image"): "Microsoft Azure Linux 3.0"}, {"os": "azurelinux"}),
        ({("K8s", "node", "os-image"): "CBL-Mariner/Linux"}, {"os": "azurelinux"}),
        ({("OS", "release", "ID"): "azurelinux"}, {"os": "azurelinux"}),
        # the kubelet's os-image (the host) outranks OS.release (the reference agent's container)
        ({("K8s", "node", "os-image"): "Red Hat Enterprise Linux 9.4 (Plow)", ("OS", "release", "ID"): "ubuntu"},
         {"os": "rhel"}),
        ({("GPU", "smi", "gpu.model"): "Tesla T4"}, {"accelerator": "t4"}),
        # an aws:// provider ID alone is any Kubernetes on EC2 (kops, kubeadm): not EKS
        ({("K8s", "node", "provider-id"): "aws:///us-east-1a/i-0abc", ("K8s", "server", "version"): "v1.30.2"}, {}),
        # ...with an EKS managed node group label it is
        ({("K8s", "node", "provider-id"): "aws:///us-east-1a/i-0abc",
          ("K8s", "node", "labels", "eks.amazonaws.com/nodegroup"): "gpu"}, {"service": "eks"}),
        ({}, {}),
    ],
)
def test_inference_rules(graph, data, expected):
    facts, _ = infer_facts(graph, lookup_from(data))
    assert facts == expected


def test_disagreeing_rules_keep_the_first_and_record_the_conflict(graph):
    data = {("K8s", "server", "version"): "v1.33.5-eks-3025e55", ("K8s", "node", "provider-id"): "gce://p/z/n"}
    facts, sources = infer_facts(graph, lookup_from(data))
    assert facts == {"service": "eks"}
    assert sources["service"]["conflicts"][0]["value"] == "gke"


def test_inference_from_a_path_value(rules):
    graph, diags = rules({"i.eidos": "infer nodes = K8s.node.count\ninfer service = eks when K8s.a.b == 1"})
    assert graph is not None, diags
    facts, sources = infer_facts(graph, lookup_from({("K8s", "node", "count"): "12", ("K8s", "a", "b"): "1"}))
    assert facts == {"nodes": 12, "service": "eks"}
    assert sources["nodes"]["evidence"] == ["K8s.node.count = 12"]


def test_infer_rules_are_type_checked(rules):
    _, diags = rules({"i.eidos": 'infer service = ekz when K8s.a.b == 1\ninfer regoin = x\ninfer nodes = 1 when service == eks'})
    assert sorted(d.code for d in diags) == ["E201", "E202", "E301"]


def test_recipe_from_snapshot_with_explain():
    result = run_eidos("recipe", "--snapshot", str(SNAPSHOTS / "cns-eks-h100.yaml"), "--intent", "training",
                       "--explain", "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["criteria"] == {"accelerator": "h100", "intent": "training", "os": "ubuntu", "service": "eks"}
    facts = doc["explain"]["facts"]
    assert facts["service"]["from"] == "snapshot" and "v1.30.14-eks-3025e55" in facts["service"]["evidence"][0]
    assert facts["accelerator"]["from"] == "snapshot" and "NVIDIA H100 80GB HBM3" in facts["accelerator"]["evidence"][0]
    assert facts["intent"] == {"value": "training", "from": "flag"}
    assert doc["overlays"] == ["base", "eks", "eks-training", "h100-eks-training"]


def test_flags_override_inferred_facts():
    result = run_eidos("recipe", "--snapshot", str(SNAPSHOTS / "cns-eks-gb200.yaml"), "--accelerator", "h100",
                       "--explain", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["criteria"]["accelerator"] == "h100"
    assert doc["explain"]["facts"]["accelerator"]["overrides"]["value"] == "gb200"


def test_unreadable_snapshot_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Snapshot\nmeasurements: [unclosed\n")
    result = run_eidos("recipe", "--snapshot", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = run_eidos("recipe", "--snapshot", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
