"""Linked data over the real built graph: IRIs that resolve (303s), pages, data, the vocabulary, VoID, dumps."""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from collabkg.formats import GRAPH_FORMATS, N_QUADS, TRIG
from collabkg.namespaces import (
    CITO,
    CK,
    EXPLANATIONS_GRAPH,
    GRAPH,
    ID,
    INFERRED_GRAPH,
    SD,
    VOID,
    statement_iri,
)
from collabkg.store.base import DatasetSource
from collabkg.web import create_app, dataset, pages
from conftest import DATA, EX, ROOT, LiveServer, evidence_client
from flask import Flask
from flask.testing import FlaskClient
from rdflib import OWL, RDF, RDFS, BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import PROV
from rdflib.term import Node

RDFLIB_NAMES = {
    "ttl": "turtle",
    "nt": "nt",
    "jsonld": "json-ld",
    "rdf": "xml",
    "trig": "trig",
    "nq": "nquads",
}
UI_BUILD = ROOT / "ui" / "node_modules" / "@zazuko" / "yasgui" / "build"


@pytest.fixture(scope="module")
def app(built_dataset: Path) -> Flask:
    """One app for the module: pages only read it."""
    return create_app({"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def union(dataset: Dataset) -> set[tuple[object, object, object]]:
    return {triple for triple, _ in dataset.store.triples((None, None, None), None)}


def same_triples(one: set[tuple[object, object, object]], other: set[tuple[object, object, object]]) -> bool:
    """As many triples, and the same ones without blank nodes (two parses cannot match blank nodes)."""

    def named(triples: set[tuple[object, object, object]]) -> set[tuple[object, object, object]]:
        return {t for t in triples if not any(isinstance(term, BNode) for term in t)}

    return len(one) == len(other) and named(one) == named(other)


def parse(data: bytes, extension: str) -> Dataset:
    dataset = Dataset(default_union=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset.parse(data=data, format=RDFLIB_NAMES[extension])
    return dataset


# --- /id: content negotiation --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
def test_each_rdf_format_is_a_303_to_the_data(client: FlaskClient, fmt) -> None:
    response = client.get("/id/model/partnership", headers={"Accept": fmt.media_type})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/data/model/partnership.{fmt.name}"
    assert "Accept" in response.vary
    data = client.get(response.headers["Location"])
    assert data.status_code == 200
    assert data.mimetype == fmt.media_type
    described = parse(data.data, fmt.name)
    assert (ID["model/partnership"], RDFS.label, Literal("Partnership", lang="en")) in described


def test_a_browser_is_sent_to_the_page(client: FlaskClient) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/id/model/partnership", headers={"Accept": accept})
    assert response.status_code == 303
    assert response.headers["Location"] == "/page/model/partnership"
    assert "Accept" in response.vary
    page = client.get("/page/model/partnership")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<h1>Partnership</h1>" in page.text


def test_curl_gets_turtle_and_format_overrides_accept(client: FlaskClient) -> None:
    assert client.get("/id/model/partnership").headers["Location"].endswith(".ttl")
    response = client.get("/id/model/partnership?format=nt", headers={"Accept": "text/html"})
    assert response.headers["Location"] == "/data/model/partnership.nt"


def test_deep_iris_resolve(client: FlaskClient) -> None:
    response = client.get("/id/study/andersson-2011/ref/14", headers={"Accept": "text/html"})
    assert response.headers["Location"] == "/page/study/andersson-2011/ref/14"
    assert client.get(response.headers["Location"]).status_code == 200


def test_nothing_acceptable_is_406(client: FlaskClient) -> None:
    response = client.get("/id/model/partnership", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/id/model/no-such-model",
        "/page/model/no-such-model",
        "/data/model/no-such-model.ttl",
        "/data/model/partnership.docx",
        "/data/model/partnership",
        "/id/study/andersson-2011/ref/999",
        "/dumps/collabkg.xml",
    ],
)
def test_unknown_is_a_404_page(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>Not found</h1>" in response.text


def test_quad_formats_keep_inferred_statements_apart(client: FlaskClient, served: Dataset) -> None:
    colocation, partnership = ID["model/co-location"], ID["model/partnership"]
    for fmt in (TRIG, N_QUADS):
        described = parse(client.get(f"/data/model/co-location.{fmt.name}").data, fmt.name)
        inferred = described.graph(INFERRED_GRAPH)
        assert (colocation, CK.combinesWith, partnership) in inferred
        assert (partnership, CK.combinesWith, colocation) in described.graph(GRAPH["andersson-2011"])
    # The description holds the served statements about the resource, each in its graph (reified statements
    # are blank nodes, which two parses cannot match: they are counted).
    described = parse(client.get("/data/model/co-location.trig").data, "trig")

    def quads(dataset: Dataset, s: object, o: object) -> list[tuple[object, ...]]:
        return [
            (qs, qp, qo, g.identifier if isinstance(g, Graph) else g)
            for qs, qp, qo, g in dataset.quads((s, None, o, None))
        ]

    for s, o in ((colocation, None), (None, colocation)):
        expected, got = quads(served, s, o), quads(described, s, o)
        assert len(got) == len(expected)
        assert {q for q in expected if not isinstance(q[0], BNode)} == {
            q for q in got if not isinstance(q[0], BNode)
        }
    # ...plus the labels of the neighbours.
    assert (CK.combinesWith, RDFS.label, Literal("combines with", lang="en")) in described


# --- Pages ---------------------------------------------------------------------------------------------------


def test_page_shows_words_marks_inferences_and_links(client: FlaskClient) -> None:
    page = client.get("/page/model/co-location").text
    assert page.index("<h1>Co-location</h1>") < page.index("Different organizations involved")
    assert ">combines with</a>" in page and ">identified in</a>" in page and ">type</a>" in page
    # An inferred value is marked, and links to the explanation (the resource's evidence trail).
    inferred = re.search(
        r'<li class="is-inferred" data-ck-inferred="true">\s*<span class="value"><a href="([^"]+)"[^>]*>Partnership</a>',
        page,
    )
    assert inferred is not None and inferred.group(1) == "/page/model/partnership"
    # ...and its badge links to the page of its explanation, which says why in words.
    why = statement_iri((ID["model/co-location"], CK.combinesWith, ID["model/partnership"]))
    link = f"/page/{why[len(ID) :]}"
    assert f'class="inferred" href="{link}"' in page
    explanation = client.get(link).text
    assert "<h1>Why Co-location combines with Partnership</h1>" in explanation
    assert "symmetric property" in explanation and "Partnership combines with Co-location" in explanation
    # Asserted values are not marked.
    assert re.search(r'<li>\s*<span class="value"><a href="/page/study/andersson-2011"', page)
    assert 'href="/trail/model/co-location/cite">Cite this</a>' in page
    assert 'href="/vocab#combinesWith"' in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert re.search(r'<a href="/page/model/co-location" class="model highlight"', page)


def test_past_the_models_drawn_pages_list_the_models_without_a_map(
    built_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph of more models than :data:`DRAWN_MODELS` (a generated one of a million triples has 6,270: a
    2.2 MB map on every model's page) gets no map of models: the landing page lists them, a model's page
    shows its own statements."""
    monkeypatch.setattr(pages, "DRAWN_MODELS", 3)
    client = create_app(
        {"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]}
    ).test_client()
    model = client.get("/page/model/co-location", headers={"Accept": "text/html"}).text
    assert "Among the collaboration models" not in model and "<h1>Co-location</h1>" in model
    landing = client.get("/", headers={"Accept": "text/html"}).text
    assert 'class="model-map"' not in landing and 'href="/page/model/co-location"' in landing


def test_the_landing_page_lists_so_many_of_each_kind_and_says_where_the_rest_are(
    built_dataset: Path, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past :data:`LISTED` entries a list of the landing page stops and says how many there are, linking the
    canned query that lists them all (a generated graph of a million triples listed 13,000 links)."""
    assert "The first" not in client.get("/", headers={"Accept": "text/html"}).text
    monkeypatch.setattr(dataset, "LISTED", 2)
    app = create_app({"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]})
    landing = " ".join(app.test_client().get("/", headers={"Accept": "text/html"}).text.split())
    models = re.search(r"The first 2 of (\d+) models; <a href=\"/queries/models\">all of them</a>", landing)
    determinants = re.search(
        r"The first 2 of (\d+) determinants; <a href=\"/queries/determinants\">", landing
    )
    assert models and int(models[1]) > 2 and determinants and int(determinants[1]) > 2
    listed = re.search(r"<h2>Determinants</h2> <ul>(.*?)</ul>", landing)
    assert listed and listed[1].count("<li>") == 2


def test_a_page_lists_so_many_values_of_a_property_and_says_how_many_there_are(
    built_dataset: Path, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past :data:`SHOWN` values of a property a page lists that many, the first in order of value, of those
    the page lists whole, says how many there are and links the canned query that lists every value; the description as data stays whole (a
    country of a generated million-triple graph had a page of 1.3 MB)."""

    def values(page: str) -> list[list[str]]:
        """The links of each list of values, in the page's order."""
        lists = re.findall(r'<ul class="values">(.*?)</ul>', page, re.S)
        return [re.findall(r'<a href="([^"]+)" title=', found) for found in lists]

    html = {"Accept": "text/html"}
    whole = client.get("/page/country/se", headers=html).text
    data = client.get("/data/country/se.nt").text
    assert " here; all of them" not in whole
    monkeypatch.setattr(pages, "SHOWN", 2)
    bounded_client = create_app(
        {"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]}
    ).test_client()
    bounded = " ".join(bounded_client.get("/page/country/se", headers=html).text.split())
    totals = re.findall(
        r'<p class="muted">2 of (\d+) here; all of them: <a href="/queries/resource\?resource='
        r'https://w3id.org/collabkg/id/country/se">the canned query <code>resource</code></a>.</p>',
        bounded,
    )
    long_lists = [links for links in values(whole) if len(links) > 2]
    assert totals and sorted(map(int, totals)) == sorted(len(links) for links in long_lists)
    # Of a long list, the first two in order of value (every link here is a page of this server: the order of
    # the IRIs is the order of their links).
    first_two = {frozenset(sorted(links)[:2]) for links in long_lists}
    shown = [links for links in values(bounded) if frozenset(links) in first_two]
    assert len(shown) == len(long_lists)
    listed = [link for links in values(whole) for link in links]
    for links in values(bounded):
        assert len(links) <= 2 and set(links) <= set(listed)
    assert isomorphic(
        Graph().parse(data=bounded_client.get("/data/country/se.nt").text, format="nt"),
        Graph().parse(data=data, format="nt"),
    )


def test_pages_of_every_kind_render(client: FlaskClient) -> None:
    for path in ("study/andersson-2011", "determinant/trust", "country/se", "study/andersson-2011/ref/14"):
        response = client.get(f"/page/{path}")
        assert response.status_code == 200, path
        assert "<h1>" in response.text


@pytest.fixture
def xss_client() -> Iterator[FlaskClient]:
    app = create_app(
        {
            "TESTING": True,
            "PROJECT_ROOT": str(ROOT),
            "DATASET_FILES": [DatasetSource(DATA / "pages.ttl", GRAPH["pages-test"])],
        }
    )
    yield app.test_client()


def test_a_literal_with_a_script_shows_as_text(xss_client: FlaskClient) -> None:
    for url in ("/page/model/xss", "/page/model/plain", "/"):
        page = xss_client.get(url).text
        assert "<script>alert" not in page, url
        assert "&lt;script&gt;alert(" in page, url
    page = xss_client.get("/page/model/xss").text
    assert "<b>markup</b>" not in page and "&lt;b&gt;markup&lt;/b&gt; &amp; an ampersand" in page


def test_landing_page_counts_and_entry_points(client: FlaskClient, served: Dataset) -> None:
    page = client.get("/").text
    models = set(served.subjects(RDF.type, CK.CollaborationModel))
    assert f"<tr><td>{len(models)}</td><td>collaboration models</td></tr>" in page
    references = set(served.subjects(RDF.type, CK.Reference))
    assert f"<tr><td>{len(references)}</td><td>numbered references</td></tr>" in page
    for name in ("andersson-2011", "inferred", "ontology"):
        size = len(served.graph(GRAPH[name]))
        assert f"<tr><td>{size}</td><td><code>{GRAPH[name]}</code></td></tr>" in page
    for link in (
        "/page/model/pooled-budgets",
        "/page/determinant/trust",
        "/page/study/cameron-2000",
        "/sparql",
        "/vocab",
        "/void",
        "/ui",
        "/queries/models",
    ):
        assert f'href="{link}' in page or f'href="http://localhost{link}' in page, link
    assert "http://localhost/dumps/collabkg.trig" in page


# --- The vocabulary ------------------------------------------------------------------------------------------


def test_vocab_is_documented_by_pylode(client: FlaskClient) -> None:
    response = client.get("/vocab", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "Accept" in response.vary
    for term in ("combinesWith", "moreComplexThan", "CollaborationModel", "StructuralModel", "identifiedIn"):
        assert f'id="{term}"' in response.text, term
    assert "combines with" in response.text
    assert "pyLODE" in response.text


@pytest.mark.parametrize(
    "media_type, extension",
    [("text/turtle", "ttl"), ("application/rdf+xml", "rdf"), ("application/ld+json", "jsonld")],
)
def test_vocab_as_rdf(client: FlaskClient, media_type: str, extension: str) -> None:
    response = client.get("/vocab", headers={"Accept": media_type})
    assert response.mimetype == media_type and "Accept" in response.vary
    ontology = parse(response.data, extension)
    assert (CK.combinesWith, RDF.type, OWL.SymmetricProperty) in ontology
    assert (URIRef("https://w3id.org/collabkg/vocab"), RDF.type, OWL.Ontology) in ontology


# --- VoID and dumps ------------------------------------------------------------------------------------------


def test_void_counts_are_the_datasets(client: FlaskClient, served: Dataset) -> None:
    response = client.get("/.well-known/void")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    void = parse(response.data, "ttl")
    dataset = next(void.subjects(RDF.type, VOID.Dataset, unique=True))
    while (None, VOID.subset, dataset) in void:  # the root, not a subset
        dataset = next(void.subjects(VOID.subset, dataset))

    def number(subject, prop) -> int:
        return int(void.value(subject, prop))

    triples = union(served)
    assert number(dataset, VOID.triples) == len(triples)
    assert number(dataset, VOID.distinctSubjects) == len({s for s, _, _ in triples})
    assert number(dataset, VOID.distinctObjects) == len({o for _, _, o in triples})
    classes = {o for _, p, o in triples if p == RDF.type}
    properties = {p for _, p, _ in triples}
    assert number(dataset, VOID.classes) == len(classes)
    assert number(dataset, VOID.properties) == len(properties)
    partitions = {
        void.value(part, VOID["class"]): number(part, VOID.entities)
        for part in void.objects(dataset, VOID.classPartition)
    }
    assert partitions[CK.CollaborationModel] == len(set(served.subjects(RDF.type, CK.CollaborationModel)))
    by_property = {
        void.value(part, VOID.property): number(part, VOID.triples)
        for part in void.objects(dataset, VOID.propertyPartition)
    }
    assert by_property[CK.combinesWith] == sum(1 for _, p, _ in triples if p == CK.combinesWith)
    subsets = {
        void.value(sub, SD.name): number(sub, VOID.triples) for sub in void.objects(dataset, VOID.subset)
    }
    assert subsets == {g.identifier: len(g) for g in served.graphs() if len(g)}
    dumps = {str(url) for url in void.objects(dataset, VOID.dataDump)}
    assert dumps == {f"http://localhost/dumps/collabkg.{ext}" for ext in ("ttl", "nt", "trig", "jsonld")}
    assert void.value(dataset, VOID.sparqlEndpoint) == URIRef("http://localhost/sparql")
    assert void.value(dataset, VOID.uriSpace) == Literal("https://w3id.org/collabkg/id/")
    assert URIRef("https://creativecommons.org/licenses/by/4.0/") in set(
        void.objects(dataset, URIRef("http://purl.org/dc/terms/license"))
    )
    assert void.value(dataset, OWL.versionInfo) is not None
    assert URIRef(str(CK)) in set(void.objects(dataset, VOID.vocabulary))
    assert len(parse(client.get("/void").data, "ttl")) == len(void)


@pytest.mark.parametrize("extension", ["ttl", "nt", "trig", "jsonld"])
def test_dumps_parse_and_revalidate(client: FlaskClient, served: Dataset, extension: str) -> None:
    """A dump is streamed from a file: each response is closed, as a server closes it."""

    def get(**headers: str) -> tuple[int, bytes, dict[str, str]]:
        with client.get(f"/dumps/collabkg.{extension}", headers=headers) as response:
            return response.status_code, response.data, dict(response.headers)

    status, data, headers = get()
    assert status == 200
    dump = parse(data, extension)
    assert same_triples(union(dump), union(served))
    if extension in ("trig", "jsonld"):
        assert {g.identifier: len(g) for g in dump.graphs() if len(g)} == {
            g.identifier: len(g) for g in served.graphs() if len(g)
        }
    etag, modified = headers["ETag"], headers["Last-Modified"]
    status, data, _ = get(**{"If-None-Match": etag})
    assert status == 304 and not data
    assert get(**{"If-Modified-Since": modified})[0] == 304
    assert get(**{"If-None-Match": '"other"'})[0] == 200


# --- The query UI --------------------------------------------------------------------------------------------


def test_ui_without_yasgui_says_how_to_install_and_shows_no_path(make_app, tmp_path: Path) -> None:
    page = make_app(UI_DIR=str(tmp_path)).test_client().get("/ui").text
    assert "npm ci --prefix ui" in page
    assert str(tmp_path) not in page and str(ROOT) not in page  # the server's folders are not the visitor's
    assert "yasgui.min.js" not in page


@pytest.mark.skipif(not UI_BUILD.is_dir(), reason="YASGUI is not installed: run `npm ci` in ui/")
def test_ui_serves_yasgui_from_this_server(client: FlaskClient) -> None:
    page = client.get("/ui").text
    assert '<script src="/ui/yasgui/yasgui.min.js">' in page
    assert not re.search(r'(src|href)="https?://', page)  # nothing from another host
    assert '"name": "combining-models"' in page or '"name":"combining-models"' in page
    script = client.get("/ui/yasgui/yasgui.min.js")
    assert script.status_code == 200 and len(script.data) > 100_000
    script.close()
    assert client.get("/ui/yasgui/package.json").status_code == 404


# --- A linked-data client over HTTP --------------------------------------------------------------------------


@pytest.mark.live
def test_rdflib_follows_every_model_iri(live_built_server: LiveServer, served: Dataset) -> None:
    models = sorted(set(served.subjects(RDF.type, CK.CollaborationModel)))
    assert len(models) >= 11
    for model in models:
        graph = Graph()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            graph.parse(live_built_server.url + "/id/" + model[len(ID) :])
        label = served.value(model, RDFS.label)
        assert (model, RDFS.label, label) in graph, model
        combinations = set(served.objects(model, CK.combinesWith))
        assert combinations == set(graph.objects(model, CK.combinesWith)), model
        for other in combinations:
            assert graph.value(other, RDFS.label) is not None
    colocation = set(served.objects(ID["model/co-location"], CK.combinesWith))
    assert (
        ID["model/partnership"] in colocation
    )  # asserted only the other way round: the inferred one is there


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/void", "text/turtle"),
        ("/.well-known/void", "text/turtle"),
        ("/sparql", "text/turtle"),
        ("/sparql", "text/html"),
        ("/queries", "application/json"),
        ("/queries", "text/html"),
        ("/ui", "text/html"),
        ("/", "text/html"),
    ],
)
def test_what_the_service_says_about_itself_uses_its_base_url_never_the_host(
    make_app, path: str, accept: str
) -> None:
    """A forged Host header could otherwise plant another server's URL in VoID, the service description or
    the query listings (cached by clients and crawlers); the service names itself by BASE_URL only."""
    client = make_app(BASE_URL="https://kg.example.org").test_client()
    response = client.get(path, headers={"Host": "evil.example", "Accept": accept})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "evil.example" not in body
    if path != "/":
        assert "https://kg.example.org/" in body


# --- Pages that read well -------------------------------------------------------------------------------------


def test_a_determinant_s_findings_are_grouped_by_polarity_with_quote_section_and_references(
    client: FlaskClient, served: Dataset
) -> None:
    page = client.get("/page/determinant/communication").text
    findings = page[page.index('<section id="findings"') : page.index("<h2>Collaboration and evidence</h2>")]
    # Barrier, facilitator, both, in the ontology's order, then the claims that are no finding.
    order = [findings.index(f'<section id="{key}"') for key in ("barrier", "facilitator", "two-sided")]
    assert order == sorted(order)
    for finding in served.subjects(CK.aboutDeterminant, ID["determinant/communication"]):
        if (finding, RDF.type, CK.Finding) not in served:
            continue
        polarity = {CK.barrier: "barrier", CK.facilitator: "facilitator", CK.twoSided: "two-sided"}[
            served.value(finding, CK.polarity)
        ]
        group = findings[findings.index(f'<section id="{polarity}"') :]
        group = group[: group.index("</section>")]
        card = group[group.index(f'<li id="{finding.rsplit("/", 1)[-1]}">') :]
        card = card[: card.index("</li>")]
        assert html.escape(str(served.value(finding, CK.quote)), quote=False) in card
        assert str(served.value(finding, CK.section)) in card
        for reference in served.objects(finding, CITO.citesAsEvidence):
            assert f"[{served.value(reference, CK.referenceNumber)}]" in card
    assert "Lack of communication or insufficient dialogue between the actors" in findings


def test_a_finding_the_source_hedges_says_how_firmly_and_with_which_words(
    client: FlaskClient, served: Dataset
) -> None:
    """Every card says what the graph holds of its claim's strength: a hedged claim its strength and its
    hedging words as printed, a plain one nothing (on the pages of trust and of partnership)."""
    for path in ("determinant/trust", "model/partnership"):
        page = client.get(f"/page/{path}").text
        about = ID[path]
        claims = set(served.subjects(CK.aboutDeterminant, about)) | set(
            served.subjects(CK.concernsModel, about)
        )
        hedged = 0
        for claim in claims:
            card = page[page.index(f'<li id="{claim.rsplit("/", 1)[-1]}">') :]
            card = card[: card.index("</li>")]
            strength = served.value(claim, CK.strength)
            if strength is None or strength == CK.stated:
                assert 'class="hedge"' not in card, claim
                continue
            hedged += 1
            assert f"Stated as <strong>{served.value(strength, RDFS.label)}</strong>" in card, claim
            for word in served.objects(claim, CK.hedge):
                assert f"“{html.escape(str(word), quote=False)}”" in card, (claim, word)
        assert hedged > 0, path
    trust = client.get("/page/determinant/trust").text
    card = trust[trust.index("Trust may be a result of communication") :]
    assert "Stated as <strong>tentative</strong>: the source says “may”." in card[: card.index("</li>")]


def test_no_page_shows_an_unnamed_node_or_a_hash(client: FlaskClient) -> None:
    for path in (
        "determinant/trust",
        "model/partnership",
        "model/co-location",
        "study/andersson-2011",
        "claim/andersson-2011-partnership-combinations",
        "person/andersson-j",
    ):
        page = client.get(f"/page/{path}").text
        assert "(an unnamed node)" not in page, path
        text = re.sub(r"<[^>]+>", " ", page)
        assert "/explanation/" not in text and "/statement/" not in text, path  # as links only, never as text


def test_the_links_the_sources_make_read_as_sentences_with_their_claims(client: FlaskClient) -> None:
    page = client.get("/page/model/partnership").text
    stated = page[page.index('<section id="statements"') :]
    stated = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", stated[: stated.index("</section>")]))
    assert "Partnership combines with Co-location — stated by " in stated
    assert "Partnerships may be combined with co-location as well as pooling of budgets" in stated


@pytest.fixture(scope="module")
def small() -> FlaskClient:
    return evidence_client()


def test_a_statement_iri_dereferences_to_a_readable_page(small: FlaskClient) -> None:
    response = small.get("/id/statement/m1-m2", headers={"Accept": "text/html"})
    assert response.status_code == 303 and response.headers["Location"] == "/page/statement/m1-m2"
    page = small.get("/page/statement/m1-m2").text
    assert (
        '<h1><a href="/page/model/m1">Model one</a> <a href="/vocab#combinesWith">combines with</a> '
        '<a href="/page/model/m2">Model two</a></h1>' in page
    )
    assert "The link itself is asserted in evidence-test." in page
    stated_by = page[page.index("<h2>Stated by</h2>") :]
    assert '<a class="finding-title" href="/page/claim/c1">Model one is used with model two</a>' in stated_by
    assert (
        "The first model is often used together with the second [3]." in stated_by
        and "cites [3]" in stated_by
    )
    data = small.get("/id/statement/m1-m2", headers={"Accept": "text/turtle"})
    assert data.status_code == 303 and data.headers["Location"] == "/data/statement/m1-m2.ttl"


def test_a_model_page_links_its_statements_by_iri_and_reads_blank_ones(small: FlaskClient) -> None:
    page = small.get("/page/model/m1").text
    stated = page[page.index('<section id="statements"') :]
    stated = stated[: stated.index("</section>")]
    assert stated.count("<li>") == 2  # m1 combines with m2 (an IRI), m2 combines with m1 (a blank node)
    assert stated.count('href="/page/statement/m1-m2"') == 1
    assert "(an unnamed node)" not in page


def test_a_page_lists_the_first_200_links_the_sources_make_and_says_how_many(tmp_path: Path) -> None:
    """Past 200 statements about a resource, its page lists the first 200 in order of predicate, subject and
    object, with their claims, and says how many there are (a country of the 10M project, Sweden, is in
    1,551); the statements are blank nodes, as the real graph's are, so the order is not their labels'."""
    lines = [
        "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .",
        "@prefix ck: <https://w3id.org/collabkg/vocab#> .",
        "@prefix claim: <https://w3id.org/collabkg/id/claim/> .",
        "@prefix model: <https://w3id.org/collabkg/id/model/> .",
    ]
    for n in range(203):
        lines.append(
            f"claim:c{n:03d} ck:supportsStatement [ a rdf:Statement ; rdf:subject model:hub ; "
            f"rdf:predicate ck:p{n % 2} ; rdf:object model:o{n:03d} ] ."
        )
    (tmp_path / "many.ttl").write_text("\n".join(lines) + "\n")
    app = create_app(
        {
            "PROJECT_ROOT": str(ROOT),
            "DATASET_FILES": [DatasetSource(tmp_path / "many.ttl", URIRef(EX + "many"))],
        }
    )
    page = " ".join(app.test_client().get("/page/model/hub").text.split())
    stated = page[page.index('<section id="statements"') :]
    stated = stated[: stated.index("</section>")]
    assert '<p class="muted">200 of 203 here, the first by link; all of them: ' in stated
    assert stated.count("<li>") == 200
    # ck:p0 has the even objects (102 of them), ck:p1 the odd: the first 200 leave out the last three of p1's.
    objects = set(re.findall(r'href="/page/model/o(\d{3})"', stated))
    assert objects == {f"{n:03d}" for n in range(203)} - {"197", "199", "201"}
    claims = set(re.findall(r'href="/trail/claim/c(\d{3})"', stated))
    assert claims == objects  # each link with the claim that states it


def test_an_unknown_or_wrong_statement_or_explanation_is_404(small: FlaskClient) -> None:
    assert small.get("/page/statement/nothing").status_code == 404
    assert small.get("/page/explanation/nothing").status_code == 404
    assert small.get("/page/statement/../model/m1").status_code in (404, 308)


def test_an_explanation_page_says_why_down_to_the_claims(client: FlaskClient, served: Dataset) -> None:
    inferred = served.graph(INFERRED_GRAPH)
    s, o = next(
        (s, o)
        for s, o in sorted(inferred.subject_objects(CK.moreComplexThan))
        if (s, CK.moreComplexThan, o) not in served.graph(GRAPH["andersson-2011"])
    )
    why = statement_iri((s, CK.moreComplexThan, o))
    response = client.get(f"/id/{why[len(ID) :]}", headers={"Accept": "text/html"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    labels = [str(served.value(term, RDFS.label)) for term in (s, o)]
    assert f"<h1>Why {labels[0]} more complex than {labels[1]}</h1>" in page
    assert "transitive property" in page
    # Each premise links to its own explanation page, each claim to its evidence trail.
    premises = re.findall(r'<li><a href="(/page/explanation/[0-9a-f]+)">', page)
    assert premises and all(client.get(p).status_code == 200 for p in premises)
    claims = re.findall(r'<a href="(/trail/claim/[a-z0-9-]+)">', page)
    assert claims and all(client.get(c).status_code == 200 for c in claims)


def test_a_rule_application_dereferences_named_by_its_rule_and_axiom(
    client: FlaskClient, served: Dataset
) -> None:
    """The node an inference was generated by (``prov:wasGeneratedBy``) is an IRI, linked from the
    explanation's page, with a page and data of its own, its title the rule and the term whose axiom it
    applied."""
    why = statement_iri((ID["model/co-location"], CK.combinesWith, ID["model/partnership"]))
    application = served.value(why, PROV.wasGeneratedBy)
    assert isinstance(application, URIRef) and application.startswith(f"{ID}rule-application/prp-symp-")
    # The explanation's page links to it.
    assert f'href="/page/{application[len(ID) :]}"' in client.get(f"/page/{why[len(ID) :]}").text
    response = client.get(f"/id/{application[len(ID) :]}", headers={"Accept": "text/html"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    label = served.value(CK.combinesWith, RDFS.label)
    assert f"<h1>symmetric property (prp-symp), applied to {label}</h1>" in page.text
    # What it derived: every inference it generated (fewer than the 200 a page lists), linked to its explanation.
    derived = set(served.subjects(PROV.wasGeneratedBy, application))
    assert 1 < len(derived) < 200
    assert f"{len(derived)} inferred statements, each linked to its explanation" in page.text
    listed = re.findall(r'<li><a href="/page/(explanation/[0-9a-f]+)">([^<]+)</a></li>', page.text)
    assert {ID[path] for path, _ in listed} == derived
    assert (why[len(ID) :], "Co-location combines with Partnership") in listed
    data = Graph().parse(data=client.get(f"/data/{application[len(ID) :]}.ttl").text, format="turtle")
    assert (application, RDF.type, CK.RuleApplication) in data
    assert (application, CK.axiomOf, CK.combinesWith) in data
    assert (why, PROV.wasGeneratedBy, application) in data


def test_an_explanation_page_counts_what_was_inferred_from_it_and_lists_it(
    client: FlaskClient, served: Dataset
) -> None:
    """The premise the most inferences of the real graph derive from: its page counts them and lists each,
    linked to its explanation."""
    uses: dict[Node, set[Node]] = {}
    for inference, premise in served.subject_objects(PROV.wasDerivedFrom):
        uses.setdefault(premise, set()).add(inference)
    premise, inferences = max(sorted(uses.items()), key=lambda item: len(item[1]))
    assert 1 < len(inferences) < 200 and isinstance(premise, URIRef)
    page = client.get(f"/page/{premise[len(ID) :]}").text
    assert f"<p>{len(inferences)} inferred statements, each linked to its explanation:</p>" in page
    listed = re.findall(
        r'<li><a href="/page/(explanation/[0-9a-f]+)">', page[page.index("inferred from it") :]
    )
    assert {ID[path] for path in listed} == inferences


def test_an_explanation_page_lists_200_of_the_inferences_of_a_premise_and_counts_them_all(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """A premise of many inferences (an axiom of the ontology has 96,883 in the 1M project): the page lists 200,
    unordered so that the store stops there, and says how many there are."""
    explanation = f"{ID}explanation/"
    lines = [
        f"<{explanation}{0:032x}> a <{CK.AssertedStatement}> ; <{RDF.subject}> <{EX}s> ; "
        f"<{RDF.predicate}> <{EX}p> ; <{RDF.object}> <{EX}o> ; <{CK.inGraph}> <{GRAPH['x']}> ."
    ] + [
        f"<{explanation}{n:032x}> a <{CK.Inference}> ; <{RDF.subject}> <{EX}s{n}> ; <{RDF.predicate}> <{EX}p> ; "
        f"<{RDF.object}> <{EX}o> ; <{PROV.wasDerivedFrom}> <{explanation}{0:032x}> ."
        for n in range(1, 206)
    ]
    trig = tmp_path / "many.trig"
    trig.write_text(f"<{EXPLANATIONS_GRAPH}> {{\n" + "\n".join(lines) + "\n}\n", encoding="utf-8")
    app = make_app(DATASET_FILES=[DatasetSource(trig)])
    page = app.test_client().get(f"/page/explanation/{0:032x}")
    assert page.status_code == 200
    assert "<p>205 inferred statements, 200 of them here, each linked to its explanation:</p>" in page.text
    assert len(re.findall(r'<li><a href="/page/explanation/[0-9a-f]{32}">', page.text)) == 200


def test_an_explanation_page_names_a_blank_node_as_such_not_by_its_label(
    client: FlaskClient, served: Dataset
) -> None:
    """What was inferred from a statement about a blank node (a claim's reified statement, ``ck:supportedBy``
    read backwards) names the node ``[]``, as the explanation does: its label is the store's, new at each load,
    and means nothing to a reader."""
    premise, subject = next(
        (premise, subject)
        for inference, premise in sorted(served.subject_objects(PROV.wasDerivedFrom))
        if isinstance(subject := served.value(inference, RDF.subject), BNode)
    )
    page = client.get(f"/page/{premise[len(ID) :]}").text
    assert re.search(r'<li><a href="/page/explanation/[0-9a-f]+">\[\] ', page)
    assert str(subject) not in page and not re.search(r">[0-9a-f]{30,32} ", page)


# --- One layout, nothing inline --------------------------------------------------------------------------------


class _Inline(HTMLParser):
    """What a strict Content-Security-Policy would block, and what every page must have."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.stylesheets: list[str] = []
        self.search_forms = 0
        self.main = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "style" or "style" in found:
            self.blocked.append(f"style in <{tag}>")
        if (
            tag == "script"
            and "src" not in found
            and found.get("type") not in ("application/ld+json", "application/json")
        ):
            self.blocked.append("inline script")
        self.blocked += [f"{name} on <{tag}>" for name in found if name.startswith("on")]
        self.blocked += [
            f"javascript: in <{tag}>" for value in found.values() if (value or "").startswith("javascript:")
        ]
        if tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found.get("href") or "")
        if tag == "form" and found.get("role") == "search":
            self.search_forms += 1
        if tag == "main":
            self.main += 1


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/page/model/partnership",
        "/page/determinant/trust",
        "/trail/model/partnership",
        "/trail/finding/andersson-2011-trust-1",
        "/search",
        "/search?q=trust",
        "/map",
        "/queries",
        "/sparql",
        "/ui",
        "/page/model/no-such-model",
    ],
)
def test_every_page_has_the_one_layout_and_nothing_inline(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.mimetype == "text/html"
    parser = _Inline()
    parser.feed(response.text)
    assert parser.blocked == [], path
    assert parser.stylesheets[0] == "/static/collabkg.css" and parser.main == 1, path
    assert parser.search_forms >= 1, path
    stylesheet = client.get("/static/collabkg.css")
    assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"
    stylesheet.close()


def test_lists_read_as_their_members_in_order(client: FlaskClient) -> None:
    page = client.get("/page/study/andersson-2011").text
    row = page[page.index(">list of authors</a>") :]
    row = re.sub(r"<[^>]+>", "", row[: row.index("</tr>")])
    names = [line.strip() for line in row.splitlines() if line.strip()][1:]
    assert names == ["Andersson J", "Ahgren B", "Bihari Axelsson S", "Eriksson A", "Axelsson R"]
    person = client.get("/page/person/andersson-j").text
    assert '… <a href="http://purl.org/ontology/bibo/authorList"' in person
    assert '<a href="/page/study/andersson-2011"' in person


def test_a_claim_page_reads_the_links_it_supports(client: FlaskClient) -> None:
    page = client.get("/page/claim/andersson-2011-partnership-combinations").text
    stated = page[page.index('<section id="statements"') :]
    stated = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", stated[: stated.index("</section>")]))
    assert "Partnership combines with Co-location — stated by Partnerships may be combined" in stated
    assert "supports statement" not in page and "supported by" not in page.lower().replace("<", " <")
