"""``eidos diff``: the real H100 snapshot against copies with known changes.

The perturbed copies are made here, by editing named values of the fixture
(tests/fixtures/snapshots/cns-eks-h100.yaml), so each test states exactly which changes
exist and the expected report follows from them alone.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.drift.diff import diff_values, direction, outliers
from tests.conftest import FIXTURES, run_eidos

H100 = FIXTURES / "snapshots" / "cns-eks-h100.yaml"
GB200 = FIXTURES / "snapshots" / "cns-eks-gb200.yaml"


def perturbed(tmp_path, name: str, edits: dict, source=H100):
    """A copy of ``source`` with {(type, subtype, key): new value} applied."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    doc = yaml.load(source.read_text())
    left = dict(edits)
    if ("K8s", "node", "source-node") in left:  # the node's name lives in metadata too
        doc["metadata"]["source"] = left[("K8s", "node", "source-node")]
    for m in doc["measurements"]:
        for st_ in m["subtypes"]:
            for key in list(st_["data"]):
                target = (m["type"], st_["subtype"], key)
                if target in left:
                    st_["data"][key] = left.pop(target)
    assert not left, f"fixture has no {sorted(left)}"
    path = tmp_path / name
    with path.open("w") as fh:
        yaml.dump(doc, fh)
    return path


NEW_DRIVER_AND_KERNEL = {
    ("GPU", "smi", "driver"): "580.82.07",  # was 570.133.20
    ("OS", "sysctl", "/proc/sys/kernel/osrelease"): "6.8.0-1028-aws",  # was 6.8.0-1024-aws
    ("K8s", "node", "kernel-version"): "6.8.0-1028-aws",  # was 6.8.0-1024-aws
}


def _diff(*args):
    result = run_eidos("diff", *map(str, args))
    return result


def test_new_driver_and_kernel_show_exactly_those_changes(tmp_path):
    after = perturbed(tmp_path, "after.yaml", NEW_DRIVER_AND_KERNEL)
    result = _diff(H100, after, "-o", "json")
    assert result.returncode == 0, result.stderr
    (node,) = json.loads(result.stdout)["nodes"]
    got = {c["path"]: (c["kind"], c["before"], c["after"], c.get("direction")) for c in node["changes"]}
    assert got == {
        "GPU.smi.driver": ("changed", "570.133.20", "580.82.07", "upgrade"),
        'OS.sysctl["/proc/sys/kernel/osrelease"]': ("changed", "6.8.0-1024-aws", "6.8.0-1028-aws", "upgrade"),
        "K8s.node.kernel-version": ("changed", "6.8.0-1024-aws", "6.8.0-1028-aws", "upgrade"),
    }
    assert node["status"] == "drifted"


def test_fail_on_drift_exit_codes(tmp_path):
    after = perturbed(tmp_path, "after.yaml", NEW_DRIVER_AND_KERNEL)
    assert _diff(H100, after, "--fail-on-drift").returncode == 1
    same = tmp_path / "same.yaml"
    shutil.copy(H100, same)
    result = _diff(H100, same, "--fail-on-drift")
    assert result.returncode == 0 and "0 of 1 node(s) drifted" in result.stdout


def test_downgrade_is_named_in_the_table(tmp_path):
    before = perturbed(tmp_path, "before.yaml", {("GPU", "smi", "driver"): "580.82.07"})
    result = _diff(before, H100)
    assert "~ GPU.smi.driver: 580.82.07 -> 570.133.20  (downgrade)" in result.stdout


def test_noise_is_ignored_and_counted_and_can_be_shown(tmp_path):
    after = perturbed(tmp_path, "after.yaml", {
        ("OS", "sysctl", "/proc/sys/kernel/random/boot_id"): "feb26614-cb2e-43bd-8108-f139198765af",
        ("OS", "sysctl", "/proc/sys/fs/file-nr"): "4608\t0\t9223372036854775807",
    })
    quiet = json.loads(_diff(H100, after, "-o", "json").stdout)
    assert quiet["summary"]["changes"] == 0 and quiet["summary"]["ignored"] == 2
    loud = json.loads(_diff(H100, after, "-o", "json", "--no-default-ignore").stdout)
    assert loud["summary"]["changes"] == 2


