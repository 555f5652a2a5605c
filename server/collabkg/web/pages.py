"""Linked data for browsers and crawlers: every IRI of the graph resolves, and the dataset presents itself.

- ``/id/{kind}/{slug...}``: the ``https://w3id.org/collabkg/id/...`` IRIs on this server's base. Content
  negotiation answers ``303 See Other`` to the resource's page (``/page/...``) or to its description as data
  (``/data/....ttl``, ``.nt``, ``.jsonld``, ``.rdf``, ``.trig``, ``.nq``), as Pubby and DBpedia do, so the
  IRI names the thing and the documents about it have URLs of their own.
- ``/vocab``: the ontology, as pyLODE's documentation or as RDF.
- ``/``: the landing page; ``/void`` and ``/.well-known/void``: the VoID description; ``/dumps/collabkg.*``:
  the whole dataset; ``/ui``: YASGUI, served from this server, with the canned queries as tabs.

A description is every statement with the resource as subject or object, with the named graph holding it
(``queries/pages/description.rq``), and the labels of its neighbours. TriG, N-Quads and pages keep the graphs, so
inferred statements stay told apart from asserted ones.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from markupsafe import Markup
from rdflib import RDF, BNode, Dataset, Graph, Literal, URIRef
from rdflib.query import Result, ResultRow
from rdflib.term import Node
from werkzeug.exceptions import HTTPException, NotFound

from .. import formats
from ..evidence.trails import KINDS as TRAIL_KINDS
from ..namespaces import CK, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, ONTOLOGY_IRI, PREFIXES
from ..queryfiles import CannedQuery, load_queries
from ..store import Store, new_dataset, sandbox
from . import sparql
from .canned import parsed_in, queries
from .labels import DESCRIPTION_PROPERTIES, LABEL_PROPERTIES, Labels, first_text, short_name
from .modelmap import Combination, MapModel, render_model_map
from .vocabdoc import ontology_documentation
from .void import DUMP_FORMATS, DatasetStatistics, describe_dataset, write_dump

__all__ = ["init_app"]

bp = Blueprint("pages", __name__)

#: What ``/id/...`` negotiates between; the first answers ``*/*`` (curl), browsers ask for HTML by name.
RESOURCE_FORMATS: tuple[formats.Format, ...] = (*formats.GRAPH_FORMATS, formats.HTML)
#: Formats of ``/vocab``: the documentation for people, the ontology as RDF for programs.
VOCAB_FORMATS: tuple[formats.Format, ...] = (
    formats.TURTLE,
    formats.RDF_XML,
    formats.JSON_LD,
    formats.N_TRIPLES,
    formats.HTML,
)
#: The YASGUI files ``/ui`` serves, from ``ui/node_modules`` (installed by ``npm ci`` in ``ui/``).
YASGUI_BUILD = Path("node_modules", "@zazuko", "yasgui", "build")
YASGUI_FILES = frozenset({"yasgui.min.js", "yasgui.min.css"})
#: The counts of the landing page, as the classes counts.rq counts.
COUNTED_CLASSES: tuple[tuple[URIRef, str], ...] = (
    (CK.CollaborationModel, "collaboration models"),
    (CK.Determinant, "determinants"),
    (CK.Finding, "findings"),
    (CK.Review, "reviews"),
    (CK.Reference, "numbered references"),
    (CK.Country, "countries"),
)
#: Sections of a page, by the vocabulary of a property: the graph's own first, then the others.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Collaboration and evidence", ("ck",)),
    ("Meaning and mappings", ("skos", "rdf", "rdfs", "owl")),
    ("Bibliographic and citations", ("dcterms", "cito", "fabio", "prism", "bibo")),
    ("Provenance, people and places", ("prov", "foaf", "schema")),
)


@dataclass
class PagesState:
    """What the pages compute once per app (one app serves one dataset version), each on first need.

    Nothing here is computed at start-up: the first request of a fresh server is usually a query, and counting
    the dataset for VoID or running pyLODE (about a second each) would only delay it.
    """

    store: Store
    queries: dict[str, CannedQuery]
    ui_dir: Path
    #: Dumps written so far, by extension (written on first request).
    dumps: dict[str, bytes] = field(default_factory=dict)

    @functools.cached_property
    def statistics(self) -> DatasetStatistics:
        """The VoID counts, in one pass over the dataset."""
        return DatasetStatistics.of(self.store)

    @functools.cached_property
    def ontology(self) -> Graph | None:
        """The ontology's named graph (``None``: the dataset has no ontology)."""
        return self.store.graph(ONTOLOGY_GRAPH) if ONTOLOGY_GRAPH in self.store.graph_names() else None

    @functools.cached_property
    def vocab_html(self) -> str | None:
        """pyLODE's documentation of the ontology, or ``None`` without one."""
        if self.ontology is None:
            return None
        return ontology_documentation(self.ontology.serialize(format="turtle").encode())


