"""Competency questions: SPARQL over the real built graph must give the answers printed in the seed texts.

Each question is a query in ``tests/competency/``; the expected answers below are read off the sources
(``../shared/seeds/``), so a change of data or ontology that loses or invents a fact fails here. So does one that
states a fact more firmly than the source: the hedges are answers too ("mainly", "may", an implicit scale).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from collabkg.evidence.explanations import explanations_about
from collabkg.evidence.trails import construct
from collabkg.namespaces import PREFIXES
from collabkg.store.base import Store
from collabkg.store.query import prepare
from collabkg.web.context import Service
from conftest import ROOT
from flask import Flask
from rdflib import RDF, SKOS, Namespace, URIRef
from rdflib.query import Result
from rdflib.term import Node

QUERIES = ROOT / "tests" / "competency"
MODEL = "https://w3id.org/collabkg/id/model/"
CK = "https://w3id.org/collabkg/vocab#"
DETERMINANT = "https://w3id.org/collabkg/id/determinant/"
#: ck:strengthRank of each strength (the ontology's scale).
RANK = {"stated": 4, "qualified": 3, "tentative": 2, "hypothetical": 1, "curatedReading": 0}


class Served:
    """The real project's build as the server serves it, asked as one asks rdflib: a query text (with the
    project's prefixes) and values for its variables (which a SELECT must select, as Oxigraph binds)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def query(self, text: str, initBindings: Mapping[str, Node] | None = None) -> Result:
        prepared = prepare(text, namespaces=PREFIXES)
        bindings = {str(name): value for name, value in (initBindings or {}).items()}
        return self.store.evaluate(prepared, init_bindings=bindings, limit=1_000_000).result


@pytest.fixture
def graph(built_app: Flask) -> Served:
    """The real project's build, as the server serves it (the session's app, conftest)."""
    return Served(Service.of(built_app).store)


def ask(graph: Served, name: str) -> bool:
    return bool(graph.query((QUERIES / f"{name}.rq").read_text()).askAnswer)


def column(graph: Served, name: str) -> list:
    """The first variable of each row, as Python values (IRIs as strings)."""
    return [
        row[0].toPython() if not isinstance(row[0], URIRef) else str(row[0])
        for row in graph.query((QUERIES / f"{name}.rq").read_text())
    ]


def models(*slugs: str) -> set[str]:
    return {MODEL + slug for slug in slugs}


def test_seven_models_of_andersson(graph: Served) -> None:
    assert set(column(graph, "andersson-models")) == models(
        "information-exchange",
        "case-coordination",
        "interagency-meetings",
        "multidisciplinary-teams",
        "partnership",
        "co-location",
        "pooled-budgets",
    )


def test_four_models_of_cameron(graph: Served) -> None:
    assert set(column(graph, "cameron-models")) == models(
        "placement-schemes", "multi-agency-teams", "case-care-management", "strategic-level-working"
    )


def test_structural_and_process_models_are_classified_by_the_reasoner(graph: Served) -> None:
    # Discussion: "Case coordination, partnership, co-location and pooling of budgets are mainly structural models,
    # while information exchange, interagency meetings and multidisciplinary teams are more process oriented."
    assert set(column(graph, "structural-models")) == models(
        "case-coordination", "partnership", "co-location", "pooled-budgets"
    )
    assert set(column(graph, "process-models")) == models(
        "information-exchange", "interagency-meetings", "multidisciplinary-teams"
    )


def test_organizational_levels_are_classified_by_the_reasoner(graph: Served) -> None:
    # Discussion: four models "are located mainly on the organizational micro level of service production, while
    # the other models are including middle management levels as well. Even the top management level is involved
    # in partnerships and pooling of budgets." All seven are at the micro level; four of them "mainly".
    rows = {
        (str(model), str(strength).removeprefix(CK), str(hedges))
        for model, strength, hedges in graph.query((QUERIES / "micro-level-models.rq").read_text())
    }
    assert rows == {
        (MODEL + "information-exchange", "qualified", "mainly"),
        (MODEL + "case-coordination", "qualified", "mainly"),
        (MODEL + "interagency-meetings", "qualified", "mainly"),
        (MODEL + "multidisciplinary-teams", "qualified", "mainly"),
        (MODEL + "partnership", "stated", ""),
        (MODEL + "co-location", "stated", ""),
        (MODEL + "pooled-budgets", "stated", ""),
    }
    assert set(column(graph, "macro-level-models")) == models("partnership", "pooled-budgets")


