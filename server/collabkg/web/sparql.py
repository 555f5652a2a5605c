"""The SPARQL 1.1 endpoint: ``/sparql`` (the W3C SPARQL 1.1 Protocol's query operation, read-only) and
``/healthz``.

Requests are read here (:func:`read_operation`), queries run through :mod:`collabkg.store` (safe, limited),
results are written through :mod:`collabkg.formats`; :func:`answer` ties the three together and is what other
views with query results (canned queries) call too. Errors become their HTTP status in :mod:`.errors`.
"""

from __future__ import annotations

import codecs
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from werkzeug.wrappers import Request

from ..formats import (
    FORMATS_BY_QUERY_FORM,
    GRAPH_FORMATS,
    HTML,
    RESULT_FORMATS,
    negotiate,
    serialize_graph,
)
from ..namespaces import INFERRED_GRAPH, PREFIXES, SD, VOID
from ..store.query import DatasetSelection, PreparedQuery, prepare
from .cache import CachedAnswer, etag_of, tagged
from .context import DatasetFacts, service, within_limits

bp = Blueprint("sparql", __name__)

#: Set on a response whose result was cut at the size limit, with the limit as value (Virtuoso's header).
TRUNCATED_HEADER = "X-SPARQL-MaxRows"

FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"

#: Methods /sparql answers; PUT, DELETE and PATCH are routed too, only to be told so in plain text (405).
METHODS = ("GET", "HEAD", "POST", "OPTIONS")
#: Request headers an in-browser client (YASGUI, Comunica) may send across origins.
CORS_HEADERS = "Accept, Accept-Language, Content-Language, Content-Type, X-Requested-With"
#: Most parameters a request may carry: bounds the parsing work of a hostile query string.
MAX_PARAMETERS = 100

READ_ONLY = (
    "This endpoint is read-only: SPARQL Update is not accepted, and no request can change the data. "
    "To change the graph, edit its sources and rebuild."
)

_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*")


# --- Reading the request ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """What a request to /sparql asks for: a query (``None``: the service description) and its options."""

    query: str | None
    #: The dataset named by ``default-graph-uri`` / ``named-graph-uri``; ``None`` when the request names none.
    selection: DatasetSelection | None
    #: Values of ``format=`` (and Fuseki's ``output=``), which override ``Accept``.
    formats: tuple[str, ...]


def read_operation(req: Request) -> Operation:
    """Read a protocol request: ``GET`` with ``query=``, ``POST`` of a form, or ``POST`` of the query itself.

    Parameters come from the URL and, for a form, from the body; both must be UTF-8.

    :raises werkzeug.exceptions.HTTPException: the request breaks the protocol: 400 (no query, two queries,
        not UTF-8, a graph that is not an IRI), 403 (an update), 413 (body too large), 415 (a body type other
        than a form or a query).
    """
    params = _parse_params(req.query_string, "The URL's query string")
    queries = []
    if req.method == "POST":
        body_params, direct_query = _read_body(req)
        for key, values in body_params.items():
            params.setdefault(key, []).extend(values)
        if direct_query is not None:
            queries.append(direct_query)
    if any(key in params for key in ("update", "using-graph-uri", "using-named-graph-uri")):
        raise Forbidden(READ_ONLY)
    queries = params.get("query", []) + queries
    formats = tuple(params.get("format", []) + params.get("output", []))
    if len(queries) > 1:
        raise BadRequest(f"A request carries one query; this one has {len(queries)}.")
    if not queries:
        if req.method == "POST":
            raise BadRequest(f"No query: send it as the query= field of a form, or as a {QUERY_TYPE} body.")
        return Operation(None, None, formats)
    if not queries[0].strip():
        raise BadRequest("The query is empty.")
    default = [_graph_iri(value, "default-graph-uri") for value in params.get("default-graph-uri", [])]
    named = [_graph_iri(value, "named-graph-uri") for value in params.get("named-graph-uri", [])]
    selection = DatasetSelection.of(default, named) if default or named else None
    return Operation(queries[0], selection, formats)


def _read_body(req: Request) -> tuple[dict[str, list[str]], str | None]:
    """The parameters of a form body, or the query of a direct one."""
    if req.mimetype == UPDATE_TYPE:
        raise Forbidden(READ_ONLY)
    if req.mimetype not in (FORM_TYPE, QUERY_TYPE):
        given = f"Content-Type {req.mimetype}" if req.mimetype else "no Content-Type"
        raise UnsupportedMediaType(
            f"A POST must be a {FORM_TYPE} form or a {QUERY_TYPE} body; this has {given}."
        )
    charset = req.mimetype_params.get("charset", "utf-8")
    try:
        utf8 = codecs.lookup(charset).name == "utf-8"
    except LookupError:
        utf8 = False
    if not utf8:
        raise BadRequest(f"Requests must be encoded in UTF-8, not {charset}.")
    body = req.get_data(cache=False)  # raises RequestEntityTooLarge past MAX_CONTENT_LENGTH, when declared
    limit = req.max_content_length
    if req.content_length is None and limit is not None and len(body) >= limit:
        # A chunked body (no Content-Length) is cut at the limit by werkzeug without a word.
        raise RequestEntityTooLarge()
    if req.mimetype == FORM_TYPE:
        return _parse_params(body, "The form body"), None
    return {}, _utf8(body, "The query")


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} is not valid UTF-8 (byte {exc.start}).") from None


