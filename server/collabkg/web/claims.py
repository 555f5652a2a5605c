"""What a page says about the sources behind a resource, read from the store for people.

* The claims about a determinant or a model (``queries/pages/claims-about.rq``), grouped as a reader of a
  review wants them: the findings by polarity (barrier, facilitator, both), each polarity by review, each claim
  with its quote, section and the numbers of the references it cites; then the claims that are no finding
  (model descriptions, conclusions). The evidence map links each of its cells to one group (:func:`anchor`).
* The links the sources make with any resource (``queries/pages/statements.rq``): each reified statement read as
  a sentence ("Partnership combines with Co-location"), with the claims that state it, and a link to the
  statement's own page where the statement has an IRI (a blank node has none to link to).
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef
from rdflib.query import ResultRow
from rdflib.term import Node

from ..namespaces import CITO, CK
from ..search import slug
from .context import select

__all__ = [
    "POLARITY_ORDER",
    "ClaimCard",
    "ClaimGroup",
    "Part",
    "ReviewGroup",
    "StatedLink",
    "StatedLinks",
    "anchor",
    "claims_about",
    "links_stated",
]

#: The polarities in the order the ontology lists them (``owl:oneOf``); any other comes after, by label.
POLARITY_ORDER: tuple[URIRef, ...] = (CK.barrier, CK.facilitator, CK.twoSided)
#: How a claim cites a reference, in words.
CITED = {CITO.citesAsEvidence: "as evidence", CITO.citesForInformation: "for information"}
#: The most statements about a resource ``statements.rq`` gives (its ``LIMIT``): a page given so many asks
#: ``statements-size.rq`` how many there are; one given fewer has them all (a count over the 10M project's
#: country took a third of a second, for the real graph's pages nothing).
LINKS_SHOWN = 200
#: The anchor of the claims about a resource that are no finding.
OTHER_CLAIMS = "other-claims"


@dataclass(frozen=True)
class ClaimCard:
    """One claim as a page shows it: its words, where the source says it, and what it cites."""

    iri: URIRef
    label: str
    finding: bool
    polarity: URIRef | None
    quote: str | None
    section: str | None
    review: URIRef
    review_label: str
    #: ``(number, how cited)``, by number.
    references: tuple[tuple[int, str], ...]
    #: How firmly the source states it (``stated``, ``qualified``, ``tentative``...), as the graph labels it.
    strength: str | None = None
    #: The hedging words of its passage, as printed, in alphabetical order.
    hedges: tuple[str, ...] = ()
    #: Whether the source says it less firmly than plainly (``ck:strength`` other than ``ck:stated``): a page
    #: says how.
    hedged: bool = False


@dataclass(frozen=True)
class ReviewGroup:
    """The claims of one review within a group."""

    review: URIRef
    label: str
    anchor: str
    claims: tuple[ClaimCard, ...]


@dataclass(frozen=True)
class ClaimGroup:
    """The findings of one polarity (or the claims that are no finding), by review."""

    #: ``barrier``, ``facilitator``, ``two-sided``... or ``other-claims``.
    key: str
    #: The polarity's label as the graph gives it; ``None`` for the claims that are no finding.
    label: str | None
    reviews: tuple[ReviewGroup, ...]

    @property
    def count(self) -> int:
        return sum(len(group.claims) for group in self.reviews)


def anchor(polarity: Node | None, review: Node) -> str:
    """The id of the group of claims of ``review`` with ``polarity`` on a determinant's or model's page."""
    key = OTHER_CLAIMS if polarity is None else slug("polarity", str(polarity))
    return f"{key}-{slug('review', str(review))}"


def claims_about(iri: URIRef) -> list[ClaimGroup]:
    """The claims about a determinant or a model, grouped by polarity, then review; claims by section, label."""
    first: dict[Node, ResultRow] = {}
    references: dict[Node, dict[int, str]] = {}
    hedges: dict[Node, set[str]] = {}
    for row in select("claims-about", _about=iri):
        first.setdefault(row.claim, row)  # a claim comes in one row per reference it cites and hedge it uses
        if row.hedge is not None:
            hedges.setdefault(row.claim, set()).add(str(row.hedge))
        cited = references.setdefault(row.claim, {})
        if row.number is not None and URIRef(str(row.cites)) in CITED:
            number, how = int(row.number), CITED[URIRef(str(row.cites))]
            if cited.get(number) != CITED[CITO.citesAsEvidence]:  # cited both ways: as evidence wins
                cited[number] = how
    groups: dict[URIRef | None, dict[URIRef, list[ClaimCard]]] = {}
    polarity_labels: dict[URIRef, str] = {}
    for claim, row in first.items():
        polarity = URIRef(str(row.polarity)) if row.finding and row.polarity is not None else None
        card = ClaimCard(
            iri=URIRef(str(claim)),
            label=str(row.label),
            finding=bool(row.finding),
            polarity=polarity,
            quote=None if row.quote is None else str(row.quote),
            section=None if row.section is None else str(row.section),
            review=URIRef(str(row.review)),
            review_label=str(row.reviewLabel or slug("review", str(row.review))),
            references=tuple(sorted(references[claim].items())),
            strength=None if row.strength is None else str(row.strengthLabel or row.strength.rsplit("#")[-1]),
            hedged=row.strength is not None and row.strength != CK.stated,
            hedges=tuple(sorted(hedges.get(claim, ()))),
        )
        if polarity is not None:
            polarity_labels[polarity] = str(row.polarityLabel or slug("polarity", str(polarity)))
        groups.setdefault(polarity, {}).setdefault(card.review, []).append(card)

    def polarity_order(polarity: URIRef | None) -> tuple[int, str]:
        if polarity is None:
            return (len(POLARITY_ORDER) + 1, "")
        known = POLARITY_ORDER.index(polarity) if polarity in POLARITY_ORDER else len(POLARITY_ORDER)
        return (known, polarity_labels[polarity])

    return [
        ClaimGroup(
            key=OTHER_CLAIMS if polarity is None else slug("polarity", str(polarity)),
            label=None if polarity is None else polarity_labels[polarity],
            reviews=tuple(
                ReviewGroup(
                    review=review,
                    label=claims[0].review_label,
                    anchor=anchor(polarity, review),
                    claims=tuple(sorted(claims, key=lambda c: (c.section or "", c.label.casefold()))),
                )
                for review, claims in sorted(by_review.items(), key=lambda item: item[1][0].review_label)
            ),
        )
        for polarity, by_review in sorted(groups.items(), key=lambda item: polarity_order(item[0]))
    ]


@dataclass(frozen=True)
class Part:
    """A subject, predicate or object of a statement: its label, and the resource it names (if it does)."""

    text: str
    term: Node


@dataclass(frozen=True)
class StatedLink:
    """A link a source makes, reified: ``subject predicate object``, and the claims that state it."""

    node: Node
    subject: Part
    predicate: Part
    object: Part
    #: ``(claim, label)`` of each supporting claim, by label.
    claims: tuple[tuple[URIRef, str], ...]

    @property
    def has_iri(self) -> bool:
        """Whether the statement can be linked to (a blank node has no page)."""
        return isinstance(self.node, URIRef)


@dataclass(frozen=True)
class StatedLinks:
    """The links the sources make with a resource that a page lists, and how many there are in all."""

    links: tuple[StatedLink, ...]
    total: int

    @property
    def partial(self) -> bool:
        """Whether the page lists only the first of them (``statements.rq`` gives at most :data:`LINKS_SHOWN`)."""
        return self.total > len(self.links)


def links_stated(iri: URIRef) -> StatedLinks:
    """The statements of the data about ``iri`` (as subject or object), as sentences with their claims: the
    first 200 in order of predicate, subject and object (``statements.rq``; a country of the 10M project,
    Sweden, is in 1,551, half of its 768 KB page), and how many there are (``statements-size.rq``)."""

    def part(term: Node, label: Node | None) -> Part:
        if label is not None:
            return Part(str(label), term)
        text = str(term)
        return Part(text.rsplit("#", 1)[-1].rsplit("/", 1)[-1] if isinstance(term, URIRef) else text, term)

    found: dict[Node, StatedLink] = {}
    claims: dict[Node, set[tuple[URIRef, str]]] = {}
    for row in select("statements", _resource=iri):
        found.setdefault(
            row.statement,
            StatedLink(
                node=row.statement,
                subject=part(row.subject, row.subjectLabel),
                predicate=part(row.predicate, row.predicateLabel),
                object=part(row.object, row.objectLabel),
                claims=(),
            ),
        )
        bucket = claims.setdefault(row.statement, set())
        if isinstance(row.claim, URIRef):
            bucket.add((row.claim, str(row.claimLabel or row.claim)))
    links = [
        StatedLink(
            link.node,
            link.subject,
            link.predicate,
            link.object,
            tuple(sorted(claims[node], key=lambda c: (c[1].casefold(), str(c[0])))),
        )
        for node, link in found.items()
    ]
    total = len(links)
    if total >= LINKS_SHOWN:  # the first of more, perhaps: as many as there are in the graph
        [counted] = select("statements-size", _resource=iri)
        total = int(counted.links)
    # By the sentence, then by who states it: the order is the graph's, whatever order an engine answers in.
    ordered = sorted(
        links,
        key=lambda link: (
            link.predicate.text,
            link.subject.text,
            link.object.text,
            tuple(label for _, label in link.claims),
            tuple(str(claim) for claim, _ in link.claims),
        ),
    )
    return StatedLinks(tuple(ordered), total)
