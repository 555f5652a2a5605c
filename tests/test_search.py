"""Search: the text index the build writes, the one served files get in memory, ``/search`` (HTML and JSON)
and ``collabkg search``, over the real built graph and a small graph whose answers are known by construction.

What the index finds is checked against the graph read independently (rdflib over the TriG, a regular
expression over the same texts), not against the index's own idea of it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from collabkg.cli import main
from collabkg.manifest import Manifest, freshness
from collabkg.namespaces import CK, ID
from collabkg.paths import project_paths
from collabkg.search import MAX_QUERY_LENGTH, SearchIndex, SearchRequest, parse_query, spellings
from collabkg.web import create_app
from conftest import ROOT, evidence_client
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import RDF, RDFS, Dataset, URIRef
from rdflib.namespace import SKOS

HTML = {"Accept": "text/html"}


@pytest.fixture
def client(built_app: Flask) -> FlaskClient:
    """The session's app over the real build, served as a file: its index is made in memory."""
    return built_app.test_client()


@pytest.fixture(scope="module")
def small() -> FlaskClient:
    """An app over tests/data/evidence.ttl, whose every answer is known."""
    return evidence_client("https://kg.example.org/base")


def hits(client: FlaskClient, query: str) -> list[dict]:
    response = client.get(f"/search?{query}&format=json")
    assert response.status_code == 200, response.text
    return response.get_json()["hits"]


def words_of(served: Dataset, resource: URIRef) -> str:
    """Everything the index is to search for a resource: label, definition or abstract, quote, section."""
    properties = (
        RDFS.label,
        SKOS.definition,
        URIRef("http://purl.org/dc/terms/abstract"),
        CK.quote,
        CK.section,
    )
    return " ".join(str(value) for p in properties for value in served.objects(resource, p))


# --- Finding words -------------------------------------------------------------------------------------------


def test_collaborate_finds_collaboration_by_its_stem(client: FlaskClient) -> None:
    found = hits(client, "q=collaborate&limit=100")
    assert found
    marked = {
        hit["snippet"]["text"][start:end].lower()
        for hit in found
        if hit["snippet"]
        for start, end in hit["snippet"]["highlights"]
    }
    assert "collaboration" in marked  # the word the reviews use, found by the one a researcher typed
    assert all(word.startswith("collabor") for word in marked), marked


def test_the_words_found_are_the_graph_s_own(client: FlaskClient, served: Dataset) -> None:
    """Every finding whose words hold a form of "territory" is found, and nothing else: the same set as a
    regular expression over the graph's texts finds."""
    expected = {
        str(finding)
        for finding in served.subjects(RDF.type, CK.Finding)
        if re.search(r"\bterritor", words_of(served, finding), re.IGNORECASE)
    }
    found = {hit["iri"] for hit in hits(client, "q=territorial&kind=finding&limit=100")}
    assert found == expected
    assert len(expected) >= 5


def test_filters_narrow_to_exactly_what_the_graph_says(client: FlaskClient, served: Dataset) -> None:
    trust = ID["determinant/trust"]
    expected = {
        str(finding)
        for finding in served.subjects(CK.aboutDeterminant, trust)
        if (finding, RDF.type, CK.Finding) in served
        and (finding, CK.polarity, CK.facilitator) in served
        and (finding, CK.reportedIn, ID["study/andersson-2011"]) in served
        and re.search(r"\btrust", words_of(served, finding), re.IGNORECASE)
    }
    query = "q=trust&kind=finding&polarity=facilitator&review=andersson-2011&determinant=trust&limit=100"
    found = hits(client, query)
    assert {hit["iri"] for hit in found} == expected and expected
    for hit in found:
        assert hit["kind"] == "finding" and hit["polarity"]["slug"] == "facilitator"
        assert hit["review"]["label"] == "Andersson et al. 2011"
        assert "trust" in [topic["slug"] for topic in hit["about"]]


def test_a_resource_named_by_the_words_ranks_first(client: FlaskClient) -> None:
    found = hits(client, "q=territoriality")
    assert (found[0]["kind"], found[0]["label"]) == ("determinant", "Territoriality")
    assert found[0]["label_highlights"] == [[0, len("Territoriality")]]


