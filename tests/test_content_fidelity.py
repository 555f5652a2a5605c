"""Content fidelity: every quote in data/ stands in the seed text, in the section its claim names, cites exactly the
numbers printed there, and says it no more firmly than the seed does.

The seeds are the PDF text of the reviews, with hyphenation and line breaks, and with the two-column layout partly
out of order (a page break can cut a sentence and put another paragraph in between). A quote therefore has to be
found as a sequence of long verbatim pieces of the seed (each at least ``MIN_PIECE`` characters), not as one string.

Hedges: a quote that prints "may", "might", "could", "seem", "mainly", "often", "implicit" or "hypothetical" makes
its claim, and every link the claim supports, weaker than ck:stated, with those words recorded (ck:hedge); the
strength of a claim or link is the weakest of its hedge words (``HEDGE_STRENGTH``).
"""

from __future__ import annotations

import re

import pytest
from collabkg.namespaces import CITO, CK
from conftest import ROOT
from rdflib import RDF, RDFS, Graph, Literal, URIRef

SEEDS = ROOT.parent / "shared" / "seeds"
SOURCES = {
    "andersson-2011": "000_1cad8cfe546b9663.txt",
    "cameron-2000": "001_fef2b4b17f153901.txt",
}
#: Shortest verbatim piece a quote may be cut into (shorter ones could match anywhere).
MIN_PIECE = 12
CITATION = re.compile(r"\[(\d+(?:\s*[–-]\s*\d+)?(?:\s*,\s*\d+(?:\s*[–-]\s*\d+)?)*)\]")

#: Words a quote may not print without its claim (and the claim's links) being hedged: issue 14's list, and "might".
#: "could not" is a plain past ("if agreement could not be reached"), not a hedge.
MUST_HEDGE = re.compile(r"\b(may|might|could|seems?|mainly|often|implicit|hypothetical)\b", re.IGNORECASE)
#: Every hedge word the data records, and the strength it gives: the weakest of a claim's (or link's) words is its
#: strength. Possibility and appearance are tentative; extent and frequency qualify; hypothesis and implicitness are
#: the source's own doubt.
HEDGE_STRENGTH = {
    "may": "tentative",
    "might": "tentative",
    "could": "tentative",
    "can": "tentative",
    "seem": "tentative",
    "seems": "tentative",
    "would": "tentative",
    "claimed": "tentative",
    "mainly": "qualified",
    "often": "qualified",
    "more": "qualified",
    "more or less": "qualified",
    "largely": "qualified",
    "sometimes": "qualified",
    "somewhat": "qualified",
    "hypothetical": "hypothetical",
    "implicit": "hypothetical",
}
#: Where each top-level section of a seed begins, in the order of the extracted text (the two-column layout puts a
#: Methods paragraph among the first models, the figure's words among the trust paragraph, and Discussion and
#: Conclusions in turns). Subsections ("Results / Barriers and facilitators") are not told apart.
SECTION_STARTS = {
    "andersson-2011": [
        ("Introduction Integration has become", "Introduction"),
        ("Materials and methods This review was made", "Materials and methods"),
        ("either verbal or in writing, and it can be supported", "Results"),
        ("description of collaboration model and target group", "Materials and methods"),
        ("Results Many of the studies reviewed", "Results"),
        ("Simple Complex", "Figure 1"),
        ("between the different actors, but also of a long-term", "Results"),
        ("Discussion Seven basic models", "Discussion"),
        ("Conclusions In this review seven basic models", "Conclusions"),
        ("interagency meetings and multidisciplinary teams are located mainly", "Discussion"),
        ("vocational rehabilitation that can be applied every", "Conclusions"),
    ],
    "cameron-2000": [
        ("The study In 2000", "The study"),
        ("Findings Four categories", "Findings"),
        ("Key messages for practice", "Key messages for practice"),
    ],
}
#: Discussion claims that cite as evidence, because they report what studies of the review found (the rest of the
#: Discussion is conceptual: frameworks, classifications, background, cited for information).
DISCUSSION_EVIDENCE = {
    "andersson-2011-service-users",  # few studies took the users' views [48]
    "andersson-2011-users-unaware",  # studies reporting users unaware of collaboration [71, 72]
    "andersson-2011-pooled-budget-needs-micro",  # a pooled budget cannot alone create integration [70]
    "andersson-2011-pooled-budgets-uk",  # a similar model in the UK [44], a study cited in the Results too
}


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
def ontology() -> Graph:
    return Graph().parse(ROOT / "ontology" / "collabkg.ttl")


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


