"""Past one machine: the built dataset in any SPARQL 1.1 store, and the server answering from there.

``collabkg publish --to URL`` puts each named graph of the build into a store (:func:`publish`): with the
Graph Store Protocol (``PUT ?graph=``, one request per graph) where the store offers it, else with SPARQL
Update (``CLEAR GRAPH`` then inserts in chunks). ``collabkg serve --store URL`` answers from that store
(:class:`RemoteStore`) with every feature of the embedded one, through SPARQLWrapper.

The service's safety rules hold unchanged, because they are applied here before anything is sent: the query
is parsed and checked by :func:`collabkg.engine.prepare` (no update, no ``SERVICE``); it sees exactly the
served graphs (sent as ``default-graph-uri`` / ``named-graph-uri``, so a store's own graphs, such as Virtuoso's
system graphs, stay out), and a ``FROM`` naming any other graph is refused; the time limit is the HTTP
client's timeout; the result is cut at the size limit. Canned-query parameters travel as terms written by
rdflib in the places the query's variables hold (:func:`bound_text`), never as text of the request's.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.query import Result
from rdflib.term import Node
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException, Unauthorized

from .. import formats
from ..namespaces import PREFIXES
from ..queryfiles import CannedQuery, parse_query_file
from .base import Store, StoreUnavailable
from .engine import (
    AccessRefused,
    Address,
    Answer,
    DatasetSelection,
    PreparedQuery,
    QueryFailed,
    TimeLimitExceeded,
    cap_graph,
    interrupt,
    reaching,
    within,
)
from .local import new_dataset

__all__ = [
    "SPARQLWRAPPER_FORMATS",
    "Credentials",
    "PublishError",
    "Published",
    "RemoteStore",
    "StoreUnavailable",
    "bound_text",
    "output_formats",
    "publish",
    "run_canned",
]

T = TypeVar("T")

#: The service's own dataset: every served graph, merged as the default graph and each a named graph.
SERVICE_DATASET = DatasetSelection()

#: Subjects per lookup request (:meth:`RemoteStore.quads`).
LOOKUP_BATCH = 200
#: Triples per insert request when publishing with SPARQL Update (Virtuoso 7 refuses templates of much more:
#: "the length of generated SQL text has exceeded 10000 lines").
CHUNK_TRIPLES = 500
#: Seconds one publishing request may take.
PUBLISH_TIMEOUT = 300
#: Seconds the server waits for the store's facts (graphs and sizes) at start-up.
CONNECT_TIMEOUT = 60
#: Seconds the server waits for a whole graph (dumps, VoID counts, the ontology).
EXPORT_TIMEOUT = 300
#: The header with which a store (Virtuoso) says it cut a result at its own row limit.
STORE_TRUNCATED_HEADER = "X-SPARQL-MaxRows"
#: HTTP statuses meaning "this store has no Graph Store Protocol here": publishing falls back to SPARQL Update.
NO_GRAPH_STORE = frozenset({404, 405, 501})


class PublishError(Exception):
    """The store did not take the data; says which graph and what the store answered."""


@dataclass(frozen=True)
class Credentials:
    """A user and password for a store that wants them (basic or digest authentication, as it asks)."""

    user: str
    password: str


# --- Publishing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One graph as published: its name, its size and how it went in (``graph store`` or ``update``)."""

    graph: URIRef
    triples: int
    method: str


Quad = tuple[Node, Node, Node, URIRef]