def test_case_accents_and_spelling_do_not_matter(small: FlaskClient) -> None:
    for query in ("réunions", "REUNIONS", "Reunions", "reunion"):
        assert [hit["label"] for hit in hits(small, f"q={query}&kind=determinant")] == [
            "Réunions de coordination"
        ], query
    assert [hit["iri"] for hit in hits(small, "q=uber")] == [str(ID["finding/f5"])]
    # The quote says "behavior", the label "behaviour": either spelling finds both.
    for query in ("behavior", "behaviour"):
        found = hits(small, f"q={query}")
        assert [hit["iri"] for hit in found] == [str(ID["finding/f3"])]
    for query in ("organisation", "organization", "organized"):
        found = {hit["iri"] for hit in hits(small, f"q={query}")}
        assert found == {str(ID["finding/f4"]), str(ID["determinant/trust"])}, query
    assert "organization" in spellings("organisation") and "behavior" in spellings("behaviour")
    assert spellings("four") == ["four"]  # short words are left alone


def test_phrases_and_prefixes(small: FlaskClient) -> None:
    assert [h["iri"] for h in hits(small, 'q="joint meetings"')] == [str(ID["finding/f3"])]
    assert hits(small, 'q="meetings joint"') == []
    assert {h["iri"] for h in hits(small, "q=suspic*")} == {str(ID["finding/f1"])}


def test_fts_syntax_typed_by_a_person_is_words_not_syntax(small: FlaskClient) -> None:
    for query in ("NEAR(trust", "trust AND", "quote:trust", "^trust", "trust OR -hinders", '"unclosed trust'):
        response = small.get("/search", query_string={"q": query, "format": "json"})
        assert response.status_code == 200, (query, response.text)
    assert parse_query('AND "x y" z*') == '"and" AND "x y" AND "z"*'


# --- What a hit shows ----------------------------------------------------------------------------------------


def test_the_page_marks_the_matching_words_and_escapes_the_rest(small: FlaskClient) -> None:
    page = small.get("/search?q=coordination", headers=HTML).text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; <mark>Coordination</mark> meetings" in page
    assert "<script>alert" not in page
    assert (
        '<a class="hit-title" href="/page/determinant/reunions">Réunions de <mark>coordination</mark></a>'
        in page
    )


def test_each_hit_links_to_its_page_and_trail(client: FlaskClient, built_app: Flask) -> None:
    found = hits(client, "q=trust&limit=30")
    assert {hit["kind"] for hit in found} >= {"finding", "claim", "determinant"}
    for hit in found:
        path = hit["page"].removeprefix("http://localhost")
        assert client.get(path).status_code == 200, path
        if hit["kind"] in ("finding", "claim", "model", "determinant"):
            assert client.get(hit["trail"].removeprefix("http://localhost")).status_code == 200
        else:
            assert hit["trail"] is None


def test_json_urls_are_on_the_base_url_whatever_the_host(small: FlaskClient) -> None:
    response = small.get("/search?q=trust&limit=1&format=json", headers={"Host": "evil.example"})
    data = response.get_json()
    assert data["total"] == 2 and len(data["hits"]) == 1  # the determinant, and f2 ("trust each other")
    assert data["hits"][0]["page"].startswith("https://kg.example.org/base/page/")
    assert data["next"].startswith("https://kg.example.org/base/search?")
    assert "evil.example" not in response.text


def test_pages_of_results(client: FlaskClient) -> None:
    everything = [hit["iri"] for hit in hits(client, "q=collaboration&limit=100")]
    assert len(everything) > 6
    assert [hit["iri"] for hit in hits(client, "q=collaboration&limit=3&offset=3")] == everything[3:6]
    page = client.get("/search?q=collaboration&limit=3&offset=3", headers=HTML).text
    assert 'rel="prev"' in page and 'rel="next"' in page and '<ol class="hits"' in page


def test_facet_counts_are_the_hits_each_filter_would_give(client: FlaskClient) -> None:
    data = client.get("/search?q=trust&format=json").get_json()
    assert sum(count["count"] for count in data["facets"]["kind"]) == data["total"]
    for entry in data["facets"]["polarity"]:
        narrowed = client.get(f"/search?q=trust&polarity={entry['value']}&format=json").get_json()
        assert narrowed["total"] == entry["count"]