def _parse_params(data: bytes, what: str) -> dict[str, list[str]]:
    """Parse ``a=1&b=2`` strictly: werkzeug would replace bytes that are not UTF-8 and run another query."""
    try:
        return urllib.parse.parse_qs(
            _utf8(data, what), keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMETERS
        )
    except UnicodeDecodeError:
        raise BadRequest(f"{what} has percent-encoded bytes that are not UTF-8.") from None
    except ValueError:
        raise BadRequest(f"{what} has more than {MAX_PARAMETERS} parameters.") from None


def _graph_iri(value: str, parameter: str) -> URIRef:
    if not _IRI.fullmatch(value):
        raise BadRequest(f"{parameter} must be an absolute IRI; {value!r} is not.")
    return URIRef(value)


# --- Answering ----------------------------------------------------------------------------------------------


def answer(
    query: str | PreparedQuery,
    *,
    requested_formats: Sequence[str] = (),
    selection: DatasetSelection | None = None,
    init_bindings: Mapping[str, Node] | None = None,
    name: str | None = None,
    internal: bool = False,
) -> Response:
    """Run a query on the served dataset and answer the current request with its result.

    Parsing, evaluation and writing all happen under the time limit (``QUERY_TIMEOUT``); the result is cut at
    ``RESULT_LIMIT`` rows or triples, and a cut response carries :data:`TRUNCATED_HEADER`. The format is
    negotiated from ``Accept`` unless ``requested_formats`` (``format=`` values) say otherwise.

    Answers are kept in the app's :class:`~collabkg.web.cache.ResultCache` and tagged (``ETag``) by what decides
    their content, so a repeated request costs a lookup and a revalidation none; errors are never kept.

    :param query: query text (relative IRIs resolve against the request's URL; our prefixes are predeclared),
        or a query prepared once by the caller.
    :param selection: the dataset the request names, replacing the query's FROM / FROM NAMED.
    :param init_bindings: values for variables of the query (canned query parameters).
    :param name: what identifies a prepared query in the cache (a canned query's name); a prepared query
        without one is not cached, since nothing cheaper than its text would tell it apart.
    :param internal: the service's own query (a canned one), run apart from clients' (:mod:`collabkg.store.processes`).
    """
    current = service()
    store, cache, limit = current.store, current.cache, current.settings.result_limit
    key = _cache_key(query, name, store.version, requested_formats, selection, init_bindings, limit)
    tag = None if key is None else etag_of(key)
    if tag is not None and request.if_none_match.contains_weak(tag):
        return tagged(Response(status=304), tag)
    cached = cache.get(tag) if tag is not None else None
    if cached is None:

        def work(deadline: float) -> CachedAnswer:
            prepared = query if isinstance(query, PreparedQuery) else prepare(query, endpoint_url(), PREFIXES)
            choice = negotiate(
                FORMATS_BY_QUERY_FORM[prepared.form], request.accept_mimetypes, requested_formats
            )
            reply = store.respond(
                prepared,
                choice.format,
                selection=selection,
                init_bindings=init_bindings,
                limit=limit,
                deadline=deadline,
                internal=internal,
            )
            return CachedAnswer(reply.body, choice.content_type, reply.truncated)

        cached = within_limits(work)
        if tag is not None:
            cache.put(tag, cached)
    response = Response(cached.body, content_type=cached.content_type)
    if cached.truncated:
        response.headers[TRUNCATED_HEADER] = str(limit)
    return tagged(response, tag)


def endpoint_url() -> str:
    """The endpoint's canonical URL: relative IRIs of queries resolve against it, as the protocol suggests."""
    return service().endpoint_url


