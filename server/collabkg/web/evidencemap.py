"""The evidence map: where the findings of the reviews are, and where they are not (``GET /map``).

An evidence gap map, as systematic reviewers draw them: one row per determinant (and per model, where findings
concern models), one column per review and polarity (barrier, facilitator, both); each cell the number of
findings and of distinct references they cite, shaded by the number of findings and linking to those findings
on the row's page; a cell without findings is drawn as a gap. The same table is served as CSV and JSON.

Everything comes from three page queries (``queries/pages/evidence-map-rows.rq``, ``-columns.rq``,
``-cells.rq``): the axes are every determinant, model with findings, review and polarity the graph holds, so an
empty row or column is shown as one, not left out. The SVG is drawn with ElementTree, which escapes every label,
and styled by classes of the stylesheet (no inline style).
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request, url_for
from markupsafe import Markup
from rdflib import URIRef

from .. import formats
from ..search import slug
from .claims import POLARITY_ORDER, anchor
from .context import absolute_url, kept, select_texts
from .pages import id_path

__all__ = ["EvidenceMap", "bp", "evidence_map_svg", "read_map"]

bp = Blueprint("evidencemap", __name__)

CSV = formats.Format("CSV", ("csv",), ("text/csv",), "", None)
JSON = formats.Format("JSON", ("json",), ("application/json",), "", None)
#: The page for browsers (and ``*/*``), the table for programs.
MAP_FORMATS: tuple[formats.Format, ...] = (formats.HTML, CSV, JSON)
#: Shades of a cell with findings, lightest first; a cell without any is a gap.
LEVELS = 5
#: Row kinds, in the order their groups are drawn, with their titles.
ROW_KINDS = (("determinant", "Determinants"), ("model", "Models"))

LABEL_WIDTH = 280
#: The most cells (rows × columns) of a map that is drawn, tabulated and listed with its gaps. Past it (a
#: generated graph of a million triples has 9,793 rows and 972 columns: 9.5 million cells, which held a worker
#: for minutes and 6 GB) the page says so and the CSV and JSON list the cells that hold findings only.
DRAWN_CELLS = 50_000
CELL_WIDTH = 96
CELL_HEIGHT = 40
HEADER_HEIGHT = 78
GROUP_HEIGHT = 30
MARGIN = 8


@dataclass(frozen=True)
class Axis:
    """A row or column value: a determinant, model, review or polarity, with its label."""

    iri: URIRef
    kind: str
    label: str


@dataclass(frozen=True)
class Cell:
    """The findings about one row's resource that one review reports with one polarity."""

    review: Axis
    polarity: Axis
    findings: int
    references: int


@dataclass(frozen=True)
class Row:
    row: Axis
    cells: tuple[Cell, ...]

    @property
    def findings(self) -> int:
        """Findings in the row (each finding has one review and one polarity, so the cells add up)."""
        return sum(cell.findings for cell in self.cells)


@dataclass(frozen=True)
class EvidenceMap:
    reviews: tuple[Axis, ...]
    polarities: tuple[Axis, ...]
    #: Each row with a cell for every column (``dense``), or only with its cells that hold findings.
    rows: tuple[Row, ...]
    dense: bool = True

    @property
    def columns(self) -> tuple[tuple[Axis, Axis], ...]:
        """``(review, polarity)`` of each column, reviews in order, each with every polarity."""
        return tuple((review, polarity) for review in self.reviews for polarity in self.polarities)

    @property
    def most(self) -> int:
        return max((cell.findings for row in self.rows for cell in row.cells), default=0)

    @property
    def cells(self) -> int:
        """Cells of the map, gaps included: rows × columns."""
        return len(self.rows) * len(self.columns)

    @property
    def gaps(self) -> int:
        return self.cells - sum(cell.findings > 0 for row in self.rows for cell in row.cells)

    def level(self, findings: int) -> int:
        """The shade of a cell: 0 for a gap, else 1 to :data:`LEVELS`, in even steps up to the fullest cell."""
        if findings <= 0:
            return 0
        return 1 + (LEVELS - 1) * (findings - 1) // max(self.most - 1, 1)

    def legend(self) -> list[tuple[int, str]]:
        """``(level, counts)`` for each shade in use: ``(1, "1–2 findings")``."""
        spans: dict[int, list[int]] = {}
        for findings in range(1, self.most + 1):
            spans.setdefault(self.level(findings), []).append(findings)
        return [
            (level, f"{low}–{high} findings" if low != high else f"{low} finding{'' if low == 1 else 's'}")
            for level, counts in sorted(spans.items())
            for low, high in [(counts[0], counts[-1])]
        ]


