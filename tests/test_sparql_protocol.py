"""The SPARQL 1.1 Protocol at /sparql, through Flask's test client: operations, formats, headers, errors."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from collabkg.formats import GRAPH_FORMATS, RESULT_FORMATS
from collabkg.namespaces import SD
from collabkg.store.base import DatasetSource
from collabkg.web.sparql import MAX_PARAMETERS, TRUNCATED_HEADER
from conftest import EX, FIXTURE_GRAPHS, FIXTURE_UNION_SIZE, dataset_snapshot, parse_rdf
from flask import Flask
from flask.testing import FlaskClient
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.compare import isomorphic

SRX = "{http://www.w3.org/2005/sparql-results#}"
NAMES = "PREFIX ex: <http://example.org/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
#: The people and their English-or-plain labels, in a fixed order.
PEOPLE_QUERY = NAMES + (
    "SELECT ?person ?label WHERE { ?person a ex:Person ; rdfs:label ?label FILTER(lang(?label) != 'es') } "
    "ORDER BY ?person"
)
PEOPLE = [(EX + "alice", "Alice"), (EX + "bob", "Bob")]


def get(client: FlaskClient, query: str, headers: dict[str, str] | None = None, **params: str):
    return client.get("/sparql", query_string={"query": query, **params}, headers=headers)


def json_rows(response) -> list[tuple[str, ...]]:
    """The values of a SPARQL JSON result, row by row, in the order of its head's variables."""
    data = json.loads(response.data)
    names = data["head"]["vars"]
    return [tuple(row[name]["value"] for name in names if name in row) for row in data["results"]["bindings"]]


def people_graph() -> Graph:
    return Graph().parse(FIXTURE_GRAPHS[URIRef(EX + "people")])


# --- The three ways to send a query -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["get", "post-form", "post-direct"])
def test_each_operation_form_answers_the_query(client: FlaskClient, how: str) -> None:
    if how == "get":
        response = get(client, PEOPLE_QUERY)
    elif how == "post-form":
        response = client.post("/sparql", data={"query": PEOPLE_QUERY})
    else:
        response = client.post("/sparql", data=PEOPLE_QUERY.encode(), content_type="application/sparql-query")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/sparql-results+json; charset=utf-8"
    assert json_rows(response) == PEOPLE


def test_direct_post_takes_dataset_parameters_from_the_url(client: FlaskClient) -> None:
    url = "/sparql?" + urllib.parse.urlencode({"default-graph-uri": EX + "orgs"})
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    response = client.post(url, data=query, content_type="application/sparql-query; charset=UTF-8")
    assert json_rows(response) == [("4",)]