def publish(
    dataset: Dataset,
    endpoint: str,
    *,
    graph_store: str | None = None,
    credentials: Credentials | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> list[Published]:
    """Replace each named graph of ``dataset`` in the store with the dataset's version of it.

    With ``graph_store`` each graph is ``PUT`` there (Graph Store Protocol, ``?graph=``), except graphs that
    share a blank node with another graph: one request per graph would make that node two, so those go
    together by SPARQL Update at ``endpoint``. Should the store answer that it has no Graph Store Protocol
    (404, 405, 501), every graph left goes by SPARQL Update too. Other graphs of the store are left alone.

    :raises StoreUnavailable: the store cannot be reached or refuses the credentials.
    :raises PublishError: the store refused a graph.
    """
    opener = _opener(credentials, endpoint, graph_store)
    graphs = sorted(_named_graphs(dataset), key=lambda g: str(g.identifier))
    sharing = _sharing_blank_nodes(graphs)
    if graph_store is not None and sharing:
        names = ", ".join(f"<{name}>" for name in sorted(sharing))
        log(f"{names} share blank nodes: they go together by SPARQL Update, to stay one node each")
    published, by_update = [], []
    for graph in graphs:
        name = URIRef(graph.identifier)
        if graph_store is None or name in sharing:
            by_update.append(graph)
            continue
        status = _put_graph(opener, graph_store, graph)
        if status in NO_GRAPH_STORE:
            log(
                f"{graph_store} has no Graph Store Protocol (HTTP {status}); using SPARQL Update at {endpoint}"
            )
            graph_store = None
            by_update.append(graph)
            continue
        published.append(Published(name, len(graph), "graph store"))
        log(f"{name}: {len(graph)} triples (graph store)")
    for update in update_requests(by_update):
        _send_update(opener, endpoint, update)
    for graph in by_update:
        published.append(Published(URIRef(graph.identifier), len(graph), "update"))
        log(f"{graph.identifier}: {len(graph)} triples (update)")
    return published


def _named_graphs(dataset: Dataset) -> Iterator[Graph]:
    return (g for g in dataset.graphs() if isinstance(g.identifier, URIRef) and len(g))


def _sharing_blank_nodes(graphs: Iterable[Graph]) -> set[URIRef]:
    """Names of the graphs that hold a blank node some other graph holds too."""
    holders: dict[BNode, set[URIRef]] = {}
    for graph in graphs:
        for s, _, o in graph:
            for term in (s, o):
                if isinstance(term, BNode):
                    holders.setdefault(term, set()).add(URIRef(graph.identifier))
    return {name for names in holders.values() if len(names) > 1 for name in names}


def update_requests(graphs: Sequence[Graph], chunk: int = CHUNK_TRIPLES) -> Iterator[str]:
    """SPARQL Update requests that replace ``graphs`` in a store: ``CLEAR`` each, then insert them in chunks.

    These are data written by rdflib (N-Triples) in the few keywords Update needs, not queries, so they are
    made here rather than kept in ``queries/``. The chunks are ``INSERT { ... } WHERE {}`` rather than
    ``INSERT DATA``: the same triples, but Virtuoso 7 refuses blank nodes in ``INSERT DATA`` ("not allowed in
    a constant clause"), and accepts them in a template. A blank node's label means one node only within one
    request, so all statements of a blank node, in whichever graph, go into the same chunk.
    """
    for graph in graphs:
        yield f"CLEAR SILENT GRAPH {URIRef(graph.identifier).n3()}"
    quads = [(s, p, o, URIRef(g.identifier)) for g in graphs for s, p, o in g]
    for part in _chunks(quads, chunk):
        by_graph: dict[URIRef, Graph] = {}
        for s, p, o, name in part:
            by_graph.setdefault(name, Graph()).add((s, p, o))
        body = "".join(
            f"GRAPH {name.n3()} {{\n{graph.serialize(format='nt')}}}\n" for name, graph in by_graph.items()
        )
        yield f"INSERT {{\n{body}}} WHERE {{}}"


def _chunks(quads: list[Quad], size: int) -> Iterator[list[Quad]]:
    """The quads in groups of about ``size``, never separating statements that share a blank node."""
    parent: dict[BNode, BNode] = {}

    def root(node: BNode) -> BNode:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for s, _, o, _ in quads:
        if isinstance(s, BNode) and isinstance(o, BNode):
            parent[root(s)] = root(o)
    groups: dict[object, list[Quad]] = {}
    for index, quad in enumerate(quads):
        blank = next((term for term in (quad[0], quad[2]) if isinstance(term, BNode)), None)
        groups.setdefault(("b", root(blank)) if blank is not None else ("t", index), []).append(quad)
    current: list[Quad] = []
    for group in groups.values():
        if current and len(current) + len(group) > size:
            yield current
            current = []
        current.extend(group)
    if current:
        yield current


def _opener(credentials: Credentials | None, *urls: str | None) -> urllib.request.OpenerDirector:
    """An opener that answers a 401 challenge, basic or digest, with the credentials for these URLs."""
    if credentials is None:
        return urllib.request.build_opener()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    for url in urls:
        if url is not None:
            passwords.add_password(None, url, credentials.user, credentials.password)
    return urllib.request.build_opener(
        urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)
    )


