"""The map of collaboration models as SVG, drawn from the graph by our own code (no external tool).

Andersson's Figure 1 orders the models by complexity; the map keeps that order left to right, puts structural
and process-oriented models in rows of their own (models no source classifies, such as Cameron's categories,
in a third), and draws every combination of two models as an arc: solid where a source states it, dashed where
only the reasoner infers it. The SVG is built with ElementTree, which escapes every label it writes, and styled
by the classes of the stylesheet (``static/collabkg.css``: no inline style, for a strict Content-Security-Policy);
the boxes carry their colours as presentation attributes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rdflib import URIRef

SVG_NS = "http://www.w3.org/2000/svg"

#: Rows of the map, top to bottom: (orientation as model-map.rq gives it, row title).
ROWS: tuple[tuple[str | None, str], ...] = (
    ("structural", "Structural models"),
    ("process", "Process models"),
    (None, "Not classified"),
)
COLUMN_WIDTH = 150
ROW_HEIGHT = 130
LEFT = 130
TOP = 60
NODE_WIDTH = 132
NODE_HEIGHT = 40
COLOURS = {"structural": "#d9e8f5", "process": "#fbe3c8", None: "#ececec"}


@dataclass(frozen=True)
class MapModel:
    """A model on the map: its rank on the scale of complexity (``None``: no scale) and orientation."""

    iri: URIRef
    label: str
    rank: int | None
    orientation: str | None


@dataclass(frozen=True)
class Combination:
    """Two models used together; ``asserted`` when a source says so, else inferred by the reasoner."""

    first: URIRef
    second: URIRef
    asserted: bool


def _layout(models: Sequence[MapModel]) -> dict[URIRef, tuple[float, float]]:
    """The centre of each model: ranked models in their rank's column, unranked ones after the last column."""
    last_rank = max((m.rank for m in models if m.rank is not None), default=0)
    unranked_column: dict[str | None, int] = {}
    centres: dict[URIRef, tuple[float, float]] = {}
    for model in models:
        row = next(i for i, (orientation, _) in enumerate(ROWS) if orientation == model.orientation)
        if model.rank is not None:
            column = model.rank - 1
        else:
            column = unranked_column.get(model.orientation, 0)
            unranked_column[model.orientation] = column + 1
            column += last_rank if model.orientation is not None else 0
        centres[model.iri] = (LEFT + column * COLUMN_WIDTH + NODE_WIDTH / 2, TOP + row * ROW_HEIGHT + 40)
    return centres


def _wrap(label: str, width: int = 20) -> list[str]:
    """The label in at most two lines that fit a box."""
    words, lines = label.split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width and len(lines) < 2:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    return lines


def render_model_map(
    models: Sequence[MapModel],
    combinations: Sequence[Combination],
    href: Callable[[URIRef], str],
    highlight: URIRef | None = None,
) -> str:
    """The map as an SVG document (a string to inline in a page).

    :param href: the link of a model's page on this server.
    :param highlight: a model drawn emphasized, with its own combinations (on that model's page).
    """
    centres = _layout(models)
    columns = max((int((x - LEFT) // COLUMN_WIDTH) + 1 for x, _ in centres.values()), default=1)
    width, height = LEFT + columns * COLUMN_WIDTH + 20, TOP + len(ROWS) * ROW_HEIGHT + 40
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            # A group, not an image: its models are links, which an image would hide from assistive technology.
            "role": "group",
            "aria-labelledby": "model-map-title",
            "class": "model-map",
        },
    )
    ET.SubElement(svg, "title", id="model-map-title").text = (
        "Collaboration models by complexity (left: simplest), structural and process-oriented; "
        "solid arcs: combinations the sources state, dashed: inferred"
    )
    for row, (orientation, title) in enumerate(ROWS):
        row_y = TOP + row * ROW_HEIGHT + 40
        ET.SubElement(svg, "text", {"x": "8", "y": str(row_y + 4), "class": "row-title"}).text = title
        ET.SubElement(
            svg,
            "line",
            x1=str(LEFT - 10),
            y1=str(row_y),
            x2=str(width - 10),
            y2=str(row_y),
            stroke=COLOURS[orientation],
        )
    ET.SubElement(
        svg, "text", x=str(LEFT), y="24"
    ).text = "less complex  →  more complex (Andersson et al. 2011)"
    legend = (("asserted", "combined, as a source states"), ("inferred", "combined, inferred only"))
    for index, (kind, text) in enumerate(legend):
        legend_x = LEFT + 420 + index * 260
        ET.SubElement(svg, "path", {"d": f"M {legend_x} 20 h 36", "class": kind})
        ET.SubElement(svg, "text", x=str(legend_x + 44), y="24").text = text
    for combination in combinations:
        if combination.first not in centres or combination.second not in centres:
            continue
        (x1, y1), (x2, y2) = centres[combination.first], centres[combination.second]
        lift = 28 + abs(x2 - x1) / 6
        curve = (
            f"M {x1:.0f} {y1 - NODE_HEIGHT / 2:.0f} "
            f"Q {(x1 + x2) / 2:.0f} {min(y1, y2) - NODE_HEIGHT / 2 - lift:.0f} {x2:.0f} {y2 - NODE_HEIGHT / 2:.0f}"
        )
        path = ET.SubElement(
            svg, "path", {"d": curve, "class": "asserted" if combination.asserted else "inferred"}
        )
        ET.SubElement(path, "title").text = "stated by a source" if combination.asserted else "inferred"
    by_iri = {model.iri: model for model in models}
    for iri, (x, y) in centres.items():
        model = by_iri[iri]
        link = ET.SubElement(
            svg,
            "a",
            {
                "href": href(iri),
                "class": "model highlight" if iri == highlight else "model",
                "data-model": str(iri),
            },
        )
        ET.SubElement(
            link,
            "rect",
            x=f"{x - NODE_WIDTH / 2:.0f}",
            y=f"{y - NODE_HEIGHT / 2:.0f}",
            width=str(NODE_WIDTH),
            height=str(NODE_HEIGHT),
            rx="6",
            fill=COLOURS[model.orientation],
            stroke="#555",
        )
        lines = _wrap(model.label)
        for index, line in enumerate(lines):
            ET.SubElement(
                link,
                "text",
                {
                    "x": f"{x:.0f}",
                    "y": f"{y + 4 + (index - (len(lines) - 1) / 2) * 14:.0f}",
                    "text-anchor": "middle",
                },
            ).text = line
    return ET.tostring(svg, encoding="unicode")
