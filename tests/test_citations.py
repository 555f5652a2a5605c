"""Citation exports and page metadata, read back with a real parser for each format.

Most tests run against the real built graph (Andersson 2011, Cameron 2000); the escaping and reference tests
against ``tests/data/citations.ttl``, whose review title tries to break out of HTML, JSON and BibTeX.
"""

from __future__ import annotations

import json
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import bibtexparser
import pytest
import rispy
from click.testing import CliRunner
from collabkg.cli import main
from collabkg.store.base import DatasetSource
from collabkg.web import create_app
from conftest import ROOT
from flask import Flask
from flask.testing import FlaskClient
from pyparsing import PyparsingDiagnosticWarning

TITLE = "Organizational approaches to collaboration in vocational rehabilitation—an international literature review"
AUTHORS = ["Andersson, J.", "Ahgren, B.", "Bihari Axelsson, S.", "Eriksson, A.", "Axelsson, R."]
JOURNAL = "International Journal of Integrated Care"
APA_ANDERSSON = (
    "Andersson, J., Ahgren, B., Bihari Axelsson, S., Eriksson, A., & Axelsson, R. (2011). "
    f"{TITLE}. {JOURNAL}, 11, Article e137."
)
HOSTILE_TITLE = "Joint work <script>alert('x')</script></script><b>bold</b> & 100% \"done\""


@pytest.fixture(scope="module")
def client(built_app: Flask) -> FlaskClient:
    """The real graph: citations only read it, so the session's app serves the module."""
    return built_app.test_client()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    app: Flask = create_app(
        {
            "PROJECT_ROOT": str(ROOT),
            "DATASET_FILES": [DatasetSource(Path(__file__).parent / "data" / "citations.ttl")],
        }
    )
    return app.test_client()


