"""Past one machine: the server answering from a SPARQL 1.1 store that holds the published build.

``collabkg publish --to URL`` puts the build into a store (:mod:`collabkg.publish`); ``collabkg serve --store
URL`` answers from it (:class:`RemoteStore`) with every feature of the embedded store, through SPARQLWrapper.

The service's safety rules hold unchanged, because they are applied here before anything is sent: the query
is parsed and checked by :func:`collabkg.store.query.prepare` (no update, no ``SERVICE``); it sees exactly the
served graphs (sent as ``default-graph-uri`` / ``named-graph-uri``, so a store's own graphs, such as Virtuoso's
system graphs, stay out), and a ``FROM`` naming any other graph is refused; the time limit is the HTTP
client's timeout; the result is cut at the size limit. Canned-query parameters travel as terms written by
rdflib in the places the query's variables hold (:func:`collabkg.store.rewrite.bound_text`), never as text
of the request's.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TypeVar

from rdflib import BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.query import Result, ResultRow
from rdflib.term import Identifier, Node
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException, Unauthorized

from .. import formats
from ..namespaces import with_prefixes
from ..queryfiles import CannedQuery, parse_query_file
from .base import DatasetCounts, StatisticsQueries, Store, StoreUnavailable
from .query import AccessRefused, Answer, DatasetSelection, PreparedQuery, QueryFailed, TimeLimitExceeded
from .rewrite import bound_text, with_values

__all__ = ["SPARQLWRAPPER_FORMATS", "RemoteStore", "StoreQueries", "output_formats", "send_query"]

T = TypeVar("T")

#: The service's own dataset: every served graph, merged as the default graph and each a named graph.
SERVICE_DATASET = DatasetSelection()

#: Subjects per lookup request (:meth:`RemoteStore.quads`).
LOOKUP_BATCH = 200
#: Seconds the server waits for the store's facts (graphs and sizes) at start-up.
CONNECT_TIMEOUT = 60
#: Seconds the server waits for a whole graph (dumps, VoID counts, the ontology).
EXPORT_TIMEOUT = 300
#: The header with which a store (Virtuoso) says it cut a result at its own row limit.
STORE_TRUNCATED_HEADER = "X-SPARQL-MaxRows"
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


def send_query(endpoint: str, text: str, fmt: formats.Format) -> bytes:
    """Send a query to any SPARQL endpoint through SPARQLWrapper (``collabkg query --endpoint``); the
    endpoint's bytes, as sent, in ``fmt`` (one of :func:`output_formats`).

    :raises SPARQLWrapper.SPARQLExceptions.SPARQLWrapperException: the endpoint refused the query.
    :raises urllib.error.URLError: the endpoint could not be reached.
    """
    client = SPARQLWrapper(endpoint, returnFormat=SPARQLWRAPPER_FORMATS[fmt.name])
    client.setQuery(text)
    return bytes(client.query().response.read())


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
    #: The VoID totals and triples per property, each triple once: this store merges graphs as a bag, so
    #: these make the triples distinct first, which ``queries/void/`` (for a store whose union is a set) does not.
    void_totals: CannedQuery
    void_properties: CannedQuery

    @classmethod
    def load(cls, queries_dir: Path) -> StoreQueries:
        """:raises collabkg.queryfiles.QueryFileError: a file is missing or malformed."""
        folder = queries_dir / "remote"
        names = ("graphs", "union-size", "statements", "quads", "void-totals", "void-properties")
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
        _check_url(endpoint)
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
        self._union_size = int(str(_rows(union.result)[0][0]))

    def _within(self, seconds: float, work: Callable[[float], T]) -> T:
        """Work of the store's own (not a client's query) under a time limit; running out is the store's fault.

        :raises StoreUnavailable: the store did not answer in time.
        """
        try:
            return work(time.monotonic() + seconds)
        except TimeLimitExceeded:
            raise StoreUnavailable(f"{self.endpoint} did not answer within {seconds:g} s") from None

    def graph_sizes(self) -> dict[URIRef, int]:
        return dict(self._sizes)

    def union_size(self) -> int:
        return self._union_size

    def counts(self, queries: StatisticsQueries, limit: int) -> DatasetCounts:
        """The VoID counts, the totals and properties by this store's own queries (see :class:`StoreQueries`)."""
        own = replace(
            queries,
            totals=self.queries.void_totals.prepared,
            properties=self.queries.void_properties.prepared,
        )
        return super().counts(own, limit)

    def graph(self, name: URIRef) -> Graph:
        graph = Graph(identifier=name)
        for s, p, o, _ in self._statements([name]):
            graph.add((s, p, o))
        return graph

    def dump(self, extension: str, target: Path) -> None:
        dataset = with_prefixes(Dataset())
        for s, p, o, name in self._statements(list(self._sizes)):
            dataset.graph(name).add((s, p, o))
        fmt = formats.DUMP_FORMATS[extension]
        target.write_bytes(
            formats.serialize_dataset(dataset, fmt, keep_graphs=extension in formats.QUAD_DUMPS)
        )

    def _statements(self, names: Sequence[URIRef]) -> list[tuple[Node, Node, Node, URIRef]]:
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
        quads = [_quad(row) for row in _rows(answer.result)]
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
            for row in _rows(answer.result):
                yield _quad(row)

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
        dataset = self._dataset(DatasetSelection.from_query(prepared) if selection is None else selection)
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
            raise TimeLimitExceeded
        if remaining != float("inf"):
            client.setTimeout(max(1, int(remaining + 0.999)))
        body, cut_by_store = self._fetch(client)
        if graph_result:
            graph = with_prefixes(Graph())
            graph.parse(data=body, format="turtle")
            graph, truncated = _cap_graph(graph, limit)
            result = Result(form)
            result.graph = graph
            return Answer(result, truncated or cut_by_store)
        result = Result.parse(io.BytesIO(body), format="json")
        if form == "ASK" and result.type == "SELECT":
            # Virtuoso 7 answers ASK with a one-column table: a row holding 1 for true, 0 or no row for false.
            truth = any(
                isinstance(term, Literal) and term.toPython() not in (0, False)
                for row in _rows(result)
                for term in row
            )
            result = Result("ASK")
            result.askAnswer = truth
        if result.type == "SELECT":
            rows: list[Mapping[Variable, Identifier]] = [
                {var: _own_term(term) for var, term in row.items()} for row in result.bindings
            ]
            result.bindings = rows[:limit]
            return Answer(result, len(rows) > limit or cut_by_store)
        return Answer(result, False)

    def _fetch(self, client: SPARQLWrapper) -> tuple[bytes, bool]:
        """The store's answer and whether it says it cut it; errors worded for the client or the operator."""
        try:
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
            raise TimeLimitExceeded from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise TimeLimitExceeded from None
            raise StoreUnavailable(f"{self.endpoint}: cannot reach the store ({reason})") from None


