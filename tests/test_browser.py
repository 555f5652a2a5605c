"""A real browser (headless Chromium from the Debian package) renders the landing page, a model page, search
results, the evidence map and the query UI from a live server, and the tests assert on what it rendered, after
its scripts ran; axe-core audits the pages a researcher reads, and the keyboard reaches all of each.

Chromium is driven from its command line (``--dump-dom`` after a virtual-time budget, ``--screenshot``), and
for the audit by playwright-core (``tests/browser/audit.mjs``: it injects axe-core and presses Tab); no browser
is downloaded. Without Chromium the tests are skipped, saying why (``.ci/run`` installs it); without the npm
packages (``npm ci --prefix ui``) the audit is skipped, saying why.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SUMMARY_LINES, LiveServer

pytestmark = [pytest.mark.live, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
UI_BUILD = ROOT / "ui" / "node_modules" / "@zazuko" / "yasgui" / "build"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The browser command, with a throw-away profile and nothing that reaches beyond the test's server."""
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install -y chromium; .ci/run does this)"
        print(f"SKIPPED browser tests: {reason}")
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium-profile")
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,1600",
        "--virtual-time-budget=15000",
    ]


def render(chromium: list[str], url: str) -> str:
    """The DOM after the page's scripts ran (and its queries came back)."""
    done = subprocess.run(
        [*chromium, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def screenshot(chromium: list[str], url: str, path: Path) -> Path:
    subprocess.run([*chromium, f"--screenshot={path}", url], capture_output=True, timeout=120, check=True)
    return path


def test_landing_page(chromium: list[str], live_built_server: LiveServer, tmp_path: Path) -> None:
    dom = render(chromium, live_built_server.url + "/")
    assert "<h1>collabkg: how welfare organizations collaborate</h1>" in dom
    assert "collaboration models</td>" in dom
    assert 'class="model-map"' in dom and dom.count('class="model"') >= 11
    png = screenshot(chromium, live_built_server.url + "/", tmp_path / "landing.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"landing page screenshot: {png}")


def test_model_page(chromium: list[str], live_built_server: LiveServer, tmp_path: Path) -> None:
    dom = render(chromium, live_built_server.url + "/id/model/pooled-budgets")  # a browser follows the 303
    assert "<h1>Pooled budgets</h1>" in dom
    assert 'href="/page/model/pooled-budgets" class="model highlight"' in dom
    assert 'data-ck-inferred="true"' in dom
    png = screenshot(chromium, live_built_server.url + "/page/model/pooled-budgets", tmp_path / "model.png")
    print(f"model page screenshot: {png}")


@pytest.mark.skipif(not UI_BUILD.is_dir(), reason="YASGUI is not installed: run `npm ci` in ui/")
def test_query_ui_runs_a_canned_query(
    chromium: list[str], live_built_server: LiveServer, tmp_path: Path
) -> None:
    dom = render(chromium, live_built_server.url + "/ui?run=models")
    assert 'data-query-done="models"' in dom  # YASR drew the answer
    assert re.search(r"\b1[0-9] results\b", dom)  # one row per basic model
    for label in ("Information exchange", "Pooled budgets", "Strategic level working"):
        assert label in dom
    png = screenshot(chromium, live_built_server.url + "/ui?run=models", tmp_path / "ui.png")
    print(f"query UI screenshot: {png}")


def test_search_results(chromium: list[str], live_built_server: LiveServer, tmp_path: Path) -> None:
    url = live_built_server.url + "/search?q=territoriality&kind=determinant&kind=finding"
    dom = render(chromium, url)
    first = re.search(r'<a class="hit-title" href="([^"]+)">(.*?)</a>', dom)
    assert first is not None
    assert first.groups() == ("/page/determinant/territoriality", "<mark>Territoriality</mark>")
    assert (
        dom.count('<li data-kind="') == len(re.findall(r'<li data-kind="(?:determinant|finding)"', dom)) > 3
    )
    assert re.search(r"<mark>territorial</mark> behavior", dom)  # the quote's own spelling, marked
    png = screenshot(chromium, url, tmp_path / "search.png")
    print(f"search screenshot: {png}")


def test_evidence_map(chromium: list[str], live_built_server: LiveServer, tmp_path: Path) -> None:
    dom = render(chromium, live_built_server.url + "/map")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in dom and 'class="evidence-map"' in dom
    cells = re.findall(r'<(a|g) [^>]*class="map-cell( is-gap)?"[^>]*data-findings="(\d+)"', dom)
    assert cells and all((tag == "g") == bool(gap) == (count == "0") for tag, gap, count in cells)
    with urllib.request.urlopen(live_built_server.url + "/map?format=csv") as response:
        records = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert len(cells) == len(records)
    assert sorted(int(count) for _, _, count in cells) == sorted(int(r["findings"]) for r in records)
    png = screenshot(chromium, live_built_server.url + "/map", tmp_path / "map.png")
    print(f"evidence map screenshot: {png}")


#: The pages the accessibility audit covers, one of each kind a researcher reads.
AUDITED = (
    "/",
    "/page/model/partnership",
    "/page/determinant/trust",
    "/trail/model/partnership",
    "/search?q=territoriality",
    "/map",
)
AUDIT_SCRIPT = ROOT / "tests" / "browser" / "audit.mjs"
AUDIT_PACKAGES = [
    ROOT / "ui" / "node_modules" / name / "package.json" for name in ("axe-core", "playwright-core")
]


def run_audit(chromium: list[str], tmp_path: Path, **urls: list[str]) -> dict[str, list[dict[str, Any]]]:
    """What ``tests/browser/audit.mjs`` reports on ``urls`` (``urls=`` to audit, ``policy_urls=`` to load under
    their Content-Security-Policy), in the Chromium of ``chromium`` driven by playwright-core."""
    node = shutil.which("node")
    if node is None or not all(package.is_file() for package in AUDIT_PACKAGES):
        pytest.skip("node, or axe-core and playwright-core, are missing: run `npm ci --prefix ui`")
    config = tmp_path / "audit.json"
    args = [
        arg
        for arg in chromium[1:]
        if arg.startswith("--")
        and "headless" not in arg
        and "virtual-time" not in arg
        and "user-data-dir" not in arg
        and "window-size" not in arg
    ]
    config.write_text(json.dumps({"executable": chromium[0], "args": args, **urls}))
    done = subprocess.run([node, str(AUDIT_SCRIPT), str(config)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return report


def test_pages_pass_axe_and_every_control_is_reached_by_keyboard(
    chromium: list[str], live_built_server: LiveServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """axe-core (its WCAG 2 A/AA and best-practice rules) finds no serious or critical violation on the pages a
    researcher reads, and pressing Tab reaches every visible link, button and field of each, in headless
    Chromium driven by playwright-core (both from npm, ui/package-lock.json)."""
    pages = run_audit(chromium, tmp_path, urls=[live_built_server.url + path for path in AUDITED])["pages"]
    assert [page["url"] for page in pages] == [live_built_server.url + path for path in AUDITED]
    lines = request.config.stash.setdefault(SUMMARY_LINES, [])
    for page in pages:
        path = page["url"].removeprefix(live_built_server.url)
        found = ", ".join(f"{v['id']} ({v['impact']}, {v['count']})" for v in page["violations"]) or "none"
        reached = page["focusable"] - len(page["unreachable"])
        lines.append(
            f"axe-core {path}: violations {found}; Tab reached {reached} of {page['focusable']} controls"
        )
    for page in pages:
        assert page["status"] == 200, page["url"]
        grave = [v for v in page["violations"] if v["impact"] in ("serious", "critical")]
        assert grave == [], (page["url"], grave)
        assert page["focusable"] > 10 and page["unreachable"] == [], (page["url"], page["unreachable"])


def test_every_page_runs_under_its_content_security_policy(
    chromium: list[str], live_built_server: LiveServer, tmp_path: Path
) -> None:
    """Under the policy the server sends (no inline script or style, nothing from elsewhere), Chromium reports
    no violation on the pages a researcher reads, the vocabulary (pyLODE's inline stylesheet, allowed by its
    hash) and the query UI, which still runs a canned query and draws its answer."""
    ui_url = live_built_server.url + "/ui?run=models"
    urls = [live_built_server.url + path for path in [*AUDITED, "/vocab", "/sparql", "/queries"]] + [ui_url]
    loaded = run_audit(chromium, tmp_path, policy_urls=urls)["policy"]
    assert [page["url"] for page in loaded] == urls
    for page in loaded:
        assert page["status"] == 200, page["url"]
        assert page["reports"] == [], (page["url"], page["reports"])
    assert loaded[-1]["done"] is True, "the query UI drew no answer under its policy"
