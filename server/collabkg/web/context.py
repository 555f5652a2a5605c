"""What every request of an app works with, made once when the app is created: its settings, its store, the
queries it serves and what is computed from them, with typed accessors for the views.

One app serves one dataset version: nothing here changes while it runs, so what is computed from the store (the
VoID counts, the ontology's documentation, the dumps) is computed once, on first need. Nothing expensive is
computed at start-up: the first request of a fresh server is usually a query, and counting the dataset or
running pyLODE (about a second each) would only delay it.
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, current_app, request, url_for
from rdflib import Graph, URIRef
from rdflib.query import Result, ResultRow
from rdflib.term import Node

from ..namespaces import ONTOLOGY_GRAPH
from ..queryfiles import SEARCH_DOCUMENTS, CannedQuery, ServedQueries
from ..search import SearchIndex, read_documents
from ..store.base import DatasetStatistics, Store
from ..store.oxigraph import Limits
from .cache import CachedAnswer, KeyLocks, ResultCache, etag_of, tagged
from .vocabdoc import ontology_documentation

__all__ = [
    "DatasetFacts",
    "Service",
    "Settings",
    "absolute_url",
    "first_rows",
    "kept",
    "run",
    "select",
    "select_texts",
    "service",
    "within_limits",
]

T = TypeVar("T")
P = ParamSpec("P")
#: Headers of a page that are written afresh for each response rather than kept with it.
_UNKEPT_HEADERS = frozenset({"content-length", "content-type", "etag", "cache-control", "vary", "date"})

#: Where an app keeps its :class:`Service`.
EXTENSION = "collabkg"


@dataclass(frozen=True)
class Settings:
    """The app's configuration as the views use it, typed (``create_app`` declares every key and default)."""

    project_root: Path
    #: ``queries/``: canned queries, and the pages' (``pages/``), trails' (``trail/``) and remote stores' own.
    queries_dir: Path
    #: ``ui/``, where ``npm ci`` installs YASGUI.
    ui_dir: Path
    #: Seconds a query may run before it is stopped and answered 503.
    query_timeout: float
    #: Most rows (or triples) a query response carries.
    result_limit: int
    #: Bytes of query answers each process keeps for repeated requests; 0: none.
    cache_bytes: int
    #: Where the service is reached, without a trailing ``/`` (``http://127.0.0.1:8000``).
    base_url: str
    #: What each web worker's query processes may use (``QUERY_*`` keys, :class:`collabkg.store.oxigraph.Limits`).
    limits: Limits

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings:
        root = Path(config["PROJECT_ROOT"])
        return cls(
            project_root=root,
            queries_dir=Path(config["CANNED_QUERIES_DIR"] or root / "queries"),
            ui_dir=Path(config["UI_DIR"] or root / "ui"),
            query_timeout=float(config["QUERY_TIMEOUT"]),
            result_limit=int(config["RESULT_LIMIT"]),
            cache_bytes=int(config["CACHE_BYTES"]),
            base_url=str(config["BASE_URL"]).rstrip("/"),
            limits=Limits(
                memory=int(config["QUERY_MEMORY"]),
                internal=int(config["QUERY_PROCESSES_INTERNAL"]),
                quick=int(config["QUERY_PROCESSES"]),
                long=int(config["LONG_QUERIES"]),
                quick_seconds=float(config["QUICK_SECONDS"]),
                queue_seconds=float(config["QUEUE_SECONDS"]),
            ),
        )


@dataclass(frozen=True)
class DatasetFacts:
    """The sizes the service description and the landing page state, counted once."""

    #: Named graphs and their sizes, sorted by name.
    graphs: tuple[tuple[URIRef, int], ...]
    #: Size of the default graph (the union: a triple in two graphs counts once).
    default_size: int

    @classmethod
    def of(cls, store: Store) -> DatasetFacts:
        return cls(tuple(store.graph_sizes().items()), store.union_size())


class Service:
    """One app's settings, store, queries and answer cache, and what it computes from the store once."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        queries: ServedQueries,
        search_index: SearchIndex | None = None,
    ) -> None:
        """:param search_index: the build's text index; ``None``: index the store in memory on first search."""
        self.settings = settings
        self.store = store
        self.queries = queries
        self._search_index = search_index
        self.cache = ResultCache(settings.cache_bytes)
        #: Pages being made: one request makes a missing page, the others asking for it meanwhile wait for it.
        self.making = KeyLocks()
        #: The folder the dumps are written to, on first request of each (private to this app, removed with it).
        self.dumps = Path(tempfile.mkdtemp(prefix="collabkg-dumps-"))
        weakref.finalize(self, shutil.rmtree, self.dumps, ignore_errors=True)
        self._dump_lock = threading.Lock()

    @classmethod
    def of(cls, app: Flask) -> Service:
        """The service of ``app``."""
        found = app.extensions[EXTENSION]
        assert isinstance(found, Service)
        return found

    @functools.cached_property
    def facts(self) -> DatasetFacts:
        """The sizes of the graphs, as the store knows them."""
        return DatasetFacts.of(self.store)

    @functools.cached_property
    def endpoint_url(self) -> str:
        """The SPARQL endpoint's canonical URL, on the base URL (:func:`absolute_url`, the same for every request:
        worked out on the first, inside it, rather than for every query)."""
        return absolute_url("sparql.endpoint")

    @functools.cached_property
    def statistics(self) -> DatasetStatistics:
        """The VoID counts (queries over the whole dataset: counted once, on first need)."""
        return self.store.statistics(self.queries.statistics, limit=1_000_000)

    def dump(self, extension: str) -> Path:
        """The whole dataset in one dump format, written on first request and kept for the next."""
        target = self.dumps / f"collabkg.{extension}"
        with self._dump_lock:
            if not target.exists():
                partial = target.with_suffix(".part")
                self.store.dump(extension, partial)
                partial.rename(target)
        return target

    @functools.cached_property
    def ontology(self) -> Graph | None:
        """The ontology's named graph (``None``: the dataset has no ontology)."""
        return self.store.graph(ONTOLOGY_GRAPH) if ONTOLOGY_GRAPH in self.store.graph_names() else None

    @property
    def search_index(self) -> SearchIndex:
        """The text index: the build's file, or, for served files and stores elsewhere, the answer of
        ``queries/pages/search-documents.rq`` indexed in memory on first use (under the query time limit)."""
        if self._search_index is None:
            query = self.queries.pages[SEARCH_DOCUMENTS]
            store = self.store

            def rows(deadline: float) -> list[dict[str, str]]:
                return store.texts(query.prepared, limit=sys.maxsize - 1, deadline=deadline)

            self._search_index = SearchIndex.of_documents(*read_documents(within_limits(rows)))
        return self._search_index

    @functools.cached_property
    def vocab_html(self) -> str | None:
        """pyLODE's documentation of the ontology, or ``None`` without one."""
        if self.ontology is None:
            return None
        return ontology_documentation(self.ontology.serialize(format="turtle").encode())


