"""Linked data for browsers and crawlers: every IRI of the graph resolves.

``/id/{kind}/{slug...}`` is the ``https://w3id.org/collabkg/id/...`` IRIs on this server's base. Content
negotiation answers ``303 See Other`` to the resource's page (``/page/...``) or to its description as data
(``/data/....ttl``, ``.nt``, ``.jsonld``, ``.rdf``, ``.trig``, ``.nq``), as Pubby and DBpedia do, so the IRI
names the thing and the documents about it have URLs of their own.

A description is every statement with the resource as subject or object, with the named graph holding it
(``queries/pages/description.rq``), and the labels of its neighbours. TriG, N-Quads and pages keep the graphs,
so inferred statements stay told apart from asserted ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request, url_for
from markupsafe import Markup
from rdflib import RDF, BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node
from werkzeug.exceptions import NotFound

from .. import formats
from ..evidence.trails import KINDS as TRAIL_KINDS
from ..namespaces import CK, ID, INFERRED_GRAPH, ONTOLOGY_IRI, PREFIXES, resource_iri
from .context import run, select, service, within_limits
from .labels import DESCRIPTION_PROPERTIES, LABEL_PROPERTIES, Labels, first_text, short_name
from .modelmap import Combination, MapModel, render_model_map

__all__ = ["bp", "describe", "href", "model_map"]

bp = Blueprint("pages", __name__)

#: What ``/id/...`` negotiates between; the first answers ``*/*`` (curl), browsers ask for HTML by name.
RESOURCE_FORMATS: tuple[formats.Format, ...] = (*formats.GRAPH_FORMATS, formats.HTML)
#: Sections of a page, by the vocabulary of a property: the graph's own first, then the others.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Collaboration and evidence", ("ck",)),
    ("Meaning and mappings", ("skos", "rdf", "rdfs", "owl")),
    ("Bibliographic and citations", ("dcterms", "cito", "fabio", "prism", "bibo")),
    ("Provenance, people and places", ("prov", "foaf", "schema")),
)


def _known(path: str) -> URIRef:
    """The IRI ``id/{path}``, when the graph says anything about it.

    :raises NotFound: the graph does not know it.
    """
    iri = resource_iri(path)
    if iri is None or not run(service().queries.pages["known"], _resource=iri).askAnswer:
        raise NotFound(f"The graph knows no resource {ID}{path}.")
    return iri


def describe(iri: URIRef) -> Dataset:
    """The description of ``iri``: its statements in the graphs that hold them, and its neighbours' labels.

    The statements come from ``description.rq``; the labels of the resources, properties and classes they
    name are looked up by subject and label property (:meth:`~collabkg.store.Store.quads`), which is much
    faster than rdflib joining a label pattern against every neighbour of a much-cited review.
    """
    description = Dataset(default_union=True)
    for prefix, namespace in PREFIXES.items():
        description.bind(prefix, namespace)
    neighbours: set[URIRef] = set()
    for row in select("description", _resource=iri):
        description.graph(row.graph).add((row.subject, row.predicate, row.object))
        neighbours.update(
            term for term in (row.subject, row.predicate, row.object) if isinstance(term, URIRef)
        )
    neighbours.discard(iri)

    def labels(deadline: float) -> list[tuple[Node, Node, Node, URIRef]]:
        return list(service().store.quads(neighbours, LABEL_PROPERTIES, deadline=deadline))

    for s, p, o, graph in within_limits(labels):
        description.graph(graph).add((s, p, o))
    return description


@bp.get("/id/<path:path>")
def resource(path: str) -> Response:
    """The resource's IRI: 303 to its page or its data, as the request's ``Accept`` (or ``format=``) asks."""
    _known(path)
    choice = formats.negotiate(RESOURCE_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    if choice.format is formats.HTML:
        target = url_for("pages.page", path=path)
    else:
        target = url_for("pages.data", path=f"{path}.{choice.format.name}")
    response = Response(status=303, headers={"Location": target})
    response.vary.add("Accept")
    return response


@bp.get("/data/<path:path>")
def data(path: str) -> Response:
    """A resource's description in the format its extension names (``/data/model/partnership.ttl``)."""
    stem, _, extension = path.rpartition(".")
    fmt = next((f for f in formats.GRAPH_FORMATS if f.name == extension), None)
    if fmt is None or not stem:
        names = ", ".join(f".{f.name}" for f in formats.GRAPH_FORMATS)
        raise NotFound(f"A description's URL ends in one of {names}.")
    iri = _known(stem)
    body = formats.serialize_dataset(describe(iri), fmt, keep_graphs=fmt in (formats.TRIG, formats.N_QUADS))
    return Response(body, content_type=formats.Choice(fmt, fmt.media_type).content_type)


def href(term: Node) -> str | None:
    """Where a link to ``term`` goes: its page on this server for the graph's own IRIs, else the IRI itself."""
    if not isinstance(term, URIRef):
        return None
    text = str(term)
    if text.startswith(str(ID)):
        return url_for("pages.page", path=text[len(ID) :])
    if text.startswith(str(CK)):
        return url_for("dataset.vocab") + "#" + text[len(CK) :]
    if term == ONTOLOGY_IRI:
        return url_for("dataset.vocab")
    return text if text.startswith(("http://", "https://")) else None


