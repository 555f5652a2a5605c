"""Why an inferred triple holds: the OWL 2 RL rule and its premises, down to the asserted triples.

owlrl computes the closure of the ontology and the data but keeps no record of how it got each triple. The
reasoner's own forward chaining (:func:`collabkg.build.reasoning.derive`, re-exported here) derives it again over the
asserted axioms and records, for each triple, the first rule application that produced it, by one of the OWL 2 RL
rules the ontology uses (:data:`RULES`). A triple is recorded only from premises known before it (asserted, or
derived with a smaller depth), so derivations never form cycles and following premises always ends at asserted
triples.

:func:`explain` gives the derivations of the inferred graph as PROV-O data (the build's
``graph/explanations``, :class:`Explanations`): each triple is an ``rdf:Statement`` node. An inferred one is a
``ck:Inference`` that ``prov:wasDerivedFrom`` its premises (statement nodes themselves) and ``prov:wasGeneratedBy``
a ``ck:RuleApplication``: the application of one rule (``ck:rule``, an individual of the ontology) to one term's
axiom (``ck:axiomOf``), a node that every triple so derived shares (``id/rule-application/<rule>-<hash>``). An
asserted premise is a ``ck:AssertedStatement`` with the named graphs that hold it (``ck:inGraph``) and the claims
of the sources that support it (``ck:supportedBy``). A statement's IRI is a hash of its triple
(:func:`collabkg.namespaces.statement_iri`), so a premise that many derivations share is one node. Premises by
reference and shared rule applications keep the graph to about 10 triples per inferred triple; it is still the
largest of the build by far, so it is not held as rdflib triples: :class:`Explanations` keeps one entry per
statement node and writes each node's triples when asked, as the sorted N-Triples lines of the dataset file
(:func:`nt_line`).
:mod:`collabkg.evidence.explanations` reads such data back as a tree, for pages and the terminal.

Two steps of the OWL 2 RL tables are one rule in the derivations: ``cls-hv1``/``cls-hv2`` with
``cax-eqc1``/``cax-eqc2`` (:meth:`collabkg.build.reasoning._Rules.asserted` says why). That the closure so derived, less
the noise (:func:`collabkg.build.reasoning.drop_noise`), is exactly owlrl's inferred graph is tested on the real data.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from ..namespaces import CK, EXPLANATION, ONTOLOGY_GRAPH, RULE_APPLICATION, n3, statement_iri, with_prefixes
from .reasoning import Derivation, derive
from .turtle import Triple, Triples

__all__ = ["Explanations", "explain", "nt_line", "unexplained"]

# The terms the rules and the writer use on every triple, looked up once (a namespace attribute is a lookup).
_TYPE, _SUBJECT, _PREDICATE, _OBJECT = RDF.type, RDF.subject, RDF.predicate, RDF.object
_GENERATED_BY, _DERIVED_FROM = PROV.wasGeneratedBy, PROV.wasDerivedFrom
_INFERENCE, _ASSERTED, _APPLICATION = CK.Inference, CK.AssertedStatement, CK.RuleApplication
_RULE, _AXIOM_OF, _IN_GRAPH, _SUPPORTED_BY = CK.rule, CK.axiomOf, CK.inGraph, CK.supportedBy
_SUPPORTS, _PARTS = CK.supportsStatement, frozenset({_SUBJECT, _PREDICATE, _OBJECT})
_STRENGTH, _RANK = CK.strength, CK.strengthRank
#: A curated mapping's parts, in the order of a triple's (their domain makes the node a ck:CuratedMapping).
_MAPPING_PARTS = (CK.mappingSubject, CK.mappingRelation, CK.mappingObject)
#: What an asserted statement node records besides its triple: the graphs that hold it, the claims behind it,
#: and how firmly the firmest passage or curated mapping that supports it states it (None: none does).
_Asserted = tuple[tuple[URIRef, ...], tuple[Node, ...], Node | None]


#: The beginnings of the IRIs of the explanations' own nodes (:meth:`Explanations.owns`).
_OWN = (str(EXPLANATION), str(RULE_APPLICATION))
#: What names a rule application: the rule's name and the term whose axiom it applied (if any).
_Applied = tuple[str, Node | None]


class Explanations:
    """The explanations graph, one entry per statement node, its triples made only when they are read.

    Held as rdflib triples, the graph took more memory than the rest of a large build together; an entry here
    is the statement's node and its derivation (which :func:`collabkg.build.reasoning.derive` holds anyway)
    or, for an asserted premise, its graphs and claims. Entries are found by their triple, so that a premise's
    node is looked up, not hashed again for every inference that names it.
    """

    def __init__(
        self,
        statements: dict[Triple, tuple[URIRef, Derivation | _Asserted]],
        applications: dict[_Applied, URIRef],
        size: int,
        missing: list[Triple],
    ) -> None:
        self._statements = statements
        self._applications = applications
        self._size = size
        #: The inferred triples without an explanation (no rule here derives them), sorted.
        self.unexplained = missing

    def __len__(self) -> int:
        """The number of triples, as a graph of them would count them."""
        return self._size

    def owns(self, node: Node) -> bool:
        """Whether ``node`` is one of the graph's own nodes, a statement node or a rule application (an IRI under
        :data:`~collabkg.namespaces.EXPLANATION` or :data:`~collabkg.namespaces.RULE_APPLICATION`): every
        triple here has one as its subject, so a graph none of whose subjects is one shares no triple with
        this one."""
        return isinstance(node, URIRef) and str.startswith(node, _OWN)

    def __iter__(self) -> Iterator[Triple]:
        """Every triple, statement node by statement node, then the rule applications'."""
        for triple in self._statements:
            yield from self._of(triple)
        for applied, node in self._applications.items():
            yield from _application_triples(node, *applied)

    def graph(self) -> Graph:
        """The triples as an rdflib graph, with the project's prefixes: for reading a small one."""
        out = with_prefixes(Graph())
        out.addN((s, p, o, out) for s, p, o in self)
        return out

    def lines(self) -> Iterator[bytes]:
        """The triples as N-Triples lines (:func:`nt_line`), sorted, made a node at a time.

        A line starts with its subject: a statement node's IRI (all of one length, under ``id/explanation/``)
        or a rule application's (under ``id/rule-application/``, after them). So the lines sort as the nodes'
        IRIs written in angle brackets do, and within a node as its own few lines do: the whole list is never
        held. (Written, an IRI that is the start of another sorts after it: ``>`` comes after ``-``.)
        """
        for _, triple in sorted((node, triple) for triple, (node, _) in self._statements.items()):
            for line in sorted({nt_line(each) for each in self._of(triple)}):
                yield line.encode()
        for applied, node in sorted(self._applications.items(), key=lambda item: n3(item[1])):
            for line in sorted(nt_line(each) for each in _application_triples(node, *applied)):
                yield line.encode()

    def _of(self, triple: Triple) -> Iterator[Triple]:
        """The triples of one statement node (those of the rule application it names are shared, and written
        once: :func:`_application_triples`)."""
        node, why = self._statements[triple]
        yield from ((node, _SUBJECT, triple[0]), (node, _PREDICATE, triple[1]), (node, _OBJECT, triple[2]))
        if isinstance(why, Derivation):
            yield node, _TYPE, _INFERENCE
            yield node, _GENERATED_BY, self._applications[why.rule, why.axiom]
            yield from ((node, _DERIVED_FROM, self._statements[premise][0]) for premise in why.premises)
            return
        graphs, claims, strength = why
        yield node, _TYPE, _ASSERTED
        yield from ((node, _IN_GRAPH, name) for name in graphs)
        yield from ((node, _SUPPORTED_BY, claim) for claim in claims)
        if strength is not None:
            yield node, _STRENGTH, strength


