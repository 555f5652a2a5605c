"""Explanations of the inferred graph, on the real build: the rule and premises of each inferred triple, down to
the asserted triples, their graphs and the claims (and references) that support them."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from collabkg.build.explanations import explain, nt_line, unexplained
from collabkg.build.reasoning import RULES, derive, drop_noise, infer
from collabkg.build.turtle import as_graph
from collabkg.cli import main
from collabkg.evidence.explanations import read_explanation
from collabkg.namespaces import (
    CITO,
    CK,
    EXPLANATIONS_GRAPH,
    ID,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    RULE_APPLICATION,
    data_graph,
    statement_iri,
)
from collabkg.publish import update_requests
from collabkg.store.base import DatasetSource
from conftest import ROOT, TURTLE_PREFIXES
from flask import Flask
from rdflib import RDF, RDFS, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

MODEL = Namespace(ID["model/"])
CLAIM = Namespace(ID["claim/"])
REF = Namespace(ID["study/andersson-2011/ref/"])
ANDERSSON = data_graph("andersson-2011")
#: A stretch of Andersson et al.'s implicit scale of complexity, most complex first, whose neighbours are linked
#: only by the order of presentation (curated readings, asserted); the ends of the scale are linked to every model.
SCALE = [
    "co-location",
    "partnership",
    "multidisciplinary-teams",
    "interagency-meetings",
]

Triple = tuple[Node, Node, Node]


@pytest.fixture(scope="module")
def dataset(built_dataset: Path) -> Dataset:
    """The build's TriG, read by rdflib (what the build wrote, not what a server makes of it)."""
    return Dataset(default_union=True).parse(built_dataset, format="trig")


@pytest.fixture(scope="module")
def asserted(dataset: Dataset) -> dict[URIRef, Graph]:
    """The source graphs of the build, by name (the ontology's included)."""
    derived = {INFERRED_GRAPH, EXPLANATIONS_GRAPH}
    return {
        g.identifier: g
        for g in dataset.graphs()
        if isinstance(g.identifier, URIRef) and g.identifier not in derived and len(g)
    }


def explanation_node(dataset: Dataset, triple: Triple) -> URIRef:
    node = statement_iri(triple)
    assert (node, RDF.type, CK.Inference) in dataset.graph(EXPLANATIONS_GRAPH), triple
    return node


def application(dataset: Dataset, node: Node) -> Node:
    return dataset.value(node, PROV.wasGeneratedBy)


def asserted_leaves(dataset: Dataset, node: Node) -> list[Node]:
    """The asserted statements an explanation rests on, following the premises all the way down."""
    if (node, RDF.type, CK.AssertedStatement) in dataset:
        return [node]
    return [
        leaf
        for premise in dataset.objects(node, PROV.wasDerivedFrom)
        for leaf in asserted_leaves(dataset, premise)
    ]


def spo(dataset: Dataset, statement: Node) -> Triple:
    return tuple(dataset.value(statement, part) for part in (RDF.subject, RDF.predicate, RDF.object))  # type: ignore[return-value]


# --- Every inferred triple, and only those ------------------------------------------------------------------


def test_the_rules_rederive_exactly_the_inferred_graph(
    dataset: Dataset, asserted: dict[URIRef, Graph]
) -> None:
    ontology = asserted[ONTOLOGY_GRAPH]
    data = Graph()
    for name, graph in asserted.items():
        if name != ONTOLOGY_GRAPH:
            data += graph
    inferred = set(dataset.graph(INFERRED_GRAPH))
    closure = Graph()
    closure += ontology
    closure += data
    for triple in derive(ontology, data):
        closure.add(triple)
    rederived = set(drop_noise(closure, ontology=ontology, data=data))

    assert len(inferred) > 1_500
    assert sorted(" ".join(t.n3() for t in triple) for triple in inferred - rederived) == []  # unexplained
    assert sorted(" ".join(t.n3() for t in triple) for triple in rederived - inferred) == []  # not owlrl's


def test_every_inferred_triple_has_an_explanation_in_the_build(dataset: Dataset) -> None:
    explanations = dataset.graph(EXPLANATIONS_GRAPH)
    missing = unexplained(explanations, dataset.graph(INFERRED_GRAPH))
    assert [" ".join(t.n3() for t in triple) for triple in missing] == []
    # the explanations are not inferences: the inferred graph holds none of their triples
    assert not set(explanations) & set(dataset.graph(INFERRED_GRAPH))


