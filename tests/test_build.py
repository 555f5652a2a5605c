"""The build pipeline, run for real on small project trees: the real ontology, a few shapes, a little data."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as oxigraph
import pytest
from click.testing import CliRunner
from collabkg.build import BuildError, ValidationFailed, build, parse_turtle, read_turtle
from collabkg.cli import main
from collabkg.manifest import Manifest
from collabkg.namespaces import (
    CITO,
    CK,
    EXPLANATIONS_GRAPH,
    GRAPH,
    ID,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    WD,
    data_graph,
)
from collabkg.paths import ProjectPaths, project_paths
from collabkg.queryfiles import statistics_queries
from collabkg.store.base import BuildUnavailable, DatasetSource
from collabkg.store.oxigraph import load_files, open_built
from collabkg.store.query import DatasetSelection, prepare
from collabkg.store.union import takes_union
from collabkg.web import create_app
from conftest import ROOT, TURTLE_PREFIXES, serve_graphs
from flask import Flask
from rdflib import OWL, RDF, RDFS, SKOS, XSD, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import VOID

ONTOLOGY = ROOT / "ontology" / "collabkg.ttl"
SEARCH_DOCUMENTS = ROOT / "queries" / "pages" / "search-documents.rq"

MODEL = Namespace(ID["model/"])
STUDY = Namespace(ID["study/"])
FINDING = Namespace(ID["finding/"])
DETERMINANT = Namespace(ID["determinant/"])
COUNTRY = Namespace(ID["country/"])
REF_1 = STUDY["r/ref/1"]


#: One review with four models in a complexity chain d < c < b < a, a determinant, a finding and references.
REVIEW = (
    TURTLE_PREFIXES
    + """
study:r a ck:Review ; rdfs:label "A review" ; ck:coversCountry country:se ; ck:referenceCount 3 .
<https://w3id.org/collabkg/id/study/r/ref/1> a ck:Reference ;
    ck:referenceNumber 1 ; ck:inReferenceListOf study:r .
<https://w3id.org/collabkg/id/study/r/ref/2> a ck:Reference ;
    ck:referenceNumber 2 ; ck:inReferenceListOf study:r .

model:a a ck:CollaborationModel ; rdfs:label "pooled budgets" ; ck:orientation ck:structuralOrientation ;
    ck:organizationalLevel ck:macroLevel ; ck:identifiedIn study:r ; ck:moreComplexThan model:b .
model:b a ck:CollaborationModel ; rdfs:label "co-location" ; ck:orientation ck:structuralOrientation ;
    ck:organizationalLevel ck:mesoLevel ; ck:identifiedIn study:r ; ck:moreComplexThan model:c ;
    ck:combinesWith model:c .
model:c a ck:CollaborationModel ; rdfs:label "partnership" ; ck:orientation ck:structuralOrientation ;
    ck:identifiedIn study:r ; ck:moreComplexThan model:d .
model:d a ck:CollaborationModel ; rdfs:label "information exchange" ; ck:orientation ck:processOrientation ;
    ck:organizationalLevel ck:microLevel ; ck:identifiedIn study:r .

determinant:trust a ck:Determinant ; rdfs:label "trust" ; ck:identifiedIn study:r .
finding:trust-helps a ck:Finding ; ck:polarity ck:facilitator ; ck:aboutDeterminant determinant:trust ;
    ck:reportedIn study:r ; ck:section "Results" ; ck:quote "Trust helps." ;
    cito:citesAsEvidence <https://w3id.org/collabkg/id/study/r/ref/1> .
"""
)

COUNTRIES = (
    TURTLE_PREFIXES
    + """
country:se a ck:Country ; rdfs:label "Sweden"@en ; ck:isoAlpha2 "SE" ; owl:sameAs wd:Q34 .
"""
)

SHAPES = """\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ck: <https://w3id.org/collabkg/vocab#> .
@prefix cito: <http://purl.org/spar/cito/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix shape: <https://w3id.org/collabkg/shapes#> .

shape:Finding a sh:NodeShape ; sh:targetClass ck:Finding ;
    sh:property [ sh:path ck:polarity ; sh:minCount 1 ; sh:maxCount 1 ] ;
    sh:property [ sh:path ck:reportedIn ; sh:minCount 1 ; sh:class ck:Study ] ;
    sh:property [ sh:path cito:citesAsEvidence ; sh:class ck:Reference ] .

shape:Model a sh:NodeShape ; sh:targetClass ck:CollaborationModel ;
    sh:property [ sh:path rdfs:label ; sh:minCount 1 ; sh:message "a model has a label"@en ] .

shape:Determinant a sh:NodeShape ; sh:targetClass ck:Determinant ;
    sh:property [ sh:path [ sh:inversePath ck:aboutDeterminant ] ; sh:minCount 1 ;
                  sh:message "a determinant has a finding about it" ] .

