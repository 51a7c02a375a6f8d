"""``eidos rules list|show``: the layered rule base as people and tools see it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from eidos.cli.main import main
from tests.conftest import ROOT, write_rules

USER_RULES = {
    "mine.eidos": """
    # A user's layer: an overlay on the embedded base and a component of its own.
    component my-tool {
      helm repo "https://example.com/charts" chart "my-tool" version "1.2.3"
      namespace "tools"
      doc "A component only this layer declares."
    }

    overlay my-eks extends eks {
      doc "Pins the operator for our clusters."
      when intent == training
      require my-k8s: K8s.server.version >= 1.30
        severity warning
        message "We test on 1.30 and newer."
      component gpu-operator {
        version "v25.3.3"
        set driver.version = "580.82.07"
      }
      component my-tool
    }
    """,
}


def _run(capsys, *argv):
    code = main(["rules", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_all_kinds_as_a_table(capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "LOCATION", "SUMMARY"]
    kinds = {line.split()[0] for line in lines[1:]}
    assert kinds == {"overlay", "component", "check", "fact", "infer"}
    base = next(line for line in lines if line.split()[:2] == ["overlay", "base"])
    assert "rules/base.eidos:3" in base and base.rstrip().endswith("when always")


@pytest.mark.parametrize("kind, singular", [("overlays", "overlay"), ("components", "component"),
                                            ("checks", "check"), ("facts", "fact"), ("infer", "infer")])
def test_list_one_kind_as_json(capsys, kind, singular):
    code, out, _ = _run(capsys, "list", kind, "-o", "json")
    assert code == 0
    entries = json.loads(out)
    assert entries and {e["kind"] for e in entries} == {singular}
    for entry in entries:
        path, line = entry["location"].rsplit(":", 1)
        source = (ROOT / path).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        keyword = "infer" if singular == "infer" else singular
        assert source.startswith(keyword) and entry["name"] in source, (entry, source)


def test_singular_kind_is_accepted_and_a_wrong_one_is_refused(capsys):
    assert _run(capsys, "list", "overlay")[0] == 0
    code, _, err = _run(capsys, "list", "overlyas")
    assert code == 2 and "did you mean 'overlays'?" in err


def test_show_an_overlay_with_a_user_layer(tmp_path, capsys):
    layer = write_rules(tmp_path / "layer", USER_RULES)
    code, out, _ = _run(capsys, "show", "my-eks", "--rules", str(layer), "-o", "json")
    assert code == 0
    (item,) = json.loads(out)
    assert item["kind"] == "overlay"
    assert item["location"] == f"{layer}/mine.eidos:8"
    assert item["doc"] == "Pins the operator for our clusters."
    assert item["extends"] == "eks" and item["chain"] == ["base", "eks", "my-eks"]
    assert item["when"] == "intent == training"
    assert item["condition"] == "service == eks and intent == training"
    (req,) = item["requirements"]
    assert (req["name"], req["condition"], req["severity"]) == ("my-k8s", "K8s.server.version >= 1.30", "warning")
    operator, tool = item["components"]
    assert (operator["name"], operator["version"], operator["pinned"]) == ("gpu-operator", "v25.3.3", True)
    assert operator["values"] == [{"op": "set", "path": "driver.version", "value": "580.82.07",
                                   "location": f"{layer}/mine.eidos:16"}]
    assert (tool["name"], tool["version"], tool["pinned"]) == ("my-tool", "1.2.3", False)


def test_show_text_for_people(tmp_path, capsys):
    layer = write_rules(tmp_path / "layer", USER_RULES)
    code, out, _ = _run(capsys, "show", "my-eks", "--rules", str(layer))
    assert code == 0
    assert out.startswith(f"overlay my-eks  ({layer}/mine.eidos:8)\n")
    assert "  condition: service == eks and intent == training\n" in out
    assert "    - gpu-operator v25.3.3" in out
    assert '        - set driver.version = "580.82.07"' in out


def test_show_a_component_lists_who_uses_it(tmp_path, capsys):
    layer = write_rules(tmp_path / "layer", USER_RULES)
    code, out, _ = _run(capsys, "show", "my-tool", "--rules", str(layer), "-o", "json")
    assert code == 0
    (item,) = json.loads(out)
    assert item["source"] == {"repository": "https://example.com/charts", "chart": "my-tool", "version": "1.2.3"}
    assert item["namespace"] == "tools"
    assert [u["overlay"] for u in item["used_by"]] == ["my-eks"]


def test_show_a_fact_lists_its_inference_rules(capsys):
    code, out, _ = _run(capsys, "show", "service", "-o", "json")
    assert code == 0
    (item,) = json.loads(out)
    assert item["kind"] == "fact" and "eks" in item["values"]
    rules = (ROOT / "rules" / "infer.eidos").read_text(encoding="utf-8").splitlines()
    expected = [n for n, line in enumerate(rules, 1) if line.startswith("infer service =")]
    assert [int(i["location"].rsplit(":", 1)[1]) for i in item["inferred_by"]] == expected


def test_show_a_check(capsys):
    code, out, _ = _run(capsys, "show", "eks-standard-support", "-o", "json")
    assert code == 0
    (item,) = json.loads(out)
    assert item["kind"] == "check" and item["when"] == "service == eks"
    assert [r["name"] for r in item["requirements"]] == ["eks-version", "eks-extended"]


def test_show_unknown_name_suggests(capsys):
    code, out, err = _run(capsys, "show", "h100-infrence")
    assert code == 2 and out == ""
    assert "no overlay, component, check or fact is named 'h100-infrence'" in err
    assert "did you mean 'h100-inference'?" in err
    code, _, err = _run(capsys, "show")
    assert code == 2 and "which one?" in err


def test_rules_that_do_not_compile_exit_2(tmp_path, capsys):
    layer = write_rules(tmp_path / "layer", {"bad.eidos": "overlay x {\n  when service ==\n}\n"})
    code, _, err = _run(capsys, "list", "--rules", str(layer))
    assert code == 2 and "bad.eidos:3:1: error[E101]" in err


def test_list_overlays_from_a_wheel_outside_the_checkout(tmp_path):
    """The embedded rules ship inside the wheel: no checkout needed (issue 19's acceptance)."""
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=False, capture_output=True, text=True, timeout=600,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build the wheel here (no build backend available?): {build.stderr.strip()[-300:]}")
    (wheel,) = dist.glob("eidos-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "eidos/_embedded/rules/base.eidos" in archive.namelist()
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=False, capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "EIDOS_DEBUG"}
    env["PYTHONPATH"] = str(site)
    probe = subprocess.run([sys.executable, "-c", "import eidos; print(eidos.__file__)"],
                           cwd=elsewhere, env=env, check=False, capture_output=True, text=True, timeout=60)
    assert probe.stdout.startswith(str(site)), probe.stdout + probe.stderr
    run = subprocess.run([sys.executable, "-m", "eidos", "rules", "list", "overlays", "-o", "json"],
                         cwd=elsewhere, env=env, check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    entries = json.loads(run.stdout)
    assert {"base", "h100-inference"} <= {e["name"] for e in entries}
    assert all(e["location"].startswith("rules/") for e in entries)


def test_shell_completion_knows_rules_and_fmt(tmp_path):
    from tests.test_cli_completion import bash_complete, script

    path = tmp_path / "eidos.bash"
    path.write_text(script("bash"))
    assert bash_complete(path, "eidos", "rules", "") == ["list", "show"]
    assert bash_complete(path, "eidos", "rules", "list", "-o", "") == ["table", "json"]
    assert bash_complete(path, "eidos", "fmt", "--ch") == ["--check"]
