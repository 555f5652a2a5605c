"""A SPARQL query as the server accepts it: parsed, checked, and the dataset it names (no evaluation here).

:func:`prepare` parses with rdflib and refuses ``SERVICE`` before anything can run (rdflib's evaluator would
fetch the URL, :mod:`.evaluate` says why). The errors a query can meet are here too, so that every store
raises the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pyparsing import ParseException, ParseResults
from rdflib import URIRef, Variable
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result


class QueryError(ValueError):
    """The query cannot be run as written: the client's mistake, to be fixed on its side (HTTP 400)."""


class QuerySyntaxError(QueryError):
    """The query does not parse, or fails rdflib's static checks (an undeclared prefix); says where."""


class QueryTooComplex(QueryError):
    """The query nests deeper than rdflib's recursive parser and evaluator can follow."""


class QueryFailed(QueryError):
    """rdflib's evaluator raised on the query: a type or value error of the query's own making.

    SPARQL turns most of these into unbound values, but rdflib lets some escape (``SUM`` over strings, a
    malformed regex, an invalid language tag, a ``LIMIT`` beyond any index). They depend only on the query, so
    retrying cannot help and the service is not broken: the client gets 400 with rdflib's words, and the log a
    traceback, should it be a bug of rdflib's.
    """


class AccessRefused(QueryError):
    """The query asked to read a URL or a file (``SERVICE``), or tried to while running."""


class TimeLimitExceeded(Exception):
    """The query was stopped at its time limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"The query was stopped after {seconds:g} s, this service's time limit. "
            "Make it more selective, or add a LIMIT."
        )


# --- Preparing ----------------------------------------------------------------------------------------------

QUERY_FORMS = {
    "SelectQuery": "SELECT",
    "AskQuery": "ASK",
    "ConstructQuery": "CONSTRUCT",
    "DescribeQuery": "DESCRIBE",
}


@dataclass(frozen=True)
class PreparedQuery:
    """A parsed, checked query, ready to run any number of times (canned queries prepare theirs once)."""

    query: Query
    #: The query as a store elsewhere must be sent it: the text, after a prologue declaring the base and the
    #: predeclared prefixes it relies on (a remote store knows neither).
    portable_text: str

    @property
    def form(self) -> str:
        """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``: what kind of result it gives."""
        return QUERY_FORMS[self.query.algebra.name]


def prepare(text: str, base: str | None = None, namespaces: Mapping[str, str] | None = None) -> PreparedQuery:
    """Parse a SPARQL 1.1 query and check that it reads nothing but the served dataset.

    :param base: IRI that relative IRIs of the query resolve against (the protocol suggests the endpoint's).
    :param namespaces: prefixes the query may use without declaring them.
    :raises QuerySyntaxError: the text is not a query; the message gives the parser's words and position.
    :raises QueryTooComplex: it nests too deeply to parse.
    :raises AccessRefused: it uses ``SERVICE``.
    """
    try:
        parsed = parseQuery(text)
        query = translateQuery(parsed, base=base, initNs=dict(namespaces or {}))
    except ParseException as exc:
        raise QuerySyntaxError(_describe_parse_error(exc)) from None
    except RecursionError:
        raise QueryTooComplex("The query nests too deeply for this service to parse.") from None
    except Exception as exc:  # rdflib's static checks (unknown prefix, bad aggregate) raise plain Exception
        raise QuerySyntaxError(f"Invalid query: {exc}") from None
    _refuse_service(query)
    if query.algebra.name == "SelectQuery" and not parsed[1].projection:
        # rdflib lists the columns of SELECT * in set order, a different one in each process; clients (and CSV
        # readers) expect the order in which the variables first appear, as other stores give it.
        query.algebra["PV"] = _in_order_of_appearance(query.algebra.PV, parsed[1])
    return PreparedQuery(query, _prologue(parsed[0], base, namespaces or {}) + text)


def _prologue(declared: ParseResults, base: str | None, namespaces: Mapping[str, str]) -> str:
    """``BASE`` and ``PREFIX`` lines for what the query uses without declaring; its own declarations follow,
    so they win, as they do here."""
    own = {dict(decl).get("prefix", "") for decl in declared if decl.name == "PrefixDecl"}
    lines = [] if base is None else [f"BASE <{base}>"]
    lines += [f"PREFIX {prefix}: <{iri}>" for prefix, iri in namespaces.items() if prefix not in own]
    return "".join(line + "\n" for line in lines)


def _refuse_service(query: Query) -> None:
    for node in _algebra_nodes(query.algebra):
        if node.name == "ServiceGraphPattern":
            raise AccessRefused(
                f"SERVICE is not allowed here: this endpoint answers from its own dataset only "
                f"(the query names {node.get('term').n3()})."
            )


def _in_order_of_appearance(variables: list[Variable], tree: Any) -> list[Variable]:
    position: dict[Variable, int] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Variable):
            position.setdefault(node, len(position))
        elif isinstance(node, CompValue):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(reversed(list(node)))
    return sorted(variables, key=lambda v: position.get(v, len(position)))


def _describe_parse_error(exc: ParseException) -> str:
    """The parser's message, its line and column, and the line itself with a caret under the spot."""
    message = f"Syntax error: {exc.msg} (line {exc.lineno}, column {exc.col})"
    line = exc.line
    if len(line) <= 200:
        message += f"\n{line}\n{' ' * (exc.col - 1)}^"
    return message


def _algebra_nodes(root: Any) -> Iterator[CompValue]:
    """Every node of an algebra tree, expressions and sub-queries too (iteratively: trees can be deep)."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(node)


# --- The dataset a query sees -------------------------------------------------------------------------------


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
    def from_query(cls, query: Query) -> DatasetSelection:
        """The dataset of the query's FROM / FROM NAMED clauses; the service's dataset when it has none."""
        clauses = query.algebra.get("datasetClause") or []
        if not clauses:
            return cls()
        # CompValue.get answers a missing key with the key's name: test membership instead.
        return cls.of(
            (c["default"] for c in clauses if "default" in c), (c["named"] for c in clauses if "named" in c)
        )


@dataclass(frozen=True)
class Answer:
    """A query's result (an rdflib :class:`~rdflib.query.Result`) and whether it was cut at the size limit."""

    result: Result
    truncated: bool
