"""Why an inferred triple holds: the OWL 2 RL rule and its premises, down to the asserted triples.

owlrl computes the closure of the ontology and the data but keeps no record of how it got each triple. The
reasoner's own forward chaining (:func:`collabkg.build.reasoning.derive`, re-exported here) derives it again over the
asserted axioms and records, for each triple, the first rule application that produced it, by one of the OWL 2 RL
rules the ontology uses (:data:`RULES`). A triple is recorded only from premises known before it (asserted, or
derived with a smaller depth), so derivations never form cycles and following premises always ends at asserted
triples.

:func:`explain` writes the derivations of the inferred graph as PROV-O data (the build's
``graph/explanations``): each triple is an ``rdf:Statement`` node. An inferred one is a ``ck:Inference`` that
``prov:wasGeneratedBy`` a ``ck:RuleApplication`` naming the rule (``ck:rule``, an individual of the ontology),
the term whose axiom it applied (``ck:axiomOf``) and its premises (``prov:used``); an asserted premise is a
``ck:AssertedStatement`` with the named graphs that hold it (``ck:inGraph``) and the claims of the sources that
support it (``ck:supportedBy``). A statement's IRI is a hash of its triple
(:func:`collabkg.namespaces.statement_iri`), so a premise that many derivations share is one node.
:mod:`collabkg.evidence.explanations` reads such data back as a tree, for pages and the terminal.

Two steps of the OWL 2 RL tables are one rule in the derivations: ``cls-hv1``/``cls-hv2`` with
``cax-eqc1``/``cax-eqc2`` (:meth:`collabkg.build.reasoning._Rules.asserted` says why). That the closure so derived, less
the noise (:func:`collabkg.build.reasoning.drop_noise`), is exactly owlrl's inferred graph is tested on the real data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from rdflib import RDF, BNode, Graph, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from ..namespaces import CK, ONTOLOGY_GRAPH, PREFIXES, statement_iri
from .reasoning import derive

__all__ = ["explain", "unexplained"]

Triple = tuple[Node, Node, Node]
# The terms the rules and the writer use on every triple, looked up once (a namespace attribute is a lookup).
_TYPE, _SUBJECT, _PREDICATE, _OBJECT = RDF.type, RDF.subject, RDF.predicate, RDF.object
_ENTITY, _ACTIVITY, _GENERATED_BY, _USED = PROV.Entity, PROV.Activity, PROV.wasGeneratedBy, PROV.used
_INFERENCE, _ASSERTED, _APPLICATION = CK.Inference, CK.AssertedStatement, CK.RuleApplication
_RULE, _AXIOM_OF, _IN_GRAPH, _SUPPORTED_BY = CK.rule, CK.axiomOf, CK.inGraph, CK.supportedBy


def explain(ontology: Graph, asserted: Mapping[URIRef, Graph], inferred: Graph) -> Graph:
    """The derivation of each triple of ``inferred``, down to asserted triples, as PROV-O data (a new graph).

    The statement nodes carry no ``rdf:Statement`` type: ``rdf:subject`` implies it (its RDFS domain), and the
    graph is large enough that a triple fewer per node shows in the build's write time.

    :param asserted: the data graphs by name (the ontology is ``graph/ontology``): an asserted premise names
        the graphs that hold it.
    :param inferred: what the reasoner added (:func:`collabkg.build.reasoning.infer`); a triple the rules here do not
        derive gets no explanation, and :func:`unexplained` lists it.
    """
    sources = {ONTOLOGY_GRAPH: ontology, **asserted}
    data = Graph()
    for graph in asserted.values():
        data += graph
    derivations = derive(ontology, data)
    claims = _supporting_claims(data)
    written: list[Triple] = []
    pending = [triple for triple in inferred if triple in derivations]
    seen: set[Triple] = set()
    while pending:
        triple = pending.pop()
        if triple in seen:
            continue
        seen.add(triple)
        node = statement_iri(triple)
        written += [(node, _SUBJECT, triple[0]), (node, _PREDICATE, triple[1]), (node, _OBJECT, triple[2])]
        written.append((node, _TYPE, _ENTITY))
        derivation = derivations.get(triple)
        if derivation is None:
            written.append((node, _TYPE, _ASSERTED))
            written += [(node, _IN_GRAPH, name) for name, graph in sources.items() if triple in graph]
            written += [(node, _SUPPORTED_BY, claim) for claim in claims.get(triple, ())]
            continue
        application = BNode(
            f"application-{node[-32:]}"
        )  # one per inference: named after it, the same each build
        written += [
            (node, _TYPE, _INFERENCE),
            (node, _GENERATED_BY, application),
            (application, _TYPE, _ACTIVITY),
            (application, _TYPE, _APPLICATION),
            (application, _RULE, CK[f"rule-{derivation.rule}"]),
        ]
        if derivation.axiom is not None:
            written.append((application, _AXIOM_OF, derivation.axiom))
        written += [(application, _USED, statement_iri(premise)) for premise in derivation.premises]
        pending.extend(derivation.premises)
    out = Graph()
    for prefix, namespace in PREFIXES.items():
        out.bind(prefix, namespace)
    out.addN((s, p, o, out) for s, p, o in written)
    return out


def _supporting_claims(data: Graph) -> dict[Triple, set[Node]]:
    """The claims that support each triple, through the data's ``ck:supportsStatement`` statements."""
    claims: dict[Triple, set[Node]] = defaultdict(set)
    for claim, statement in data.subject_objects(CK.supportsStatement):
        triple = tuple(data.value(statement, part) for part in (RDF.subject, RDF.predicate, RDF.object))
        claims[triple].add(claim)  # type: ignore[index]
    return claims


def unexplained(explanations: Graph, inferred: Graph) -> list[Triple]:
    """The triples of ``inferred`` that no ``ck:Inference`` of ``explanations`` is about, sorted.

    Compares the statements' subject, predicate and object, not their IRIs, so it holds of a dataset read back
    from a file too (a blank node's label, hashed into the IRI, does not survive a file).
    """
    explained = {
        tuple(explanations.value(node, part) for part in (RDF.subject, RDF.predicate, RDF.object))
        for node in explanations.subjects(RDF.type, CK.Inference)
    }
    return sorted(triple for triple in inferred if triple not in explained)
