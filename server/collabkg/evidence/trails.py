"""Evidence trails: for a finding, claim, model or determinant, the way back to the sources.

A trail is the statement, the claims of the sources that state it (section, quote, polarity), the
references each claim cites (by number), the review that makes the claim (authors, year, title, journal,
identifiers) and the countries that review covers. CONSTRUCT queries compute it (:func:`trail_graph`:
``queries/trail/trail.rq``, then ``claim.rq`` and ``review.rq`` for each claim and review it finds), so the
same trail is data (Turtle, JSON-LD: their graphs as they are) and a page or a terminal listing
(:class:`Trail`, read from that graph). ``GET /trail/{kind}/{slug}`` serves it
(:mod:`collabkg.web.trails`); ``collabkg trail model:partnership`` prints it. The page also says why each inferred statement about the
resource holds (the rule and its premises, down to asserted triples and their claims): a second query,
``queries/trail/explanations.rq``, over the explanations the build wrote (:mod:`collabkg.explanations`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, FOAF, SKOS
from rdflib.term import Node

from ..namespaces import BIBO, CITO, CK, FABIO, PRISM
from ..queryfiles import CannedQuery, ServedQueries
from ..store.base import Store
from . import number
from .explanations import Explanation, explanations_about

__all__ = [
    "KINDS",
    "Claim",
    "Reference",
    "Review",
    "Trail",
    "construct",
    "format_trail",
    "read_trail",
    "trail_graph",
]

#: The kinds of resource a trail starts from (``/trail/{kind}/{slug}``).
KINDS = ("finding", "claim", "model", "determinant")
#: How a claim cites a reference, in words.
CITATION_KINDS = {CITO.citesAsEvidence: "as evidence", CITO.citesForInformation: "for information"}


@dataclass(frozen=True)
class Reference:
    """A numbered entry of a review's reference list, as a claim cites it."""

    iri: Node
    number: int
    label: str
    #: ``as evidence`` or ``for information``.
    cited: str
    #: The bibliographic citation, where the graph has one (today it has only the numbers).
    citation: str | None


@dataclass(frozen=True)
class Claim:
    """One statement of a source, as the trail shows it."""

    iri: Node
    kind: str
    label: str
    section: str
    quote: str
    polarity: str | None
    review: Node | None
    references: tuple[Reference, ...]
    #: The statements of the trail's resource that the claim supports: ``predicate object`` labels, each followed
    #: by how firmly the passage states it when less than plainly (``combines with Co-location (tentative:
    #: “may”)``).
    supports: tuple[str, ...]
    #: How firmly the source states the claim, when less than plainly: its strength and hedging words
    #: (``tentative: “may”``); ``None`` when it states it plainly or the graph does not say.
    firmness: str | None = None


@dataclass(frozen=True)
class Review:
    """The source of claims, with what a reader needs to find and cite it."""

    iri: Node
    label: str
    title: str
    #: ``Family Initials`` in the order of the review's author list.
    authors: tuple[str, ...]
    issued: str | None
    journal: str | None
    volume: str | None
    article_number: str | None
    publisher: str | None
    #: Identifiers by scheme: ``PMCID``, ``URN``, ``DOI``, ``ISSN``.
    identifiers: dict[str, str]
    #: Country names, sorted.
    countries: tuple[str, ...]

    @property
    def year(self) -> str | None:
        return self.issued[:4] if self.issued else None


@dataclass(frozen=True)
class Trail:
    """A trail read from the trail query's graph."""

    iri: URIRef
    label: str
    definition: str | None
    claims: tuple[Claim, ...]
    reviews: tuple[Review, ...]
    #: Why each inferred statement about the resource holds, where the trail's graph has explanations.
    explanations: tuple[Explanation, ...] = ()


def trail_graph(queries: ServedQueries, store: Store, iri: URIRef, *, limit: int, deadline: float) -> Graph:
    """The trail of ``iri`` as RDF: empty when the graph does not know the resource.

    The resource and the claims that state it (``trail.rq``), then what each claim says and cites
    (``claim.rq``) and each of their reviews (``review.rq``), asked one by one with the claim or review
    bound. Joined in one query, Oxigraph evaluated each part over every claim of the graph before joining:
    a model's trail took 7.7 s over a million asserted triples, and 0.01 s a query so.
    """
    graph = construct(queries.trail, store, {"_resource": iri}, limit=limit, deadline=deadline)
    for claim in sorted(set(graph.subjects(CK.reportedIn, None)), key=str):
        graph += construct(queries.trail_claim, store, {"_claim": claim}, limit=limit, deadline=deadline)
    for review in sorted(set(graph.objects(None, CK.reportedIn)), key=str):
        graph += construct(queries.trail_review, store, {"_review": review}, limit=limit, deadline=deadline)
    return graph


def construct(
    query: CannedQuery, store: Store, bindings: dict[str, Node], *, limit: int, deadline: float
) -> Graph:
    """The graph of the CONSTRUCT ``query`` with ``bindings`` (e.g. ``trail/explanations.rq`` of a resource)."""
    result = store.evaluate(query.prepared, init_bindings=bindings, limit=limit, deadline=deadline)
    assert result.result.graph is not None
    return result.result.graph


def read_trail(graph: Graph, iri: URIRef) -> Trail:
    """The trail of ``iri`` from its graph (:func:`trail_graph`), ordered for reading."""
    claims = sorted(
        (_claim(graph, claim, iri) for claim in set(graph.subjects(CK.reportedIn, None))),
        key=lambda c: (str(c.review), c.section, str(c.iri)),
    )
    reviews = sorted((_review(graph, review) for review in set(graph.subjects(RDF.type, CK.Review))), key=str)
    return Trail(
        iri=iri,
        label=_text(graph.value(iri, RDFS.label)) or str(iri),
        definition=_text(graph.value(iri, SKOS.definition)),
        claims=tuple(claims),
        reviews=tuple(reviews),
        explanations=explanations_about(graph, iri),
    )


