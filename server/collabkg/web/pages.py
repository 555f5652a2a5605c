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

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request, url_for
from markupsafe import Markup
from rdflib import RDF, BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import PROV
from rdflib.query import ResultRow
from rdflib.term import Identifier, Node
from werkzeug.exceptions import NotFound

from .. import formats
from ..evidence.explanations import read_explanation
from ..evidence.trails import KINDS as TRAIL_KINDS
from ..namespaces import (
    CK,
    EXPLANATION,
    ID,
    INFERRED_GRAPH,
    ONTOLOGY_IRI,
    STATEMENT,
    resource_iri,
    statement_iri,
    with_prefixes,
)
from .claims import claims_about, links_stated
from .context import first_rows, kept, run, select, service, within_limits
from .labels import DESCRIPTION_PROPERTIES, LABEL_PROPERTIES, Labels, first_text, short_name
from .modelmap import Combination, MapModel, render_model_map

__all__ = ["bp", "class_counts", "describe", "href", "id_path", "model_map", "trail_of", "trail_url"]

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
    """The description of ``iri``: its statements in the graphs that hold them (``description.rq``), and its
    neighbours' labels."""
    return _labelled(
        iri,
        ((row.graph, row.subject, row.predicate, row.object) for row in select("description", _resource=iri)),
    )


#: Values of one property that a page lists, each way (the resource as subject, as object): of a property with
#: more, this many of them (the first in order of value) and how many there are. The real graph's largest list
#: is a review's 122 findings; a country of the generated million-triple graph is the object of 10,000
#: statements, and its page was 1.3 MB.
SHOWN = 200


def _page_description(iri: URIRef) -> tuple[Dataset, dict[tuple[bool, URIRef], int]]:
    """What the page of ``iri`` shows of its description, and how many values each property has, by
    ``(outgoing, property)``: the whole description when no property has more than :data:`SHOWN` values;
    else, of each property, its first values in order of value (``property-values.rq``, ``property-subjects.rq``)."""
    totals = {
        (str(row.direction) == "out", URIRef(str(row.predicate))): int(row["values"])
        for row in select("link-counts", _resource=iri)
    }
    if all(total <= SHOWN for total in totals.values()):
        return describe(iri), totals
    statements: list[tuple[Identifier, Node, Node, Node]] = []
    for outgoing, predicate in sorted(totals):
        if not outgoing and predicate in REIFICATION:
            continue  # statement nodes about the resource: never shown as values (:func:`_explained`)
        if outgoing:
            rows = first_rows("property-values", SHOWN, _resource=iri, _predicate=predicate)
            statements += ((row.graph, iri, predicate, row.object) for row in rows)
        else:
            rows = first_rows("property-subjects", SHOWN, _resource=iri, _predicate=predicate)
            statements += ((row.graph, row.subject, predicate, iri) for row in rows)
    return _labelled(iri, statements), totals


def _labelled(iri: URIRef, statements: Iterable[tuple[Identifier, Node, Node, Node]]) -> Dataset:
    """``(graph, subject, predicate, object)`` statements about ``iri`` as a dataset, with the labels of the
    resources, properties and classes they name, looked up by subject and label property
    (:meth:`~collabkg.store.Store.quads`), which is much faster than joining a label pattern in SPARQL against
    every neighbour of a much-cited review."""
    description = with_prefixes(Dataset(default_union=True))
    neighbours: set[URIRef] = set()
    for graph, subject, predicate, obj in statements:
        description.graph(graph).add((subject, predicate, obj))
        neighbours.update(term for term in (subject, predicate, obj) if isinstance(term, URIRef))
    neighbours.discard(iri)

    def labels(deadline: float) -> list[tuple[Node, Node, Node, URIRef]]:
        return list(service().store.quads(neighbours, LABEL_PROPERTIES, deadline=deadline))

    for s, p, o, graph in within_limits(labels):
        description.graph(graph).add((s, p, o))
    return description


@bp.get("/id/<path:path>")
@kept
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
@kept
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


def id_path(term: Node) -> str | None:
    """The path of one of the graph's own IRIs under ``https://w3id.org/collabkg/id/`` (``model/partnership``)."""
    if isinstance(term, URIRef) and term.startswith(str(ID)) and len(term) > len(ID):
        return str(term)[len(ID) :]
    return None


