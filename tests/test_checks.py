"""Each whole-graph check (``queries/checks/*-violation.rq``) finds what it is for, so none can pass vacuously.

For every check: the real data gives no row, and a small fixture broken in exactly the way the check describes
gives a row naming the broken resource.
"""

from __future__ import annotations

import pytest
from collabkg.build.validation import check, validate
from conftest import ROOT, TURTLE_PREFIXES
from rdflib import Graph

CHECKS = ROOT / "queries" / "checks"


#: check name → (broken fixture in Turtle, the focus node the check must report)
BROKEN: dict[str, tuple[str, str]] = {
    "unsupported-link-violation": (
        "model:a ck:combinesWith model:b .",
        "model:a",
    ),
    "uncurated-mapping-violation": (
        "model:a skos:closeMatch model:b .",
        "model:a",
    ),
    "mapping-without-triple-violation": (
        """mapping:a-to-b a ck:CuratedMapping ; ck:mappingSubject model:a ; ck:mappingRelation skos:closeMatch ;
               ck:mappingObject model:b ; ck:rationale "why" .""",
        "mapping:a-to-b",
    ),
    "citation-outside-reference-list-violation": (
        """finding:f ck:reportedIn study:one ; cito:citesAsEvidence <https://w3id.org/collabkg/id/study/two/ref/1> .
           <https://w3id.org/collabkg/id/study/two/ref/1> ck:inReferenceListOf study:two .""",
        "finding:f",
    ),
    "duplicate-reference-number-violation": (
        """<https://w3id.org/collabkg/id/study/one/ref/1> ck:referenceNumber 1 ; ck:inReferenceListOf study:one .
           <https://w3id.org/collabkg/id/study/one/ref/one> ck:referenceNumber 1 ; ck:inReferenceListOf study:one .""",
        "<https://w3id.org/collabkg/id/study/one/ref/1>",
    ),
    "reference-beyond-list-violation": (
        """<https://w3id.org/collabkg/id/study/one/ref/9> ck:referenceNumber 9 ; ck:inReferenceListOf study:one .
           study:one ck:referenceCount 3 .""",
        "<https://w3id.org/collabkg/id/study/one/ref/9>",
    ),
    "resource-iri-violation": (
        'model:Co_Location a ck:CollaborationModel ; ck:isoAlpha2 "SE" .',
        "model:Co_Location",
    ),
    "unevidenced-determinant-violation": (
        "determinant:d a ck:Determinant ; ck:identifiedIn study:one .",
        "determinant:d",
    ),
    "widening-screening-violation": (
        "study:s1 ck:recordCount 10 ; ck:nextStep study:s2 . study:s2 ck:recordCount 20 .",
        "study:s1",
    ),
    "country-iri-violation": (
        'country:sweden a ck:Country ; ck:isoAlpha2 "SE" .',
        "country:sweden",
    ),
    "unhedged-claim-violation": (
        'claim:c ck:quote "Trust may be a result of communication." ; ck:strength ck:stated .',
        "claim:c",
    ),
    "hedge-strength-violation": (
        'claim:c ck:quote "Trust may be a result of communication." ; ck:strength ck:stated ; ck:hedge "may" .',
        "claim:c",
    ),
}

#: The other ways the hedge checks are broken: (check, fixture, focus node), one per branch of the check.
MORE_BROKEN: list[tuple[str, str, str]] = [
    (
        "unhedged-claim-violation",
        """claim:c ck:quote "Partnerships may also be combined with co-location." ; ck:strength ck:tentative ;
               ck:hedge "may" ; ck:supportsStatement [ rdf:subject model:a ; rdf:predicate ck:combinesWith ;
               rdf:object model:b ; ck:strength ck:stated ] .""",
        "claim:c",
    ),
    (
        "unhedged-claim-violation",
        'claim:c ck:quote "Case coordination is mainly structural." ; ck:strength ck:stated .',
        "claim:c",
    ),
    (
        "hedge-strength-violation",
        'claim:c ck:quote "Trust may be a result of communication." ; ck:strength ck:tentative .',
        "claim:c",
    ),
    (
        "hedge-strength-violation",
        'claim:c ck:strength ck:curatedReading ; ck:hedge "implicit" .',
        "claim:c",
    ),
    (  # a mapping of the link, but not typed a curated one
        "uncurated-mapping-violation",
        """model:a skos:closeMatch model:b .
           mapping:m ck:mappingSubject model:a ; ck:mappingRelation skos:closeMatch ; ck:mappingObject model:b .""",
        "model:a",
    ),
    (  # a curated mapping, of another link
        "uncurated-mapping-violation",
        """model:a skos:closeMatch model:b .
           mapping:m a ck:CuratedMapping ; ck:mappingSubject model:a ; ck:mappingRelation skos:relatedMatch ;
               ck:mappingObject model:b .""",
        "model:a",
    ),
]

