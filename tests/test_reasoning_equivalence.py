"""The compiled-rules engine infers exactly what owlrl infers, on the real data and on generated data.

owlrl is the reference (``infer(..., engine="owlrl")``); the ``rules`` engine is what the build uses. Equality
is of the inferred graphs (closure less the noise), triple for triple, at the sizes where owlrl takes seconds.
The rules engine must also reach its answer itself: a silent hand-over to owlrl would pass the equality test
while losing the speed, so the tests check that it did not hand over.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from collabkg.build import parse_turtle
from collabkg.build.reasoning import OutsideRules, infer, rule_closure
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD

from bench.generate import REPOSITORY, generate

# owlrl is the reference: minutes at sizes where the compiled rules take seconds.
pytestmark = pytest.mark.slow

CK = "https://w3id.org/collabkg/vocab#"
ID = "https://w3id.org/collabkg/id/"


def _load(root: Path) -> tuple[Graph, Graph]:
    ontology = Graph().parse(root / "ontology" / "collabkg.ttl")
    data = Graph()
    for file in sorted((root / "data").glob("*.ttl")):
        data.parse(file)
    return ontology, data


def _load_as_built(root: Path) -> tuple[Graph, Graph]:
    """As the build parses: one term object per IRI across the files, which the rules rely on for speed."""
    terms: dict = {}

    def parse(file: Path) -> Graph:
        return parse_turtle(file.read_bytes(), file.resolve().as_uri(), terms=terms)

    data = Graph()
    for file in sorted((root / "data").glob("*.ttl")):
        data += parse(file)
    return parse(root / "ontology" / "collabkg.ttl"), data


def _assert_same_inferences(ontology: Graph, data: Graph, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="collabkg.build.reasoning"):
        ours = set(infer(ontology, data))
    assert not [r for r in caplog.records if "owlrl over the whole graph" in r.getMessage()]
    reference = set(infer(ontology, data, engine="owlrl"))
    assert ours - reference == set()
    assert reference - ours == set()
    assert len(ours) > len(data) // 2  # the comparison is about a real closure, not two empty graphs


def test_real_data(caplog: pytest.LogCaptureFixture) -> None:
    _assert_same_inferences(*_load(REPOSITORY), caplog)


@pytest.mark.parametrize("triples", [2_000, 8_000])
def test_generated_data(triples: int, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    generate(tmp_path, triples, seed=triples)
    _assert_same_inferences(*_load(tmp_path), caplog)


def test_generated_data_parsed_as_the_build_parses(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    generate(tmp_path, 4_000, seed=5)
    _assert_same_inferences(*_load_as_built(tmp_path), caplog)


def test_outside_the_rules_the_answer_is_owlrls() -> None:
    """A graph the rules cannot handle (two values of a functional property: owl:sameAs) goes to owlrl."""
    ontology, data = _load(REPOSITORY)
    finding = URIRef(ID + "finding/andersson-2011-communication-3")  # a barrier
    data.add((finding, URIRef(CK + "polarity"), URIRef(CK + "facilitator")))
    with pytest.raises(OutsideRules, match="functional"):
        rule_closure(ontology, data)
    inferred = infer(ontology, data)
    assert (URIRef(CK + "barrier"), OWL.sameAs, URIRef(CK + "facilitator")) in inferred


@pytest.mark.parametrize(
    ("triple", "reason"),
    [
        ((URIRef(ID + "model/a"), OWL.sameAs, URIRef(ID + "model/b")), "states"),
        ((URIRef(ID + "model/a"), RDF.type, OWL.TransitiveProperty), "put in"),
        (
            (URIRef(ID + "model/a"), URIRef(CK + "complexityRank"), Literal("x", datatype=XSD.integer)),
            "datatype",
        ),
        ((URIRef(ID + "claim/a"), URIRef(CK + "section"), Literal(3)), "disjoint"),
    ],
)
def test_what_the_rules_leave_to_owlrl(triple: tuple[URIRef, URIRef, URIRef | Literal], reason: str) -> None:
    ontology, data = _load(REPOSITORY)
    data.add(triple)
    with pytest.raises(OutsideRules, match=reason):
        rule_closure(ontology, data)


def test_unknown_engine() -> None:
    with pytest.raises(ValueError, match="unknown reasoning engine"):
        infer(Graph(), Graph(), engine="fast")