def get(client: FlaskClient, path: str, **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def parse_bibtex(text: str) -> list[dict[str, str]]:
    """bibtexparser 1.x's grammar trips a pyparsing diagnostic on construction; that is the parser's business."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PyparsingDiagnosticWarning)
        return bibtexparser.loads(text).entries


class PageMetadata(HTMLParser):
    """What reference managers read from a page: meta tags, COinS spans, JSON-LD scripts (raw and parsed)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.meta: list[tuple[str, str]] = []
        self.coins: list[dict[str, list[str]]] = []
        self.json_ld_raw: list[str] = []
        self._in_json_ld = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("name"):
            self.meta.append((found["name"] or "", found.get("content") or ""))
        elif tag == "span" and found.get("class") == "Z3988":
            self.coins.append(parse_qs(found.get("title") or "", strict_parsing=True))
        elif tag == "script" and found.get("type") == "application/ld+json":
            self._in_json_ld = True
            self.json_ld_raw.append("")

    def handle_data(self, data: str) -> None:
        if self._in_json_ld:
            self.json_ld_raw[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json_ld = False

    @property
    def json_ld(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.json_ld_raw]

    def values(self, name: str) -> list[str]:
        return [content for meta_name, content in self.meta if meta_name == name]


# --- Exports of the real graph ------------------------------------------------------------------------------


def test_bibtex_of_a_trail_parses_to_the_review(client: FlaskClient) -> None:
    response = client.get("/trail/model/partnership/cite?format=bibtex")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=model-partnership.bib"
    [entry] = parse_bibtex(response.get_data(as_text=True))
    assert entry["ENTRYTYPE"] == "article"
    assert entry["ID"] == "andersson-2011"
    assert entry["title"] == TITLE
    assert (
        entry["author"]
        == "Andersson, J. and Ahgren, B. and Bihari Axelsson, S. and Eriksson, A. and Axelsson, R."
    )
    assert entry["journal"] == JOURNAL
    assert (entry["volume"], entry["pages"], entry["year"], entry["month"]) == ("11", "e137", "2011", "11")
    assert (entry["issn"], entry["pmcid"]) == ("1568-4156", "PMC3225240")


def test_bibtex_of_the_bristol_report(client: FlaskClient) -> None:
    [entry] = parse_bibtex(get(client, "/trail/study/cameron-2000/cite?format=bib"))
    assert entry["ENTRYTYPE"] == "techreport"
    assert entry["institution"] == "University of Bristol"
    assert entry["year"] == "2000"
    assert "month" not in entry and "journal" not in entry
    assert entry["author"].split(" and ") == [
        "Cameron, A.",
        "Lart, R.",
        "Harrison, L.",
        "Macdonald, G.",
        "Smith, R.",
    ]


def test_ris_of_a_trail(client: FlaskClient) -> None:
    response = client.get(
        "/trail/determinant/trust/cite", headers={"Accept": "application/x-research-info-systems"}
    )
    assert response.headers["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=determinant-trust.ris"
    text = response.get_data(as_text=True)
    assert text.startswith("TY  - JOUR\n")
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("AU  - ")] == [f"AU  - {name}" for name in AUTHORS]
    assert f"JO  - {JOURNAL}" in lines
    [record] = rispy.loads(text)
    assert record["type_of_reference"] == "JOUR"
    assert record["authors"] == AUTHORS
    assert record["title"] == TITLE
    assert (record["year"], record["date"], record["volume"], record["start_page"]) == (
        "2011",
        "2011/11/18",
        "11",
        "e137",
    )
    assert record["journal_name"] == JOURNAL
    assert record["issn"] == "1568-4156"


def test_ris_of_the_bristol_report(client: FlaskClient) -> None:
    [record] = rispy.loads(get(client, "/trail/study/cameron-2000/cite?format=ris"))
    assert record["type_of_reference"] == "RPRT"
    assert (record["publisher"], record["year"]) == ("University of Bristol", "2000")
    assert "journal_name" not in record


def test_csl_json_of_a_review(client: FlaskClient) -> None:
    response = client.get(
        "/trail/study/andersson-2011/cite", headers={"Accept": "application/vnd.citationstyles.csl+json"}
    )
    assert response.headers["Content-Type"] == "application/vnd.citationstyles.csl+json; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=study-andersson-2011.json"
    [item] = json.loads(response.get_data(as_text=True))
    assert item["type"] == "article-journal"
    assert item["issued"] == {"date-parts": [[2011, 11, 18]]}
    assert item["title"] == TITLE
    assert item["author"][2] == {"family": "Bihari Axelsson", "given": "S."}
    assert len(item["author"]) == 5
    assert (item["container-title"], item["volume"], item["number"]) == (JOURNAL, "11", "e137")
    assert (item["ISSN"], item["PMCID"]) == ("1568-4156", "PMC3225240")


def test_csl_json_exports_no_reference_known_by_number_only(client: FlaskClient) -> None:
    """The partnership trail cites [34] and [42]; the data knows nothing of them but their numbers."""
    items = json.loads(get(client, "/trail/model/partnership/cite?format=csl-json"))
    assert [item["id"] for item in items] == ["andersson-2011"]


@pytest.mark.parametrize("accept", ["text/x-bibliography", "text/plain"])
def test_apa_reference(client: FlaskClient, accept: str) -> None:
    response = client.get("/trail/model/partnership/cite", headers={"Accept": accept})
    assert response.headers["Content-Type"] == f"{accept}; charset=utf-8"
    assert response.headers["Content-Disposition"] == "inline; filename=model-partnership.txt"
    text = response.get_data(as_text=True)
    assert "Andersson, J., Ahgren, B.," in text and JOURNAL in text and ", 11," in text
    assert text == APA_ANDERSSON + "\n"


def test_apa_reference_of_the_bristol_report(client: FlaskClient) -> None:
    assert get(client, "/trail/study/cameron-2000/cite?format=apa") == (
        "Cameron, A., Lart, R., Harrison, L., Macdonald, G., & Smith, R. (2000). Factors promoting and "
        "obstacles hindering joint working: a systematic review. University of Bristol.\n"
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/trail/model/no-such-model/cite", 404),
        ("/trail/study/no-such-review/cite", 404),
        ("/trail/country/se/cite", 404),
        ("/trail/model/partnership/cite?format=docx", 406),
    ],
)
def test_cite_errors(client: FlaskClient, path: str, status: int) -> None:
    assert client.get(path).status_code == status


def test_cite_refuses_an_unacceptable_accept_header(client: FlaskClient) -> None:
    response = client.get("/trail/model/partnership/cite", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/x-bibtex" in response.get_data(as_text=True)


# --- Page metadata of the real graph ------------------------------------------------------------------------


def test_trail_page_meta_tags_describe_the_review(client: FlaskClient) -> None:
    page = PageMetadata(get(client, "/trail/determinant/trust"))
    assert page.values("citation_title") == [TITLE]
    assert page.values("citation_author") == AUTHORS
    assert page.values("citation_journal_title") == [JOURNAL]
    assert page.values("citation_volume") == ["11"]
    assert page.values("citation_firstpage") == ["e137"]
    assert page.values("citation_publication_date") == ["2011/11/18"]
    assert page.values("citation_issn") == ["1568-4156"]
    assert page.values("citation_pmcid") == ["PMC3225240"]
    assert page.values("citation_publisher") == []


def test_trail_page_coins_is_an_openurl_context_object(client: FlaskClient) -> None:
    [coins] = PageMetadata(get(client, "/trail/model/partnership")).coins
    assert coins["ctx_ver"] == ["Z39.88-2004"]
    assert coins["rft_val_fmt"] == ["info:ofi/fmt:kev:mtx:journal"]
    assert coins["rft.genre"] == ["article"]
    assert coins["rft.atitle"] == [TITLE]
    assert coins["rft.jtitle"] == [JOURNAL]
    assert coins["rft.volume"] == ["11"]
    assert coins["rft.artnum"] == ["e137"]
    assert coins["rft.date"] == ["2011-11-18"]
    assert coins["rft.au"] == AUTHORS
    assert coins["rft_id"] == ["URN:NBN:NL:UI:10-1-101654"]


def test_trail_page_json_ld_is_a_scholarly_article(client: FlaskClient) -> None:
    [article] = PageMetadata(get(client, "/trail/model/partnership")).json_ld
    assert article["@context"] == "https://schema.org"
    assert article["@type"] == "ScholarlyArticle"
    assert article["@id"] == "https://w3id.org/collabkg/id/study/andersson-2011"
    assert article["name"] == TITLE
    assert [author["name"] for author in article["author"]] == AUTHORS
    assert article["datePublished"] == "2011-11-18"
    assert article["isPartOf"] == {
        "@type": "PublicationVolume",
        "volumeNumber": "11",
        "isPartOf": {"@type": "Periodical", "name": JOURNAL, "issn": "1568-4156"},
    }
    assert {(i["propertyID"], i["value"]) for i in article["identifier"]} == {
        ("PMCID", "PMC3225240"),
        ("URN", "URN:NBN:NL:UI:10-1-101654"),
    }


def test_trail_page_of_the_bristol_report(client: FlaskClient) -> None:
    page = PageMetadata(get(client, "/trail/finding/cameron-2000-facilitator-1"))
    assert page.values("citation_publisher") == ["University of Bristol"]
    assert page.values("citation_technical_report_institution") == ["University of Bristol"]
    assert page.values("citation_publication_date") == ["2000"]
    assert page.values("citation_journal_title") == []
    [coins] = page.coins
    assert (coins["rft_val_fmt"], coins["rft.genre"]) == (["info:ofi/fmt:kev:mtx:book"], ["report"])
    assert coins["rft.btitle"] == [
        "Factors promoting and obstacles hindering joint working: a systematic review"
    ]
    assert coins["rft.pub"] == ["University of Bristol"]
    [report] = page.json_ld
    assert report["@type"] == "Report"
    assert report["publisher"] == {"@type": "Organization", "name": "University of Bristol"}
    assert report["datePublished"] == "2000"


def test_trail_page_cite_block_links_every_export(client: FlaskClient) -> None:
    page = get(client, "/trail/model/partnership")
    cite = page[page.index('<section id="cite">') :]
    assert APA_ANDERSSON.replace("&", "&amp;") in cite
    for name in ("apa", "bibtex", "ris", "csl-json"):
        link = f"/trail/model/partnership/cite?format={name}"
        assert f'href="{link}"' in cite
        assert client.get(link).status_code == 200


# --- The command line ---------------------------------------------------------------------------------------


def test_cli_cites_a_trail_in_bibtex(built_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    result = CliRunner().invoke(
        main, ["--root", str(ROOT), "cite", "model:partnership", "--format", "bibtex"]
    )
    assert result.exit_code == 0, result.output
    [entry] = parse_bibtex(result.output)
    assert (entry["ID"], entry["title"], entry["volume"]) == ("andersson-2011", TITLE, "11")


def test_cli_cites_a_review_in_apa_by_default(built_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    result = CliRunner().invoke(main, ["--root", str(ROOT), "cite", "study:andersson-2011"])
    assert result.exit_code == 0, result.output
    assert result.output == APA_ANDERSSON + "\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cite", "country:se"], "KIND one of finding, claim, model, determinant, study"),
        (["cite", "model:partnership", "--format", "docx"], "one of apa, bibtex, ris, csl-json"),
    ],
)
def test_cli_refuses_bad_arguments(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["--root", str(ROOT), *args])
    assert result.exit_code == 2
    assert message in result.output