# --- Bad requests --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("q=", "q"),
        ("q=%20%20", "q"),
        ("q=" + "a" * (MAX_QUERY_LENGTH + 1), "at most"),
        ("q=!!!", "no words"),
        ("q=" + "+".join(f"w{n}" for n in range(13)), "at most 12"),
        ("q=trust&kind=person", "kind"),
        ("q=trust&review=nobody-1999", "review"),
        ("q=trust&polarity=neutral", "polarity"),
        ("q=trust&determinant=weather", "determinant"),
        ("q=trust&model=nonesuch", "model"),
        ("q=trust&limit=0", "limit"),
        ("q=trust&limit=ten", "limit"),
        ("q=trust&offset=-1", "offset"),
        ("q=trust&q=again", "q"),
        ("q=trust&colour=red", "colour"),
        ("kind=finding", "q"),
    ],
)
def test_a_bad_search_is_a_400_naming_the_problem(small: FlaskClient, query: str, names: str) -> None:
    response = small.get(f"/search?{query}&format=json")
    assert response.status_code == 400
    assert names in response.text and response.mimetype == "text/plain"
    page = small.get(f"/search?{query}", headers=HTML)
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert names in page.text and 'role="alert"' in page.text and 'name="q"' in page.text


def test_no_query_is_the_search_form_for_a_browser_and_a_400_for_a_program(small: FlaskClient) -> None:
    page = small.get("/search", headers=HTML)
    assert page.status_code == 200 and '<input id="q" type="search" name="q"' in page.text
    assert small.get("/search?format=json").status_code == 400


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=MAX_QUERY_LENGTH + 20), kind=st.sampled_from(["", "finding", "claim", "x"]))
def test_no_query_text_is_a_server_error(small: FlaskClient, text: str, kind: str) -> None:
    response = small.get("/search", query_string={"q": text, "kind": kind, "format": "json"})
    assert response.status_code in (200, 400), response.text


# --- The index the build writes ------------------------------------------------------------------------------


def test_the_build_writes_the_index_the_manifest_names_read_only(built_dataset: Path) -> None:
    paths = project_paths(ROOT, built_dataset.parent)
    manifest = Manifest.read(paths)
    assert manifest is not None and manifest.search_index.startswith("search-")
    index = SearchIndex.open(paths.build_dir / manifest.search_index)
    assert index.size() > 150
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
        index._connection().execute("DELETE FROM documents")


def test_the_build_s_index_answers_as_the_one_made_in_memory(built_dataset: Path, built_app: Flask) -> None:
    paths = project_paths(ROOT, built_dataset.parent)
    manifest = Manifest.read(paths)
    assert manifest is not None
    on_disk = SearchIndex.open(paths.build_dir / manifest.search_index)
    with built_app.test_request_context():
        from collabkg.web.context import service

        in_memory = service().search_index
    assert in_memory is not on_disk and on_disk.size() == in_memory.size()
    for text in ("trust", "collaborate", "pooled budgets", "territor*", "organisation"):
        request = SearchRequest.of(text, limit="100")
        assert on_disk.search(request) == in_memory.search(request), text


def test_a_build_without_its_index_is_not_current(tmp_path: Path, built_dataset: Path) -> None:
    import shutil

    copy = tmp_path / "build"
    shutil.copytree(built_dataset.parent, copy, ignore=shutil.ignore_patterns(".lock"))
    paths = project_paths(ROOT, copy)
    manifest = Manifest.read(paths)
    assert manifest is not None and freshness(paths).current
    (copy / manifest.search_index).unlink()
    status = freshness(paths)
    assert not status.current and status.reasons == (f"{copy / manifest.search_index} is missing",)


def test_an_app_of_the_build_opens_its_index(tmp_path: Path, built_dataset: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    app = create_app({"TESTING": True, "PROJECT_ROOT": str(ROOT)})
    with app.test_request_context():
        from collabkg.web.context import service

        index = service().search_index
    assert index.description.endswith(".sqlite")
    found = app.test_client().get("/search?q=territoriality&format=json").get_json()
    assert found["hits"][0]["label"] == "Territoriality"


# --- The command line ----------------------------------------------------------------------------------------


def test_cli_searches_the_build(built_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    result = CliRunner().invoke(
        main, ["--root", str(ROOT), "search", "territorial", "--kind", "finding", "--polarity", "barrier"]
    )
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert re.fullmatch(r"\d+ results for 'territorial'", first), first
    assert "1. " in result.output and "[finding, barrier, Andersson et al. 2011" in result.output
    assert "https://w3id.org/collabkg/id/finding/andersson-2011-" in result.output
    as_json = CliRunner().invoke(main, ["--root", str(ROOT), "search", "trust", "--format", "json"])
    assert json.loads(as_json.output)["hits"][0]["label"] == "Trust"


def test_cli_names_a_bad_filter(built_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    result = CliRunner().invoke(main, ["--root", str(ROOT), "search", "trust", "--determinant", "weather"])
    assert result.exit_code == 2
    assert "Invalid value for --determinant: no determinant 'weather'" in result.output
