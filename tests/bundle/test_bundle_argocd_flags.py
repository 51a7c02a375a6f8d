"""``-d argocd`` placement flags: --argocd-namespace, --project, --destination-server|-name,
--name-prefix. Each one reaches exactly the fields it names, bad values exit 2 with the flag
in the message, other deployers refuse them, and defaults leave the goldens alone."""

from __future__ import annotations

import json
import re

import crdkit
import pytest
from bundlekit import render, small_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos.bundle.argosettings import IN_CLUSTER, ArgoCDSettings
from eidos.cli.main import main
from eidos.errors import UsageError
from eidos.io import yamlio

REPO = ("--repo", "https://github.com/acme/gitops.git", "--revision", "main")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def plain_document() -> dict:
    """small_document without its manifest component: no rule base needed to render it."""
    document = small_document()
    document["components"] = [c for c in document["components"] if c["name"] != "extras"]
    document["components"][0]["needs"] = []
    return document


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(plain_document()))
    return path


def run(capsys, *args) -> tuple[int, str]:
    code = main(["bundle", *args])
    return code, capsys.readouterr().err


def objects_on_disk(out) -> dict[str, dict]:
    """apps/*.yaml and app-of-apps.yaml by file name."""
    paths = [out / "app-of-apps.yaml", *sorted((out / "apps").glob("*.yaml"))]
    return {p.relative_to(out).as_posix(): yamlio.load(p.read_text(), str(p)) for p in paths}


def split(objs: dict[str, dict]):
    parent = objs["app-of-apps.yaml"]
    children = [o for p, o in objs.items() if p.startswith("apps/") and o["kind"] == "Application"]
    secrets = [o for o in objs.values() if o["kind"] == "Secret"]
    assert children and secrets
    return parent, children, secrets


def test_defaults_are_todays_output():
    assert ArgoCDSettings().destination() == {"server": IN_CLUSTER}
    default = render("argocd", plain_document())
    explicit = render(
        "argocd",
        plain_document(),
        argocd=ArgoCDSettings(namespace="argocd", project="default", name_prefix=""),
    )
    assert [(p, f.content) for p, f in default.files.items()] == [
        (p, f.content) for p, f in explicit.files.items()
    ]
    assert "argocd" not in json.loads(default.files["bundle.json"].content)["inputs"]


def test_every_flag_reaches_its_fields(tmp_path, recipe, capsys):
    out = tmp_path / "b"
    code, err = run(
        capsys,
        "--recipe", str(recipe), "-d", "argocd", "--out", str(out), *REPO,
        "--argocd-namespace", "gitops-east",
        "--project", "gpu.fleet",
        "--destination-server", "https://10.0.0.1:6443",
        "--name-prefix", "east-",
    )  # fmt: skip
    assert code == 0, err
    objs = objects_on_disk(out)
    parent, children, secrets = split(objs)
    base = split(objects_on_disk_default(tmp_path, recipe, capsys))
    for obj in [parent, *children, *secrets]:
        assert obj["metadata"]["namespace"] == "gitops-east"
        assert obj["metadata"]["name"].startswith("east-")
        if obj["kind"] == "Application":
            crdkit.check(obj)
    for app in [parent, *children]:
        assert app["spec"]["project"] == "gpu.fleet"
    # Components go to the destination, in their own namespaces; the parent stays with Argo CD.
    base_children = {c["metadata"]["name"]: c for c in base[1]}
    for app in children:
        original = base_children[app["metadata"]["name"].removeprefix("east-")]
        assert app["spec"]["destination"] == {
            "server": "https://10.0.0.1:6443",
            "namespace": original["spec"]["destination"]["namespace"],
        }
        # Nothing else changed: the sources are the same.
        assert app["spec"].get("sources") == original["spec"].get("sources")
    assert parent["spec"]["destination"] == {"server": IN_CLUSTER, "namespace": "gitops-east"}
    # File names do not carry the prefix; the README's wave table shows the real names.
    assert set(objs) == set(objects_on_disk_default(tmp_path, recipe, capsys))
    readme = (out / "README.md").read_text()
    assert "kubectl apply -n gitops-east -f app-of-apps.yaml" in readme
    assert "| east-prometheus | Application |" in readme and "`gpu.fleet`" in readme
    summary = json.loads((out / "bundle.json").read_text())
    assert summary["inputs"]["argocd"] == {
        "namespace": "gitops-east",
        "project": "gpu.fleet",
        "destinationServer": "https://10.0.0.1:6443",
        "namePrefix": "east-",
    }


