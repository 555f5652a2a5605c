"""The ontology's documentation page, written by pyLODE, a documentation generator made for OWL ontologies.

pyLODE takes a couple of seconds, so the page is generated once per ontology text (memoized: every app over
the same ontology, in tests or in gunicorn's preloading master, shares it), never per request. pyLODE names
a term's anchor after its label (``#hybridmodel``); the vocabulary's IRIs are ``vocab#HybridModel``, so the
anchors are set to the local names first, and ``/vocab#HybridModel`` lands on the term.
"""

from __future__ import annotations

import functools
import warnings

from rdflib import Graph, URIRef

from ..namespaces import CK


@functools.lru_cache(maxsize=4)
def ontology_documentation(turtle: bytes) -> str:
    """The HTML documentation of the ontology given as Turtle (self-contained: its CSS is inline).

    pyLODE is imported here, not at the top: its import alone costs a tenth of a second of every start-up,
    and most servers never get a request for ``/vocab``.
    """
    from pylode import OntPub

    graph = Graph().parse(data=turtle, format="turtle")
    document = OntPub(graph)
    document.fids.update(
        {
            str(term): term[len(CK) :]
            for term in set(graph.subjects())
            if isinstance(term, URIRef) and term.startswith(CK)
        }
    )
    with warnings.catch_warnings():
        # pyLODE reads its stylesheet with a bare open(): closed at once, but with a ResourceWarning.
        warnings.simplefilter("ignore", ResourceWarning)
        return document.make_html()
