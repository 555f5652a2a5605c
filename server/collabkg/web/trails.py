"""Evidence trails over HTTP: ``GET /trail/{kind}/{slug}``, a page for people or the trail's graph as RDF
(:mod:`collabkg.evidence.trails` reads it from the store).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, render_template, request
from rdflib import Graph
from werkzeug.exceptions import HTTPException, NotFound

from .. import formats
from ..evidence.citations import trail_sources
from ..evidence.trails import KINDS, load_trail_query, read_trail, trail_graph
from ..namespaces import ID
from ..store import sandbox
from . import sparql
from .canned import parsed_in
from .citations import cite_trail

#: A trail is data (any graph format) or a page.
TRAIL_FORMATS: tuple[formats.Format, ...] = (formats.HTML, *formats.GRAPH_FORMATS)

blueprint = Blueprint("trails", __name__)


def init_app(app: Flask) -> None:
    """Load the trail queries (a broken file stops start-up, as for canned queries) and register the route."""
    folder = app.config.get("CANNED_QUERIES_DIR") or Path(app.config["PROJECT_ROOT"]) / "queries"
    app.extensions["collabkg.trail"] = load_trail_query(Path(folder), parsed=parsed_in(app))
    app.extensions["collabkg.trail.explanations"] = load_trail_query(
        Path(folder), "explanations", parsed=parsed_in(app)
    )
    app.register_blueprint(blueprint)


@blueprint.get("/trail/<kind>/<slug>")
def show_trail(kind: str, slug: str) -> Response:
    """The trail of ``id/{kind}/{slug}``: a page for browsers; Turtle, JSON-LD or other RDF for programs."""
    if kind not in KINDS:
        raise NotFound(f"Trails start from a {', '.join(KINDS)}; not a {kind!r}.")
    choice = formats.negotiate(TRAIL_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    iri = ID[f"{kind}/{slug}"]
    config = current_app.config
    queries = (
        current_app.extensions["collabkg.trail"],
        current_app.extensions["collabkg.trail.explanations"],
    )

    def trail_and_explanations(deadline: float) -> Graph:
        graph = Graph()
        for query in queries:
            graph += trail_graph(
                query,
                current_app.extensions["collabkg.store"],
                iri,
                limit=int(config["RESULT_LIMIT"]),
                deadline=deadline,
            )
        return graph

    graph = sandbox.within(float(config["QUERY_TIMEOUT"]), trail_and_explanations)
    if not graph:
        raise NotFound(f"The graph knows no {kind} {slug!r}.")
    if choice.format is formats.HTML:
        trail = read_trail(graph, iri)
        sources = sandbox.within(
            float(config["QUERY_TIMEOUT"]),
            lambda deadline: trail_sources(
                current_app.extensions["collabkg.sources"],
                current_app.extensions["collabkg.store"],
                trail,
                limit=int(config["RESULT_LIMIT"]),
                deadline=deadline,
            ),
        )
        body = render_template("trail.html", trail=trail, citing=cite_trail(trail, sources))
        response = Response(body, mimetype="text/html")
    else:
        response = Response(formats.serialize_graph(graph, choice.format), content_type=choice.content_type)
    response.vary.add("Accept")
    return response


for _error in (HTTPException, *(cls for cls, _ in sparql.STATUS_OF_ERROR)):
    blueprint.register_error_handler(_error, sparql._error_response)
