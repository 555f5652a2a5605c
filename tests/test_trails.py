"""Evidence trails over the real built graph: page, Turtle, JSON-LD and the terminal, down to the sources."""

from __future__ import annotations

import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from collabkg.cli import main
from collabkg.namespaces import CITO, CK, ID
from conftest import ROOT
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

REF = "https://w3id.org/collabkg/id/study/andersson-2011/ref/"
ANDERSSON = ID["study/andersson-2011"]


@pytest.fixture
def client(built_app: Flask) -> FlaskClient:
    """A client of the session's app over the real build (conftest): requests only read it."""
    return built_app.test_client()


class _Meta(HTMLParser):
    """The ``<meta name=... content=...>`` tags of a page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("name"):
            self.tags.append((found["name"] or "", found.get("content") or ""))


def trail(client: FlaskClient, path: str, fmt: str, rdflib_format: str) -> Graph:
    response = client.get(f"{path}?format={fmt}")
    assert response.status_code == 200, response.get_data(as_text=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Graph().parse(data=response.get_data(as_text=True), format=rdflib_format)


def test_model_trail_in_turtle_reaches_references_review_and_countries(client: FlaskClient) -> None:
    graph = trail(client, "/trail/model/partnership", "ttl", "turtle")
    combinations = ID["claim/andersson-2011-partnership-combinations"]
    assert set(graph.objects(combinations, CITO.citesAsEvidence)) == {URIRef(REF + "34"), URIRef(REF + "42")}
    assert graph.value(combinations, CK.section) == Literal("Results / Models of collaboration")
    assert graph.value(combinations, CK.reportedIn) == ANDERSSON
    assert graph.value(URIRef(REF + "34"), CK.referenceNumber) == Literal(34)
    assert str(graph.value(ANDERSSON, DCTERMS.title)).startswith("Organizational approaches to collaboration")
    assert {str(c).rsplit("/", 1)[1] for c in graph.objects(ANDERSSON, CK.coversCountry)} == {
        "se",
        "ca",
        "us",
        "nl",
        "gb",
        "au",
        "be",
        "no",
    }


def test_a_trail_in_turtle_reads_in_the_project_s_prefixes(client: FlaskClient) -> None:
    """The trail's Turtle names terms as the project does (``ck:``, ``cito:``), not ``ns1:``."""
    text = client.get("/trail/model/partnership", headers={"Accept": "text/turtle"}).get_data(as_text=True)
    assert "@prefix ck: <https://w3id.org/collabkg/vocab#> ." in text and "cito:citesAsEvidence" in text
    assert "@prefix ns1:" not in text


def test_finding_trail_in_json_ld(client: FlaskClient) -> None:
    graph = trail(client, "/trail/finding/andersson-2011-trust-1", "jsonld", "json-ld")
    finding = ID["finding/andersson-2011-trust-1"]
    assert set(graph.objects(finding, CITO.citesAsEvidence)) == {URIRef(REF + "49"), URIRef(REF + "53")}
    assert graph.value(finding, CK.polarity) == CK.facilitator
    assert "regarded mainly as a facilitator" in str(graph.value(finding, CK.quote))


def test_trail_page_shows_the_trail_and_citation_metadata(client: FlaskClient) -> None:
    response = client.get("/trail/determinant/trust", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "It is also important to have a continuity of actors over a longer period [28, 57]." in page
    assert "[28]" in page and "[57]" in page
    assert (
        "Countries covered: Australia, Belgium, Canada, Netherlands, Norway, Sweden, "
        "United Kingdom, United States" in page
    )
    parser = _Meta()
    parser.feed(page)
    tags = parser.tags
    assert (
        "citation_title",
        "Organizational approaches to collaboration in vocational rehabilitation—"
        "an international literature review",
    ) in tags
    assert [content for name, content in tags if name == "citation_author"] == [
        "Andersson, J.",
        "Ahgren, B.",
        "Bihari Axelsson, S.",
        "Eriksson, A.",
        "Axelsson, R.",
    ]
    assert ("citation_journal_title", "International Journal of Integrated Care") in tags
    assert ("citation_volume", "11") in tags
    assert ("citation_publication_date", "2011/11/18") in tags


@pytest.mark.parametrize("path", ["/trail/model/no-such-model", "/trail/country/se", "/trail/finding/x%20y"])
def test_unknown_trails_are_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_cli_prints_the_trail(built_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    result = CliRunner().invoke(main, ["--root", str(ROOT), "trail", "model:partnership"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Partnership\n<https://w3id.org/collabkg/id/model/partnership>\n")
    assert (
        '"Partnerships may also be combined with co-location as well as pooling of budgets [34, 42]."'
        in result.output
    )
    assert "  cites: [34], [42]\n" in result.output
    assert (
        "Source: Andersson J, Ahgren B, Bihari Axelsson S, Eriksson A, Axelsson R. Organizational approaches"
        in result.output
    )
    assert "International Journal of Integrated Care, 11, e137 (2011)." in result.output
    assert "  PMCID: PMC3225240\n" in result.output


def test_cli_refuses_an_unknown_kind() -> None:
    result = CliRunner().invoke(main, ["--root", str(ROOT), "trail", "country:se"])
    assert result.exit_code == 2
    assert "KIND one of finding, claim, model, determinant" in result.output


def test_a_trail_says_how_firmly_each_claim_and_each_link_is_stated(client: FlaskClient) -> None:
    """The hedges travel with the trail: in its RDF (each claim's and supported statement's ck:strength and
    ck:hedge, as the graph holds them) and on its page ("could ... mainly structural": the claim tentative, its
    link to the structural orientation qualified)."""
    graph = trail(client, "/trail/model/partnership", "ttl", "turtle")
    claims = set(graph.subjects(CK.supportsStatement, None))
    assert claims and all(graph.value(claim, CK.strength) is not None for claim in claims)
    statements = set(graph.objects(None, CK.supportsStatement))
    assert all(graph.value(statement, CK.strength) is not None for statement in statements)
    hedged = {str(word) for claim in claims for word in graph.objects(claim, CK.hedge)}
    assert {"could", "mainly", "more"} <= hedged
    page = client.get("/trail/model/partnership").get_data(as_text=True)
    assert '<p class="hedge">Stated as tentative: “could”, “mainly”, “more”.</p>' in page
    assert "Supports: Partnership orientation structural (qualified: “mainly”)" in page