shape:Reference a sh:NodeShape ; sh:targetClass ck:Reference ;
    sh:sparql [
        sh:message "reference number {?n} is beyond the {?count} references of its review" ;
        sh:select \"\"\"
            PREFIX ck: <https://w3id.org/collabkg/vocab#>
            SELECT $this ?n ?count WHERE {
                $this ck:referenceNumber ?n ; ck:inReferenceListOf/ck:referenceCount ?count .
                FILTER (?n > ?count)
            }\"\"\" ] .
"""

#: A whole-graph check: its rows are violations. No ?message, so its summary is the message.
CHECK = """\
#+ summary: A review names the countries it covers.
PREFIX ck: <https://w3id.org/collabkg/vocab#>
SELECT ?focus ?path WHERE {
    ?focus a ck:Review .
    FILTER NOT EXISTS { ?focus ck:coversCountry ?country }
    BIND (ck:coversCountry AS ?path)
}
"""

#: A finding without polarity citing a non-reference, a model without label, a reference out of range, a
#: determinant without findings, a review without countries.
BROKEN = (
    TURTLE_PREFIXES
    + """
finding:no-polarity a ck:BarrierFinding ; ck:reportedIn study:r ; cito:citesAsEvidence model:a .
model:nameless a ck:CollaborationModel .
determinant:unused a ck:Determinant ; rdfs:label "unused" .
study:q a ck:Review .
<https://w3id.org/collabkg/id/study/r/ref/9> a ck:Reference ;
    ck:referenceNumber 9 ; ck:inReferenceListOf study:r .
"""
)


def make_tree(root: Path, **extra_data: str) -> ProjectPaths:
    """A tree with the real ontology, the shapes and check above, the review and countries, ``extra_data``."""
    (root / "ontology").mkdir(parents=True)
    shutil.copy(ONTOLOGY, root / "ontology" / "collabkg.ttl")
    (root / "ontology" / "shapes.ttl").write_text(SHAPES, encoding="utf-8")
    (root / "queries" / "checks").mkdir(parents=True)
    (root / "queries" / "checks" / "countryless-review-violation.rq").write_text(CHECK, encoding="utf-8")
    (root / "queries" / "pages").mkdir()  # the build indexes the words that this query selects
    shutil.copy(SEARCH_DOCUMENTS, root / "queries" / "pages" / SEARCH_DOCUMENTS.name)
    shutil.copytree(
        ROOT / "queries" / "void", root / "queries" / "void"
    )  # the build counts for VoID with these
    (root / "data").mkdir()
    for name, text in {"review-r": REVIEW, "countries": COUNTRIES, **extra_data}.items():
        (root / "data" / f"{name}.ttl").write_text(text, encoding="utf-8")
    return project_paths(root, root / "build")  # its own build/ folder, whatever the environment says


def load(paths: ProjectPaths) -> Dataset:
    dataset = Dataset()
    dataset.parse(paths.dataset_file, format="trig")
    return dataset


def assert_no_output(paths: ProjectPaths) -> None:
    """Neither output, nor a temporary file that a reader could mistake for one."""
    assert not paths.dataset_file.exists()
    assert not paths.manifest_file.exists()
    assert [p.name for p in paths.build_dir.iterdir() if p.name != ".lock"] == []


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ProjectPaths:
    """One successful build, shared by the tests that only read its output."""
    paths = make_tree(tmp_path_factory.mktemp("tree"))
    build(paths)
    return paths


@pytest.fixture(scope="module")
def inferred(built: ProjectPaths) -> Graph:
    return load(built).graph(INFERRED_GRAPH)


# --- a good build -------------------------------------------------------------------------------------------


def test_build_writes_one_named_graph_per_input_and_the_inferred_graph(built: ProjectPaths) -> None:
    dataset = load(built)
    sizes = {g.identifier: len(g) for g in dataset.graphs() if len(g)}
    assert set(sizes) == {
        ONTOLOGY_GRAPH,
        data_graph("review-r"),
        data_graph("countries"),
        INFERRED_GRAPH,
        EXPLANATIONS_GRAPH,
    }
    assert sizes[data_graph("countries")] == len(Graph().parse(data=COUNTRIES, format="turtle"))
    assert sizes[ONTOLOGY_GRAPH] == len(Graph().parse(ONTOLOGY))

    manifest = json.loads(built.manifest_file.read_text())
    assert set(manifest["inputs"]) == {
        "ontology/collabkg.ttl",
        "ontology/shapes.ttl",
        "data/countries.ttl",
        "data/review-r.ttl",
        "queries/checks/countryless-review-violation.rq",
        "queries/pages/search-documents.rq",
        *(f"queries/void/{name}.rq" for name in ("classes", "license", "properties", "totals")),
    }
    assert manifest["graphs"] == {str(name): size for name, size in sizes.items()}
    assert set(manifest["timings"]) == {
        "parse",
        "validate",
        "reason",
        "explain",
        "write",
        "store",
        "void",
        "answers",
        "index",
        "total",
    }
    assert {"rdflib", "owlrl", "pyshacl", "pyoxigraph", "code_sha256"} <= set(manifest["code"])


def test_the_build_counts_for_void_what_the_server_would_count(built: ProjectPaths) -> None:
    """The build counts the VoID numbers of its store once (a pass over every triple) and keeps them in the
    manifest: the same numbers as a server counting the written dataset on first need, by the same queries
    (``queries/void/``) on a store it loads itself."""
    manifest = Manifest.read(built)
    assert manifest is not None and manifest.counts is not None
    loaded = load_files([DatasetSource(built.dataset_file)])
    counted = loaded.counts(statistics_queries(built.queries_dir), limit=1_000_000)
    assert manifest.counts == counted.to_json()
    assert counted.triples == manifest.union_size and counted.distinct_subjects > 0 and counted.classes
    store, _ = open_built(built)
    assert store.counts(statistics_queries(built.queries_dir), limit=1) == counted


def test_void_is_served_from_the_build_s_counts(tmp_path: Path) -> None:
    """The server states the counts the build made, not counts of its own: changed in the manifest, the
    served VoID description changes with them."""
    paths = make_tree(tmp_path)
    build(paths)
    manifest = json.loads(paths.manifest_file.read_text())
    manifest["output"]["void_counts"]["distinct_subjects"] = 987_654
    paths.manifest_file.write_text(json.dumps(manifest))
    app = create_app(
        {"TESTING": True, "PROJECT_ROOT": str(paths.root), "CANNED_QUERIES_DIR": str(ROOT / "queries")}
    )
    void = Graph().parse(data=app.test_client().get("/.well-known/void").data, format="turtle")
    assert Literal(987_654) in set(void.objects(None, VOID.distinctSubjects))

    del manifest["output"]["void_counts"]["classes"]
    paths.manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(BuildUnavailable, match="VoID counts are unreadable"):
        open_built(paths)


def test_the_served_store_holds_the_dataset_file_s_graphs_and_their_union(built: ProjectPaths) -> None:
    """The build writes the served store (Oxigraph, on disk) beside the TriG, in a folder named by the
    dataset's hash that the manifest names: the same quads in the same named graphs. The graphs share no
    triple, so the store's own default graph is left empty and a query takes their union, each triple once
    (what the service's default graph is)."""
    manifest = json.loads(built.manifest_file.read_text())
    folder = built.build_dir / manifest["output"]["store"]
    assert folder.name.startswith("store-") and folder.is_dir()
    store = oxigraph.Store.read_only(str(folder))
    written = oxigraph.Dataset(oxigraph.parse(path=built.dataset_file, format=oxigraph.RdfFormat.TRIG))
    named = list(store)
    assert all(isinstance(quad.graph_name, oxigraph.NamedNode) for quad in named)
    assert takes_union(store)
    assert len(named) == len(written) == sum(manifest["graphs"].values())
    assert {str(g.value) for g in store.named_graphs()} == set(manifest["graphs"])
    ground = [q for q in written if not isinstance(q.subject, oxigraph.BlankNode | oxigraph.Triple)]
    ground = [q for q in ground if not isinstance(q.object, oxigraph.BlankNode)]
    assert ground and all(quad in store for quad in ground)
    union = {
        (row["s"], row["p"], row["o"])
        for row in store.query("SELECT * WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
    }
    assert (
        len(union)
        == manifest["output"]["union_size"]
        == len({(q.subject, q.predicate, q.object) for q in named})
    )


def test_graphs_sharing_a_triple_give_a_store_holding_their_union(tmp_path: Path) -> None:
    """Two data files may state one triple (a country both reviews name, say): Oxigraph's union would count it
    twice, so the store holds the union as its default graph, each triple once, and serves that."""
    paths = make_tree(tmp_path, more=COUNTRIES)  # every triple of countries.ttl, in a second graph
    build(paths)
    manifest = json.loads(paths.manifest_file.read_text())
    store = oxigraph.Store.read_only(str(paths.build_dir / manifest["output"]["store"]))
    assert not takes_union(store)
    shared = len(oxigraph.Dataset(oxigraph.parse(COUNTRIES.encode(), format=oxigraph.RdfFormat.TURTLE)))
    assert shared > 1
    assert manifest["output"]["union_size"] == sum(manifest["graphs"].values()) - shared
    served = open_built(paths)[0]
    count = prepare("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    [[n]] = served.evaluate(count, limit=1).result
    assert int(n) == manifest["output"]["union_size"]


def test_a_query_naming_its_dataset_is_not_given_the_union(built: ProjectPaths) -> None:
    """Oxigraph's union option overrides a query's FROM clauses: a store that takes the union gives it only to
    queries that name no dataset. FROM, FROM NAMED alone, and the protocol's parameters get what they name."""
    store = open_built(built)[0]
    assert takes_union(oxigraph.Store.read_only(str(store.path)))
    countries = str(data_graph("countries"))
    count = "SELECT (COUNT(*) AS ?n) {from} WHERE {{ ?s ?p ?o }}"

    def size(text: str, selection: DatasetSelection | None = None) -> int:
        [[n]] = store.evaluate(prepare(text), selection=selection, limit=1).result
        return int(n)

    whole = size(count.format(**{"from": ""}))
    assert whole == json.loads(built.manifest_file.read_text())["output"]["union_size"]
    assert size(count.format(**{"from": f"FROM <{countries}>"})) == 4
    assert size(count.format(**{"from": f"FROM NAMED <{countries}>"})) == 0
    assert size(count.format(**{"from": ""}), DatasetSelection.of([URIRef(countries)], [])) == 4
    assert size(count.format(**{"from": ""}), DatasetSelection.of([], [URIRef(countries)])) == 0


def test_the_union_a_store_takes_is_dumped_as_the_union_a_store_holds(
    built: ProjectPaths, tmp_path: Path
) -> None:
    """The triple dumps (Turtle, N-Triples) are the union: written from the named graphs when the store
    takes the union, from its default graph when it holds it; the same triples either way."""
    taken = open_built(built)[0]
    held = load_files([DatasetSource(built.dataset_file)])
    for store, name in ((taken, "taken"), (held, "held")):
        for extension in ("nt", "ttl"):
            store.dump(extension, tmp_path / f"{name}.{extension}")
    graphs = {
        file.name: {
            triple
            for triple in oxigraph.parse(path=file, format=oxigraph.RdfFormat.from_extension(file.suffix[1:]))
            if not isinstance(triple.subject, oxigraph.BlankNode)
            and not isinstance(triple.object, oxigraph.BlankNode)
        }
        for file in tmp_path.iterdir()
    }
    assert len(graphs) == 4 and len(set(map(frozenset, graphs.values()))) == 1
    [[n]] = taken.evaluate(prepare("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), limit=1).result
    assert sum(
        1 for _ in oxigraph.parse(path=tmp_path / "taken.nt", format=oxigraph.RdfFormat.N_TRIPLES)
    ) == int(n)


def test_the_store_loaded_in_parts_is_the_store_loaded_at_once(
    built_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quads go to Oxigraph's loader in parts (which bounds its memory): in parts of under a hundred, the
    store holds the same quads, and a blank node (a claim's reified statement, which its source's graph holds
    and the explanations name, far apart in the file) is one node across the parts and between its graph and
    the union."""
    from collabkg.store import oxigraph as served_store

    sources = [DatasetSource(built_dataset)]  # the real graph's: its claims' statements are blank nodes
    served_store.write_store(tmp_path / "whole", sources)
    monkeypatch.setattr(served_store, "LOAD_PART", 97)
    served_store.write_store(tmp_path / "parts", sources)
    sizes = served_store.sizes_of(oxigraph.Store.read_only(str(tmp_path / "whole")))
    assert served_store.sizes_of(oxigraph.Store.read_only(str(tmp_path / "parts"))) == sizes
    assert sizes[""] > 10 * 97

    shared = f"""
        PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        SELECT (COUNT(DISTINCT ?node) AS ?nodes) (COUNT(*) AS ?joined) WHERE {{
            ?explanation rdf:subject ?node .
            GRAPH <{GRAPH["andersson-2011"]}> {{ ?node ?p ?o }}
            FILTER (isBlank(?node))
        }}"""

    def counts(folder: Path) -> tuple[int, int]:
        [row] = oxigraph.Store.read_only(str(folder)).query(shared)
        return int(row["nodes"].value), int(row["joined"].value)

    whole = counts(tmp_path / "whole")
    assert counts(tmp_path / "parts") == whole
    nodes, joined = whole
    assert 0 < nodes < joined


def test_outputs_are_readable_by_the_server_user_whoever_builds(built: ProjectPaths) -> None:
    """Outputs are written to private temporary files, then opened to all readers (never to writers) before
    they take their names: a server running as another user can read them, and nobody else can change them."""
    outputs = [built.dataset_file, built.manifest_file]
    assert [stat.S_IMODE(path.stat().st_mode) for path in outputs] == [0o644] * len(outputs)


def test_inferred_graph_holds_nothing_asserted_and_no_noise(built: ProjectPaths, inferred: Graph) -> None:
    dataset = load(built)
    asserted = [g for g in dataset.graphs() if g.identifier not in (INFERRED_GRAPH, EXPLANATIONS_GRAPH)]
    builtins = (str(RDF), str(RDFS), str(OWL), str(XSD))
    assert len(inferred) > 0
    for s, p, o in inferred:
        assert not any((s, p, o) in g for g in asserted), (s, p, o)
        assert not isinstance(s, Literal), (s, p, o)  # literal typing, literal sameAs
        assert not str(s).startswith(builtins), (s, p, o)
        assert not (s == o and str(p).startswith(builtins)), (s, p, o)  # x sameAs x, C subClassOf C
        assert p not in (RDFS.domain, RDFS.range), (s, p, o)
    objects = set(inferred.objects())
    assert not objects & {OWL.Thing, OWL.Nothing, RDFS.Resource, RDFS.Datatype, OWL.Class, RDFS.Class}
    assert not any(str(o).startswith(builtins) for o in objects)


def test_inferred_graph_holds_the_real_consequences(inferred: Graph) -> None:
    expected = [
        # symmetric: b combinesWith c is asserted
        (MODEL.c, CK.combinesWith, MODEL.b),
        # transitive over the chain a > b > c > d
        (MODEL.a, CK.moreComplexThan, MODEL.c),
        (MODEL.a, CK.moreComplexThan, MODEL.d),
        (MODEL.b, CK.moreComplexThan, MODEL.d),
        # inverses
        (MODEL.d, CK.lessComplexThan, MODEL.a),
        (STUDY.r, CK.identifies, MODEL.a),
        (DETERMINANT.trust, CK.hasFinding, FINDING["trust-helps"]),
        (STUDY.r, CK.reports, FINDING["trust-helps"]),
        (COUNTRY.se, CK.coveredBy, STUDY.r),
        # classes defined by owl:hasValue restrictions
        (MODEL.a, RDF.type, CK.StructuralModel),
        (MODEL.a, RDF.type, CK.MacroLevelModel),
        (MODEL.d, RDF.type, CK.ProcessModel),
        (MODEL.d, RDF.type, CK.MicroLevelModel),
        (FINDING["trust-helps"], RDF.type, CK.FacilitatorFinding),
        # property chains
        (MODEL.a, CK.identifiedInReviewCovering, COUNTRY.se),
        (DETERMINANT.trust, CK.evidenceReference, REF_1),
        (STUDY.r, CITO.citesAsEvidence, REF_1),
        # superclasses and the structural models' second classification
        (FINDING["trust-helps"], RDF.type, CK.Claim),
        (MODEL.b, RDF.type, CK.InterorganizationalModel),
        (STUDY.r, RDF.type, CK.Study),
        # the sameAs link is mirrored...
        (WD.Q34, OWL.sameAs, COUNTRY.se),
    ]
    missing = [t for t in expected if t not in inferred]
    assert missing == []
    # ...but statements are not copied onto the alias
    assert (STUDY.r, CK.coversCountry, WD.Q34) not in inferred
    assert (WD.Q34, RDF.type, CK.Country) not in inferred
    # a model without orientation or level value is not classified by them
    assert (MODEL.c, RDF.type, CK.MesoLevelModel) not in inferred


@pytest.mark.parametrize(
    "file",
    [
        *sorted((ROOT / "ontology").glob("*.ttl")),
        *sorted((ROOT / "data").glob("*.ttl")),
    ],
    ids=lambda file: file.name,
)
def test_the_fast_turtle_parser_reads_what_rdflib_reads(file: Path) -> None:
    """Oxigraph's parser, converted to rdflib terms, gives the graph rdflib's own parser gives."""
    base = file.resolve().as_uri()
    fast = parse_turtle(file.read_bytes(), base)
    assert isomorphic(fast, Graph().parse(file, format="turtle", publicID=base))


def test_the_fast_turtle_parser_shares_one_term_object_per_iri_across_documents() -> None:
    terms: dict = {}
    first, _ = read_turtle(b"<http://e/a> <http://e/p> <http://e/b> .", "http://e/", terms=terms)
    second, prefixes = read_turtle(b"@prefix e: <http://e/> . e:b e:p [] .", "http://e/", terms=terms)
    [(_, _, b)], [(b_again, _, blank)] = first, second
    assert b is b_again
    assert blank not in {term for triple in first for term in triple}
    assert prefixes == {"e": "http://e/"}


# --- failures leave nothing behind --------------------------------------------------------------------------


def test_malformed_turtle_names_file_line_and_parser_message_and_writes_nothing(tmp_path: Path) -> None:
    paths = make_tree(tmp_path, broken=TURTLE_PREFIXES + '\nmodel:x rdfs:label "unterminated ;\n')
    line = (TURTLE_PREFIXES + "\n").count("\n") + 1

    with pytest.raises(BuildError) as failure:
        build(paths)

    assert not isinstance(failure.value, ValidationFailed)
    message = str(failure.value)
    assert message.startswith(f"data/broken.ttl:{line}:20: the string opened here is never closed")
    assert message.endswith('\n    model:x rdfs:label "unterminated ;')
    assert_no_output(paths)


#: Statements after the broken one, many, so that a parser which reads on names a line far away: each has a
#: long string over two lines, as the ontology's definitions do.
AFTER = "".join(
    f'model:m{n} rdfs:label "model {n}" ;\n    skos:definition """A model,\n    number {n}.""" .\n'
    for n in range(200)
)


@pytest.mark.parametrize(
    ("broken", "column", "words"),
    [
        pytest.param('model:x rdfs:label "no closing quote ;', 20, "not closed on its line", id="short"),
        pytest.param(
            'model:x skos:definition """no closing quotes ;', 25, 'is its closing """ missing?', id="long"
        ),
        pytest.param(
            "model:x skos:definition '''no closing quotes ;", 25, "is never closed", id="long-to-the-end"
        ),
        pytest.param('model:x rdfs:label "no dot"', 28, "A dot is expected", id="missing-dot"),
        pytest.param("model:x rdfs:seeAlso <https://example.org/a b> .", 22, "Invalid IRI", id="bad-iri"),
        pytest.param("model:x ck:combinesWith nope:y .", 25, "nope: has not been declared", id="prefix"),
    ],
)
def test_a_parse_error_names_the_line_and_column_of_the_fault_however_far_the_parser_read(
    tmp_path: Path, broken: str, column: int, words: str
) -> None:
    """The fault is on the line after the prefixes, with hundreds of lines after it; the error names that line
    and the column of the fault (for a missing dot, where the dot belongs), and shows the line."""
    line = TURTLE_PREFIXES.count("\n") + 1
    paths = make_tree(tmp_path, broken=TURTLE_PREFIXES + broken + "\n" + AFTER)

    with pytest.raises(BuildError) as failure:
        build(paths)

    message = str(failure.value)
    assert message.startswith(f"data/broken.ttl:{line}:{column}: "), message
    assert words in message.splitlines()[0]
    assert message.endswith(f"\n    {broken}")


def test_a_missing_dot_at_the_end_of_a_file_is_named_where_the_dot_belongs(tmp_path: Path) -> None:
    """The parser notices at the end of the file, after a comment and blank lines."""
    last = 'model:x rdfs:label "no final dot"'
    paths = make_tree(tmp_path, broken=TURTLE_PREFIXES + AFTER + last + "  # the last\n\n# the end\n\n")
    line = (TURTLE_PREFIXES + AFTER).count("\n") + 1

    with pytest.raises(BuildError) as failure:
        build(paths)

    assert str(failure.value).startswith(
        f"data/broken.ttl:{line}:{len(last) + 1}: Triples should be followed"
    )


#: A string left open, near the end of the countries' file: a build of it fails at this line.
UNCLOSED = 'country:no rdfs:label "Norway ;\ncountry:dk rdfs:label "Denmark"@en .\n'
UNCLOSED_LINE = COUNTRIES.count("\n") + 1
#: Counts the quads of the named graphs.
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def output_files(paths: ProjectPaths) -> dict[str, bytes]:
    """Every file of the build folder (the stores' too) but the lock, by path, with its bytes."""
    return {
        file.relative_to(paths.build_dir).as_posix(): file.read_bytes()
        for file in sorted(paths.build_dir.rglob("*"))
        if file.is_file() and file.name != ".lock"
    }


def break_countries(paths: ProjectPaths) -> None:
    (paths.data_dir / "countries.ttl").write_text(COUNTRIES + UNCLOSED, encoding="utf-8")


def test_a_failed_build_keeps_the_last_good_output_as_it_was(tmp_path: Path) -> None:
    """Whatever fails, parsing or validating, the manifest, the dataset, the store and the search index of the
    last good build stay byte for byte, and it can be opened as the server opens it, when asked to serve a
    stale build (it is stale: its inputs changed)."""
    paths = make_tree(tmp_path)
    build(paths)
    good = output_files(paths)
    manifest = Manifest.read(paths)
    assert manifest is not None and set(manifest.outputs()) <= {name.split("/")[0] for name in good}

    break_countries(paths)
    with pytest.raises(BuildError, match=rf"^data/countries\.ttl:{UNCLOSED_LINE}:23: "):
        build(paths)
    assert output_files(paths) == good
    (paths.data_dir / "countries.ttl").write_text(COUNTRIES, encoding="utf-8")
    (paths.data_dir / "broken.ttl").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(ValidationFailed):
        build(paths)
    assert output_files(paths) == good

    with pytest.raises(BuildUnavailable, match=r"stale \(data/broken\.ttl is new\)"):
        open_built(paths)
    store, served = open_built(paths, allow_stale=True)
    assert served == manifest
    assert store.path == paths.build_dir / manifest.store


def test_the_collector_makes_no_automatic_pass_during_a_build_and_is_given_back_as_it_was(
    tmp_path: Path,
) -> None:
    """The build pauses the cyclic collector's automatic passes (at a million triples they took 29 % of its
    Python stages); its one pass is the explicit full collection before the store is loaded. The process gets
    the collector back as it was, after a build that succeeds and one that fails."""
    paths = make_tree(tmp_path)
    passes: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.callbacks.append(record)
    try:
        # The last stage's line ends the work; the collector is back once the build returns, and its first
        # automatic pass may follow at once.
        build(paths, log=lambda line: passes.append(-1) if line.startswith("index") else None)
    finally:
        gc.callbacks.remove(record)
    assert passes[: passes.index(-1)] == [2]
    assert gc.isenabled()

    break_countries(paths)
    with pytest.raises(BuildError):
        build(paths)
    assert gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(BuildError):
            build(paths)
        assert not gc.isenabled()  # left off, as the caller had it
    finally:
        gc.enable()


def test_the_build_keeps_its_last_two_outputs_and_names_the_last_collabkg_trig(tmp_path: Path) -> None:
    """A server running on the output before the last one keeps working; older ones go. ``collabkg.trig`` is
    the dataset the manifest names."""
    paths = make_tree(tmp_path)
    manifests = []
    for label in ("first", "second", "third"):
        (paths.data_dir / "extra.ttl").write_text(
            TURTLE_PREFIXES + f'model:a skos:altLabel "{label}" .\n', encoding="utf-8"
        )
        build(paths)
        manifests.append(Manifest.read(paths))
        assert paths.dataset_file.read_bytes() == (paths.build_dir / manifests[-1].dataset).read_bytes()
    kept = {path.name for path in paths.build_dir.iterdir()} - {".lock", "manifest.json", "collabkg.trig"}
    assert kept == {*manifests[1].outputs(), *manifests[2].outputs()}


def test_cli_build_that_fails_says_where_and_that_the_previous_build_is_still_served(tmp_path: Path) -> None:
    paths = make_tree(tmp_path)
    assert run_build(paths).exit_code == 0
    manifest = Manifest.read(paths)
    assert manifest is not None
    break_countries(paths)

    result = run_build(paths)

    assert result.exit_code == 2
    assert (
        f"error: data/countries.ttl:{UNCLOSED_LINE}:23: the string opened here is not closed on its line: "
        in result.stderr
    )
    assert f"the previous build (built at {manifest.built_at}) is kept and still served" in result.stderr
    assert "Traceback" not in result.output


def count_quads(app: Flask) -> int:
    response = app.test_client().get(
        "/sparql", query_string={"query": COUNT_QUADS}, headers={"Accept": "application/sparql-results+json"}
    )
    assert response.status_code == 200, response.text
    return int(json.loads(response.data)["results"]["bindings"][0]["n"]["value"])


def test_a_running_app_keeps_answering_across_a_failed_build_and_a_new_one_serves_it_when_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app never builds: a new one refuses the stale output unless told (as serve tells it after a failed
    build); the running one goes on answering from it, its search too."""
    monkeypatch.delenv("COLLABKG_BUILD_DIR", raising=False)  # the tree's own build/
    paths = make_tree(tmp_path)
    build(paths)
    config = {"TESTING": True, "PROJECT_ROOT": str(paths.root), "CANNED_QUERIES_DIR": str(ROOT / "queries")}
    running = create_app(config)
    quads = count_quads(running)
    assert quads == sum(Manifest.read(paths).graphs.values())  # type: ignore[union-attr]

    break_countries(paths)
    with pytest.raises(BuildError):
        build(paths)

    assert count_quads(running) == quads
    found = running.test_client().get("/search?q=partnership&format=json")
    assert found.status_code == 200 and json.loads(found.data)["total"] > 0
    with pytest.raises(BuildUnavailable, match="stale"):
        create_app(config)
    assert count_quads(create_app({**config, "SERVE_STALE_BUILD": True})) == quads


@pytest.mark.live
def test_serve_on_inputs_that_no_longer_build_serves_the_last_good_build_and_says_so(tmp_path: Path) -> None:
    """A server started after someone broke a data file serves the last good build, and says loudly that the
    build failed, where, and which build it serves."""
    paths = make_tree(tmp_path / "tree")
    build(paths)
    manifest = Manifest.read(paths)
    assert manifest is not None
    break_countries(paths)
    environment = {
        "ROOT": paths.root,
        "BUILD_DIR": paths.build_dir,
        "CANNED_QUERIES_DIR": ROOT / "queries",
    }
    with serve_graphs({}, tmp_path, workers=1, config=environment) as server:
        query = urllib.parse.urlencode({"query": COUNT_QUADS})
        request = urllib.request.Request(
            f"{server.endpoint}?{query}", headers={"Accept": "application/sparql-results+json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        log = server.log.read_text()
    assert int(answer["results"]["bindings"][0]["n"]["value"]) == sum(manifest.graphs.values())
    assert "the build failed:" in log
    assert f"error: data/countries.ttl:{UNCLOSED_LINE}:23: " in log
    assert (
        f"serving the PREVIOUS build instead, built at {manifest.built_at} from older inputs "
        "(data/countries.ttl changed)"
    ) in log


def test_violations_of_shapes_and_checks_fail_with_a_sorted_readable_list_and_write_nothing(
    tmp_path: Path,
) -> None:
    paths = make_tree(tmp_path, broken=BROKEN)

    with pytest.raises(ValidationFailed) as failure:
        build(paths)

    lines = str(failure.value).splitlines()
    assert lines[0] == "the data does not conform: 6 violations"
    found = [(v.focus_node, v.path) for v in failure.value.violations]
    assert found == [
        ("<https://w3id.org/collabkg/id/study/r/ref/9>", None),
        ("determinant:unused", "^ck:aboutDeterminant"),
        ("finding:no-polarity", "cito:citesAsEvidence"),
        ("finding:no-polarity", "ck:polarity"),
        ("model:nameless", "rdfs:label"),
        ("study:q", "ck:coversCountry"),
    ]
    assert lines[1:] == [f"  {v}" for v in failure.value.violations]
    assert "reference number 9 is beyond the 3 references of its review [shape:Reference]" in lines[1]
    assert lines[2] == (
        "  determinant:unused ^ck:aboutDeterminant: a determinant has a finding about it"
        " [shape:Determinant property ^ck:aboutDeterminant]"
    )
    assert lines[3].startswith("  finding:no-polarity cito:citesAsEvidence: ")
    assert "model:a" in lines[3]  # the offending value
    assert lines[4].startswith("  finding:no-polarity ck:polarity: Less than 1 values")
    assert lines[4].endswith("[shape:Finding property ck:polarity]")
    assert lines[5] == "  model:nameless rdfs:label: a model has a label [shape:Model property rdfs:label]"
    assert lines[6] == (
        "  study:q ck:coversCountry: A review names the countries it covers."
        " [queries/checks/countryless-review-violation.rq]"
    )
    assert_no_output(paths)


def test_an_inconsistency_the_reasoner_finds_fails_the_build(tmp_path: Path) -> None:
    paths = make_tree(
        tmp_path, odd=TURTLE_PREFIXES + 'model:a ck:complexityRank "seven"^^xsd:positiveInteger .\n'
    )

    with pytest.raises(BuildError, match="inconsistent: Lexical value of the literal 'seven'"):
        build(paths)
    assert_no_output(paths)


def test_a_missing_shapes_file_is_an_error(tmp_path: Path) -> None:
    paths = make_tree(tmp_path)
    paths.shapes_file.unlink()

    with pytest.raises(BuildError, match=r"^ontology/shapes\.ttl: No such file"):
        build(paths)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("SELECT ?focus WHERE { ?focus a }", "the check does not parse or run"),
        ("ASK { ?s ?p ?o }", "a check must be a SELECT query with a ?focus variable"),
        ("SELECT ?s WHERE { ?s ?p ?o }", "a check must be a SELECT query with a ?focus variable"),
    ],
)
def test_an_unusable_check_is_an_error_naming_its_file(tmp_path: Path, query: str, error: str) -> None:
    paths = make_tree(tmp_path)
    (paths.queries_dir / "checks" / "odd-violation.rq").write_text(query, encoding="utf-8")

    with pytest.raises(
        BuildError, match=rf"^queries/checks/odd-violation\.rq: {re.escape(error)}"
    ) as failure:
        build(paths)
    assert not isinstance(failure.value, ValidationFailed)
    assert_no_output(paths)


@pytest.mark.parametrize("name", ["inferred", "ontology", "with space"])
def test_a_data_file_name_that_cannot_name_its_graph_is_an_error(tmp_path: Path, name: str) -> None:
    paths = make_tree(tmp_path, **{name: TURTLE_PREFIXES})

    with pytest.raises(BuildError, match="the file name names the graph"):
        build(paths)


def test_a_served_query_that_does_not_parse_fails_the_build_naming_it(tmp_path: Path) -> None:
    """The canned, page and trail queries are the server's, but the build parses them: a broken one fails
    here, not at a server's start."""
    paths = make_tree(tmp_path)
    broken = paths.queries_dir / "pages" / "broken.rq"
    broken.write_text("#+ summary: broken\nSELECT ?s WHERE { ?s \n", encoding="utf-8")
    with pytest.raises(BuildError, match=re.escape(str(broken))):
        build(paths)
    assert_no_output(paths)
    broken.write_text("#+ summary: fixed\nSELECT ?s WHERE { ?s ?p ?o }\n", encoding="utf-8")
    assert build(paths).rebuilt


# --- rebuild only when an input changed ---------------------------------------------------------------------


def test_a_build_runs_again_only_when_an_input_changed(tmp_path: Path) -> None:
    paths = make_tree(tmp_path)

    assert build(paths).rebuilt
    first = (paths.manifest_file.read_text(), paths.dataset_file.stat().st_mtime_ns)

    # same content: no rebuild, even when a file is touched
    os.utime(paths.data_dir / "review-r.ttl")
    assert not build(paths).rebuilt
    assert (paths.manifest_file.read_text(), paths.dataset_file.stat().st_mtime_ns) == first

    # new content: stale, so it is not served, and a build runs again and the new triple is in it
    with open(paths.data_dir / "review-r.ttl", "a", encoding="utf-8") as data:
        data.write('model:d skos:altLabel "info exchange" .\n')
    with pytest.raises(BuildUnavailable, match=r"stale \(data/review-r\.ttl changed\)"):
        open_built(paths)
    assert build(paths).rebuilt
    manifest = json.loads(paths.manifest_file.read_text())
    assert manifest["inputs"] != json.loads(first[0])["inputs"]
    assert manifest["inputs"]["data/review-r.ttl"] != json.loads(first[0])["inputs"]["data/review-r.ttl"]
    assert (MODEL.d, SKOS.altLabel, Literal("info exchange")) in load(paths).graph(data_graph("review-r"))


def test_a_build_from_other_code_or_a_damaged_output_is_not_current(tmp_path: Path) -> None:
    paths = make_tree(tmp_path)
    assert build(paths).rebuilt

    manifest = json.loads(paths.manifest_file.read_text())
    manifest["code"]["code_sha256"] = "0" * 64
    paths.manifest_file.write_text(json.dumps(manifest))
    assert build(paths).rebuilt

    with open(paths.dataset_file, "a", encoding="utf-8") as dataset:
        dataset.write("\n")
    assert build(paths).rebuilt
    assert not build(paths).rebuilt
    assert build(paths, force=True).rebuilt


def test_build_result_reports_graph_sizes_and_timings(tmp_path: Path) -> None:
    paths = make_tree(tmp_path)

    fresh = build(paths)
    again = build(paths)

    assert (fresh.rebuilt, again.rebuilt) == (True, False)
    assert fresh.graphs == again.graphs == json.loads(paths.manifest_file.read_text())["graphs"]
    assert fresh.graphs[str(INFERRED_GRAPH)] > 0
    assert fresh.timings["total"] >= fresh.timings["reason"] > 0


# --- the command --------------------------------------------------------------------------------------------


def run_build(paths: ProjectPaths, *args: str):
    return CliRunner().invoke(main, ["--root", str(paths.root), "build", *args])


def test_cli_build_prints_progress_per_stage_and_exits_0(tmp_path: Path) -> None:
    paths = make_tree(tmp_path)

    result = run_build(paths)

    assert result.exit_code == 0, result.output
    stages = [line.split()[0] for line in result.stderr.splitlines() if not line.startswith(" ")]
    assert stages == ["parse", "validate", "reason", "explain", "write", "store", "void", "answers", "index"]
    # the tree's shapes have a SPARQL constraint, which is not compiled: the log says why pySHACL validates
    assert "  the shapes are validated by pySHACL: sh:select, sh:sparql are not compiled" in result.stderr
    assert re.search(r"ontology \d{3} triples", result.stderr)  # the ontology's triple count, several hundred
    assert "2 data files" in result.stderr
    assert "triples inferred" in result.stderr
    assert re.search(r"explain .* (\d+) of \1 inferred triples explained", result.stderr)
    assert paths.dataset_file.exists()

    again = run_build(paths)
    assert again.exit_code == 0
    assert again.stderr.startswith("up to date: build/collabkg.trig")


def test_cli_build_exits_1_on_violations_and_lists_them(tmp_path: Path) -> None:
    paths = make_tree(tmp_path, broken=BROKEN)

    result = run_build(paths)

    assert result.exit_code == 1
    assert "the data does not conform: 6 violations" in result.stderr
    assert "  model:nameless rdfs:label: a model has a label" in result.stderr
    assert not paths.dataset_file.exists()


def test_cli_build_exits_2_on_malformed_turtle(tmp_path: Path) -> None:
    paths = make_tree(tmp_path, broken=TURTLE_PREFIXES + "model:x ck:combinesWith nope:y .\n")

    result = run_build(paths)

    assert result.exit_code == 2
    line = TURTLE_PREFIXES.count("\n") + 1
    assert f"error: data/broken.ttl:{line}:25: The prefix nope: has not been declared" in result.stderr
    assert not paths.dataset_file.exists()


# --- reproducible -------------------------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_dataset_file_whatever_the_hash_seed(tmp_path: Path) -> None:
    """The project's graph, built twice in processes with different hash seeds (which order Python's sets and
    hashed dicts of terms differently): the same graphs, the same explanations, byte for byte, and so the same
    store folder."""
    built = []
    for seed in ("1", "2"):
        build_dir = tmp_path / f"build-{seed}"
        environment = os.environ | {"PYTHONHASHSEED": seed, "COLLABKG_BUILD_DIR": str(build_dir)}
        command = [
            sys.executable,
            "-c",
            "from collabkg.cli import main; main()",
            "--root",
            str(ROOT),
            "build",
        ]
        subprocess.run(command, env=environment, check=True, capture_output=True)
        manifest = json.loads((build_dir / "manifest.json").read_text())
        built.append((manifest, (build_dir / manifest["output"]["file"]).read_bytes()))
    (first, first_bytes), (second, second_bytes) = built
    assert first["graphs"] == second["graphs"]  # the explanations' size among them
    assert first_bytes == second_bytes
    assert first["output"]["store"] == second["output"]["store"]
