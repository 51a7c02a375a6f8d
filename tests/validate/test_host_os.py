"""OS rules read the host's OS (``OS.host``), never the reference agent's container os-release.

Precedence (eidos/validate/hostos.py): an os-release eidos' own collector read under the host
root, else the kubelet's os-image, else nothing (and the verdict says how to re-take the
snapshot). Every expected value below is written from the input by hand.
"""

from __future__ import annotations

import pytest

from eidos.lang.measurements import MISSING
from eidos.snapshot.io import load_snapshot
from eidos.validate.fleet import Validator
from eidos.validate.hostos import HostView, parse_pretty_name
from tests.conftest import FIXTURES
from tests.validate.helpers import collector, snap

CONTAINER_RELEASE = {"ID": "ubuntu", "VERSION_ID": "24.04", "PRETTY_NAME": "Ubuntu 24.04.3 LTS"}


@pytest.mark.parametrize(
    "pretty, expected",
    [
        # os-release VERSION_ID of Ubuntu is major.minor: the point release 22.04.5 is not it
        ("Ubuntu 22.04.5 LTS", {"ID": "ubuntu", "VERSION_ID": "22.04"}),
        ("Ubuntu 24.04.3 LTS", {"ID": "ubuntu", "VERSION_ID": "24.04"}),
        ("Red Hat Enterprise Linux 9.4 (Plow)", {"ID": "rhel", "VERSION_ID": "9.4"}),
        # CoreOS is not RHEL: a different ID, so ID == "rhel" does not pass on OpenShift nodes
        ("Red Hat Enterprise Linux CoreOS 418.94.202410090804-0", {"ID": "rhcos", "VERSION_ID": "418.94"}),
        # Amazon Linux 2 and 2023 are distinct: VERSION_ID "2" vs "2023" (not 2023.6...)
        ("Amazon Linux 2", {"ID": "amzn", "VERSION_ID": "2"}),
        ("Amazon Linux 2023.6.20241010", {"ID": "amzn", "VERSION_ID": "2023"}),
        # the COS os-image names no version: VERSION_ID stays absent rather than guessed
        ("Container-Optimized OS from Google", {"ID": "cos"}),
        ("Microsoft Azure Linux 3.0", {"ID": "azurelinux", "VERSION_ID": "3.0"}),
        ("CBL-Mariner/Linux", {"ID": "mariner"}),
        ("Bottlerocket OS 1.20.3 (aws-k8s-1.29)", {"ID": "bottlerocket", "VERSION_ID": "1.20.3"}),
        # unknown: only the pretty name, no invented ID
        ("Talos (v1.9.0)", {"ID": "talos"}),
        ("Some Distro 7", {}),
    ],
)
def test_pretty_name_table(pretty, expected):
    assert parse_pretty_name(pretty) == {"PRETTY_NAME": pretty, **expected}


def test_reference_snapshot_uses_the_kubelet_os_image_not_the_container_release():
    # cns-eks-gb200: OS.release says 24.04 (the agent's image), the kubelet says 22.04.5
    view = HostView(load_snapshot(str(FIXTURES / "snapshots" / "cns-eks-gb200.yaml")))
    assert view.lookup(("OS", "release", "VERSION_ID")) == "24.04"  # the raw data is untouched
    assert view.lookup(("OS", "host", "VERSION_ID")) == "22.04"
    assert view.lookup(("OS", "host", "ID")) == "ubuntu"
    assert view.lookup(("OS", "host", "source")).startswith("kubelet os-image")
    assert view.lookup(("OS", "host", "nope")) is MISSING


def test_eidos_host_root_release_wins_over_os_image():
    # eidos' os-release collector ran (status ok) and read the host root: its exact fields win
    s = snap({"OS": {"release": {"ID": "ubuntu", "VERSION_ID": "24.04", "PRETTY_NAME": "Ubuntu 24.04.1 LTS"}},
              "K8s": {"node": {"os-image": "Ubuntu 24.04.1 LTS"}}},
             collectors=[collector("os-release", "OS", "ok")])
    view = HostView(s)
    assert view.lookup(("OS", "host", "VERSION_ID")) == "24.04"
    assert view.lookup(("OS", "host", "source")).startswith("os-release (host root")


def test_release_of_unknown_origin_is_not_trusted():
    # no collector record (the reference agent's format) and no os-image: no host OS at all
    s = snap({"OS": {"release": CONTAINER_RELEASE}})
    assert HostView(s).lookup(("OS", "host")) is MISSING
    # a failed os-release collector is not trusted either
    s = snap({"OS": {"release": CONTAINER_RELEASE}}, collectors=[collector("os-release", "OS", "failed", "boom")])
    assert HostView(s).lookup(("OS", "host", "ID")) is MISSING


