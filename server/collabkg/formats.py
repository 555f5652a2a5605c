"""Media types of query results: which formats a result can take, how a request picks one, how it is written.

Every response that carries query results (the SPARQL endpoint, canned queries, resource pages and data,
trails, VoID, dumps) and the command line go through :func:`negotiate` and :func:`serialize`, so they all
offer the same formats under the same names.
Formats know their own media types and ``format=`` names; callers only say what kind of result they hold.

A request picks a format by its ``Accept`` header (q-values honoured, by werkzeug) or overrides it with
``format=`` (a short name such as ``json``/``ttl``, or a media type), as Fuseki and Virtuoso allow for
browsers and curl. Nothing acceptable is :class:`NoAcceptableFormat`, which lists what is offered (HTTP 406).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.query import Result

if TYPE_CHECKING:  # the web hands a request's Accept header in; nothing else here needs werkzeug
    from werkzeug.datastructures import MIMEAccept

W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    """One serialization a response can take.

    ``media_types[0]`` is the canonical type; the others are aliases clients send for the same bytes
    (SPARQLWrapper asks ``application/turtle``, browsers ``application/xml``); a response is labelled with the
    type that matched.
    """

    label: str
    #: Values of ``format=`` that pick this format; the first is the short name shown to users.
    names: tuple[str, ...]
    media_types: tuple[str, ...]
    #: The rdflib serializer plugin that writes it (empty for formats written here, or by a template).
    rdflib_name: str
    #: The format's IRI in the W3C format registry, for the service description.
    iri: URIRef | None

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def media_type(self) -> str:
        return self.media_types[0]

    def matches(self, value: str) -> bool:
        """Whether a ``format=`` value (a short name or a media type, any case) names this format."""
        value = value.strip().lower()
        return value in self.names or value in self.media_types


def _w3c(name: str) -> URIRef:
    return URIRef(W3C_FORMATS + name)


SPARQL_JSON = Format(
    "SPARQL 1.1 Query Results JSON",
    ("json", "srj"),
    ("application/sparql-results+json", "application/json"),
    "json",
    _w3c("SPARQL_Results_JSON"),
)
SPARQL_XML = Format(
    "SPARQL Query Results XML",
    ("xml", "srx"),
    ("application/sparql-results+xml", "application/xml", "text/xml"),
    "xml",
    _w3c("SPARQL_Results_XML"),
)
SPARQL_CSV = Format("SPARQL 1.1 Query Results CSV", ("csv",), ("text/csv",), "", _w3c("SPARQL_Results_CSV"))
SPARQL_TSV = Format(
    "SPARQL 1.1 Query Results TSV", ("tsv",), ("text/tab-separated-values",), "", _w3c("SPARQL_Results_TSV")
)

TURTLE = Format(
    "Turtle",
    ("ttl", "turtle", "n3"),
    ("text/turtle", "application/x-turtle", "application/turtle"),
    "turtle",
    _w3c("Turtle"),
)
N_TRIPLES = Format(
    "N-Triples", ("nt", "ntriples", "n-triples"), ("application/n-triples",), "nt", _w3c("N-Triples")
)
JSON_LD = Format(
    "JSON-LD",
    ("jsonld", "json-ld", "json"),
    ("application/ld+json", "application/json"),
    "json-ld",
    _w3c("JSON-LD"),
)
RDF_XML = Format(
    "RDF/XML",
    ("rdf", "rdfxml", "rdf+xml", "xml"),
    ("application/rdf+xml", "application/xml", "text/xml"),
    "xml",
    _w3c("RDF_XML"),
)
# A query's graph result has triples only: they belong to the default graph, and Turtle (N-Triples) written as
# they are is exactly the TriG (N-Quads) of a dataset holding them there.
TRIG = Format("TriG", ("trig",), ("application/trig",), "turtle", _w3c("TriG"))
N_QUADS = Format("N-Quads", ("nq", "nquads", "n-quads"), ("application/n-quads",), "nt", _w3c("N-Quads"))

HTML = Format("HTML", ("html",), ("text/html", "application/xhtml+xml"), "", None)

#: What SELECT and ASK results can be written as, in order of preference (the first answers ``*/*``).
RESULT_FORMATS: tuple[Format, ...] = (SPARQL_JSON, SPARQL_XML, SPARQL_CSV, SPARQL_TSV)
#: What CONSTRUCT and DESCRIBE results (RDF graphs) can be written as, in order of preference.
GRAPH_FORMATS: tuple[Format, ...] = (TURTLE, N_TRIPLES, JSON_LD, RDF_XML, TRIG, N_QUADS)

#: The SPARQL query forms and the formats their results take.
FORMATS_BY_QUERY_FORM: dict[str, tuple[Format, ...]] = {
    "SELECT": RESULT_FORMATS,
    "ASK": RESULT_FORMATS,
    "CONSTRUCT": GRAPH_FORMATS,
    "DESCRIBE": GRAPH_FORMATS,
}


#: The dumps of the whole dataset, by file extension. Turtle and N-Triples hold the union of the graphs; TriG
#: and JSON-LD keep every triple in its named graph.
DUMP_FORMATS: dict[str, Format] = {"ttl": TURTLE, "nt": N_TRIPLES, "trig": TRIG, "jsonld": JSON_LD}
#: Dump formats that keep graph names.
QUAD_DUMPS = frozenset({"trig", "jsonld"})


def by_name(name: str) -> Format:
    """The format of a short name (``json``, ``ttl``...): a result format first, then a graph format."""
    return next(f for f in (*RESULT_FORMATS, *GRAPH_FORMATS) if f.name == name)


class NoAcceptableFormat(Exception):
    """Nothing offered matches the request's ``Accept`` header or ``format=``; the message lists the offer."""

    def __init__(self, offered: Sequence[Format], asked: str) -> None:
        self.offered = tuple(offered)
        listing = "\n".join(f"  {f.media_type}  (format={f.name})" for f in self.offered)
        super().__init__(f"No acceptable format for {asked}. This response is offered as:\n{listing}")


