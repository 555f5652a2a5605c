"""Citations: the sources of an evidence trail (or one review) as CSL-JSON items, read from the store.

Everything starts from CSL-JSON, the item format of the Citation Style Language, built from the graph by one
query (``queries/trail/sources.rq``): the reviews a trail rests on, and those of the references it cites that
the graph describes. Today the references are known by number only, so none is exported; a reference given a
title (and authors, a journal...) in the data is exported like a review, with nothing filled in by guessing.

From the items come the exports (:mod:`.exports`: BibTeX, RIS, CSL-JSON, APA) and the metadata of trail
pages (:mod:`collabkg.web.citations`). ``GET /trail/{kind}/{slug}/cite`` serves a trail's sources,
``GET /trail/study/{slug}/cite`` a review's; ``collabkg cite model:partnership --format bibtex`` prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rdflib import RDF, Graph
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, FOAF
from rdflib.term import Node

from ..namespaces import BIBO, CK, FABIO, ID, PRISM, resource_iri
from ..queryfiles import CannedQuery, ServedQueries
from ..store.base import Store
from . import number
from .trails import KINDS, Trail, construct, read_trail, trail_graph

__all__ = [
    "REVIEW_KIND",
    "Source",
    "author_name",
    "author_names",
    "date_parts",
    "find_sources",
    "issued_date",
    "review_sources",
    "trail_sources",
]

#: The kind of ``/trail/{kind}/{slug}/cite`` that names a review rather than the start of a trail.
REVIEW_KIND = "study"
#: CSL item types of the FaBiO classes the sources query reads.
CSL_TYPES: dict[Node, str] = {
    FABIO.ReviewArticle: "article-journal",
    FABIO.JournalArticle: "article-journal",
    FABIO.Report: "report",
    FABIO.Book: "book",
    FABIO.BookChapter: "chapter",
}


# --- From the graph to CSL-JSON -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One citable work: its CSL-JSON item, and what CSL has no variable for but identifies the work."""

    iri: Node
    csl: dict[str, Any]
    #: The URN (URN:NBN...), which CSL cannot carry; the page metadata give it as an identifier.
    urn: str | None


def review_sources(
    query: CannedQuery, store: Store, review: Node, *, limit: int, deadline: float
) -> list[Source]:
    """The review, then each reference of its list that the graph describes (by number); ``[]``: no review."""
    graph = construct(query, store, {"_review": review}, limit=limit, deadline=deadline)
    if not graph:
        return []
    references = sorted(
        graph.subjects(CK.inReferenceListOf, review), key=lambda r: number(graph.value(r, CK.referenceNumber))
    )
    return [_source(graph, item) for item in (review, *references)]


def trail_sources(
    query: CannedQuery, store: Store, trail: Trail, *, limit: int, deadline: float
) -> list[Source]:
    """The reviews of a trail, each followed by the references its claims cite that the graph describes."""
    cited = {reference.iri for claim in trail.claims for reference in claim.references}
    return [
        source
        for review in trail.reviews
        for source in review_sources(query, store, review.iri, limit=limit, deadline=deadline)
        if source.iri == review.iri or source.iri in cited
    ]


def find_sources(
    queries: ServedQueries,
    store: Store,
    kind: str,
    slug: str,
    *,
    limit: int,
    deadline: float,
) -> list[Source] | None:
    """What ``{kind}/{slug}`` cites: a review (kind ``study``) itself, or a trail's sources.

    :returns: ``None`` when the graph knows no such review or trail start.
    """
    iri = resource_iri(f"{kind}/{slug}")
    if iri is None:
        return None
    if kind == REVIEW_KIND:
        return review_sources(queries.sources, store, iri, limit=limit, deadline=deadline)[:1] or None
    if kind not in KINDS:
        return None
    graph = trail_graph(queries, store, iri, limit=limit, deadline=deadline)
    if not graph:
        return None
    return trail_sources(queries.sources, store, read_trail(graph, iri), limit=limit, deadline=deadline)