def href(term: Node) -> str | None:
    """Where a link to ``term`` goes: its page on this server for the graph's own IRIs, else the IRI itself."""
    if not isinstance(term, URIRef):
        return None
    path = id_path(term)
    if path is not None:
        return url_for("pages.page", path=path)
    text = str(term)
    if text.startswith(str(CK)):
        return url_for("dataset.vocab") + "#" + text[len(CK) :]
    if term == ONTOLOGY_IRI:
        return url_for("dataset.vocab")
    return text if text.startswith(("http://", "https://")) else None


def trail_of(term: Node) -> tuple[str, str] | None:
    """``(kind, slug)`` of the evidence trail of a resource that has one (a finding, claim, model, determinant)."""
    path = id_path(term)
    if path is None:
        return None
    kind, _, slug = path.partition("/")
    if kind not in TRAIL_KINDS or not slug or "/" in slug:
        return None
    return kind, slug


def trail_url(term: Node) -> str | None:
    """The evidence trail of a resource that has one (a finding, claim, model or determinant)."""
    found = trail_of(term)
    return None if found is None else url_for("trails.show_trail", kind=found[0], slug=found[1])


@dataclass(frozen=True)
class Value:
    """One value of a property on a page: what it reads as, where it links, and whether it was inferred."""

    text: str
    href: str | None
    #: The IRI (shown on hover) or, for a literal, its language or datatype.
    note: str | None
    inferred: bool
    #: Where the reasoning behind an inferred value can be read (its explanation's page), if anywhere.
    explanation: str | None
    literal: bool
    #: The position of a member of a list (an author list), which keeps its order; 0 for other values.
    position: int = 0


@dataclass(frozen=True)
class Property:
    """A property of the page's resource with its values, labelled."""

    iri: URIRef
    label: str
    href: str | None
    values: tuple[Value, ...]
    #: How many values the property has, when the page lists only the first of them (:data:`SHOWN`).
    total: int | None = None


@dataclass(frozen=True)
class Section:
    title: str
    properties: tuple[Property, ...]


def _value(term: Node, labels: Labels, inferred: bool, explanation: str | None) -> Value:
    if isinstance(term, Literal):
        note = term.language or (short_name(term.datatype) if term.datatype else None)
        return Value(str(term), None, note, inferred, explanation, literal=True)
    if isinstance(
        term, BNode
    ):  # lists and statements are read out (list-items.rq, statements.rq); not others
        return Value("an anonymous resource (see the page's data)", None, None, inferred, explanation, False)
    return Value(labels(term), href(term), str(term), inferred, explanation, literal=False)


