"""Every verdict kind, with the reason it carries, on small rules and hand-built snapshots."""

from __future__ import annotations

import pytest

from eidos.validate.fleet import Validator
from tests.validate.helpers import collector, snap

RULES = """
overlay base {
  when always
  require k8s: K8s.server.version >= 1.30
    message "Needs 1.30."
    remedy "Upgrade the control plane."
  require os-id: OS.release.ID == "ubuntu"
    severity warning
    remedy "Use Ubuntu."
  require numa: OS.sysctl["/proc/sys/kernel/numa_balancing"] == 0
    severity info
}
check driver {
  when accelerator == gb200
  category "gpu"
  require GPU.smi.driver >= 570.0
    remedy "Set driver.version=580.82.07."
}
check peermem-optional {
  when intent == training
  require not exists OS.kmod.nvidia_peermem or OS.kmod.nvidia_peermem == true
}
check kmod {
  when always
  require exists OS.kmod.nvidia
    remedy "Load the driver."
}
"""

GOOD = {
    "K8s": {"server": {"version": "v1.33.5-eks-3025e55"}},
    "OS": {"release": {"ID": "ubuntu"}, "sysctl": {"/proc/sys/kernel/numa_balancing": "0"}, "kmod": {"nvidia": True}},
    "GPU": {"smi": {"driver": "580.82.07"}},
}


def verdicts(graph, snapshot, **facts):
    facts = facts or {"service": "eks"}  # validation needs at least one fact, like `eidos recipe`
    node = Validator(graph, flag_facts=facts).node(snapshot, "test.yaml")
    return {v.id: v for v in node.verdicts}


@pytest.fixture
def graph(graph_of):
    return graph_of(RULES)


def test_all_pass_with_values_and_sources(graph):
    vs = verdicts(graph, snap(GOOD), accelerator="gb200", intent="inference")
    assert {k: v.status for k, v in vs.items()} == {
        "requirement:k8s": "pass",
        "requirement:os-id": "pass",
        "requirement:numa": "pass",
        "check:driver": "pass",
        "check:kmod": "pass",
        "check:peermem-optional": "skip",  # intent is inference: not applicable
    }
    k8s = vs["requirement:k8s"]
    assert k8s.actual == (("K8s.server.version", "v1.33.5-eks-3025e55"),)
    assert k8s.expr == "K8s.server.version >= 1.30"
    assert k8s.source.endswith("rules.eidos:3")
    assert vs["check:driver"].category == "gpu"
    assert vs["check:peermem-optional"].reason == "not applicable: intent == training is false (intent = inference)"


def test_fail_carries_expected_actual_and_remedy(graph):
    data = {**GOOD, "K8s": {"server": {"version": "v1.29.9"}}}
    v = verdicts(graph, snap(data))["requirement:k8s"]
    assert v.status == "fail"
    assert v.reason == "expected K8s.server.version >= 1.30; found K8s.server.version = v1.29.9"
    assert v.remedy == "Upgrade the control plane." and v.message == "Needs 1.30."


def test_warning_and_info_failures_are_warn(graph):
    data = {**GOOD, "OS": {"release": {"ID": "rhel"}, "sysctl": {"/proc/sys/kernel/numa_balancing": "1"},
                           "kmod": {"nvidia": True}}}
    vs = verdicts(graph, snap(data))
    assert vs["requirement:os-id"].status == "warn" and vs["requirement:os-id"].severity == "warning"
    assert vs["requirement:numa"].status == "warn" and vs["requirement:numa"].severity == "info"


def test_not_applicable_check_is_skip_with_reason(graph):
    vs = verdicts(graph, snap(GOOD), accelerator="h100")
    assert vs["check:driver"].status == "skip"
    assert vs["check:driver"].reason == "not applicable: accelerator == gb200 is false (accelerator = h100)"
    vs = verdicts(graph, snap(GOOD), intent="training")
    assert vs["check:driver"].reason == "not applicable: accelerator not given"


def test_wrong_type_is_error(graph):
    data = {**GOOD, "K8s": {"server": {"version": "ubuntu"}}}
    v = verdicts(graph, snap(data))["requirement:k8s"]
    assert v.status == "error"
    assert v.reason.startswith("cannot evaluate K8s.server.version >= 1.30: 'ubuntu' is not a version")