def read_map() -> EvidenceMap:
    """The map from the graph: every row and column it holds, and the counts of each cell.

    Read as text and keyed by the IRIs' text, an rdflib term made only for each row and column: a map of a
    million triples has 17,750 cells, and their terms were half of the page's time."""
    rows = {
        r["row"]: Axis(URIRef(r["row"]), r["kind"], r.get("label", r["row"]))
        for r in select_texts("evidence-map-rows")
    }
    reviews: dict[str, tuple[Axis, str]] = {}
    polarities: dict[str, Axis] = {}
    for r in select_texts("evidence-map-columns"):
        term = r["term"]
        if r["axis"] == "review":
            reviews[term] = (Axis(URIRef(term), "review", r.get("label", term)), r.get("issued", ""))
        else:
            polarities[term] = Axis(URIRef(term), "polarity", r.get("label", term))
    counts = {
        (r["row"], r["review"], r["polarity"]): (int(r["findings"]), int(r["references"]))
        for r in select_texts("evidence-map-cells")
    }
    for row, review, polarity in counts:  # a finding of a review or polarity the graph does not type is drawn
        if review not in reviews:
            reviews[review] = (Axis(URIRef(review), "review", slug("review", review)), "")
        if polarity not in polarities:
            polarities[polarity] = Axis(URIRef(polarity), "polarity", slug("polarity", polarity))
        if row not in rows:
            rows[row] = Axis(URIRef(row), "determinant", row.rsplit("/", 1)[-1])
    ordered_reviews = tuple(axis for axis, _ in sorted(reviews.values(), key=lambda r: r[0].label.casefold()))
    ordered_polarities = tuple(
        sorted(
            polarities.values(),
            key=lambda p: (
                POLARITY_ORDER.index(p.iri) if p.iri in POLARITY_ORDER else len(POLARITY_ORDER),
                p.label,
            ),
        )
    )
    kinds = [kind for kind, _ in ROW_KINDS]
    #: Each column with its review's and polarity's IRI as text, the keys of ``counts``.
    columns = [
        (review, polarity, str(review.iri), str(polarity.iri))
        for review in ordered_reviews
        for polarity in ordered_polarities
    ]
    dense = len(rows) * len(columns) <= DRAWN_CELLS
    held: dict[str, list[tuple[Axis, Axis, str, str]]] = {}
    if not dense:  # each row's cells with findings, in column order, without a pass over every column
        place = {(column[2], column[3]): column for column in columns}
        order = {key: index for index, key in enumerate(place)}
        for row_key, review_key, polarity_key in sorted(counts, key=lambda key: order[key[1:]]):
            held.setdefault(row_key, []).append(place[review_key, polarity_key])

    def cells(row: str) -> tuple[Cell, ...]:
        return tuple(
            Cell(review, polarity, *counts.get((row, review_key, polarity_key), (0, 0)))
            for review, polarity, review_key, polarity_key in (columns if dense else held.get(row, ()))
        )

    return EvidenceMap(
        reviews=ordered_reviews,
        polarities=ordered_polarities,
        rows=tuple(
            Row(axis, cells(key))
            for key, axis in sorted(
                rows.items(),
                key=lambda item: (
                    kinds.index(item[1].kind) if item[1].kind in kinds else len(kinds),
                    item[1].label.casefold(),
                ),
            )
        ),
        dense=dense,
    )


