"""Citing over HTTP: ``GET /trail/{kind}/{slug}/cite`` (a trail's sources, or a review's with kind
``study``) in the forms of :mod:`collabkg.evidence.exports`, and what a trail page tells reference managers.

Pages get the metadata reference managers read from a page: Highwire ``citation_*`` meta tags (Google
Scholar, Zotero), a COinS span (an OpenURL ContextObject, read by Zotero and others) and schema.org JSON-LD
(read by search engines; Zotero ignores it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, request, url_for
from rdflib.term import Node
from werkzeug.exceptions import NotFound

from .. import formats
from ..evidence.citations import Source, author_name, author_names, find_sources, issued_date
from ..evidence.exports import EXPORTS, apa_references
from ..evidence.trails import Trail
from ..namespaces import ID
from .context import kept, service, within_limits


def highwire_tags(source: Source) -> list[tuple[str, str]]:
    """Highwire Press ``citation_*`` meta tags (names and contents), as Google Scholar documents them.

    ``citation_pmcid`` is not on Google Scholar's list; harvesters of biomedical literature read it (EDAM's
    PubFetcher does), and readers ignore names they do not know. A report names its institution as Scholar
    asks (``citation_technical_report_institution``), which is also how Zotero knows it is a report.
    """
    csl = source.csl
    tags = [("citation_title", csl["title"])]
    tags += [("citation_author", name) for name in author_names(csl)]
    date = issued_date(csl, "/")
    if date:
        tags.append(("citation_publication_date", date))
    for name, variable in (
        ("citation_journal_title", "container-title"),
        ("citation_volume", "volume"),
        ("citation_firstpage", "number"),
        ("citation_issn", "ISSN"),
        ("citation_publisher", "publisher"),
        ("citation_doi", "DOI"),
        ("citation_pmcid", "PMCID"),
        ("citation_language", "language"),
    ):
        if variable in csl:
            tags.append((name, csl[variable]))
    if csl["type"] == "report" and "publisher" in csl:
        tags.append(("citation_technical_report_institution", csl["publisher"]))
    return tags


def coins(source: Source) -> str:
    """The ``title`` of a COinS span: an OpenURL 1.0 ContextObject in KEV form, URL-encoded.

    A journal article uses the journal format (``rft.atitle``, ``rft.jtitle``...); anything else the book
    format with its genre (``report``, ``book``, ``document``).
    """
    csl = source.csl
    date = issued_date(csl, "-")
    journal = csl["type"] == "article-journal"
    pairs: list[tuple[str, str]] = [
        ("ctx_ver", "Z39.88-2004"),
        ("rft_val_fmt", f"info:ofi/fmt:kev:mtx:{'journal' if journal else 'book'}"),
    ]
    if journal:
        pairs += [("rft.genre", "article"), ("rft.atitle", csl["title"])]
    else:
        genre = csl["type"] if csl["type"] in ("report", "book") else "document"
        pairs += [("rft.genre", genre), ("rft.btitle", csl["title"])]
    pairs += [("rft.au", name) for name in author_names(csl)]
    for key, variable in (
        ("rft.jtitle", "container-title"),
        ("rft.volume", "volume"),
        ("rft.artnum", "number"),
        ("rft.issn", "ISSN"),
        ("rft.pub", "publisher"),
        ("rft.language", "language"),
    ):
        if variable in csl:
            pairs.append((key, csl[variable]))
    if date:
        pairs.append(("rft.date", date))
    if "DOI" in csl:
        pairs.append(("rft_id", f"info:doi/{csl['DOI']}"))
    if source.urn:
        pairs.append(("rft_id", source.urn))
    return urlencode(pairs, quote_via=quote)


#: schema.org types of the CSL types made here.
SCHEMA_TYPES = {
    "article-journal": "ScholarlyArticle",
    "report": "Report",
    "book": "Book",
    "chapter": "Chapter",
}


def json_ld(source: Source) -> dict[str, Any]:
    """schema.org JSON-LD for the work (the template writes it with ``tojson``, which escapes ``</``)."""
    csl = source.csl
    node: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": SCHEMA_TYPES.get(csl["type"], "CreativeWork"),
        "@id": str(source.iri),
        "name": csl["title"],
        "author": [
            {"@type": "Person", "name": name["literal"]}
            if "literal" in name
            else {
                "@type": "Person",
                "familyName": name["family"],
                "name": author_name(name),
            }
            for name in csl.get("author", [])
        ],
    }
    if "issued" in csl:
        node["datePublished"] = issued_date(csl, "-")
    if "container-title" in csl:
        periodical = {"@type": "Periodical", "name": csl["container-title"]}
        if "ISSN" in csl:
            periodical["issn"] = csl["ISSN"]
        node["isPartOf"] = (
            {"@type": "PublicationVolume", "volumeNumber": csl["volume"], "isPartOf": periodical}
            if "volume" in csl
            else periodical
        )
    if "publisher" in csl:
        node["publisher"] = {"@type": "Organization", "name": csl["publisher"]}
    if "language" in csl:
        node["inLanguage"] = csl["language"]
    identifiers = [("DOI", csl.get("DOI")), ("PMCID", csl.get("PMCID")), ("URN", source.urn)]
    node["identifier"] = [
        {"@type": "PropertyValue", "propertyID": scheme, "value": value}
        for scheme, value in identifiers
        if value
    ]
    return node


@dataclass(frozen=True)
class CitedSource:
    """A source as a trail page shows it: its APA reference, and its metadata for reference managers."""

    iri: Node
    apa: str
    coins: str
    highwire: list[tuple[str, str]]
    json_ld: dict[str, Any]

    @classmethod
    def of(cls, source: Source, apa: str) -> CitedSource:
        return cls(source.iri, apa, coins(source), highwire_tags(source), json_ld(source))


@dataclass(frozen=True)
class TrailCitation:
    """What a trail page shows to cite its sources."""

    #: The reviews, then the references they describe that the trail cites.
    sources: tuple[CitedSource, ...]
    #: The review IRIs of the trail: the works a page's own metadata describe.
    reviews: frozenset[Node]
    #: ``(label, URL)`` of each export.
    links: tuple[tuple[str, str], ...]

    @property
    def review_sources(self) -> list[CitedSource]:
        return [source for source in self.sources if source.iri in self.reviews]


def cite_trail(trail: Trail, sources: list[Source]) -> TrailCitation:
    """The citation block of a trail page, for the sources of the trail (:func:`trail_sources`)."""
    kind, _, slug = str(trail.iri).removeprefix(str(ID)).partition("/")
    links = tuple(
        (export.format.label, url_for("citations.cite", kind=kind, slug=slug, format=export.format.name))
        for export in EXPORTS
    )
    references = apa_references([source.csl for source in sources])
    return TrailCitation(
        tuple(CitedSource.of(source, apa) for source, apa in zip(sources, references, strict=True)),
        frozenset(review.iri for review in trail.reviews),
        links,
    )


bp = Blueprint("citations", __name__)


@bp.get("/trail/<kind>/<slug>/cite")
@kept
def cite(kind: str, slug: str) -> Response:
    """The sources of a trail, or a review (``study``), as BibTeX, RIS, CSL-JSON or an APA reference."""
    choice = formats.negotiate(
        [export.format for export in EXPORTS], request.accept_mimetypes, request.args.getlist("format")
    )
    export = next(e for e in EXPORTS if e.format is choice.format)
    current = service()
    sources = within_limits(
        lambda deadline: find_sources(
            current.queries,
            current.store,
            kind,
            slug,
            limit=current.settings.result_limit,
            deadline=deadline,
        )
    )
    if sources is None:
        raise NotFound(f"The graph knows no {kind} {slug!r} to cite.")
    response = Response(export.write([source.csl for source in sources]), content_type=choice.content_type)
    response.headers.set(
        "Content-Disposition", export.disposition, filename=f"{kind}-{slug}.{export.extension}"
    )
    response.vary.add("Accept")
    return response
