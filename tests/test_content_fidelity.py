"""Content fidelity: every quote in data/ stands in the seed text, and cites exactly the numbers printed there.

The seeds are the PDF text of the reviews, with hyphenation and line breaks, and with the two-column layout partly
out of order (a page break can cut a sentence and put another paragraph in between). A quote therefore has to be
found as a sequence of long verbatim pieces of the seed (each at least ``MIN_PIECE`` characters), not as one string.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
CK = Namespace("https://w3id.org/collabkg/vocab#")
CITO = Namespace("http://purl.org/spar/cito/")
SOURCES = {
    "andersson-2011": "000_1cad8cfe546b9663.txt",
    "cameron-2000": "001_fef2b4b17f153901.txt",
}
#: Shortest verbatim piece a quote may be cut into (shorter ones could match anywhere).
MIN_PIECE = 12
CITATION = re.compile(r"\[(\d+(?:\s*[–-]\s*\d+)?(?:\s*,\s*\d+(?:\s*[–-]\s*\d+)?)*)\]")


def normalize(text: str) -> str:
    """Undo the PDF extraction: collapse whitespace, unify quote marks."""
    text = text.replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", text).strip()


def dehyphenate(text: str) -> str:
    """The seed text twice: line-end hyphens removed ("collabo-|ration") and kept ("one-|sided").

    The two versions are separated by a character no quote contains, so a piece matches within one of them.
    """
    joined = re.sub(r"-[ \t]*\n\s*", "", text)
    kept = re.sub(r"-[ \t]*\n\s*", "-", text)
    return normalize(joined) + " \x00 " + normalize(kept)


def cited_numbers(text: str) -> set[int]:
    """The reference numbers in square brackets, with ranges such as [3–6] expanded."""
    numbers: set[int] = set()
    for group in CITATION.findall(text):
        for part in group.split(","):
            low, _, high = re.sub(r"\s*[–-]\s*", "-", part.strip()).partition("-")
            numbers.update(range(int(low), int(high or low) + 1))
    return numbers


def covered(quote: str, source: str) -> bool:
    """Whether ``quote`` is a run of verbatim pieces of ``source``, each of at least MIN_PIECE characters."""
    position = 0
    while position < len(quote):
        length = MIN_PIECE
        if quote[position : position + length] not in source and len(quote) - position >= MIN_PIECE:
            return False
        while position + length < len(quote) and quote[position : position + length + 1] in source:
            length += 1
        if len(quote) - position < MIN_PIECE:
            return quote[position:] in source
        position += length
        while position < len(quote) and quote[position] == " ":
            position += 1
    return True


@pytest.fixture(scope="module")
def data() -> Graph:
    g = Graph()
    for file in sorted((ROOT / "data").glob("*.ttl")):
        g.parse(file)
    return g


@pytest.fixture(scope="module")
def seeds() -> dict[URIRef, str]:
    if not SEEDS.is_dir():
        pytest.skip(f"the seed texts are not at {SEEDS}")
    return {
        URIRef(f"https://w3id.org/collabkg/id/study/{slug}"): dehyphenate(
            (SEEDS / name).read_text(encoding="utf-8")
        )
        for slug, name in SOURCES.items()
    }


def claims(data: Graph) -> list[tuple[URIRef, URIRef, str]]:
    return sorted(
        (claim, data.value(claim, CK.reportedIn), str(quote))
        for claim, quote in data.subject_objects(CK.quote)
    )


def test_cited_numbers_expand_ranges() -> None:
    assert cited_numbers("as [3–6] and [14, 26, 37] and [1]") == {1, 3, 4, 5, 6, 14, 26, 37}


def test_covered_rejects_text_not_in_the_source() -> None:
    source = dehyphenate(
        "Trust is regarded mainly as a facilitator of collabo-\nration [49, 53], one-\nsided."
    )
    assert covered("Trust is regarded mainly as a facilitator of collaboration [49, 53], one-sided.", source)
    assert not covered("Trust is regarded mainly as a barrier to collaboration [49, 53].", source)


def test_every_quote_stands_in_its_source(data: Graph, seeds: dict[URIRef, str]) -> None:
    missing = []
    for claim, source, quote in claims(data):
        for piece in normalize(quote).replace("It [the common ground]", "It").split("[...]"):
            if piece.strip() and not covered(piece.strip(), seeds[source]):
                missing.append(f"{claim}: {piece.strip()[:80]}")
    assert missing == []


def test_every_claim_cites_exactly_the_numbers_its_quote_prints(data: Graph) -> None:
    wrong = []
    for claim, _source, quote in claims(data):
        cited = {
            data.value(ref, CK.referenceNumber).toPython()
            for prop in (CITO.citesAsEvidence, CITO.citesForInformation)
            for ref in data.objects(claim, prop)
        }
        if cited != cited_numbers(quote):
            wrong.append((str(claim), sorted(cited), sorted(cited_numbers(quote))))
    assert wrong == []


def test_every_numbered_reference_of_andersson_is_cited_somewhere(
    data: Graph, seeds: dict[URIRef, str]
) -> None:
    review = URIRef("https://w3id.org/collabkg/id/study/andersson-2011")
    in_text = cited_numbers(seeds[review])
    in_data = {
        data.value(ref, CK.referenceNumber).toPython()
        for prop in (CITO.citesAsEvidence, CITO.citesForInformation)
        for ref in data.objects(None, prop)
    }
    assert in_text == set(range(1, 73))
    assert in_data == in_text


def test_no_reference_has_invented_bibliographic_details(data: Graph) -> None:
    # The seed holds no reference list: a reference is its number and nothing else until one is transcribed.
    for ref in data.subjects(CK.inReferenceListOf, None):
        predicates = {p for p, _ in data.predicate_objects(ref)}
        assert predicates <= {
            URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
            CK.referenceNumber,
            CK.inReferenceListOf,
        }, ref


def test_numbers_of_the_sources_are_in_the_data(data: Graph, seeds: dict[URIRef, str]) -> None:
    andersson = seeds[URIRef("https://w3id.org/collabkg/id/study/andersson-2011")]
    cameron = seeds[URIRef("https://w3id.org/collabkg/id/study/cameron-2000")]
    for number in ("13,132", "1005", "205", "62"):
        assert number in andersson
    for number in ("32 studies", "38 papers"):
        assert number in cameron
    counts = {o.toPython() for o in data.objects(None, CK.recordCount)}
    assert counts == {13132, 1005, 205, 62}
    assert Literal(32) in set(data.objects(None, CK.includedStudyCount))