def cell_link(row: Axis, cell: Cell) -> str | None:
    """Where a cell's findings are: their group on the row's page (``/page/determinant/trust#barrier-...``)."""
    path = id_path(row.iri)
    if path is None or not cell.findings:
        return None
    return url_for("pages.page", path=path) + "#" + anchor(cell.polarity.iri, cell.review.iri)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of about ``width`` characters, at most two (the second ends in … when cut)."""
    words, lines = text.split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            if len(lines) == 2:
                lines[-1] += "…"
                break
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    return lines


def evidence_map_svg(
    evidence: EvidenceMap, link: Callable[[Axis, Cell], str | None], page: Callable[[Axis], str | None]
) -> str:
    """The map as an SVG document (a string to inline in a page).

    :param link: where a cell's findings are (``None``: a gap, not a link).
    :param page: the page of a row's determinant or model.
    """
    columns = evidence.columns
    groups = [(kind, title) for kind, title in ROW_KINDS if any(r.row.kind == kind for r in evidence.rows)]
    width = LABEL_WIDTH + len(columns) * CELL_WIDTH + MARGIN
    height = HEADER_HEIGHT + len(groups) * GROUP_HEIGHT + len(evidence.rows) * CELL_HEIGHT + MARGIN
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "role": "group",
            "aria-labelledby": "evidence-map-title",
            "class": "evidence-map",
        },
    )
    ET.SubElement(svg, "title", id="evidence-map-title").text = (
        "Evidence map: findings per determinant (rows) by review and polarity (columns); "
        "each cell gives the number of findings and of distinct references they cite; hatched cells are gaps"
    )
    defs = ET.SubElement(svg, "defs")
    pattern = ET.SubElement(
        defs,
        "pattern",
        {
            "id": "gap-hatch",
            "width": "6",
            "height": "6",
            "patternUnits": "userSpaceOnUse",
            "patternTransform": "rotate(45)",
        },
    )
    ET.SubElement(pattern, "rect", {"width": "6", "height": "6", "class": "hatch-ground"})
    ET.SubElement(pattern, "line", {"x1": "0", "y1": "0", "x2": "0", "y2": "6", "class": "hatch-line"})

    for index, review in enumerate(evidence.reviews):
        x = LABEL_WIDTH + index * len(evidence.polarities) * CELL_WIDTH
        span = len(evidence.polarities) * CELL_WIDTH
        ET.SubElement(
            svg, "text", {"x": str(x + span / 2), "y": "20", "text-anchor": "middle", "class": "review-title"}
        ).text = review.label
        ET.SubElement(
            svg, "line", {"x1": str(x), "y1": "28", "x2": str(x + span - 4), "y2": "28", "class": "divider"}
        )
    for index, (_, polarity) in enumerate(columns):
        middle = LABEL_WIDTH + index * CELL_WIDTH + CELL_WIDTH / 2
        for line, text in enumerate(_wrap(polarity.label, 13)):
            ET.SubElement(
                svg,
                "text",
                {
                    "x": f"{middle:.0f}",
                    "y": str(46 + line * 14),
                    "text-anchor": "middle",
                    "class": "polarity-title",
                },
            ).text = text

    y = HEADER_HEIGHT
    for kind, title in groups:
        ET.SubElement(svg, "text", {"x": "0", "y": str(y + 20), "class": "group-title"}).text = title
        y += GROUP_HEIGHT
        for row in (r for r in evidence.rows if r.row.kind == kind):
            label_lines = _wrap(row.row.label, 40)
            row_link = page(row.row)
            holder = ET.SubElement(svg, "a", {"href": row_link}) if row_link else svg
            label = ET.SubElement(
                holder, "text", {"x": "0", "y": str(y + CELL_HEIGHT / 2 + 4), "class": "row-label"}
            )
            label.text = label_lines[0] + ("…" if len(label_lines) > 1 else "")
            for index, cell in enumerate(row.cells):
                x = LABEL_WIDTH + index * CELL_WIDTH
                level = evidence.level(cell.findings)
                target = link(row.row, cell)
                if cell.findings:
                    shown = [
                        f"{cell.findings} finding{'' if cell.findings == 1 else 's'}",
                        f"{cell.references} ref{'' if cell.references == 1 else 's'}.",
                    ]
                    counted = f"{shown[0]}, {cell.references} distinct reference{'' if cell.references == 1 else 's'}"
                else:
                    shown, counted = ["gap"], "no findings (a gap)"
                where = f"{row.row.label}, {cell.review.label}, {cell.polarity.label}"
                attributes = {
                    "class": "map-cell" + (" is-gap" if not cell.findings else ""),
                    "data-row": str(row.row.iri),
                    "data-review": str(cell.review.iri),
                    "data-polarity": str(cell.polarity.iri),
                    "data-findings": str(cell.findings),
                    "data-references": str(cell.references),
                }
                if target:
                    # The accessible name starts with the words the cell shows (WCAG 2.5.3, label in name).
                    named = {"aria-label": f"{' '.join(shown)} {where}"}
                    group = ET.SubElement(svg, "a", {"href": target, **named, **attributes})
                else:
                    group = ET.SubElement(svg, "g", attributes)
                ET.SubElement(
                    group,
                    "rect",
                    {
                        "x": str(x),
                        "y": str(y),
                        "width": str(CELL_WIDTH),
                        "height": str(CELL_HEIGHT),
                        "class": f"cell level-{level}" if level else "cell gap",
                    },
                )
                for line, text in enumerate(shown):
                    element = ET.SubElement(
                        group,
                        "text",
                        {
                            "x": str(x + CELL_WIDTH / 2),
                            "y": str(y + (17 + line * 15 if len(shown) == 2 else 25)),
                            "text-anchor": "middle",
                            "class": f"on-level-{level}" if level else "gap-text",
                        },
                    )
                    element.text, element.tail = text, " "  # the lines read apart: "2 findings 4 refs."
                # The tooltip, after the text: assistive technology reads the cell's words first.
                ET.SubElement(group, "title").text = f"{where}: {counted}"
            y += CELL_HEIGHT
    return ET.tostring(svg, encoding="unicode")


def _row_page(row: Axis) -> str | None:
    path = id_path(row.iri)
    return None if path is None else url_for("pages.page", path=path)


def map_markup(evidence: EvidenceMap) -> Markup:
    """The SVG of the map, for a template (ElementTree escaped every label)."""
    return Markup(evidence_map_svg(evidence, cell_link, _row_page))


def _table(evidence: EvidenceMap) -> list[dict[str, object]]:
    """One record per cell, gaps included, with absolute links."""
    records: list[dict[str, object]] = []
    for row in evidence.rows:
        path = id_path(row.row.iri)
        for cell in row.cells:
            findings_url = None
            if path is not None and cell.findings:
                findings_url = (
                    absolute_url("pages.page", path=path) + "#" + anchor(cell.polarity.iri, cell.review.iri)
                )
            records.append(
                {
                    "row_kind": row.row.kind,
                    "row": str(row.row.iri),
                    "row_label": row.row.label,
                    "review": str(cell.review.iri),
                    "review_label": cell.review.label,
                    "polarity": str(cell.polarity.iri),
                    "polarity_label": cell.polarity.label,
                    "findings": cell.findings,
                    "references": cell.references,
                    "findings_url": findings_url,
                }
            )
    return records


#: The CSV's columns, in order.
CSV_COLUMNS: Sequence[str] = (
    "row_kind",
    "row",
    "row_label",
    "review",
    "review_label",
    "polarity",
    "polarity_label",
    "findings",
    "references",
    "findings_url",
)


def as_csv(evidence: EvidenceMap) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in _table(evidence):
        writer.writerow({name: "" if value is None else value for name, value in record.items()})
    return out.getvalue()


def as_json(evidence: EvidenceMap) -> str:
    """The map for programs: the axes, then each row with its cells in column order."""
    records = iter(_table(evidence))
    data = {
        "reviews": [{"iri": str(r.iri), "label": r.label} for r in evidence.reviews],
        "polarities": [{"iri": str(p.iri), "label": p.label} for p in evidence.polarities],
        # Whether each row lists every column's cell, gaps included (else only its cells with findings).
        "gaps_listed": evidence.dense,
        "rows": [
            {
                "iri": str(row.row.iri),
                "kind": row.row.kind,
                "label": row.row.label,
                "page": None
                if id_path(row.row.iri) is None
                else absolute_url("pages.page", path=id_path(row.row.iri)),
                "findings": row.findings,
                "cells": [
                    {
                        key: record[key]
                        for key in ("review", "polarity", "findings", "references", "findings_url")
                    }
                    for record in (next(records) for _ in row.cells)
                ],
            }
            for row in evidence.rows
        ],
    }
    return json.dumps(data, indent=1, ensure_ascii=False)


@bp.get("/map")
@kept
def evidence_map() -> Response:
    """The evidence map: a page with the SVG and its table for browsers, CSV or JSON for programs."""
    choice = formats.negotiate(MAP_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    evidence = read_map()
    if choice.format is CSV:
        response = Response(as_csv(evidence), content_type="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = 'inline; filename="collabkg-evidence-map.csv"'
    elif choice.format is JSON:
        response = Response(as_json(evidence), content_type="application/json")
    else:
        body = render_template(
            "evidence_map.html",
            evidence=evidence,
            drawn_cells=DRAWN_CELLS,
            svg=map_markup(evidence) if evidence.dense else None,
            links={  # for the table, drawn with the map only
                (row.row.iri, cell.review.iri, cell.polarity.iri): cell_link(row.row, cell)
                for row in evidence.rows
                for cell in row.cells
                if evidence.dense
            },
            # Only the drawn table links its rows: a map too large to draw is counted in words (the 10M project's
            # 98,492 rows took two of the page's eight seconds to link for nothing).
            pages={row.row.iri: _row_page(row.row) for row in evidence.rows if evidence.dense},
        )
        response = Response(body, mimetype="text/html")
    response.vary.add("Accept")
    return response
