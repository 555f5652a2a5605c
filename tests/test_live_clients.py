"""A real server (``collabkg serve``: gunicorn, in a subprocess) queried by real clients.

SPARQLWrapper in each of its return formats and request methods, and rdflib's SPARQLStore.
"""

from __future__ import annotations

import csv
import http.client
import io
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EX, FIXTURE_GRAPHS, FIXTURE_UNION_SIZE, RUNAWAY, LiveServer, serve_graphs
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)

pytestmark = [
    pytest.mark.live,
    # SPARQLWrapper (RDF/XML) and rdflib's JSON-LD parser build ConjunctiveGraphs, which rdflib 7 deprecates:
    # the clients' business, not the server's.
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
]

PEOPLE = EX + "people"
SELECT = f"SELECT ?person WHERE {{ GRAPH <{PEOPLE}> {{ ?person a <{EX}Person> }} }} ORDER BY ?person"
ASK = f"ASK {{ <{EX}alice> <{EX}knows> <{EX}bob> }}"
CONSTRUCT = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{PEOPLE}> {{ ?s ?p ?o }} }}"
DESCRIBE = f"DESCRIBE <{EX}alice> <{EX}bob> FROM <{PEOPLE}>"
#: How SPARQLWrapper can send a query: GET, a form POST, the query as the POST body.
METHODS = {"get": None, "post-form": URLENCODED, "post-direct": POSTDIRECTLY}


def wrapper(server: LiveServer, query: str, return_format: str, method: str) -> SPARQLWrapper:
    client = SPARQLWrapper(server.endpoint)
    client.setQuery(query)
    client.setReturnFormat(return_format)
    client.setTimeout(30)
    if METHODS[method] is not None:
        client.setMethod(POST)
        client.setRequestMethod(METHODS[method])
    return client


def people_graph() -> Graph:
    return Graph().parse(FIXTURE_GRAPHS[URIRef(PEOPLE)])


@pytest.fixture(params=list(METHODS))
def method(request: pytest.FixtureRequest) -> str:
    return request.param


# --- SPARQLWrapper ------------------------------------------------------------------------------------------


def test_select_json(live_server: LiveServer, method: str) -> None:
    data = wrapper(live_server, SELECT, JSON, method).query().convert()
    assert [row["person"]["value"] for row in data["results"]["bindings"]] == [EX + "alice", EX + "bob"]


def test_select_xml(live_server: LiveServer, method: str) -> None:
    document = wrapper(live_server, SELECT, XML, method).query().convert()
    uris = [node.firstChild.data for node in document.getElementsByTagName("uri")]
    assert uris == [EX + "alice", EX + "bob"]


@pytest.mark.parametrize(("return_format", "delimiter"), [(CSV, ","), (TSV, "\t")])
def test_select_csv_tsv(live_server: LiveServer, method: str, return_format: str, delimiter: str) -> None:
    text = wrapper(live_server, SELECT, return_format, method).query().convert().decode()
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if return_format == CSV:
        assert rows == [["person"], [EX + "alice"], [EX + "bob"]]
    else:
        assert rows == [["?person"], [f"<{EX}alice>"], [f"<{EX}bob>"]]


def test_ask_json_and_xml(live_server: LiveServer, method: str) -> None:
    assert wrapper(live_server, ASK, JSON, method).query().convert()["boolean"] is True
    document = wrapper(live_server, ASK, XML, method).query().convert()
    assert document.getElementsByTagName("boolean")[0].firstChild.data == "true"


@pytest.mark.parametrize("return_format", [CSV, TSV])
def test_ask_csv_tsv(live_server: LiveServer, method: str, return_format: str) -> None:
    assert wrapper(live_server, ASK, return_format, method).query().convert().strip() == b"true"


@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
@pytest.mark.parametrize("return_format", [TURTLE, N3])
def test_graph_as_turtle_or_n3(live_server: LiveServer, method: str, query: str, return_format: str) -> None:
    data = wrapper(live_server, query, return_format, method).query().convert()
    assert isomorphic(Graph().parse(data=data, format="turtle"), people_graph())


@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
@pytest.mark.parametrize("return_format", [RDFXML, XML])
def test_graph_as_rdfxml(live_server: LiveServer, method: str, query: str, return_format: str) -> None:
    graph = wrapper(live_server, query, return_format, method).query().convert()
    assert isomorphic(graph, people_graph())