def _application(rule: str, axiom: Node | None) -> URIRef:
    """The IRI of the application of ``rule`` to ``axiom``'s axiom, named after both: the same node for every
    triple it derived, and the same IRI each build (the axiom's hash, as a term can hold characters a path
    segment cannot). An IRI, not a blank node: it dereferences like any node of the graph, and a store loaded
    in parts (``collabkg publish``) need not take every triple that names it in one request."""
    if axiom is None:
        return RULE_APPLICATION[rule]
    return RULE_APPLICATION[f"{rule}-{hashlib.sha256(n3(axiom).encode()).hexdigest()[:16]}"]


def _application_triples(node: URIRef, rule: str, axiom: Node | None) -> Iterator[Triple]:
    """The triples of a rule application: its class, its rule and the term whose axiom it applied."""
    yield node, _TYPE, _APPLICATION
    yield node, _RULE, CK[f"rule-{rule}"]
    if axiom is not None:
        yield node, _AXIOM_OF, axiom


def explain(
    ontology: Graph,
    asserted: Mapping[URIRef, Collection[Triple]],
    inferred: Collection[Triple],
    *,
    union: Triples,
) -> Explanations:
    """The derivation of each triple of ``inferred``, down to asserted triples, as PROV-O data.

    The nodes carry no ``rdf:Statement``, ``prov:Entity`` or ``prov:Activity`` type: ``rdf:subject`` implies the
    first (its RDFS domain), and the ontology makes ``ck:Inference`` and ``ck:AssertedStatement`` kinds of
    ``prov:Entity``, ``ck:RuleApplication`` a kind of ``prov:Activity``. The graph is large enough that a triple
    fewer per node shows in the build's write time and memory.

    :param asserted: the data graphs' triples by name (the ontology is ``graph/ontology``): an asserted
        premise names the graphs that hold it.
    :param inferred: what the reasoner added (:func:`collabkg.build.reasoning.infer`); a triple the rules here do not
        derive gets no explanation, and :attr:`Explanations.unexplained` lists it.
    :param union: the union of the ``asserted`` graphs (the build has it already: a copy would be the data again).
    """
    # The ontology's triples as a set: an rdflib graph's `in` was a sixth of the stage, asked of every premise.
    sources: dict[URIRef, Collection[Triple]] = {ONTOLOGY_GRAPH: set(ontology), **asserted}
    derivations = derive(ontology, union)
    claims, strengths = _support(union, ontology)
    statements: dict[Triple, tuple[URIRef, Derivation | _Asserted]] = {}
    applications: dict[_Applied, URIRef] = {}
    size = 0
    pending = [triple for triple in inferred if triple in derivations]
    while pending:
        triple = pending.pop()
        if triple in statements:
            continue
        node = statement_iri(triple)
        derivation = derivations.get(triple)
        if derivation is None:
            graphs = tuple(name for name, graph in sources.items() if triple in graph)
            supported = tuple(claims.get(triple, ()))
            strength = strengths.get(triple)
            statements[triple] = (node, (graphs, supported, strength))
            size += 4 + len(graphs) + len(supported) + (strength is not None)
            continue
        statements[triple] = (node, derivation)
        size += 5 + len(set(derivation.premises))
        key = (derivation.rule, derivation.axiom)
        if key not in applications:
            applications[key] = _application(*key)
            size += 2 + (derivation.axiom is not None)
        pending.extend(derivation.premises)
    missing = sorted(triple for triple in inferred if triple not in derivations)
    return Explanations(statements, applications, size, missing)


