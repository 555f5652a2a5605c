"""The embedded store: the dataset in an Oxigraph store on disk, queried by processes of its own.

The build writes the store (``build/store-<hash>/``, :func:`write_store`); ``collabkg serve --dataset FILE``
loads the files into a temporary one the same way (:meth:`OxigraphStore.load`). Every web worker's query
processes (:mod:`.processes`) open it read-only: the data is on disk once, and the operating system's page
cache holds the part in use once for all of them. Nothing here loads the data into Python.

The store's default graph is the union of its named graphs, each triple once, as the service's dataset
needs: held, or taken by each query when the graphs share no triple (:mod:`.union`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.query import Result, ResultRow
from rdflib.term import Identifier, Node

from .. import formats
from ..manifest import Manifest, freshness, show
from ..namespaces import PREFIXES, with_prefixes
from ..paths import ProjectPaths
from .answers import Kept, KeptAnswers, KeptAnswersUnreadable, write_kept
from .base import (
    BuildUnavailable,
    DatasetCounts,
    DatasetLoadError,
    DatasetSource,
    StatisticsQueries,
    Store,
    StoreUnavailable,
)
from .executor import Executor
from .processes import Lanes, QueryProcessEnded
from .query import (
    Answer,
    DatasetSelection,
    PreparedQuery,
    QueryFailed,
    QuerySyntaxError,
    QueryTooLarge,
    Reply,
    syntax_message,
)
from .rewrite import bound_text
from .union import takes_union

__all__ = [
    "Limits",
    "OxigraphStore",
    "count_store",
    "in_parallel",
    "keep_answers",
    "load_files",
    "open_built",
    "sizes_of",
    "write_store",
]

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_Item = TypeVar("_Item")
_Done = TypeVar("_Done")
#: Quads handed to Oxigraph's bulk loader at a time (:func:`write_store`). The loader holds a batch of up to a
#: million quads per thread in memory before it writes them out, about 2 GB on this two-core machine whatever
#: the dataset's size, and pyoxigraph offers no setting for it; in parts of this size the process held 0.7 GB
#: loading the 100k build (bench/RESULTS.md).
LOAD_PART = 500_000
#: Threads that evaluate the build's queries (:func:`in_parallel`): over the whole store (:func:`count_store`,
#: :func:`keep_answers`) and its shapes and checks over the data (:class:`collabkg.build.validation.Checks`).
#: One per core, as Oxigraph evaluates without Python's lock.
BUILD_THREADS = os.cpu_count() or 1
#: Rows a VoID query of the build may give (classes and properties: a few hundred even at ten million triples).
COUNTED_ROWS = 1_000_000
#: Rows of a query answer the build keeps (:func:`keep_answers`): at a million triples the largest, the canned
#: list of the most cited references, is 41,038 rows and the evidence map's cells 17,750. A request for more
#: rows than an answer cut here holds is evaluated.
KEPT_ROWS = 1_000_000
#: Oxigraph's formats by rdflib's names (:meth:`DatasetSource.format`).
RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nt11": ox.RdfFormat.N_TRIPLES,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "xml": ox.RdfFormat.RDF_XML,
    "json-ld": ox.RdfFormat.JSON_LD,
    "n3": ox.RdfFormat.N3,
}


@dataclass(frozen=True)
class Limits:
    """What the query processes of one web worker may use (:class:`.processes.Lanes`)."""

    #: Bytes of memory (data segment) one query process may use; 0: no limit of ours.
    memory: int = 1 << 30
    #: Processes for the service's own queries, for clients' quick queries, and places for long ones.
    internal: int = 1
    quick: int = 2
    long: int = 1
    #: Seconds a client's query may run before it needs a long place.
    quick_seconds: float = 0.5
    #: Seconds a request may wait for a free process before it is turned away (503).
    queue_seconds: float = 2.0


def write_store(folder: Path, sources: Sequence[DatasetSource], *, disjoint: bool = False) -> None:
    """Load RDF files into a new Oxigraph store at ``folder`` whose default graph is the union of their graphs
    (:mod:`.union`). It is not counted here (:func:`sizes_of` does, in a pass over every quad): the build
    knows its graphs' sizes.

    Triple formats go to the graph the source names (else the one named by the file's ``file:`` URI); quad
    formats keep their graph names, and the triples of their default graph go to the graph of the file's URI
    too, so that every triple is in a named graph and the default graph is exactly their union.

    :param disjoint: the caller knows that no triple is in two of the graphs (the build does): the union is
        then left to queries to take, and each quad is written once. Otherwise each quad goes to the store
        twice from one reading of its file: to its named graph and to the default graph (which, a set, holds
        each triple once). One reading gives a blank node one label in its graph and in the union (two
        readings of a file would label it twice: a query joining the default graph with ``GRAPH`` found
        none). Loading the named graphs first and copying the union from the store took twice as long
        (bench/RESULTS.md).

    Each file is parsed by Oxigraph's parser, its blank nodes given labels of their own (the files' graphs
    are merged, not joined on a label they happen to share). The quads go to the loader in parts of
    :data:`LOAD_PART`, which bounds the memory it holds.

    :raises DatasetLoadError: a file cannot be read or parsed (the folder is then no store to use).
    """
    store = ox.Store(str(folder))
    quads = _quads(sources, union=not disjoint)
    for first in quads:
        store.bulk_extend(itertools.chain((first,), itertools.islice(quads, LOAD_PART - 1)))
    store.flush()
    store.optimize()


def _quads(sources: Sequence[DatasetSource], *, union: bool) -> Iterator[ox.Quad]:
    """Each quad of each file in its named graph (:func:`write_store`), then, if ``union``, as a triple of the
    default graph.

    :raises DatasetLoadError: a file cannot be read or parsed; the message names it (and Oxigraph's the place).
    """
    quad = ox.Quad  # looked up once: this runs for every triple of the dataset
    default = ox.DefaultGraph()
    for source in sources:
        rdf_format = RDF_FORMATS.get(source.format())
        if rdf_format is None:
            raise DatasetLoadError(f"{source.path}: Oxigraph cannot read {source.format()}")
        base = source.path.resolve().as_uri()
        own = ox.NamedNode(str(source.graph or URIRef(base)))
        try:
            for found in ox.parse(
                path=source.path, format=rdf_format, base_iri=base, rename_blank_nodes=True
            ):
                s, p, o = found.subject, found.predicate, found.object
                yield found if found.graph_name != default else quad(s, p, o, own)
                if union:
                    yield quad(s, p, o)
        except (SyntaxError, ValueError, OSError) as exc:
            raise DatasetLoadError(f"{source.path}: {exc}") from exc


def sizes_of(store: ox.Store) -> dict[str, int]:
    """Triples per named graph of a store, and of its default graph (the union, :mod:`.union`) under ``""``.

    Counted by the engine (``COUNT`` in SPARQL), not by iterating quads in Python: at two million triples the
    Python loop alone took longer than loading them.
    """
    per_graph = store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    union = store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", use_default_graph_as_union=takes_union(store)
    )
    assert isinstance(per_graph, ox.QuerySolutions) and isinstance(union, ox.QuerySolutions)
    sizes = {row["g"].value: int(row["n"].value) for row in per_graph if isinstance(row["g"], ox.NamedNode)}
    sizes[""] = int(next(union)["n"].value)
    return sizes


def count_store(folder: Path, queries: StatisticsQueries) -> DatasetCounts:
    """The VoID counts of the store at ``folder``, counted here by the queries the server would run, on the
    store opened read-only and evaluated as a query process evaluates (the build keeps them in its manifest).

    :raises QueryFailed: a query failed.
    """
    listed = [getattr(queries, field.name) for field in fields(queries)]
    requests = [_request(prepared, "terms", None, None, COUNTED_ROWS) for prepared in listed]
    answers = zip(listed, _evaluate_here(folder, requests), strict=True)
    bodies = {id(prepared): body for prepared, (_, body) in answers}

    def rows(prepared: PreparedQuery) -> list[ResultRow]:
        document = json.loads(bodies[id(prepared)])
        return [row for row in _result(prepared.form, document) if isinstance(row, ResultRow)]

    return DatasetCounts.counted(rows, queries)


def keep_answers(folder: Path, queries: Mapping[str, PreparedQuery], target: Path) -> int:
    """Evaluate ``queries`` (by name) on the store at ``folder`` as the service's own requests for them would be
    (no parameter bound, the service's dataset, its row limit aside), and keep their answers in ``target``
    (:mod:`.answers`); returns how many it keeps.

    :raises QueryFailed: a query failed.
    :raises sqlite3.Error: ``target`` cannot be written.
    """
    named = sorted(queries.items())
    requests = [_request(prepared, "terms", None, None, KEPT_ROWS) for _, prepared in named]
    answers = _evaluate_here(folder, requests)
    return write_kept(
        target,
        (
            Kept(name, request, header, body)
            for (name, _), request, (header, body) in zip(named, requests, answers, strict=True)
        ),
    )


def _evaluate_here(
    folder: Path, requests: Sequence[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], bytes]]:
    """The answers to query requests on the store at ``folder``, in order, evaluated in this process (the
    build's) as a query process evaluates them, :data:`BUILD_THREADS` at a time: Oxigraph lets go of Python's
    lock while it evaluates, so each core takes a query (two threads did two 2.3 s queries of the 1M build in
    2.3 s).

    :raises QueryFailed: a query failed (when its answer is reached); the queries not yet started are not.
    """
    executor = Executor(ox.Store.read_only(str(folder)))
    for request, (header, body) in zip(requests, in_parallel(executor.query, requests), strict=True):
        if not header.get("ok"):
            raise QueryFailed(f"{str(request['query'])[:60]}...: {header.get('message')}")
        yield header, body


def in_parallel(work: Callable[[_Item], _Done], items: Iterable[_Item]) -> Iterator[_Done]:
    """``work`` of each item, in the items' order, done :data:`BUILD_THREADS` at a time: for the build's
    Oxigraph queries, which run without Python's lock. When the caller stops taking them (an error, its own or
    one ``work`` raised), the work not yet started is not done.

    The work's results cross threads; pyoxigraph's iterator of a query's solutions (``QuerySolutions``) must
    not, as it may be dropped only in the thread that made it: ``work`` returns the rows read (solutions one
    by one may cross), and an error it raises must not hold the iterator (in a frame of its traceback).
    """
    pool = ThreadPoolExecutor(BUILD_THREADS)
    try:
        yield from pool.map(work, items)
    finally:
        pool.shutdown(cancel_futures=True)


def load_files(sources: Sequence[DatasetSource], limits: Limits = Limits()) -> OxigraphStore:
    """The files, loaded into a temporary store (removed with the store object), served as they are.

    :raises DatasetLoadError: a file is missing or does not parse; nothing is served half-loaded.
    """
    digest = hashlib.sha256()
    for source in sources:
        try:
            data = source.path.read_bytes()
        except OSError as exc:
            raise DatasetLoadError(f"{source.path}: {exc.strerror}") from exc
        digest.update(str(source.graph).encode() + b"\0" + data)
    folder = Path(tempfile.mkdtemp(prefix="collabkg-store-"))
    try:
        write_store(folder / "store", sources)
        sizes = sizes_of(ox.Store.read_only(str(folder / "store")))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    union = sizes.pop("")
    mtimes = [source.path.stat().st_mtime for source in sources]
    modified = datetime.fromtimestamp(int(max(mtimes)), UTC) if mtimes else None
    store = OxigraphStore(
        folder / "store",
        version=digest.hexdigest()[:16],
        graph_sizes={URIRef(name): size for name, size in sizes.items()},
        union_size=union,
        modified=modified,
        limits=limits,
    )
    weakref.finalize(store, shutil.rmtree, folder, ignore_errors=True)
    return store


def open_built(
    paths: ProjectPaths, *, allow_stale: bool = False, limits: Limits = Limits()
) -> tuple[OxigraphStore, Manifest]:
    """The build output of ``paths`` as the server serves it (its store), and its manifest; it never builds.

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
    manifest = status.manifest
    try:
        counts = None if manifest.counts is None else DatasetCounts.from_json(manifest.counts)
    except (KeyError, TypeError, ValueError) as exc:
        raise BuildUnavailable(
            f"{where}: the manifest's VoID counts are unreadable ({exc!r}); run `collabkg build --force`"
        ) from None
    try:
        answers = KeptAnswers(paths.build_dir / manifest.answers)
    except KeptAnswersUnreadable as exc:
        raise BuildUnavailable(f"{where}: {exc}; run `collabkg build --force`") from None
    store = OxigraphStore(
        paths.build_dir / manifest.store,
        version=manifest.dataset_sha256[:16],
        graph_sizes={URIRef(name): size for name, size in manifest.graphs.items()},
        union_size=manifest.union_size,
        modified=datetime.fromisoformat(manifest.built_at),
        limits=limits,
        counts=counts,
        answers=answers,
    )
    return store, manifest


class OxigraphStore(Store):
    """A dataset in an Oxigraph store on disk, answered by query processes (:class:`.processes.Lanes`)."""

    def __init__(
        self,
        path: Path,
        *,
        version: str,
        graph_sizes: Mapping[URIRef, int],
        union_size: int,
        modified: datetime | None,
        limits: Limits = Limits(),
        counts: DatasetCounts | None = None,
        answers: KeptAnswers | None = None,
    ) -> None:
        """:param counts: the VoID counts, where the build counted them (:func:`count_store`); else they are
            counted on first need.
        :param answers: the answers the build kept (:func:`keep_answers`): the service's own requests for them
            are answered from there.
        """
        self.path = path
        self._counts = counts
        self._answers = answers
        self.version = version
        self._sizes = {name: size for name, size in sorted(graph_sizes.items()) if size}
        self._union_size = union_size
        self._modified = modified
        self.lanes = Lanes(
            path,
            memory=limits.memory,
            internal=limits.internal,
            quick=limits.quick,
            long=limits.long,
            quick_seconds=limits.quick_seconds,
            queue_seconds=limits.queue_seconds,
        )
        weakref.finalize(self, self.lanes.close)

    def counts(self, queries: StatisticsQueries, limit: int) -> DatasetCounts:
        """The build's counts when it counted (a pass over every triple: at a million triples, longer than the
        query time limit, and it held the worker's process for the service's own queries meanwhile)."""
        return self._counts if self._counts is not None else super().counts(queries, limit)

    def warm(self) -> None:
        """Start a query process for the worker's first query (:meth:`.processes.Lanes.prestart`)."""
        self.lanes.prestart()

    # --- queries ---------------------------------------------------------------------------------------------------

    def evaluate(
        self,
        prepared: PreparedQuery,
        *,
        selection: DatasetSelection | None = None,
        init_bindings: Mapping[str, Node] | None = None,
        limit: int,
        deadline: float = float("inf"),
    ) -> Answer:
        header, body = self._query(
            prepared, "terms", selection, init_bindings, limit, deadline, internal=True
        )
        return Answer(_result(prepared.form, json.loads(body)), bool(header["truncated"]))

    def texts(
        self,
        prepared: PreparedQuery,
        *,
        init_bindings: Mapping[str, Node] | None = None,
        limit: int,
        deadline: float = float("inf"),
    ) -> list[dict[str, str]]:
        """The rows' values read straight from the query process's terms, no rdflib term made."""
        _, body = self._query(prepared, "terms", None, init_bindings, limit, deadline, internal=True)
        document = json.loads(body)
        names = document.get("vars", [])
        return [
            {name: term[1] for name, term in zip(names, row, strict=True) if term is not None}
            for row in document.get("rows", [])
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
        header, body = self._query(
            prepared, fmt.name, selection, init_bindings, limit, deadline, internal=internal
        )
        return Reply(body, bool(header["truncated"]))

    def _query(
        self,
        prepared: PreparedQuery,
        fmt: str,
        selection: DatasetSelection | None,
        bindings: Mapping[str, Node] | None,
        limit: int,
        deadline: float,
        *,
        internal: bool,
    ) -> tuple[dict[str, Any], bytes]:
        request = _request(prepared, fmt, selection, bindings, limit)
        if internal and not bindings and self._answers is not None:
            kept = self._answers.answer(request)
            if kept is not None:
                return kept
        signature = None if bindings else prepared.signature or None
        return self._call(request, deadline, internal=internal, signature=signature)

    def _call(
        self, request: dict[str, Any], deadline: float, *, internal: bool, signature: str | None = None
    ) -> tuple[dict[str, Any], bytes]:
        try:
            header, body = self.lanes.run(request, deadline, internal=internal, signature=signature)
        except QueryProcessEnded as exc:
            raise QueryTooLarge(
                f"The query was stopped: {exc}. Make it more selective, or add a LIMIT."
            ) from None
        if header.get("ok"):
            return header, body
        message = str(header.get("message", ""))
        error = header.get("error")
        if error == "syntax":
            raise QuerySyntaxError(syntax_message(str(request.get("query", "")), message))
        if error == "format":
            raise formats.SerializationFailed(message)
        if error == "evaluation":
            raise QueryFailed(f"The query failed while running: {message}")
        raise StoreUnavailable(f"the query process refused a request: {message}")

    # --- the dataset ---------------------------------------------------------------------------------------------

    def graph_sizes(self) -> dict[URIRef, int]:
        return dict(self._sizes)

    def union_size(self) -> int:
        return self._union_size

    def modified(self) -> datetime | None:
        return self._modified

    def graph(self, name: URIRef) -> Graph:
        graph = with_prefixes(Graph(identifier=name))
        request = {"op": "graph", "graph": str(name)}
        _, body = self._call(request, time.monotonic() + 60, internal=True)
        for s, p, o in json.loads(body)["triples"]:
            graph.add((_decode(s), _decode(p), _decode(o)))
        return graph

    def quads(
        self, subjects: Collection[URIRef], predicates: Collection[URIRef], *, deadline: float
    ) -> Iterator[tuple[Node, Node, Node, URIRef]]:
        request = {
            "op": "quads",
            "subjects": sorted(map(str, subjects)),
            "predicates": sorted(map(str, predicates)),
        }
        _, body = self._call(request, deadline, internal=True)
        for subject, predicate, obj, graph in json.loads(body):
            yield URIRef(subject), URIRef(predicate), _decode(obj), URIRef(graph)

    def dump(self, extension: str, target: Path) -> None:
        request = {"op": "dump", "format": extension, "path": str(target), "prefixes": PREFIXES}
        self._call(request, time.monotonic() + 3600, internal=True)


def _decode(term: list[str] | None) -> Identifier:
    assert term is not None
    kind, value = term[0], term[1]
    if kind == "i":
        return URIRef(value)
    if kind == "b":
        return BNode(value)
    if term[3]:
        return Literal(value, lang=term[3])
    return Literal(value) if term[2] == XSD_STRING else Literal(value, datatype=URIRef(term[2]))


def _request(
    prepared: PreparedQuery,
    fmt: str,
    selection: DatasetSelection | None,
    bindings: Mapping[str, Node] | None,
    limit: int,
) -> dict[str, Any]:
    """What a query process (:class:`.executor.Executor`) is asked to answer ``prepared`` with."""
    request: dict[str, Any] = {
        "op": "query",
        "query": bound_text(prepared, bindings) if bindings else prepared.text,
        "base": prepared.base,
        "prefixes": dict(prepared.namespaces),
        "limit": limit,
        "format": fmt,
    }
    if prepared.form == "SELECT" and prepared.projection is None:
        request["order"] = list(prepared.variables)
    dataset = DatasetSelection.from_query(prepared) if selection is None else selection
    # The service's own dataset, which a store may give by taking the union of its graphs (:mod:`.union`).
    request["service_dataset"] = dataset == DatasetSelection()
    if selection is not None or len(dataset.default or ()) > 1:
        # Named but no default graph, or the reverse: the part not named is empty (the protocol says so).
        request["default"] = sorted(map(str, dataset.default or ()))
        request["named"] = sorted(map(str, dataset.named or ()))
        # Oxigraph merges several default graphs as a bag: a triple two of them hold would count twice.
        request["merge"] = len(request["default"]) > 1
    return request


def _result(form: str, document: dict[str, Any]) -> Result:
    """An rdflib result from the terms a query process wrote (:func:`.results.write_table` ``terms``)."""
    if form == "ASK":
        result = Result("ASK")
        result.askAnswer = bool(document["boolean"])
        return result
    if form == "SELECT":
        result = Result("SELECT")
        variables = [Variable(name) for name in document["vars"]]
        result.vars = variables
        result.bindings = [
            {var: _decode(term) for var, term in zip(variables, row, strict=True) if term is not None}
            for row in document["rows"]
        ]
        return result
    result = Result(form)
    graph = with_prefixes(Graph())
    for s, p, o in document["triples"]:
        graph.add((_decode(s), _decode(p), _decode(o)))
    result.graph = graph
    return result
