"""The evidence map (``/map``: SVG in a page, CSV, JSON; on the landing page), over the real built graph, its
counts checked against the graph read independently, and over a small graph whose every cell is known."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest
from collabkg.namespaces import CITO, CK, ID
from collabkg.store.base import DatasetSource
from collabkg.web import create_app, evidencemap
from conftest import ROOT, evidence_client
from flask import Flask
from flask.testing import FlaskClient
from rdflib import RDF, Dataset, URIRef

HTML = {"Accept": "text/html"}
R, S = ID["study/r-2020"], ID["study/s-2021"]


@pytest.fixture
def client(built_app: Flask) -> FlaskClient:
    return built_app.test_client()


@pytest.fixture(scope="module")
def small() -> FlaskClient:
    return evidence_client("https://kg.example.org")


def table(client: FlaskClient) -> list[dict[str, str]]:
    response = client.get("/map?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.text)))


def independent_counts(served: Dataset) -> dict[tuple[str, str, str], tuple[int, int]]:
    """Findings and distinct references per (row, review, polarity), by walking the graph in Python."""
    findings: dict[tuple[str, str, str], set[URIRef]] = defaultdict(set)
    references: dict[tuple[str, str, str], set[URIRef]] = defaultdict(set)
    for finding in set(served.subjects(RDF.type, CK.Finding)):
        review, polarity = served.value(finding, CK.reportedIn), served.value(finding, CK.polarity)
        cited = {
            r for p in (CITO.citesAsEvidence, CITO.citesForInformation) for r in served.objects(finding, p)
        }
        rows = {*served.objects(finding, CK.aboutDeterminant), *served.objects(finding, CK.concernsModel)}
        for row in rows:
            key = (str(row), str(review), str(polarity))
            findings[key].add(finding)
            references[key] |= cited
    return {key: (len(found), len(references[key])) for key, found in findings.items()}


# --- The real graph ------------------------------------------------------------------------------------------


def test_every_cell_counts_what_the_graph_holds(client: FlaskClient, served: Dataset) -> None:
    records = table(client)
    expected = independent_counts(served)
    determinants = set(served.subjects(RDF.type, CK.Determinant))
    reviews = set(served.subjects(RDF.type, CK.Review))
    polarities = set(served.subjects(RDF.type, CK.Polarity))
    assert len(records) == len({r["row"] for r in records}) * len(reviews) * len(polarities)
    assert {URIRef(r["row"]) for r in records if r["row_kind"] == "determinant"} == determinants
    for record in records:
        key = (record["row"], record["review"], record["polarity"])
        assert (int(record["findings"]), int(record["references"])) == expected.get(key, (0, 0)), key
    assert sum(int(r["findings"]) for r in records) == sum(found for found, _ in expected.values())
    assert any(int(r["findings"]) == 0 for r in records)  # the map has gaps, and shows them


def test_a_cell_links_to_exactly_its_findings(client: FlaskClient) -> None:
    records = [r for r in table(client) if int(r["findings"])]
    assert records
    for record in records[:12]:
        url = record["findings_url"]
        path, _, anchor = url.removeprefix("http://localhost").partition("#")
        page = client.get(path).text
        section = page[page.index(f'<h4 id="{anchor}">') :]
        section = section[: section.index("</ul>")]
        assert section.count('<a class="finding-title"') == int(record["findings"]), url


def test_the_json_is_the_same_table(client: FlaskClient) -> None:
    data = client.get("/map", headers={"Accept": "application/json"}).get_json()
    flat = {
        (row["iri"], cell["review"], cell["polarity"]): (cell["findings"], cell["references"])
        for row in data["rows"]
        for cell in row["cells"]
    }
    assert flat == {
        (r["row"], r["review"], r["polarity"]): (int(r["findings"]), int(r["references"]))
        for r in table(client)
    }
    assert [p["label"] for p in data["polarities"]] == ["barrier", "facilitator", "barrier and facilitator"]
    assert all(row["findings"] == sum(cell["findings"] for cell in row["cells"]) for row in data["rows"])


class _Cells(HTMLParser):
    """The cells of the evidence map's SVG: their data attributes and the classes of their rectangles."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if (found.get("class") or "").startswith("map-cell"):
            self.cells.append(found)
        elif tag == "rect" and self.cells and "rect" not in self.cells[-1]:
            self.cells[-1]["rect"] = found.get("class")