def test_premises_are_asserted_or_inferred_with_a_smaller_depth(asserted: dict[URIRef, Graph]) -> None:
    ontology = asserted[ONTOLOGY_GRAPH]
    data = Graph()
    for name, graph in asserted.items():
        if name != ONTOLOGY_GRAPH:
            data += graph
    derivations = derive(ontology, data)
    for triple, derivation in derivations.items():
        assert derivation.rule in RULES
        for premise in derivation.premises:
            if premise in derivations:
                assert derivations[premise].depth < derivation.depth, (triple, premise)
            else:
                assert premise in ontology or premise in data, (triple, premise)


def test_each_statement_of_an_explanation_is_asserted_in_a_named_graph_or_inferred(dataset: Dataset) -> None:
    explanations = dataset.graph(EXPLANATIONS_GRAPH)
    inferred = dataset.graph(INFERRED_GRAPH)
    for node in explanations.subjects(RDF.type, CK.AssertedStatement):
        graphs = set(explanations.objects(node, CK.inGraph))
        assert graphs, node
        assert all(spo(dataset, node) in dataset.graph(name) for name in graphs), node
    for node in explanations.subjects(RDF.type, CK.Inference):
        assert spo(dataset, node) in inferred, node
        assert (application(dataset, node), RDF.type, CK.RuleApplication) in explanations
        premises = set(explanations.objects(node, PROV.wasDerivedFrom))
        assert premises, node
        assert all(
            {CK.Inference, CK.AssertedStatement} & set(explanations.objects(premise, RDF.type))
            for premise in premises
        ), node


#: The firmest strength of the passages and curated mappings that support each triple, grouped over the whole
#: graph: how the explanation queries found it before the build wrote it on the statement's node.
FIRMEST = """
SELECT ?s ?p ?o (MAX(?rank) AS ?firmest) WHERE {
    {
        ?supporting ck:supportsStatement ?support .
        ?support rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; ck:strength ?strength .
    } UNION {
        ?support a ck:CuratedMapping ; ck:mappingSubject ?s ; ck:mappingRelation ?p ; ck:mappingObject ?o ;
            ck:strength ?strength .
    }
    ?strength ck:strengthRank ?rank .
} GROUP BY ?s ?p ?o
"""


def test_an_asserted_premise_carries_the_firmest_strength_of_what_supports_it(dataset: Dataset) -> None:
    """``ck:strength`` on an asserted statement's node is the highest-ranked strength among the passages and
    curated mappings that support its triple, as grouping them over the whole graph finds it; a statement
    nothing supports (an axiom, a fact of the data) has none."""
    explanations = dataset.graph(EXPLANATIONS_GRAPH)
    rank = {strength: int(value) for strength, value in dataset.subject_objects(CK.strengthRank)}
    firmest = {
        (row.s, row.p, row.o): int(row.firmest)
        for row in dataset.query(FIRMEST, initNs={"ck": CK, "rdf": RDF})  # type: ignore[union-attr]
    }
    written = {
        spo(dataset, node): rank[strength] for node, strength in explanations.subject_objects(CK.strength)
    }
    asserted_nodes = set(explanations.subjects(RDF.type, CK.AssertedStatement))
    assert {node for node, _ in explanations.subject_objects(CK.strength)} <= asserted_nodes
    triples = {spo(dataset, node) for node in asserted_nodes}
    expected = {triple: firmest[triple] for triple in triples if triple in firmest}
    assert written == expected
    assert len(set(written.values())) > 1  # more than one strength: hedged links among the premises


