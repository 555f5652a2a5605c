"""The shapes compiled to SPARQL (:mod:`collabkg.build.shapes_sparql`) give exactly pySHACL's violations.

pySHACL is the reference: on the real data, on fixtures broken from it in every way ``ontology/shapes.ttl``
forbids (and the test proves the fixtures do hit every constraint of every shape), on small shapes written for
each compiled component's edge cases, and on shapes the compiler does not support (then pySHACL runs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyshacl
import pytest
from collabkg.build import parse_turtle, read_turtle
from collabkg.build.shapes_sparql import compile_shapes
from collabkg.build.validation import Checks, Violation, validate, validate_with_pyshacl
from conftest import ROOT, TURTLE_PREFIXES
from rdflib import RDF, RDFS, SH, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

EX = "http://example.org/"
#: SHACL's parameters, and the component each belongs to (as pySHACL's results name it).
COMPONENTS = {
    SH.minCount: SH.MinCountConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent,
    SH["class"]: SH.ClassConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.minLength: SH.MinLengthConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
}


def read_project() -> tuple[Graph, Graph, Graph]:
    """The asserted data, ontology and shapes, parsed as the build parses them."""
    terms: dict[str, Node] = {}
    ontology, shapes = (
        parse_turtle(file.read_bytes(), file.resolve().as_uri(), terms=terms)
        for file in (ROOT / "ontology" / "collabkg.ttl", ROOT / "ontology" / "shapes.ttl")
    )
    data = Graph()
    for file in sorted((ROOT / "data").glob("*.ttl")):
        for triple in read_turtle(file.read_bytes(), file.resolve().as_uri(), terms=terms)[0]:
            data.add(triple)
    return data, ontology, shapes


@pytest.fixture(scope="module")
def project() -> tuple[Graph, Graph, Graph]:
    return read_project()


def assert_same(data: Graph, shapes: Graph, ontology: Graph) -> list[Violation]:
    """Both ways give the same sorted violations, and leave the data as it was; returns them."""
    before = set(data)
    reasons: list[str] = []
    compiled = validate(data, shapes, ontology, on_fallback=reasons.append)
    assert reasons == []  # compiled, not pySHACL again
    assert set(data) == before
    assert compiled == validate_with_pyshacl(data, shapes, ontology)
    return compiled


def test_the_real_data_has_no_violation_either_way(project: tuple[Graph, Graph, Graph]) -> None:
    data, ontology, shapes = project
    assert assert_same(data, shapes, ontology) == []


# --- the real data, broken in every way the shapes forbid --------------------------------------------------------


def shape_parts(shapes: Graph) -> Iterator[tuple[Node, Node | None]]:
    """Each targeted shape and each of its property shapes, with its sh:path (None for the node shape)."""
    for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
        yield shape, None
        for child in shapes.objects(shape, SH.property):
            yield child, shapes.value(child, SH.path)


def focus_nodes(data: Graph, ontology: Graph, shapes: Graph, shape: Node) -> list[Node]:
    """The real data's focus nodes of a (node) shape, found with rdflib, independently of the compiler."""
    union = data + ontology
    found: set[Node] = set()
    for cls in shapes.objects(shape, SH.targetClass):
        for sub in union.transitive_subjects(RDFS.subClassOf, cls):
            found.update(union.subjects(RDF.type, sub))
    for predicate in shapes.objects(shape, SH.targetObjectsOf):
        found.update(data.objects(None, predicate))
    return sorted(found, key=str)


