"""Evidence trails over HTTP: ``GET /trail/{kind}/{slug}``, a page for people or the trail's graph as RDF
(:mod:`collabkg.evidence.trails` reads it from the store).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from rdflib import Graph
from werkzeug.exceptions import NotFound

from .. import formats
from ..evidence.citations import trail_sources
from ..evidence.trails import KINDS, construct, read_trail, trail_graph
from ..namespaces import resource_iri, with_prefixes
from .citations import cite_trail
from .context import kept, service, within_limits

bp = Blueprint("trails", __name__)

#: A trail is data (any graph format) or a page.
TRAIL_FORMATS: tuple[formats.Format, ...] = (formats.HTML, *formats.GRAPH_FORMATS)


@bp.get("/trail/<kind>/<slug>")
@kept
def show_trail(kind: str, slug: str) -> Response:
    """The trail of ``id/{kind}/{slug}``: a page for browsers; Turtle, JSON-LD or other RDF for programs."""
    if kind not in KINDS:
        raise NotFound(f"Trails start from a {', '.join(KINDS)}; not a {kind!r}.")
    choice = formats.negotiate(TRAIL_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    iri = resource_iri(f"{kind}/{slug}")
    if iri is None:
        raise NotFound(f"The graph knows no {kind} {slug!r}.")
    current = service()
    store, queries, limit = current.store, current.queries, current.settings.result_limit

    def trail_and_explanations(deadline: float) -> Graph:
        graph = with_prefixes(Graph())
        graph += trail_graph(queries, store, iri, limit=limit, deadline=deadline)
        graph += construct(queries.explanations, store, {"_resource": iri}, limit=limit, deadline=deadline)
        return graph

    graph = within_limits(trail_and_explanations)
    if not graph:
        raise NotFound(f"The graph knows no {kind} {slug!r}.")
    if choice.format is formats.HTML:
        trail = read_trail(graph, iri)
        sources = within_limits(
            lambda deadline: trail_sources(queries.sources, store, trail, limit=limit, deadline=deadline)
        )
        body = render_template("trail.html", trail=trail, citing=cite_trail(trail, sources))
        response = Response(body, mimetype="text/html")
    else:
        response = Response(formats.serialize_graph(graph, choice.format), content_type=choice.content_type)
    response.vary.add("Accept")
    return response
