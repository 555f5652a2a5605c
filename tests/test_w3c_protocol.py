"""The W3C SPARQL 1.1 Protocol test suite, run from its manifest against a live server.

The manifest (``../shared/w3c/sparql11-protocol/manifest.ttl`` next to this repository, see its README) is read
with rdflib: each case is a list of HTTP requests with the expected status class, result format and ASK answer.
Its ``ut:graphData`` files are served as named graphs named by their labels (``collabkg serve --graph``), and
its ``/sparql/`` paths go to our ``/sparql``.

This endpoint is read-only, so in the ``update_*`` cases every update request must get 403 instead of 2xx, the
data must be unchanged after them, and the queries that follow are checked for status and format only (the
expected answers assume the update ran). Every other case must pass as written.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, SUMMARY_LINES, LiveServer, parse_rdf, serve_graphs
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDFS

pytestmark = pytest.mark.live

SUITE = ROOT.parent / "shared" / "w3c" / "sparql11-protocol"
MANIFEST = SUITE / "manifest.ttl"

if not MANIFEST.is_file():
    pytest.skip(
        f"W3C protocol suite not found at {MANIFEST} (no shared/ next to the repository)",
        allow_module_level=True,
    )

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")

#: Parsers for the RDF media types our server answers with.
RDF_PARSERS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}
SPARQL_RESULTS = {"application/sparql-results+json", "application/sparql-results+xml"}
#: Content types each ``mf:expectedFormat`` allows.
RESULT_TYPES = {
    "boolean": SPARQL_RESULTS,
    "tabular": SPARQL_RESULTS | {"text/csv", "text/tab-separated-values"},
    "RDF": set(RDF_PARSERS),
}


@dataclass(frozen=True)
class Request:
    """One ``ht:Request`` of a case and the response it expects."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[int]  # expected status classes: 2 for hts:StatusCode2xx
    result_format: str | None
    boolean: bool | None

    @property
    def is_update(self) -> bool:
        content_type = self.headers.get("content-type", "")
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if self.body is not None and content_type.startswith("application/x-www-form-urlencoded"):
            params |= urllib.parse.parse_qs(self.body.decode())
        return content_type.startswith("application/sparql-update") or "update" in params


@dataclass(frozen=True)
class Case:
    name: str
    requests: tuple[Request, ...]
    graphs: dict[str, Path]


def _local_path(iri: URIRef) -> Path:
    return Path(urllib.request.url2pathname(urllib.parse.urlsplit(str(iri)).path))


def _request(g: Graph, node) -> Request:
    headers = {}
    if (header_list := g.value(node, HT.headers)) is not None:
        for header in Collection(g, header_list):
            headers[str(g.value(header, HT.fieldName)).lower()] = str(g.value(header, HT.fieldValue))
    body = None
    if (content := g.value(node, HT.body)) is not None:
        body = str(g.value(content, CNT.chars)).encode(
            str(g.value(content, CNT.characterEncoding) or "UTF-8")
        )
    response = g.value(node, HT.resp)
    codes = (str(code).removeprefix(str(HTS.StatusCode)) for code in g.objects(response, MF.expectedStatus))
    statuses = frozenset(int(code[0]) for code in codes)
    result_format = g.value(response, MF.expectedFormat)
    boolean = g.value(response, MF.expectedBoolean)
    path = str(g.value(node, HT.absolutePath))
    return Request(
        method=str(g.value(node, HT.methodName)),
        path="/sparql" + path.removeprefix("/sparql/"),
        headers=headers,
        body=body,
        statuses=statuses,
        result_format=None if result_format is None else str(result_format),
        boolean=None if boolean is None else bool(boolean.toPython()),
    )


def read_manifest() -> list[Case]:
    g = Graph().parse(MANIFEST, format="turtle")
    manifest = next(g.subjects(MF.entries, None))
    cases = []
    for entry in Collection(g, g.value(manifest, MF.entries)):
        requests = Collection(g, g.value(g.value(entry, MF.action), HT.requests))
        graphs = {
            str(g.value(data, RDFS.label)): _local_path(g.value(data, UT.graph))
            for data in g.objects(entry, UT.graphData)
        }
        name = str(entry).rsplit("#", 1)[1]
        cases.append(Case(name, tuple(_request(g, node) for node in requests), graphs))
    return cases


CASES = read_manifest()
RESULTS: dict[str, bool] = {}
#: One triple per graph of the suite's data, to check after each update that nothing changed.
DATA_ASK = (
    "ASK { "
    + " ".join(
        f"GRAPH <{label}> {{ <{label}> a <http://xmlns.com/foaf/0.1/Document> }}"
        for label in sorted({label for case in CASES for label in case.graphs})
    )
    + " }"
)


@pytest.fixture(scope="module")
def suite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server with every case's graph data (the cases agree on what each label names)."""
    graphs: dict[str, Path] = {}
    for case in CASES:
        for label, path in case.graphs.items():
            assert graphs.setdefault(label, path) == path
    with serve_graphs(graphs, tmp_path_factory.mktemp("w3c")) as server:
        yield server


@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Say at the end of the run how many cases of the suite passed."""
    yield
    line = f"W3C protocol: {sum(RESULTS.values())}/{len(CASES)} passed"
    request.config.stash.setdefault(SUMMARY_LINES, []).append(line)


def send(server: LiveServer, req: Request) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(server.url).netloc, timeout=30)
    try:
        connection.request(req.method, req.path, body=req.body, headers=req.headers)
        response = connection.getresponse()
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return response.status, content_type, response.read()
    finally:
        connection.close()


def check_result(req: Request, content_type: str, body: bytes, *, check_boolean: bool) -> None:
    """The response is in the expected format, and (for ASK) gives the expected answer."""
    if req.result_format is None:
        return
    assert content_type in RESULT_TYPES[req.result_format], f"{content_type} is not {req.result_format}"
    if req.result_format == "RDF":
        parse_rdf(body, RDF_PARSERS[content_type])
        return
    if content_type == "application/sparql-results+json":
        data = json.loads(body)
        answer = data.get("boolean")
        assert ("boolean" in data) == (req.result_format == "boolean")
    elif content_type == "application/sparql-results+xml":
        root = ET.fromstring(body)
        node = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
        answer = None if node is None else node.text == "true"
        assert (node is not None) == (req.result_format == "boolean")
    else:  # CSV / TSV: tabular only
        return
    if check_boolean and req.boolean is not None:
        assert answer == req.boolean


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_w3c_protocol_case(suite_server: LiveServer, case: Case) -> None:
    RESULTS[case.name] = False
    read_only = case.name.startswith("update_")
    for req in case.requests:
        status, content_type, body = send(suite_server, req)
        if read_only and req.is_update:
            assert status == 403, f"{req.method} {req.path}: {status} {body[:300]!r}"
            continue
        assert status // 100 in req.statuses, f"{req.method} {req.path}: {status} {body[:300]!r}"
        check_result(req, content_type, body, check_boolean=not read_only)
    if read_only:
        check = Request(
            "GET",
            "/sparql?" + urllib.parse.urlencode({"query": DATA_ASK}),
            {},
            None,
            frozenset({2}),
            "boolean",
            True,
        )
        _, content_type, body = send(suite_server, check)
        check_result(check, content_type, body, check_boolean=True)
    RESULTS[case.name] = True