def _text(node: Node | None) -> str | None:
    return None if node is None else str(node)


def _label(graph: Graph, node: Node | None) -> str:
    """A node's label in the trail graph; a term of the vocabulary by its local name."""
    label = graph.value(node, RDFS.label)
    if label is not None:
        return str(label)
    return str(node).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _claim(graph: Graph, claim: Node, resource: URIRef) -> Claim:
    references = sorted(
        (
            Reference(
                iri=reference,
                number=number(graph.value(reference, CK.referenceNumber)),
                label=_label(graph, reference),
                cited=cited,
                citation=_text(graph.value(reference, DCTERMS.bibliographicCitation)),
            )
            for predicate, cited in CITATION_KINDS.items()
            for reference in graph.objects(claim, predicate)
        ),
        key=lambda r: r.number,
    )
    supports = sorted(
        " ".join(_label(graph, graph.value(statement, part)) for part in (RDF.predicate, RDF.object))
        + ("" if (firmness := _firmness(graph, statement)) is None else f" ({firmness})")
        for statement in graph.objects(claim, CK.supportsStatement)
        if graph.value(statement, RDF.subject) == resource
    )
    polarity = graph.value(claim, CK.polarity)
    return Claim(
        iri=claim,
        kind=_label(graph, graph.value(claim, RDF.type)),
        label=_label(graph, claim),
        section=str(graph.value(claim, CK.section)),
        quote=str(graph.value(claim, CK.quote)),
        polarity=None if polarity is None else _label(graph, polarity),
        review=graph.value(claim, CK.reportedIn),
        references=tuple(references),
        supports=tuple(supports),
        firmness=_firmness(graph, claim),
    )


def _firmness(graph: Graph, node: Node) -> str | None:
    """How firmly a claim or a supported statement is stated, in words, when less than plainly: the strength's
    label and the hedging words as printed (``tentative: “may”``); ``None`` for ``ck:stated`` or no strength."""
    strength = graph.value(node, CK.strength)
    if strength is None or strength == CK.stated:
        return None
    hedges = sorted(str(word) for word in graph.objects(node, CK.hedge))
    return _label(graph, strength) + (": " + ", ".join(f"“{word}”" for word in hedges) if hedges else "")


def _review(graph: Graph, review: Node) -> Review:
    author_list = graph.value(review, BIBO.authorList)
    authors = (
        ()
        if author_list is None
        else tuple(str(graph.value(a, FOAF.name)) for a in Collection(graph, author_list))
    )
    journal = graph.value(review, DCTERMS.isPartOf)
    publisher = graph.value(review, DCTERMS.publisher)
    identifiers = {
        scheme: str(value)
        for scheme, value in (
            ("PMCID", graph.value(review, FABIO.hasPubMedCentralId)),
            ("URN", graph.value(review, CK.urn)),
            ("DOI", graph.value(review, PRISM.doi)),
            ("ISSN", None if journal is None else graph.value(journal, PRISM.issn)),
        )
        if value is not None
    }
    return Review(
        iri=review,
        label=_label(graph, review),
        title=str(graph.value(review, DCTERMS.title)),
        authors=authors,
        issued=_text(graph.value(review, DCTERMS.issued)),
        journal=None if journal is None else _text(graph.value(journal, DCTERMS.title)),
        volume=_text(graph.value(review, PRISM.volume)),
        article_number=_text(graph.value(review, CK.articleNumber)),
        publisher=None if publisher is None else _text(graph.value(publisher, FOAF.name)),
        identifiers=identifiers,
        countries=tuple(sorted(_label(graph, c) for c in graph.objects(review, CK.coversCountry))),
    )


def format_trail(trail: Trail) -> str:
    """The trail as plain text, for a terminal."""
    lines = [trail.label, f"<{trail.iri}>"]
    if trail.definition:
        lines.append(trail.definition)
    for claim in trail.claims:
        lines += [
            "",
            f"* {claim.label}",
            f"  {claim.kind}" + (f", {claim.polarity}" if claim.polarity else ""),
        ]
        if claim.firmness:
            lines.append(f"  stated as {claim.firmness}")
        lines += [f"  supports: {statement}" for statement in claim.supports]
        lines += [f"  {_label_of(trail, claim.review)}, {claim.section}:", f'  "{claim.quote}"']
        if claim.references:
            cited = ", ".join(
                f"[{r.number}]" + ("" if r.cited == "as evidence" else " (info)") for r in claim.references
            )
            lines.append(f"  cites: {cited}")
    for review in trail.reviews:
        lines += ["", f"Source: {_reference_line(review)}"]
        lines += [f"  {scheme}: {value}" for scheme, value in review.identifiers.items()]
        if review.countries:
            lines.append(f"  countries covered: {', '.join(review.countries)}")
    return "\n".join(lines) + "\n"


def _label_of(trail: Trail, review: Node | None) -> str:
    return next((r.label for r in trail.reviews if r.iri == review), str(review))


def _reference_line(review: Review) -> str:
    """``Authors. Title. Journal Volume:Article (Year).``, from what the graph holds."""
    where = ", ".join(
        p for p in (review.journal or review.publisher, review.volume, review.article_number) if p
    )
    return f"{', '.join(review.authors)}. {review.title}. {where} ({review.year or 'n.d.'})."
