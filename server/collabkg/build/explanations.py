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
support it (``ck:supportedBy``). A statement's IRI is a hash of its triple, so a premise that many derivations
share is one node. :func:`read_explanation` reads such data back as a tree, for pages and the terminal.

Two steps of the OWL 2 RL tables are one rule in the derivations: ``cls-hv1``/``cls-hv2`` with
``cax-eqc1``/``cax-eqc2`` (:meth:`collabkg.build.reasoning._Rules.asserted` says why). That the closure so derived, less
the noise (:func:`collabkg.build.reasoning.drop_noise`), is exactly owlrl's inferred graph is tested on the real data.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from ..namespaces import CITO, CK, ID, ONTOLOGY_GRAPH, PREFIXES
from .reasoning import RULES, Derivation, derive

__all__ = [
    "RULES",
    "Derivation",
    "Explanation",
    "Support",
    "derive",
    "explain",
    "explanations_about",
    "format_explanation",
    "read_explanation",
    "statement_iri",
    "unexplained",
]

Triple = tuple[Node, Node, Node]
# The terms the rules and the writer use on every triple, looked up once (a namespace attribute is a lookup).
_TYPE, _SUBJECT, _PREDICATE, _OBJECT = RDF.type, RDF.subject, RDF.predicate, RDF.object
_ENTITY, _ACTIVITY, _GENERATED_BY, _USED = PROV.Entity, PROV.Activity, PROV.wasGeneratedBy, PROV.used
_INFERENCE, _ASSERTED, _APPLICATION = CK.Inference, CK.AssertedStatement, CK.RuleApplication
_RULE, _AXIOM_OF, _IN_GRAPH, _SUPPORTED_BY = CK.rule, CK.axiomOf, CK.inGraph, CK.supportedBy
#: Base of the statement nodes of the explanations: ``explanation/<hash of the triple>``.
EXPLANATION = Namespace(ID["explanation/"])


def statement_iri(triple: Triple) -> URIRef:
    """The IRI of the statement node of ``triple`` in the explanations: the same triple, the same node."""
    digest = hashlib.sha256(" ".join(term.n3() for term in triple).encode()).hexdigest()
    return EXPLANATION[digest[:32]]


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
        application = BNode()
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


# --- Reading explanations back ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Support:
    """A claim of a source that supports an asserted statement, with the numbers of the references it cites."""

    iri: URIRef
    label: str
    references: tuple[int, ...]

    @property
    def trail_path(self) -> str:
        """The claim's trail relative to ``/trail/``: ``claim/<slug>`` or ``finding/<slug>``."""
        return str(self.iri).removeprefix(str(ID))


@dataclass(frozen=True)
class Explanation:
    """Why one statement holds: the rule and its premises when inferred; the graphs and claims when asserted."""

    iri: URIRef
    subject: str
    predicate: str
    object: str
    #: The rule's label and OWL 2 RL name (``symmetric property``, ``prp-symp``); None for an asserted statement.
    rule: str | None
    rule_name: str | None
    #: The label of the term whose axiom the rule applied (``combines with``), if the rule applied one.
    axiom: str | None
    premises: tuple[Explanation, ...]
    #: The local names of the named graphs that hold an asserted statement (``andersson-2011``, ``ontology``).
    graphs: tuple[str, ...]
    claims: tuple[Support, ...]

    @property
    def statement(self) -> str:
        return f"{self.subject} {self.predicate} {self.object}"

    @property
    def reason(self) -> str:
        """``symmetric property (prp-symp): combines with``, or ``asserted in andersson-2011``."""
        if self.rule is None:
            return f"asserted in {', '.join(self.graphs)}"
        axiom = f": {self.axiom}" if self.axiom else ""
        return f"{self.rule} ({self.rule_name}){axiom}"


#: Names for terms without a label: rdf: is not among the graph's prefixes, but rdf:type is in explanations.
_NAMES = sorted({**PREFIXES, "rdf": str(RDF)}.items(), key=lambda item: -len(item[1]))


def _name(graph: Graph, node: Node) -> str:
    """A term as people read it: a literal's text, a label (English preferred), else a prefixed name."""
    if isinstance(node, Literal):
        return str(node)
    if node == RDF.type:
        return "is a"
    labels = sorted(
        graph.objects(node, RDFS.label), key=lambda label: (label.language not in ("en", None), label)
    )
    if labels:
        return str(labels[0])
    for prefix, namespace in _NAMES:
        if str(node).startswith(namespace):
            return f"{prefix}:{str(node)[len(namespace) :]}"
    return f"<{node}>" if isinstance(node, URIRef) else "[]"


def read_explanation(graph: Graph, node: Node) -> Explanation:
    """The explanation of the statement ``node`` in ``graph`` (explanation data with labels), as a tree."""
    subject, predicate, obj = (graph.value(node, part) for part in (RDF.subject, RDF.predicate, RDF.object))
    application = graph.value(node, PROV.wasGeneratedBy)
    rule = None if application is None else graph.value(application, CK.rule)
    axiom = None if application is None else graph.value(application, CK.axiomOf)
    premises = () if application is None else graph.objects(application, PROV.used)
    claims = (
        Support(
            iri=claim,
            label=_name(graph, claim),
            references=tuple(
                sorted(
                    int(number)
                    for cites in (CITO.citesAsEvidence, CITO.citesForInformation)
                    for reference in graph.objects(claim, cites)
                    for number in graph.objects(reference, CK.referenceNumber)
                )
            ),
        )
        for claim in graph.objects(node, CK.supportedBy)
    )
    return Explanation(
        iri=node,
        subject=_name(graph, subject),
        predicate=_name(graph, predicate),
        object=_name(graph, obj),
        rule=None if rule is None else _name(graph, rule),
        rule_name=None if rule is None else str(graph.value(rule, CK.owl2rlRuleName)),
        axiom=None if axiom is None else _name(graph, axiom),
        premises=tuple(
            sorted((read_explanation(graph, premise) for premise in premises), key=_reading_order)
        ),
        graphs=tuple(sorted(str(name).rsplit("/", 1)[-1] for name in graph.objects(node, CK.inGraph))),
        claims=tuple(sorted(claims, key=lambda claim: str(claim.iri))),
    )


def _reading_order(explanation: Explanation) -> tuple[bool, str]:
    """Premises of the data first, axioms of the ontology last; then alphabetically."""
    return ("ontology" in explanation.graphs, explanation.statement)


def explanations_about(graph: Graph, subject: Node) -> tuple[Explanation, ...]:
    """The explanations of the inferred statements whose subject is ``subject``, by statement."""
    return tuple(
        sorted(
            (
                read_explanation(graph, node)
                for node in set(graph.subjects(RDF.subject, subject))
                if (node, RDF.type, CK.Inference) in graph
            ),
            key=lambda explanation: explanation.statement,
        )
    )


def format_explanation(explanation: Explanation) -> list[str]:
    """The explanation as lines of text: the statement, why it holds, then each premise indented below it."""
    lines = [explanation.statement, f"  {explanation.reason}"]
    for claim in explanation.claims:
        cited = "".join(f" [{number}]" for number in claim.references)
        lines.append(f"  supported by: {claim.label}{cited}")
    for premise in explanation.premises:
        first, *rest = format_explanation(premise)
        lines += [f"  - {first}", *(f"    {line}" for line in rest)]
    return lines
