"""Running one SPARQL query on the served dataset: read-only, local-only, time-limited and size-capped.

This is the only way the server evaluates a query. rdflib's ``Graph.query`` is unfit for queries from the
network, for reasons found in ``rdflib/plugins/sparql/`` (7.x) and closed here one by one:

* ``SERVICE <url>`` makes ``evaluate.evalServiceQuery`` fetch the URL with ``urlopen``. :func:`prepare` walks
  the query's algebra and refuses any ``SERVICE`` (:class:`AccessRefused`) before anything runs.
* ``FROM`` / ``FROM NAMED`` make ``sparql.QueryContext`` copy the named graphs into a fresh dataset and, for
  any it does not hold, ``QueryContext.load`` parses the IRI: a web fetch, or a local file for ``file:``
  (``SPARQL_LOAD_GRAPHS``). Here rdflib never sees the dataset clause: :func:`evaluate` gives it a
  :class:`DatasetWindow`, a read-only view that shows exactly the served graphs the query (or the protocol's
  ``default-graph-uri`` / ``named-graph-uri``) selects. An unknown graph is an empty graph; nothing is copied.
* ``LOAD`` and every other update form: the query grammar rdflib parses here has none, and the window refuses
  writes besides.
* Anything else that reads a file, opens a socket or starts a process while a query runs (a path in rdflib not
  known today, a plugin found through its entry points) is stopped by a Python audit hook armed only around
  queries (:func:`within`): :class:`AccessRefused` again.

Time: :func:`within` stops a query at its deadline for real, so the worker is free again (see there).
Size: at most ``limit`` rows (or triples) are produced; a longer result is truncated and says so.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, NoReturn, TypeVar

from pyparsing import ParseException, ParseResults
from rdflib import BNode, Graph, URIRef, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, ConjunctiveGraph, Dataset
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.evaluate import _fillTemplate, evalPart
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.processor import SPARQLResult
from rdflib.plugins.sparql.sparql import Query, QueryContext
from rdflib.query import Result
from rdflib.store import Store
from rdflib.term import Node

T = TypeVar("T")
logger = logging.getLogger(__name__)


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


class _Interrupt(BaseException):
    """Raised inside a query that has run out of time.

    A ``BaseException``, like ``KeyboardInterrupt``, because rdflib catches ``Exception`` in places (its casts
    turn any exception into a SPARQL error that a FILTER then treats as false). It never leaves
    :func:`within`.
    """


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


class DatasetWindow(Store):
    """A read-only view onto the served store that shows one query its dataset, and closes at its deadline.

    rdflib evaluates against a :class:`~rdflib.graph.ConjunctiveGraph` over this store (:meth:`graph`): its
    default graph answers from the selected default graphs, ``GRAPH`` reaches only the selected named graphs,
    and every triple read checks the deadline, so a query running off the main thread (where no alarm signal
    can reach it) still stops at its next read. Nothing can be written through it.
    """

    context_aware = True

    def __init__(self, served: Store, selection: DatasetSelection, deadline: float) -> None:
        super().__init__()
        self._served = served
        self._selection = selection
        self._deadline = deadline
        self._default_id = BNode()
        #: The served store's own graph objects, by name: the memory store remembers the graph object of every
        #: call, so it must only ever see its own.
        self._served_graphs = {g.identifier: g for g in served.contexts()}

    def graph(self) -> ConjunctiveGraph:
        """The graph rdflib's evaluator is given: its default context is the query's default graph."""
        return _WindowGraph(store=self, identifier=self._default_id)

    def _named_ids(self) -> Iterable[Node]:
        if self._selection.named is not None:
            return self._selection.named
        return (name for name in self._served_graphs if name != DATASET_DEFAULT_GRAPH_ID)

    def triples(self, triple_pattern, context=None) -> Iterator[tuple[Any, Iterator[Graph]]]:  # type: ignore[override]
        """Triples of the query's default graph (``context`` None or it) or of one of its named graphs."""
        name = None if context is None else context.identifier
        if name is None or name == self._default_id:
            matches = self._default_triples(triple_pattern)
        elif name in self._named_ids():
            matches = self._graph_triples(triple_pattern, name)
        else:
            matches = iter(())
        deadline = self._deadline
        if time.monotonic() > deadline:
            raise _Interrupt
        for match in matches:
            if time.monotonic() > deadline:
                raise _Interrupt
            yield match

    def _graph_triples(self, pattern, name: Node) -> Iterator[tuple[Any, Iterator[Graph]]]:
        graph = self._served_graphs.get(name)
        return iter(()) if graph is None else self._served.triples(pattern, context=graph)

    def _default_triples(self, pattern) -> Iterator[tuple[Any, Iterator[Graph]]]:
        chosen = self._selection.default
        if chosen is None:
            return self._served.triples(pattern, context=None)
        present = [name for name in chosen if name in self._served_graphs]
        if len(present) <= 1:
            return self._graph_triples(pattern, present[0]) if present else iter(())
        # Several graphs merge into one: each triple once, whichever of them hold it.
        return (
            (triple, iter(()))
            for triple, graphs in self._served.triples(pattern, context=None)
            if any(g.identifier in chosen for g in graphs)
        )

    def contexts(self, triple=None) -> Iterator[Graph]:  # type: ignore[override]
        """The query's named graphs (an unknown name is an empty graph, but still a graph of its dataset)."""
        for name in self._named_ids():
            graph = Graph(store=self, identifier=name)
            if triple is None or next(iter(self.triples(triple, graph)), None) is not None:
                yield graph

    def __len__(self, context=None) -> int:  # type: ignore[override]
        return sum(1 for _ in self.triples((None, None, None), context))

    # Prefixes come from the served store; the evaluator binds rdflib's defaults on every graph it creates,
    # which must not reach the served store, so binding is a no-op.
    def bind(self, prefix, namespace, override=True) -> None:  # type: ignore[override]
        return None

    def namespace(self, prefix):  # type: ignore[override]
        return self._served.namespace(prefix)

    def prefix(self, namespace):  # type: ignore[override]
        return self._served.prefix(namespace)

    def namespaces(self):  # type: ignore[override]
        return self._served.namespaces()

    def add(self, triple, context, quoted=False) -> None:  # type: ignore[override]
        raise PermissionError("the served dataset is read-only")

    addN = add_graph = remove = remove_graph = add  # type: ignore[assignment]