def _source(graph: Graph, item: Node) -> Source:
    """A work of the sources query's graph as a CSL-JSON item: only the variables the graph has a value for."""
    value = graph.value
    journal = value(item, DCTERMS.isPartOf)
    publisher = value(item, DCTERMS.publisher)
    # Without a FaBiO class, a work in a journal is an article; anything else a work of no known kind.
    fallback = "article-journal" if journal is not None else "document"
    csl_type = next((CSL_TYPES[t] for t in graph.objects(item, RDF.type) if t in CSL_TYPES), fallback)
    author_list = value(item, BIBO.authorList)
    fields: dict[str, Node | None] = {
        "title": value(item, DCTERMS.title),
        "container-title": None if journal is None else value(journal, DCTERMS.title),
        "ISSN": None if journal is None else value(journal, PRISM.issn),
        "volume": value(item, PRISM.volume),
        # CSL 1.0.2 ``number`` is an article's number (``e137``); APA prints it as "Article e137".
        "number": value(item, CK.articleNumber),
        "publisher": None if publisher is None else value(publisher, FOAF.name),
        "DOI": value(item, PRISM.doi),
        "PMCID": value(item, FABIO.hasPubMedCentralId),
        "abstract": value(item, DCTERMS.abstract),
        "language": value(item, DCTERMS.language),
    }
    csl: dict[str, Any] = {"id": _item_id(item), "type": csl_type}
    csl |= {name: str(node) for name, node in fields.items() if node is not None}
    if author_list is not None:
        csl["author"] = [_name(graph, author) for author in Collection(graph, author_list)]
    issued = value(item, DCTERMS.issued)
    if issued is not None:
        csl["issued"] = {"date-parts": [[int(part) for part in str(issued).split("-")]]}
    urn = value(item, CK.urn)
    return Source(iri=item, csl=csl, urn=None if urn is None else str(urn))


def _item_id(iri: Node) -> str:
    """A citation key from the IRI: ``study/andersson-2011/ref/34`` → ``andersson-2011-ref-34``."""
    path = str(iri).removeprefix(str(ID)).removeprefix(f"{REVIEW_KIND}/")
    return re.sub(r"[^A-Za-z0-9-]+", "-", path).strip("-")


def _name(graph: Graph, author: Node) -> dict[str, str]:
    """A CSL name: family name and initials (``J.``) when the graph has them, else the name as given."""
    family = graph.value(author, FOAF.familyName)
    if family is None:
        return {"literal": str(graph.value(author, FOAF.name))}
    initials = graph.value(author, CK.initials)
    return {"family": str(family)} | ({} if initials is None else {"given": _initials(str(initials))})


def _initials(initials: str) -> str:
    """``J`` → ``J.``, ``JA`` → ``J. A.``, ``J-P`` → ``J.-P.``: the form every citation style expects."""
    out = ""
    for token in re.findall(r"-|[^\W\d_]", initials):
        out += "-" if token == "-" else (" " if out and not out.endswith("-") else "") + token + "."
    return out


def author_name(name: dict[str, str]) -> str:
    """``Family, Initials``: the order reference managers parse without guessing (``Bihari Axelsson, S.``)."""
    if "literal" in name:
        return name["literal"]
    return ", ".join(part for part in (name["family"], name.get("given")) if part)


def author_names(csl: dict[str, Any]) -> list[str]:
    return [author_name(name) for name in csl.get("author", [])]


def date_parts(csl: dict[str, Any]) -> list[int]:
    return csl["issued"]["date-parts"][0] if "issued" in csl else []


def issued_date(csl: dict[str, Any], separator: str) -> str | None:
    """The date issued as ``2011-11-18`` (``-``) or ``2011/11/18`` (``/``, Highwire and RIS); ``None``: none."""
    return separator.join(f"{part:02d}" for part in date_parts(csl)) or None