def _put_graph(opener: urllib.request.OpenerDirector, graph_store: str, graph: Graph) -> int:
    """PUT the graph as N-Triples; its HTTP status, or :data:`NO_GRAPH_STORE`'s when there is no such service.

    :raises PublishError: any other refusal.
    """
    separator = "&" if "?" in graph_store else "?"
    url = f"{graph_store}{separator}{urllib.parse.urlencode({'graph': str(graph.identifier)})}"
    body = graph.serialize(format="nt", encoding="utf-8")
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "application/n-triples; charset=utf-8"}
    )
    try:
        with _send(opener, request, graph_store) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        if exc.code in NO_GRAPH_STORE:
            return exc.code
        raise PublishError(f"{graph_store} refused graph <{graph.identifier}>: {_reason(exc)}") from None


def _send_update(opener: urllib.request.OpenerDirector, endpoint: str, update: str) -> None:
    """POST one SPARQL Update request.

    :raises PublishError: the store refused it.
    """
    request = urllib.request.Request(
        endpoint,
        data=update.encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/sparql-update; charset=utf-8"},
    )
    try:
        with _send(opener, request, endpoint):
            return
    except urllib.error.HTTPError as exc:
        raise PublishError(
            f"{endpoint} refused SPARQL Update ({' '.join(update[:90].split())}...): {_reason(exc)}. The store must accept SPARQL "
            "Update there from this user (or give --graph-store with its Graph Store Protocol endpoint)."
        ) from None


