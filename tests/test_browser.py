"""A real browser (headless Chromium from the Debian package) renders the landing page, a model page and the
query UI from a live server, and the tests assert on what it rendered, after its scripts ran.

Chromium is driven from its command line (``--dump-dom`` after a virtual-time budget, ``--screenshot``); no
browser is downloaded. Without Chromium the tests are skipped, saying why (``.ci/run`` installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, LiveServer

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
