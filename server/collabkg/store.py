"""The dataset the server answers from.

The server never reasons or validates: it loads what ``collabkg build`` wrote (or, with ``--dataset``, the RDF
files a user names) into one read-only :class:`rdflib.Dataset` at start-up. Its default graph is the union of
the named graphs, as the service description says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Dataset, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.util import guess_format

from .namespaces import PREFIXES

#: RDF formats that carry their own graph names.
QUAD_FORMATS = {"trig", "nquads"}


class DatasetLoadError(Exception):
    """A dataset file could not be read or parsed; the message names the file."""


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


@dataclass
class Store:
    """A loaded dataset plus what the service says about it."""

    dataset: Dataset
    #: Content hash of the loaded files: changes exactly when the served data changes (for caching, ETags).
    version: str
    sources: list[DatasetSource] = field(default_factory=list)

    def graph_names(self) -> list[URIRef]:
        """Names of the non-empty named graphs, sorted."""
        return sorted(
            g.identifier
            for g in self.dataset.graphs()
            if isinstance(g.identifier, URIRef) and g.identifier != DATASET_DEFAULT_GRAPH_ID and len(g)
        )

    def __len__(self) -> int:
        return sum(len(g) for g in self.dataset.graphs())


def new_dataset() -> Dataset:
    """An empty dataset whose default graph is the union of its named graphs, with our prefixes bound."""
    ds = Dataset(default_union=True)
    for prefix, iri in PREFIXES.items():
        ds.bind(prefix, iri)
    return ds


def load_store(sources: Sequence[DatasetSource]) -> Store:
    """Parse every source into one dataset.

    A triple file without an explicit graph name goes to a graph named by its ``file:`` URI, so that it is still
    addressable with ``GRAPH`` and ``FROM NAMED``.

    :raises DatasetLoadError: a file is missing or does not parse; nothing is returned half-loaded.
    """
    ds = new_dataset()
    digest = hashlib.sha256()
    for source in sources:
        fmt = source.format()
        try:
            data = source.path.read_bytes()
        except OSError as exc:
            raise DatasetLoadError(f"{source.path}: {exc.strerror}") from exc
        digest.update(str(source.graph).encode() + b"\0" + data)
        try:
            if fmt in QUAD_FORMATS:
                ds.parse(data=data, format=fmt, publicID=source.path.resolve().as_uri())
            else:
                name = source.graph or URIRef(source.path.resolve().as_uri())
                ds.graph(name).parse(data=data, format=fmt, publicID=str(name))
        except Exception as exc:  # rdflib's parsers raise many unrelated types; all mean "this file is bad"
            raise DatasetLoadError(f"{source.path}: {exc}") from exc
    return Store(dataset=ds, version=digest.hexdigest()[:16], sources=list(sources))
