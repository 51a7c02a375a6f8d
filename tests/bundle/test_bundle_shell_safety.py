"""No recipe text ever becomes shell or YAML syntax (issue 10: shell injection).

The generated deploy.sh / undeploy.sh are *executed* here, with stub helm/kubectl/git on
PATH that log their argv: a hostile version, tag, URL or path must reach the tool as one
literal argument, be printed literally, and run nothing (no marker file appears). The
recipe loader refuses control characters with a location; the renderers are also checked
on their own, with a newline smuggled past the loader, so either layer alone is safe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import attrs
import pytest
from bundlekit import load_payloads, render
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shellkit import run_script, shellcheck, write

from eidos.bundle import helm as helm_deployer
from eidos.bundle import script as script_deployer
from eidos.bundle import shell
from eidos.bundle.context import Context
from eidos.bundle.model import parse_recipe
from eidos.errors import InputError
from eidos.io import yamlio

ROOT = Path(__file__).resolve().parents[2]


def payloads(marker: Path) -> list[str]:
    """Printable strings that run ``touch <marker>/<n>`` if anything evaluates them."""
    m = str(marker)
    return [
        f"v1$(touch {m}/dollar-paren)",
        f"v1`touch {m}/backtick`",
        f"v1'; touch {m}/single-quote; echo '",
        f'v1"; touch {m}/double-quote; echo "',
        f"v1\\$(touch {m}/backslash)",
        f"v1 && touch {m}/and-list",
        f"v1; touch {m}/semicolon",
        f"v1 | tee {m}/pipe",
        f"v1 > {m}/redirect",
        "$((1+1))*?[a]{b,c}~ ${HOME} %s %n \\n \\c",
    ]


def hostile_document(marker: Path) -> dict:
    """A hand-edited recipe document: every shell-bound field holds an injection attempt."""
    m = str(marker)
    versions = payloads(marker)
    components: list[dict] = [
        {
            "name": f"c{index}",
            "type": "helm",
            "repository": "https://charts.example.com/stable",
            "chart": "demo",
            "version": version,
            "values": {"note": version},
        }
        for index, version in enumerate(versions)
    ]
    components += [
        {
            "name": "oci",
            "type": "helm",
            "repository": f"oci://ghcr.io/acme/$(touch${{IFS}}{m}/oci-repo)",
            "chart": "demo",
            "version": f"v2`touch {m}/oci-version`",
        },
        {
            "name": "repo",
            "type": "helm",
            "repository": f"https://charts.example.com/`touch${{IFS}}{m}/repo-url`",
            "chart": "demo",
            "version": "1.0.0",
        },
        {
            "name": "kust",
            "type": "kustomize",
            "source": f"https://github.com/acme/repo.git$(touch {m}/kust-source)",
            "tag": f"v3$(touch {m}/kust-tag)",
            "path": f"deploy/$(touch {m}/kust-path)",
            "namespace": "kust-ns",
        },
        {
            "name": "extras",
            "type": "manifest",
            "manifests": ["recipes/components/gpu-operator/manifests/kernel-module-params.yaml"],
        },
    ]
    return {
        "apiVersion": "eidos.dev/v1alpha1",
        "kind": "Recipe",
        "criteria": {
            "service": f"eks$(touch {m}/criteria-value)",
            f"x$(touch {m}/criteria-key)": "y",
        },
        "overlays": [f"base$(touch {m}/overlay)"],
        "components": components,
    }


def helm_installs(calls: list[list[str]]) -> dict[str, list[str]]:
    return {c[3]: c for c in calls if c[:3] == ["helm", "upgrade", "--install"]}


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


@pytest.mark.parametrize("deployer", ("script", "helm"))
def test_hostile_recipe_document_runs_nothing_and_passes_values_literally(deployer, tmp_path):
    marker = tmp_path / "pwned"
    marker.mkdir()
    doc = hostile_document(marker)
    bundle_dir = write(render(deployer, doc).files, tmp_path / "bundle")
    deployed, calls = run_script(bundle_dir, "deploy.sh", tmp_path)
    stdout = deployed.stdout.decode()
    assert deployed.returncode == 0, deployed.stderr.decode()
    assert sorted(os.listdir(marker)) == [], "a recipe value was executed by deploy.sh"
    installs = helm_installs(calls)
    for index, version in enumerate(payloads(marker)):
        argv = installs[f"c{index}"]
        assert flag(argv, "--version") == version  # one argument, byte for byte
        assert flag(argv, "--repo") == "https://charts.example.com/stable"
        assert f"==> [{index + 1}/14] c{index} {version} -> namespace c{index}\n" in stdout
    assert installs["oci"][4] == doc["components"][-4]["repository"] + "/demo"
    assert flag(installs["oci"], "--version") == doc["components"][-4]["version"]
    assert flag(installs["repo"], "--repo") == doc["components"][-3]["repository"]
    kust = doc["components"][-2]
    url = f"{kust['source']}//{kust['path']}?ref={kust['tag']}"
    assert ["kubectl", "apply", "--namespace", "kust-ns", "-k", url] in calls
    assert f"kust {kust['tag']} (kustomize) -> namespace kust-ns\n" in stdout
    undeployed, calls = run_script(bundle_dir, "undeploy.sh", tmp_path)
    assert undeployed.returncode == 0, undeployed.stderr.decode()
    assert sorted(os.listdir(marker)) == [], "a recipe value was executed by undeploy.sh"
    assert ["kubectl", "delete", "--namespace", "kust-ns", "--ignore-not-found", "-k", url] in calls
    uninstalled = [c[2] for c in calls if c[:2] == ["helm", "uninstall"]]
    # reverse deployment order (ties by name: c0..c9, extras, kust, oci, repo); kust is kubectl's
    assert uninstalled == ["repo", "oci", "extras", *(f"c{i}" for i in range(9, -1, -1))]


@pytest.mark.parametrize("deployer", ("script", "helm"))
def test_hostile_scripts_pass_shellcheck(deployer, tmp_path):
    bundle_dir = write(render(deployer, hostile_document(tmp_path)).files, tmp_path / "bundle")
    for name in ("deploy.sh", "undeploy.sh"):
        shellcheck(bundle_dir / name)  # skips visibly when shellcheck is missing


def test_hand_edited_recipe_through_the_cli(tmp_path):
    """Acceptance: `eidos bundle --recipe doc.yaml` on a hostile document, then run deploy.sh."""
    marker = tmp_path / "pwned"
    marker.mkdir()
    doc = hostile_document(marker)
    doc["components"] = [c for c in doc["components"] if c["type"] != "manifest"]
    recipe = tmp_path / "doc.yaml"
    recipe.write_text(yamlio.dump(doc), encoding="utf-8")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "EIDOS_DEBUG"}
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "eidos",
            "bundle",
            "--recipe",
            str(recipe),
            "-d",
            "script",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert sorted(os.listdir(marker)) == []
    result, calls = run_script(out, "deploy.sh", tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert sorted(os.listdir(marker)) == []
    assert flag(helm_installs(calls)["c0"], "--version") == f"v1$(touch {marker}/dollar-paren)"
    assert f"c1 v1`touch {marker}/backtick` -> namespace c1" in result.stdout.decode()
    summary = json.loads((out / "bundle.json").read_text())
    assert summary["components"][0]["version"] == f"v1$(touch {marker}/dollar-paren)"


def test_renderers_are_safe_without_the_loader(tmp_path):
    """A newline (or CR, ESC, NUL-free control) smuggled past parse_recipe still runs nothing."""
    marker = tmp_path / "pwned"
    marker.mkdir()
    m = str(marker)
    recipe = parse_recipe(hostile_document(marker))
    evil = {
        "c0": f"v1\ntouch {m}/newline\n",
        "c1": f"v1\rtouch {m}/cr",
        "c2": f"v1\u2028touch {m}/line-separator\x1b[2J",
    }
    components = [
        attrs.evolve(c, version=evil[c.name]) if c.name in evil else c for c in recipe.components
    ]
    criteria = {f"k\ntouch {m}/criteria-key\n": f"v\ntouch {m}/criteria-value\r\n"}
    recipe = attrs.evolve(recipe.with_components(components), criteria=criteria)
    ctx = Context(recipe=recipe, payloads=load_payloads())
    for deployer in (script_deployer, helm_deployer):
        bundle_dir = write(deployer.render(ctx), tmp_path / deployer.__name__.rsplit(".", 1)[-1])
        text = (bundle_dir / "deploy.sh").read_text()
        head = text.split("set -euo pipefail", 1)[0].splitlines()
        assert head[0] == "#!/usr/bin/env bash" and all(line.startswith("# ") for line in head[1:])
        assert "k\\ntouch" in head[2] and "\\r\\n" in head[2]
        for script in ("deploy.sh", "undeploy.sh"):
            result, calls = run_script(bundle_dir, script, tmp_path)
            assert result.returncode == 0, result.stderr.decode()
            assert sorted(os.listdir(marker)) == [], f"{deployer.__name__} {script} ran recipe text"
        result, calls = run_script(bundle_dir, "deploy.sh", tmp_path)
        installs = helm_installs(calls)
        for name, version in evil.items():
            assert flag(installs[name], "--version") == version
            assert f"{name} {version} -> namespace {name}" in result.stdout.decode()
        # values files carry the version in their header comment: it stays comment lines
        lines = (bundle_dir / "components/c0/values.yaml").read_text().split("\n")
        assert lines[0] == "# Values for release c0 (chart demo v1"
        assert lines[1] == f"# touch {m}/newline" and lines[2].startswith("# ), generated")
        assert yamlio.load((bundle_dir / "components/c0/values.yaml").read_text()) == {
            "note": payloads(marker)[0]
        }


@pytest.mark.parametrize(
    ("mutate", "where", "code"),
    [
        (
            lambda d: d["components"][2].update(version="81.2.2\ntouch x"),
            "components[2] (prometheus).version",
            "U+000A",
        ),
        (
            lambda d: d["components"][2].update(version="81.2.2\r"),
            "components[2] (prometheus).version",
            "U+000D",
        ),
        (
            lambda d: d["components"][3].update(version="v0.6.0\x1b[31m"),
            "components[3] (sentinel).version",
            "U+001B",
        ),
        (
            lambda d: d["components"][3].update(version="v0\u202e1"),
            "components[3] (sentinel).version",
            "U+202E",
        ),
        (lambda d: d["components"][0].update(tag="v1\u2028"), "components[0] (app).tag", "U+2028"),
        (
            lambda d: d["components"][0].update(source="https://x/\x00"),
            "components[0] (app).source",
            "U+0000",
        ),
        (
            lambda d: d["components"][0].update(path="deploy\tprod"),
            "components[0] (app).path",
            "U+0009",
        ),
        (
            lambda d: d["components"][2].update(repository="https://x/\x85y"),
            "components[2] (prometheus).repository",
            "U+0085",
        ),
        (lambda d: d["components"][2].update(name="prom\n"), "components[2].name", "U+000A"),
        (
            lambda d: d["components"][2].update(namespace="mon\x7f"),
            "components[2] (prometheus).namespace",
            "U+007F",
        ),
        (
            lambda d: d["components"][3].update(aliases=["ok", "bad\n"]),
            "components[3] (sentinel).aliases[1]",
            "U+000A",
        ),
        (
            lambda d: d["components"][0].update(needs=["extras\n"]),
            "components[0] (app).needs[0]",
            "U+000A",
        ),
        (lambda d: d["criteria"].update({"service": "eks\ntouch x"}), "criteria.service", "U+000A"),
        (lambda d: d["criteria"].update({"evil\nkey": "x"}), "criteria", "U+000A"),
        (lambda d: d.update(overlays=["base\x1b"]), "overlays[0]", "U+001B"),
    ],
)
def test_loader_refuses_control_characters_with_location(mutate, where, code):
    from bundlekit import small_document

    doc = small_document()
    mutate(doc)
    with pytest.raises(InputError) as err:
        parse_recipe(doc, "doc.yaml")
    assert err.value.message.startswith(f"doc.yaml: {where}: contains the control character {code}")
    assert err.value.exit_code == 2


def test_loader_control_character_through_the_cli(tmp_path):
    from bundlekit import small_document

    doc = small_document()
    doc["components"][2]["version"] = "81.2.2\ntouch pwned"
    recipe = tmp_path / "doc.yaml"
    recipe.write_text(yamlio.dump(doc), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "eidos",
            "bundle",
            "--recipe",
            str(recipe),
            "-o",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert (
        "components[2] (prometheus).version: contains the control character U+000A" in result.stderr
    )
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()


YAML_HOSTILE = [
    "*anchor",
    "&anchor v1",
    "!!python/object/apply:os.system ['touch x']",
    "- item",
    "key: value",
    "v1 # comment",
    "'single'",
    '"double"',
    "{a: b}",
    "[a, b]",
    "%TAG",
    "@at",
    "`tick`",
    "| block",
    "> folded",
    "yes",
    "1e3",
    "~",
    "null",
    "---",
    "...",
    "v1\\n",
]


def _yaml(files, path: str):
    return yamlio.load_all(files[path].content.decode(), path)


@pytest.mark.parametrize("deployer", ("helm", "argocd", "flux"))
def test_yaml_writers_keep_hostile_strings_as_strings(deployer):
    """Generated YAML reads back with the exact strings: a real emitter, never a template."""
    from bundlekit import small_document

    doc = small_document()
    comps = {c["name"]: c for c in doc["components"]}
    if deployer == "flux":  # flux refuses the cross-kind need of the kustomize component
        doc["components"] = [c for c in doc["components"] if c["type"] == "helm"]
    for index, text in enumerate(YAML_HOSTILE):
        comps["prometheus"]["version"] = text
        comps["sentinel"]["version"] = text
        comps["app"]["tag"] = text
        values = {"v": text, text: index}
        comps["prometheus"]["values"] = values
        files = render(deployer, doc).files
        for path, file in files.items():  # every YAML file of the bundle still parses
            if path.endswith(".yaml") and "templates/" not in path:
                yamlio.load_all(file.content.decode(), path)
        assert _yaml(files, "recipe.yaml") == [doc]
        if deployer == "helm":
            (chart,) = _yaml(files, "Chart.yaml")
            versions = {d["name"]: d["version"] for d in chart["dependencies"]}
            assert versions == {"kube-prometheus-stack": text, "nvsentinel": text}
            assert _yaml(files, "values.yaml")[0]["prometheus"] == values
        if deployer in ("helm", "argocd"):
            assert _yaml(files, "components/prometheus/values.yaml") == [values]
        if deployer == "argocd":
            for name in ("prometheus", "sentinel", "app"):
                (app,) = _yaml(files, f"apps/{name}.yaml")
                assert app["spec"]["sources"][0]["targetRevision"] == text, name
        if deployer == "flux":
            (release,) = _yaml(files, "flux/prometheus.yaml")
            assert release["spec"]["chart"]["spec"]["version"] == text
            assert release["spec"]["values"] == values
            oci = [o for o in _yaml(files, "flux/sources.yaml") if o["kind"] == "OCIRepository"]
            assert [o["spec"]["ref"] for o in oci] == [{"tag": text}]


def test_shell_module():
    assert shell.quote("v1$(x)") == "'v1$(x)'"
    assert shell.quote("it's") == "'it'\"'\"'s'"
    assert shell.say("a 'b' $c") == "printf '%s\\n' 'a '\"'\"'b'\"'\"' $c'"
    assert shell.comment("a\nb\rc\x1b\u2028\u202e é") == "# a\\nb\\rc\\x1b\\u2028\\u202e é\n"
    assert shell.printable("tab\there\x00") == "tab\\there\\x00"
    assert shell.comment("   ") == "#\n"


# Mostly printable text built from shell syntax (which must pass literally), sometimes any
# text at all (control characters in it are refused by the loader).
_TOKENS = ["$(", ")", "`", "'", '"', "\\", ";", "|", "&&", ">", "<", "*", "?", "[a]", "{b,c}"]
_TOKENS += ["~", "#", "!", "%s", "${IFS}", "$HOME", "$1", "\\n", " ", "-", "--x", "=", "touch x"]
_PRINTABLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))
_SHELLISH = st.lists(
    st.one_of(st.sampled_from(_TOKENS), st.text(_PRINTABLE, min_size=1, max_size=3)),
    min_size=1,
    max_size=10,
).map("".join)
_ANY_TEXT = st.one_of(_SHELLISH, _SHELLISH, _SHELLISH, st.text(min_size=1, max_size=20))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=_ANY_TEXT, tag=_ANY_TEXT)
def test_any_text_is_refused_or_passed_literally(version, tag):
    """Fuzz: any version/tag either fails to load (exit 2, a control character) or reaches
    helm/kubectl as exactly one argument, byte for byte, and is printed literally."""
    from bundlekit import small_document

    doc = small_document()
    comps = {c["name"]: c for c in doc["components"]}
    comps["prometheus"]["version"] = version
    comps["app"]["tag"] = tag
    blank = not version.strip() or not tag.strip()
    control = any(ch != " " and not ch.isprintable() for ch in version + tag)
    if blank or control:
        with pytest.raises(InputError) as err:
            parse_recipe(doc, "fuzz.yaml")
        message = err.value.message
        assert err.value.exit_code == 2
        assert "control character" in message or (blank and "must not be empty" in message)
    else:
        run_and_compare(doc, version, tag)


def run_and_compare(doc: dict, version: str, tag: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = render("script", doc).files
        bundle_dir = write(files, work / "bundle")
        result, calls = run_script(bundle_dir, "deploy.sh", work)
        assert result.returncode == 0, result.stderr.decode()
        assert flag(helm_installs(calls)["prometheus"], "--version") == version
        url = f"https://github.com/org/repo.git//deploy/overlays/prod?ref={tag}"
        assert ["kubectl", "apply", "--namespace", "x", "-k", url] in calls
        out = result.stdout.decode()
        assert f"prometheus {version} -> namespace prometheus\n" in out
        assert f"app {tag} (kustomize) -> namespace x\n" in out
        # nothing was created: no redirect, no command ran in the bundle or work directory
        assert sorted(p.name for p in work.iterdir()) == ["bundle", "deploy.sh.argv", "stub-bin"]
        written = sorted(p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*"))
        assert [p for p in written if (bundle_dir / p).is_file()] == files.paths()
