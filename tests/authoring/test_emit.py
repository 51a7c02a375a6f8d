"""``eidos recipe --snapshot S --emit-overlay NAME`` on the real EKS snapshots.

Expected values are read off the snapshot files by hand (line numbers from
tests/fixtures/snapshots/cns-eks-h100.yaml and cns-eks-gb200.yaml):

| | cns-eks-h100.yaml | cns-eks-gb200.yaml |
| --- | --- | --- |
| K8s.server.version | v1.30.14-eks-3025e55 (l.1597) | v1.33.5-eks-3025e55 (l.28) |
| K8s.image["gpu-operator"] | v25.3.0 (l.1650) | v25.3.3 (l.58) |
| GPU.smi.driver | 570.133.20 (l.1892) | 580.82.07 (l.1812) |
| OS.sysctl["/proc/sys/kernel/osrelease"] | 6.8.0-1024-aws (l.1298) | 6.8.0-1028-aws (l.1533) |
| K8s.node.os-image -> OS.host | Ubuntu 22.04.5 LTS -> ubuntu, 22.04 (l.1882) | Ubuntu 22.04.5 LTS (l.258) |

Neither snapshot records Helm releases, so only gpu-operator (whose image tag is its chart
version, eidos/validate/deployed.py) is pinned.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.conftest import FIXTURES, run_eidos

H100 = FIXTURES / "snapshots" / "cns-eks-h100.yaml"
GB200 = FIXTURES / "snapshots" / "cns-eks-gb200.yaml"
AICR = FIXTURES / "snapshots" / "aicr-mock-training.yaml"


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def emit(tmp_path, snapshot, name, *facts, subdir="pins"):
    out = tmp_path / subdir / f"{name}.eidos"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = run_eidos("recipe", "--snapshot", str(snapshot), *facts, "--emit-overlay", name, "--out", str(out))
    ok(result)
    return out.read_text(encoding="utf-8"), result.stderr


def recipe(rules_dir, *facts):
    return json.loads(ok(run_eidos("recipe", "--rules", str(rules_dir), *facts, "-o", "json")))


def test_h100_pins_what_the_snapshot_shows(tmp_path):
    text, _ = emit(tmp_path, H100, "h100-known-good")
    # the recipe the snapshot resolves to (service, accelerator, os inferred) applies base, eks
    assert "overlay h100-known-good extends eks {" in text
    assert "  when accelerator == h100 and os == ubuntu and service == eks\n" in text
    # eks defines k8s-version (inherited from base): refined with replace; the rest are new names
    assert "  replace k8s-version: K8s.server.version == 1.30.14\n" in text
    assert '  require os-id: OS.host.ID == "ubuntu"\n' in text
    assert "  require os-version: OS.host.VERSION_ID == 22.04\n" in text
    assert '  require kernel: OS.sysctl["/proc/sys/kernel/osrelease"] == "6.8.0-1024-aws"\n' in text
    block = re.search(r"  component gpu-operator \{\n(.*?)\n  \}", text, re.DOTALL).group(1)
    assert '    version "v25.3.0"' in block
    assert '    set driver.version = "570.133.20"' in block
    # every pinned value names the snapshot and the measurement path it came from
    src = f'"{H100}"'
    for path, value in [("K8s.server.version", "v1.30.14-eks-3025e55"), ("OS.host.ID", "ubuntu"),
                        ("OS.host.VERSION_ID", "22.04"),
                        ('OS.sysctl["/proc/sys/kernel/osrelease"]', "6.8.0-1024-aws"),
                        ('K8s.image["gpu-operator"]', "v25.3.0"), ("GPU.smi.driver", "570.133.20")]:
        assert f'# pinned from {src}: {path} = "{value}"' in text, path
    # components whose version the snapshot does not show are named, not guessed from images
    # (cert-manager's image v1.15.1 is not its chart version)
    assert "cert-manager" in re.search(r"# versions not pinned.*", text).group(0)
    assert 'version "v1.15.1"' not in text


def test_h100_overlay_is_lint_clean_and_applies(tmp_path):
    _, stderr = emit(tmp_path, H100, "h100-known-good")
    assert "warning" not in stderr
    lint = run_eidos("lint", "--strict", str(tmp_path / "pins"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    doc = recipe(tmp_path / "pins", "--service", "eks", "--accelerator", "h100", "--os", "ubuntu")
    assert doc["overlays"] == ["base", "eks", "h100-known-good"]
    gpu = next(c for c in doc["components"] if c["name"] == "gpu-operator")
    assert gpu["version"] == "v25.3.0"
    assert gpu["values"]["driver"]["version"] == "570.133.20"
    exprs = {r["name"]: (r["overlay"], r["expr"]) for r in doc["requirements"]}
    assert exprs["k8s-version"] == ("h100-known-good", "K8s.server.version == 1.30.14")
    assert exprs["kernel"] == ("h100-known-good", 'OS.sysctl["/proc/sys/kernel/osrelease"] == "6.8.0-1024-aws"')
    # a different query does not get the pin
    other = recipe(tmp_path / "pins", "--service", "eks", "--accelerator", "gb200", "--os", "ubuntu")
    assert "h100-known-good" not in other["overlays"]


def test_h100_pins_hold_on_the_snapshot_they_came_from(tmp_path):
    emit(tmp_path, H100, "h100-known-good")
    result = run_eidos("validate", "--rules", str(tmp_path / "pins"), "--snapshot", str(H100), "-o", "json")
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    (node,) = report["nodes"]
    assert node["overlays"][-1] == "h100-known-good"
    verdicts = {v["id"]: v["status"] for v in node["verdicts"]}
    for name in ("k8s-version", "os-id", "os-version", "kernel"):
        assert verdicts.get(f"requirement:{name}") == "pass", (name, verdicts)
    # the deployed-version rule reads the same source the pin came from: they agree
    assert verdicts.get("component:gpu-operator") == "pass", verdicts


def test_gb200_training_extends_the_most_specific_overlay(tmp_path):
    text, stderr = emit(tmp_path, GB200, "gb200-known-good", "--intent", "training")
    assert "overlay gb200-known-good extends gb200-eks-ubuntu-training {" in text
    assert "  when accelerator == gb200 and intent == training and os == ubuntu and service == eks\n" in text
    # every pinned name is defined by an ancestor (base/eks/eks-training/gb200-eks-ubuntu-training)
    assert "  replace k8s-version: K8s.server.version == 1.33.5\n" in text
    assert '  replace os-id: OS.host.ID == "ubuntu"\n' in text
    assert "  replace os-version: OS.host.VERSION_ID == 22.04\n" in text
    assert '  replace kernel: OS.sysctl["/proc/sys/kernel/osrelease"] == "6.8.0-1028-aws"\n' in text
    assert "require " not in text
    block = re.search(r"  component gpu-operator \{\n(.*?)\n  \}", text, re.DOTALL).group(1)
    assert '    version "v25.3.3"' in block and '    set driver.version = "580.82.07"' in block
    # the parent tests every fact of the query: the pin applies exactly where it does, said once
    assert "W501" in stderr and "applies exactly where it does" in stderr
    lint = run_eidos("lint", str(tmp_path / "pins"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    doc = recipe(tmp_path / "pins", "--service", "eks", "--accelerator", "gb200", "--os", "ubuntu",
                 "--intent", "training")
    assert doc["overlays"][-1] == "gb200-known-good"
    by_name = {r["name"]: r for r in doc["requirements"]}
    assert by_name["os-version"]["expr"] == "OS.host.VERSION_ID == 22.04"
    assert by_name["os-version"]["overlay"] == "gb200-known-good"
    gpu = next(c for c in doc["components"] if c["name"] == "gpu-operator")
    assert (gpu["version"], gpu["values"]["driver"]["version"]) == ("v25.3.3", "580.82.07")


def test_gb200_without_intent_is_strict_lint_clean(tmp_path):
    text, stderr = emit(tmp_path, GB200, "gb200-pin")
    assert "extends eks {" in text and "warning" not in stderr
    assert run_eidos("lint", "--strict", str(tmp_path / "pins")).returncode == 0


def test_helm_release_records_pin_by_release_and_chart_name(tmp_path):
    text, _ = emit(tmp_path, AICR, "aicr-pin")
    # aicr-mock-training.yaml l.34, l.46: cert-manager.version v1.17.2; the prometheus component
    # is released as kube-prometheus-stack (82.8.0)
    assert f'# pinned from "{AICR}": K8s.helm["kube-prometheus-stack.version"] = "82.8.0"' in text
    assert re.search(r'component prometheus \{\n.*\n    version "82.8.0"', text)
    assert re.search(r'component cert-manager \{\n.*\n    version "v1.17.2"', text)
    # what it lacks is said, not invented
    assert "# not pinned: kernel: the snapshot has no" in text
    assert run_eidos("lint", "--strict", str(tmp_path / "pins")).returncode == 0


def test_no_driver_pin_when_the_recipe_does_not_manage_the_driver(tmp_path):
    # GKE COS: values-gke-cos.yaml sets driver.enabled: false (GKE installs the driver)
    text, _ = emit(tmp_path, H100, "cos-pin", "--service", "gke", "--os", "cos")
    assert "set driver.version" not in text
    assert "driver not pinned: the recipe's gpu-operator does not manage the driver" in text
    assert run_eidos("lint", "--strict", str(tmp_path / "pins")).returncode == 0


def test_awkward_snapshot_paths_are_quoted_and_round_trip(tmp_path):
    odd = tmp_path / 'we"ird # dir\nline' / "snap.yaml"
    odd.parent.mkdir()
    shutil.copy(H100, odd)
    text, _ = emit(tmp_path, odd, "odd-pin")
    assert "\\n" in text and '\\"' in text  # escaped, never raw
    assert all(line.startswith(("#", "overlay", "  ", "}")) for line in text.splitlines())
    assert run_eidos("lint", "--strict", str(tmp_path / "pins")).returncode == 0
    doc = recipe(tmp_path / "pins", "--service", "eks", "--accelerator", "h100", "--os", "ubuntu")
    assert str(odd) in next(r for r in doc["requirements"] if r["name"] == "kernel")["message"]


def test_stdout_when_no_out_and_snapshot_from_stdin(tmp_path):
    result = run_eidos("recipe", "--snapshot", "-", "--emit-overlay", "pin", stdin=H100.read_text())
    assert ok(result).startswith("# Generated by: eidos recipe --snapshot \"-\"")
    assert 'version "v25.3.0"' in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--service", "eks", "--emit-overlay", "x"], "--emit-overlay needs --snapshot"),
    (["--snapshot", str(H100), "--emit-overlay", "eks"], "an overlay of that name already exists"),
    (["--snapshot", str(H100), "--emit-overlay", "not a name"], "not a valid overlay name"),
    (["--snapshot", str(H100), "--emit-overlay", "x", "--explain"], "--explain does not apply"),
    (["--snapshot", "/nonexistent/snap.yaml", "--emit-overlay", "x"], "snap.yaml"),
])
def test_bad_invocations_exit_2(args, message):
    result = run_eidos("recipe", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_regenerating_on_top_of_itself_is_refused(tmp_path):
    emit(tmp_path, H100, "h100-known-good")
    pins = tmp_path / "pins"
    result = run_eidos("recipe", "--rules", str(pins), "--snapshot", str(H100), "--emit-overlay",
                       "h100-known-good", "--out", str(pins / "h100-known-good.eidos"))
    assert result.returncode == 2 and "cannot be taken on top of itself" in result.stderr
    assert "Traceback" not in result.stderr


def test_output_is_deterministic(tmp_path):
    first = ok(run_eidos("recipe", "--snapshot", str(GB200), "--emit-overlay", "p"))
    assert first == ok(run_eidos("recipe", "--snapshot", str(GB200), "--emit-overlay", "p"))