# --- sections ---------------------------------------------------------------------------------------------------


def section_map(source: str, starts: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """Where each section begins in ``source`` (both of :func:`dehyphenate`'s versions), sorted by position."""
    bounds = [(0, "Abstract" if starts[0][1] == "Introduction" else "Title")]
    half = source.index("\x00")
    bounds.append((half, bounds[0][1]))
    for anchor, section in starts:
        found = [m.start() for m in re.finditer(re.escape(anchor), source)]
        assert len(found) == 2, anchor  # once in each version
        bounds += [(position, section) for position in found]
    return sorted(bounds)


def chunks(quote: str, source: str) -> list[str]:
    """The verbatim pieces :func:`covered` cuts ``quote`` into (the longest run of the source at each point)."""
    pieces, position = [], 0
    while position < len(quote):
        length = min(MIN_PIECE, len(quote) - position)
        while position + length < len(quote) and quote[position : position + length + 1] in source:
            length += 1
        pieces.append(quote[position : position + length])
        position += length
        while position < len(quote) and quote[position] == " ":
            position += 1
    return pieces


def sections_of(piece: str, source: str, bounds: list[tuple[int, str]]) -> set[str]:
    """The sections of every place where ``piece`` stands in ``source``."""
    return {
        next(section for start, section in reversed(bounds) if start <= m.start())
        for m in re.finditer(re.escape(piece), source)
    }


def test_section_map_finds_where_sections_begin(seeds: dict[URIRef, str]) -> None:
    source = seeds[URIRef("https://w3id.org/collabkg/id/study/andersson-2011")]
    bounds = section_map(source, SECTION_STARTS["andersson-2011"])
    assert sections_of("Most of these were related to factors as communication", source, bounds) == {
        "Abstract"
    }
    assert sections_of("Simple Complex", source, bounds) == {"Figure 1"}
    assert sections_of("The analysis was guided mainly", source, bounds) == {"Materials and methods"}
    assert sections_of("are located mainly on the organizational micro level", source, bounds) == {
        "Discussion"
    }


def test_every_claim_names_the_sections_its_quote_stands_in(data: Graph, seeds: dict[URIRef, str]) -> None:
    """Each piece of a quote stands in a section the claim names, and each section it names holds a piece.

    (A claim quoted only from the Abstract cannot say "Results"; "Discussion; Figure 1" needs a piece of each.)
    """
    bounds = {
        URIRef(f"https://w3id.org/collabkg/id/study/{slug}"): section_map(
            seeds[URIRef(f"https://w3id.org/collabkg/id/study/{slug}")], starts
        )
        for slug, starts in SECTION_STARTS.items()
    }
    wrong = []
    for claim, source, quote in claims(data):
        named = {part.split("/")[0].strip() for part in str(data.value(claim, CK.section)).split(";")}
        seen: set[str] = set()
        for piece in normalize(quote).replace("It [the common ground]", "It").split("[...]"):
            for chunk in chunks(piece.strip(), seeds[source]):
                found = sections_of(chunk, seeds[source], bounds[source])
                if not found & named:
                    wrong.append(f"{claim}: {chunk[:50]!r} stands in {sorted(found)}, not {sorted(named)}")
                seen |= found & named
        if seen != named:
            wrong.append(f"{claim}: names {sorted(named - seen)} but quotes nothing from there")
    assert wrong == []


# --- hedges -----------------------------------------------------------------------------------------------------


def strength_rank(ontology: Graph, strength: URIRef) -> int:
    return ontology.value(strength, CK.strengthRank).toPython()


def hedges(data: Graph, node: URIRef) -> set[str]:
    return {str(h) for h in data.objects(node, CK.hedge)}


def printed(word: str, quote: str) -> bool:
    return re.search(r"\b" + re.escape(word) + r"\b", quote, re.IGNORECASE) is not None


def test_every_hedge_a_quote_prints_makes_the_claim_and_its_links_hedged(data: Graph) -> None:
    """The criterion of issue 14: no claim whose quote hedges, with a claim or supported link carrying no hedge."""
    wrong = []
    for claim, _source, quote in claims(data):
        words = {
            w.lower() for w in MUST_HEDGE.findall(re.sub(r"could not", "", normalize(quote), flags=re.I))
        }
        if not words:
            continue
        if not words <= hedges(data, claim) or data.value(claim, CK.strength) == CK.stated:
            wrong.append(f"{claim}: prints {sorted(words)}, records {sorted(hedges(data, claim))}")
        for statement in data.objects(claim, CK.supportsStatement):
            if data.value(statement, CK.strength) == CK.stated or not hedges(data, statement):
                link = [data.value(statement, part) for part in (RDF.subject, RDF.predicate, RDF.object)]
                wrong.append(f"{claim}: supports {link} with no hedge")
    assert wrong == []


def test_recorded_hedges_are_printed_in_the_passage(data: Graph) -> None:
    """No invented hedge either: a claim's hedge words stand in its quote, a link's in the quote of its claim."""
    wrong = []
    for claim, _source, quote in claims(data):
        for word in hedges(data, claim):
            if not printed(word, normalize(quote)):
                wrong.append(f"{claim}: {word!r}")
        for statement in data.objects(claim, CK.supportsStatement):
            for word in hedges(data, statement) - hedges(data, claim):
                wrong.append(f"{claim}: a link's {word!r} is not among the claim's hedges")
    assert wrong == []


def test_a_strength_is_the_weakest_of_its_hedges(data: Graph, ontology: Graph) -> None:
    """Claims and links: ck:stated without hedges, else the weakest strength of their words; a link may be weaker
    still only as a curated reading (the source does not state it)."""
    wrong = []
    nodes = [claim for claim, _source, _quote in claims(data)]
    nodes += [s for claim in nodes for s in data.objects(claim, CK.supportsStatement)]
    for node in nodes:
        words = hedges(data, node)
        assert words <= set(HEDGE_STRENGTH), (node, words - set(HEDGE_STRENGTH))
        expected = min(
            (CK[HEDGE_STRENGTH[w]] for w in words),
            key=lambda s: strength_rank(ontology, s),
            default=CK.stated,
        )
        actual = data.value(node, CK.strength)
        if actual != expected and not (actual == CK.curatedReading and (node, RDFS.comment, None) in data):
            wrong.append(f"{node}: {actual} for {sorted(words)}, not {expected}")
    assert wrong == []


def test_the_strengths_are_ordered(ontology: Graph) -> None:
    ranks = {s: strength_rank(ontology, s) for s in ontology.subjects(RDF.type, CK.Strength)}
    assert sorted(ranks, key=ranks.get) == [
        CK.curatedReading,
        CK.hypothetical,
        CK.tentative,
        CK.qualified,
        CK.stated,
    ]
    assert len(set(ranks.values())) == len(ranks)


# --- citations --------------------------------------------------------------------------------------------------


def test_citations_follow_the_rule_of_their_section_or_say_why_not(data: Graph) -> None:
    """Results cite as evidence; Abstract, Introduction and Methods for information; the Discussion as evidence
    only where it reports what studies found (``DISCUSSION_EVIDENCE``). A claim never cites both ways, and one
    that departs from its section's rule carries a ck:citationNote saying why (and one that does not, none)."""
    wrong = []
    for claim, _source, _quote in claims(data):
        evidence = (claim, CITO.citesAsEvidence, None) in data
        information = (claim, CITO.citesForInformation, None) in data
        if not (evidence or information):
            assert (claim, CK.citationNote, None) not in data, claim
            continue
        if evidence and information:
            wrong.append(f"{claim}: cites both as evidence and for information")
        section = str(data.value(claim, CK.section)).split("/")[0].split(";")[0].strip()
        if section == "Results":
            rule = "evidence"
        elif section == "Discussion":
            rule = "evidence" if str(claim).rsplit("/", 1)[1] in DISCUSSION_EVIDENCE else "information"
        else:
            rule = "information"
        departs = (rule == "evidence" and information) or (rule == "information" and evidence)
        if departs != ((claim, CK.citationNote, None) in data):
            wrong.append(f"{claim}: {section} claim, {'departs' if departs else 'follows the rule'}")
    assert wrong == []
