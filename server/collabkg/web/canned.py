"""Canned queries over HTTP: ``GET /queries`` lists the ``.rq`` files of ``queries/``, ``GET /queries/NAME``
runs one with the request's parameters (:mod:`collabkg.queryfiles` reads the files).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from .. import formats
from ..queryfiles import RESERVED_NAMES, CannedQuery, ParameterError, load_queries
from . import sparql

#: Where an app keeps the digests of the query texts the build of its dataset parsed (:func:`parsed_in`).
PARSED_QUERIES = "collabkg.parsed_queries"


def parsed_in(app: Flask) -> frozenset[str]:
    """Digests of the query texts the build of the app's dataset parsed; none when it serves other files or
    a remote store, and then every query is parsed at start."""
    return app.extensions.get(PARSED_QUERIES, frozenset())


blueprint = Blueprint("canned", __name__)

#: Listings: a browser gets HTML, anything else JSON.
LISTING_FORMATS = (formats.SPARQL_JSON, formats.HTML)


def queries() -> dict[str, CannedQuery]:
    """The canned queries of the running app."""
    return current_app.extensions["collabkg.canned"]


def init_app(app: Flask) -> None:
    """Load ``queries/*.rq`` of the project (``CANNED_QUERIES_DIR`` overrides) and register the routes.

    :raises QueryFileError: a query file is malformed: the app does not start.
    """
    folder = app.config.get("CANNED_QUERIES_DIR") or Path(app.config["PROJECT_ROOT"]) / "queries"
    app.extensions["collabkg.canned"] = load_queries(Path(folder), parsed=parsed_in(app))
    app.register_blueprint(blueprint)


def _single_values() -> dict[str, str]:
    """The request's parameters; one given twice is ambiguous, so it is refused rather than guessed.

    :raises ParameterError: a parameter other than ``format`` is repeated.
    """
    for name, values in request.args.lists():
        if len(values) > 1 and name not in RESERVED_NAMES:
            raise ParameterError(name, "given more than once")
    return request.args.to_dict()


@blueprint.get("/queries")
def list_queries() -> Response:
    """The canned queries: HTML for a browser, JSON otherwise."""
    choice = formats.negotiate(LISTING_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    listing = [
        {**query.describe(), "url": url_for("canned.run_query", name=query.name, _external=True)}
        for query in queries().values()
    ]
    if choice.format is formats.HTML:
        body = render_template("queries.html", queries=listing)
        return Response(body, mimetype="text/html")
    return current_app.response_class(
        current_app.json.dumps({"queries": listing}), mimetype="application/json"
    )


@blueprint.get("/queries/<name>")
def run_query(name: str) -> Response:
    """Run one canned query with the request's parameters, negotiated and written as ``/sparql`` does."""
    query = queries().get(name)
    if query is None:
        raise NotFound(f"No canned query named {name!r}; GET /queries lists them.")
    try:
        bindings = query.bindings(_single_values())
    except ParameterError as exc:
        raise BadRequest(str(exc)) from exc
    return sparql.answer(
        query.prepared, requested_formats=request.args.getlist("format"), init_bindings=bindings, name=name
    )


for _error in (HTTPException, *(cls for cls, _ in sparql.STATUS_OF_ERROR)):
    blueprint.register_error_handler(_error, sparql._error_response)