def _properties(
    statements: Iterable[tuple[URIRef, Node, bool]],
    labels: Labels,
    resource: URIRef,
    *,
    outgoing: bool,
    explained: Collection[Node],
    totals: Mapping[tuple[bool, URIRef], int],
    members: Mapping[URIRef, list[Value]] | None = None,
) -> list[Property]:
    """Values grouped by property, properties in label order, values asserted first then by text (the members
    of a list in their order).

    An inferred value links to the page of its explanation (the statement node of the triple, when it has one:
    ``explained``, :func:`_explained`), else to the trail of the resource or the value.

    :param totals: how many values each property has, by ``(outgoing, property)``: past :data:`SHOWN`, the
        page lists the first of them and says how many there are.
    :param members: the members of the lists that are values of a property, by property.
    """
    grouped: dict[URIRef, list[Value]] = {p: list(values) for p, values in (members or {}).items()}
    for predicate, value, inferred in statements:
        explanation = None
        if inferred:
            node = statement_iri((resource, predicate, value) if outgoing else (value, predicate, resource))
            explanation = href(node) if node in explained else (trail_url(resource) or trail_url(value))
        grouped.setdefault(predicate, []).append(_value(value, labels, inferred, explanation))
    return [
        Property(
            p,
            labels(p),
            href(p),
            tuple(sorted(values, key=lambda v: (v.inferred, v.position, v.text.lower()))),
            total if (total := totals.get((outgoing, p), 0)) > SHOWN else None,
        )
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


#: Links of the reasoning machinery: a statement node names its parts with these. Pages show such nodes as
#: sentences (:func:`.claims.links_stated`) and explanation links, never as values of their own.
REIFICATION = frozenset({RDF.subject, RDF.predicate, RDF.object})
#: The properties whose values the claims section of a determinant's or model's page shows, grouped.
CLAIM_LINKS = frozenset({CK.aboutDeterminant, CK.concernsModel, CK.hasFinding, CK.concernedBy})
#: Kinds of resource whose page groups the claims about them by polarity.
CLAIM_KINDS = ("determinant", "model")


#: How an RDF list holds its members: pages show the members (or the list's owner), not the list's cells.
LIST_LINKS = frozenset({RDF.first, RDF.rest})


def _lists(iri: URIRef) -> tuple[dict[URIRef, list[Value]], dict[URIRef, list[Value]]]:
    """The members of the lists that are values of ``iri`` (an author list), in order, by property; and the
    resources that hold ``iri`` in a list, by property."""
    cells: dict[tuple[Node, Node], dict[Node, ResultRow]] = {}
    for row in select("list-items", _resource=iri):
        cells.setdefault((row.property, row.list), {})[row.cell] = row
    members: dict[URIRef, list[Value]] = {}
    for (prop, head), by_cell in cells.items():
        cell: Node | None = head
        position = 0
        while cell in by_cell and position < len(by_cell):  # from the head, cell after cell, until rdf:nil
            row, position = by_cell[cell], position + 1
            text = _word(row.item, row.itemLabel)
            literal = isinstance(row.item, Literal)
            value = Value(text, href(row.item), str(row.item), False, None, literal, position)
            members.setdefault(URIRef(str(prop)), []).append(value)
            cell = row.next
    owners: dict[URIRef, list[Value]] = {}
    for row in select("list-owners", _resource=iri):
        value = Value(_word(row.owner, row.ownerLabel), href(row.owner), str(row.owner), False, None, False)
        owners.setdefault(URIRef(str(row.property)), []).append(value)
    return members, owners


def _machinery(term: Node) -> bool:
    """Whether ``term`` is a statement or explanation node (shown as a sentence or a link, not a value)."""
    return isinstance(term, URIRef) and str(term).startswith((str(EXPLANATION), str(STATEMENT)))


@bp.get("/page/<path:path>")
@kept
def page(path: str) -> Response:
    """The page of a resource for people: title and description, properties by section, links, the map; for
    a determinant or a model its claims by polarity; for a statement or explanation node, what it says."""
    iri = _known(path)
    kind = path.partition("/")[0]
    if kind == "explanation":
        return explanation_page(iri, path)
    if kind == "statement":
        return statement_page(iri, path)
    description, totals = _page_description(iri)
    union = Graph()
    union += (triple for triple, _ in description.store.triples((None, None, None), None))
    ontology = service().ontology
    labels = Labels(union, *(() if ontology is None else (ontology,)))
    grouped = kind in CLAIM_KINDS
    hidden = CLAIM_LINKS if grouped else frozenset()
    members, owners = _lists(iri)
    outgoing_statements = [
        (p, o, inferred)
        for p, o, inferred in _statements(description, iri, None)
        if p not in hidden
        and p not in members
        and not _machinery(o)
        and not (p == CK.supportsStatement and isinstance(o, BNode))
    ]
    incoming_statements = [
        (p, s, inferred)
        for p, s, inferred in _statements(description, None, iri)
        if p not in hidden
        and p not in REIFICATION
        and p not in LIST_LINKS
        and not _machinery(s)
        and not (p == CK.supportedBy and isinstance(s, BNode))
    ]
    explained = _explained(iri, outgoing_statements, incoming_statements)
    outgoing = _properties(
        outgoing_statements, labels, iri, outgoing=True, explained=explained, totals=totals, members=members
    )
    sections = [
        Section(title, tuple(p for p in outgoing if _section_of(p.iri) == title))
        for title in (*(title for title, _ in SECTIONS), "Other")
    ]
    incoming = _properties(
        incoming_statements, labels, iri, outgoing=False, explained=explained, totals=totals, members=owners
    )
    trail = trail_url(iri)
    body = render_template(
        "page.html",
        iri=iri,
        kind=kind,
        title=_application_title(union, labels, iri) if kind == "rule-application" else labels(iri),
        description=first_text([union], iri, DESCRIPTION_PROPERTIES),
        sections=[s for s in sections if s.properties],
        incoming=incoming,
        inferred_count=sum(v.inferred for p in (*outgoing, *incoming) for v in p.values),
        trail_url=trail,
        cite_url=None if trail is None else trail + "/cite",
        data_links=_data_links(path),
        every_value=_every_value(iri),
        model_map=model_map(highlight=iri) if kind == "model" else None,
        claim_groups=claims_about(iri) if grouped else None,
        stated=links_stated(iri),
        derived=_listed("rule-application", _application=iri) if kind == "rule-application" else None,
    )
    return Response(body, mimetype="text/html")


def _explained(
    iri: URIRef, outgoing: Iterable[tuple[URIRef, Node, bool]], incoming: Iterable[tuple[URIRef, Node, bool]]
) -> set[Node]:
    """The statement nodes of the inferred statements a page shows that have an explanation (a page of their
    own): looked up by their IRIs (:func:`~collabkg.namespaces.statement_iri`, a hash of the triple), one
    store call for them all, rather than read from the statement nodes about the resource, of which a page
    may have only the first (a review of the real graph is the object of 447)."""
    candidates = {
        *(statement_iri((iri, p, o)) for p, o, inferred in outgoing if inferred),
        *(statement_iri((s, p, iri)) for p, s, inferred in incoming if inferred),
    }
    if not candidates:
        return set()

    def lookup(deadline: float) -> set[Node]:
        return {s for s, _, _, _ in service().store.quads(candidates, (RDF.subject,), deadline=deadline)}

    return within_limits(lookup)


def _application_title(graph: Graph, labels: Labels, iri: URIRef) -> str:
    """A rule application (``id/rule-application/...``, which has no label of its own) named by its rule and
    the term whose axiom it applied: "subclass (cax-sco), applied to curated mapping"."""
    rule, axiom = graph.value(iri, CK.rule), graph.value(iri, CK.axiomOf)
    if rule is None:
        return labels(iri)
    named = f"{labels(rule)} ({str(rule).removeprefix(str(CK.term('rule-')))})"  # ck:rule-cax-sco
    return named if axiom is None else f"{named}, applied to {labels(axiom)}"


def _every_value(iri: URIRef) -> str | None:
    """Where every value of every property of ``iri`` is listed, for a page that lists only the first of some:
    the canned query ``resource``, when the service has it."""
    if "resource" not in service().queries.canned:
        return None
    return url_for("canned.run_query", name="resource", resource=str(iri))


def _data_links(path: str) -> list[tuple[formats.Format, str]]:
    return [(f, url_for("pages.data", path=f"{path}.{f.name}")) for f in formats.GRAPH_FORMATS]


def explanation_page(iri: URIRef, path: str) -> Response:
    """Why a statement holds (an explanation node): the rule and premises down to asserted triples and the
    claims that support them, and what the reasoner inferred from it."""
    queries = service().queries.pages
    graph = run(queries["explanation"], _explanation=iri).graph
    assert graph is not None
    if (iri, RDF.subject, None) not in graph:
        raise NotFound(f"{iri} is not the node of an explanation.")
    explanation = read_explanation(graph, iri)
    subject, obj = graph.value(iri, RDF.subject), graph.value(iri, RDF.object)
    application = graph.value(iri, PROV.wasGeneratedBy)
    body = render_template(
        "explanation_page.html",
        iri=iri,
        explanation=explanation,
        inferred=explanation.rule is not None,
        application=None if application is None else href(application),
        about=[
            (explanation.subject, None if subject is None else href(subject)),
            (explanation.object, None if obj is None else href(obj)),
        ],
        uses=_listed("explanation", _explanation=iri),
        data_links=_data_links(path),
    )
    return Response(body, mimetype="text/html")


def _inferences(rows: Iterable[ResultRow]) -> list[tuple[str, str | None]]:
    """Inferences as a page lists them, each in words and linked to its explanation, in the order of the words:
    from rows of ``?inference`` with its ``?subject``, ``?predicate``, ``?object`` and their labels."""
    words = {
        row.inference: " ".join(
            _word(term, label)
            for term, label in (
                (row.subject, row.subjectLabel),
                (row.predicate, row.predicateLabel),
                (row.object, row.objectLabel),
            )
        )
        for row in rows
    }
    return sorted(((text, href(node)) for node, text in words.items()), key=lambda use: use[0])


@dataclass(frozen=True)
class Derived:
    """Inferences a page lists (what a rule application derived, what was inferred from a statement): how many
    there are, and up to 200 of them."""

    count: int
    inferences: list[tuple[str, str | None]]


def _listed(kind: str, **binding: URIRef) -> Derived:
    """The inferences that the page query ``{kind}-uses`` lists (up to 200), and how many there are
    (``{kind}-size``): ``kind`` is ``rule-application`` or ``explanation``."""
    [row] = select(f"{kind}-size", **binding)
    return Derived(int(row.derived), _inferences(select(f"{kind}-uses", **binding)))


@dataclass(frozen=True)
class StatementClaim:
    """A claim that supports a statement, as its page shows it."""

    iri: URIRef
    label: str
    kind: str | None
    quote: str | None
    section: str | None
    review: str | None
    review_href: str | None
    trail: str | None
    references: tuple[int, ...]


def statement_page(iri: URIRef, path: str) -> Response:
    """A statement node of the data: the link it states, and the claims of the sources behind it."""
    rows = select("statement", _statement=iri)
    if not rows:
        raise NotFound(f"{iri} is not the node of a statement.")
    terms = (rows[0].subject, rows[0].predicate, rows[0].object)
    labels = (rows[0].subjectLabel, rows[0].predicateLabel, rows[0].objectLabel)
    words = [_word(term, label) for term, label in zip(terms, labels, strict=True)]
    numbers: dict[Node, set[int]] = {}
    first: dict[Node, ResultRow] = {}
    for row in rows:
        if isinstance(row.claim, URIRef):
            first.setdefault(row.claim, row)
            numbers.setdefault(row.claim, set()).update([] if row.number is None else [int(row.number)])
    claims = [
        StatementClaim(
            iri=URIRef(str(claim)),
            label=str(row.claimLabel),
            kind=None if row.claimTypeLabel is None else str(row.claimTypeLabel),
            quote=None if row.quote is None else str(row.quote),
            section=None if row.section is None else str(row.section),
            review=None if row.reviewLabel is None else str(row.reviewLabel),
            review_href=None if row.review is None else href(row.review),
            trail=trail_url(claim),
            references=tuple(sorted(numbers[claim])),
        )
        for claim, row in first.items()
    ]
    explanation = statement_iri((terms[0], terms[1], terms[2]))
    has_explanation = bool(run(service().queries.pages["known"], _resource=explanation).askAnswer)
    body = render_template(
        "statement_page.html",
        iri=iri,
        parts=[(word, href(term)) for word, term in zip(words, terms, strict=True)],
        graphs=sorted({_local(row.graph) for row in rows}),
        asserted=sorted({_local(row.assertedIn) for row in rows if row.assertedIn is not None}),
        claims=sorted(claims, key=lambda claim: (claim.label.casefold(), str(claim.iri))),
        explanation_url=href(explanation) if has_explanation else None,
        data_links=_data_links(path),
    )
    return Response(body, mimetype="text/html")


def _word(term: Node, label: Node | None) -> str:
    """A term as a sentence reads it: its label, else a well-known vocabulary's label for it or its prefixed
    name (an IRI: "type", not ``rdf:type``'s IRI), ``[]`` (a blank node: its label is the store's, new at each
    load, as the explanations show it) or its text (a literal)."""
    if label is not None:
        return str(label)
    if isinstance(term, BNode):
        return "[]"
    return Labels()(term)


def _local(graph: Node) -> str:
    """A named graph by its last path segment (``andersson-2011``), as the explanations name graphs."""
    return str(graph).rsplit("/", 1)[-1]


def class_counts() -> dict[Node, int]:
    """How many resources of each main kind the graph holds (``counts.rq``), by class."""
    return {row["class"]: int(row["count"]) for row in select("counts")}


#: The most models (hybrids included) the map of models is drawn with: Andersson's seven and Cameron's
#: categories fit many times over; a generated graph of a million triples has 6,270, whose map (2.2 MB) took
#: seconds to draw and said nothing a page could show. Past it the pages list the models without a map.
DRAWN_MODELS = 200


def model_map(highlight: URIRef | None = None) -> Markup | None:
    """The SVG map of the collaboration models (``None`` when the graph has none, or more than
    :data:`DRAWN_MODELS` collaboration models, hybrids included)."""
    if class_counts().get(CK.CollaborationModel, 0) > DRAWN_MODELS:
        return None  # before the map's own query, which reads every model (1.1 s at 6,270)
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


# Templates link terms with the same rules as the views: ``{{ term | page_href }}``, ``{{ term | trail_href }}``.
bp.add_app_template_filter(href, "page_href")
bp.add_app_template_filter(trail_url, "trail_href")