def service() -> Service:
    """The service of the app handling the current request."""
    return Service.of(current_app)


def absolute_url(endpoint: str, **values: Any) -> str:
    """The URL of ``endpoint`` on the service's canonical base (:attr:`Settings.base_url`): what the service
    writes about itself, whatever ``Host`` a request came with."""
    path = url_for(endpoint, **values)
    root = request.script_root
    return service().settings.base_url + (path[len(root) :] if root and path.startswith(root) else path)


def within_limits(work: Callable[[float], T]) -> T:
    """Run ``work(deadline)`` with the deadline of the app's query time limit: every store call it makes is
    stopped there (:class:`collabkg.store.query.TimeLimitExceeded`)."""
    return work(time.monotonic() + service().settings.query_timeout)


def run(query: CannedQuery, **bindings: Node) -> Result:
    """The result of one of the app's own queries, under the service's time and size limits."""
    return _evaluate(query, bindings, None)


def select(name: str, **bindings: Node) -> list[ResultRow]:
    """Rows of a page query (``queries/pages/NAME.rq``), under the service's time and size limits."""
    return list(_evaluate(service().queries.pages[name], bindings, None))  # type: ignore[arg-type]


def first_rows(name: str, limit: int, **bindings: Node) -> list[ResultRow]:
    """The first ``limit`` rows of a page query (no more than the service's limit): the query stops there."""
    return list(_evaluate(service().queries.pages[name], bindings, limit))  # type: ignore[arg-type]


def select_texts(name: str, **bindings: Node) -> list[dict[str, str]]:
    """Every row of a page query, each value as text (:meth:`~collabkg.store.Store.texts`), under the service's
    time limit: for the pages made of the whole graph (the evidence map, the landing page's lists), which are
    never cut at the row limit of a client's answer (at a million triples the map has 17,750 cells, and 10,000
    of them were drawn without a word). The build keeps these answers; else the time limit bounds them."""
    current = service()
    query = current.queries.pages[name]

    def work(deadline: float) -> list[dict[str, str]]:
        return current.store.texts(
            query.prepared, init_bindings=bindings, limit=sys.maxsize - 1, deadline=deadline
        )

    return within_limits(work)


def _evaluate(query: CannedQuery, bindings: Mapping[str, Node], limit: int | None) -> Result:
    current = service()
    rows = current.settings.result_limit if limit is None else min(limit, current.settings.result_limit)

    def work(deadline: float) -> Result:
        return current.store.evaluate(
            query.prepared, init_bindings=bindings, limit=rows, deadline=deadline
        ).result

    return within_limits(work)


def kept(view: Callable[P, Response]) -> Callable[P, Response]:
    """A page view whose answer is kept in the app's answer cache and tagged (``ETag``).

    A page is made of several of the service's own queries, and they take turns in the worker's internal query
    processes: under load, the same few popular pages queued there until they were turned away (503). A page's
    answer depends only on the dataset version, the view, the request's path and arguments and its ``Accept``
    header (the negotiated format), so it is kept under exactly that key; answers of 200 and of redirects are
    kept, errors never (a 404 stays cheap: one ``ASK``). The base URL is the app's own, never the request's.
    Requests for a page being made wait for it (:class:`~.cache.KeyLocks`) rather than make it again.
    """

    @functools.wraps(view)
    def answer(*args: P.args, **kwargs: P.kwargs) -> Response:
        current = service()
        key = (
            "page",
            request.endpoint,
            current.store.version,
            request.path,
            tuple(sorted(request.args.items(multi=True))),
            request.headers.get("Accept", ""),
        )
        tag = etag_of(key)
        if request.if_none_match.contains_weak(tag):
            return tagged(Response(status=304), tag)
        cached = current.cache.get(tag)
        if cached is None:
            with current.making.hold(tag, timeout=current.settings.query_timeout):
                cached = current.cache.get(tag)  # made while this request waited
                if cached is None:
                    response = view(*args, **kwargs)
                    if response.status_code not in (200, 301, 303) or response.is_streamed:
                        return response
                    headers = tuple(
                        (name, value)
                        for name, value in response.headers
                        if name.lower() not in _UNKEPT_HEADERS
                    )
                    cached = CachedAnswer(
                        response.get_data(), response.content_type or "", False, response.status_code, headers
                    )
                    current.cache.put(tag, cached)
        response = Response(cached.body, status=cached.status, content_type=cached.content_type)
        response.headers.extend(cached.headers)
        return tagged(response, tag)

    return answer