def test_the_page_draws_every_cell_shaded_by_count_and_gaps_hatched(client: FlaskClient) -> None:
    page = client.get("/map", headers=HTML)
    assert page.status_code == 200 and '<svg xmlns="http://www.w3.org/2000/svg"' in page.text
    parser = _Cells()
    parser.feed(page.text[page.text.index("<svg") : page.text.index("</svg>")])
    records = {(r["row"], r["review"], r["polarity"]): r for r in table(client)}
    assert len(parser.cells) == len(records)
    for cell in parser.cells:
        record = records[(cell["data-row"], cell["data-review"], cell["data-polarity"])]
        assert cell["data-findings"] == record["findings"]
        if record["findings"] == "0":
            assert cell["rect"] == "cell gap" and "href" not in cell
        else:
            assert re.fullmatch(r"cell level-[1-5]", cell["rect"] or "")
            assert cell["href"] == record["findings_url"].removeprefix("http://localhost")
    most = max(int(r["findings"]) for r in records.values())
    assert any(c["rect"] == "cell level-5" and c["data-findings"] == str(most) for c in parser.cells)
    assert 'style="' not in page.text and "<style" not in page.text


def test_the_landing_page_shows_the_map(client: FlaskClient) -> None:
    page = client.get("/", headers=HTML).text
    assert 'class="evidence-map"' in page and 'href="/map"' in page


# --- A graph whose cells are known ---------------------------------------------------------------------------


def test_a_small_graph_s_cells_gaps_and_model_rows(small: FlaskClient) -> None:
    filled = {
        (r["row"].rsplit("/", 1)[-1], r["review"].rsplit("/", 1)[-1], r["polarity"].rsplit("#", 1)[-1]): (
            int(r["findings"]),
            int(r["references"]),
        )
        for r in table(small)
        if int(r["findings"])
    }
    assert filled == {
        ("trust", "r-2020", "barrier"): (1, 2),
        ("trust", "r-2020", "facilitator"): (1, 1),
        ("trust", "s-2021", "barrier"): (1, 1),
        ("reunions", "s-2021", "barrier"): (1, 1),
        ("reunions", "s-2021", "twoSided"): (1, 0),
        ("m1", "r-2020", "facilitator"): (1, 1),
    }
    records = table(small)
    rows = [(r["row_kind"], r["row_label"]) for r in records[:: len(records) // 4]]
    # Determinants by label, then the models that findings concern (model two has none: no row).
    assert rows == [
        ("determinant", "Lonely determinant"),
        ("determinant", "Réunions de coordination"),
        ("determinant", "Trust"),
        ("model", "Model one"),
    ]
    assert len(records) == 4 * 2 * 3 and sum(int(r["findings"]) == 0 for r in records) == 18
    assert all(
        r["findings_url"].startswith("https://kg.example.org/page/") for r in records if int(r["findings"])
    )
    page = small.get("/map", headers=HTML).text
    assert "18 of 24 cells are gaps" in page and ">Models</text>" in page


def test_a_model_s_page_groups_its_findings_as_the_map_links_them(small: FlaskClient) -> None:
    [record] = [r for r in table(small) if r["row"].endswith("/m1") and int(r["findings"])]
    path, _, anchor = record["findings_url"].removeprefix("https://kg.example.org").partition("#")
    assert (path, anchor) == ("/page/model/m1", "facilitator-r-2020")
    page = small.get(path).text
    assert f'<h4 id="{anchor}">Review R 2020 (1)</h4>' in page
    assert page.index('id="facilitator"') < page.index('id="other-claims"')


# --- Past what a page draws ----------------------------------------------------------------------------------


def test_a_map_past_the_cells_drawn_lists_only_the_cells_with_findings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A map of more cells than :data:`DRAWN_CELLS` is neither drawn nor tabulated cell by cell (a generated
    graph of a million triples has 9.5 million: the page held a worker for minutes and 6 GB): the page and the
    landing page say how large it is, and the CSV and JSON list exactly the cells that hold findings."""
    whole = table(evidence_client())
    assert any(record["findings"] == "0" for record in whole)  # the small graph has gaps to leave out
    monkeypatch.setattr(evidencemap, "DRAWN_CELLS", 3)
    client = evidence_client()

    assert table(client) == [record for record in whole if record["findings"] != "0"]
    data = client.get("/map?format=json").get_json()
    assert data["gaps_listed"] is False
    assert [c["findings"] for row in data["rows"] for c in row["cells"]] == [
        int(record["findings"]) for record in whole if record["findings"] != "0"
    ]
    page = " ".join(client.get("/map", headers=HTML).text.split())
    gaps = sum(record["findings"] == "0" for record in whole)
    assert "<svg" not in page and "map-table" not in page
    assert "cells, more than this page draws (3)" in page and f"the other {gaps} are gaps" in page
    landing = " ".join(client.get("/", headers=HTML).text.split())
    assert 'class="evidence-map"' not in landing and "too many to draw here" in landing


def test_the_map_is_never_cut_at_the_row_limit_of_a_client_s_answer(built_dataset: Path) -> None:
    """The map's queries read the whole graph: their rows are not cut at ``RESULT_LIMIT`` (at a million
    triples 10,000 of the map's 17,750 cells were drawn, without a word)."""
    config = {"TESTING": True, "PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]}
    whole = table(create_app(config).test_client())
    assert len(whole) > 3
    assert table(create_app({**config, "RESULT_LIMIT": 3}).test_client()) == whole
