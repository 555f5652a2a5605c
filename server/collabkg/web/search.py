"""Search over HTTP: ``GET /search?q=…`` over the text index (:mod:`collabkg.search`), a page for people or
JSON for programs, with filters by kind, review, polarity, determinant and model.

Every hit links to its page and, for findings, claims, models and determinants, its evidence trail. A bad
request (an empty or over-long query, a filter value the graph does not know, a page out of range) is a
:class:`~collabkg.search.SearchError`, answered 400 with the reason (:mod:`.errors`), as a page with the search
form for a browser.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from rdflib import URIRef

from .. import formats
from ..search import FACETS, KINDS, Hit, Results, SearchError, SearchRequest, results_data
from .context import absolute_url, service
from .pages import href, id_path, trail_of, trail_url

__all__ = ["JSON", "bp", "read_request"]

bp = Blueprint("search", __name__)

#: A search's answer as JSON (``format=json`` or ``Accept: application/json``).
JSON = formats.Format("JSON", ("json",), ("application/json",), "", None)
#: A browser gets the page; ``*/*`` (curl) too, as for the other pages.
SEARCH_FORMATS: tuple[formats.Format, ...] = (formats.HTML, JSON)
#: Parameters a search takes once at most, and those it takes any number of times.
SINGLE = ("q", "limit", "offset")
REPEATABLE = ("kind", *FACETS, "format")


def read_request() -> SearchRequest | None:
    """The search the request asks for; ``None`` when it gives no ``q`` at all (the empty search page).

    :raises SearchError: an unknown or repeated parameter, or a value out of bounds; names which.
    """
    args = request.args
    for name, values in args.lists():
        if name not in SINGLE and name not in REPEATABLE:
            raise SearchError(name, f"unknown parameter (a search takes {', '.join((*SINGLE, *REPEATABLE))})")
        if name in SINGLE and len(values) > 1:
            raise SearchError(name, "given more than once")
    if "q" not in args:
        if any(name != "format" for name in args):
            raise SearchError("q", "required: the words to search for")
        return None
    return SearchRequest.of(
        args["q"],
        kinds=args.getlist("kind"),
        filters={facet: args.getlist(facet) for facet in FACETS if facet in args},
        limit=args.get("limit"),
        offset=args.get("offset"),
    )


@bp.get("/search")
def search() -> Response:
    """Search the graph's words: ranked hits with the matching words marked, and filters to narrow them."""
    choice = formats.negotiate(SEARCH_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    wanted = read_request()
    index = service().search_index
    if wanted is None and choice.format is JSON:
        raise SearchError("q", "required: the words to search for")
    results = None if wanted is None else index.search(wanted)
    if choice.format is JSON:
        assert results is not None
        response = current_app.response_class(
            current_app.json.dumps(_as_json(results)), mimetype="application/json"
        )
    else:
        body = render_template(
            "search.html",
            results=results,
            view=None if results is None else _view(results),
            kinds=KINDS,
            terms={facet: index.terms(facet) for facet in FACETS},
        )
        response = Response(body, mimetype="text/html")
    response.vary.add("Accept")
    return response


def _links(hit: Hit) -> tuple[str | None, str | None]:
    """The hit's page and evidence trail on this server (paths, for the page)."""
    return href(URIRef(hit.iri)), trail_url(URIRef(hit.iri))


def _view(results: Results) -> dict[str, Any]:
    """What the page shows besides the hits: each hit's links, the pages before and after."""
    wanted = results.request
    links = {hit.iri: _links(hit) for hit in results.hits}
    previous = wanted.offset - wanted.limit if wanted.offset > 0 else None
    following = wanted.offset + wanted.limit if wanted.offset + wanted.limit < results.total else None
    counts = {facet: {value: count for value, _, count in values} for facet, values in results.facets.items()}
    as_json: dict[str, Any] = {
        name: values for name, values in request.args.to_dict(flat=False).items() if name != "format"
    }
    return {
        "links": links,
        "json": url_for("search.search", **as_json, format="json"),
        "previous": None if previous is None else _page_url(max(previous, 0)),
        "next": None if following is None else _page_url(following),
        "counts": counts,
        "selected": {"kind": set(wanted.kinds)}
        | {facet: {term.slug for term in terms} for facet, terms in results.applied.items()},
    }


def _page_url(offset: int, *, absolute: bool = False) -> str:
    """This search at another offset."""
    args: dict[str, Any] = request.args.to_dict(flat=False)
    args["offset"] = [str(offset)]
    return absolute_url("search.search", **args) if absolute else url_for("search.search", **args)


def _as_json(results: Results) -> dict[str, Any]:
    """The answer for programs (:func:`collabkg.search.results_data`), with each hit's page and trail, and the
    next page, as absolute URLs on the service's base."""
    data = results_data(results)
    for hit in data["hits"]:
        path, trail = id_path(URIRef(hit["iri"])), trail_of(URIRef(hit["iri"]))
        hit["page"] = None if path is None else absolute_url("pages.page", path=path)
        hit["trail"] = (
            None if trail is None else absolute_url("trails.show_trail", kind=trail[0], slug=trail[1])
        )
    following = results.request.offset + results.request.limit
    data["next"] = _page_url(following, absolute=True) if following < results.total else None
    return data