def test_head_answers_like_get_without_a_body(client: FlaskClient) -> None:
    response = client.head("/sparql", query_string={"query": "ASK {}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/sparql-results+json")
    assert response.data == b""


# --- Result formats -----------------------------------------------------------------------------------------


def test_select_as_json(client: FlaskClient) -> None:
    data = json.loads(get(client, PEOPLE_QUERY, format="json").data)
    assert data["head"]["vars"] == ["person", "label"]
    assert data["results"]["bindings"][0] == {
        "person": {"type": "uri", "value": EX + "alice"},
        "label": {"type": "literal", "value": "Alice", "xml:lang": "en"},
    }


def test_select_as_xml(client: FlaskClient) -> None:
    response = get(client, PEOPLE_QUERY, {"Accept": "application/sparql-results+xml"})
    assert response.headers["Content-Type"] == "application/sparql-results+xml; charset=utf-8"
    root = ET.fromstring(response.data)
    assert [v.get("name") for v in root.iter(SRX + "variable")] == ["person", "label"]
    results = root.findall(f"{SRX}results/{SRX}result")
    assert [
        (r.find(f"{SRX}binding/{SRX}uri").text, r.find(f".//{SRX}literal").text) for r in results
    ] == PEOPLE


def test_select_as_csv(client: FlaskClient) -> None:
    response = get(client, PEOPLE_QUERY, {"Accept": "text/csv"})
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.data.decode()
    assert text.endswith("\r\n")  # CRLF line ends, as the W3C note says
    assert list(csv.reader(io.StringIO(text))) == [["person", "label"], *map(list, PEOPLE)]


def test_select_as_tsv_writes_terms_in_sparql_syntax(client: FlaskClient) -> None:
    query = (
        NAMES + "SELECT ?note ?age ?label WHERE { ex:bob ex:note ?note ; ex:age ?age ; rdfs:label ?label }"
    )
    response = get(client, query, {"Accept": "text/tab-separated-values"})
    assert response.headers["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    header, row, end = response.data.decode().split("\n")
    assert header == "?note\t?age\t?label"
    assert row.split("\t") == [
        r'"line one\nline\ttwo, with \"quotes\""',
        '"41"^^<http://www.w3.org/2001/XMLSchema#integer>',
        '"Bob"',
    ]
    assert end == ""


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/sparql-results+json", b'"boolean": true'),
        ("application/sparql-results+xml", b"<boolean>true</boolean>"),
        ("text/csv", b"true\r\n"),
        ("text/tab-separated-values", b"true\n"),
    ],
)
def test_ask_in_each_format(client: FlaskClient, accept: str, expected: bytes) -> None:
    response = get(client, NAMES + "ASK { ex:alice ex:knows ex:bob }", {"Accept": accept})
    assert response.headers["Content-Type"] == f"{accept}; charset=utf-8"
    assert expected in response.data


def test_ask_false(client: FlaskClient) -> None:
    assert json.loads(get(client, NAMES + "ASK { ex:bob ex:knows ex:alice }").data) == {
        "head": {},
        "boolean": False,
    }


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("form", ["CONSTRUCT", "DESCRIBE"])
def test_graph_results_in_each_format(client: FlaskClient, fmt, form: str) -> None:
    if form == "CONSTRUCT":
        query = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <http://example.org/people> { ?s ?p ?o } }"
    else:
        query = (
            "DESCRIBE <http://example.org/alice> <http://example.org/bob> FROM <http://example.org/people>"
        )
    response = get(client, query, {"Accept": fmt.media_type})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{fmt.media_type}; charset=utf-8"
    parsed = parse_rdf(response.data, {"trig": "trig", "nq": "nquads"}.get(fmt.name, fmt.rdflib_name))
    assert isomorphic(parsed, people_graph())


@pytest.mark.parametrize("fmt", RESULT_FORMATS + GRAPH_FORMATS, ids=lambda f: f.name)
def test_format_parameter_picks_by_short_name_or_media_type(client: FlaskClient, fmt) -> None:
    query = "ASK {}" if fmt in RESULT_FORMATS else "CONSTRUCT WHERE { ?s ?p ?o }"
    for value in (fmt.name, fmt.media_type):
        response = get(client, query, {"Accept": "text/html"}, format=value)
        assert response.headers["Content-Type"] == f"{fmt.media_type}; charset=utf-8"


def test_format_parameter_overrides_accept(client: FlaskClient) -> None:
    response = get(client, "ASK {}", {"Accept": "application/sparql-results+json"}, format="xml")
    assert response.headers["Content-Type"].startswith("application/sparql-results+xml")


def test_output_parameter_is_a_synonym_as_in_fuseki(client: FlaskClient) -> None:
    assert get(client, "ASK {}", output="csv").headers["Content-Type"].startswith("text/csv")