def _rows(result: Result) -> list[ResultRow]:
    """The rows of a SELECT result."""
    return [row for row in result if isinstance(row, ResultRow)]


def _quad(row: ResultRow) -> tuple[Node, Node, Node, URIRef]:
    """A row of the statements or quads query as a quad.

    :raises StoreUnavailable: the store named a graph by other than an IRI.
    """
    graph = row.graph
    if not isinstance(graph, URIRef):
        raise StoreUnavailable(f"the store gave a statement in the graph {graph!r}, which is not an IRI")
    return row.subject, row.predicate, row.object, graph


def _own_term(term: Identifier) -> Identifier:
    """A term of the store's answer as this service writes it: blank-node labels made of letters, digits and
    ``_`` only (Virtuoso's, ``nodeID://b10075``, are not valid in N-Triples or Turtle), the same label always
    the same node."""
    if isinstance(term, BNode):
        return BNode(re.sub(r"[^A-Za-z0-9]", "_", str(term)))
    return term


def _words(exc: SPARQLWrapperException) -> str:
    return " ".join(str(exc).split())[:500]


def _check_url(endpoint: str) -> None:
    """:raises StoreUnavailable: the endpoint is not an http(s) URL with a host."""
    url = urllib.parse.urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreUnavailable(f"{endpoint}: a store is an http:// or https:// URL")


def _cap_graph(graph: Graph, limit: int) -> tuple[Graph, bool]:
    """The graph cut to ``limit`` triples, and whether it was cut."""
    if len(graph) <= limit:
        return graph, False
    capped = Graph()
    for prefix, namespace in graph.namespaces():
        capped.bind(prefix, namespace)
    for triple in islice(graph, limit):
        capped.add(triple)
    return capped, True