class _WindowGraph(ConjunctiveGraph):
    """The evaluator's view of a :class:`DatasetWindow`, with its default graph apart from its named graphs.

    rdflib's evaluator wants a ``Dataset`` or a ``ConjunctiveGraph``. It uses a ``Dataset`` through methods
    that rdflib 7 deprecates (a warning on every query), and ``ConjunctiveGraph`` warns when built, unless
    subclassed.
    """

    def __init__(self, store: DatasetWindow, identifier: BNode) -> None:
        super().__init__(store=store, identifier=identifier)
        self.default_union = False


# --- Evaluating ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A query's result (an rdflib :class:`~rdflib.query.Result`) and whether it was cut at the size limit."""

    result: Result
    truncated: bool


def evaluate(
    dataset: Dataset,
    prepared: PreparedQuery,
    *,
    selection: DatasetSelection | None = None,
    init_bindings: Mapping[str, Node] | None = None,
    limit: int,
    deadline: float = float("inf"),
) -> Answer:
    """Run a prepared query against the served dataset, and materialize at most ``limit`` rows or triples.

    Call it inside :func:`within`, which supplies ``deadline``: rdflib evaluates lazily, so the rows are read
    here, under the time limit.

    :param selection: the dataset the protocol names (``default-graph-uri`` / ``named-graph-uri``); it
        replaces the query's FROM / FROM NAMED, as the protocol says. ``None``: the query's own, else the
        service's.
    :param init_bindings: values for variables, bound before evaluation (never spliced into query text).
    :raises QueryTooComplex: the query nests too deeply to evaluate.
    :raises QueryFailed: rdflib raised on the query while evaluating it.
    """
    query = prepared.query
    if selection is None:
        selection = DatasetSelection.from_query(query)
    window = DatasetWindow(dataset.store, selection, deadline)
    ctx = QueryContext(
        window.graph(), initBindings={Variable(k): v for k, v in (init_bindings or {}).items()}
    )
    ctx.prologue = query.prologue
    algebra = query.algebra
    try:
        if prepared.form == "CONSTRUCT":
            graph, truncated = _construct(ctx, algebra, limit)
            return Answer(SPARQLResult({"type_": "CONSTRUCT", "graph": graph}), truncated)
        res = dict(evalPart(ctx, algebra))
        if prepared.form == "SELECT":
            rows = list(islice(res["bindings"], limit + 1))
            res["bindings"] = rows[:limit]
            return Answer(SPARQLResult(res), len(rows) > limit)
        if prepared.form == "DESCRIBE":
            res["graph"], truncated = cap_graph(res["graph"], limit)
            return Answer(SPARQLResult(res), truncated)
        return Answer(SPARQLResult(res), False)
    except RecursionError:
        raise QueryTooComplex("The query nests too deeply for this service to evaluate.") from None
    except QueryError:  # the access guard's refusal, raised from inside rdflib
        raise
    except Exception as exc:
        if time.monotonic() > deadline:  # the interrupt, caught by rdflib and raised again as its own error
            raise _Interrupt from None
        logger.warning("rdflib failed to evaluate a query", exc_info=True)
        raise QueryFailed(f"The query failed while running: {type(exc).__name__}: {exc}") from exc