# --- Escaping, and references the data describes (tests/data/citations.ttl) ---------------------------------


def test_hostile_title_is_escaped_in_the_page(hostile: FlaskClient) -> None:
    raw = get(hostile, "/trail/model/test")
    assert "<script>alert" not in raw and "<b>bold" not in raw and "<i>Tests" not in raw
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in raw
    page = PageMetadata(raw)
    # Every <script> of the page is the JSON-LD block: the title opened none and closed none.
    assert raw.count("<script") == 1 and raw.count("</script>") == 1
    assert page.values("citation_title") == [HOSTILE_TITLE]
    assert page.values("citation_author") == ["O'Brien, M."]
    assert page.values("citation_journal_title") == ["Journal of <i>Tests</i>"]
    [json_ld] = page.json_ld
    assert "<" not in page.json_ld_raw[0] and "&" not in page.json_ld_raw[0]
    assert json_ld["name"] == HOSTILE_TITLE
    assert json_ld["isPartOf"]["isPartOf"]["name"] == "Journal of <i>Tests</i>"
    article, book = page.coins
    assert article["rft.atitle"] == [HOSTILE_TITLE]
    assert article["rft.jtitle"] == ["Journal of <i>Tests</i>"]
    assert (book["rft.genre"], book["rft.btitle"]) == (["book"], ["A book the review cites"])


