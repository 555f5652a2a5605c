"""The built dataset in any SPARQL 1.1 store (``collabkg publish --to URL``).

Each named graph of the build goes into the store: with the Graph Store Protocol (``PUT ?graph=``, one
request per graph) where the store offers it, else with SPARQL Update (``CLEAR GRAPH`` then inserts in
chunks). ``collabkg serve --store URL`` then answers from that store (:class:`collabkg.store.remote.RemoteStore`).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import urllib.response
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.term import Node

from .namespaces import with_prefixes
from .store.base import QUAD_FORMATS, DatasetLoadError, DatasetSource, StoreUnavailable

__all__ = ["Credentials", "PublishError", "Published", "publish", "read_dataset", "update_requests"]

#: Triples per insert request when publishing with SPARQL Update (Virtuoso 7 refuses templates of much more:
#: "the length of generated SQL text has exceeded 10000 lines").
CHUNK_TRIPLES = 500
#: Seconds one publishing request may take.
PUBLISH_TIMEOUT = 300
#: HTTP statuses meaning "this store has no Graph Store Protocol here": publishing falls back to SPARQL Update.
NO_GRAPH_STORE = frozenset({404, 405, 501})


class PublishError(Exception):
    """The store did not take the data; says which graph and what the store answered."""


@dataclass(frozen=True)
class Credentials:
    """A user and password for a store that wants them (basic or digest authentication, as it asks)."""

    user: str
    password: str


@dataclass(frozen=True)
class Published:
    """One graph as published: its name, its size and how it went in (``graph store`` or ``update``)."""

    graph: URIRef
    triples: int
    method: str


Quad = tuple[Node, Node, Node, URIRef]


def read_dataset(sources: Sequence[DatasetSource]) -> Dataset:
    """RDF files as one dataset to publish (the build's TriG, or files a user names): a quad format keeps its
    graph names; a triple file goes to the graph its source names, else the one of its ``file:`` URI.

    :raises DatasetLoadError: a file is missing or does not parse.
    """
    dataset = with_prefixes(Dataset())
    for source in sources:
        fmt = source.format()
        name = source.graph or URIRef(source.path.resolve().as_uri())
        try:
            if fmt in QUAD_FORMATS:
                dataset.parse(source.path, format=fmt, publicID=str(name))
            else:
                dataset.graph(name).parse(source.path, format=fmt, publicID=str(name))
        except Exception as exc:  # rdflib's parsers raise many unrelated types; all mean "this file is bad"
            raise DatasetLoadError(f"{source.path}: {exc}") from exc
    return dataset


def publish(
    dataset: Dataset,
    endpoint: str,
    *,
    graph_store: str | None = None,
    credentials: Credentials | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> list[Published]:
    """Replace each named graph of ``dataset`` in the store with the dataset's version of it.

    With ``graph_store`` each graph is ``PUT`` there (Graph Store Protocol, ``?graph=``), except graphs that
    share a blank node with another graph: one request per graph would make that node two, so those go
    together by SPARQL Update at ``endpoint``. Should the store answer that it has no Graph Store Protocol
    (404, 405, 501), every graph left goes by SPARQL Update too. Other graphs of the store are left alone.

    :raises StoreUnavailable: the store cannot be reached or refuses the credentials.
    :raises PublishError: the store refused a graph.
    """
    opener = _opener(credentials, endpoint, graph_store)
    graphs = sorted(_named_graphs(dataset), key=lambda g: str(g.identifier))
    sharing = _sharing_blank_nodes(graphs)
    if graph_store is not None and sharing:
        names = ", ".join(f"<{name}>" for name in sorted(sharing))
        log(f"{names} share blank nodes: they go together by SPARQL Update, to stay one node each")
    published, by_update = [], []
    for graph in graphs:
        name = URIRef(graph.identifier)
        if graph_store is None or name in sharing:
            by_update.append(graph)
            continue
        status = _put_graph(opener, graph_store, graph)
        if status in NO_GRAPH_STORE:
            log(
                f"{graph_store} has no Graph Store Protocol (HTTP {status}); using SPARQL Update at {endpoint}"
            )
            graph_store = None
            by_update.append(graph)
            continue
        published.append(Published(name, len(graph), "graph store"))
        log(f"{name}: {len(graph)} triples (graph store)")
    for update in update_requests(by_update):
        _send_update(opener, endpoint, update)
    for graph in by_update:
        published.append(Published(URIRef(graph.identifier), len(graph), "update"))
        log(f"{graph.identifier}: {len(graph)} triples (update)")
    return published


def _named_graphs(dataset: Dataset) -> Iterator[Graph]:
    return (g for g in dataset.graphs() if isinstance(g.identifier, URIRef) and len(g))


def _sharing_blank_nodes(graphs: Iterable[Graph]) -> set[URIRef]:
    """Names of the graphs that hold a blank node some other graph holds too."""
    holders: dict[BNode, set[URIRef]] = {}
    for graph in graphs:
        for s, _, o in graph:
            for term in (s, o):
                if isinstance(term, BNode):
                    holders.setdefault(term, set()).add(URIRef(graph.identifier))
    return {name for names in holders.values() if len(names) > 1 for name in names}


def update_requests(graphs: Sequence[Graph], chunk: int = CHUNK_TRIPLES) -> Iterator[str]:
    """SPARQL Update requests that replace ``graphs`` in a store: ``CLEAR`` each, then insert them in chunks.

    These are data written by rdflib (N-Triples) in the few keywords Update needs, not queries, so they are
    made here rather than kept in ``queries/``. The chunks are ``INSERT { ... } WHERE {}`` rather than
    ``INSERT DATA``: the same triples, but Virtuoso 7 refuses blank nodes in ``INSERT DATA`` ("not allowed in
    a constant clause"), and accepts them in a template. A blank node's label means one node only within one
    request, so all statements of a blank node, in whichever graph, go into the same chunk.
    """
    for graph in graphs:
        yield f"CLEAR SILENT GRAPH {URIRef(graph.identifier).n3()}"
    quads = [(s, p, o, URIRef(g.identifier)) for g in graphs for s, p, o in g]
    for part in _chunks(quads, chunk):
        by_graph: dict[URIRef, Graph] = {}
        for s, p, o, name in part:
            by_graph.setdefault(name, Graph()).add((s, p, o))
        body = "".join(
            f"GRAPH {name.n3()} {{\n{graph.serialize(format='nt')}}}\n" for name, graph in by_graph.items()
        )
        yield f"INSERT {{\n{body}}} WHERE {{}}"


def _chunks(quads: list[Quad], size: int) -> Iterator[list[Quad]]:
    """The quads in groups of about ``size``, never separating statements that share a blank node."""
    parent: dict[BNode, BNode] = {}

    def root(node: BNode) -> BNode:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for s, _, o, _ in quads:
        if isinstance(s, BNode) and isinstance(o, BNode):
            parent[root(s)] = root(o)
    groups: dict[object, list[Quad]] = {}
    for index, quad in enumerate(quads):
        blank = next((term for term in (quad[0], quad[2]) if isinstance(term, BNode)), None)
        groups.setdefault(("b", root(blank)) if blank is not None else ("t", index), []).append(quad)
    current: list[Quad] = []
    for group in groups.values():
        if current and len(current) + len(group) > size:
            yield current
            current = []
        current.extend(group)
    if current:
        yield current


def _opener(credentials: Credentials | None, *urls: str | None) -> urllib.request.OpenerDirector:
    """An opener that answers a 401 challenge, basic or digest, with the credentials for these URLs."""
    if credentials is None:
        return urllib.request.build_opener()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    for url in urls:
        if url is not None:
            passwords.add_password(None, url, credentials.user, credentials.password)
    return urllib.request.build_opener(
        urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)
    )


def _put_graph(opener: urllib.request.OpenerDirector, graph_store: str, graph: Graph) -> int:
    """PUT the graph as N-Triples; its HTTP status, or :data:`NO_GRAPH_STORE`'s when there is no such service.

    :raises PublishError: any other refusal.
    """
    separator = "&" if "?" in graph_store else "?"
    url = f"{graph_store}{separator}{urllib.parse.urlencode({'graph': str(graph.identifier)})}"
    body = graph.serialize(format="nt", encoding="utf-8")
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "application/n-triples; charset=utf-8"}
    )
    try:
        with _send(opener, request, graph_store) as response:
            return int(response.status or 200)
    except urllib.error.HTTPError as exc:
        if exc.code in NO_GRAPH_STORE:
            return exc.code
        raise PublishError(f"{graph_store} refused graph <{graph.identifier}>: {_reason(exc)}") from None


def _send_update(opener: urllib.request.OpenerDirector, endpoint: str, update: str) -> None:
    """POST one SPARQL Update request.

    :raises PublishError: the store refused it.
    """
    request = urllib.request.Request(
        endpoint,
        data=update.encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/sparql-update; charset=utf-8"},
    )
    try:
        with _send(opener, request, endpoint):
            return
    except urllib.error.HTTPError as exc:
        raise PublishError(
            f"{endpoint} refused SPARQL Update ({' '.join(update[:90].split())}...): {_reason(exc)}. The store must accept SPARQL "
            "Update there from this user (or give --graph-store with its Graph Store Protocol endpoint)."
        ) from None


def _send(
    opener: urllib.request.OpenerDirector, request: urllib.request.Request, url: str
) -> urllib.response.addinfourl:
    """Open ``request``; an unreachable store or refused credentials are :class:`StoreUnavailable`.

    :raises urllib.error.HTTPError: any other error status, for the caller to word.
    """
    try:
        return opener.open(request, timeout=PUBLISH_TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise StoreUnavailable(
                f"{url}: 401 Unauthorized: the store wants other credentials (--user, --password)"
            ) from None
        raise
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StoreUnavailable(f"{url}: cannot reach the store ({reason})") from None


def _reason(exc: urllib.error.HTTPError) -> str:
    """The status and the first words of the store's explanation."""
    body = exc.read().decode("utf-8", errors="replace").strip()
    return f"HTTP {exc.code} {exc.reason}" + (f": {' '.join(body.split())[:300]}" if body else "")
