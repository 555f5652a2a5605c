"""Every error a request can meet becomes its HTTP status here, in one place, registered once for the app.

The errors of the layers below (a query that does not parse, a parameter of the wrong type, a format nobody
offers, a query past its time limit, a store that is down) know nothing of HTTP; :data:`STATUS` gives each its
status. Protocol errors are werkzeug's ``HTTPException`` already. The answer is plain text with the reason,
except a resource or dataset page not found, which is a page with links onward (still 404), and a search a
browser sent that cannot be run, which is a page with the reason and the form (still 400).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from ..formats import NoAcceptableFormat, SerializationFailed
from ..queryfiles import ParameterError, QueryFileError
from ..search import SearchError
from ..store.base import StoreUnavailable
from ..store.processes import Abandoned, Overloaded
from ..store.query import QueryError, QueryTooLarge, TimeLimitExceeded

__all__ = ["STATUS", "init_app"]

#: The HTTP status of each error the layers below raise.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (QueryError, 400),
    (ParameterError, 400),
    (SearchError, 400),
    (NoAcceptableFormat, 406),
    (SerializationFailed, 406),
    (TimeLimitExceeded, 503),
    (QueryTooLarge, 503),
    (Overloaded, 503),
    (StoreUnavailable, 502),
    (QueryFileError, 500),
    # Nobody reads it (the front drops the answer of a client that left); 499 as nginx logs such requests.
    (Abandoned, 499),
)
#: Blueprints whose "not found" is a page for people rather than a line of text.
PAGE_BLUEPRINTS = frozenset({"pages", "dataset"})
#: Blueprints of forms for people, whose "bad request" a browser gets as a page with the form to try again.
FORM_BLUEPRINTS = frozenset({"search"})
#: What a client is told of errors that are the operator's to fix, whose details (URLs, paths) are theirs.
OPERATOR_MESSAGES: dict[type[Exception], str] = {
    StoreUnavailable: "The store this service answers from is unavailable; try again later.",
    QueryFileError: "A query file of this service is broken; its operator has been told.",
}


def init_app(app: Flask) -> None:
    """Answer every error of :data:`STATUS`, and every ``HTTPException``, with :func:`respond`."""
    app.register_error_handler(HTTPException, respond)
    for error, _ in STATUS:
        app.register_error_handler(error, respond)


def respond(exc: Exception) -> Response:
    """The response to ``exc``: its status and its reason as plain text (or the not-found page)."""
    if isinstance(exc, NotFound) and request.blueprint in PAGE_BLUEPRINTS:
        body = render_template("not_found.html", message=exc.description, path=request.path)
        return Response(body, status=404, mimetype="text/html")
    if isinstance(exc, HTTPException):
        status, message = exc.code or 500, exc.description or exc.name
    else:
        status, message = next(code for cls, code in STATUS if isinstance(exc, cls)), str(exc)
    if isinstance(exc, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"The request body is longer than the {limit} bytes this service accepts."
    if isinstance(exc, TimeLimitExceeded):
        current_app.logger.warning("query stopped at the time limit: %s", request.url[:500])
        message = str(TimeLimitExceeded(float(current_app.config["QUERY_TIMEOUT"])))
    for error, public in OPERATOR_MESSAGES.items():
        if isinstance(exc, error):
            current_app.logger.error("%s", exc)
            message = public
    if status == 400 and request.blueprint in FORM_BLUEPRINTS and _wants_a_page():
        body = render_template("bad_request.html", message=message, text=request.args.get("q", ""))
        return Response(body, status=400, mimetype="text/html")
    response = Response(message.rstrip("\n") + "\n", status=status, content_type="text/plain; charset=utf-8")
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 406:
        response.vary.add("Accept")
    if isinstance(exc, Overloaded):
        response.headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, TimeLimitExceeded | QueryTooLarge):
        response.headers["Retry-After"] = "1"
    return response


def _wants_a_page() -> bool:
    """Whether the request is a browser's, asking for HTML (no other ``format=``, HTML first in ``Accept``)."""
    if any(value.strip().lower() not in ("html", "text/html") for value in request.args.getlist("format")):
        return False
    return request.accept_mimetypes.best_match(("text/html", "application/json", "text/plain")) == "text/html"