def test_co_location_combines_with_partnership_is_inferred(graph: Served) -> None:
    assert ask(graph, "co-location-combines-inferred")


def test_the_ends_of_the_complexity_scale_are_stated(graph: Served) -> None:
    # Results: information exchange "is the simplest model", pooling of budgets "the most complex and demanding".
    assert ask(graph, "pooled-more-complex-than-information-exchange")


def test_the_ranks_between_the_ends_are_a_curated_reading(graph: Served) -> None:
    # Discussion: "The models were also presented along an implicit scale of complexity": the review ranks the two
    # ends; the five between are ranked only by the order of presentation, which is our reading.
    rows = [
        (str(model).removeprefix(MODEL), rank.toPython(), str(strength).removeprefix(CK))
        for model, rank, strength in graph.query((QUERIES / "complexity-ranks.rq").read_text())
    ]
    assert rows == [
        ("information-exchange", 1, "stated"),
        ("case-coordination", 2, "curatedReading"),
        ("interagency-meetings", 3, "curatedReading"),
        ("multidisciplinary-teams", 4, "curatedReading"),
        ("partnership", 5, "curatedReading"),
        ("co-location", 6, "curatedReading"),
        ("pooled-budgets", 7, "stated"),
    ]


def test_where_trust_comes_from_is_said_with_a_may(graph: Served) -> None:
    # "Trust may be a result of communication ..., but also of a long-term commitment to collaboration [56]" (and
    # the Discussion's "hypothetical chain"); "Their commitment is based on communication, trust and a common
    # ground"; the common ground "is built on trust".
    firmest = {
        (str(a).removeprefix(DETERMINANT), str(b).removeprefix(DETERMINANT)): rank.toPython()
        for a, b, rank in graph.query((QUERIES / "contributes-to.rq").read_text())
    }
    assert firmest == {
        ("communication", "trust"): RANK["tentative"],
        ("commitment", "trust"): RANK["tentative"],
        ("trust", "common-ground"): RANK["stated"],
        ("communication", "commitment"): RANK["stated"],
        ("trust", "commitment"): RANK["stated"],
        ("common-ground", "commitment"): RANK["stated"],
    }


def test_links_held_only_with_a_hedge(graph: Served) -> None:
    hedged: dict[str, int] = {}
    for _s, p, _o, firmest in graph.query((QUERIES / "hedged-links.rq").read_text()):
        if firmest.toPython() < RANK["stated"]:
            name = str(p).rsplit("#", 1)[-1]
            hedged[name] = hedged.get(name, 0) + 1
    assert hedged == {
        "organizationalLevel": 4,  # "mainly" on the micro level
        "orientation": 7,  # "mainly structural", "more process oriented"
        "combinesWith": 6,  # "often combined" (2), "may also be combined" (2), "may" create hybrids (2)
        "identifiedIn": 3,  # the three hybrid models the combinations "may even create"
        "hasComponent": 6,
        "contributesTo": 2,  # trust "may be a result of" communication and commitment
        "moreComplexThan": 4,  # neighbours between the ends of the implicit scale: curated readings
        "complexityRank": 5,  # ranks 2-6
        "subClassOf": 2,  # structural ones "could be classified as interorganizational", and so on
    }


def test_an_inference_is_as_firm_as_its_weakest_premise(graph: Served) -> None:
    """What follows from a "may" is a "may": computed from the explanations and the supported statements."""
    model, ck = Namespace(MODEL), Namespace(CK)
    expected = {
        # symmetric from "Partnerships may also be combined with co-location"
        (model["co-location"], ck.combinesWith, model.partnership): "tentative",
        # from the hybrids the models "may even create"
        (model["co-location"], ck.combinesWith, model["multidisciplinary-teams"]): "tentative",
        # transitive over neighbours on the implicit scale, each a curated reading
        (model["co-location"], ck.moreComplexThan, model["interagency-meetings"]): "curatedReading",
        # the inverse of a stated end of the scale
        (model["information-exchange"], ck.lessComplexThan, model["pooled-budgets"]): "stated",
        # "mainly structural", and structural models "could be classified as interorganizational"
        (model["case-coordination"], RDF.type, ck.InterorganizationalModel): "tentative",
        # "located mainly on the organizational micro level"
        (model["interagency-meetings"], RDF.type, ck.MicroLevelModel): "qualified",
        # "the other models are including middle management levels as well" (as the micro level)
        (model.partnership, RDF.type, ck.MicroLevelModel): "stated",
        # the mirror of a curated mapping
        (model["multi-agency-teams"], SKOS.relatedMatch, model["multidisciplinary-teams"]): "curatedReading",
    }
    query = (QUERIES / "weakest-premise.rq").read_text()
    weakest = {
        triple: next(iter(graph.query(query, initBindings=dict(zip("spo", triple, strict=True)))))["weakest"]
        for triple in expected
    }
    assert {triple: rank.toPython() for triple, rank in weakest.items()} == {
        triple: RANK[strength] for triple, strength in expected.items()
    }


