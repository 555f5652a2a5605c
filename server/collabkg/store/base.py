"""What the server answers from: the :class:`Store` interface, embedded (:mod:`.oxigraph`) or elsewhere
(:mod:`.remote`).

The server never reasons or validates. Either way the default graph is the union of the named graphs (each
triple once), as the service description says, and every feature asks the store through :class:`Store`
alone, so each runs alike on any store.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.query import ResultRow
from rdflib.term import Node
from rdflib.util import guess_format

from .. import formats
from .query import Answer, DatasetSelection, PreparedQuery, Reply

__all__ = [
    "QUAD_FORMATS",
    "BuildUnavailable",
    "DatasetCounts",
    "DatasetLoadError",
    "DatasetSource",
    "DatasetStatistics",
    "StatisticsQueries",
    "Store",
    "StoreUnavailable",
]

#: RDF formats that carry their own graph names (rdflib's names, as :func:`rdflib.util.guess_format` gives).
QUAD_FORMATS = {"trig", "nquads"}
#: Seconds the VoID counts may take (computed once per dataset version, on first need).
STATISTICS_SECONDS = 600.0


class StoreUnavailable(Exception):
    """A store could not be reached or opened, refused the credentials, or failed on its side; says which."""


class DatasetLoadError(Exception):
    """A dataset file could not be read or parsed; the message names the file."""


class BuildUnavailable(DatasetLoadError):
    """There is no build output to serve, or it is stale and serving it was not allowed; says why."""


@dataclass(frozen=True)
class DatasetSource:
    """One file to serve; ``graph`` names the graph its triples go to (quad formats carry their own)."""

    path: Path
    graph: URIRef | None = None

    def format(self) -> str:
        """rdflib's name of the file's format (``turtle``, ``trig``...), by its extension.

        :raises DatasetLoadError: the extension is not one of an RDF format.
        """
        fmt = guess_format(str(self.path)) or ("nquads" if self.path.suffix == ".nq" else None)
        if fmt is None:
            raise DatasetLoadError(
                f"{self.path}: unknown RDF format (use .ttl, .nt, .nq, .trig, .rdf, .jsonld)"
            )
        return fmt


@dataclass(frozen=True)
class StatisticsQueries:
    """The queries that count a dataset for its VoID description (``queries/void/``), run on any store."""

    #: Triples of the default graph, distinct subjects and distinct objects.
    totals: PreparedQuery
    #: Triples per property.
    properties: PreparedQuery
    #: Entities (distinct typed subjects) per class.
    classes: PreparedQuery
    #: The licence the ontology states.
    license: PreparedQuery


@dataclass(frozen=True)
class DatasetStatistics:
    """The numbers of a VoID description, counted over the union of the named graphs (each triple once)."""

    triples: int
    distinct_subjects: int
    distinct_objects: int
    #: Entities (distinct typed subjects) per class.
    classes: Mapping[URIRef, int]
    #: Triples per property.
    properties: Mapping[URIRef, int]
    #: Triples per named graph.
    graphs: Mapping[URIRef, int]
    vocabularies: tuple[str, ...]
    #: The store's content hash: changes exactly when the data does (also the dumps' ETag).
    version: str
    #: When the served data last changed (``None``: the store cannot tell).
    modified: datetime | None
    license: URIRef | None


@dataclass(frozen=True)
class DatasetCounts:
    """The numbers of a VoID description that take a pass over the data: counted by the build for the store it
    writes (kept in its manifest), else by the server on first need (:meth:`Store.counts`)."""

    triples: int
    distinct_subjects: int
    distinct_objects: int
    classes: Mapping[URIRef, int]
    properties: Mapping[URIRef, int]
    license: URIRef | None

    @classmethod
    def counted(
        cls, rows: Callable[[PreparedQuery], list[ResultRow]], queries: StatisticsQueries
    ) -> DatasetCounts:
        """The counts, from the rows ``rows`` gives for each of ``queries``."""
        totals = rows(queries.totals)[0]
        properties = {
            URIRef(r[0]): _count(r[1]) for r in rows(queries.properties) if isinstance(r[0], URIRef)
        }
        classes = {URIRef(r[0]): _count(r[1]) for r in rows(queries.classes) if isinstance(r[0], URIRef)}
        licenses = [r[0] for r in rows(queries.license) if isinstance(r[0], URIRef)]
        return cls(
            triples=_count(totals[0]),
            distinct_subjects=_count(totals[1]),
            distinct_objects=_count(totals[2]),
            classes=dict(sorted(classes.items())),
            properties=dict(sorted(properties.items())),
            license=URIRef(licenses[0]) if licenses else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The counts as JSON (the build's manifest keeps them)."""
        return {
            "triples": self.triples,
            "distinct_subjects": self.distinct_subjects,
            "distinct_objects": self.distinct_objects,
            "classes": {str(iri): n for iri, n in self.classes.items()},
            "properties": {str(iri): n for iri, n in self.properties.items()},
            "license": None if self.license is None else str(self.license),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatasetCounts:
        """The counts :meth:`to_json` wrote.

        :raises KeyError, TypeError, ValueError: ``data`` is not what it wrote.
        """
        return cls(
            triples=int(data["triples"]),
            distinct_subjects=int(data["distinct_subjects"]),
            distinct_objects=int(data["distinct_objects"]),
            classes={URIRef(iri): int(n) for iri, n in data["classes"].items()},
            properties={URIRef(iri): int(n) for iri, n in data["properties"].items()},
            license=None if data["license"] is None else URIRef(str(data["license"])),
        )


class Store(ABC):
    """What the server answers from: queries, and the few facts about the dataset its pages and descriptions
    state. Every feature goes through these methods only, so each runs alike on any store."""

    #: Changes exactly when the served data changes (for caching, ETags).
    version: str

    @abstractmethod
    def evaluate(
        self,
        prepared: PreparedQuery,
        *,
        selection: DatasetSelection | None = None,
        init_bindings: Mapping[str, Node] | None = None,
        limit: int,
        deadline: float = float("inf"),
    ) -> Answer:
        """Run one of the service's own queries; its result as rdflib's, cut at ``limit`` rows or triples.

        :param selection: the dataset the request names (``default-graph-uri`` / ``named-graph-uri``); it
            replaces the query's FROM / FROM NAMED, as the protocol says. ``None``: the query's own, else the
            service's.
        :param init_bindings: values of variables, bound before evaluation (never spliced into query text).
        :param deadline: when the query must have answered (a monotonic time).
        :raises collabkg.store.query.QueryError: the query is the client's mistake.
        :raises collabkg.store.query.TimeLimitExceeded: it ran past ``deadline`` and was stopped.
        :raises StoreUnavailable: the store failed.
        """

    def texts(
        self,
        prepared: PreparedQuery,
        *,
        init_bindings: Mapping[str, Node] | None = None,
        limit: int,
        deadline: float = float("inf"),
    ) -> list[dict[str, str]]:
        """The rows of one of the service's own ``SELECT`` queries, each value as its text (an IRI, a literal's
        lexical form; an unbound variable left out), cut at ``limit``: for pages that read values as text, at
        a fraction of the cost of rdflib's terms (a landing page of a million triples made 40,000 literals).

        :raises collabkg.store.query.QueryError: as :meth:`evaluate`.
        """
        result = self.evaluate(prepared, init_bindings=init_bindings, limit=limit, deadline=deadline).result
        return [
            {str(name): str(value) for name, value in row.asdict().items() if value is not None}
            for row in result
            if isinstance(row, ResultRow)
        ]

    def respond(
        self,
        prepared: PreparedQuery,
        fmt: formats.Format,
        *,
        selection: DatasetSelection | None = None,
        init_bindings: Mapping[str, Node] | None = None,
        limit: int,
        deadline: float = float("inf"),
        internal: bool = False,
    ) -> Reply:
        """Run a query and write its result in ``fmt``, cut at ``limit`` rows or triples.

        :param internal: one of the service's own queries (not a client's), which a store may run apart.
        :raises collabkg.formats.SerializationFailed: the result cannot be written in ``fmt``.
        """
        answer = self.evaluate(
            prepared, selection=selection, init_bindings=init_bindings, limit=limit, deadline=deadline
        )
        return Reply(formats.serialize(answer.result, fmt), answer.truncated)

    def warm(self) -> None:  # noqa: B027  (a hook: stores with nothing to get ready keep it)
        """Get ready to answer, in a web worker just started (from its main thread); by default, nothing."""

    @abstractmethod
    def graph_sizes(self) -> dict[URIRef, int]:
        """Triples per non-empty named graph, by name in order."""

    @abstractmethod
    def union_size(self) -> int:
        """Triples of the default graph, the union: a triple in two graphs counts once."""

    @abstractmethod
    def graph(self, name: URIRef) -> Graph:
        """One named graph, whole (the ontology, for ``/vocab``)."""

    @abstractmethod
    def dump(self, extension: str, target: Path) -> None:
        """Write the whole dataset to ``target`` in one dump format (``ttl``, ``nt``: the union; ``trig``,
        ``jsonld``: every named graph)."""

    @abstractmethod
    def modified(self) -> datetime | None:
        """When the served data last changed, where the store can tell."""

    @abstractmethod
    def quads(
        self, subjects: Collection[URIRef], predicates: Collection[URIRef], *, deadline: float
    ) -> Iterator[tuple[Node, Node, Node, URIRef]]:
        """``(subject, predicate, object, graph)`` of every statement of these subjects with these predicates.

        A lookup rather than a query: it is what pages need for their neighbours' labels, and a store answers
        it from its indexes.
        """

    def graph_names(self) -> list[URIRef]:
        """Names of the non-empty named graphs, sorted."""
        return list(self.graph_sizes())

    def statistics(self, queries: StatisticsQueries, limit: int) -> DatasetStatistics:
        """The VoID description's numbers: what a pass over the data counts (:meth:`counts`) and what the store
        knows of itself (graph sizes, version, modification time)."""
        counts = self.counts(queries, limit)
        vocabularies = Counter(_namespace(term) for term in (*counts.properties, *counts.classes))
        return DatasetStatistics(
            triples=counts.triples,
            distinct_subjects=counts.distinct_subjects,
            distinct_objects=counts.distinct_objects,
            classes=counts.classes,
            properties=counts.properties,
            graphs=self.graph_sizes(),
            vocabularies=tuple(sorted(vocabularies)),
            version=self.version,
            modified=self.modified(),
            license=counts.license,
        )

    def counts(self, queries: StatisticsQueries, limit: int) -> DatasetCounts:
        """The counts of the VoID description, by the queries of ``queries/void/`` (a pass over the data, once
        per dataset version, on first need, within :data:`STATISTICS_SECONDS`)."""
        deadline = time.monotonic() + STATISTICS_SECONDS

        def rows(query: PreparedQuery) -> list[ResultRow]:
            result = self.evaluate(query, limit=limit, deadline=deadline).result
            return [row for row in result if isinstance(row, ResultRow)]

        return DatasetCounts.counted(rows, queries)


def _count(node: Node | None) -> int:
    value = node.toPython() if isinstance(node, Literal) else None
    return value if isinstance(value, int) else 0


def _namespace(iri: URIRef) -> str:
    """The vocabulary an IRI belongs to: everything up to its last ``#`` or ``/``."""
    text = str(iri)
    return text[: max(text.rfind("#"), text.rfind("/")) + 1]
