"""collabkg: an evidence knowledge graph of collaboration between welfare organizations, and its query service.

``create_app`` is the Flask application factory; ``build`` runs the pipeline that turns ``ontology/`` and
``data/`` into the served dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from ..build import load_built
from ..paths import default_root
from ..store import load_store
from ..store.remote import RemoteStore, StoreQueries
from . import canned, citations, pages, sparql, trails

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the collabkg web application.

    Configuration comes from the defaults below, then ``COLLABKG_*`` environment variables
    (``COLLABKG_QUERY_TIMEOUT=30``), then ``test_config``.

    ``DATASET_FILES`` (a list of :class:`~collabkg.store.DatasetSource`) serves those files instead of the
    built graph; otherwise the app serves the build output of ``PROJECT_ROOT``, building it first when an input
    changed since the last build.

    :param test_config: overrides for tests and for the CLI.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        PROJECT_ROOT=str(default_root()),
        DATASET_FILES=None,
        STORE_URL=None,
        #: Seconds a query may run before it is stopped and answered 503.
        QUERY_TIMEOUT=10.0,
        #: Most rows (or triples) a query response carries.
        RESULT_LIMIT=10_000,
        #: Largest request body accepted (bytes); larger is 413.
        MAX_CONTENT_LENGTH=1024 * 1024,
        #: Bytes of query answers each process keeps for repeated requests (:mod:`collabkg.cache`); 0: none.
        CACHE_BYTES=64 * 1024 * 1024,
    )
    app.config.from_prefixed_env("COLLABKG")
    if test_config is not None:
        app.config.from_mapping(test_config)

    root = Path(app.config["PROJECT_ROOT"])
    sources = app.config["DATASET_FILES"]
    if app.config["STORE_URL"]:
        queries = StoreQueries.load(Path(app.config.get("CANNED_QUERIES_DIR") or root / "queries"))
        app.extensions["collabkg.store"] = RemoteStore(app.config["STORE_URL"], queries)
    elif sources is None:
        store, built = load_built(root)
        app.extensions["collabkg.store"] = store
        app.extensions[canned.PARSED_QUERIES] = built.parsed_queries
    else:
        app.extensions["collabkg.store"] = load_store(sources)

    sparql.init_app(app)
    canned.init_app(app)
    trails.init_app(app)
    citations.init_app(app)
    pages.init_app(app)
    return app
