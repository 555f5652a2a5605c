"""What the server answers from: the :class:`Store` interface, embedded (:mod:`.local`) or remote (:mod:`.remote`).

The server never reasons or validates. Either way the default graph is the union of the named graphs, as the
service description says, and every feature asks the store through :class:`Store` alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node
from rdflib.util import guess_format

from .query import Answer, DatasetSelection, PreparedQuery

#: RDF formats that carry their own graph names.
QUAD_FORMATS = {"trig", "nquads"}


class StoreUnavailable(Exception):
    """A store elsewhere could not be reached, refused the credentials, or failed on its side; says which."""


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
        fmt = guess_format(str(self.path)) or ("nquads" if self.path.suffix == ".nq" else None)
        if fmt is None:
            raise DatasetLoadError(
                f"{self.path}: unknown RDF format (use .ttl, .nt, .nq, .trig, .rdf, .jsonld)"
            )
        return fmt


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
        """Run a prepared query (see :func:`collabkg.store.evaluate.evaluate` for the parameters); call it inside
        :func:`collabkg.store.sandbox.within`, which supplies the deadline."""

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
    def export(self) -> Dataset:
        """The whole dataset, each graph under its name (for dumps and the VoID counts)."""

    @abstractmethod
    def modified(self) -> datetime | None:
        """When the served data last changed, where the store can tell."""

    @abstractmethod
    def quads(
        self, subjects: Collection[URIRef], predicates: Collection[URIRef], *, deadline: float
    ) -> Iterator[tuple[Node, Node, Node, URIRef]]:
        """``(subject, predicate, object, graph)`` of every statement of these subjects with these predicates.

        A lookup rather than a query because it is what pages need for their neighbours' labels, and rdflib
        answers it from its indexes many times faster than it joins the same as a query.
        """

    def graph_names(self) -> list[URIRef]:
        """Names of the non-empty named graphs, sorted."""
        return list(self.graph_sizes())
