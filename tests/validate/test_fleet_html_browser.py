"""``eidos validate -o html`` rendered in headless Chromium: what a person sees.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright`` package (the
test extra) driving it through ``executable_path`` — Playwright cannot download its own
browsers here. Without either the tests skip, visibly.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import FIXTURES

GB200 = FIXTURES / "snapshots" / "cns-eks-gb200.yaml"
H100 = FIXTURES / "snapshots" / "cns-eks-h100.yaml"
CHECK = "check:gb200-host-os:host-os"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium installed (apt-get install chromium; .ci/run does)")


@pytest.fixture(scope="module")
def page_of(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install '.[test]')")
    exe = _chromium()
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        except Exception as err:  # a broken browser install: say so, do not pass
            pytest.skip(f"chromium at {exe} does not start under playwright: {err}")
        opened = []

        def open_page(path):
            page = browser.new_page()
            page.on("pageerror", lambda err: pytest.fail(f"script error in the page: {err}"))
            page.goto(path.as_uri())
            opened.append(page)
            return page

        yield open_page
        browser.close()


@pytest.fixture(scope="module")
def fleet_report(tmp_path_factory):
    """30 nodes: 20 H100s that pass, 10 GB200s that fail one check (9 on 22.04, 1 on 20.04)."""
    from eidos.cli.main import main

    d = tmp_path_factory.mktemp("fleet")
    for i in range(20):
        (d / f"h{i:02d}.yaml").write_text(H100.read_text().replace("ip-10-0-158-18.ec2.internal", f"h100-{i:02d}"))
    for i in range(10):
        text = GB200.read_text().replace("ip-10-0-160-248.ec2.internal", f"gb-{i:02d}")
        if i == 9:
            text = text.replace("os-image: Ubuntu 22.04.5 LTS", "os-image: Ubuntu 20.04.6 LTS")
        (d / f"g{i:02d}.yaml").write_text(text)
    out = d.parent / "report.html"
    assert main(["validate", "-s", str(d), "--intent", "training", "-o", "html", "--out", str(out)]) == 1
    return out


def test_heat_map_marks_the_failing_check_on_the_failing_nodes(page_of, fleet_report):
    page = page_of(fleet_report)
    assert page.inner_text("#result") == "FAIL"
    assert page.inner_text("#count-failing").split() == ["10", "failing"]
    assert page.inner_text("#count-passing").split() == ["20", "passing"]
    # the column of the failing check, found by its header as a person would
    headers = page.locator("#heat thead th")
    names = headers.all_inner_texts()
    col = names.index(CHECK)
    rows = page.locator("#heat tbody tr")
    seen = {}
    for r in range(rows.count()):
        row = rows.nth(r)
        label = row.locator("th").inner_text()
        cell = row.locator("td").nth(col - 1)
        assert cell.is_visible()
        seen[label] = (cell.inner_text(), cell.get_attribute("data-status"),
                       cell.evaluate("e => getComputedStyle(e).backgroundColor"))
    # nodes with the same status on every check are one row: 20 H100s, 10 GB200s
    assert len(seen) == 2, seen
    h100 = next(v for k, v in seen.items() if k.startswith("20 nodes"))
    gb = next(v for k, v in seen.items() if k.startswith("10 nodes"))
    assert gb[:2] == ("✗", "fail")
    assert gb[2] == "rgb(229, 57, 53)"  # the red of a failing cell, as displayed
    assert h100[1] != "fail" and h100[2] != gb[2]
    # the summary says which value each failing node has
    failing = page.locator("ul.failing > li", has_text=CHECK).inner_text()
    assert "10 node(s)" in failing
    assert "9 × found OS.host.VERSION_ID = 22.04: gb-00, gb-01" in failing
    assert "1 × found OS.host.VERSION_ID = 20.04: gb-09" in failing


def test_filter_sort_and_group_expansion(page_of, fleet_report):
    page = page_of(fleet_report)
    rows = page.locator("#heat tbody tr")
    assert rows.count() == 2
    page.fill("#node-filter", "gb-0")
    visible = [rows.nth(i) for i in range(rows.count()) if rows.nth(i).is_visible()]
    assert len(visible) == 1 and page.inner_text("#shown") == "10"
    page.fill("#node-filter", "h100-1")
    assert page.inner_text("#shown") == "20"
    page.fill("#node-filter", "")
    page.check("#only-failing")
    assert page.inner_text("#shown") == "10"
    page.uncheck("#only-failing")
    page.select_option("#sort", "size")
    assert rows.nth(0).locator("th").inner_text().startswith("20 nodes")
    page.select_option("#sort", "bad")
    assert not rows.nth(0).locator("th").inner_text().startswith("20 nodes")
    # a group lists its nodes on demand
    group = page.locator("#heat tbody tr", has_text="10 nodes").locator("details")
    assert not group.locator("li").first.is_visible()
    group.locator("summary").click()
    assert group.locator("li").first.is_visible()
    assert group.locator("li").all_inner_texts() == [f"gb-{i:02d}" for i in range(10)]
    # checks that pass everywhere are hidden until asked for
    quiet = page.locator("#heat thead th[data-quiet='1']")
    if quiet.count():
        assert not quiet.first.is_visible()
        page.check("#all-checks")
        assert quiet.first.is_visible()
