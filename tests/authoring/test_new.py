"""``eidos new overlay|check``: from flags, from stdin answers, and every refusal."""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import compile_dir, run_eidos


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(result, *needles):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    return result.stderr


def lint_strict(directory):
    result = run_eidos("lint", "--strict", str(directory))
    assert result.returncode == 0, result.stdout + result.stderr


OVERLAY = ["new", "overlay", "--name", "big-gb200", "--extends", "gb200-eks-ubuntu-training",
           "--when", "nodes=16", "--component", "gpu-operator@v25.10.1", "--component", "volcano",
           "--require", "k8s-version:K8s.server.version >= 1.33",
           "--require", "peermem:exists OS.kmod.nvidia_peermem",
           "--severity", "error", "--severity", "warning",
           "--remedy", "Upgrade the control plane to 1.33.", "--remedy", "Enable GPUDirect RDMA.",
           "--doc", 'Large "GB200" clusters\\ (16+ nodes).']


def test_overlay_from_flags_is_lint_clean_and_resolves(tmp_path, monkeypatch):
    out = tmp_path / "rules" / "big.eidos"
    out.parent.mkdir()
    result = run_eidos(*OVERLAY, "--out", str(out))
    assert result.returncode == 2  # volcano is not in the catalog: nothing written
    assert "unknown component 'volcano'" in result.stderr and not out.exists()
    args = [a if a != "volcano" else "nvsentinel" for a in OVERLAY]
    ok(run_eidos(*args, "--out", str(out)))
    text = out.read_text()
    assert text.startswith("overlay big-gb200 extends gb200-eks-ubuntu-training {\n")
    assert '  doc "Large \\"GB200\\" clusters\\\\ (16+ nodes)."\n' in text
    # k8s-version is an ancestor's name: replaced; peermem is new: required
    assert "  replace k8s-version: K8s.server.version >= 1.33\n" in text
    assert "  require peermem: exists OS.kmod.nvidia_peermem\n    severity warning\n" in text
    lint_strict(out.parent)
    doc = json.loads(ok(run_eidos("recipe", "--rules", str(out.parent), "--service", "eks", "--accelerator",
                                  "gb200", "--os", "ubuntu", "--intent", "training", "--nodes", "16",
                                  "-o", "json")))
    assert doc["overlays"][-1] == "big-gb200"
    gpu = next(c for c in doc["components"] if c["name"] == "gpu-operator")
    assert gpu["version"] == "v25.10.1"
    reqs = {r["name"]: r for r in doc["requirements"]}
    assert reqs["peermem"]["severity"] == "warning" and reqs["peermem"]["remedy"] == "Enable GPUDirect RDMA."
    assert reqs["k8s-version"]["overlay"] == "big-gb200"
    # round trip: the compiled overlay carries exactly what the flags said
    graph, diags = compile_dir(out.parent, embedded=True)
    assert not [d for d in diags if "big.eidos" in str(d.span.file)]
    spec = graph.overlays["big-gb200"]
    assert spec.parent == "gb200-eks-ubuntu-training"
    assert spec.doc == 'Large "GB200" clusters\\ (16+ nodes).'
    assert [(c.name, c.version) for c in spec.components] == [("gpu-operator", "v25.10.1"), ("nvsentinel", None)]
    assert [(r.name, r.replace, r.severity) for r in spec.requirements] == [
        ("k8s-version", True, "error"), ("peermem", False, "warning")]


def test_check_from_flags(tmp_path):
    out = tmp_path / "r" / "drv.eidos"
    out.parent.mkdir()
    ok(run_eidos("new", "check", "--name", "h100-driver", "--when", "accelerator=H100", "--when", "os=ubuntu",
                 "--category", "gpu", "--require", "driver:GPU.smi.driver >= 570",
                 "--remedy", "Set gpu-operator driver.version to a 570+ driver.", "--out", str(out)))
    text = out.read_text()
    assert "check h100-driver {\n" in text
    assert "  when accelerator == h100 and os == ubuntu\n" in text  # the value as the schema spells it
    assert '  category "gpu"\n' in text
    lint_strict(out.parent)
    graph, _ = compile_dir(out.parent, embedded=True)
    check = graph.checks["h100-driver"]
    assert check.category == "gpu" and check.requirements[0].text == "GPU.smi.driver >= 570"


