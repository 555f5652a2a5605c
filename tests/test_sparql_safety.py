"""No query reads a URL or a file, changes the data, or runs past its time limit.

Each hole is shown open in bare rdflib first (so the test could fail), then shown closed at /sparql.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from collabkg.store.evaluate import DatasetWindow
from collabkg.store.query import AccessRefused, DatasetSelection, TimeLimitExceeded
from collabkg.store.sandbox import within
from collabkg.web.context import Service
from conftest import dataset_snapshot
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Dataset, Graph, Literal, URIRef

MARKER = "marker-3f1c9a"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#: A cross product of six triple patterns: 16^6 rows over the fixture, minutes of work for rdflib.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }"
#: Catastrophic backtracking: CPU only, no triple read, inside the C regex engine.
BACKTRACKING = 'ASK { FILTER(REGEX("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "^(a+)+$")) }'


class _RecordingHandler(BaseHTTPRequestHandler):
    """Answers any request as a SPARQL endpoint would, with one row holding the marker, and records it."""

    def _answer(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        body = json.dumps(
            {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": MARKER}}]}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return


@pytest.fixture
def listener() -> Iterator[ThreadingHTTPServer]:
    """An HTTP server on a loopback port that records every request it gets."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def listener_url(server: ThreadingHTTPServer, path: str = "/sparql") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.fixture
def local_file(tmp_path: Path) -> Path:
    """A Turtle file on this machine, holding the marker."""
    path = tmp_path / "local.ttl"
    path.write_text(f'<http://example.org/secret> <http://example.org/says> "{MARKER}" .\n')
    return path


def query(client: FlaskClient, text: str, **params: str):
    return client.get("/sparql", query_string={"query": text, **params})


# --- SERVICE ------------------------------------------------------------------------------------------------


def test_bare_rdflib_calls_a_service(listener: ThreadingHTTPServer) -> None:
    result = Graph().query(f"SELECT ?x WHERE {{ SERVICE <{listener_url(listener)}> {{ ?x ?p ?o }} }}")
    assert [str(row.x) for row in result] == [MARKER]
    assert len(listener.requests) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "pattern",
    [
        "SERVICE <{url}> {{ ?x ?p ?o }}",
        "SERVICE SILENT <{url}> {{ ?x ?p ?o }}",
        "OPTIONAL {{ SERVICE <{url}> {{ ?x ?p ?o }} }}",
        "FILTER EXISTS {{ SERVICE <{url}> {{ ?x ?p ?o }} }}",
        "{{ SELECT ?x WHERE {{ SERVICE <{url}> {{ ?x ?p ?o }} }} }}",
        "?s ?p ?o MINUS {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "BIND(<{url}> AS ?endpoint) SERVICE ?endpoint {{ ?x ?p ?o }}",
    ],
)
def test_service_is_refused_before_any_request(
    app: Flask, client: FlaskClient, listener: ThreadingHTTPServer, pattern: str
) -> None:
    before = dataset_snapshot(app)
    response = query(client, "SELECT * WHERE { " + pattern.format(url=listener_url(listener)) + " }")
    assert response.status_code == 400
    assert "SERVICE is not allowed" in response.data.decode()
    assert listener.requests == []  # type: ignore[attr-defined]
    assert dataset_snapshot(app) == before


# --- FROM, FROM NAMED and the protocol's graph parameters ---------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's own dataset code, in the control case
def test_bare_rdflib_reads_a_local_file_named_in_from(local_file: Path) -> None:
    result = Dataset().query(f"SELECT ?o FROM <{local_file.as_uri()}> WHERE {{ ?s ?p ?o }}")
    assert [str(row.o) for row in result] == [MARKER]


def test_from_a_local_file_returns_nothing_of_it(client: FlaskClient, local_file: Path) -> None:
    uri = local_file.as_uri()
    responses = [
        query(client, f"SELECT * FROM <{uri}> WHERE {{ ?s ?p ?o }}"),
        query(client, f"SELECT * FROM NAMED <{uri}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"),
        query(client, f"SELECT * WHERE {{ GRAPH <{uri}> {{ ?s ?p ?o }} }}"),
        query(client, "SELECT * WHERE { ?s ?p ?o }", **{"default-graph-uri": uri}),
        query(client, "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": uri}),
        query(client, "CONSTRUCT WHERE { ?s ?p ?o }", **{"default-graph-uri": uri}),
        query(client, f"DESCRIBE <http://example.org/secret> FROM <{uri}>"),
    ]
    for response in responses:
        assert response.status_code == 200
        assert MARKER not in response.data.decode()
        assert "secret" not in response.data.decode().replace("http://example.org/secret", "")


def test_from_a_url_sends_no_request(client: FlaskClient, listener: ThreadingHTTPServer) -> None:
    url = listener_url(listener, "/data.ttl")
    assert query(client, f"ASK FROM <{url}> {{ ?s ?p ?o }}").data == b'{"head": {}, "boolean": false}'
    assert query(client, "ASK { ?s ?p ?o }", **{"named-graph-uri": url}).status_code == 200
    assert listener.requests == []  # type: ignore[attr-defined]


def test_an_xml_literal_cannot_pull_in_an_external_entity(client: FlaskClient, local_file: Path) -> None:
    xml = f'<!DOCTYPE a [<!ENTITY e SYSTEM \\"{local_file.as_uri()}\\">]><a>&e;</a>'
    text = f'PREFIX rdf: <{RDF_NS}> SELECT ?x WHERE {{ BIND(STR("{xml}"^^rdf:XMLLiteral) AS ?x) }}'
    response = query(client, text)
    assert response.status_code == 200
    assert MARKER not in response.data.decode()


# --- The guard around running queries -----------------------------------------------------------------------


def test_guard_refuses_file_reads_while_a_query_runs(local_file: Path) -> None:
    with pytest.raises(AccessRefused, match="files"):
        within(5, lambda deadline: local_file.read_text())
    assert MARKER in local_file.read_text()  # outside a query, nothing is refused


def test_guard_refuses_network_access_while_a_query_runs(listener: ThreadingHTTPServer) -> None:
    with pytest.raises(AccessRefused, match="network"):
        within(5, lambda deadline: urllib.request.urlopen(listener_url(listener), timeout=5))
    assert listener.requests == []  # type: ignore[attr-defined]


def test_guard_refuses_starting_programs_while_a_query_runs() -> None:
    with pytest.raises(AccessRefused, match="programs"):
        within(5, lambda deadline: subprocess.run(["true"], check=True))


def test_the_window_refuses_writes(app: Flask) -> None:
    before = dataset_snapshot(app)
    window = DatasetWindow(Service.of(app).store.dataset.store, DatasetSelection(), float("inf"))
    with pytest.raises(PermissionError):
        window.graph().add((URIRef("http://example.org/x"), URIRef("http://example.org/y"), Literal(1)))
    with pytest.raises(PermissionError):
        window.graph().remove((None, None, None))
    assert dataset_snapshot(app) == before


# --- Time ---------------------------------------------------------------------------------------------------


def timed(send):
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def test_a_runaway_query_is_stopped_and_the_next_answers_at_once(make_app) -> None:
    client = make_app(QUERY_TIMEOUT=1).test_client()
    response, seconds = timed(lambda: query(client, RUNAWAY))
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "stopped after 1 s" in response.data.decode()
    assert 1 <= seconds < 3
    response, seconds = timed(lambda: query(client, "ASK { ?s ?p ?o }"))
    assert response.status_code == 200
    assert seconds < 0.5


def test_a_query_stuck_in_the_regex_engine_is_stopped(make_app) -> None:
    client = make_app(QUERY_TIMEOUT=1).test_client()
    response, seconds = timed(lambda: query(client, BACKTRACKING))
    assert response.status_code == 503
    assert seconds < 3


def test_off_the_main_thread_a_runaway_query_stops_at_its_next_read(make_app) -> None:
    client = make_app(QUERY_TIMEOUT=1).test_client()
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(timed(lambda: query(client, RUNAWAY))))
    thread.start()
    thread.join(30)
    (response, seconds) = outcome[0]
    assert response.status_code == 503
    assert seconds < 3


def test_the_alarm_is_put_back_as_it_was(make_app) -> None:
    client = make_app(QUERY_TIMEOUT=1).test_client()
    fired = []

    def runner_timeout(signum, frame) -> None:  # a test runner's own alarm, say
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, runner_timeout)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        assert query(client, RUNAWAY).status_code == 503
        assert signal.getsignal(signal.SIGALRM) is runner_timeout
        delay, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < delay < 29.5
        time.sleep(0.3)  # no stray alarm from the stopped query arrives late
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_within_passes_results_and_errors_through() -> None:
    assert within(5, lambda deadline: deadline - time.monotonic()) <= 5
    with pytest.raises(TimeLimitExceeded):
        within(0.2, lambda deadline: time.sleep(5))
    with pytest.raises(ZeroDivisionError):
        within(5, lambda deadline: 1 / 0)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
