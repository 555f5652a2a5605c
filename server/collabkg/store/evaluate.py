"""Running one SPARQL query on the served dataset with rdflib: read-only, local-only and size-capped.

rdflib's ``Graph.query`` is unfit for queries from the network, for reasons found in
``rdflib/plugins/sparql/`` (7.x) and closed here and in :mod:`.sandbox`, one by one:

* ``SERVICE <url>`` makes ``evaluate.evalServiceQuery`` fetch the URL with ``urlopen``.
  :func:`collabkg.store.query.prepare` walks the query's algebra and refuses any ``SERVICE``
  (:class:`~collabkg.store.query.AccessRefused`) before anything runs.
* ``FROM`` / ``FROM NAMED`` make ``sparql.QueryContext`` copy the named graphs into a fresh dataset and, for
  any it does not hold, ``QueryContext.load`` parses the IRI: a web fetch, or a local file for ``file:``
  (``SPARQL_LOAD_GRAPHS``). Here rdflib never sees the dataset clause: :func:`evaluate` gives it a
  :class:`DatasetWindow`, a read-only view that shows exactly the served graphs the query (or the protocol's
  ``default-graph-uri`` / ``named-graph-uri``) selects. An unknown graph is an empty graph; nothing is copied.
* ``LOAD`` and every other update form: the query grammar rdflib parses here has none, and the window refuses
  writes besides.
* Anything else that reads a file, opens a socket or starts a process while a query runs (a path in rdflib not
  known today, a plugin found through its entry points) is stopped by a Python audit hook armed only around
  queries (:func:`collabkg.store.sandbox.within`).

Time: the window checks the deadline at every triple it reads, and :mod:`.sandbox` interrupts a query at its
deadline wherever it is. Size: at most ``limit`` rows (or triples) are produced; a longer result is truncated
and says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, cast

from rdflib import BNode, Graph, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, ConjunctiveGraph, Dataset
from rdflib.plugins.sparql.evaluate import _fillTemplate, evalPart
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.processor import SPARQLResult
from rdflib.plugins.sparql.sparql import QueryContext
from rdflib.store import Store
from rdflib.term import Identifier, Node

from .query import (
    Answer,
    DatasetSelection,
    PreparedQuery,
    QueryError,
    QueryFailed,
    QueryTooComplex,
)
from .sandbox import interrupt

logger = logging.getLogger(__name__)


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

    def triples(self, triple_pattern: Any, context: Any = None) -> Iterator[Any]:
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
            interrupt()
        for match in matches:
            if time.monotonic() > deadline:
                interrupt()
            yield match

    def _graph_triples(self, pattern: Any, name: Any) -> Iterator[Any]:
        graph = self._served_graphs.get(name)
        return iter(()) if graph is None else self._served.triples(pattern, context=graph)

    def _default_triples(self, pattern: Any) -> Iterator[Any]:
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
            if any(g is not None and g.identifier in chosen for g in graphs)
        )

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        """The query's named graphs (an unknown name is an empty graph, but still a graph of its dataset)."""
        for name in self._named_ids():
            graph = Graph(store=self, identifier=name)  # type: ignore[arg-type]  # a served graph's name
            if triple is None or next(iter(self.triples(triple, graph)), None) is not None:
                yield graph

    def __len__(self, context: Any = None) -> int:
        return sum(1 for _ in self.triples((None, None, None), context))

    # Prefixes come from the served store; the evaluator binds rdflib's defaults on every graph it creates,
    # which must not reach the served store, so binding is a no-op.
    def bind(self, prefix: Any, namespace: Any, override: bool = True) -> None:
        return None

    def namespace(self, prefix: Any) -> Any:
        return self._served.namespace(prefix)

    def prefix(self, namespace: Any) -> Any:
        return self._served.prefix(namespace)

    def namespaces(self) -> Any:
        return self._served.namespaces()

    def add(self, triple: Any, context: Any, quoted: bool = False) -> None:
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
        window.graph(),
        initBindings={Variable(k): cast(Identifier, v) for k, v in (init_bindings or {}).items()},
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
            interrupt()
        logger.warning("rdflib failed to evaluate a query", exc_info=True)
        raise QueryFailed(f"The query failed while running: {type(exc).__name__}: {exc}") from exc


def _construct(ctx: QueryContext, algebra: CompValue, limit: int) -> tuple[Graph, bool]:
    """rdflib's ``evalConstructQuery``, but stopping once the graph passes ``limit`` triples.

    rdflib builds the whole graph first; a CONSTRUCT over a cross product could fill the worker's memory
    before the time limit stops it.
    """
    template = algebra.template or algebra.p.p.triples  # CONSTRUCT WHERE { ... }: the pattern is the template
    graph = Graph()
    assert ctx.graph is not None
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