def _cache_key(
    query: str | PreparedQuery,
    name: str | None,
    version: str,
    requested_formats: Sequence[str],
    selection: DatasetSelection | None,
    init_bindings: Mapping[str, Node] | None,
    limit: int,
) -> tuple[object, ...] | None:
    """Everything an answer depends on, or ``None`` when the query has no cheap identity.

    The format is keyed by what negotiation reads (``Accept`` as sent, and ``format=``) rather than by its
    outcome, so a hit needs no parsing; two spellings of one format are two entries, which costs only memory.
    Relative IRIs of a query text resolve against the endpoint's canonical URL, the same for every request.
    """
    if isinstance(query, str):
        identity: tuple[str, ...] = ("text", query)
    elif name is not None:
        identity = ("name", name)
    else:
        return None
    graphs = None if selection is None else (_sorted(selection.default), _sorted(selection.named))
    bindings = tuple(sorted((var, term.n3()) for var, term in (init_bindings or {}).items()))
    accept = request.headers.get("Accept", "")
    return (version, identity, bindings, graphs, accept, tuple(requested_formats), limit)


def _sorted(graphs: frozenset[URIRef] | None) -> tuple[str, ...] | None:
    return None if graphs is None else tuple(sorted(graphs))


@bp.route("/sparql", methods=[*METHODS, "PUT", "DELETE", "PATCH"], provide_automatic_options=False)
def endpoint() -> Response:
    """The protocol's query operation; without a query, the service description."""
    if request.method == "OPTIONS":
        return _preflight()
    if request.method not in METHODS:
        raise MethodNotAllowed(valid_methods=METHODS, description="Use GET or POST to query this endpoint.")
    operation = read_operation(request)
    if operation.query is None:
        return _service_description(operation.formats)
    return answer(operation.query, requested_formats=operation.formats, selection=operation.selection)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: answers without touching the store, for load balancers and the test fixtures."""
    return Response("ok\n", content_type="text/plain; charset=utf-8")


def _preflight() -> Response:
    """CORS preflight: any origin may query, with the headers SPARQL clients send; cached for a day."""
    response = Response(status=204, content_type="text/plain; charset=utf-8")
    response.headers["Allow"] = ", ".join(METHODS)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.after_request
def _allow_any_origin(response: Response) -> Response:
    """Answers and their errors are public: let in-browser clients read them, the cut marker included."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = TRUNCATED_HEADER
    return response


# --- The service description --------------------------------------------------------------------------------


def describe_service(endpoint_url: str, facts: DatasetFacts, timeout: float, limit: int) -> Graph:
    """The SPARQL 1.1 Service Description of this endpoint: language, formats, features, dataset, limits."""
    g = Graph()
    for prefix, namespace in (("sd", SD), ("void", VOID), ("formats", "http://www.w3.org/ns/formats/")):
        g.bind(prefix, namespace)
    service, dataset, default = BNode(), BNode(), BNode()
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint_url)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    for fmt in RESULT_FORMATS + GRAPH_FORMATS:
        if fmt.iri is not None:
            g.add((service, SD.resultFormat, fmt.iri))
    g.add((service, RDFS.comment, Literal(_limits_text(timeout, limit), lang="en")))
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, RDFS.comment, Literal(_default_graph_text(facts), lang="en")))
    g.add((default, VOID.triples, Literal(facts.default_size, datatype=XSD.integer)))
    for name, size in facts.graphs:
        named, graph = BNode(), BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, name))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(size, datatype=XSD.integer)))
    return g


def _default_graph_text(facts: DatasetFacts) -> str:
    text = f"The default graph is the union of all {len(facts.graphs)} named graphs"
    if any(name == INFERRED_GRAPH for name, _ in facts.graphs):
        text += (
            f", asserted and inferred (OWL 2 RL) triples alike; the inferred are also in <{INFERRED_GRAPH}>"
        )
    return text + "."


def _limits_text(timeout: float, limit: int) -> str:
    return (
        f"Read-only: SPARQL Update is refused (403). A query runs at most {timeout:g} s (then 503). "
        f"Results are cut at {limit} rows or triples; a cut response carries the header {TRUNCATED_HEADER}. "
        "SERVICE is refused (400); FROM and FROM NAMED select graphs of this dataset only."
    )


def _service_description(requested_formats: Sequence[str]) -> Response:
    """The description as RDF (Turtle unless asked otherwise), or as a page with a query form for browsers."""
    current = service()
    facts, timeout, limit = current.facts, current.settings.query_timeout, current.settings.result_limit
    choice = negotiate((*GRAPH_FORMATS, HTML), request.accept_mimetypes, requested_formats)
    body: str | bytes
    if choice.format is HTML:
        body = render_template(
            "sparql.html",
            facts=facts,
            result_formats=RESULT_FORMATS,
            graph_formats=GRAPH_FORMATS,
            default_graph_text=_default_graph_text(facts),
            limits_text=_limits_text(timeout, limit),
            endpoint_url=endpoint_url(),
        )
    else:
        body = serialize_graph(describe_service(endpoint_url(), facts, timeout, limit), choice.format)
    response = Response(body, content_type=choice.content_type)
    response.vary.add("Accept")
    return response