def test_rule_applications_are_shared_and_prov_follows_from_the_ontology(
    dataset: Dataset, asserted: dict[URIRef, Graph]
) -> None:
    """One application node per rule and axiom, named by both; the PROV classes come from the ontology."""
    explanations = dataset.graph(EXPLANATIONS_GRAPH)
    applications = set(explanations.subjects(RDF.type, CK.RuleApplication))
    keys = [(explanations.value(a, CK.rule), explanations.value(a, CK.axiomOf)) for a in applications]
    assert len(keys) == len(set(keys)) and all(rule is not None for rule, _ in keys)
    inferences = set(explanations.subjects(RDF.type, CK.Inference))
    assert len(applications) * 10 < len(inferences)  # shared: far fewer applications than inferences
    assert all(str(a).startswith(str(RULE_APPLICATION)) for a in applications)
    ontology = asserted[ONTOLOGY_GRAPH]
    for kind, prov in (
        (CK.Inference, PROV.Entity),
        (CK.AssertedStatement, PROV.Entity),
        (CK.RuleApplication, PROV.Activity),
    ):
        assert (kind, RDFS.subClassOf, prov) in ontology
        assert not set(explanations.subjects(RDF.type, prov))


def test_every_rule_is_an_individual_of_the_ontology(asserted: dict[URIRef, Graph]) -> None:
    ontology = asserted[ONTOLOGY_GRAPH]
    for name in RULES:
        rule = CK[f"rule-{name}"]
        assert (rule, RDF.type, CK.Rule) in ontology, name
        assert ontology.value(rule, CK.owl2rlRuleName) == Literal(name)
        assert ontology.value(rule, RDFS.label) is not None
    defined = {str(o) for o in ontology.objects(None, CK.owl2rlRuleName)}
    assert defined == set(RULES)


# --- The explanations the issue asks for --------------------------------------------------------------------


def test_co_location_combines_with_partnership_because_combines_with_is_symmetric(dataset: Dataset) -> None:
    node = explanation_node(dataset, (MODEL["co-location"], CK.combinesWith, MODEL.partnership))
    used = application(dataset, node)
    assert dataset.value(used, CK.rule) == CK["rule-prp-symp"]
    assert dataset.value(used, CK.axiomOf) == CK.combinesWith
    premises = {spo(dataset, p): p for p in dataset.objects(node, PROV.wasDerivedFrom)}
    assert set(premises) == {
        (MODEL.partnership, CK.combinesWith, MODEL["co-location"]),
        (CK.combinesWith, RDF.type, URIRef("http://www.w3.org/2002/07/owl#SymmetricProperty")),
    }
    stated = premises[MODEL.partnership, CK.combinesWith, MODEL["co-location"]]
    assert (stated, RDF.type, CK.AssertedStatement) in dataset
    assert set(dataset.objects(stated, CK.inGraph)) == {ANDERSSON}
    claim = CLAIM["andersson-2011-partnership-combinations"]
    assert set(dataset.objects(stated, CK.supportedBy)) == {claim}
    assert set(dataset.objects(claim, CITO.citesAsEvidence)) == {REF["34"], REF["42"]}

    tree = read_explanation(dataset, node)
    assert (tree.statement, tree.rule_name, tree.axiom) == (
        "Co-location combines with Partnership",
        "prp-symp",
        "combines with",
    )
    source = tree.premises[0]
    assert (source.statement, source.graphs, source.rule) == (
        "Partnership combines with Co-location",
        ("andersson-2011",),
        None,
    )
    assert [(c.iri, c.references) for c in source.claims] == [(claim, (34, 42))]


def test_a_transitive_link_lists_the_whole_chain_of_asserted_links(dataset: Dataset) -> None:
    node = explanation_node(
        dataset, (MODEL["co-location"], CK.moreComplexThan, MODEL["interagency-meetings"])
    )
    assert dataset.value(application(dataset, node), CK.rule) == CK["rule-prp-trp"]

    leaves = asserted_leaves(dataset, node)
    links = {spo(dataset, leaf): leaf for leaf in leaves if spo(dataset, leaf)[1] == CK.moreComplexThan}
    chain = {(MODEL[a], CK.moreComplexThan, MODEL[b]) for a, b in itertools.pairwise(SCALE)}
    assert set(links) == chain
    assert len(links) == 3
    for leaf in links.values():
        assert set(dataset.objects(leaf, CK.inGraph)) == {ANDERSSON}
        assert set(dataset.objects(leaf, CK.supportedBy)) == {CLAIM["andersson-2011-complexity-scale"]}
    # the only other ground is the ontology's axiom that the property is transitive
    others = {spo(dataset, leaf) for leaf in leaves} - chain
    assert others == {
        (CK.moreComplexThan, RDF.type, URIRef("http://www.w3.org/2002/07/owl#TransitiveProperty"))
    }


