"""The reasoning step: what OWL 2 RL adds to the asserted graph, without the noise.

:func:`infer` runs in two parts that can change independently: :func:`owlrl_closure` computes the OWL 2 RL
closure (today with owlrl's forward chaining; a faster engine can replace it as long as it derives the same
triples), and :func:`drop_noise` keeps only the new triples a user of the inferred graph should see.

What is left out, and why (this paragraph is the README's):

    The inferred graph holds only what the OWL 2 RL reasoner adds that says something about this graph. Left
    out are (1) every triple already asserted in the ontology or the data; (2) triples about literals (owlrl
    types each literal with its datatype and makes it ``owl:sameAs`` itself); (3) triples whose subject or
    object is a term of the RDF, RDFS, OWL or XSD vocabularies: the axioms about the built-ins,
    ``owl:Thing``/``owl:Nothing``, ``rdfs:Resource``, ``x a owl:Thing``, ``C rdfs:subClassOf owl:Thing``,
    ``xsd:string a rdfs:Datatype``, ``p a owl:AnnotationProperty`` hold of any graph; (4) ``rdfs:domain`` and
    ``rdfs:range`` triples, which the schema rules derive by widening an asserted domain or range to a
    superclass or handing it down to a subproperty, a weaker restatement of what the ontology says (their
    effect on the data, the ``rdf:type`` triples, is kept); (5) reflexive triples with an RDF/RDFS/OWL
    predicate (``x owl:sameAs x``, ``C rdfs:subClassOf C``, ``C owl:equivalentClass C``), true of every term;
    (6) triples that mention a blank node of the ontology: the anonymous restrictions and lists behind
    ``owl:hasValue`` classes, property chains and ``owl:oneOf``, whose labels mean nothing outside the
    ontology file (the named classes they define are kept); (7) copies of a statement onto an ``owl:sameAs``
    alias: each set of same-as resources is represented by one member (an IRI of
    ``https://w3id.org/collabkg/id/`` if there is one, else the first IRI in code point order), statements are
    kept for that member only, and the ``owl:sameAs`` links themselves are kept so a query can follow them.
    Kept are the real consequences: mirrored symmetric links, closed transitive chains, inverse links, classes
    filled from ``owl:hasValue`` definitions, property-chain results, superclass types and super-property
    links (also to PROV, SKOS, FaBiO, DCTERMS and schema.org terms), and new ``rdfs:subClassOf`` and
    ``rdfs:subPropertyOf`` links between named terms.
"""

from __future__ import annotations

from collections.abc import Iterable

import owlrl
from owlrl.Namespaces import ERRNS
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from .namespaces import ID

__all__ = ["BUILTIN_NAMESPACES", "InconsistentGraph", "drop_noise", "infer", "is_noise", "owlrl_closure"]

#: Vocabularies of the modelling languages themselves: statements about their terms hold of every graph.
BUILTIN_NAMESPACES: tuple[str, ...] = (str(RDF), str(RDFS), str(OWL), str(XSD))

Triple = tuple[Node, Node, Node]


class InconsistentGraph(ValueError):
    """The reasoner found the ontology and data inconsistent (an ill-typed literal, a disjointness clash)."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = sorted(messages)
        super().__init__("; ".join(self.messages))


def infer(ontology: Graph, data: Graph) -> Graph:
    """The triples OWL 2 RL adds to ``ontology`` + ``data`` that are worth a user's reading.

    Neither argument is changed.

    :raises InconsistentGraph: the reasoner reports the graph inconsistent.
    """
    return drop_noise(owlrl_closure(ontology, data), ontology=ontology, data=data)


def owlrl_closure(ontology: Graph, data: Graph) -> Graph:
    """The OWL 2 RL closure of ``ontology`` + ``data``, as owlrl computes it: a new graph, inputs included.

    (owlrl's ``destination=`` option would collect the new triples in a graph of their own, but it needs a
    Dataset, whose use inside owlrl sets off rdflib 7.6's deprecation warnings; expanding a copy is as fast.)

    :raises InconsistentGraph: owlrl reported errors (it writes them as ``err:ErrorMessage`` nodes).
    """
    closure = Graph()
    closure += ontology
    closure += data
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closure)
    messages = [
        str(message)
        for report in closure.subjects(RDF.type, ERRNS.ErrorMessage)
        for message in closure.objects(report, ERRNS.error)
    ]
    if messages:
        raise InconsistentGraph(messages)
    return closure


def drop_noise(closure: Graph, *, ontology: Graph, data: Graph) -> Graph:
    """The triples of ``closure`` that are not asserted (rule 1) and not :func:`is_noise`, as a new graph.

    ``closure`` is what a reasoner derived from ``ontology`` + ``data`` (with or without the inputs).
    """
    ontology_bnodes = {n for triple in ontology for n in triple if isinstance(n, BNode)}
    canonical = _same_as_representatives(_same_as_links(closure))
    kept = Graph()
    for triple in closure:
        if triple in ontology or triple in data:  # (1)
            continue
        if not is_noise(triple, ontology_bnodes=ontology_bnodes, canonical=canonical):
            kept.add(triple)
    return kept


def is_noise(triple: Triple, *, ontology_bnodes: set[BNode], canonical: dict[Node, Node]) -> bool:
    """Whether an added (not asserted) triple is left out of the inferred graph: rules (2)-(7).

    :param ontology_bnodes: the blank nodes of the ontology (restrictions, lists).
    :param canonical: for each resource in an ``owl:sameAs`` set, the member that carries the statements.
    """
    s, p, o = triple
    if isinstance(s, Literal):  # (2)
        return True
    if _is_builtin(s) or _is_builtin(o):  # (3)
        return True
    if p in (RDFS.domain, RDFS.range):  # (4)
        return True
    if s == o and _is_builtin(p):  # (5)
        return True
    if s in ontology_bnodes or o in ontology_bnodes:  # (6)
        return True
    return p != OWL.sameAs and (canonical.get(s, s) != s or canonical.get(o, o) != o)  # (7)


def _is_builtin(node: Node) -> bool:
    # str(): URIRef.startswith does not take a tuple of prefixes.
    return isinstance(node, URIRef) and str(node).startswith(BUILTIN_NAMESPACES)


def _same_as_links(graph: Graph) -> Iterable[tuple[Node, Node]]:
    for s, o in graph.subject_objects(OWL.sameAs):
        if s != o and not isinstance(s, Literal) and not isinstance(o, Literal):
            yield s, o


def _same_as_representatives(links: Iterable[tuple[Node, Node]]) -> dict[Node, Node]:
    """Map each resource linked by ``owl:sameAs`` to its set's representative (rule 7 says which)."""
    parent: dict[Node, Node] = {}

    def find(node: Node) -> Node:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in links:
        parent[find(a)] = find(b)
    members: dict[Node, list[Node]] = {}
    for node in parent:
        members.setdefault(find(node), []).append(node)
    canonical: dict[Node, Node] = {}
    for group in members.values():
        representative = min(group, key=_representative_key)
        canonical.update(dict.fromkeys(group, representative))
    return canonical


def _representative_key(node: Node) -> tuple[bool, bool, str]:
    """Our own IRIs first, then other IRIs, then blank nodes; ties by code point order."""
    return (not str(node).startswith(str(ID)), isinstance(node, BNode), str(node))