def nt_line(triple: Triple) -> str:
    """The N-Triples line of a triple, character for character as rdflib's N-Triples serializer writes it.

    The dataset file is these lines, sorted, so that the same graphs are the same bytes; the explanations are
    written with it a node at a time (:meth:`Explanations.lines`) and the other graphs triple by triple, and a
    test holds it to rdflib's serializer on the real data. IRIs and blank nodes are written by
    :func:`collabkg.namespaces.n3` (as N-Triples has them); literals here, with N-Triples' escapes.
    """
    s, p, o = triple
    if not isinstance(o, Literal):
        return f"{n3(s)} <{p}> {n3(o)} .\n"
    quoted = o.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"').replace("\r", "\\r")
    if o.language:
        return f'{n3(s)} <{p}> "{quoted}"@{o.language} .\n'
    if o.datatype:
        return f'{n3(s)} <{p}> "{quoted}"^^<{o.datatype}> .\n'
    return f'{n3(s)} <{p}> "{quoted}" .\n'


def _support(data: Iterable[Triple], ontology: Graph) -> tuple[dict[Triple, set[Node]], dict[Triple, Node]]:
    """The claims that support each triple, through the data's ``ck:supportsStatement`` statements, and the
    firmest strength (highest ``ck:strengthRank``) of the statements those claims support and of the curated
    mappings of the triple: one pass over the data, which is a set of triples (no index to look a statement's
    parts up in).

    The strength is written into the explanations rather than found by the queries that read them: grouped over
    every support of the graph, as a query must, it took 10.7 s for one explanation page over a million asserted
    triples (the store groups them all before it joins); here it is part of the one pass.
    """
    parts: dict[Node, dict[Node, Node]] = defaultdict(dict)  # the parts of statements and mappings
    supports: list[tuple[Node, Node]] = []
    strength_of: dict[Node, Node] = {}
    for s, p, o in data:
        if p == _SUPPORTS:
            supports.append((s, o))
        elif p in _PARTS or p in _MAPPING_PARTS:
            parts[s][p] = o
        elif p == _STRENGTH:
            strength_of[s] = o
    claims: dict[Triple, set[Node]] = defaultdict(set)
    supporting: dict[Triple, set[Node]] = defaultdict(set)  # the nodes whose strength counts for a triple
    for claim, statement in supports:
        found = parts.get(statement, {})
        triple = (found.get(_SUBJECT), found.get(_PREDICATE), found.get(_OBJECT))
        claims[triple].add(claim)  # type: ignore[index]  # a statement lacking a part matches no triple
        supporting[triple].add(statement)  # type: ignore[index]
    for node, found in parts.items():
        if all(part in found for part in _MAPPING_PARTS):
            supporting[tuple(found[part] for part in _MAPPING_PARTS)].add(node)  # type: ignore[index]
    ranks = {
        strength: int(rank) for strength, rank in ontology.subject_objects(_RANK) if isinstance(rank, Literal)
    }
    firmest: dict[Triple, Node] = {}
    for triple, nodes in supporting.items():
        ranked = [strength_of[n] for n in nodes if strength_of.get(n) in ranks]
        if ranked:
            firmest[triple] = max(ranked, key=lambda strength: (ranks[strength], n3(strength)))
    return claims, firmest


def unexplained(explanations: Graph, inferred: Iterable[Triple]) -> list[Triple]:
    """The triples of ``inferred`` that no ``ck:Inference`` of ``explanations`` is about, sorted.

    Compares the statements' subject, predicate and object, not their IRIs, so it holds of a dataset read back
    from a file too (a blank node's label, hashed into the IRI, does not survive a file).
    """
    explained = {
        tuple(explanations.value(node, part) for part in (RDF.subject, RDF.predicate, RDF.object))
        for node in explanations.subjects(RDF.type, CK.Inference)
    }
    return sorted(triple for triple in inferred if triple not in explained)
