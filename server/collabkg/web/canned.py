"""Canned queries over HTTP: ``GET /queries`` lists the ``.rq`` files of ``queries/``, ``GET /queries/NAME``
runs one with the request's parameters (:mod:`collabkg.queryfiles` reads the files).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.exceptions import NotFound

from .. import formats
from ..queryfiles import RESERVED_NAMES, ParameterError
from . import sparql
from .context import absolute_url, service

bp = Blueprint("canned", __name__)

#: Listings: a browser gets HTML, anything else JSON.
LISTING_FORMATS = (formats.SPARQL_JSON, formats.HTML)


def _single_values() -> dict[str, str]:
    """The request's parameters; one given twice is ambiguous, so it is refused rather than guessed.

    :raises ParameterError: a parameter other than ``format`` is repeated.
    """
    for name, values in request.args.lists():
        if len(values) > 1 and name not in RESERVED_NAMES:
            raise ParameterError(name, "given more than once")
    return request.args.to_dict()


@bp.get("/queries")
def list_queries() -> Response:
    """The canned queries: HTML for a browser, JSON otherwise."""
    choice = formats.negotiate(LISTING_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    listing = [
        {**query.describe(), "url": absolute_url("canned.run_query", name=query.name)}
        for query in service().queries.canned.values()
    ]
    if choice.format is formats.HTML:
        body = render_template("queries.html", queries=listing)
        return Response(body, mimetype="text/html")
    return current_app.response_class(
        current_app.json.dumps({"queries": listing}), mimetype="application/json"
    )


@bp.get("/queries/<name>")
def run_query(name: str) -> Response:
    """Run one canned query with the request's parameters, negotiated and written as ``/sparql`` does.

    :raises ParameterError: a parameter is missing, unknown, repeated or of the wrong type (400).
    """
    query = service().queries.canned.get(name)
    if query is None:
        raise NotFound(f"No canned query named {name!r}; GET /queries lists them.")
    bindings = query.bindings(_single_values())
    return sparql.answer(
        query.prepared,
        requested_formats=request.args.getlist("format"),
        init_bindings=bindings,
        name=name,
        internal=True,
    )
