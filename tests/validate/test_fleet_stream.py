"""The fleet path: a process pool, results in source order, reports streamed byte-identically."""

from __future__ import annotations

import json
import shutil

import pytest

from eidos.validate.fleet import expand_sources, run_nodes, validate
from eidos.validate.reports import render
from eidos.validate.reports.stream import write_fleet
from tests.conftest import FIXTURES

H100 = FIXTURES / "snapshots" / "cns-eks-h100.yaml"
GB200 = FIXTURES / "snapshots" / "cns-eks-gb200.yaml"


def _small(i: int) -> str:
    return (
        "kind: Snapshot\napiVersion: eidos.dev/v1alpha1\n"
        f"metadata: {{source-node: node-{i:04d}}}\n"
        "measurements:\n  - type: K8s\n    subtypes:\n      - subtype: server\n"
        f"        data: {{version: v1.{28 + i % 6}.2}}\n"
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """70 small nodes (enough for two workers), two real ones, two broken files."""
    d = tmp_path_factory.mktemp("fleet")
    for i in range(70):
        (d / f"n{i:04d}.yaml").write_text(_small(i))
    shutil.copy(H100, d / "r-h100.yaml")
    shutil.copy(GB200, d / "r-gb200.json")  # YAML text under .json: read by content
    (d / "b-syntax.yaml").write_text("measurements: [\n")
    (d / "b-json.json").write_text('{"measurements": [}')
    return expand_sources([str(d)])


def _report(graph, sources, jobs):
    return validate(graph, sources, flag_facts={"intent": graph.facts["intent"].coerce("training")},
                    on_error=lambda s, e: None, jobs=jobs)


def test_pool_gives_the_same_results_in_source_order(embedded_graph, fleet):
    one = _report(embedded_graph, fleet, 1)
    two = _report(embedded_graph, fleet, 2)
    assert [n.snapshot for n in two.nodes] == [n.snapshot for n in one.nodes]
    assert two == one
    assert len(one.nodes) == 72 and len(one.unreadable) == 2
    # the unreadable files keep their message and class (hint and exit code cross processes)
    errors = {o.source: o.error for o in run_nodes(embedded_graph, fleet, flag_facts={"service": "eks"}, jobs=2)
              if o.error is not None}
    assert {type(e).__name__ for e in errors.values()} == {"InputError"}
    assert all(e.exit_code == 2 and "invalid" in e.message for e in errors.values())


STREAMED_DOCS = ["json", "yaml", "junit", "ctrf", "sarif"]
_EXPECTED: dict = {}  # format -> the in-memory rendering of the module's fleet


# YAML on one process only through the small fleets below: ruamel's emitter takes ~0.2 s a node
@pytest.mark.parametrize(("jobs", "fmt"), [(jobs, fmt) for jobs in (1, 2) for fmt in STREAMED_DOCS
                                           if (jobs, fmt) != (1, "yaml")])
def test_streamed_report_is_byte_identical_to_the_in_memory_document(embedded_graph, fleet, tmp_path, jobs, fmt):
    facts = {"intent": embedded_graph.facts["intent"].coerce("training")}
    if fmt not in _EXPECTED:
        _EXPECTED[fmt] = render(_report(embedded_graph, fleet, 1), fmt)
    expected = _EXPECTED[fmt]
    out = tmp_path / f"report.{fmt}"
    summary = write_fleet(embedded_graph, fleet, fmt, str(out), flag_facts=facts, on_error=lambda s, e: None,
                          jobs=jobs)
    assert out.read_text(encoding="utf-8") == expected
    assert summary.exit_code == 2 and summary.nodes == 72


@pytest.mark.parametrize("fmt", STREAMED_DOCS)
@pytest.mark.parametrize("options", [{"fail_on": "warning"}, {"allow_errors": True}, {"explain": True}])
def test_streamed_reports_follow_the_run_options(embedded_graph, tmp_path, fmt, options):
    """--fail-on, --allow-errors and --explain change what each piece says: the same as in memory."""
    d = tmp_path / "f"
    d.mkdir()
    shutil.copy(H100, d / "a.yaml")
    shutil.copy(GB200, d / "b.yaml")
    (d / "c.yaml").write_text(_small(3))
    sources = expand_sources([str(d)])
    facts = {"intent": embedded_graph.facts["intent"].coerce("training")}
    expected = render(validate(embedded_graph, sources, flag_facts=facts, **options), fmt)
    out = tmp_path / "r"
    write_fleet(embedded_graph, sources, fmt, str(out), flag_facts=facts, jobs=1, **options)
    assert out.read_text(encoding="utf-8") == expected


@pytest.mark.parametrize("fmt", STREAMED_DOCS)
@pytest.mark.parametrize("readable", [0, 1])
def test_streamed_reports_with_few_readable_nodes(embedded_graph, tmp_path, fmt, readable):
    """No node at all (empty lists), or one node of several sources (ctrf names its tests as
    a single node's): still the in-memory bytes."""
    (tmp_path / "bad.yaml").write_text("measurements: [\n")
    if readable:
        shutil.copy(H100, tmp_path / "good.yaml")
    sources = expand_sources([str(tmp_path)])
    facts = {"service": "eks"}
    expected = render(validate(embedded_graph, sources, flag_facts=facts, on_error=lambda s, e: None), fmt)
    out = tmp_path / "r.out"
    write_fleet(embedded_graph, sources, fmt, str(out), flag_facts=facts, on_error=lambda s, e: None)
    assert out.read_text() == expected


def test_streamed_json_with_no_readable_node(embedded_graph, tmp_path):
    (tmp_path / "bad.yaml").write_text("measurements: [\n")
    sources = expand_sources([str(tmp_path)])
    expected = render(validate(embedded_graph, sources, flag_facts={"service": "eks"}, on_error=lambda s, e: None),
                      "json")
    out = tmp_path / "r.json"
    write_fleet(embedded_graph, sources, "json", str(out), flag_facts={"service": "eks"}, on_error=lambda s, e: None)
    assert out.read_text() == expected and json.loads(expected)["nodes"] == []


def test_fleet_table_groups_failing_nodes_by_the_value_found(embedded_graph, tmp_path, capsys):
    from eidos.cli.main import main

    # the GB200 fixture's host (kubelet os-image) is Ubuntu 22.04.5: the recipe wants 24.04
    for i in range(5):
        text = GB200.read_text().replace("ip-10-0-160-248.ec2.internal", f"gb-{i}")
        if i == 2:  # a third node on 20.04: one failing check, two groups of values
            text = text.replace("os-image: Ubuntu 22.04.5 LTS", "os-image: Ubuntu 20.04.6 LTS")
        if i > 2:
            text = text.replace("os-image: Ubuntu 22.04.5 LTS", "os-image: Ubuntu 24.04.3 LTS")
        (tmp_path / f"n{i}.yaml").write_text(text)
    code = main(["validate", "-s", str(tmp_path), "--intent", "training", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("Summary: 2/5 node(s) pass")
    assert "Nodes: 2 passing, 3 failing, 0 erroring" in out
    assert "requirement:os-version: 3 node(s): gb-0, gb-1, gb-2" in out
    assert "    2 found OS.host.VERSION_ID = 22.04: gb-0, gb-1" in out
    assert "    1 found OS.host.VERSION_ID = 20.04: gb-2" in out
    assert "Node gb-0" not in out  # per-node detail only on demand
    code = main(["validate", "-s", str(tmp_path), "--intent", "training", "--color", "never", "--verbose"])
    verbose = capsys.readouterr().out
    assert verbose.startswith(out.split("(each node")[0])
    assert verbose.index("Result: FAIL") < verbose.index("Node gb-0") < verbose.index("Node gb-4")


def test_single_snapshot_table_is_unchanged(embedded_graph, capsys):
    from eidos.cli.main import main

    main(["validate", "-s", str(H100), "--intent", "training", "--color", "never"])
    out = capsys.readouterr().out
    facts = {"intent": embedded_graph.facts["intent"].coerce("training")}
    assert out == render(validate(embedded_graph, [str(H100)], flag_facts=facts), "table")


def test_html_escapes_every_user_string(embedded_graph, tmp_path):
    evil = '<img src=x onerror="alert(1)">&'
    text = H100.read_text().replace("ip-10-0-158-18.ec2.internal", "'" + evil.replace("'", "''") + "'")
    text = text.replace('VERSION_ID: "24.04"', 'VERSION_ID: "</td><script>alert(2)</script>"')
    (tmp_path / "evil.yaml").write_text(text)
    shutil.copy(GB200, tmp_path / "b.yaml")
    out = tmp_path / "r.html"
    write_fleet(embedded_graph, expand_sources([str(tmp_path)]), "html", str(out),
                flag_facts={"intent": embedded_graph.facts["intent"].coerce("training")})
    page = out.read_text()
    assert "<img" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in page
    assert page.count("<script>") == 1  # the page's own, inline
    assert "default-src 'none'" in page and "http://" not in page and "https://" not in page


def test_jobs_must_be_positive(capsys):
    from eidos.cli.main import main

    assert main(["validate", "-s", str(H100), "--service", "eks", "--jobs", "0"]) == 2
    assert "--jobs 0" in capsys.readouterr().err


# ---- the indented JSON writer the streamed report uses -------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eidos.validate.reports import jsontext  # noqa: E402
from tests.fuzz.fuzzkit import fuzz_settings  # noqa: E402

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), inner, max_size=4),
    max_leaves=30,
)