def init_app(app: Flask) -> None:
    """Load ``queries/pages/*.rq`` and register the routes.

    :raises collabkg.queryfiles.QueryFileError: a page query is malformed: the app does not start.
    """
    root = Path(app.config["PROJECT_ROOT"])
    folder = Path(app.config.get("CANNED_QUERIES_DIR") or root / "queries")
    app.extensions["collabkg.pages"] = PagesState(
        store=app.extensions["collabkg.store"],
        queries=load_queries(folder / "pages", parsed=parsed_in(app)),
        ui_dir=Path(app.config.get("UI_DIR") or root / "ui"),
    )
    app.register_blueprint(bp)


def _state() -> PagesState:
    return current_app.extensions["collabkg.pages"]


def _store() -> Store:
    return current_app.extensions["collabkg.store"]


def _answer(name: str, **bindings: Node) -> Result:
    """The result of a page query, under the service's time and size limits."""
    config = current_app.config
    query = _state().queries[name]

    def work(deadline: float) -> Result:
        limit = int(config["RESULT_LIMIT"])
        return (
            _store().evaluate(query.prepared, init_bindings=bindings, limit=limit, deadline=deadline).result
        )

    return sandbox.within(float(config["QUERY_TIMEOUT"]), work)


def _select(name: str, **bindings: Node) -> list[ResultRow]:
    """Rows of a page query, under the service's time and size limits."""
    return list(_answer(name, **bindings))  # type: ignore[arg-type]


# --- Resources: /id, /page, /data ---------------------------------------------------------------------------


def _known(path: str) -> URIRef:
    """The IRI ``id/{path}``, when the graph says anything about it.

    :raises NotFound: the graph does not know it.
    """
    iri = ID[path]
    if not _answer("known", _resource=iri).askAnswer:
        raise NotFound(f"The graph knows no resource {iri}.")
    return iri


def describe(iri: URIRef) -> Dataset:
    """The description of ``iri``: its statements in the graphs that hold them, and its neighbours' labels.

    The statements come from ``description.rq``; the labels of the resources, properties and classes they
    name are looked up by subject and label property (:meth:`~collabkg.store.Store.quads`), which is much
    faster than rdflib joining a label pattern against every neighbour of a much-cited review.
    """
    description = new_dataset()
    neighbours: set[URIRef] = set()
    for row in _select("description", _resource=iri):
        description.graph(row.graph).add((row.subject, row.predicate, row.object))
        neighbours.update(
            term for term in (row.subject, row.predicate, row.object) if isinstance(term, URIRef)
        )
    neighbours.discard(iri)

    def labels(deadline: float) -> list[tuple[Node, Node, Node, URIRef]]:
        return list(_store().quads(neighbours, LABEL_PROPERTIES, deadline=deadline))

    for s, p, o, graph in sandbox.within(float(current_app.config["QUERY_TIMEOUT"]), labels):
        description.graph(graph).add((s, p, o))
    return description