def test_stdout_by_default_and_when_always():
    text = ok(run_eidos("new", "check", "--name", "any", "--when", "always", "--require", "k:exists K8s.server.version"))
    assert text == "check any {\n  when always\n  require k: exists K8s.server.version\n}\n"


@pytest.mark.parametrize("args, needles", [
    (["check", "--name", "c", "--when", "acelerator=h100", "--require", "d:GPU.smi.driver >= 570"],
     ["unknown fact 'acelerator'", "did you mean 'accelerator'?"]),
    (["check", "--name", "c", "--when", "accelerator=h10", "--require", "d:GPU.smi.driver >= 570"],
     ["'h10' is not a known accelerator", "did you mean 'h100'?"]),
    (["overlay", "--name", "o", "--when", "service=eks", "--component", "gpu-operater"],
     ["unknown component 'gpu-operater'", "did you mean 'gpu-operator'?"]),
    (["overlay", "--name", "o", "--when", "service=eks", "--component", "gpu-operator@1.0$(x)"],
     ["is not a valid version"]),
    (["overlay", "--name", "o", "--when", "service=eks", "--extends", "ekss"],
     ["--extends ekss: unknown overlay", "did you mean 'eks'?"]),
    (["check", "--name", "c", "--when", "always", "--require", "d:GPU.smi.driver >= 570", "--severity", "warn"],
     ["expected one of error, warning, info", "did you mean 'warning'?"]),
    (["check", "--name", "c", "--when", "always", "--require", "d:service == eks"],
     ["'service' is a fact"]),
    (["check", "--name", "c", "--when", "always", "--require", "d:GPU.smi.driver >="], ["--require d:"]),
    (["check", "--name", "c", "--when", "always", "--require", "no-colon"], ["expected NAME:EXPR"]),
    (["check", "--name", "c", "--when", "nodes=-1", "--require", "d:exists GPU.smi.driver"], ["nodes"]),
    (["check", "--name", "c", "--when", "always"], ["a check needs at least one --require"]),
    (["check", "--name", "c", "--extends", "eks", "--require", "d:exists GPU.smi.driver"], ["no --extends"]),
    (["overlay", "--name", "o"], ["needs a condition"]),
    (["overlay", "--name", "o", "--extends", "eks"], ["needs a --when of its own"]),
    (["overlay", "--name", "o", "--extends", "eks", "--when", "service=eks"], ["W501"]),
    (["overlay", "--name", "eks", "--when", "always"], ["an overlay of that name already exists"]),
    (["overlay", "--name", "bad name", "--when", "always"], ["not a valid overlay name"]),
    (["overlay", "--name", "o", "--when", "service=eks", "--when", "service=gke"], ["names a fact twice"]),
    (["check", "--name", "c", "--when", "always", "--require", "a:exists GPU.smi.driver",
      "--require", "b:exists GPU.smi.driver", "--remedy", "x", "--remedy", "y", "--remedy", "z"],
     ["--remedy given 3 times for 2 --require"]),
    (["overlay", "--when", "service=eks"], ["--when without --name"]),
    (["overlay", "--name", "o", "--when", "service=eks", "--require", "k8s-version:K8s.server.version >= 1.0",
      "--extends", "eks"], ["W502"]),
])
def test_bad_values_exit_2_with_a_clear_message(args, needles, tmp_path):
    out = tmp_path / "x.eidos"
    refused(run_eidos("new", *args, "--out", str(out)), *needles)
    assert not out.exists()


def test_refuses_to_overwrite_unless_forced(tmp_path):
    out = tmp_path / "c.eidos"
    out.write_text("# mine\n")
    args = ["new", "check", "--name", "c", "--when", "always", "--require", "k:exists K8s.server.version",
            "--out", str(out)]
    refused(run_eidos(*args), "exists: refusing to overwrite", "--force")
    assert out.read_text() == "# mine\n"
    ok(run_eidos(*args, "--force"))
    assert out.read_text().startswith("check c {")


