"""The table reads like a report: failures first, skips folded per reason (unless --verbose),
wrapping only between words, --only/--skip, and --explain showing how each verdict came about."""

from __future__ import annotations

import json

import pytest

from eidos.snapshot.io import load_snapshot
from eidos.validate.fleet import Selection, Validator
from eidos.validate.reports import render
from eidos.validate.reports.table import fold_key
from eidos.validate.verdicts import Report
from tests.conftest import FIXTURES, run_eidos

GB200 = str(FIXTURES / "snapshots" / "cns-eks-gb200.yaml")


@pytest.fixture(scope="module")
def report(embedded_graph):
    node = Validator(embedded_graph, flag_facts={"intent": "training"}).node(load_snapshot(GB200), GB200)
    return Report((node,))


def test_failures_come_before_warnings_passes_and_skips(report):
    text = render(report, "table")
    # warnings: persistence-mode (first GPU Disabled), gpudirect-rdma-eks, eks-version; passes
    # include skyhook-hugepages' kernel pool (vm/nr_hugepages 15841 >= 5128 in the fixture)
    order = [text.index(h) for h in ("Failures (2)", "Warnings (3)", "Passed (18)", "Skipped (38")]
    assert order == sorted(order)
    # the first verdict line under the facts is a failure
    first = next(line for line in text.splitlines() if line.startswith("    ") and line.split()[0].isupper())
    assert first.split()[0] == "FAIL"


def test_skips_fold_one_line_per_reason_unless_verbose(report):
    text = render(report, "table")
    # 38 skips on this node, 10 distinct reasons (hand-counted from the GB200 training run:
    # 8 GPU.smi counts of rules/checks-gpu.eidos the reference agent lacks (ecc-enabled,
    # ecc-uncorrectable, pcie-link-generation-capped, pcie-link-width, remapped-rows x2,
    # retired-pages-pending, vgpu-guest-smi), 7 checks for other accelerators (4 before, plus
    # fabric-manager x2 and nvlink-links, HGX only), 5 K8s.node keys the reference agent lacks
    # (allocatable, kubelet-version, labels, and skyhook-hugepages' two hugepages keys),
    # 5 components whose deployed version needs K8s.helm, 4 imex-compute-domain requirements
    # needing K8s.dra, 3 /proc/sys/net keys, 2 per-GPU keys, 2 gpu-allocatable requirements
    # needing K8s.gpu-capacity, 1 non-EKS check, 1 bare-metal check)
    assert "SKIP " not in text
    folded = [line for line in text.splitlines() if line.startswith("    ") and "x " in line[:8]]
    assert [line.split("x ", 1)[0].strip() for line in folded] == ["8", "7", "5", "5", "4", "3", "2", "2", "1", "1"]
    assert "7x not applicable: accelerator = gb200: cuda-driver-version-hopper, driver-branch-ampere-ada," in text
    verbose = render(report, "table", verbose=True)
    assert verbose.count("    SKIP  ") == 38


@pytest.mark.parametrize("width", [60, 80, 100])
def test_wrapping_never_splits_a_word(report, width):
    text = render(report, "table", width=width, verbose=True)
    shown = [(v.remedy + " " + v.reason + " " + v.expr) if v.status in ("fail", "warn", "error")
             else v.expr for v in report.verdicts]
    words = {w for t in shown for w in t.split()}
    out_words = set(text.split())
    # every word of every remedy, reason and expression appears whole in the output
    missing = sorted(w for w in words if w not in out_words and not any(w in o for o in out_words))
    assert not missing
    for line in text.splitlines():
        if len(line) > width:  # only a word longer than the room left on its line may overflow
            # (the expression column starts at 52: a long measurement path such as
            # SystemD["nvidia-fabricmanager.service"].LoadState has less room there)
            indent = len(line) - len(line.lstrip())
            assert len(max(line.split(), key=len)) > width - max(45, indent), line


def test_fold_keys():
    assert fold_key("not applicable: intent not given") == "not applicable: intent not given"
    assert fold_key("not applicable: accelerator in {h100, h200} is false (accelerator = gb200)") == \
        "not applicable: accelerator = gb200"
    assert fold_key("GPU.gpu0.mig-mode not in snapshot (the snapshot has no GPU.gpu0); a warning-severity "
                    "rule may be absent") == "absent data: the snapshot has no GPU.gpu0"


def test_only_and_skip_select_rules(embedded_graph):
    sel = Selection(only=("gpudirect-rdma-eks", "os-version"))
    node = Validator(embedded_graph, flag_facts={"intent": "training"}, selection=sel).node(load_snapshot(GB200), GB200)
    assert sorted(v.id for v in node.verdicts) == ["check:gpudirect-rdma-eks:peermem", "requirement:os-version"]
    sel = Selection(skip=("gb200-host-os/host-os", "requirement:os-version"))
    node = Validator(embedded_graph, flag_facts={"intent": "training"}, selection=sel).node(load_snapshot(GB200), GB200)
    ids = {v.id for v in node.verdicts}
    assert "check:gb200-host-os:host-os" not in ids and "requirement:os-version" not in ids
    assert "requirement:os-id" in ids


def test_only_typo_is_a_usage_error_with_a_suggestion():
    r = run_eidos("validate", "-s", GB200, "--only", "gpudirect-rdm")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "did you mean 'gpudirect-rdma'?" in r.stderr


def test_only_changes_the_exit_code():
    # without the two failing OS rules the GB200 node passes at --fail-on error
    r = run_eidos("validate", "-s", GB200, "--intent", "training", "--skip", "gb200-host-os", "--skip", "os-version")
    assert r.returncode == 0, r.stdout[-1500:]


def test_explain_shows_how_each_verdict_was_reached():
    r = run_eidos("validate", "-s", GB200, "--intent", "training", "--only", "gb200-host-os", "--explain")
    assert r.returncode == 1
    flat = " ".join(r.stdout.split())  # wrapped lines joined back
    assert "how: applies: when accelerator == gb200 and os == ubuntu; accelerator == gb200 (got gb200)" in flat
    assert "test OS.host.VERSION_ID >= 24.04: found 22.04 -> false" in flat
    r = run_eidos("validate", "-s", GB200, "--intent", "training", "--only", "os-version", "--explain", "-o", "json")
    [v] = json.loads(r.stdout)["nodes"][0]["verdicts"]
    assert v["explain"]["applies"].startswith("required by overlay gb200-eks-ubuntu-training")
    assert v["explain"]["tests"] == ["OS.host.VERSION_ID == 24.04: found 22.04 -> false"]
    # without --explain the document has no explain field
    r = run_eidos("validate", "-s", GB200, "--intent", "training", "--only", "os-version", "-o", "json")
    assert "explain" not in json.loads(r.stdout)["nodes"][0]["verdicts"][0]