@bp.get("/id/<path:path>")
def resource(path: str) -> Response:
    """The resource's IRI: 303 to its page or its data, as the request's ``Accept`` (or ``format=``) asks."""
    _known(path)
    choice = formats.negotiate(RESOURCE_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    if choice.format is formats.HTML:
        target = url_for(".page", path=path)
    else:
        target = url_for(".data", path=f"{path}.{choice.format.name}")
    response = redirect(target, code=303)
    response.vary.add("Accept")
    return response


@bp.get("/data/<path:path>")
def data(path: str) -> Response:
    """A resource's description in the format its extension names (``/data/model/partnership.ttl``)."""
    stem, _, extension = path.rpartition(".")
    fmt = next((f for f in formats.GRAPH_FORMATS if f.name == extension), None)
    if fmt is None or not stem:
        names = ", ".join(f".{f.name}" for f in formats.GRAPH_FORMATS)
        raise NotFound(f"A description's URL ends in one of {names}.")
    iri = _known(stem)
    body = formats.serialize_dataset(describe(iri), fmt, keep_graphs=fmt in (formats.TRIG, formats.N_QUADS))
    return Response(body, content_type=formats.Choice(fmt, fmt.media_type).content_type)


def href(term: Node) -> str | None:
    """Where a link to ``term`` goes: its page on this server for the graph's own IRIs, else the IRI itself."""
    if not isinstance(term, URIRef):
        return None
    text = str(term)
    if text.startswith(str(ID)):
        return url_for("pages.page", path=text[len(ID) :])
    if text.startswith(str(CK)):
        return url_for("pages.vocab") + "#" + text[len(CK) :]
    if term == ONTOLOGY_IRI:
        return url_for("pages.vocab")
    return text if text.startswith(("http://", "https://")) else None


def _trail_url(term: Node) -> str | None:
    """The evidence trail of a resource that has one (a finding, claim, model or determinant)."""
    if not isinstance(term, URIRef) or not term.startswith(str(ID)):
        return None
    kind, _, slug = term[len(ID) :].partition("/")
    if kind not in TRAIL_KINDS or not slug or "/" in slug:
        return None
    return url_for("trails.show_trail", kind=kind, slug=slug)


@dataclass(frozen=True)
class Value:
    """One value of a property on a page: what it reads as, where it links, and whether it was inferred."""

    text: str
    href: str | None
    #: The IRI (shown on hover) or, for a literal, its language or datatype.
    note: str | None
    inferred: bool
    #: Where the reasoning behind an inferred value can be read (an evidence trail), if anywhere.
    explanation: str | None
    literal: bool


@dataclass(frozen=True)
class Property:
    """A property of the page's resource with its values, labelled."""

    iri: URIRef
    label: str
    href: str | None
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Section:
    title: str
    properties: tuple[Property, ...]


def _value(term: Node, labels: Labels, inferred: bool, explanation: str | None) -> Value:
    if isinstance(term, Literal):
        note = term.language or (short_name(term.datatype) if term.datatype else None)
        return Value(str(term), None, note, inferred, explanation, literal=True)
    if isinstance(term, BNode):
        return Value("(an unnamed node)", None, None, inferred, explanation, literal=False)
    return Value(labels(term), href(term), str(term), inferred, explanation, literal=False)


def _properties(
    statements: Iterable[tuple[URIRef, Node, bool]], labels: Labels, resource: URIRef
) -> list[Property]:
    """Values grouped by property, properties in label order, values asserted first then by text."""
    grouped: dict[URIRef, list[Value]] = {}
    for predicate, value, inferred in statements:
        explanation = (_trail_url(resource) or _trail_url(value)) if inferred else None
        grouped.setdefault(predicate, []).append(_value(value, labels, inferred, explanation))
    return [
        Property(p, labels(p), href(p), tuple(sorted(values, key=lambda v: (v.inferred, v.text.lower()))))
        for p, values in sorted(
            grouped.items(), key=lambda item: (item[0] != RDF.type, labels(item[0]).lower())
        )
    ]


def _section_of(predicate: URIRef) -> str:
    prefix = short_name(predicate).partition(":")[0]
    return next((title for title, prefixes in SECTIONS if prefix in prefixes), "Other")


def _statements(
    description: Dataset, subject: Node | None, obj: Node | None
) -> list[tuple[URIRef, Node, bool]]:
    """``(predicate, other end, inferred)`` of the description's statements matching subject or object."""
    found: dict[tuple[Node, Node, Node], set[Node]] = {}
    for s, p, o, g in description.quads((subject, None, obj, None)):
        found.setdefault((s, p, o), set()).add(g)
    return [
        (p, o if subject is not None else s, graphs == {INFERRED_GRAPH})  # type: ignore[misc]
        for (s, p, o), graphs in found.items()
    ]


@bp.get("/page/<path:path>")
def page(path: str) -> Response:
    """The page of a resource for people: title and description, properties by section, links, the map."""
    iri = _known(path)
    description = describe(iri)
    union = Graph()
    union += (triple for triple, _ in description.store.triples((None, None, None), None))
    labels = Labels(union, *(() if _state().ontology is None else (_state().ontology,)))
    outgoing = _properties(_statements(description, iri, None), labels, iri)
    sections = [
        Section(title, tuple(p for p in outgoing if _section_of(p.iri) == title))
        for title in (*(title for title, _ in SECTIONS), "Other")
    ]
    incoming = _properties(_statements(description, None, iri), labels, iri)
    trail = _trail_url(iri)
    kind = path.partition("/")[0]
    body = render_template(
        "page.html",
        iri=iri,
        kind=kind,
        title=labels(iri),
        description=first_text([union], iri, DESCRIPTION_PROPERTIES),
        sections=[s for s in sections if s.properties],
        incoming=incoming,
        inferred_count=sum(v.inferred for p in (*outgoing, *incoming) for v in p.values),
        trail_url=trail,
        cite_url=None if trail is None else trail + "/cite",
        data_links=[(f, url_for(".data", path=f"{path}.{f.name}")) for f in formats.GRAPH_FORMATS],
        model_map=_model_map(highlight=iri) if kind == "model" else None,
    )
    return Response(body, mimetype="text/html")


# --- The map of models ----------------------------------------------------------------------------------------


def _model_map(highlight: URIRef | None = None) -> Markup | None:
    """The SVG map of the collaboration models (``None`` when the graph has none)."""
    models = [
        MapModel(
            row.model,
            str(row.label),
            None if row.rank is None else int(row.rank),
            None if row.orientation is None else str(row.orientation),
        )
        for row in _select("model-map")
    ]
    if not models:
        return None
    combinations = [
        Combination(row.model, row.other, bool(row.asserted)) for row in _select("model-combinations")
    ]
    svg = render_model_map(models, combinations, href=lambda iri: href(iri) or str(iri), highlight=highlight)
    return Markup(svg)  # built by ElementTree, which escaped every label


# --- The landing page ---------------------------------------------------------------------------------------


@bp.get("/")
def landing() -> Response:
    """What the graph holds, how much of it, and where to start."""
    counts = {row["class"]: int(row["count"]) for row in _select("counts")}
    entries: dict[URIRef, list[tuple[str, str | None]]] = {}
    for row in _select("entry-points"):
        entries.setdefault(row["class"], []).append((str(row.label), href(row.resource)))
    models = [(str(row.label), href(row.model)) for row in _select("model-map")]
    facts: sparql.ServiceFacts = current_app.extensions["collabkg.sparql"]
    body = render_template(
        "landing.html",
        counts=[(label, counts.get(cls, 0)) for cls, label in COUNTED_CLASSES],
        graphs=facts.graphs,
        union_size=facts.default_size,
        models=models,
        determinants=entries.get(CK.Determinant, []),
        reviews=entries.get(CK.Review, []),
        canned=queries().values(),
        dumps=_dump_urls(),
        model_map=_model_map(),
        has_vocab=_state().ontology is not None,
    )
    return Response(body, mimetype="text/html")


# --- The vocabulary -----------------------------------------------------------------------------------------


@bp.get("/vocab")
def vocab() -> Response:
    """The ontology: pyLODE's documentation for browsers, Turtle (or RDF/XML, JSON-LD, N-Triples) otherwise."""
    state = _state()
    if state.ontology is None or state.vocab_html is None:
        raise NotFound("This dataset holds no ontology graph.")
    choice = formats.negotiate(VOCAB_FORMATS, request.accept_mimetypes, request.args.getlist("format"))
    if choice.format is formats.HTML:
        response = Response(state.vocab_html, mimetype="text/html")
    else:
        response = Response(
            formats.serialize_graph(state.ontology, choice.format), content_type=choice.content_type
        )
    response.vary.add("Accept")
    return response


# --- VoID and dumps -----------------------------------------------------------------------------------------


def _dump_urls() -> dict[str, str]:
    return {ext: url_for("pages.dump", extension=ext, _external=True) for ext in DUMP_FORMATS}


@bp.get("/.well-known/void")
@bp.get("/void")
def void() -> Response:
    """The VoID description of the dataset (Turtle unless asked otherwise)."""
    choice = formats.negotiate(
        formats.GRAPH_FORMATS, request.accept_mimetypes, request.args.getlist("format")
    )
    graph = describe_dataset(
        _state().statistics,
        description_url=url_for("pages.void", _external=True),
        sparql_url=url_for("sparql.endpoint", _external=True),
        dump_urls=_dump_urls(),
    )
    response = Response(formats.serialize_graph(graph, choice.format), content_type=choice.content_type)
    response.vary.add("Accept")
    return response


@bp.get("/dumps/collabkg.<extension>")
def dump(extension: str) -> Response:
    """The whole dataset, written once per format; ``ETag`` is the dataset version, so caches revalidate."""
    fmt = DUMP_FORMATS.get(extension)
    if fmt is None:
        raise NotFound(f"Dumps are collabkg.{{{','.join(DUMP_FORMATS)}}}.")
    state = _state()
    if extension not in state.dumps:
        state.dumps[extension] = write_dump(_store().export(), extension)
    response = Response(state.dumps[extension], content_type=formats.Choice(fmt, fmt.media_type).content_type)
    response.set_etag(state.statistics.version)
    response.last_modified = state.statistics.modified  # None: the store cannot tell, no header
    response.cache_control.public = True
    response.cache_control.no_cache = True  # may be stored, but revalidated: the ETag makes that cheap
    return response.make_conditional(request)


# --- The query UI -------------------------------------------------------------------------------------------


@bp.get("/ui")
def ui() -> Response:
    """YASGUI with the canned queries as tabs, or, when it is not installed, how to install it."""
    build = _state().ui_dir / YASGUI_BUILD
    installed = all((build / name).is_file() for name in YASGUI_FILES)
    examples = [
        {"name": query.name, "summary": query.summary, "query": query.text} for query in queries().values()
    ]
    body = render_template(
        "ui.html",
        installed=installed,
        ui_dir=_state().ui_dir,
        examples=examples,
        endpoint=url_for("sparql.endpoint", _external=True),
        prefixes=PREFIXES,
    )
    return Response(body, mimetype="text/html")


@bp.get("/ui/yasgui/<name>")
def yasgui_file(name: str) -> Response:
    """YASGUI's script and stylesheet, from ``ui/node_modules`` (never from a CDN)."""
    if name not in YASGUI_FILES:
        raise NotFound()
    return send_from_directory(_state().ui_dir / YASGUI_BUILD, name, max_age=3600)


# --- Errors -------------------------------------------------------------------------------------------------


def _not_found(exc: NotFound) -> Response:
    """Unknown resources get a page saying so (with links onward), still with status 404."""
    body = render_template("not_found.html", message=exc.description, path=request.path)
    return Response(body, status=404, mimetype="text/html")


for _error in (HTTPException, *(cls for cls, _ in sparql.STATUS_OF_ERROR)):
    bp.register_error_handler(_error, sparql._error_response)
bp.register_error_handler(NotFound, _not_found)