def _send(
    opener: urllib.request.OpenerDirector, request: urllib.request.Request, url: str
) -> urllib.response.addinfourl:
    """Open ``request``; an unreachable store or refused credentials are :class:`StoreUnavailable`.

    :raises urllib.error.HTTPError: any other error status, for the caller to word.
    """
    try:
        return opener.open(request, timeout=PUBLISH_TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise StoreUnavailable(
                f"{url}: 401 Unauthorized: the store wants other credentials (--user, --password)"
            ) from None
        raise
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StoreUnavailable(f"{url}: cannot reach the store ({reason})") from None


def _reason(exc: urllib.error.HTTPError) -> str:
    """The status and the first words of the store's explanation."""
    body = exc.read().decode("utf-8", errors="replace").strip()
    return f"HTTP {exc.code} {exc.reason}" + (f": {' '.join(body.split())[:300]}" if body else "")


# --- Querying -----------------------------------------------------------------------------------------------


def bound_text(prepared: PreparedQuery, bindings: Mapping[str, Node] | None) -> str:
    """The query as a store elsewhere must be sent it, each bound variable replaced by its value.

    That is what rdflib's ``initBindings`` means: the variable holds the value everywhere in the query, in
    nested groups, ``BIND`` and ``FILTER`` too. (A ``VALUES`` block would not do: SPARQL evaluates groups from
    the inside out, so a ``BIND (?_review AS ?item)`` in a nested group would not see it, and a trailing one is
    joined after projection.) The values are parsed terms written by rdflib (``n3()``), put only where the scan
    of :data:`_TOKENS` finds the variable itself, never inside a string, an IRI or a comment: data only.

    A query that selects a bound variable (``SELECT ?_x``) becomes one the store refuses: no canned query
    does, as none needs to (the value is the request's own).

    :raises QueryFailed: a value is a blank node.
    """
    if not bindings:
        return prepared.portable_text
    terms = {}
    for name, term in bindings.items():
        if isinstance(term, BNode):
            raise QueryFailed("A blank node cannot be sent to the store as a value.")
        terms[name] = term.n3()

    def substitute(token: re.Match[str]) -> str:
        word = token[0]
        return terms.get(word[1:], word) if word[0] in "?$" else word

    return _TOKENS.sub(substitute, prepared.portable_text)


#: The ``format=`` names ``collabkg query --endpoint`` offers, and how SPARQLWrapper asks for each.
SPARQLWRAPPER_FORMATS: dict[str, str] = {
    "json": "json",
    "xml": "xml",
    "csv": "csv",
    "tsv": "tsv",
    "ttl": "turtle",
    "jsonld": "json-ld",
    "rdf": "rdf+xml",
}


def output_formats(form: str) -> list[formats.Format]:
    """The formats a query of this form can be written in both locally and by a remote endpoint."""
    return [fmt for fmt in formats.FORMATS_BY_QUERY_FORM[form] if fmt.name in SPARQLWRAPPER_FORMATS]


def run_canned(query: CannedQuery, bindings: Mapping[str, Node], endpoint: str, fmt: formats.Format) -> bytes:
    """Run a canned query on any SPARQL endpoint through SPARQLWrapper (``collabkg query --endpoint``); the
    endpoint's bytes, as sent.

    :raises SPARQLWrapper.SPARQLExceptions.SPARQLWrapperException: the endpoint refused the query.
    :raises urllib.error.URLError: the endpoint could not be reached.
    """
    client = SPARQLWrapper(endpoint, returnFormat=SPARQLWRAPPER_FORMATS[fmt.name])
    client.setQuery(bound_text(query.prepared, bindings))
    return bytes(client.query().response.read())


#: What can hold a brace or a variable name that is not one: strings (long ones first), IRIs (which cannot
#: hold braces or spaces, but can hold ``#`` and ``?``) and comments; then braces and variables.
_TOKENS = re.compile(
    r'''"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\''''
    r"""|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    r"""|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*|[{}]|[?$][A-Za-z0-9_\u00b7\u00c0-\uffff]+""",
    re.DOTALL,
)


def with_values(prepared: PreparedQuery, variables: Sequence[str], rows: Iterable[Sequence[Node]]) -> str:
    """The query's portable text with a ``VALUES`` block of ``rows`` for ``variables`` opening its ``WHERE``
    group: a lookup of many values at once (:meth:`RemoteStore.quads`).

    Inside the group, not after the query: SPARQL joins a trailing ``VALUES`` after grouping and projection,
    where a variable that is not selected is not a column (Virtuoso refuses it: "No column"). First in the
    group, because stores start their plan from it (Virtuoso is ten times faster so). The group is the last
    top-level ``{...}`` of the text (a template comes before it, modifiers after it hold no braces), found by
    the scan of :data:`_TOKENS`.

    :raises QueryFailed: a term is a blank node, or the query has no group pattern to hold the block.
    """
    lines = []
    for row in rows:
        if any(isinstance(term, BNode) for term in row):
            raise QueryFailed("A blank node cannot be sent to the store as a value.")
        lines.append(f"    ({' '.join(term.n3() for term in row)})\n")
    names = " ".join(f"?{name}" for name in variables)
    block = f"\n    VALUES ({names}) {{\n{''.join(lines)}    }}\n"
    text = prepared.portable_text
    depth, start = 0, None
    for token in _TOKENS.finditer(text):
        if token[0] == "{":
            if depth == 0:
                start = token.end()
            depth += 1
        elif token[0] == "}":
            depth -= 1
    if start is None:
        raise QueryFailed("The query has no group pattern to bind its parameters in.")
    return text[:start] + block + text[start:]


@dataclass(frozen=True)
class StoreQueries:
    """The queries a remote store answers about itself (``queries/remote/``)."""

    #: The collabkg graphs the store holds, with their sizes.
    graphs: CannedQuery
    #: Distinct triples of the union.
    union_size: CannedQuery
    #: Every statement of the named graphs, with its graph.
    statements: CannedQuery
    #: Statements by subject and predicate.
    quads: CannedQuery

    @classmethod
    def load(cls, queries_dir: Path) -> StoreQueries:
        """:raises collabkg.queryfiles.QueryFileError: a file is missing or malformed."""
        folder = queries_dir / "remote"
        names = ("graphs", "union-size", "statements", "quads")
        return cls(*(parse_query_file(folder / f"{name}.rq") for name in names))


class RemoteStore(Store):
    """A SPARQL 1.1 endpoint holding the published dataset, queried through SPARQLWrapper.

    The served graphs are those of the dataset's namespace the store holds when the server starts; the
    version is a hash of their names and sizes (publishing again changes it, for the answer cache, unless a
    graph changed with its size the same: restart the server after publishing).
    """

    def __init__(self, endpoint: str, queries: StoreQueries) -> None:
        """Connect: read the store's graphs and their sizes.

        :raises StoreUnavailable: the store cannot be reached, does not answer as a SPARQL endpoint, or holds
            no graph of collabkg.
        """
        self.endpoint = endpoint
        self.queries = queries
        self._address = _address(endpoint)
        self._sizes: dict[URIRef, int] = {}

        def graphs(deadline: float) -> Answer:
            text = queries.graphs.prepared.portable_text
            return self._send(text, "SELECT", limit=1_000_000, deadline=deadline)

        rows = self._within(CONNECT_TIMEOUT, graphs).result
        self._sizes = {URIRef(row.graph): int(row.triples) for row in rows}  # type: ignore[union-attr]
        if not self._sizes:
            raise StoreUnavailable(f"{endpoint} holds no graph of collabkg: publish the build there first")
        digest = hashlib.sha256(endpoint.encode())
        for name, size in self._sizes.items():
            digest.update(f"\0{name}\0{size}".encode())
        self.version = digest.hexdigest()[:16]
        union = self._within(
            CONNECT_TIMEOUT,
            lambda deadline: self.evaluate(queries.union_size.prepared, limit=1, deadline=deadline),
        )
        self._union_size = int(next(iter(union.result))[0])  # type: ignore[index]

    def _within(self, seconds: float, work: Callable[[float], T]) -> T:
        """Work of the store's own (not a client's query) under a time limit; running out is the store's fault.

        :raises StoreUnavailable: the store did not answer in time.
        """
        try:
            return within(seconds, work)
        except TimeLimitExceeded:
            raise StoreUnavailable(f"{self.endpoint} did not answer within {seconds:g} s") from None

    def graph_sizes(self) -> dict[URIRef, int]:
        return dict(self._sizes)

    def union_size(self) -> int:
        return self._union_size

    def graph(self, name: URIRef) -> Graph:
        graph = Graph(identifier=name)
        for s, p, o, _ in self._statements([name]):
            graph.add((s, p, o))
        return graph

    def export(self) -> Dataset:
        dataset = new_dataset()
        for s, p, o, name in self._statements(list(self._sizes)):
            dataset.graph(name).add((s, p, o))
        return dataset

    def _statements(self, names: Sequence[URIRef]) -> list[Quad]:
        """Every statement of the graphs ``names``, in one answer: a blank node two graphs share stays one.

        :raises StoreUnavailable: the store gave fewer statements than the graphs hold (it cut the answer at
            its own row limit: raise it), or did not answer in time.
        """
        expected = sum(self._sizes.get(name, 0) for name in names)
        answer = self._within(
            EXPORT_TIMEOUT,
            lambda deadline: self.evaluate(
                self.queries.statements.prepared,
                selection=DatasetSelection.of([], names),
                limit=expected,
                deadline=deadline,
            ),
        )
        quads = [(row.subject, row.predicate, row.object, row.graph) for row in answer.result]  # type: ignore[union-attr]
        if len(quads) < expected:
            raise StoreUnavailable(
                f"{self.endpoint} gave {len(quads)} of the {expected} statements asked for: raise the store's "
                "result limit (Virtuoso: ResultSetMaxRows)"
            )
        return quads

    def modified(self) -> datetime | None:
        return None

    def quads(
        self, subjects: Collection[URIRef], predicates: Collection[URIRef], *, deadline: float
    ) -> Iterator[tuple[Node, Node, Node, URIRef]]:
        """Asked in batches of :data:`LOOKUP_BATCH` subjects, so that no request grows without bound."""
        ordered = sorted(subjects)
        for start in range(0, len(ordered), LOOKUP_BATCH):
            pairs = [(s, p) for s in ordered[start : start + LOOKUP_BATCH] for p in predicates]
            text = with_values(self.queries.quads.prepared, ("subject", "predicate"), pairs)
            answer = self._send(
                text, "SELECT", limit=len(pairs) * 1000, deadline=deadline, dataset=self._dataset()
            )
            for row in answer.result:
                yield row.subject, row.predicate, row.object, row.graph  # type: ignore[union-attr]

    def evaluate(
        self,
        prepared: PreparedQuery,
        *,
        selection: DatasetSelection | None = None,
        init_bindings: Mapping[str, Node] | None = None,
        limit: int,
        deadline: float = float("inf"),
    ) -> Answer:
        """Send the checked query with its dataset made explicit; the answer as rdflib's, cut at ``limit``.

        :raises AccessRefused: the query's dataset names a graph this store does not serve.
        :raises QueryFailed: the store refused the query (its words).
        :raises StoreUnavailable: the store cannot be reached or failed.
        """
        dataset = self._dataset(
            DatasetSelection.from_query(prepared.query) if selection is None else selection
        )
        text = bound_text(prepared, init_bindings)
        return self._send(text, prepared.form, limit=limit, deadline=deadline, dataset=dataset)

    def _dataset(self, selection: DatasetSelection = SERVICE_DATASET) -> tuple[frozenset[URIRef], ...]:
        """The default and named graphs to send for ``selection``: the served graphs, unless it names some.

        :raises AccessRefused: it names a graph this store does not serve.
        """
        served = frozenset(self._sizes)
        default = served if selection.default is None else selection.default
        named = served if selection.named is None else selection.named
        unknown = sorted((default | named) - served)
        if unknown:
            raise AccessRefused(
                f"This endpoint serves no graph <{unknown[0]}>: FROM, FROM NAMED, default-graph-uri and "
                "named-graph-uri may only name its own graphs (GET /sparql lists them)."
            )
        return default, named

    def _send(
        self,
        text: str,
        form: str,
        *,
        limit: int,
        deadline: float,
        dataset: tuple[frozenset[URIRef], ...] | None = None,
    ) -> Answer:
        """Send query text with its dataset (``None``: the store's own, for :data:`StoreQueries.graphs`)."""
        client = SPARQLWrapper(self.endpoint)
        client.setMethod(POST)
        client.setQuery(text)
        client.queryType = form  # SPARQLWrapper guesses it from the text, and can be misled by a comment
        graph_result = form in ("CONSTRUCT", "DESCRIBE")
        client.setReturnFormat(TURTLE if graph_result else JSON)
        if dataset is not None:
            for name in sorted(dataset[0]):
                client.addDefaultGraph(str(name))
            for name in sorted(dataset[1]):
                client.addNamedGraph(str(name))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            interrupt()
        if remaining != float("inf"):
            client.setTimeout(max(1, int(remaining + 0.999)))
        body, cut_by_store = self._fetch(client)
        if graph_result:
            graph = Graph()
            for prefix, iri in PREFIXES.items():
                graph.bind(prefix, iri)
            graph.parse(data=body, format="turtle")
            graph, truncated = cap_graph(graph, limit)
            result = Result(form)
            result.graph = graph
            return Answer(result, truncated or cut_by_store)
        result = Result.parse(io.BytesIO(body), format="json")
        if form == "ASK" and result.type == "SELECT":
            # Virtuoso 7 answers ASK with a one-column table: a row holding 1 for true, 0 or no row for false.
            truth = any(
                term is not None and term.toPython() not in (0, False) for row in result for term in row
            )  # type: ignore[union-attr]
            result = Result("ASK")
            result.askAnswer = truth
        if result.type == "SELECT":
            rows = [{var: _own_term(term) for var, term in row.items()} for row in result.bindings]
            result.bindings = rows[:limit]
            return Answer(result, len(rows) > limit or cut_by_store)
        return Answer(result, False)

    def _fetch(self, client: SPARQLWrapper) -> tuple[bytes, bool]:
        """The store's answer and whether it says it cut it; errors worded for the client or the operator."""
        try:
            with reaching(self._address):
                response = client.query().response
                return response.read(), STORE_TRUNCATED_HEADER in response.headers
        except QueryBadFormed as exc:
            raise QueryFailed(f"The store refused the query: {_words(exc)}") from None
        except Unauthorized:
            raise StoreUnavailable(
                f"{self.endpoint}: 401 Unauthorized; the store must allow anonymous queries"
            ) from None
        except SPARQLWrapperException as exc:
            raise StoreUnavailable(f"{self.endpoint} failed: {_words(exc)}") from None
        except TimeoutError:
            interrupt()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                interrupt()
            raise StoreUnavailable(f"{self.endpoint}: cannot reach the store ({reason})") from None


def _own_term(term: Node) -> Node:
    """A term of the store's answer as this service writes it: blank-node labels made of letters, digits and
    ``_`` only (Virtuoso's, ``nodeID://b10075``, are not valid in N-Triples or Turtle), the same label always
    the same node."""
    if isinstance(term, BNode):
        return BNode(re.sub(r"[^A-Za-z0-9]", "_", str(term)))
    return term


def _words(exc: SPARQLWrapperException) -> str:
    return " ".join(str(exc).split())[:500]


def _address(endpoint: str) -> Address:
    """Where the endpoint listens, resolved once, now: the only address queries may then reach.

    :raises StoreUnavailable: the URL is not http(s) or its host does not resolve.
    """
    url = urllib.parse.urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreUnavailable(f"{endpoint}: a store is an http:// or https:// URL")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise StoreUnavailable(f"{endpoint}: cannot resolve {url.hostname} ({exc})") from None
    return Address(url.hostname, frozenset(str(info[4][0]) for info in infos), port)