def test_a_has_value_class_rests_on_the_asserted_orientation(dataset: Dataset) -> None:
    node = explanation_node(dataset, (MODEL["case-coordination"], RDF.type, CK.StructuralModel))
    used = application(dataset, node)
    assert dataset.value(used, CK.rule) == CK["rule-cls-hv2"]
    assert dataset.value(used, CK.axiomOf) == CK.StructuralModel
    [premise] = dataset.objects(node, PROV.wasDerivedFrom)
    assert spo(dataset, premise) == (MODEL["case-coordination"], CK.orientation, CK.structuralOrientation)
    assert set(dataset.objects(premise, CK.inGraph)) == {ANDERSSON}
    assert set(dataset.objects(premise, CK.supportedBy)) == {CLAIM["andersson-2011-orientation"]}
    assert read_explanation(dataset, node).reason == "hasValue restriction (cls-hv2): structural model"


def test_rules_the_real_data_does_not_need_explain_what_owlrl_infers() -> None:
    """Inverses read backwards, values from a hasValue class, sub-property and sameAs chains, on a small graph."""
    ontology = Graph().parse(
        format="turtle",
        data="""
        @prefix ex: <http://example.org/> .
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        ex:hasPart owl:inverseOf ex:partOf .
        ex:knows rdfs:subPropertyOf ex:meets . ex:meets rdfs:subPropertyOf ex:sees .
        ex:Red owl:equivalentClass [ a owl:Restriction ; owl:onProperty ex:colour ; owl:hasValue ex:red ] .
        """,
    )
    data = Graph().parse(
        format="turtle",
        data="""
        @prefix ex: <http://example.org/> .
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        ex:a ex:partOf ex:b ; ex:knows ex:b ; a ex:Red .
        ex:x owl:sameAs ex:y . ex:y owl:sameAs ex:z .
        """,
    )
    inferred = infer(ontology, data)
    explained = explain(ontology, {data_graph("small"): data}, inferred, union=data)
    explanations = explained.graph()

    assert explained.unexplained == unexplained(explanations, inferred) == []
    used = {str(rule).rsplit("rule-", 1)[1] for rule in explanations.objects(None, CK.rule)}
    assert {"prp-inv2", "cls-hv1", "prp-spo1", "scm-spo", "eq-sym", "eq-trans"} <= used
    assert len(set(explanations.subjects(RDF.type, CK.Inference))) == len(inferred)


def test_the_firmest_of_several_supports_is_written_whichever_supports_it() -> None:
    """A link stated plainly by one passage, as a possibility by another and read by the curators in a mapping
    carries the plain statement's strength; one only a mapping supports, the mapping's; none, nothing. (The real
    data has no triple that passages of different strengths support, so this says what max means there.)"""
    ontology = Graph().parse(ROOT / "ontology" / "collabkg.ttl")
    data = Graph().parse(
        format="turtle",
        data=f"""{TURTLE_PREFIXES}
        @prefix ex: <http://example.org/> .
        ex:one ck:combinesWith ex:two . ex:two ck:combinesWith ex:three . ex:three ck:combinesWith ex:four .
        ex:plain ck:supportsStatement [ rdf:subject ex:one ; rdf:predicate ck:combinesWith ; rdf:object ex:two ;
            ck:strength ck:stated ] .
        ex:maybe ck:supportsStatement [ rdf:subject ex:one ; rdf:predicate ck:combinesWith ; rdf:object ex:two ;
            ck:strength ck:tentative ] .
        ex:mapping a ck:CuratedMapping ; ck:mappingSubject ex:one ; ck:mappingRelation ck:combinesWith ;
            ck:mappingObject ex:two ; ck:strength ck:curatedReading .
        ex:mapping2 a ck:CuratedMapping ; ck:mappingSubject ex:two ; ck:mappingRelation ck:combinesWith ;
            ck:mappingObject ex:three ; ck:strength ck:curatedReading .
        """,
    )
    triples = set(data)
    explained = explain(ontology, {data_graph("small"): triples}, infer(ontology, triples), union=triples)
    explanations = explained.graph()
    ex = Namespace("http://example.org/")
    strength = {
        link: explanations.value(explanation_node_of(explanations, link), CK.strength)
        for link in (
            (ex.one, CK.combinesWith, ex.two),
            (ex.two, CK.combinesWith, ex.three),
            (ex.three, CK.combinesWith, ex.four),
        )
    }
    assert list(strength.values()) == [CK.stated, CK.curatedReading, None]