#: Fixtures the hedge checks must accept: a plain past "could not", and hedges recorded as they should be.
NOT_BROKEN: list[tuple[str, str]] = [
    (
        "unhedged-claim-violation",
        'claim:c ck:quote "If agreement could not be reached, the group discussed it." ; ck:strength ck:stated .',
    ),
    (
        "unhedged-claim-violation",
        'claim:c ck:quote "Maybe the mayor could not come." ; ck:strength ck:stated .',
    ),
    (
        "hedge-strength-violation",
        """claim:c ck:strength ck:hypothetical ; ck:hedge "implicit" ; ck:supportsStatement [ rdf:subject model:a ;
               rdf:predicate ck:complexityRank ; rdf:object 2 ; ck:strength ck:curatedReading ;
               ck:hedge "implicit" ; rdfs:comment "the order of presentation" ] .
           mapping:m a ck:CuratedMapping ; ck:strength ck:curatedReading ; ck:rationale "why" .""",
    ),
    (
        "uncurated-mapping-violation",
        """model:a skos:closeMatch model:b .
           mapping:m a ck:CuratedMapping ; ck:mappingSubject model:a ; ck:mappingRelation skos:closeMatch ;
               ck:mappingObject model:b .""",
    ),
]


def test_every_check_has_a_broken_fixture() -> None:
    assert sorted(BROKEN) == sorted(p.stem for p in CHECKS.glob("*-violation.rq"))


@pytest.fixture(scope="module")
def real_data() -> Graph:
    g = Graph()
    for file in sorted((ROOT / "data").glob("*.ttl")):
        g.parse(file)
    return g


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_passes_on_the_real_data(name: str, real_data: Graph) -> None:
    assert check(real_data, (CHECKS / f"{name}.rq").read_text(), name) == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_finds_the_broken_fixture(name: str) -> None:
    turtle, focus = BROKEN[name]
    graph = Graph().parse(data=TURTLE_PREFIXES + turtle, format="turtle")
    violations = check(graph, (CHECKS / f"{name}.rq").read_text(), name)
    assert [v.focus_node for v in violations][:1] == [focus], violations
    assert all(v.message for v in violations)


@pytest.mark.parametrize(("name", "turtle", "focus"), MORE_BROKEN)
def test_check_finds_each_way_it_is_broken(name: str, turtle: str, focus: str) -> None:
    graph = Graph().parse(data=TURTLE_PREFIXES + turtle, format="turtle")
    violations = check(graph, (CHECKS / f"{name}.rq").read_text(), name)
    assert [v.focus_node for v in violations] == [focus], violations


@pytest.mark.parametrize(("name", "turtle"), NOT_BROKEN)
def test_check_accepts_what_is_not_broken(name: str, turtle: str) -> None:
    graph = Graph().parse(data=TURTLE_PREFIXES + turtle, format="turtle")
    assert check(graph, (CHECKS / f"{name}.rq").read_text(), name) == []


def test_shapes_pass_on_the_real_data_and_leave_it_as_it_was(real_data: Graph) -> None:
    """validate() mixes the ontology into the data graph for pySHACL and takes it out again."""
    before = set(real_data)
    ontology = Graph().parse(ROOT / "ontology" / "collabkg.ttl")
    shapes = Graph().parse(ROOT / "ontology" / "shapes.ttl")
    assert [v for v in validate(real_data, shapes, ontology) if v.severity == "Violation"] == []
    assert set(real_data) == before