def _construct(ctx: QueryContext, algebra: CompValue, limit: int) -> tuple[Graph, bool]:
    """rdflib's ``evalConstructQuery``, but stopping once the graph passes ``limit`` triples.

    rdflib builds the whole graph first; a CONSTRUCT over a cross product could fill the worker's memory
    before the time limit stops it.
    """
    template = algebra.template or algebra.p.p.triples  # CONSTRUCT WHERE { ... }: the pattern is the template
    graph = Graph()
    for prefix, namespace in ctx.graph.namespaces():  # as rdflib's DESCRIBE does, to write with our prefixes
        graph.bind(prefix, namespace)
    for solution in evalPart(ctx, algebra.p):
        graph += _fillTemplate(template, solution)
        if len(graph) > limit:
            return cap_graph(graph, limit)
    return graph, False


def cap_graph(graph: Graph, limit: int) -> tuple[Graph, bool]:
    """The graph cut to ``limit`` triples, and whether it was cut."""
    if len(graph) <= limit:
        return graph, False
    capped = Graph()
    for prefix, namespace in graph.namespaces():
        capped.bind(prefix, namespace)
    capped += islice(graph, limit)
    return capped, True


# --- Limits on time and on access ---------------------------------------------------------------------------

#: Seconds between repeated alarms once a query is past its deadline, in case rdflib swallowed the first.
_RETRY = 0.05
#: Whether the alarm handler may interrupt: set while a query runs in the main thread. A one-item list so that
#: clearing it is a single store, with no point where the interpreter runs a signal handler in between.
_ALARM_ARMED = [False]
_GUARDED: contextvars.ContextVar[bool] = contextvars.ContextVar("collabkg_query_guard", default=False)
#: The one address a guarded query may connect to: the store it runs on, while that store sends it there.
_REACHABLE: contextvars.ContextVar[Address | None] = contextvars.ContextVar("collabkg_store", default=None)


@dataclass(frozen=True)
class Address:
    """Where a remote store listens: its host as written in its URL, the addresses that resolves to, its port."""

    host: str
    ips: frozenset[str]
    port: int

    def admits(self, event: str, args: tuple[Any, ...]) -> bool:
        """Whether an audited network event goes to this address and nowhere else."""
        if event == "urllib.Request":
            url = urllib.parse.urlsplit(args[0])
            default = 443 if url.scheme == "https" else 80
            return url.hostname == self.host and (url.port or default) == self.port
        if event == "socket.getaddrinfo":
            return args[0] in (self.host, *self.ips) and args[1] == self.port
        if event == "http.client.connect":
            return args[1] == self.host and args[2] == self.port
        if event == "socket.connect":
            address = args[1]
            return isinstance(address, tuple) and address[0] in self.ips and address[1] == self.port
        return False


