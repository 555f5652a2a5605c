"""The embedded store: the dataset loaded into this process (:class:`LocalStore`).

By default it is what ``collabkg build`` wrote (or, with ``--dataset``, the RDF files a user names), loaded into
one read-only :class:`rdflib.Dataset` at start-up, with the default graph the union of the named graphs.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import os
import pickle
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

#: Everything a snapshot of a loaded dataset is made of; a pickle naming any other class is refused.
SNAPSHOT_CLASSES = frozenset(
    {
        ("rdflib.plugins.stores.memory", "Memory"),
        ("rdflib.graph", "Graph"),
        ("rdflib.events", "Dispatcher"),
        ("rdflib.term", "URIRef"),
        ("collabkg.store.local", "_known_iri"),
        ("rdflib.term", "BNode"),
        ("rdflib.term", "Literal"),
    }
)

_logger = logging.getLogger(__name__)


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


def snapshot(store: LocalStore) -> bytes:
    """The loaded dataset's in-memory store, pickled: loads about five times faster than its TriG parses.

    Only the build writes one (beside the TriG it parsed it from) and records its hash in the manifest;
    :func:`load_snapshot` loads nothing else.
    """
    buffer = io.BytesIO()
    _SnapshotPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(store.dataset.store)
    return buffer.getvalue()


def _known_iri(value: str) -> URIRef:
    """An IRI of a snapshot, made without checking it again: the build checked it when it parsed the data, and
    checking each of a snapshot's IRIs took a quarter of its load."""
    return str.__new__(URIRef, value)


class _SnapshotPickler(pickle.Pickler):
    """Pickles IRIs as :func:`_known_iri` calls."""

    def reducer_override(self, obj: object) -> Any:
        if type(obj) is URIRef:
            return _known_iri, (str(obj),)
        return NotImplemented


class _SnapshotUnpickler(pickle.Unpickler):
    """Unpickles rdflib's memory store and terms, and nothing else: a pickle naming any other class (a
    function to call, a module to import) is refused before it can run, whoever wrote it."""

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in SNAPSHOT_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} has no place in a dataset snapshot")
        return super().find_class(module, name)


def load_snapshot(file: Path, sha256: str, sources: Sequence[DatasetSource]) -> LocalStore | None:
    """The dataset from a snapshot of ``sources``, or ``None`` (then parse them) if it cannot be trusted.

    Trusted means: its sha256 is the one the build recorded (``sha256``), the file belongs to this user and only
    they can write it, and it holds nothing but an rdflib memory store (:class:`_SnapshotUnpickler`). The
    version is computed from the sources' bytes as :func:`load_store` does, so ETags do not depend on how the
    dataset was loaded.
    """
    try:
        status = file.stat()
        data = file.read_bytes()
    except OSError:
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        _logger.warning("%s: not loaded, it is writable by other users; parsing the dataset instead", file)
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        _logger.warning("%s: not loaded, it is not the snapshot the build recorded", file)
        return None
    digest = hashlib.sha256()
    _read(sources, digest)
    enabled = gc.isenabled()
    gc.disable()  # millions of new objects, none of them garbage: collecting meanwhile only slows the load
    try:
        memory = _SnapshotUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, AttributeError, EOFError, TypeError, ValueError) as exc:
        _logger.warning("%s: not loaded (%s); parsing the dataset instead", file, exc)
        return None
    finally:
        if enabled:
            gc.enable()
    if not isinstance(memory, Memory):
        return None
    return LocalStore(dataset=new_dataset(memory), version=digest.hexdigest()[:16], sources=list(sources))


def open_built(paths: ProjectPaths, *, allow_stale: bool = False) -> tuple[LocalStore, Manifest]:
    """The build output of ``paths`` as the server serves it, and its manifest; it never builds.

    It comes from the build's snapshot when that is the one the manifest records (a fraction of a second), else
    from parsing the TriG (seconds): both give the same dataset and version.

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
    sources = [DatasetSource(paths.dataset_file)]
    store = load_snapshot(paths.snapshot_file, status.manifest.snapshot_sha256, sources)
    return (store if store is not None else load_store(sources)), status.manifest