def test_user_ignore_globs(tmp_path):
    after = perturbed(tmp_path, "after.yaml", NEW_DRIVER_AND_KERNEL)
    rules = tmp_path / "ignore.yaml"
    rules.write_text("- 'K8s.node.*'\n- {glob: 'OS.sysctl./proc/sys/kernel/osrelease', why: kernel tracked elsewhere}\n")
    doc = json.loads(_diff(H100, after, "-o", "json", "--ignore-file", rules).stdout)
    assert [c["path"] for c in doc["nodes"][0]["changes"]] == ["GPU.smi.driver"]
    doc = json.loads(_diff(H100, after, "-o", "json", "--ignore", "GPU.*").stdout)
    assert "GPU.smi.driver" not in [c["path"] for c in doc["nodes"][0]["changes"]]


def test_fleet_pairs_nodes_and_names_the_outlier(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir(), after.mkdir()
    for i in range(4):
        node = f"ip-10-0-0-{i}"
        edits = {("K8s", "node", "source-node"): node}
        perturbed(before, f"{node}.yaml", edits)
        if i == 2:  # the one node whose driver was upgraded by hand
            edits = {**edits, ("GPU", "smi", "driver"): "580.82.07"}
        perturbed(after, f"{node}.yaml", edits)
    result = _diff(before, after, "-o", "json", "--fail-on-drift")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    drifted = {n["node"]: [c["path"] for c in n["changes"]] for n in doc["nodes"] if n["changes"]}
    assert drifted == {"ip-10-0-0-2": ["GPU.smi.driver"]}
    (outlier,) = doc["outliers"]
    assert outlier == {"path": "GPU.smi.driver", "majority": "570.133.20", "holders": 3,
                       "nodes": [{"node": "ip-10-0-0-2", "value": "580.82.07"}]}


def test_baseline_against_a_fleet(tmp_path):
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    perturbed(fleet, "a.yaml", {("K8s", "node", "source-node"): "a"})
    perturbed(fleet, "b.yaml", {("K8s", "node", "source-node"): "b", ("GPU", "smi", "driver"): "580.82.07"})
    doc = json.loads(_diff(H100, fleet, "-o", "json").stdout)
    assert {n["node"]: n["status"] for n in doc["nodes"]} == {"a": "same", "b": "drifted"}


def test_node_only_on_one_side(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir(), after.mkdir()
    perturbed(before, "a.yaml", {("K8s", "node", "source-node"): "a"})
    perturbed(after, "a.yaml", {("K8s", "node", "source-node"): "a"})
    perturbed(after, "b.yaml", {("K8s", "node", "source-node"): "b"})
    result = _diff(before, after, "--fail-on-drift")
    assert result.returncode == 1 and "b: only in the second set" in result.stdout


@pytest.mark.parametrize("fmt", ["junit", "sarif", "yaml"])
def test_machine_formats(tmp_path, fmt):
    after = perturbed(tmp_path, "after.yaml", NEW_DRIVER_AND_KERNEL)
    out = _diff(H100, after, "-o", fmt).stdout
    if fmt == "junit":
        root = ET.fromstring(out)
        (case,) = root.iter("testcase")
        assert case.find("failure") is not None and "GPU.smi.driver" in case.find("failure").text
    elif fmt == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        assert sorted(r["properties"]["path"] for r in results) == sorted(
            ["GPU.smi.driver", 'OS.sysctl["/proc/sys/kernel/osrelease"]', "K8s.node.kernel-version"])
    else:
        from ruamel.yaml import YAML

        assert YAML(typ="safe").load(out)["summary"]["changes"] == 3


def test_two_real_clusters_differ_in_the_expected_places():
    # H100 vs GB200 snapshot: different clusters; the driver and kernel appear, the noise does not
    doc = json.loads(_diff(H100, GB200, "-o", "json").stdout)
    changes = {c["path"]: c for c in doc["nodes"][0]["changes"]}
    assert changes["GPU.smi.driver"]["direction"] == "upgrade"
    assert changes["K8s.node.kernel-version"]["direction"] == "upgrade"
    assert changes["GPU.smi.gpu-count"]["direction"] == "decrease"
    assert 'OS.sysctl["/proc/sys/kernel/random/uuid"]' not in changes
    assert "K8s.node.source-node" not in changes


def test_bad_inputs_exit_2(tmp_path):
    assert _diff(tmp_path / "missing.yaml", H100).returncode == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("- not a snapshot\n")
    result = _diff(bad, H100)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    shutil.copy(H100, fleet / "a.yaml")
    assert _diff(fleet, H100).returncode == 2  # baseline must come first


@pytest.mark.parametrize("before, after, expected", [
    ("570.133.20", "580.82.07", "upgrade"), ("6.8.0-1028-aws", "6.8.0-1024-aws", "downgrade"),
    (8, 4, "decrease"), (1.5, 2, "increase"), ("Hopper", "Blackwell", None), (True, False, None),
    ("03801c80-c3e1", "feb26614-cb2e", None), ("1.2", "1.2.0", None),
])
def test_direction(before, after, expected):
    assert direction(before, after) == expected


values = st.dictionaries(
    st.tuples(st.sampled_from(["K8s", "GPU", "OS"]), st.text("abc", min_size=1, max_size=3)),
    st.one_of(st.integers(-5, 5), st.text("xy.1", max_size=4), st.booleans(), st.none()),
    max_size=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_diff_of_a_thing_with_itself_is_empty(a):
    assert diff_values(a, dict(reversed(list(a.items())))) == ((), 0)


@settings(max_examples=200, deadline=None)
@given(values, values)
def test_applying_the_diff_to_a_gives_b(a, b):
    from eidos.lang.ast import format_path

    changes, _ = diff_values(a, b)
    by_path = {format_path(k): k for k in set(a) | set(b)}
    patched = dict(a)
    for c in changes:
        key = by_path[c.path]
        if c.kind == "removed":
            del patched[key]
        else:
            patched[key] = c.after
    assert patched == b and {type(v) for v in patched.values()} == {type(v) for v in b.values()}


@settings(max_examples=100, deadline=None)
@given(st.lists(values, min_size=3, max_size=6), st.randoms())
def test_outliers_do_not_depend_on_node_order(fleet, rnd):
    nodes = {f"n{i}": (f"n{i}.yaml", v) for i, v in enumerate(fleet)}
    shuffled = list(nodes.items())
    rnd.shuffle(shuffled)
    assert outliers(nodes) == outliers(dict(shuffled))


def test_verdict_drift_names_the_check_that_changed(tmp_path):
    # rules/checks.eidos driver-branch-hopper: GPU.smi.driver >= 535 on H100/H200
    after = perturbed(tmp_path, "after.yaml", {("GPU", "smi", "driver"): "525.60.13"})
    result = _diff(H100, after, "--verdicts", "--fact", "intent=training", "-o", "json", "--fail-on-drift")
    assert result.returncode == 1, result.stderr
    (node,) = json.loads(result.stdout)["nodes"]
    verdicts = {v["id"]: (v["before"], v["after"]) for v in node["verdicts"]}
    assert verdicts["check:driver-branch-hopper:driver"] == ("pass", "fail")
    assert [c["path"] for c in node["changes"]] == ["GPU.smi.driver"]
    assert node["changes"][0]["direction"] == "downgrade"


def test_verdict_options_need_verdicts():
    result = _diff(H100, H100, "--fact", "intent=training")
    assert result.returncode == 2 and "--verdicts" in result.stderr