def test_missing_value_error_severity_is_error_naming_the_collector(graph):
    data = {k: v for k, v in GOOD.items() if k != "GPU"}
    gpu = collector("gpu", "GPU", "unavailable", "nvidia-smi not found")
    v = verdicts(graph, snap(data, collectors=[gpu]), accelerator="gb200")["check:driver"]
    assert v.status == "error"
    assert v.reason == "GPU.smi.driver not in snapshot (gpu collector unavailable: nvidia-smi not found)"
    assert v.actual == (("GPU.smi.driver", None),)


def test_missing_value_warning_or_info_is_skip(graph):
    data = {"K8s": GOOD["K8s"], "GPU": GOOD["GPU"], "OS": {"kmod": {"nvidia": True}}}
    vs = verdicts(graph, snap(data))
    assert vs["requirement:os-id"].status == "skip"
    assert vs["requirement:os-id"].reason == (
        "OS.release.ID not in snapshot (the snapshot has no OS.release); a warning-severity rule may be absent")
    assert vs["requirement:numa"].status == "skip"


def test_exists_on_an_uncollected_subtype_is_not_a_plain_fail(graph):
    data = {"K8s": GOOD["K8s"], "OS": {"release": {"ID": "ubuntu"}}}
    kmod = collector("kmod", "OS", "failed", "permission denied: /host/proc/modules")
    v = verdicts(graph, snap(data, collectors=[kmod]))["check:kmod"]
    assert v.status == "error"
    assert v.reason == "OS.kmod.nvidia not in snapshot (kmod collector failed: permission denied: /host/proc/modules)"
    # the subtype was collected and the module is simply not loaded: a real failure
    data["OS"]["kmod"] = {"overlay": True}
    assert verdicts(graph, snap(data))["check:kmod"].status == "fail"


def test_rule_that_allows_absence_skips_when_nothing_to_check(graph):
    v = verdicts(graph, snap(GOOD), intent="training")["check:peermem-optional"]
    assert v.status == "skip"
    assert v.reason == "nothing to check: OS.kmod.nvidia_peermem not in snapshot, which the rule allows"
    data = {**GOOD, "OS": {**GOOD["OS"], "kmod": {"nvidia": True, "nvidia_peermem": True}}}
    assert verdicts(graph, snap(data), intent="training")["check:peermem-optional"].status == "pass"


def test_snapshot_without_any_gpu_measurement_never_crashes(embedded_graph):
    data = {"K8s": {"server": {"version": "v1.33.5-eks-3025e55"}}}
    node = Validator(embedded_graph, flag_facts={"service": "eks", "accelerator": "gb200", "intent": "training"}
                     ).node(snap(data), "nogpu.yaml")
    by = {v.id: v for v in node.verdicts}
    assert by["check:driver-branch-blackwell:driver"].status == "error"
    assert "GPU.smi.driver not in snapshot (the snapshot has no GPU measurement)" == by[
        "check:driver-branch-blackwell:driver"].reason
    assert by["check:gb200-fabric:fabric-completed"].status == "skip"
    assert all(v.reason for v in node.verdicts if v.status in ("skip", "error"))


def test_exit_code_rules():
    from eidos.validate.verdicts import NodeResult, Report, Verdict

    def v(status, severity="error"):
        return Verdict("r", "check", "r", "c", "o", "x", severity, status, (), "why", "", "", "f:1")

    def code(*vs, **kw):
        return Report((NodeResult("n", "s", None, (), (), (), tuple(vs)),), **kw).exit_code

    assert code(v("pass"), v("skip")) == 0
    assert code(v("fail")) == 1
    assert code(v("warn", "warning")) == 0
    assert code(v("warn", "warning"), fail_on="warning") == 1
    assert code(v("warn", "info"), fail_on="warning") == 0
    assert code(v("warn", "info"), fail_on="info") == 1
    assert code(v("error")) == 1
    assert code(v("error"), allow_errors=True) == 0
    assert code(v("error"), v("fail"), allow_errors=True) == 1