def explanation_node_of(explanations: Graph, triple: Triple) -> Node:
    """The asserted statement node of ``triple`` in an explanations graph."""
    s, p, o = triple
    [node] = {
        node
        for node in explanations.subjects(RDF.subject, s)
        if (node, RDF.predicate, p) in explanations
        and (node, RDF.object, o) in explanations
        and (node, RDF.type, CK.AssertedStatement) in explanations
    }
    return node


def test_the_explanations_are_written_as_rdflib_would_write_them(asserted: dict[URIRef, Graph]) -> None:
    """The build writes the explanations a node at a time, as sorted N-Triples lines, and every other graph
    with :func:`nt_line`: the same lines, and as many, as rdflib's serializer gives for the same triples."""
    ontology = asserted[ONTOLOGY_GRAPH]
    sources = {name: graph for name, graph in asserted.items() if name != ONTOLOGY_GRAPH}
    union = Graph()
    for graph in sources.values():
        union += graph
    inferred = infer(ontology, union)
    explained = explain(ontology, sources, inferred, union=union)
    graph = explained.graph()

    def rdflib_lines(graph: Graph) -> list[bytes]:
        return sorted(graph.serialize(format="nt", encoding="utf-8").splitlines(keepends=True))

    assert len(explained) == len(graph) > 20_000
    assert list(explained.lines()) == rdflib_lines(graph)
    for each in [*asserted.values(), as_graph(inferred)]:  # quotes, line breaks, languages, datatypes
        assert sorted(nt_line(triple).encode() for triple in each) == rdflib_lines(each)


def test_a_statement_iri_is_the_hash_of_its_terms_as_rdflib_writes_them(dataset: Dataset) -> None:
    """The explanations' statement IRIs are public: made faster (without rdflib's ``n3()`` of IRIs), they stay
    the hash of the terms' ``n3()``, for every triple of the build (IRIs, blank nodes, literals of all kinds)."""
    quads = list(dataset.quads((None, None, None, None)))
    assert len(quads) > 20_000
    for s, p, o, _ in quads:
        text = " ".join(term.n3() for term in (s, p, o))
        assert statement_iri((s, p, o)) == ID[f"explanation/{hashlib.sha256(text.encode()).hexdigest()[:32]}"]


# --- Served: the canned query, the trail page, the command --------------------------------------------------


