"""The application factory: the Flask app over one store, with every route and error handler registered.

The app only loads: it serves what the build wrote (``build/``, checked current by its manifest), the RDF
files it is given, or a store elsewhere; it never builds, validates or reasons. ``collabkg serve`` builds
first when an input changed, then creates the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from ..paths import default_root, project_paths
from ..queryfiles import ServedQueries
from ..search import SearchIndex, SearchIndexUnavailable
from ..store.base import BuildUnavailable, Store
from ..store.oxigraph import load_files, open_built
from ..store.remote import RemoteStore, StoreQueries
from . import canned, citations, dataset, errors, evidencemap, pages, search, security, sparql, trails, ui
from .context import EXTENSION, Service, Settings

__all__ = ["DEFAULTS", "create_app"]

#: Every configuration key the app reads, with its default. ``COLLABKG_<KEY>`` environment variables override
#: them (``COLLABKG_QUERY_TIMEOUT=30``), and the mapping given to :func:`create_app` overrides both.
DEFAULTS: dict[str, Any] = {
    #: The project tree (ontology/, data/, queries/, ui/, build/); ``None``: $COLLABKG_ROOT or this checkout.
    "PROJECT_ROOT": None,
    #: :class:`~collabkg.store.DatasetSource` files to serve instead of the build output.
    "DATASET_FILES": None,
    #: A SPARQL endpoint holding the published build, to answer from instead of loading a dataset here.
    "STORE_URL": None,
    #: Serve the last build output even when it is stale (after a build that failed).
    "SERVE_STALE_BUILD": False,
    #: The URL the service is reached at (scheme, host, port and any path it is mounted under): what it
    #: writes into everything it says about itself (VoID, the service description, query listings), never
    #: the request's ``Host``, which any client can forge. ``collabkg serve`` sets it (``--base-url``, by
    #: default from the address it binds).
    "BASE_URL": "http://localhost",
    #: Seconds a query may run before it is stopped and answered 503.
    "QUERY_TIMEOUT": 10.0,
    #: Most rows (or triples) a query response carries.
    "RESULT_LIMIT": 10_000,
    #: Largest request body accepted (bytes); larger is 413.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    #: Bytes of memory one query may use (its process's data segment); past it the query is stopped (503).
    "QUERY_MEMORY": 1 << 30,
    #: Per web worker: processes for clients' queries, places for their long queries, and processes for the
    #: service's own (pages, trails, canned queries); see :mod:`collabkg.store.processes`.
    "QUERY_PROCESSES": 2,
    "LONG_QUERIES": 1,
    "QUERY_PROCESSES_INTERNAL": 1,
    #: Seconds a client's query may run before it needs a long place (when none is free: 503, Retry-After).
    "QUICK_SECONDS": 0.5,
    #: Most seconds a request waits for a free query process before it is turned away (503, Retry-After).
    "QUEUE_SECONDS": 2.0,
    #: Bytes of query answers each process keeps for repeated requests (:mod:`.cache`); 0: none.
    "CACHE_BYTES": 64 * 1024 * 1024,
    #: Per web worker (``collabkg serve``): threads running the app, and most connections open at once (past
    #: them: 503, Retry-After). An idle or slow client holds a connection, never a thread (:mod:`.front`).
    "THREADS": 32,
    "CONNECTIONS": 1000,
    #: Seconds a connection may take to send a request's head, then its body (408), and may leave a part of
    #: an answer unread, before it is closed.
    "HEADER_SECONDS": 10.0,
    "BODY_SECONDS": 30.0,
    "SEND_SECONDS": 30.0,
    #: The folder of the query files; ``None``: ``queries/`` of the project.
    "CANNED_QUERIES_DIR": None,
    #: The folder where ``npm ci`` installs the query UI; ``None``: ``ui/`` of the project.
    "UI_DIR": None,
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the collabkg web application.

    Configuration comes from :data:`DEFAULTS`, then ``COLLABKG_*`` environment variables, then ``test_config``.

    :param test_config: overrides for tests and for the command line.
    :raises collabkg.store.BuildUnavailable: there is no build output, or it is stale (and ``SERVE_STALE_BUILD``
        is false).
    :raises collabkg.store.DatasetLoadError: a dataset file does not load.
    :raises collabkg.store.StoreUnavailable: the store at ``STORE_URL`` cannot be used.
    :raises collabkg.queryfiles.QueryFileError: a query file is malformed.
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("COLLABKG")
    if test_config is not None:
        app.config.from_mapping(test_config)
    if app.config["PROJECT_ROOT"] is None:
        app.config["PROJECT_ROOT"] = str(default_root())

    settings = Settings.of(app.config)
    queries = ServedQueries.load(settings.queries_dir)
    store, search_index = _open_store(app.config, settings)
    app.extensions[EXTENSION] = Service(settings, store, queries, search_index)
    errors.init_app(app)
    for module in (sparql, canned, trails, citations, pages, dataset, ui, search, evidencemap):
        app.register_blueprint(module.bp)
    app.after_request(security.add_headers)
    return app


def _open_store(config: Mapping[str, Any], settings: Settings) -> tuple[Store, SearchIndex | None]:
    """The store the configuration names (elsewhere, the files given, or the build output), and the build's
    text index (a store that is no build has none: its text is indexed on its first search).

    :raises collabkg.store.base.BuildUnavailable: the build's text index is damaged or of another version.
    """
    if config["STORE_URL"]:
        return RemoteStore(config["STORE_URL"], StoreQueries.load(settings.queries_dir)), None
    if config["DATASET_FILES"] is not None:
        return load_files(config["DATASET_FILES"], settings.limits), None
    paths = project_paths(Path(config["PROJECT_ROOT"]))
    store, manifest = open_built(paths, allow_stale=bool(config["SERVE_STALE_BUILD"]), limits=settings.limits)
    try:
        search_index = SearchIndex.open(paths.build_dir / manifest.search_index)
    except SearchIndexUnavailable as exc:
        raise BuildUnavailable(f"{exc}; run `collabkg build --force`") from exc
    return store, search_index