def test_hostile_title_in_bibtex_is_escaped_for_tex(hostile: FlaskClient) -> None:
    review, book = parse_bibtex(get(hostile, "/trail/model/test/cite?format=bibtex"))
    assert review["title"] == HOSTILE_TITLE.replace("&", r"\&").replace("%", r"\%")
    assert review["author"] == "O'Brien, M."
    assert (book["ENTRYTYPE"], book["ID"]) == ("book", "hostile-2020-ref-1")
    assert (book["author"], book["publisher"], book["year"]) == ("Smith, J. A.", "Test Press", "1999")


def test_a_trail_exports_the_references_it_cites_that_the_data_describes(hostile: FlaskClient) -> None:
    """[1] is described and cited; [2] is cited but known by number only; [3] is described but not cited."""
    review, book = json.loads(get(hostile, "/trail/model/test/cite?format=csl-json"))
    assert review["title"] == HOSTILE_TITLE
    assert book == {
        "id": "hostile-2020-ref-1",
        "type": "book",
        "title": "A book the review cites",
        "publisher": "Test Press",
        "author": [{"family": "Smith", "given": "J. A."}],
        "issued": {"date-parts": [[1999]]},
    }
    [record] = [
        r for r in rispy.loads(get(hostile, "/trail/model/test/cite?format=ris")) if r["id"] == book["id"]
    ]
    assert record["type_of_reference"] == "BOOK"


def test_a_review_cites_as_itself_alone(hostile: FlaskClient) -> None:
    items = json.loads(get(hostile, "/trail/study/hostile-2020/cite?format=csl-json"))
    assert [item["id"] for item in items] == ["hostile-2020"]


def test_a_page_resting_on_two_reviews_has_no_highwire_tags(hostile: FlaskClient) -> None:
    """Highwire tags describe one work; two reviews' tags would merge into one wrong item in Zotero."""
    page = PageMetadata(get(hostile, "/trail/model/shared"))
    assert [name for name, _ in page.meta if name.startswith("citation_")] == []
    assert sorted(node["@type"] for node in page.json_ld) == ["Report", "ScholarlyArticle"]
    assert sorted(coins["rft.genre"][0] for coins in page.coins) == ["article", "report"]