def objects_on_disk_default(tmp_path, recipe, capsys) -> dict[str, dict]:
    out = tmp_path / "default"
    if not out.exists():
        code, err = run(capsys, "--recipe", str(recipe), "-d", "argocd", "--out", str(out), *REPO)
        assert code == 0, err
    return objects_on_disk(out)


@pytest.mark.parametrize(
    "cluster",
    ["gb200-east", "yes", "on", "1.10", "east: prod", "'quoted' \"both\"", "#not-a-comment"],
)
def test_destination_name_is_yaml_safe(cluster):
    """Whatever the cluster is called, the YAML emitter quotes it: it reads back verbatim."""
    files = render(
        "argocd", plain_document(), argocd=ArgoCDSettings(destination_name=cluster)
    ).files
    for path, file in files.items():
        if not path.startswith("apps/"):
            continue
        obj = yamlio.load(file.content.decode(), path)
        if obj["kind"] == "Application":
            assert obj["spec"]["destination"]["name"] == cluster
            assert "server" not in obj["spec"]["destination"]
            crdkit.check(obj, path)
    parent = yamlio.load(files["app-of-apps.yaml"].content.decode())
    assert parent["spec"]["destination"]["server"] == IN_CLUSTER


def test_two_prefixes_give_disjoint_names():
    east, west = (
        render("argocd", plain_document(), argocd=ArgoCDSettings(name_prefix=p)).files
        for p in ("east-", "west-")
    )

    def names(files, kind):
        out = set()
        for path, file in files.items():
            if path == "app-of-apps.yaml" or path.startswith("apps/"):
                obj = yamlio.load(file.content.decode(), path)
                if obj["kind"] == kind:
                    out.add((obj["metadata"]["namespace"], obj["metadata"]["name"]))
        return out

    for kind in ("Application", "Secret"):
        a, b = names(east, kind), names(west, kind)
        assert a and b and len(a) == len(b)
        assert a.isdisjoint(b), kind
    # Without a prefix the two clusters' bundles would collide: that is what the flag is for.
    plain = names(render("argocd", plain_document()).files, "Application")
    assert plain == names(render("argocd", plain_document()).files, "Application")
    assert {n.removeprefix("east-") for _, n in names(east, "Application")} == {n for _, n in plain}


def test_flags_are_deterministic():
    options = ArgoCDSettings(project="p", destination_name="c", name_prefix="x-", namespace="ns")
    first, second = (render("argocd", plain_document(), argocd=options) for _ in range(2))
    assert [(p, f.content) for p, f in first.files.items()] == [
        (p, f.content) for p, f in second.files.items()
    ]