def test_repeated_format_parameters_take_the_first_that_fits(client: FlaskClient) -> None:
    # SPARQLWrapper sends format=json-ld&format=application/ld+json; for SELECT only the second kind fits
    response = client.get("/sparql?query=ASK%7B%7D&format=ttl&format=text/tab-separated-values&format=csv")
    assert response.headers["Content-Type"].startswith("text/tab-separated-values")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv;q=0.9, text/tab-separated-values", "text/tab-separated-values"),
        ("application/sparql-results+xml;q=0.1, */*;q=0.5", "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("text/*", "text/csv"),
        ("application/json", "application/json"),  # an alias: the response says what was asked
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/xml"),  # a browser
    ],
)
def test_accept_q_values(client: FlaskClient, accept: str, expected: str) -> None:
    response = get(client, "SELECT * WHERE { ?s ?p ?o }", {"Accept": accept})
    assert response.headers["Content-Type"] == f"{expected}; charset=utf-8"


def test_no_accept_header_gets_json_or_turtle(client: FlaskClient) -> None:
    assert get(client, "ASK {}").headers["Content-Type"].startswith("application/sparql-results+json")
    assert get(client, "CONSTRUCT WHERE {?s ?p ?o}").headers["Content-Type"].startswith("text/turtle")


def test_negotiated_responses_vary_on_accept(client: FlaskClient) -> None:
    assert "Accept" in get(client, "ASK {}").headers["Vary"]
    assert "Accept" in client.get("/sparql").headers["Vary"]


def test_406_lists_what_is_offered(client: FlaskClient) -> None:
    response = get(client, "SELECT * WHERE { ?s ?p ?o }", {"Accept": "image/png"})
    assert response.status_code == 406
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = response.data.decode()
    for fmt in RESULT_FORMATS:
        assert fmt.media_type in text
        assert f"format={fmt.name}" in text


def test_format_parameter_for_the_wrong_kind_of_result_is_406(client: FlaskClient) -> None:
    response = get(client, "SELECT * WHERE { ?s ?p ?o }", format="ttl")
    assert response.status_code == 406
    assert "format=ttl" in response.data.decode()


def test_a_graph_rdfxml_cannot_write_is_406_with_the_reason(client: FlaskClient) -> None:
    response = get(
        client, "CONSTRUCT { <http://a.example/> <http://example.org/123> 1 } WHERE {}", format="rdf"
    )
    assert response.status_code == 406
    assert "RDF/XML" in response.data.decode()
    assert (
        get(client, "CONSTRUCT { <http://a.example/> <http://example.org/123> 1 } WHERE {}").status_code
        == 200
    )


# --- Query details ------------------------------------------------------------------------------------------


def test_select_star_lists_variables_in_order_of_appearance(client: FlaskClient) -> None:
    data = json.loads(get(client, "SELECT * WHERE { ?zebra ?apple ?mango . ?mango ?kiwi ?banana }").data)
    assert data["head"]["vars"] == ["zebra", "apple", "mango", "kiwi", "banana"]


def test_relative_iris_resolve_against_the_endpoint(client: FlaskClient) -> None:
    response = get(client, "CONSTRUCT { <s> <p> 1 } WHERE {}", format="nt")
    assert response.data.decode().startswith("<http://localhost/s> <http://localhost/p> ")


def test_relative_iris_resolve_against_the_canonical_url_whatever_the_host(make_app) -> None:
    client = make_app(BASE_URL="https://kg.example.org/collab/").test_client()
    response = get(client, "CONSTRUCT { <s> <p> 1 } WHERE {}", format="nt", headers={"Host": "evil.example"})
    assert response.data.decode().startswith("<https://kg.example.org/collab/s> ")


def test_project_prefixes_are_predeclared(client: FlaskClient) -> None:
    response = get(client, "SELECT ?x WHERE { BIND(rdfs:label AS ?x) }")
    assert json_rows(response) == [("http://www.w3.org/2000/01/rdf-schema#label",)]


# --- The dataset of a query ---------------------------------------------------------------------------------

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"


def test_default_graph_is_the_union_of_the_named_graphs(client: FlaskClient) -> None:
    assert json_rows(get(client, COUNT)) == [(str(FIXTURE_UNION_SIZE),)]
    assert json_rows(get(client, GRAPHS)) == [(str(g),) for g in sorted(FIXTURE_GRAPHS)]


def test_from_selects_a_served_graph(client: FlaskClient) -> None:
    assert json_rows(get(client, COUNT.replace("WHERE", "FROM <http://example.org/orgs> WHERE"))) == [("4",)]


def test_from_several_graphs_merges_them(client: FlaskClient) -> None:
    query = COUNT.replace("WHERE", "FROM <http://example.org/orgs> FROM <http://example.org/extra> WHERE")
    assert json_rows(get(client, query)) == [("5",)]  # 4 + 2, one triple in both


def test_from_named_alone_leaves_the_default_graph_empty(client: FlaskClient) -> None:
    assert json_rows(get(client, COUNT.replace("WHERE", "FROM NAMED <http://example.org/orgs> WHERE"))) == [
        ("0",)
    ]
    query = GRAPHS.replace("WHERE", "FROM NAMED <http://example.org/orgs> WHERE")
    assert json_rows(get(client, query)) == [(EX + "orgs",)]


def test_unknown_graph_is_empty(client: FlaskClient) -> None:
    assert json_rows(get(client, COUNT.replace("WHERE", "FROM <http://nowhere.example/g> WHERE"))) == [("0",)]
    assert json_rows(get(client, COUNT, **{"default-graph-uri": "http://nowhere.example/g"})) == [("0",)]
    query = "SELECT * WHERE { GRAPH <http://nowhere.example/g> { ?s ?p ?o } }"
    assert json_rows(get(client, query)) == []


def test_protocol_dataset_replaces_the_querys(client: FlaskClient) -> None:
    query = COUNT.replace("WHERE", "FROM <http://example.org/people> WHERE")
    assert json_rows(get(client, query, **{"default-graph-uri": EX + "extra"})) == [("2",)]


def test_named_graph_uri_limits_graph(client: FlaskClient) -> None:
    response = client.get(
        "/sparql",
        query_string=[("query", GRAPHS), ("named-graph-uri", EX + "orgs"), ("named-graph-uri", EX + "extra")],
    )
    assert json_rows(response) == [(EX + "extra",), (EX + "orgs",)]
    assert json_rows(get(client, COUNT, **{"named-graph-uri": EX + "orgs"})) == [("0",)]


# --- Errors -------------------------------------------------------------------------------------------------


def assert_plain_error(response, status: int, *fragments: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    text = response.data.decode()
    for fragment in fragments:
        assert fragment in text


def test_malformed_query_is_400_with_message_and_position(client: FlaskClient) -> None:
    response = get(client, "SELECT * WHERE {\n  ?s ?p ?o .\n  FILTER(?o > ) }")
    assert_plain_error(response, 400, "Syntax error", "line 3", "column")


def test_undeclared_prefix_is_400(client: FlaskClient) -> None:
    assert_plain_error(get(client, "SELECT * WHERE { ?s nope:p ?o }"), 400, "nope")


@pytest.mark.parametrize(
    ("text", "variable"),
    [
        ("SELECT (SUM(?o) AS ?sum) WHERE { ?s ?p ?o }", "sum"),  # SUM over strings
        ('SELECT ?x WHERE { BIND(REGEX("a", "(") AS ?x) }', "x"),  # a malformed regular expression
        ('SELECT ?x WHERE { BIND(STRLANG("a", "not a tag!") AS ?x) }', "x"),
    ],
)
def test_an_expression_in_error_leaves_its_variable_unbound(
    client: FlaskClient, text: str, variable: str
) -> None:
    """SPARQL's rule for an expression that raises an error (17.3): no value, not a failed request (rdflib,
    which this service ran on before, let some of these escape as errors)."""
    response = get(client, text, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    bindings = json.loads(response.data)["results"]["bindings"]
    assert bindings and all(variable not in row for row in bindings)


def test_a_limit_past_any_index_is_a_syntax_error(client: FlaskClient) -> None:
    response = get(client, "SELECT * WHERE { ?s ?p ?o } LIMIT 99999999999999999999999")
    assert_plain_error(response, 400, "non negative integer", "line 1, column 58")


def test_two_queries_are_400(client: FlaskClient) -> None:
    assert_plain_error(client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D"), 400, "one query")
    url = "/sparql?query=ASK%7B%7D"
    assert_plain_error(client.post(url, data={"query": "ASK {}"}), 400, "one query")
    assert_plain_error(
        client.post(url, data="ASK {}", content_type="application/sparql-query"), 400, "one query"
    )


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(client: FlaskClient, method: str) -> None:
    response = client.open("/sparql?query=ASK%7B%7D", method=method)
    assert_plain_error(response, 405)
    assert response.headers["Allow"] == "GET, HEAD, POST, OPTIONS"


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "multipart/form-data", None])
def test_other_body_types_are_415(client: FlaskClient, content_type: str | None) -> None:
    response = client.post("/sparql", data=b"query=ASK%20%7B%7D", content_type=content_type)
    assert_plain_error(response, 415, "application/sparql-query")


def test_non_utf8_bodies_are_400(client: FlaskClient) -> None:
    utf16 = "ASK {}".encode("utf-16")
    response = client.post("/sparql", data=utf16, content_type="application/sparql-query; charset=UTF-16")
    assert_plain_error(response, 400, "UTF-8")
    assert_plain_error(
        client.post("/sparql", data=utf16, content_type="application/sparql-query"), 400, "UTF-8"
    )
    latin1 = 'query=ASK { FILTER("café") }'.encode("latin-1")
    response = client.post("/sparql", data=latin1, content_type="application/x-www-form-urlencoded")
    assert_plain_error(response, 400, "UTF-8")
    assert_plain_error(client.get("/sparql?query=ASK%20%7B%20FILTER(%22caf%E9%22)%20%7D"), 400, "UTF-8")


def test_utf8_queries_work_in_each_form(client: FlaskClient) -> None:
    query = 'SELECT ?x WHERE { BIND("café ✓" AS ?x) }'
    for response in (
        get(client, query),
        client.post("/sparql", data={"query": query}),
        client.post(
            "/sparql", data=("query=" + query).encode(), content_type="application/x-www-form-urlencoded"
        ),
        client.post("/sparql", data=query.encode(), content_type="application/sparql-query"),
    ):
        assert json_rows(response) == [("café ✓",)]


def test_missing_or_empty_query_is_400(client: FlaskClient) -> None:
    assert_plain_error(client.post("/sparql", data={"format": "json"}), 400, "No query")
    assert_plain_error(get(client, "   "), 400, "empty")
    assert_plain_error(
        client.post("/sparql", data=b"", content_type="application/sparql-query"), 400, "empty"
    )


@pytest.mark.parametrize("where", ["url", "form"])
def test_more_parameters_than_the_bound_are_400(client: FlaskClient, where: str) -> None:
    """A hostile query string cannot make the parser work without end: past MAX_PARAMETERS it is refused."""
    fields = "&".join(f"p{n}=x" for n in range(MAX_PARAMETERS)) + "&query=ASK+%7B%7D"
    if where == "url":
        response = client.get(f"/sparql?{fields}")
    else:
        response = client.post("/sparql", data=fields, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert f"more than {MAX_PARAMETERS} parameters" in response.get_data(as_text=True)
    within = "&".join(f"p{n}=x" for n in range(MAX_PARAMETERS - 1)) + "&query=ASK+%7B%7D"
    assert client.get(f"/sparql?{within}").status_code == 200


def test_graph_parameters_must_be_iris(client: FlaskClient) -> None:
    assert_plain_error(get(client, "ASK {}", **{"default-graph-uri": "not an iri"}), 400, "default-graph-uri")


def test_body_over_the_size_limit_is_413(make_app) -> None:
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    query = "ASK {}" + " " * 2000
    assert_plain_error(client.post("/sparql", data=query, content_type="application/sparql-query"), 413)
    assert_plain_error(client.post("/sparql", data={"query": query}), 413)


# --- Read-only ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.get("/sparql", query_string={"update": "CLEAR ALL"}),
        lambda c: c.post("/sparql", data={"update": "DROP ALL"}),
        lambda c: c.post("/sparql", data="CLEAR ALL", content_type="application/sparql-update"),
        lambda c: c.post("/sparql", data={"query": "ASK {}", "update": "CLEAR ALL"}),
        lambda c: c.post(
            "/sparql?using-graph-uri=http%3A%2F%2Fexample.org%2Fpeople",
            data="DELETE WHERE { ?s ?p ?o }",
            content_type="application/sparql-update",
        ),
    ],
    ids=["get", "form", "direct", "form-with-query", "using-graph-uri"],
)
def test_updates_are_403_and_change_nothing(app: Flask, client: FlaskClient, send) -> None:
    before = dataset_snapshot(app)
    assert_plain_error(send(client), 403, "read-only")
    assert dataset_snapshot(app) == before
    assert json_rows(get(client, COUNT)) == [(str(FIXTURE_UNION_SIZE),)]


def test_update_text_as_a_query_is_a_syntax_error(client: FlaskClient) -> None:
    assert_plain_error(get(client, "LOAD <http://example.org/data.ttl>"), 400, "Syntax error")


# --- Limits on size -----------------------------------------------------------------------------------------


def test_results_past_the_limit_are_cut_and_say_so(make_app) -> None:
    client = make_app(RESULT_LIMIT=3).test_client()
    response = get(client, "SELECT * WHERE { ?s ?p ?o }")
    assert len(json_rows(response)) == 3
    assert response.headers[TRUNCATED_HEADER] == "3"
    assert TRUNCATED_HEADER in response.headers["Access-Control-Expose-Headers"]
    response = get(client, "CONSTRUCT WHERE { ?s ?p ?o }", format="nt")
    assert len(response.data.splitlines()) == 3
    assert response.headers[TRUNCATED_HEADER] == "3"
    response = get(client, "DESCRIBE <http://example.org/alice>", format="nt")
    assert len(response.data.splitlines()) == 3
    assert response.headers[TRUNCATED_HEADER] == "3"


def test_results_within_the_limit_are_not_marked(make_app) -> None:
    client = make_app(RESULT_LIMIT=3).test_client()
    response = get(client, "SELECT * WHERE { ?s ?p ?o } LIMIT 3")
    assert len(json_rows(response)) == 3
    assert TRUNCATED_HEADER not in response.headers


# --- CORS ---------------------------------------------------------------------------------------------------


def test_query_responses_allow_any_origin(client: FlaskClient) -> None:
    response = get(client, "ASK {}", {"Origin": "https://yasgui.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_preflight(client: FlaskClient) -> None:
    response = client.options(
        "/sparql",
        headers={
            "Origin": "https://yasgui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, accept",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"accept", "content-type"} <= allowed
    assert int(response.headers["Access-Control-Max-Age"]) >= 600


# --- Service description and health -------------------------------------------------------------------------


def test_service_description_in_turtle(client: FlaskClient) -> None:
    response = client.get("/sparql")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    g = Graph().parse(data=response.data, format="turtle")
    service = g.value(predicate=RDF.type, object=SD.Service)
    assert g.value(service, SD.endpoint) == URIRef("http://localhost/sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in g
    assert (service, SD.feature, SD.UnionDefaultGraph) in g
    assert set(g.objects(service, SD.resultFormat)) == {f.iri for f in RESULT_FORMATS + GRAPH_FORMATS}
    dataset = g.value(service, SD.defaultDataset)
    names = {g.value(n, SD.name) for n in g.objects(dataset, SD.namedGraph)}
    assert names == set(FIXTURE_GRAPHS)
    default = g.value(dataset, SD.defaultGraph)
    assert g.value(default, URIRef("http://rdfs.org/ns/void#triples")) == Literal(FIXTURE_UNION_SIZE)
    assert "union" in str(g.value(default, URIRef("http://www.w3.org/2000/01/rdf-schema#comment")))


def test_service_description_in_other_rdf_formats(client: FlaskClient) -> None:
    response = client.get("/sparql", headers={"Accept": "application/ld+json"})
    assert response.headers["Content-Type"] == "application/ld+json; charset=utf-8"
    assert (None, RDF.type, SD.Service) in parse_rdf(response.data, "json-ld")
    assert client.get("/sparql?format=nt").headers["Content-Type"] == "application/n-triples; charset=utf-8"


def test_service_description_for_browsers_is_a_page_with_a_query_form(client: FlaskClient) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", headers={"Accept": accept})
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.data.decode()
    assert '<form method="get" action="/sparql">' in page
    assert '<textarea id="query" name="query"' in page
    for name in FIXTURE_GRAPHS:
        assert str(name) in page


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data == b"ok\n"


@pytest.mark.parametrize(
    ("query", "output"),
    [
        ('SELECT ("a\\u0000b" AS ?x) {}', "xml"),
        ('SELECT ("bell\\u0007" AS ?x) {}', "xml"),
        ('CONSTRUCT { <http://example.org/s> <http://example.org/p> "a\\u001Fb" } WHERE {}', "xml"),
    ],
    ids=["NUL in SPARQL XML", "BEL in SPARQL XML", "US in RDF/XML"],
)
def test_xml_refuses_what_xml_1_0_cannot_carry(client: FlaskClient, query: str, output: str) -> None:
    response = client.get("/sparql", query_string={"query": query, "format": output})
    assert_plain_error(response, 406, "which XML 1.0 cannot carry")
    # The same answer in JSON carries the character, escaped.
    answer = client.get("/sparql", query_string={"query": query, "format": "json"})
    assert answer.status_code == 200
    assert b"\\u00" in answer.data


def test_xml_escapes_what_xml_can_carry(client: FlaskClient) -> None:
    query = 'SELECT ("<&>\\"\\t\\r\\n\\u00E9" AS ?x) {}'
    response = client.get("/sparql", query_string={"query": query, "format": "xml"})
    assert response.status_code == 200
    literal = ET.fromstring(response.data).find(".//{http://www.w3.org/2005/sparql-results#}literal")
    assert literal is not None and literal.text == '<&>"\t\r\né'


def test_rdf_xml_escapes_what_xml_can_carry(client: FlaskClient) -> None:
    query = f'CONSTRUCT {{ <{EX}s> <{EX}p> "<&>\\"\\t\\r\\n\\u00E9" }} WHERE {{}}'
    response = client.get("/sparql", query_string={"query": query, "format": "xml"})
    assert response.status_code == 200
    assert set(parse_rdf(response.data, "xml").objects()) == {Literal('<&>"\t\r\né')}


def test_blank_nodes_are_one_node_in_their_graph_and_in_the_union_and_files_stay_apart(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """Served files with blank nodes: a blank node of the default graph (the union) is the very node of its
    named graph, and two files that use the same label hold two nodes (RDF's merge), in Turtle and in TriG."""
    first, second, quads = tmp_path / "first.ttl", tmp_path / "second.ttl", tmp_path / "quads.trig"
    for file in (first, second):
        file.write_text('_:a <urn:p> _:b . _:b <urn:q> "x" .\n')
    quads.write_text('<urn:g> { _:a <urn:p> _:b . _:b <urn:q> "y" . } _:a <urn:r> "default" .\n')
    client = make_app(DATASET_FILES=[DatasetSource(f) for f in (first, second, quads)]).test_client()
    joined = "SELECT ?x ?g WHERE { ?x <urn:p> ?y . ?y <urn:q> ?v . GRAPH ?g { ?x <urn:p> ?y } }"
    assert sorted(
        row[1] for row in json_rows(get(client, joined, {"Accept": "application/sparql-results+json"}))
    ) == [
        first.resolve().as_uri(),
        second.resolve().as_uri(),
        "urn:g",
    ]
    count = "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x <urn:p> ?y }"
    assert json_rows(get(client, count, {"Accept": "application/sparql-results+json"})) == [("3",)]
    moved = 'SELECT ?g WHERE { GRAPH ?g { ?s <urn:r> "default" } }'
    assert json_rows(get(client, moved, {"Accept": "application/sparql-results+json"})) == [
        (quads.resolve().as_uri(),)
    ]