#: For a value constraint, values that break it (some only as pySHACL's edge cases do: an ill-typed literal,
#: a value of the wrong kind of node, a string with a trailing newline that Python's ``$`` still matches).
def bad_values(shapes: Graph, part: Node) -> list[Node]:
    values: list[Node] = []
    if (part, SH["class"], None) in shapes:
        values += [URIRef(EX + "untyped"), Literal("a literal"), BNode()]
    datatype = shapes.value(part, SH.datatype)
    if datatype is not None:
        values += [URIRef(EX + "iri"), Literal("x", lang="en"), Literal("1.5", datatype=XSD.decimal)]
        if datatype != XSD.string:
            values += [Literal("not a number", datatype=datatype), Literal("text")]
    if (part, SH["in"], None) in shapes:
        values += [URIRef(EX + "unlisted"), Literal("stated")]
    if (part, SH.minLength, None) in shapes:
        values += [Literal(""), BNode()]
    if (part, SH.pattern, None) in shapes:
        values += [Literal("se"), Literal("SE\n"), Literal("SWE\n"), URIRef(EX + "SE"), BNode()]
    if (part, SH.nodeKind, None) in shapes:
        values += [Literal("not an IRI"), BNode()]
    minimum = shapes.value(part, SH.minInclusive)
    if minimum is not None:
        values += [Literal(minimum.value - 1), Literal("0"), Literal("x", datatype=XSD.integer)]
        values += [Literal("-0.5", datatype=XSD.decimal), URIRef(EX + "iri")]
    return values


def remove_required(data: Graph, shapes: Graph, part: Node, path: Node, focus: Node) -> None:
    if (part, SH.minCount, None) in shapes:
        data.remove((focus, path, None))


def add_too_many(data: Graph, shapes: Graph, part: Node, path: Node, focus: Node) -> None:
    maximum = shapes.value(part, SH.maxCount)
    if maximum is not None:
        old = data.value(focus, path)
        for n in range(maximum.value + 1):
            data.add(
                (focus, path, Literal(f"{old} {n}") if isinstance(old, Literal) else URIRef(f"{EX}v{n}"))
            )


def add_bad_values(data: Graph, shapes: Graph, part: Node, path: Node, focus: Node) -> None:
    for value in bad_values(shapes, part):
        data.add((focus, path, value))


#: One fixture per way of breaking: every property shape of every shape broken that way on one focus node.
BREAKERS: dict[str, Callable[[Graph, Graph, Node, Node, Node], None]] = {
    "remove-required": remove_required,
    "add-too-many": add_too_many,
    "add-bad-values": add_bad_values,
}


def broken_fixture(project: tuple[Graph, Graph, Graph], way: str) -> Graph:
    data, ontology, shapes = project
    broken = Graph()
    for triple in data:
        broken.add(triple)
    for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
        focus = focus_nodes(data, ontology, shapes, shape)[0]
        for part in shapes.objects(shape, SH.property):
            BREAKERS[way](broken, shapes, part, shapes.value(part, SH.path), focus)
        if way == "remove-required":  # sh:or: none of its shapes' paths has a value
            for alternatives in shapes.objects(shape, SH["or"]):
                for member in shapes.items(alternatives):
                    broken.remove((focus, shapes.value(member, SH.path), None))
        if way == "add-bad-values":  # node shapes' own constraints: new focus nodes, of a wrong class
            for predicate in shapes.objects(shape, SH.targetObjectsOf):
                for value in bad_values(shapes, shape):
                    broken.add((URIRef(EX + "subject"), predicate, value))
    return broken


@pytest.fixture(scope="module")
def broken(project: tuple[Graph, Graph, Graph]) -> dict[str, Graph]:
    return {way: broken_fixture(project, way) for way in BREAKERS}


@pytest.mark.parametrize("way", sorted(BREAKERS))
def test_each_broken_fixture_gives_the_same_violations_either_way(
    way: str, project: tuple[Graph, Graph, Graph], broken: dict[str, Graph]
) -> None:
    _, ontology, shapes = project
    assert len(assert_same(broken[way], shapes, ontology)) > 10