@pytest.mark.filterwarnings(
    "ignore:ConjunctiveGraph is deprecated:DeprecationWarning"
)  # rdflib's JSON-LD parser
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_graph_as_jsonld(live_server: LiveServer, method: str, query: str) -> None:
    graph = wrapper(live_server, query, JSONLD, method).query().convert()
    assert isomorphic(graph, people_graph())


def test_update_is_refused_with_403(live_server: LiveServer) -> None:
    client = SPARQLWrapper(live_server.endpoint)
    client.setQuery("CLEAR ALL")
    client.setMethod(POST)
    with pytest.raises(urllib.error.HTTPError) as raised:
        client.query()
    with raised.value as response:  # an HTTPError holds the connection until closed
        assert response.code == 403
    assert wrapper(live_server, ASK, JSON, "get").query().convert()["boolean"] is True


# --- rdflib's SPARQLStore -----------------------------------------------------------------------------------


@pytest.fixture
def remote(live_server: LiveServer) -> Iterator[SPARQLStore]:
    store = SPARQLStore(live_server.endpoint)  # its default: XML results, RDF/XML graphs
    yield store
    store.close()


def test_sparqlstore_reads_the_default_graph(remote: SPARQLStore) -> None:
    graph = Graph(store=remote)
    assert len(graph) == FIXTURE_UNION_SIZE
    assert set(graph.objects(URIRef(EX + "alice"), URIRef(EX + "knows"))) == {URIRef(EX + "bob")}


def test_sparqlstore_reads_a_named_graph_through_default_graph_uri(remote: SPARQLStore) -> None:
    orgs = Graph(store=remote, identifier=URIRef(EX + "orgs"))
    assert len(orgs) == 4
    assert isomorphic(Graph() + orgs, Graph().parse(FIXTURE_GRAPHS[URIRef(EX + "orgs")]))


def test_sparqlstore_lists_the_named_graphs(remote: SPARQLStore) -> None:
    assert {g.identifier if isinstance(g, Graph) else g for g in remote.contexts()} == set(FIXTURE_GRAPHS)


def test_sparqlstore_runs_each_query_form(remote: SPARQLStore) -> None:
    graph = Graph(store=remote)
    assert [row.person for row in graph.query(SELECT)] == [URIRef(EX + "alice"), URIRef(EX + "bob")]
    assert graph.query(ASK).askAnswer is True
    assert isomorphic(graph.query(CONSTRUCT).graph, people_graph())


# --- HTTP details only a real server shows ------------------------------------------------------------------


def test_preflight_and_cors_over_http(live_server: LiveServer) -> None:
    connection = http.client.HTTPConnection(live_server.url.removeprefix("http://"), timeout=10)
    connection.request(
        "OPTIONS", "/sparql", headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"}
    )
    response = connection.getresponse()
    response.read()
    connection.close()  # the server keeps connections alive
    assert response.status == 204
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert "POST" in response.getheader("Access-Control-Allow-Methods")


def test_a_chunked_body_past_the_size_limit_is_413(live_server: LiveServer) -> None:
    connection = http.client.HTTPConnection(live_server.url.removeprefix("http://"), timeout=10)
    chunks = (b"#" * 65536 for _ in range(32))  # 2 MiB with no Content-Length; the limit is 1 MiB
    connection.request("POST", "/sparql", body=chunks, headers={"Content-Type": "application/sparql-query"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 413
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"


def test_a_runaway_query_frees_its_worker(tmp_path: Path) -> None:
    with serve_graphs(
        FIXTURE_GRAPHS, tmp_path, timeout=1, workers=1
    ) as server:  # one worker: it must come back
        url = server.endpoint + "?" + urllib.parse.urlencode({"query": RUNAWAY})
        started = time.monotonic()
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(url, timeout=30)
        with raised.value as response:
            assert response.code == 503
            assert b"stopped after 1 s" in response.read()
        assert time.monotonic() - started < 3
        started = time.monotonic()
        assert wrapper(server, ASK, JSON, "get").query().convert()["boolean"] is True
        assert time.monotonic() - started < 1


def test_serve_says_which_dataset_file_is_broken(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text("<http://example.org/s> <http://example.org/p> .\n")
    args = [sys.executable, "-c", "from collabkg.cli import main; main()", "serve", "--dataset", str(broken)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    said = done.stderr.splitlines()
    assert said[0] == f"loading {broken} ..." and said[1].startswith(f"error: {broken}")