def test_interactive_overlay_from_stdin(tmp_path):
    out = tmp_path / "r" / "o.eidos"
    out.parent.mkdir()
    answers = "\n".join([
        "my-h100",          # name
        "eks",              # extends
        "H100 on EKS, pinned.",  # doc
        "acelerator",       # refused: unknown fact, asked again
        "accelerator", "h1000", "h100",  # value refused once, then accepted
        "os", "1",          # by number: the first os value in the schema
        "",                 # done with when
        "gpu-operator", "v25.10.1",
        "certmanager", "",  # an alias; catalog version
        "",                 # done with components
        "kernel", 'OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8', "warning", "Use a 6.8 kernel.",
        "",                 # done with requirements
    ]) + "\n"
    result = run_eidos("new", "overlay", "--out", str(out), stdin=answers)
    ok(result)
    assert "unknown fact 'acelerator'" in result.stderr and "did you mean 'h100'?" in result.stderr
    text = out.read_text()
    graph, _ = compile_dir(out.parent, embedded=True)
    first_os = graph.facts["os"].values[0]
    assert f"  when accelerator == h100 and os == {first_os}\n" in text
    assert "overlay my-h100 extends eks {" in text
    assert '  component gpu-operator {\n    version "v25.10.1"\n  }\n  component cert-manager\n' in text
    assert '  require kernel: OS.sysctl["/proc/sys/kernel/osrelease"] >= 6.8\n    severity warning\n' in text
    lint_strict(out.parent)


def test_interactive_check_requires_a_requirement_and_ends_cleanly_on_eof():
    result = run_eidos("new", "check", stdin="c1\n\nalways\n\n\nok\nexists GPU.smi.driver\n\n\n\n")
    assert ok(result) == "check c1 {\n  when always\n  require ok: exists GPU.smi.driver\n}\n"
    assert "a check needs at least one requirement" in result.stderr
    refused(run_eidos("new", "check", stdin="c1\n"), "input ended before an answer")


def test_prompter_reasks_and_maps_numbers():
    from eidos.authoring.prompt import Prompter
    from eidos.errors import UsageError

    answers = iter(["9", "2", "", "bad", "y"])
    said = io.StringIO()
    ask = Prompter(read=lambda: next(answers), out=said)

    def check(a):
        if a not in ("a", "b"):
            raise UsageError(f"no {a}")

    assert ask.ask("pick", choices=["a", "b"], check=check) == "b"
    assert "no 9" in said.getvalue() and "  1) a\n  2) b\n" in said.getvalue()
    assert ask.ask("default", default="d") == "d"
    assert ask.confirm("sure") is True and "answer y or n" in said.getvalue()
    stuck = Prompter(read=lambda: "nope", out=io.StringIO())
    with pytest.raises(UsageError, match="no acceptable answer"):
        stuck.ask("q", check=check)


def test_force_over_a_file_in_a_rules_layer_replaces_it(tmp_path):
    """--force on a file inside a --rules directory: the new text replaces the old one in
    the layered compile (no duplicate-name error against the file it overwrites)."""
    layer = tmp_path / "mine"
    layer.mkdir()
    out = layer / "c.eidos"
    args = ["new", "check", "--rules", str(layer), "--name", "c", "--when", "always",
            "--require", "k:exists K8s.server.version", "--out", str(out)]
    ok(run_eidos(*args))
    # the name now exists in the layer: a second file with it is refused ...
    refused(run_eidos(*args[:-1], str(layer / "d.eidos")), "a check of that name already exists")
    # ... but rewriting the same file with --force is not a duplicate
    ok(run_eidos(*args, "--force", "--doc", "regenerated"))
    assert out.read_text().startswith('check c {\n  doc "regenerated"')
    args[args.index("c")] = "c2"
    ok(run_eidos(*args, "--force"))
    assert out.read_text().startswith("check c2 {")
    lint_strict(layer)