def _trail_url(term: Node) -> str | None:
    """The evidence trail of a resource that has one (a finding, claim, model or determinant)."""
    if not isinstance(term, URIRef) or not term.startswith(str(ID)):
        return None
    kind, _, slug = term[len(ID) :].partition("/")
    if kind not in TRAIL_KINDS or not slug or "/" in slug:
        return None
    return url_for("trails.show_trail", kind=kind, slug=slug)


@dataclass(frozen=True)
class Value:
    """One value of a property on a page: what it reads as, where it links, and whether it was inferred."""

    text: str
    href: str | None
    #: The IRI (shown on hover) or, for a literal, its language or datatype.
    note: str | None
    inferred: bool
    #: Where the reasoning behind an inferred value can be read (an evidence trail), if anywhere.
    explanation: str | None
    literal: bool


@dataclass(frozen=True)
class Property:
    """A property of the page's resource with its values, labelled."""

    iri: URIRef
    label: str
    href: str | None
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Section:
    title: str
    properties: tuple[Property, ...]


def _value(term: Node, labels: Labels, inferred: bool, explanation: str | None) -> Value:
    if isinstance(term, Literal):
        note = term.language or (short_name(term.datatype) if term.datatype else None)
        return Value(str(term), None, note, inferred, explanation, literal=True)
    if isinstance(term, BNode):
        return Value("(an unnamed node)", None, None, inferred, explanation, literal=False)
    return Value(labels(term), href(term), str(term), inferred, explanation, literal=False)


def _properties(
    statements: Iterable[tuple[URIRef, Node, bool]], labels: Labels, resource: URIRef
) -> list[Property]:
    """Values grouped by property, properties in label order, values asserted first then by text."""
    grouped: dict[URIRef, list[Value]] = {}
    for predicate, value, inferred in statements:
        explanation = (_trail_url(resource) or _trail_url(value)) if inferred else None
        grouped.setdefault(predicate, []).append(_value(value, labels, inferred, explanation))
    return [
        Property(p, labels(p), href(p), tuple(sorted(values, key=lambda v: (v.inferred, v.text.lower()))))
        for p, values in sorted(
            grouped.items(), key=lambda item: (item[0] != RDF.type, labels(item[0]).lower())
        )
    ]


def _section_of(predicate: URIRef) -> str:
    prefix = short_name(predicate).partition(":")[0]
    return next((title for title, prefixes in SECTIONS if prefix in prefixes), "Other")


def _statements(
    description: Dataset, subject: Node | None, obj: Node | None
) -> list[tuple[URIRef, Node, bool]]:
    """``(predicate, other end, inferred)`` of the description's statements matching subject or object."""
    found: dict[tuple[Node, Node, Node], set[Node | None]] = {}
    for s, p, o, g in description.quads((subject, None, obj, None)):
        found.setdefault((s, p, o), set()).add(g)
    return [
        (p, o if subject is not None else s, graphs == {INFERRED_GRAPH})  # type: ignore[misc]
        for (s, p, o), graphs in found.items()
    ]


@bp.get("/page/<path:path>")
def page(path: str) -> Response:
    """The page of a resource for people: title and description, properties by section, links, the map."""
    iri = _known(path)
    description = describe(iri)
    union = Graph()
    union += (triple for triple, _ in description.store.triples((None, None, None), None))
    ontology = service().ontology
    labels = Labels(union, *(() if ontology is None else (ontology,)))
    outgoing = _properties(_statements(description, iri, None), labels, iri)
    sections = [
        Section(title, tuple(p for p in outgoing if _section_of(p.iri) == title))
        for title in (*(title for title, _ in SECTIONS), "Other")
    ]
    incoming = _properties(_statements(description, None, iri), labels, iri)
    trail = _trail_url(iri)
    kind = path.partition("/")[0]
    body = render_template(
        "page.html",
        iri=iri,
        kind=kind,
        title=labels(iri),
        description=first_text([union], iri, DESCRIPTION_PROPERTIES),
        sections=[s for s in sections if s.properties],
        incoming=incoming,
        inferred_count=sum(v.inferred for p in (*outgoing, *incoming) for v in p.values),
        trail_url=trail,
        cite_url=None if trail is None else trail + "/cite",
        data_links=[(f, url_for("pages.data", path=f"{path}.{f.name}")) for f in formats.GRAPH_FORMATS],
        model_map=model_map(highlight=iri) if kind == "model" else None,
    )
    return Response(body, mimetype="text/html")


def model_map(highlight: URIRef | None = None) -> Markup | None:
    """The SVG map of the collaboration models (``None`` when the graph has none)."""
    models = [
        MapModel(
            URIRef(row.model),
            str(row.label),
            None if row.rank is None else int(row.rank),
            None if row.orientation is None else str(row.orientation),
        )
        for row in select("model-map")
    ]
    if not models:
        return None
    combinations = [
        Combination(URIRef(row.model), URIRef(row.other), bool(row.asserted))
        for row in select("model-combinations")
    ]
    svg = render_model_map(models, combinations, href=lambda iri: href(iri) or str(iri), highlight=highlight)
    return Markup(svg)  # built by ElementTree, which escaped every label