def rows(app: Flask, url: str) -> list[dict[str, str]]:
    response = app.test_client().get(url, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_canned_query_explain_returns_rule_and_premises(
    make_app: Callable[..., Flask], built_dataset: Path
) -> None:
    app = make_app(DATASET_FILES=[DatasetSource(built_dataset)])
    table = rows(
        app, "/queries/explain?subject=model:co-location&predicate=ck:combinesWith&object=model:partnership"
    )
    assert {row["ruleName"] for row in table} == {"prp-symp"}
    assert {row["axiom"] for row in table} == {str(CK.combinesWith)}
    stated = [row for row in table if row["premisePredicate"] == str(CK.combinesWith)]
    assert [
        (r["premiseSubject"], r["premiseObject"], r["status"], r["graph"], r["claim"]) for r in stated
    ] == [
        (
            str(MODEL.partnership),
            str(MODEL["co-location"]),
            "asserted",
            str(ANDERSSON),
            str(CLAIM["andersson-2011-partnership-combinations"]),
        )
    ]
    assert [(r["premiseSubject"], r["graph"]) for r in table if r["premisePredicate"] == str(RDF.type)] == [
        (str(CK.combinesWith), str(ONTOLOGY_GRAPH))
    ]

    table = rows(
        app,
        "/queries/explain?subject=model:co-location&predicate=ck:moreComplexThan&object=model:interagency-meetings",
    )
    assert {row["ruleName"] for row in table} == {"prp-trp"}
    links = [
        (row["premiseSubject"], row["premiseObject"])
        for row in table
        if row["premisePredicate"] == str(CK.moreComplexThan)
    ]
    # two links that meet at a model of the scale: co-location > middle, middle > interagency meetings
    assert len(links) == 2
    (first, middle), (second, last) = sorted(links, key=lambda link: link[0] != str(MODEL["co-location"]))
    assert (first, last) == (str(MODEL["co-location"]), str(MODEL["interagency-meetings"]))
    assert middle == second and middle in {str(MODEL[slug]) for slug in SCALE[1:-1]}

    # an asserted triple has no explanation
    assert (
        rows(
            app,
            "/queries/explain?subject=model:partnership&predicate=ck:combinesWith&object=model:co-location",
        )
        == []
    )


def test_trail_page_says_why_inferred_statements_hold(
    make_app: Callable[..., Flask], built_dataset: Path
) -> None:
    client = make_app(DATASET_FILES=[DatasetSource(built_dataset)]).test_client()
    response = client.get("/trail/model/co-location", headers={"Accept": "text/html"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "What the reasoner adds, and why" in page
    assert (
        "<summary>Co-location combines with Partnership <small>(symmetric property (prp-symp): combines with)</small>"
        in page
    )
    # Each premise links to its own explanation's page; each claim to its trail.
    premise = statement_iri((MODEL.partnership, CK.combinesWith, MODEL["co-location"]))
    assert (
        f'<a href="/page/{premise[len(ID) :]}">Partnership combines with Co-location</a> '
        "<small>(asserted in andersson-2011)</small>" in page
    )
    assert (
        '<a href="/trail/claim/andersson-2011-partnership-combinations">Partnerships may be combined with '
        "co-location as well as pooling of budgets</a> [34] [42]" in page
    )
    # how firm: the inference as its weakest premise, the premise as its sources state it
    summary = page.index("<summary>Co-location combines with Partnership <small>")
    details = page[summary : page.index("</details>", summary)]
    assert '<p class="hedge">As firm as its weakest premise: <strong>tentative</strong>.</p>' in details
    assert '<p class="hedge">Stated as <strong>tentative</strong> by its sources.</p>' in details
    # the data formats of the trail carry the explanations too
    response = client.get("/trail/model/co-location?format=ttl")
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    node = statement_iri((MODEL["co-location"], CK.combinesWith, MODEL.partnership))
    assert graph.value(graph.value(node, PROV.wasGeneratedBy), CK.rule) == CK["rule-prp-symp"]


def test_cli_explain_prints_the_derivation_tree(built_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    result = CliRunner().invoke(
        main, ["--root", str(ROOT), "explain", "model:co-location", "ck:combinesWith", "model:partnership"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Co-location combines with Partnership",
        "  symmetric property (prp-symp): combines with",
        "  as firm as its weakest premise: tentative",  # what follows from a "may" is a "may"
        "  - Partnership combines with Co-location",
        "      asserted in andersson-2011",
        "      stated as tentative",
        "      supported by: Partnerships may be combined with co-location as well as pooling of budgets [34] [42]",
        "  - combines with is a owl:SymmetricProperty",
        "      asserted in ontology",
    ]

    result = CliRunner().invoke(
        main, ["--root", str(ROOT), "explain", "model:partnership", "ck:combinesWith", "model:co-location"]
    )
    assert result.exit_code == 2
    assert "is not a triple of the inferred graph" in result.output


def test_the_explanations_publish_in_parts(dataset: Dataset) -> None:
    """A store loaded by SPARQL Update gets the explanations in requests of a bounded size: only a blank node's
    statements must travel together, and the explanations' own nodes (statements and rule applications) are
    IRIs. A rule application was a blank node, so every statement it generated went in one request: up to 155
    triples of the real graph, 9,757 of the 100k project's, 96,886 of the 1M project's."""
    explanations = dataset.graph(EXPLANATIONS_GRAPH)
    assert not any(isinstance(s, BNode) for s in explanations.subjects())
    assert not any(isinstance(o, BNode) for o in explanations.objects(None, PROV.wasGeneratedBy))
    inserts = [
        request for request in update_requests([explanations], chunk=100) if request.startswith("INSERT")
    ]
    assert len(inserts) > 1
    assert max(request.count(" .\n") for request in inserts) <= 100