BAD = [
    (("--destination-server", "https://a:6443", "--destination-name", "x"), "not allowed with"),
    (("--argocd-namespace", "Argo"), "--argocd-namespace 'Argo'"),
    (("--argocd-namespace", "a" * 64), "--argocd-namespace"),
    (("--argocd-namespace", ""), "--argocd-namespace ''"),
    (("--argocd-namespace", "argocd\n"), "--argocd-namespace 'argocd\\n'"),
    (("--project", "my project"), "--project 'my project'"),
    (("--project", ""), "--project ''"),
    (("--destination-server", "kubernetes.default.svc"), "--destination-server"),
    (("--destination-server", ""), "--destination-server: empty value"),
    (("--destination-server", "https://a:6443\n"), "--destination-server"),
    (("--project", "default\n"), "--project"),
    (("--name-prefix", "east-\n"), "--name-prefix"),
    (("--destination-name", ""), "--destination-name: empty value"),
    (("--destination-name", "east\nprod"), "--destination-name"),
    (("--name-prefix", "East-"), "--name-prefix 'East-'"),
    (("--name-prefix=-east",), "--name-prefix '-east'"),
    (("--name-prefix", "east_"), "--name-prefix 'east_'"),
    (("--name-prefix", "a.b-"), "--name-prefix 'a.b-'"),
    (("--name-prefix", "a" * 63), "under 63 characters"),
    # Valid as a prefix, but the longest Application name would pass 63 characters.
    (("--name-prefix", "a" * 50 + "-"), "would be"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_values_exit_2(tmp_path, recipe, capsys, args, message):
    out = tmp_path / "out"
    code, err = run(
        capsys, "--recipe", str(recipe), "-d", "argocd", "--out", str(out), *REPO, *args
    )
    assert code == 2, err
    assert message in err, err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize("deployer", ["helm", "script", "flux"])
@pytest.mark.parametrize(
    "args",
    [
        ("--argocd-namespace", "argocd"),
        ("--project", "default"),
        ("--destination-server", "https://a:6443"),
        ("--destination-name", "east"),
        ("--name-prefix", "east-"),
    ],
)
def test_other_deployers_refuse_argocd_flags(tmp_path, recipe, capsys, deployer, args):
    out = tmp_path / "out"
    gitops = REPO if deployer == "flux" else ()
    code, err = run(
        capsys, "--recipe", str(recipe), "-d", deployer, "--out", str(out), *gitops, *args
    )
    assert code == 2, err
    assert f"{args[0]}: only for -d argocd, not -d {deployer}" in err
    assert not out.exists()


def test_library_refuses_what_the_cli_refuses():
    for kwargs in (
        {"destination_server": "https://a:6443", "destination_name": "x"},
        {"name_prefix": "A"},
        {"namespace": "a_b"},
        {"project": "-x"},
    ):
        with pytest.raises(UsageError) as info:
            ArgoCDSettings(**kwargs)
        assert info.value.exit_code == 2


PREFIXES = st.one_of(
    st.from_regex(r"[a-z0-9][-a-z0-9]{0,60}", fullmatch=True),
    st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=70),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PREFIXES)
def test_any_prefix_is_refused_or_gives_valid_application_names(prefix):
    """A prefix is refused exactly when it cannot start a DNS-1123 label, or when a name it
    makes would pass 63 characters; otherwise every Application name is a valid label."""
    longest = max(len(n) for n in ("prometheus", "sentinel", "app", "eidos-eks-h100"))
    shape_ok = bool(re.fullmatch(r"[a-z0-9][-a-z0-9]*", prefix)) and len(prefix) < 63
    try:
        settings_ = ArgoCDSettings(name_prefix=prefix)
    except UsageError:
        settings_ = None
    assert (settings_ is not None) == shape_ok, prefix
    files, too_long = None, None
    if settings_ is not None:
        try:
            files = render("argocd", plain_document(), argocd=settings_).files
        except UsageError as err:
            too_long = err.message
        fits = len(prefix) + longest <= 63
        assert (files is not None) == fits, prefix
        assert fits or "would be" in too_long
    for path, file in files.items() if files is not None else ():
        if path == "app-of-apps.yaml" or path.startswith("apps/"):
            obj = yamlio.load(file.content.decode(), path)
            name = obj["metadata"]["name"]
            assert name.startswith(prefix)
            if obj["kind"] == "Application":
                assert len(name) <= 63 and DNS_LABEL.match(name), name
                crdkit.check(obj, path)
