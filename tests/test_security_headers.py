"""Headers that keep browsers from reading a response as something else than it is, or running anything on it
but this server's own files (the browser test loads the pages under these policies and finds no violation)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from conftest import EX
from flask import Flask
from flask.testing import FlaskClient

#: A path of every kind of answer: pages, data, query answers, errors, files.
PATHS = (
    "/",
    "/healthz",
    "/sparql",
    "/sparql?query=ASK%20%7B%7D",
    "/sparql?query=SELECT%20*%20%7B%3Fs%20%3Fp%20%3Fo%7D&format=xml",
    "/sparql?query=not%20sparql",
    "/queries",
    "/void",
    "/vocab",
    "/ui",
    "/dumps/collabkg.nt",
    f"/page/?iri={EX}alice",
    "/id/nothing/here",
    "/no/such/path",
)
#: Pages of the built graph, one of each kind a browser shows.
PAGES = (
    "/",
    "/page/model/partnership",
    "/page/determinant/trust",
    "/trail/model/partnership",
    "/search?q=trust",
    "/map",
    "/sparql",
    "/queries",
    "/ui",
)


def directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as its directives and their sources."""
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


@pytest.mark.parametrize("path", PATHS)
def test_every_response_forbids_sniffing_and_foreign_or_inline_code(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"})
    response.close()
    assert response.headers["X-Content-Type-Options"] == "nosniff", response.status
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["base-uri"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"] and policy["form-action"] == ["'self'"]
    expected_styles = ["'self'", "'unsafe-inline'"] if path == "/ui" else ["'self'"]
    assert policy["style-src"] == expected_styles


def test_the_vocabulary_allows_its_own_stylesheet_by_hash_and_nothing_else(built_app: Flask) -> None:
    response = built_app.test_client().get("/vocab", headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    inline = re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)
    assert inline, "pyLODE's page has an inline stylesheet"
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in inline
    ]
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", *hashes]
    assert policy["script-src"] == ["'self'"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_hold_no_inline_code(built_app: Flask, path: str) -> None:
    """What the policy forbids is not in the pages: no inline script (JSON data blocks run nothing), no style
    element or attribute, no event handler attribute, nothing loaded from another origin."""
    response = built_app.test_client().get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for script in re.findall(r"<script\b[^>]*>", html):
        assert " src=" in script or re.search(r'type="application/(ld\+)?json"', script), script
    assert "<style" not in html
    assert re.search(r"\sstyle=", html) is None
    assert re.search(r"\son[a-z]+=", html) is None
    assert re.search(r'(src|href)="(https?:)?//(?!127\.0\.0\.1|localhost)[^"]*\.(js|css)"', html) is None