@fuzz_settings(2)
@given(value=_json_values)
def test_jsontext_is_json_dumps_indent_2(value):
    expected = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    assert jsontext.dumps(value) == expected
    # nested two levels deep, as a node entry of the report
    wrapped = json.dumps({"nodes": [value]}, indent=2, ensure_ascii=False, allow_nan=False)
    assert "    " + jsontext.dumps(value, level=2) in wrapped


def test_jsontext_refuses_what_json_refuses():
    for bad in (float("nan"), [float("inf")], {"a": object()}):
        with pytest.raises((ValueError, TypeError)):
            jsontext.dumps(bad)


def test_streamed_report_destinations(embedded_graph, tmp_path):
    from eidos.errors import UsageError

    sources = [str(H100)]
    facts = {"service": "eks"}
    out = tmp_path / "sub" / "r.json"  # a new directory too
    write_fleet(embedded_graph, sources, "json", str(out), flag_facts=facts)
    first = out.read_text()
    assert json.loads(first)["summary"]["nodes"] == 1
    out.chmod(0o600)
    write_fleet(embedded_graph, sources, "json", str(out), flag_facts=facts)  # replaced, mode kept
    assert out.read_text() == first and (out.stat().st_mode & 0o777) == 0o600
    assert not [p for p in out.parent.iterdir() if p.name != "r.json"]  # no temporary left behind
    link = tmp_path / "link.json"
    link.symlink_to(out)
    with pytest.raises(UsageError, match="symbolic link"):
        write_fleet(embedded_graph, sources, "json", str(link), flag_facts=facts)
    write_fleet(embedded_graph, sources, "json", "/dev/null", flag_facts=facts)