class SerializationFailed(Exception):
    """The result holds something the chosen format cannot express (e.g. a predicate RDF/XML cannot name)."""


@dataclass(frozen=True)
class Choice:
    """The outcome of negotiation: the format to write and the media type to label it with."""

    format: Format
    media_type: str

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header value; every format offered is text, written in UTF-8."""
        return f"{self.media_type}; charset=utf-8"


def negotiate(offered: Sequence[Format], accept: MIMEAccept, requested: Iterable[str] = ()) -> Choice:
    """Pick the format of a response.

    :param offered: the formats this response can take, most preferred first.
    :param accept: the request's parsed ``Accept`` header (``request.accept_mimetypes``).
    :param requested: values of ``format=`` parameters. When there are any they decide, and the first that
        names an offered format wins (SPARQLWrapper sends both ``format=tsv`` and
        ``format=text/tab-separated-values``).
    :raises NoAcceptableFormat: nothing offered is acceptable.
    """
    requested = [value for value in requested if value.strip()]
    if requested:
        for value in requested:
            for fmt in offered:
                if fmt.matches(value):
                    return Choice(fmt, fmt.media_type)
        raise NoAcceptableFormat(offered, "format=" + ", format=".join(requested))
    if not accept:  # no Accept header (or none werkzeug could read): anything goes (RFC 9110, 12.5.1)
        return Choice(offered[0], offered[0].media_type)
    # Canonical types before aliases: ``text/*`` means CSV, not the XML results labelled text/xml.
    by_type = {fmt.media_type: fmt for fmt in offered}
    by_type |= {media_type: fmt for fmt in offered for media_type in fmt.media_types[1:]}
    best = accept.best_match(list(by_type))
    if best is None:
        raise NoAcceptableFormat(offered, f"Accept: {accept.to_header()}")
    return Choice(by_type[best], best)


def serialize(result: Result, fmt: Format) -> bytes:
    """Write a query result (rdflib's :class:`~rdflib.query.Result`, of any query form) in ``fmt``, as UTF-8.

    :raises SerializationFailed: the result cannot be expressed in this format.
    """
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        assert result.graph is not None
        return serialize_graph(result.graph, fmt)
    if fmt in (SPARQL_CSV, SPARQL_TSV):
        return _tabular(result, tsv=fmt is SPARQL_TSV).encode("utf-8")
    written = result.serialize(format=fmt.rdflib_name, encoding="utf-8")
    assert written is not None  # written to no destination, rdflib returns the bytes
    return written


def serialize_graph(graph: Graph, fmt: Format) -> bytes:
    """Write an RDF graph in one of :data:`GRAPH_FORMATS`, as UTF-8.

    :raises SerializationFailed: the graph cannot be expressed in this format.
    """
    try:
        return graph.serialize(format=fmt.rdflib_name, encoding="utf-8")
    except ValueError as exc:  # rdflib's RDF/XML writer cannot name some predicates, and says so this way
        raise SerializationFailed(f"This result cannot be written as {fmt.label}: {exc}") from exc


#: rdflib's writers of a whole dataset that keep each triple's graph name.
_DATASET_WRITERS: dict[Format, str] = {TRIG: "trig", N_QUADS: "nquads", JSON_LD: "json-ld"}


def serialize_dataset(dataset: Dataset, fmt: Format, *, keep_graphs: bool = True) -> bytes:
    """Write an RDF dataset in one of :data:`GRAPH_FORMATS`, as UTF-8.

    TriG, N-Quads and (when ``keep_graphs``) JSON-LD keep every triple in its named graph, so a reader can
    tell, say, inferred triples from asserted ones; the triple formats get the union of the graphs, each
    triple once.

    :raises SerializationFailed: the data cannot be expressed in this format.
    """
    if keep_graphs and fmt in _DATASET_WRITERS:
        return dataset.serialize(format=_DATASET_WRITERS[fmt], encoding="utf-8")
    union = Graph()
    for prefix, namespace in dataset.namespaces():
        union.bind(prefix, namespace)
    union += (triple for triple, _ in dataset.store.triples((None, None, None), None))
    return serialize_graph(union, fmt)


def _tabular(result: Result, *, tsv: bool) -> str:
    """SPARQL 1.1 CSV or TSV (rdflib writes CSV only, and neither for ASK).

    An ASK answer is the single word ``true`` or ``false``, as Oxigraph writes it: the W3C note defines CSV
    and TSV for SELECT only.
    """
    if result.type == "ASK":
        return ("true" if result.askAnswer else "false") + ("\n" if tsv else "\r\n")
    variables: list[Variable] = list(result.vars or [])
    if tsv:
        lines = ["\t".join(v.n3() for v in variables)]
        lines += ["\t".join(_tsv_term(row.get(v)) for v in variables) for row in result.bindings]
        return "".join(line + "\n" for line in lines)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(v) for v in variables])
    writer.writerows([_csv_term(row.get(v)) for v in variables] for row in result.bindings)
    return out.getvalue()


def _csv_term(term: object) -> str:
    """CSV keeps the plain string of a term: IRI, lexical form, ``_:label``; unbound is empty."""
    if term is None:
        return ""
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: object) -> str:
    """TSV writes terms in SPARQL syntax, on one line: tabs and newlines inside literals are escaped."""
    if term is None:
        return ""
    if isinstance(term, Literal):
        text = '"' + str(term).translate(_TSV_ESCAPES) + '"'
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{text}^^<{term.datatype}>"
        return text
    if isinstance(term, BNode):
        return f"_:{term}"
    return f"<{term}>"