def test_the_broken_fixtures_hit_every_constraint_of_every_shape(
    project: tuple[Graph, Graph, Graph], broken: dict[str, Graph]
) -> None:
    """pySHACL's own report (its sh:sourceShape and sh:sourceConstraintComponent) of the fixtures names every
    constraint of ``ontology/shapes.ttl``: the comparison above cannot pass for want of results."""
    _, ontology, shapes = project
    wanted = {
        (part, component)
        for part, _ in shape_parts(shapes)
        for parameter, component in COMPONENTS.items()
        if (part, parameter, None) in shapes
    }
    hit: set[tuple[Node, Node]] = set()
    for fixture in broken.values():
        _, report, _ = pyshacl.validate(fixture, shacl_graph=shapes, ont_graph=ontology, inference="none")
        for result in report.subjects(RDF.type, SH.ValidationResult):
            hit.add(
                (report.value(result, SH.sourceShape), report.value(result, SH.sourceConstraintComponent))
            )
    assert len(wanted) > 90
    assert wanted - hit == set()


# --- each compiled component's edge cases, on shapes written for them ----------------------------------------------

SHAPE_PREFIXES = TURTLE_PREFIXES + f"@prefix sh: <{SH}> .\n@prefix ex: <{EX}> .\n"

#: name → (shapes, data): small shapes, mostly without sh:message (pySHACL's own words are compared too).
EDGE_CASES: dict[str, tuple[str, str]] = {
    "datatype": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:C ;
               sh:property [ sh:path ex:string ; sh:datatype xsd:string ] ,
                   [ sh:path ex:integer ; sh:datatype xsd:integer ] , [ sh:path ex:int ; sh:datatype xsd:int ] ,
                   [ sh:path ex:date ; sh:datatype xsd:date ] , [ sh:path ex:lang ; sh:datatype rdf:langString ] ,
                   [ sh:path ex:literal ; sh:datatype rdfs:Literal ] , [ sh:path ex:own ; sh:datatype ex:type ] .""",
        """ex:a a ex:C ; ex:string "s", "s"@en, 1, ex:iri, [] ; ex:integer 1, "01"^^xsd:integer, "x"^^xsd:integer,
               1.5, "1" ; ex:int "x"^^xsd:int, 1 ;
               ex:date "2020-01-01"^^xsd:date, "2020-13-01"^^xsd:date, "2020-01-01T00:00:00"^^xsd:dateTime ;
               ex:lang "a"@en, "a"@en-GB, "a" ; ex:literal "a", 1, "b"@de, ex:iri, [] ;
               ex:own "x"^^ex:type, "x"^^ex:other .""",
    ),
    "lengths-and-patterns": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:C ;
               sh:property [ sh:path ex:p ; sh:minLength 3 ] , [ sh:path ex:q ; sh:pattern "^ab$" ] ,
                   [ sh:path ex:r ; sh:pattern "^ab" ; sh:flags "i" ] , [ sh:path ex:s ; sh:minLength 0 ] ,
                   [ sh:path ex:t ; sh:pattern "b.c" ; sh:flags "sm" ] , [ sh:path ex:u ; sh:pattern "^1" ] .""",
        """ex:a a ex:C ; ex:p "ab", "abc", "abé", 12, 123, "ab"@en, <http://x>, <http://example.org/a>, [] ;
               ex:q "ab", "ab\\n", "AB", "xab", [], <ab> ; ex:r "AB", "Ab c", "ba" ; ex:s "", [] ;
               ex:t "b\\nc", "bxc" ; ex:u 1, 10, 2, "1"@en, "x"^^xsd:integer .""",
    ),
    "node-kinds-and-lists": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:C ;
               sh:property [ sh:path ex:iri ; sh:nodeKind sh:IRI ] , [ sh:path ex:blank ; sh:nodeKind sh:BlankNode ] ,
                   [ sh:path ex:literal ; sh:nodeKind sh:Literal ] ,
                   [ sh:path ex:bi ; sh:nodeKind sh:BlankNodeOrIRI ] ,
                   [ sh:path ex:bl ; sh:nodeKind sh:BlankNodeOrLiteral ] ,
                   [ sh:path ex:il ; sh:nodeKind sh:IRIOrLiteral ] ,
                   [ sh:path ex:in ; sh:in ( ex:x 1 "a" "b"@en "c\\"d" ) ] .""",
        """ex:a a ex:C ; ex:iri ex:x, "x", [] ; ex:blank ex:x, "x", [] ; ex:literal ex:x, "x", [] ;
               ex:bi ex:x, "x", [] ; ex:bl ex:x, "x", [] ; ex:il ex:x, "x", [] ;
               ex:in ex:x, ex:y, 1, 1.5, "1", "a", "a"@en, "b"@en, "b", "c\\"d", [] .""",
    ),
    "classes-counts-and-ranges": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:C ;
               sh:property [ sh:path ex:c ; sh:class ex:D ] , [ sh:path ex:two ; sh:class ex:D, ex:E ] ,
                   [ sh:path ex:n ; sh:minCount 2 ; sh:maxCount 3 ] , [ sh:path ex:m ; sh:minInclusive 2.5 ] ,
                   [ sh:path ex:s ; sh:minInclusive "b" ] , [ sh:path ex:d ; sh:minInclusive "2020-01-01"^^xsd:date ] .
           ex:T a sh:NodeShape ; sh:targetNode ex:absent, "a literal", ex:a ; sh:class ex:C ;
               sh:property [ sh:path ex:n ; sh:minCount 1 ] .""",
        """ex:a a ex:C ; ex:c ex:d, ex:sub, ex:none, "lit", [ a ex:D ], [] ; ex:two ex:d, ex:de ;
               ex:n 1, 1.5, "1" , "1"^^xsd:string ; ex:m 2, 3, 2.5, "3", 2.4E0, true, ex:x, "x"^^xsd:integer ;
               ex:s "a", "c", 1 ; ex:d "2019-12-31"^^xsd:date, "2020-01-02"^^xsd:date, "2021"^^xsd:gYear .
           ex:b a ex:Sub ; ex:n 1 .  ex:c a ex:C .
           ex:d a ex:D .  ex:sub a ex:SubD .  ex:de a ex:D, ex:E .
           ex:SubD rdfs:subClassOf ex:D .""",
    ),
    "or-severities-messages-paths-targets": (
        """ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:severity sh:Warning ;
               sh:or ( [ sh:path ex:p ; sh:minCount 1 ] [ sh:path ex:q ; sh:maxCount 1 ; sh:minCount 1 ]
                       [ sh:class ex:Special ] [ sh:path ex:r ; sh:datatype xsd:integer ; sh:minCount 1 ]
                       [ sh:path ex:s ; sh:minCount 2 ; sh:deactivated false ] ) ;
               sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ; sh:severity sh:Info ;
                   sh:message "a message"@en, "ein Hinweis"@de ] ,
                   [ sh:path [ sh:inversePath ex:p ] ; sh:maxCount 0 ; sh:message "nobody points here" ] ,
                   [ sh:path [ sh:alternativePath ( ex:p ex:q ) ] ; sh:class ex:D ] ,
                   [ sh:path [ sh:zeroOrMorePath ex:next ] ; sh:nodeKind sh:IRI ] ,
                   [ sh:path ex:off ; sh:minCount 1 ; sh:deactivated true ] .
           ex:Implicit a rdfs:Class, sh:NodeShape ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .
           ex:Subjects a sh:NodeShape ; sh:targetSubjectsOf ex:r ; sh:or ( [ sh:datatype xsd:string ] ) .
           ex:Off a sh:NodeShape ; sh:targetClass ex:C ; sh:deactivated true ; sh:class ex:Nothing .""",
        """ex:a a ex:C ; ex:p ex:x ; ex:q ex:y, ex:z .  ex:x ex:q ex:d .
           ex:b a ex:C, ex:Special .  ex:c a ex:C ; ex:r "x"^^xsd:integer ; ex:next [ ex:next "end" ] .
           ex:e a ex:C ; ex:r 5 ; ex:s 1 .  ex:f a ex:C ; ex:s 1, 2 .  ex:d a ex:D .
           ex:g a ex:Implicit .  ex:h a ex:SubImplicit ; ex:p ex:a .
           ex:SubImplicit rdfs:subClassOf ex:Implicit .""",
    ),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_of_each_compiled_component_give_the_same_violations(name: str) -> None:
    shapes_text, data_text = EDGE_CASES[name]
    shapes = Graph().parse(data=SHAPE_PREFIXES + shapes_text, format="turtle")
    terms: dict[str, Node] = {}
    data = Graph()
    for triple in read_turtle((SHAPE_PREFIXES + data_text).encode(), EX, terms=terms)[0]:
        data.add(triple)
    ontology = Graph().parse(data=SHAPE_PREFIXES + "ex:Sub rdfs:subClassOf ex:C .", format="turtle")
    assert len(assert_same(data, shapes, ontology)) > 5


def test_literals_oxigraph_would_store_as_other_terms_send_the_shapes_to_pyshacl() -> None:
    """Oxigraph keeps a typed literal in its canonical form, and xsd:int as xsd:integer: SHACL tells
    ``"1.0"^^xsd:decimal`` from ``"1"^^xsd:decimal`` (two values, one too many here), so pySHACL validates."""
    shapes = Graph().parse(
        data=SHAPE_PREFIXES + "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:maxCount 1 ] , "
        "[ sh:path ex:q ; sh:datatype xsd:int ] .",
        format="turtle",
    )
    data = Graph().parse(
        data=SHAPE_PREFIXES + 'ex:a a ex:C ; ex:p 1.0, 1.00 ; ex:q "1"^^xsd:int, "99999999999"^^xsd:int .',
        format="turtle",
    )
    reasons: list[str] = []
    found = validate(data, shapes, Graph(), on_fallback=reasons.append)
    assert [r.split(":")[0] for r in reasons] == ["the shapes are validated by pySHACL"]
    assert "Oxigraph would store 4 literals of the data as other terms" in reasons[0]
    assert found == validate_with_pyshacl(data, shapes, Graph())
    assert "ex:p" in {v.path for v in found}


def test_shapes_the_compiler_does_not_support_are_validated_by_pyshacl(
    project: tuple[Graph, Graph, Graph],
) -> None:
    data, ontology, shapes = project
    unsupported = Graph()
    for triple in shapes:
        unsupported.add(triple)
    unsupported.parse(
        data=SHAPE_PREFIXES
        + """ex:Models a sh:NodeShape ; sh:targetClass ck:CollaborationModel ;
                 sh:property [ sh:path rdfs:label ; sh:maxLength 5 ] ;
                 sh:not [ sh:class ck:Determinant ] .""",
        format="turtle",
    )
    reasons: list[str] = []
    found = validate(data, unsupported, ontology, on_fallback=reasons.append)
    assert reasons == ["the shapes are validated by pySHACL: sh:maxLength, sh:not are not compiled to SPARQL"]
    assert found == validate_with_pyshacl(data, unsupported, ontology)
    assert {v.source_shape for v in found} == {"ex:Models property rdfs:label"}


def test_the_shapes_of_the_project_compile_entirely(project: tuple[Graph, Graph, Graph]) -> None:
    """No part of ontology/shapes.ttl sends the build back to pySHACL."""
    _, _, shapes = project
    assert len(compile_shapes(shapes).constraints) > 90


def test_the_ontology_loaded_for_the_shapes_leaves_the_checks_as_they_were(
    project: tuple[Graph, Graph, Graph], broken: dict[str, Graph]
) -> None:
    """The ontology's triples sit in a graph of their own, which the checks do not query."""
    data, ontology, _ = project
    for graph in (data, *broken.values()):
        alone, beside = Checks(graph), Checks(graph, ontology)
        for file in sorted((ROOT / "queries" / "checks").glob("*-violation.rq")):
            query = file.read_text(encoding="utf-8")
            assert beside.run(query, file.name) == alone.run(query, file.name)
