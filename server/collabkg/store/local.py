"""The embedded store: the dataset loaded into this process (:class:`LocalStore`).

By default it is what ``collabkg build`` wrote (or, with ``--dataset``, the RDF files a user names), loaded into
one read-only :class:`rdflib.Dataset` at start-up, with the default graph the union of the named graphs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rdflib import Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.stores.memory import Memory
from rdflib.term import Node

from ..manifest import Manifest, freshness, show
from ..namespaces import PREFIXES
from ..paths import ProjectPaths
from .base import QUAD_FORMATS, BuildUnavailable, DatasetLoadError, DatasetSource, Store
from .evaluate import evaluate
from .query import Answer, DatasetSelection, PreparedQuery


@dataclass
class LocalStore(Store):
    """A dataset loaded into this process."""

    dataset: Dataset
    version: str
    sources: list[DatasetSource] = field(default_factory=list)

    def evaluate(
        self,
        prepared: PreparedQuery,
        *,
        selection: DatasetSelection | None = None,
        init_bindings: Mapping[str, Node] | None = None,
        limit: int,
        deadline: float = float("inf"),
    ) -> Answer:
        return evaluate(
            self.dataset,
            prepared,
            selection=selection,
            init_bindings=init_bindings,
            limit=limit,
            deadline=deadline,
        )

    def graph_sizes(self) -> dict[URIRef, int]:
        sizes = {
            g.identifier: len(g)
            for g in self.dataset.graphs()
            if isinstance(g.identifier, URIRef) and g.identifier != DATASET_DEFAULT_GRAPH_ID
        }
        return {name: size for name, size in sorted(sizes.items()) if size}

    def union_size(self) -> int:
        return len(self.dataset.store)

    def graph(self, name: URIRef) -> Graph:
        return self.dataset.graph(name)

    def export(self) -> Dataset:
        return self.dataset

    def modified(self) -> datetime | None:
        mtimes = [source.path.stat().st_mtime for source in self.sources if source.path.exists()]
        return datetime.fromtimestamp(int(max(mtimes)), UTC) if mtimes else None

    def quads(
        self, subjects: Collection[URIRef], predicates: Collection[URIRef], *, deadline: float
    ) -> Iterator[tuple[Node, Node, Node, URIRef]]:
        for subject in subjects:
            for predicate in predicates:
                for s, p, o, graph in self.dataset.quads((subject, predicate, None, None)):
                    name = graph.identifier if isinstance(graph, Graph) else graph
                    if isinstance(name, URIRef):
                        yield s, p, o, name

    def __len__(self) -> int:
        return sum(len(g) for g in self.dataset.graphs())


def new_dataset(store: Memory | None = None) -> Dataset:
    """A dataset (empty, or over ``store``) whose default graph is the union of its named graphs, with our
    prefixes bound."""
    ds = Dataset(store=store or "default", default_union=True)
    for prefix, iri in PREFIXES.items():
        ds.bind(prefix, iri)
    return ds


def load_store(sources: Sequence[DatasetSource]) -> LocalStore:
    """Parse every source into one dataset.

    A triple file without an explicit graph name goes to a graph named by its ``file:`` URI, so that it is still
    addressable with ``GRAPH`` and ``FROM NAMED``.

    :raises DatasetLoadError: a file is missing or does not parse; nothing is returned half-loaded.
    """
    ds = new_dataset()
    digest = hashlib.sha256()
    for source, data in _read(sources, digest):
        fmt = source.format()
        try:
            if fmt in QUAD_FORMATS:
                ds.parse(data=data, format=fmt, publicID=source.path.resolve().as_uri())
            else:
                name = source.graph or URIRef(source.path.resolve().as_uri())
                ds.graph(name).parse(data=data, format=fmt, publicID=str(name))
        except Exception as exc:  # rdflib's parsers raise many unrelated types; all mean "this file is bad"
            raise DatasetLoadError(f"{source.path}: {exc}") from exc
    return LocalStore(dataset=ds, version=digest.hexdigest()[:16], sources=list(sources))


def _read(sources: Sequence[DatasetSource], digest: hashlib._Hash) -> list[tuple[DatasetSource, bytes]]:
    """Each source's bytes, hashed into ``digest`` (with its graph name) as they are read: the version."""
    read = []
    for source in sources:
        try:
            data = source.path.read_bytes()
        except OSError as exc:
            raise DatasetLoadError(f"{source.path}: {exc.strerror}") from exc
        digest.update(str(source.graph).encode() + b"\0" + data)
        read.append((source, data))
    return read


def open_built(paths: ProjectPaths, *, allow_stale: bool = False) -> tuple[LocalStore, Manifest]:
    """The build output of ``paths`` as the server serves it, and its manifest; it never builds.

    :param allow_stale: serve an intact output even when the inputs or the code changed since it was built
        (``collabkg serve`` does, after a build that failed, so that the last good graph stays up).
    :raises BuildUnavailable: there is no complete output, or it is stale and ``allow_stale`` is false; the
        message says why and what to run.
    """
    status = freshness(paths)
    where = show(paths.build_dir, paths)
    if status.manifest is None:
        raise BuildUnavailable(f"{where}: nothing to serve ({status.reasons[0]}); run `collabkg build` first")
    if status.reasons and not allow_stale:
        raise BuildUnavailable(
            f"{where}: the build of {status.manifest.built_at} is stale ({'; '.join(status.reasons)}); "
            "run `collabkg build` (collabkg serve builds first)"
        )
    return load_store([DatasetSource(paths.dataset_file)]), status.manifest
