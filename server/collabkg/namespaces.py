"""The IRIs the graph is built on, in one place.

The public ones (``CK``, ``ID``) are fixed by ``design/vocabulary.md``; the named-graph IRIs are ours and
appear in the service description, so they are just as stable.
"""

from __future__ import annotations

import hashlib
import re
from typing import TypeVar

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.term import Node

CK = Namespace("https://w3id.org/collabkg/vocab#")
#: Base of every resource of the data: ``ID["model/partnership"]``.
ID = Namespace("https://w3id.org/collabkg/id/")
ONTOLOGY_IRI = URIRef("https://w3id.org/collabkg/vocab")
#: Base of the named graphs the build writes.
GRAPH = Namespace("https://w3id.org/collabkg/graph/")

CITO = Namespace("http://purl.org/spar/cito/")
FABIO = Namespace("http://purl.org/spar/fabio/")
PRISM = Namespace("http://prismstandard.org/namespaces/basic/2.0/")
BIBO = Namespace("http://purl.org/ontology/bibo/")
VANN = Namespace("http://purl.org/vocab/vann/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
SCHEMA = Namespace("https://schema.org/")
WD = Namespace("http://www.wikidata.org/entity/")

#: The named graph holding the ontology.
ONTOLOGY_GRAPH = GRAPH["ontology"]
#: The named graph holding what the reasoner adds.
INFERRED_GRAPH = GRAPH["inferred"]
#: The named graph holding why each inferred triple holds (PROV-O; see ``collabkg.build.explanations``).
EXPLANATIONS_GRAPH = GRAPH["explanations"]
#: Base of the statement nodes of the explanations: ``explanation/<hash of the triple>``.
EXPLANATION = Namespace(ID["explanation/"])
#: Base of the rule applications of the explanations: ``rule-application/<rule>[-<hash of the axiom's term>]``.
RULE_APPLICATION = Namespace(ID["rule-application/"])
#: Base of the reified ``rdf:Statement`` nodes of the data (the links a claim supports): ``statement/<hash>``.
STATEMENT = Namespace(ID["statement/"])


def statement_iri(triple: tuple[Node, Node, Node]) -> URIRef:
    """The IRI of the statement node of ``triple`` in the explanations: the same triple, the same node (the hash
    of its terms as rdflib's ``n3()`` writes them)."""
    s, p, o = triple
    text = f"{n3(s)} {n3(p)} {n3(o)}"
    return URIRef(f"{EXPLANATION}{hashlib.sha256(text.encode()).hexdigest()[:32]}")


def n3(term: Node) -> str:
    """``term.n3()``, with IRIs and blank nodes written here without its check of the IRI: the build writes
    tens of millions of terms at a million triples, and every IRI it holds was checked when it was read (by the
    parser) or made (by the build)."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return term.n3()


#: Characters an IRI may not hold (RFC 3987: controls, space, ``<>"{}|\^```), and the apostrophe, which it may
#: but no IRI of this graph does: a quote in a value is an injection probe, and is answered as one.
IRI_FORBIDDEN = re.compile(r"[\x00-\x20<>\"'{}|\\^`]")


def resource_iri(path: str) -> URIRef | None:
    """The IRI of the graph's resource ``id/{path}``, or ``None`` when ``path`` cannot be part of an IRI (a
    request for ``/id/a b`` names no resource, rather than a malformed IRI)."""
    return None if not path or IRI_FORBIDDEN.search(path) else ID[path]


def data_graph(stem: str) -> URIRef:
    """Name of the graph for one data file: ``data/andersson-2011.ttl`` → ``graph/andersson-2011``."""
    return GRAPH[stem]


#: Prefixes bound on every graph we serialize or query, so output reads well.
PREFIXES: dict[str, str] = {
    "ck": str(CK),
    "model": str(ID["model/"]),
    "determinant": str(ID["determinant/"]),
    "study": str(ID["study/"]),
    "country": str(ID["country/"]),
    "finding": str(ID["finding/"]),
    "claim": str(ID["claim/"]),
    "mapping": str(ID["mapping/"]),
    "theme": str(ID["theme/"]),
    "person": str(ID["person/"]),
    "cito": str(CITO),
    "fabio": str(FABIO),
    "prism": str(PRISM),
    "bibo": str(BIBO),
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "schema": str(SCHEMA),
    "wd": str(WD),
}

_Graph = TypeVar("_Graph", bound=Graph)


def with_prefixes(graph: _Graph) -> _Graph:
    """``graph`` (or a dataset) with the project's prefixes bound, so that what is written of it reads
    ``ck:`` and ``model:``, not rdflib's ``ns1:``; returned for use in one expression."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph
