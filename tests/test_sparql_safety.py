"""No query reads a URL or a file, changes the data, runs past its time limit or grows past its memory.

Each hole is shown open on a bare pyoxigraph ``Store`` first (so the test could fail), then shown closed at
/sparql. Bare Oxigraph runs that could not be stopped run in a child process, which the test kills.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyoxigraph
import pytest
from collabkg.store.oxigraph import OxigraphStore
from collabkg.store.processes import QueryProcess
from collabkg.web.context import Service
from conftest import RUNAWAY, dataset_snapshot
from flask import Flask
from flask.testing import FlaskClient

MARKER = "marker-3f1c9a"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def memory_bomb(levels: int) -> str:
    """A query of about a kilobyte whose answer needs a string of 10^(levels + 3) characters."""
    parts = [f'BIND("{"a" * 1000}" AS ?v0)']
    parts += [f"BIND(CONCAT({','.join([f'?v{i - 1}'] * 10)}) AS ?v{i})" for i in range(1, levels + 1)]
    return f"SELECT (STRLEN(?v{levels}) AS ?n) WHERE {{ {' '.join(parts)} }}"


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


def test_bare_oxigraph_calls_a_service(listener: ThreadingHTTPServer) -> None:
    result = pyoxigraph.Store().query(
        f"SELECT ?x WHERE {{ SERVICE <{listener_url(listener)}> {{ ?x ?p ?o }} }}"
    )
    assert [row["x"].value for row in result] == [MARKER]  # type: ignore[index, union-attr]
    assert len(listener.requests) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "pattern",
    [
        "SERVICE <{url}> {{ ?x ?p ?o }}",
        "service <{url}> {{ ?x ?p ?o }}",
        "SeRvIcE <{url}> {{ ?x ?p ?o }}",
        "SERVICE SILENT <{url}> {{ ?x ?p ?o }}",
        "# a comment first\n SERVICE <{url}> {{ ?x ?p ?o }}",
        "SERVICE # a comment between\n <{url}> {{ ?x ?p ?o }}",
        "OPTIONAL {{ SERVICE <{url}> {{ ?x ?p ?o }} }}",
        "FILTER EXISTS {{ SERVICE <{url}> {{ ?x ?p ?o }} }}",
        "FILTER NOT EXISTS {{ SERVICE <{url}> {{ ?x ?p ?o }} }}",
        "{{ SELECT ?x WHERE {{ SERVICE <{url}> {{ ?x ?p ?o }} }} }}",
        "?s ?p ?o MINUS {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "BIND(<{url}> AS ?endpoint) SERVICE ?endpoint {{ ?x ?p ?o }}",
        "\\u0053ERVICE <{url}> {{ ?x ?p ?o }}",
        "SERV\\u0049CE <{url}> {{ ?x ?p ?o }}",
        "\\U00000053\\U00000045RVICE <{url}> {{ ?x ?p ?o }}",
        "{{ {{ {{ service silent <{url}> {{ ?x ?p ?o }} }} }} }}",
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


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?service WHERE { ?service ?p ?o }",
        'SELECT ?x WHERE { BIND("SERVICE <http://127.0.0.1:9/> { }" AS ?x) }',
        "PREFIX service: <http://example.org/> SELECT ?o WHERE { service:x ?p ?o }",
        "PREFIX ex: <http://example.org/> SELECT ?o WHERE { ex:service ?p ?o }",
        "SELECT ?o WHERE { <http://example.org/SERVICE> ?p ?o }",
        "# SERVICE <http://127.0.0.1:9/> in a comment\nSELECT ?o WHERE { ?s ?p ?o }",
    ],
)
def test_the_word_service_where_it_is_no_keyword_is_not_refused(client: FlaskClient, text: str) -> None:
    assert query(client, text).status_code == 200


def test_a_query_process_cannot_reach_the_network_even_past_the_refusal(
    app: Flask, listener: ThreadingHTTPServer
) -> None:
    """The second line of defence: the processes that run queries are in a network namespace of their own.
    A SERVICE query sent to one directly (as no request can) reaches nothing."""
    store = Service.of(app).store
    assert isinstance(store, OxigraphStore)
    process = QueryProcess(store.path, memory=0)
    try:
        if not process.isolated:
            pytest.skip(
                "this kernel refuses unprivileged user and network namespaces; the refusal alone holds"
            )
        process.send(
            {
                "op": "query",
                "query": f"SELECT * WHERE {{ SERVICE <{listener_url(listener)}> {{ ?x ?p ?o }} }}",
                "limit": 10,
                "format": "json",
            }
        )
        header, _ = process.answer(time.monotonic() + 30)
    finally:
        process.kill()
    assert header["ok"] is False and header["error"] == "evaluation"
    assert listener.requests == []  # type: ignore[attr-defined]


# --- FROM, FROM NAMED and the protocol's graph parameters ---------------------------------------------------


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
    assert json.loads(query(client, f"ASK FROM <{url}> {{ ?s ?p ?o }}").data)["boolean"] is False
    assert query(client, "ASK { ?s ?p ?o }", **{"named-graph-uri": url}).status_code == 200
    assert listener.requests == []  # type: ignore[attr-defined]


def test_an_xml_literal_cannot_pull_in_an_external_entity(client: FlaskClient, local_file: Path) -> None:
    xml = f'<!DOCTYPE a [<!ENTITY e SYSTEM \\"{local_file.as_uri()}\\">]><a>&e;</a>'
    text = f'PREFIX rdf: <{RDF_NS}> SELECT ?x WHERE {{ BIND(STR("{xml}"^^rdf:XMLLiteral) AS ?x) }}'
    response = query(client, text)
    assert response.status_code == 200
    assert MARKER not in response.data.decode()


def test_the_served_store_is_opened_read_only(app: Flask) -> None:
    """The query processes open the store read-only: even an update sent straight to one would fail."""
    store = Service.of(app).store
    assert isinstance(store, OxigraphStore)
    with pytest.raises(RuntimeError, match="read-write"):
        pyoxigraph.Store.read_only(str(store.path)).update("INSERT DATA { <urn:a> <urn:b> <urn:c> }")


# --- Time ---------------------------------------------------------------------------------------------------


def timed(send):
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def test_bare_oxigraph_has_no_time_limit() -> None:
    """A query in bare Oxigraph runs on past any limit: nothing in its API stops it (here, in a child
    process the test kills)."""
    script = (
        "import pyoxigraph as ox\n"
        "s = ox.Store()\n"
        "for i in range(16): s.add(ox.Quad(ox.NamedNode(f'urn:s{i}'), ox.NamedNode('urn:p'), ox.Literal(str(i))))\n"
        f"print(list(s.query({RUNAWAY!r})))\n"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", script], timeout=3, capture_output=True)


def test_a_runaway_query_is_stopped_and_the_next_answers_at_once(make_app) -> None:
    app = make_app(QUERY_TIMEOUT=1)
    client = app.test_client()
    response, seconds = timed(lambda: query(client, RUNAWAY))
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "stopped after 1 s" in response.data.decode()
    assert "Retry-After" in response.headers
    assert 1 <= seconds < 3
    response, seconds = timed(lambda: query(client, "ASK { ?s ?p ?o }"))
    assert response.status_code == 200
    assert seconds < 2


def test_a_stopped_query_is_stopped_for_real(make_app) -> None:
    """The process that ran it is gone: no CPU goes on being spent on a query nobody waits for."""
    app = make_app(QUERY_TIMEOUT=1, QUICK_SECONDS=5)
    client = app.test_client()
    store = Service.of(app).store
    assert isinstance(store, OxigraphStore)
    children_before = _children()
    assert query(client, RUNAWAY).status_code == 503
    time.sleep(0.2)
    busy = [pid for pid in _children() - children_before if _cpu_seconds(pid) > 0.5]
    assert busy == []


def test_off_the_main_thread_a_runaway_query_is_stopped_too(make_app) -> None:
    client = make_app(QUERY_TIMEOUT=1).test_client()
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(timed(lambda: query(client, RUNAWAY))))
    thread.start()
    thread.join(30)
    (response, seconds) = outcome[0]
    assert response.status_code == 503
    assert seconds < 3


# --- Memory -------------------------------------------------------------------------------------------------


def test_bare_oxigraph_lets_one_query_take_any_memory() -> None:
    """A query of about a kilobyte takes a bare Oxigraph process past a gigabyte."""
    script = (
        "import pyoxigraph as ox, resource\n"
        f"list(ox.Store().query({memory_bomb(6)!r}))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], timeout=60, capture_output=True, text=True, check=True
    )
    assert int(done.stdout) > 1_000_000  # kilobytes


def test_a_query_past_its_memory_is_stopped_and_the_next_answers(make_app) -> None:
    client = make_app(QUERY_MEMORY=256 * 1024 * 1024).test_client()
    response = query(client, memory_bomb(6))
    assert response.status_code == 503
    assert "more memory than this service allows" in response.data.decode()
    assert query(client, memory_bomb(2)).status_code == 200
    assert query(client, "ASK { ?s ?p ?o }").status_code == 200


def _children() -> set[int]:
    """The process ids of this process's children."""
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return {int(pid) for pid in path.read_text().split()} if path.exists() else set()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / 100