def _node(graph, s, **facts):
    node = Validator(graph, flag_facts=facts).node(s, "<test>")
    return {v.id: v for v in node.verdicts}


def test_h100_inference_does_not_pass_os_version_on_a_22_04_host(embedded_graph):
    # acceptance: the H100 fixture's host is Ubuntu 22.04.5 (os-image); h100-inference wants >= 24.04
    s = load_snapshot(str(FIXTURES / "snapshots" / "cns-eks-h100.yaml"))
    by = _node(embedded_graph, s, intent="inference")
    assert by["requirement:os-version"].status == "fail"
    assert by["requirement:os-version"].actual == (("OS.host.VERSION_ID", "22.04"),)
    assert "Ubuntu 22.04.5 LTS" in by["requirement:os-version"].reason
    assert by["requirement:os-id"].status == "pass"  # it is Ubuntu


def test_gb200_report_no_longer_contradicts_itself(embedded_graph):
    # acceptance: os-version and gb200-host-os agree (both fail: 22.04 host)
    s = load_snapshot(str(FIXTURES / "snapshots" / "cns-eks-gb200.yaml"))
    by = _node(embedded_graph, s, intent="training")
    assert by["requirement:os-version"].status == "fail"
    assert by["check:gb200-host-os:host-os"].status == "fail"


def test_no_host_os_is_an_error_with_a_retake_remedy(embedded_graph):
    # only a container os-release: the error-severity os-id cannot be judged; the fix is a
    # better snapshot, not "use Ubuntu"
    s = snap({"OS": {"release": CONTAINER_RELEASE}, "K8s": {"server": {"version": "v1.33.5-eks-1"}}})
    by = _node(embedded_graph, s, service="eks", accelerator="gb200", os="ubuntu", intent="training")
    v = by["requirement:os-id"]
    assert v.status == "error"
    assert "no host OS data" in v.reason
    assert v.remedy.startswith("Re-take the snapshot so it carries the host's OS")
    assert "Ubuntu EKS AMI" not in v.remedy


def test_os_image_without_version_says_so(embedded_graph):
    # a COS node: OS.host.ID is cos but VERSION_ID is unknown; the reason names the os-image
    s = snap({"K8s": {"node": {"os-image": "Container-Optimized OS from Google"}}})
    by = _node(embedded_graph, s, service="eks", accelerator="gb200", os="ubuntu", intent="training")
    v = by["requirement:os-version"]
    assert v.status == "error"
    assert "OS.host has no VERSION_ID" in v.reason and "Container-Optimized OS from Google" in v.reason
    assert by["requirement:os-id"].status == "fail"  # cos is not ubuntu: a real finding


@pytest.mark.parametrize(
    "fixture, os_fact, host_id, host_version",
    [
        # real os-release files (tests/fixtures/os, which-distro/os-release); expected by hand
        ("os-release-ubuntu-22.04", "ubuntu", "ubuntu", "22.04"),
        ("os-release-ubuntu-24.04", "ubuntu", "ubuntu", "24.04"),
        ("os-release-rhel-9.4", "rhel", "rhel", "9.4"),
        ("os-release-amazonlinux-2", "amazonlinux2", "amzn", "2"),
        ("os-release-amazonlinux-2023", "amazonlinux2023", "amzn", "2023"),
        ("os-release-cos-97", "cos", "cos", None),  # COS's PRETTY_NAME names no version
        ("os-release-azurelinux-3.0", "azurelinux", "azurelinux", "3.0"),
        ("os-release-mariner-2.0", "azurelinux", "mariner", None),  # "CBL-Mariner/Linux"
    ],
)
def test_real_os_release_files(embedded_graph, fixture, os_fact, host_id, host_version):
    from eidos.engine.inference import infer_facts
    from eidos.snapshot.collectors.os_release import parse_os_release

    release = parse_os_release((FIXTURES / "os" / fixture).read_text())

    def infer(data):
        return infer_facts(embedded_graph, lambda op: data.get(tuple(op.segments), MISSING))[0].get("os")

    # from eidos' host-root os-release (ID and VERSION_ID)...
    assert infer({("OS", "release", k): v for k, v in release.items()}) == os_fact
    # ...and from the kubelet's os-image, which is the same file's PRETTY_NAME
    assert infer({("K8s", "node", "os-image"): release["PRETTY_NAME"]}) == os_fact
    view = HostView(snap({"K8s": {"node": {"os-image": release["PRETTY_NAME"]}}}))
    assert view.lookup(("OS", "host", "ID")) == host_id
    got = view.lookup(("OS", "host", "VERSION_ID"))
    assert (None if got is MISSING else got) == host_version