@contextlib.contextmanager
def reaching(address: Address) -> Iterator[None]:
    """Let a guarded query connect to ``address`` (and only there) while the block runs.

    A store that answers from elsewhere (:class:`collabkg.remote.RemoteStore`) sends the query over the network
    from inside :func:`within`; everything else the guard refuses stays refused, and no other host can be
    reached, whatever the query says.
    """
    token = _REACHABLE.set(address)
    try:
        yield
    finally:
        _REACHABLE.reset(token)


def within(seconds: float, work: Callable[[float], T]) -> T:
    """Run ``work(deadline)`` under a time limit, with no file, network or process access.

    Stopping: in the main thread (gunicorn's sync workers and Flask's test client run requests there) a
    ``SIGALRM`` timer interrupts the query wherever it is, even inside a regular expression, and repeats until
    the query has unwound. Off the main thread no signal can be used; the query then stops at its next read
    from :class:`DatasetWindow`, which checks the deadline (a pure computation over rows already read, such as
    a sort, finishes first). Either way the worker is freed, not left computing. Deadlines do not nest.

    :raises TimeLimitExceeded: the deadline passed.
    :raises AccessRefused: the work tried to read a file or the network, or to start a process.
    """
    _install_audit_hook()
    deadline = time.monotonic() + seconds
    on_main = threading.current_thread() is threading.main_thread()
    token = _GUARDED.set(True)
    try:
        try:
            if on_main:
                previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
                _ALARM_ARMED[0] = True
                previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds, _RETRY)
            return work(deadline)
        finally:
            _ALARM_ARMED[0] = False  # first: from here on the handler does nothing
            _GUARDED.reset(token)
            if on_main:
                _restore_alarm(previous_handler, previous_timer, seconds - (deadline - time.monotonic()))
    except _Interrupt:
        raise TimeLimitExceeded(seconds) from None


def interrupt() -> NoReturn:
    """Stop the running query here: its deadline has passed (for work that notices it itself, such as a
    request to a remote store that timed out). :func:`within` turns it into :class:`TimeLimitExceeded`."""
    raise _Interrupt


def _on_alarm(signum: int, frame: object) -> None:
    if _ALARM_ARMED[0]:
        raise _Interrupt


def _restore_alarm(handler: Any, timer: tuple[float, float], elapsed: float) -> None:
    """Put back the alarm set before the query (a test runner's timeout, say), less the time spent."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, handler if handler is not None else signal.SIG_DFL)
    delay, interval = timer
    if delay > 0:
        signal.setitimer(signal.ITIMER_REAL, max(delay - elapsed, 0.001), interval)


#: Audit events that reach the network or start programs; none has any business inside a query.
_REFUSED_EVENTS = frozenset(
    {
        "urllib.Request",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "http.client.connect",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
    }
)
_hook_installed = False


def _install_audit_hook() -> None:
    """Install (once per process; audit hooks cannot be removed) the hook that guards running queries."""
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True


def _import_roots() -> tuple[str, ...]:
    """Folders Python imports from: a lazily imported module (an rdflib plugin) may be read during a query."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *(p for p in sys.path if p)}
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _GUARDED.get():
        return
    if event in _REFUSED_EVENTS:
        reachable = _REACHABLE.get()
        if reachable is not None and reachable.admits(event, args):
            return
        raise AccessRefused(f"Queries may not reach the network or start programs ({event} refused).")
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):  # an already open descriptor
            return
        writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
        reading = (mode is None or set(mode) <= {"r", "b", "t"}) and not (flags or 0) & writes
        if not (reading and os.path.realpath(os.fsdecode(path)).startswith(_import_roots())):
            raise AccessRefused("Queries may not read or write files.")
