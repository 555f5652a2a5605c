"""The default graph of a served Oxigraph store: the union of its named graphs, held or taken.

The service's default graph is the union of its named graphs, each triple once (SPARQL's RDF merge). A store
can give it two ways. Written from graphs that share no triple (the build knows when its graphs do not), the
store leaves its own default graph empty and a query takes the union of the named graphs as its default graph
(Oxigraph's ``use_default_graph_as_union``): no quad is held twice, which halves the store and the time to
write it. Written from files that may share triples (``serve --dataset``), the store holds the union as its
default graph, each triple once, since Oxigraph's union would count a triple of two graphs twice.

Which way a store was written is read from the store itself: its default graph is empty or not. This module
needs nothing but pyoxigraph, so that the query processes (:mod:`.executor`) start quickly.
"""

from __future__ import annotations

import pyoxigraph as ox

__all__ = ["takes_union"]


def takes_union(store: ox.Store) -> bool:
    """Whether a query of ``store`` takes the union of the named graphs as its default graph: the store's own
    default graph is empty. (A store whose graphs are all empty answers the same either way.)

    Only a query that names no dataset of its own (FROM, FROM NAMED, the protocol's graph parameters) may be
    given Oxigraph's ``use_default_graph_as_union``: it overrides those.
    """
    return next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is None
