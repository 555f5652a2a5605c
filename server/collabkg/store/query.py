"""A SPARQL query as the service accepts it: its text, its form and the dataset it names, checked before any
engine runs it; and the errors a query can meet, the same for every store.

:func:`prepare` reads the text with the scanner of :mod:`.sparqltext` (no engine yet): it refuses
``SERVICE`` (an engine would fetch the URL itself), and finds the query's form and its ``FROM`` / ``FROM
NAMED`` graphs. Syntax beyond that is the engine's to check, when it parses the query
(:func:`check_syntax` does it with Oxigraph, for the service's own query files).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.query import Result

from . import sparqltext

__all__ = [
    "AccessRefused",
    "Answer",
    "DatasetSelection",
    "PreparedQuery",
    "QueryError",
    "QueryFailed",
    "QuerySyntaxError",
    "QueryTooLarge",
    "Reply",
    "TimeLimitExceeded",
    "check_syntax",
    "prepare",
]


class QueryError(ValueError):
    """The query cannot be run as written: the client's mistake, to be fixed on its side (HTTP 400)."""


class QuerySyntaxError(QueryError):
    """The query does not parse (an undeclared prefix too); the message gives the parser's words and place."""


class QueryFailed(QueryError):
    """The engine refused to evaluate the query: a type or value error of the query's own making.

    It depends only on the query, so retrying cannot help and the service is not broken: the client gets 400
    with the engine's words.
    """


class AccessRefused(QueryError):
    """The query asks to reach beyond the served dataset (``SERVICE``, a graph that is not served)."""


class TimeLimitExceeded(Exception):
    """The query was stopped at its time limit (its process killed: nothing of it runs on)."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        limit = "" if seconds is None else f" after {seconds:g} s"
        super().__init__(
            f"The query was stopped{limit}, at this service's time limit. Make it more selective, or add a LIMIT."
        )


class QueryTooLarge(Exception):
    """The query was stopped: it needed more memory than this service allows one query."""


QUERY_FORMS = sparqltext.FORMS


@dataclass(frozen=True)
class PreparedQuery:
    """A query text checked and read for what the service needs before running it (canned queries prepare
    theirs once)."""

    text: str
    #: ``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``: what kind of result it gives.
    form: str
    #: The IRI relative IRIs resolve against (``None``: the query's own ``BASE``, or none).
    base: str | None
    #: Prefixes the query may use without declaring them (its own declarations win).
    namespaces: Mapping[str, str] = field(default_factory=dict)
    #: Its ``FROM`` / ``FROM NAMED`` graphs (absolute IRIs), and what it selects (``None``: ``SELECT *``).
    from_graphs: tuple[str, ...] | None = None
    from_named: tuple[str, ...] | None = None
    projection: tuple[str, ...] | None = None
    #: Every variable, in the order it first appears (the columns of ``SELECT *``).
    variables: tuple[str, ...] = ()
    #: The prefixes the query declares itself.
    declared: Mapping[str, str] = field(default_factory=dict)
    #: What it asks, however written (:func:`.sparqltext.signature`): the lanes remember slow queries by it.
    signature: str = ""

    @property
    def portable_text(self) -> str:
        """The query as a store elsewhere must be sent it: after a prologue declaring the base and the
        predeclared prefixes it relies on (a store elsewhere knows neither); its own declarations follow."""
        lines = [] if self.base is None else [f"BASE <{self.base}>"]
        lines += [f"PREFIX {p}: <{iri}>" for p, iri in self.namespaces.items() if p not in self.declared]
        return "".join(line + "\n" for line in lines) + self.text


def prepare(text: str, base: str | None = None, namespaces: Mapping[str, str] | None = None) -> PreparedQuery:
    """Read a SPARQL 1.1 query and check that it asks for nothing but the served dataset.

    :param base: IRI that relative IRIs of the query resolve against (the protocol suggests the endpoint's).
    :param namespaces: prefixes the query may use without declaring them.
    :raises QuerySyntaxError: the text is not a query (no query form).
    :raises AccessRefused: it uses ``SERVICE``.
    """
    try:
        shape = sparqltext.shape(text, base, namespaces)
    except sparqltext.QueryTextError as exc:
        raise QuerySyntaxError(str(exc)) from None
    if shape.service:
        raise AccessRefused(
            "SERVICE is not allowed here: this endpoint answers from its own dataset only, and reaches no other."
        )
    return PreparedQuery(
        text=text,
        form=shape.form,
        base=base,
        namespaces=dict(namespaces or {}),
        from_graphs=shape.from_graphs,
        from_named=shape.from_named,
        projection=shape.projection,
        variables=shape.variables,
        declared=dict(shape.prefixes),
        signature=shape.signature,
    )


def check_syntax(prepared: PreparedQuery) -> None:
    """Parse the query with Oxigraph, the engine that runs it here, without running it on any data.

    For the service's own query files (the build checks every one): a query text from a client is parsed by
    the query process that runs it.

    :raises QuerySyntaxError: Oxigraph's parser refuses it, with its words and place.
    """
    try:
        ox.Store().query(prepared.text, base_iri=prepared.base, prefixes=dict(prepared.namespaces) or None)
    except SyntaxError as exc:
        raise QuerySyntaxError(syntax_message(prepared.text, str(exc))) from None


def syntax_message(text: str, message: str) -> str:
    """Oxigraph's words for a query it cannot parse, made readable: the line and column, the line itself
    with a caret under the place, and the prefix named when it is an undeclared one."""
    where = _PLACE.match(message)
    if where is None:
        return f"Syntax error: {message}"
    line, column, words = int(where[1]), int(where[2]), where[3]
    lines = text.splitlines() or [""]
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    if "Prefix not found" in words:
        prefix = _PREFIX_AT.match(shown[column - 1 :]) if shown else None
        words = f"the prefix {prefix[0] if prefix else ''!r} is not declared (declare it with PREFIX)"
    elif len(words) > 300:
        words = words[:300] + "..."
    result = f"Syntax error: {words} (line {line}, column {column})"
    if len(shown) <= 200:
        result += f"\n{shown}\n{' ' * (column - 1)}^"
    return result


_PLACE = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)
_PREFIX_AT = re.compile(r"[^\s:]*:")


@dataclass(frozen=True)
class DatasetSelection:
    """The RDF dataset of one query (SPARQL 1.1 Query §13): which served graphs it sees.

    ``default`` names the graphs merged into its default graph, ``named`` its named graphs. ``None`` is the
    service's own dataset: the default graph is the union of every graph, and every graph is a named graph.
    """

    default: frozenset[URIRef] | None = None
    named: frozenset[URIRef] | None = None

    @classmethod
    def of(cls, default: Iterable[URIRef], named: Iterable[URIRef]) -> DatasetSelection:
        """A dataset given explicitly (protocol parameters, or FROM / FROM NAMED): unnamed parts are empty."""
        return cls(frozenset(default), frozenset(named))

    @classmethod
    def from_query(cls, prepared: PreparedQuery) -> DatasetSelection:
        """The dataset of the query's FROM / FROM NAMED clauses; the service's dataset when it has none."""
        if prepared.from_graphs is None and prepared.from_named is None:
            return cls()
        return cls.of(map(URIRef, prepared.from_graphs or ()), map(URIRef, prepared.from_named or ()))


@dataclass(frozen=True)
class Answer:
    """A query's result (an rdflib :class:`~rdflib.query.Result`) and whether it was cut at the size limit."""

    result: Result
    truncated: bool


@dataclass(frozen=True)
class Reply:
    """A query's result written in the format a client asked for, and whether it was cut at the size limit."""

    body: bytes
    truncated: bool
