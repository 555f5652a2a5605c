"""The dataset presents itself: the landing page (``/``), the vocabulary (``/vocab``), the VoID description
(``/void``, ``/.well-known/void``) and dumps of the whole dataset (``/dumps/collabkg.*``).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, send_file
from rdflib import URIRef
from werkzeug.exceptions import NotFound

from .. import formats
from ..namespaces import CK
from . import security
from .context import absolute_url, kept, select_texts, service
from .evidencemap import map_markup, read_map
from .pages import class_counts, href, model_map
from .void import describe_dataset

__all__ = ["bp"]

bp = Blueprint("dataset", __name__)

#: Formats of ``/vocab``: the documentation for people, the ontology as RDF for programs.
VOCAB_FORMATS: tuple[formats.Format, ...] = (
    formats.TURTLE,
    formats.RDF_XML,
    formats.JSON_LD,
    formats.N_TRIPLES,
    formats.HTML,
)
#: The counts of the landing page, as the classes counts.rq counts.
COUNTED_CLASSES: tuple[tuple[URIRef, str], ...] = (
    (CK.CollaborationModel, "collaboration models"),
    (CK.Determinant, "determinants"),
    (CK.Finding, "findings"),
    (CK.Review, "reviews"),
    (CK.Reference, "numbered references"),
    (CK.Country, "countries"),
)


#: Entries of each list of the landing page (models, determinants, reviews): past it the page says how many
#: there are and which query lists them all. A generated graph of a million triples has 6,270 models and
#: 6,788 determinants and reviews, a page of 991 KB of links.
LISTED = 100


@bp.get("/")
@kept
def landing() -> Response:
    """What the graph holds, how much of it, and where to start."""
    counts = class_counts()
    entries: dict[str, list[dict[str, str]]] = {}
    for row in select_texts("entry-points"):
        entries.setdefault(row["class"], []).append(row)
    models = select_texts("model-map")
    current = service()
    facts = current.facts
    evidence = read_map()
    body = render_template(
        "landing.html",
        counts=[(label, counts.get(cls, 0)) for cls, label in COUNTED_CLASSES],
        graphs=facts.graphs,
        union_size=facts.default_size,
        models=_listed(models, "model"),
        determinants=_listed(entries.get(str(CK.Determinant), []), "resource"),
        reviews=_listed(entries.get(str(CK.Review), []), "resource"),
        canned=current.queries.canned.values(),
        dumps=_dump_urls(),
        model_map=model_map(),
        evidence=evidence,
        evidence_svg=map_markup(evidence) if evidence.rows and evidence.dense else None,
        has_vocab=current.ontology is not None,
    )
    return Response(body, mimetype="text/html")


def _listed(rows: list[dict[str, str]], key: str) -> tuple[list[tuple[str, str | None]], int]:
    """The first :data:`LISTED` of ``rows`` as ``(label, link)``, and how many there are (a link is made only
    for those listed: 13,000 of them took a third of a second at a million triples)."""
    return [(row["label"], href(URIRef(row[key]))) for row in rows[:LISTED]], len(rows)


@bp.get("/vocab")
def vocab() -> Response:
    """The ontology: pyLODE's documentation for browsers, Turtle (or RDF/XML, JSON-LD, N-Triples) otherwise."""
    state = service()
    if state.ontology is None or state.vocab_html is None:
        raise NotFound("This dataset holds no ontology graph.")
    choice = formats.negotiate(VOCAB_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    if choice.format is formats.HTML:
        response = Response(state.vocab_html, mimetype="text/html")
        # pyLODE's stylesheet is inline: exactly it is allowed, by its hash.
        response.headers["Content-Security-Policy"] = security.policy(
            style_src="'self' " + security.inline_style_hashes(state.vocab_html)
        )
    else:
        response = Response(
            formats.serialize_graph(state.ontology, choice.format), content_type=choice.content_type
        )
    response.vary.add("Accept")
    return response


def _dump_urls() -> dict[str, str]:
    return {ext: absolute_url("dataset.dump", extension=ext) for ext in formats.DUMP_FORMATS}


@bp.get("/.well-known/void")
@bp.get("/void")
def void() -> Response:
    """The VoID description of the dataset (Turtle unless asked otherwise)."""
    choice = formats.negotiate(
        formats.GRAPH_FORMATS, request.accept_mimetypes, request.args.getlist("format")
    )
    graph = describe_dataset(
        service().statistics,
        description_url=absolute_url("dataset.void"),
        sparql_url=absolute_url("sparql.endpoint"),
        dump_urls=_dump_urls(),
    )
    response = Response(formats.serialize_graph(graph, choice.format), content_type=choice.content_type)
    response.vary.add("Accept")
    return response


@bp.get("/dumps/collabkg.<extension>")
def dump(extension: str) -> Response:
    """The whole dataset, written once per format; ``ETag`` is the dataset version, so caches revalidate."""
    fmt = formats.DUMP_FORMATS.get(extension)
    if fmt is None:
        raise NotFound(f"Dumps are collabkg.{{{','.join(formats.DUMP_FORMATS)}}}.")
    state = service()
    response = send_file(
        state.dump(extension),
        mimetype=formats.Choice(fmt, fmt.media_type).content_type,
        etag=state.store.version,
        last_modified=state.store.modified(),  # None: the store cannot tell, no header
        conditional=True,  # 304 when the client has this version
        max_age=None,
    )
    response.cache_control.public = True
    response.cache_control.no_cache = True  # may be stored, but revalidated: the ETag makes that cheap
    return response
