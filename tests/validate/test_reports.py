"""Report formats: JUnit parsed with xml.etree, CTRF and SARIF validated against their schemas."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from eidos.io import yamlio
from eidos.snapshot.io import load_snapshot
from eidos.validate.fleet import Validator
from eidos.validate.reports import render
from eidos.validate.verdicts import Report
from tests.conftest import FIXTURES

SCHEMAS = FIXTURES / "validate"
FACTS = {"service": "eks", "accelerator": "gb200", "os": "ubuntu", "intent": "training"}


@pytest.fixture(scope="module")
def report(embedded_graph):
    v = Validator(embedded_graph, flag_facts=FACTS)
    nodes = tuple(v.node(load_snapshot(str(FIXTURES / "snapshots" / n)), f"tests/fixtures/snapshots/{n}")
                  for n in ("cns-eks-gb200.yaml", "aicr-mock-training.yaml"))
    return Report(nodes)


def _validator(name):
    schema = json.loads((SCHEMAS / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_junit_is_xml_ci_systems_read(report):
    root = ET.fromstring(render(report, "junit"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["ip-10-0-160-248.ec2.internal", "aicr-mock-training"]
    gb200 = suites[0]
    assert gb200.get("timestamp") == "2026-01-02T18:02:49"
    cases = {c.get("name"): c for c in gb200.findall("testcase")}
    failure = cases["gb200-host-os/host-os"].find("failure")
    assert failure is not None and failure.get("type") == "error"
    assert "Ubuntu 22.04.5 LTS" in failure.get("message") and "remedy:" in failure.text
    assert cases["gb200-host-os/host-os"].get("file") == "rules/checks.eidos"
    assert cases["gb200-fabric/fabric-completed"].find("skipped") is not None
    # a warning below --fail-on error passes, with its text kept
    assert cases["gpudirect-rdma-eks/peermem"].find("failure") is None
    assert "warning:" in cases["gpudirect-rdma-eks/peermem"].find("system-out").text
    mock = {c.get("name"): c for c in suites[1].findall("testcase")}
    assert mock["driver-branch-blackwell/driver"].find("error") is not None  # no GPU data at all
    total = sum(int(s.get("tests")) for s in suites)
    assert int(root.get("tests")) == total == len(report.verdicts)
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites) >= 1


def test_ctrf_validates_against_schema(report):
    doc = json.loads(render(report, "ctrf"))
    _validator("ctrf.schema.json").validate(doc)
    assert doc["results"]["summary"]["tests"] == len(report.verdicts)
    assert doc["results"]["summary"]["start"] == 1767376969000  # the GB200 snapshot's timestamp
    statuses = {t["name"]: t for t in doc["results"]["tests"]}
    host = statuses["ip-10-0-160-248.ec2.internal: gb200-host-os/host-os"]
    assert host["status"] == "failed" and host["rawStatus"] == "fail" and "remedy:" in host["message"]
    assert host["extra"]["actual"] == {"OS.host.VERSION_ID": "22.04"}  # from the kubelet os-image


def test_sarif_validates_against_schema_and_points_at_rule_lines(report):
    doc = json.loads(render(report, "sarif"))
    _validator("sarif-schema-2.1.0.excerpt.json").validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    fail = next(r for r in run["results"] if r["ruleId"] == "check:gb200-host-os:host-os"
                and r["properties"]["node"] == "ip-10-0-160-248.ec2.internal")
    assert (fail["kind"], fail["level"]) == ("fail", "error")
    loc = fail["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "rules/checks.eidos"
    line = loc["region"]["startLine"]
    text = (FIXTURES.parent.parent / "rules" / "checks.eidos").read_text().splitlines()[line - 1]
    assert "require host-os:" in text
    assert rules[fail["ruleIndex"]]["id"] == fail["ruleId"]
    assert run["invocations"][0]["executionSuccessful"] is False  # the mock snapshot has errors
    assert run["invocations"][0]["toolExecutionNotifications"]


def test_json_and_yaml_documents(report):
    doc = json.loads(render(report, "json"))
    assert doc["kind"] == "ValidationReport" and doc["summary"]["exitCode"] == 1
    assert doc["summary"]["nodes"] == 2 and doc["summary"]["nodesPassing"] == 0
    failing = {f["id"]: f["nodes"] for f in doc["failing"]}
    # fails on the GB200 node (22.04 host); errors on the mock, which has no K8s.node at all
    assert failing["check:gb200-host-os:host-os"] == ["ip-10-0-160-248.ec2.internal", "aicr-mock-training"]
    assert yamlio.load(render(report, "yaml")) == doc


@pytest.mark.parametrize("fmt", ["table", "json", "yaml", "junit", "ctrf", "sarif"])
def test_deterministic(report, fmt):
    assert render(report, fmt) == render(report, fmt)


def test_table_plain_and_coloured(report):
    plain = render(report, "table")
    assert "\x1b[" not in plain
    assert "FAIL  gb200-host-os/host-os" in plain and "fix:   Move the GB200 node group" in plain
    assert "Failing checks:" in plain and "Result: FAIL" in plain
    coloured = render(report, "table", color=True)
    assert "\x1b[" in coloured