def test_eight_countries_of_andersson(graph: Served) -> None:
    assert sorted(column(graph, "andersson-countries")) == ["AU", "BE", "CA", "GB", "NL", "NO", "SE", "US"]


def test_references_cited_for_trust_as_facilitator(graph: Served) -> None:
    # "[49, 53]", "[24]", "[28, 57]" in the trust paragraph. "Trust may be a result of communication ..., but also
    # of a long-term commitment to collaboration [56]" says what trust may come from, not a facilitator.
    assert sorted(column(graph, "trust-facilitator-references")) == [24, 28, 49, 53, 57]


def test_property_chain_links_trust_to_all_its_evidence(graph: Served) -> None:
    # Every claim about trust: the facilitators' references and [56], where trust may come from; the barrier
    # finding on trust cites nothing.
    assert sorted(column(graph, "trust-evidence-by-chain")) == [24, 28, 49, 53, 56, 57]


def test_screening_flow(graph: Served) -> None:
    rows = [(o.toPython(), c.toPython()) for o, c in graph.query((QUERIES / "screening-flow.rq").read_text())]
    assert rows == [(1, 13132), (2, 1005), (3, 205), (4, 62)]


def test_cameron_counts(graph: Served) -> None:
    rows = [
        tuple(v.toPython() for v in row) for row in graph.query((QUERIES / "cameron-counts.rq").read_text())
    ]
    assert rows == [(32, 38, 3)]


def test_cameron_facilitators_and_barriers(graph: Served) -> None:
    rows = {
        str(p).rsplit("#", 1)[1]: n.toPython()
        for p, n in graph.query((QUERIES / "cameron-findings-by-polarity.rq").read_text())
    }
    assert rows == {"facilitator": 10, "barrier": 10}


def test_all_72_references_exist_and_citation_kinds_are_kept_apart(graph: Served) -> None:
    rows = [
        tuple(v.toPython() for v in row)
        for row in graph.query((QUERIES / "andersson-references.rq").read_text())
    ]
    ((all_refs, evidence, information),) = rows
    assert all_refs == 72
    # Results cite 14-60 as evidence; the Introduction and Methods cite 1-12 for information only.
    assert 0 < evidence < 72 and 0 < information < 72
    assert evidence + information >= 72


def test_explanations_say_each_inference_is_as_firm_as_its_weakest_premise(
    built_app: Flask, graph: Served
) -> None:
    """What `collabkg explain`, trails and explanation pages show (the explanation read back, its firmness
    computed over its tree) equals the weakest-premise competency query, for every inferred triple about every
    model of the graph."""
    service = Service.of(built_app)
    query = (QUERIES / "weakest-premise.rq").read_text()
    compared: dict[str, int] = {}
    for model in column(graph, "andersson-models") + column(graph, "cameron-models"):
        trail = construct(
            service.queries.explanations,
            service.store,
            {"_resource": URIRef(model)},
            limit=10**6,
            deadline=float("inf"),
        )
        for explanation in explanations_about(trail, URIRef(model)):
            node = explanation.iri
            triple = tuple(trail.value(node, part) for part in (RDF.subject, RDF.predicate, RDF.object))
            row = next(iter(graph.query(query, initBindings=dict(zip("spo", triple, strict=True)))))
            firmness = explanation.firmness
            assert firmness is not None, explanation.statement
            assert firmness.rank == row["weakest"].toPython(), explanation.statement
            compared[firmness.label] = compared.get(firmness.label, 0) + 1
    assert {"stated", "qualified", "tentative", "curated reading"} <= set(compared), compared
