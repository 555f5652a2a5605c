"""The reasoning step: what OWL 2 RL adds to the asserted graph, without the noise.

:func:`infer` runs in two parts that can change independently: a closure engine computes the OWL 2 RL
closure, and :func:`drop_noise` keeps only the new triples a user of the inferred graph should see. There are
two engines (:data:`ENGINES`) that give the same inferred graph:

``rules`` (the default, :func:`rule_closure`)
    owlrl reasons over the ontology alone (a few hundred triples, under a second); the closed ontology is then
    compiled into the few OWL 2 RL rules it uses on data (``prp-spo1``, ``prp-inv1/2``, ``prp-symp``,
    ``prp-trp``, ``prp-spo2``, ``prp-dom``, ``prp-rng``, ``cax-sco``/``cax-eqc``, ``cls-hv1/2``, and the
    ``prp-fp``/``prp-ifp``/datatype checks), which run over the data by semi-naive forward chaining on plain
    dict and set indexes. owlrl instead re-applies every rule to every triple on each pass over the whole
    graph, which is what makes it minutes at 100,000 triples. Whatever the compiled rules do not cover (an
    ``owl:sameAs`` between distinct terms, a schema statement in the data, a construct such as
    ``owl:someValuesFrom``, an ill-typed literal) sends the whole graph to owlrl instead, so the answer is
    always owlrl's.
``owlrl`` (:func:`owlrl_closure`)
    owlrl's forward chaining over ontology + data: the reference the ``rules`` engine is tested against.

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

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import owlrl
from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.Namespaces import ERRNS
from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from .namespaces import ID

__all__ = [
    "BUILTIN_NAMESPACES",
    "ENGINES",
    "InconsistentGraph",
    "OutsideRules",
    "drop_noise",
    "infer",
    "is_noise",
    "owlrl_closure",
    "rule_closure",
]

_logger = logging.getLogger(__name__)

#: Vocabularies of the modelling languages themselves: statements about their terms hold of every graph.
BUILTIN_NAMESPACES: tuple[str, ...] = (str(RDF), str(RDFS), str(OWL), str(XSD))

Triple = tuple[Node, Node, Node]


class InconsistentGraph(ValueError):
    """The reasoner found the ontology and data inconsistent (an ill-typed literal, a disjointness clash)."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = sorted(messages)
        super().__init__("; ".join(self.messages))


def infer(ontology: Graph, data: Graph, *, engine: str = "rules") -> Graph:
    """The triples OWL 2 RL adds to ``ontology`` + ``data`` that are worth a user's reading.

    Neither argument is changed.

    :param engine: one of :data:`ENGINES`; both give the same graph, ``rules`` much sooner.
    :raises InconsistentGraph: the reasoner reports the graph inconsistent.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown reasoning engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "rules":
        try:
            added = rule_closure(ontology, data)
        except OutsideRules as reason:
            _logger.info("reasoning with owlrl over the whole graph: %s", reason)
        else:
            # Nothing in ``added`` is asserted, and the rules never derive owl:sameAs between two terms (they
            # hand such graphs to owlrl), so no resource has another representative (rule 7).
            return _worth_reading(added, ontology=ontology, canonical={})
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


class OutsideRules(Exception):
    """The graph needs an OWL 2 RL rule the compiled rule set leaves to owlrl; the message says which."""


#: Classes whose instances no OWL 2 RL rule does anything with beyond typing them (all of it noise), so data
#: may put resources in them without changing the compiled rules.
_INERT_CLASSES = frozenset(
    {
        OWL.Thing,
        OWL.Class,
        OWL.NamedIndividual,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.Ontology,
        RDFS.Class,
        RDFS.Resource,
        RDFS.Datatype,
        RDF.Property,
        RDF.Statement,
        RDF.List,
    }
)
#: Predicates of the modelling languages that carry no rule (annotations): data may use them freely.
_ANNOTATIONS = frozenset(
    {
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        RDFS.isDefinedBy,
        OWL.deprecated,
        OWL.versionInfo,
        OWL.priorVersion,
        OWL.backwardCompatibleWith,
        OWL.incompatibleWith,
        OWL.versionIRI,
    }
)
#: Schema predicates of the closed ontology that the compiled rules implement; any other OWL or RDFS
#: predicate in it (``owl:someValuesFrom``, ``owl:disjointWith`` between classes...) means owlrl decides.
_COMPILED_SCHEMA = frozenset(
    {
        RDFS.subClassOf,
        RDFS.subPropertyOf,
        RDFS.domain,
        RDFS.range,
        OWL.equivalentClass,
        OWL.equivalentProperty,
        OWL.inverseOf,
        OWL.onProperty,
        OWL.hasValue,
        OWL.propertyChainAxiom,
        OWL.oneOf,  # cls-oo types the listed individuals: the ontology's own triples, closed by owlrl already
        OWL.sameAs,  # reflexive only (eq-ref); anything else is refused in _Rules.of
        OWL.members,
    }
)
#: Property characteristics the compiled rules implement (the rest of OWL's are refused).
_CHARACTERISTICS = frozenset(
    {OWL.SymmetricProperty, OWL.TransitiveProperty, OWL.FunctionalProperty, OWL.InverseFunctionalProperty}
)
#: Pairs of datatypes no literal can belong to both of (owlrl's table, both ways round).
_DISJOINT_DATATYPES = frozenset(pair for s, _, o in OWLRL_Datatypes_Disjointness for pair in ((s, o), (o, s)))
_DATATYPE_NAMESPACES = (str(XSD), str(RDF), str(RDFS))
#: rdf:type, looked up once: the forward chaining compares every triple's predicate with it.
_TYPE = RDF.type


@dataclass
class _Rules:
    """The ABox rules of a closed ontology, as lookup tables from a predicate or class to what follows."""

    super_properties: dict[Node, set[Node]] = field(default_factory=lambda: defaultdict(set))
    inverses: dict[Node, set[Node]] = field(default_factory=lambda: defaultdict(set))
    domains: dict[Node, set[Node]] = field(default_factory=lambda: defaultdict(set))
    ranges: dict[Node, set[Node]] = field(default_factory=lambda: defaultdict(set))
    super_classes: dict[Node, set[Node]] = field(default_factory=lambda: defaultdict(set))
    #: cls-hv1: a restriction class to its (property, value).
    has_value: dict[Node, tuple[Node, Node]] = field(default_factory=dict)
    #: cls-hv2: (property, value) to the restriction classes it puts a subject in.
    by_value: dict[tuple[Node, Node], set[Node]] = field(default_factory=lambda: defaultdict(set))
    #: prp-spo2: for each property, the (chain, position, result property) it appears in.
    chain_links: dict[Node, list[tuple[tuple[Node, ...], int, Node]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    symmetric: set[Node] = field(default_factory=set)
    transitive: set[Node] = field(default_factory=set)
    functional: set[Node] = field(default_factory=set)
    inverse_functional: set[Node] = field(default_factory=set)

    @classmethod
    def of(cls, tbox: Graph) -> _Rules:
        """Compile the closed ontology ``tbox``.

        :raises OutsideRules: it uses a construct the rules do not implement.
        """
        rules = cls()
        restrictions: dict[Node, dict[Node, Node]] = defaultdict(dict)
        for s, p, o in tbox:
            if p == RDF.type and _is_builtin(o):
                if o in _CHARACTERISTICS:
                    {
                        OWL.SymmetricProperty: rules.symmetric,
                        OWL.TransitiveProperty: rules.transitive,
                        OWL.FunctionalProperty: rules.functional,
                        OWL.InverseFunctionalProperty: rules.inverse_functional,
                    }[o].add(s)
                elif str(o).startswith(str(OWL)) and o not in _INERT_CLASSES | {OWL.Restriction}:
                    raise OutsideRules(f"the ontology uses {o}")
            elif p in (RDFS.subPropertyOf, OWL.equivalentProperty):
                _link(rules.super_properties, s, o, both=p == OWL.equivalentProperty)
            elif p in (RDFS.subClassOf, OWL.equivalentClass):
                _link(rules.super_classes, s, o, both=p == OWL.equivalentClass)
            elif p == OWL.inverseOf:
                rules.inverses[s].add(o)
                rules.inverses[o].add(s)
            elif p == RDFS.domain:
                rules.domains[s].add(o)
            elif p == RDFS.range:
                rules.ranges[s].add(o)
            elif p in (OWL.onProperty, OWL.hasValue):
                restrictions[s][p] = o
            elif p == OWL.propertyChainAxiom:
                chain = tuple(tbox.items(o))
                for position, link in enumerate(chain):
                    rules.chain_links[link].append((chain, position, s))
            elif p == OWL.sameAs and s != o:
                raise OutsideRules(f"the ontology makes {s} the same as {o}")
            elif p == OWL.disjointWith and _is_datatype(s) and _is_datatype(o):
                continue  # owlrl's datatype disjointness, which _check_literal_type applies
            elif _is_schema(p) and p not in _COMPILED_SCHEMA:
                raise OutsideRules(f"the ontology uses {p}")
        for restriction, parts in restrictions.items():
            if OWL.hasValue in parts and OWL.onProperty in parts:
                pair = (parts[OWL.onProperty], parts[OWL.hasValue])
                rules.has_value[restriction] = pair
                rules.by_value[pair].add(restriction)
        return rules


def _link(table: dict[Node, set[Node]], a: Node, b: Node, *, both: bool) -> None:
    if a != b:
        table[a].add(b)
        if both:
            table[b].add(a)


class _Facts:
    """Every triple known so far, indexed by predicate then subject (``spo``) and by predicate then object
    (``pos``, kept only for the predicates a join looks up by object)."""

    def __init__(self, by_object: set[Node]) -> None:
        self.spo: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
        self.pos: dict[Node, dict[Node, set[Node]]] = {p: defaultdict(set) for p in by_object}

    def add(self, s: Node, p: Node, o: Node) -> bool:
        """Record the triple; False if it was known."""
        objects = self.spo[p][s]
        if o in objects:
            return False
        objects.add(o)
        subjects = self.pos.get(p)
        if subjects is not None:
            subjects[o].add(s)
        return True

    def objects(self, s: Node, p: Node) -> set[Node]:
        by_subject = self.spo.get(p)
        return by_subject.get(s, set()) if by_subject else set()

    def subjects(self, p: Node, o: Node) -> set[Node]:
        return self.pos[p].get(o, set())


def rule_closure(ontology: Graph, data: Graph) -> set[Triple]:
    """What OWL 2 RL adds to ``ontology`` + ``data`` (no asserted triple), by compiled rules (module doc).

    After :func:`drop_noise` it equals :func:`owlrl_closure`'s answer.

    :raises OutsideRules: the graph needs what the compiled rules leave to owlrl.
    :raises InconsistentGraph: owlrl found the ontology alone inconsistent.
    """
    tbox = owlrl_closure(ontology, Graph())
    added = _forward_chain(_Rules.of(tbox), tbox, data)
    added.update(triple for triple in tbox if triple not in ontology and triple not in data)
    return added


def _forward_chain(rules: _Rules, tbox: Graph, data: Graph) -> set[Triple]:
    """Semi-naive forward chaining: each triple, asserted or derived, is joined once with those known then.

    Returns the derived triples that are neither in ``data`` nor in ``tbox``: the facts start with both.

    :raises OutsideRules: the data needs a rule that is not compiled.
    """
    chained = {link for links in rules.chain_links.values() for chain, _, _ in links for link in chain}
    facts = _Facts(by_object=rules.transitive | rules.inverse_functional | chained)
    pending: deque[Triple] = deque()
    for triple in tbox:  # closed already: known from the start, joined only with data and derived triples
        facts.add(*triple)
    for triple in data:
        _refuse_schema(triple)
        if facts.add(*triple):
            pending.append(triple)
    _check_literals(data)
    derived: set[Triple] = set()

    def add(s: Node, p: Node, o: Node) -> None:
        if facts.add(s, p, o):
            pending.append((s, p, o))
            derived.add((s, p, o))

    while pending:
        s, p, o = pending.popleft()
        if p == _TYPE:
            _apply_type(rules, s, o, add)
            continue
        for super_property in rules.super_properties.get(p, ()):
            add(s, super_property, o)
        for inverse in rules.inverses.get(p, ()):
            add(o, inverse, s)
        if p in rules.symmetric:
            add(o, p, s)
        if p in rules.transitive:
            for z in list(facts.objects(o, p)):
                add(s, p, z)
            for w in list(facts.subjects(p, s)):
                add(w, p, o)
        if p in rules.functional and len(facts.objects(s, p)) > 1:
            raise OutsideRules(f"{s} has two values of the functional {p} (owl:sameAs)")
        if p in rules.inverse_functional and len(facts.subjects(p, o)) > 1:
            raise OutsideRules(f"{o} has two subjects of the inverse-functional {p} (owl:sameAs)")
        for cls in rules.domains.get(p, ()):
            add(s, _TYPE, cls)
        for cls in rules.ranges.get(p, ()):
            if isinstance(o, Literal):
                _check_literal_type(o, cls, rules)
            else:
                add(o, _TYPE, cls)
        for restriction in rules.by_value.get((p, o), ()):
            add(s, _TYPE, restriction)
        for chain, position, result in rules.chain_links.get(p, ()):
            for first, last in _chain_ends(facts, chain, position, s, o):
                add(first, result, last)
    return derived


def _apply_type(rules: _Rules, s: Node, cls: Node, add: Callable[[Node, Node, Node], None]) -> None:
    """cax-sco/cax-eqc and cls-hv1 for ``s rdf:type cls``."""
    if _is_builtin(cls) and cls not in _INERT_CLASSES:
        raise OutsideRules(f"{s} is put in {cls}")
    for super_class in rules.super_classes.get(cls, ()):
        add(s, _TYPE, super_class)
    pair = rules.has_value.get(cls)
    if pair is not None:
        add(s, *pair)


def _chain_ends(
    facts: _Facts, chain: tuple[Node, ...], position: int, s: Node, o: Node
) -> list[tuple[Node, Node]]:
    """The (start, end) of every chain of known triples through ``s chain[position] o``."""
    firsts = {s}
    for link in reversed(chain[:position]):
        firsts = {w for x in firsts for w in facts.subjects(link, x)}
    lasts = {o}
    for link in chain[position + 1 :]:
        lasts = {z for y in lasts for z in facts.objects(y, link)}
    return [(first, last) for first in firsts for last in lasts]


def _refuse_schema(triple: Triple) -> None:
    """A schema statement in the data would change the rules: owlrl must reason then."""
    s, p, o = triple
    if _is_schema(p) and not (p == OWL.sameAs and s == o):
        raise OutsideRules(f"the data states {p}")


def _is_schema(predicate: Node) -> bool:
    """An OWL or RDFS predicate that is not an annotation: one that OWL 2 RL rules read."""
    return str(predicate).startswith((str(OWL), str(RDFS))) and predicate not in _ANNOTATIONS


def _is_datatype(node: Node) -> bool:
    return str(node).startswith(_DATATYPE_NAMESPACES)


def _check_literals(data: Graph) -> None:
    """owlrl's dt-not-type: a literal whose text is not of its datatype makes the graph inconsistent."""
    for literal in {o for o in data.objects() if isinstance(o, Literal) and o.datatype in OWL_RL_Datatypes}:
        try:
            AltXSDToPYTHON.get(literal.datatype, str)(str(literal))
        except ValueError:
            raise OutsideRules(f"the literal {literal!r} is not of its datatype") from None


def _check_literal_type(literal: Literal, cls: Node, rules: _Rules) -> None:
    """prp-rng on a literal: typing a literal is noise, unless the type clashes with its datatype (cax-dw on
    owlrl's datatype disjointness) or is a class with rules of its own; either case goes to owlrl."""
    if not _is_datatype(cls) or cls in rules.has_value:
        raise OutsideRules(f"the literal {literal!r} is put in {cls}")
    own = {literal.datatype, *OWL_Datatype_Subsumptions.get(literal.datatype, ())}
    for datatype in {cls, *rules.super_classes.get(cls, ())}:
        if any((datatype, mine) in _DISJOINT_DATATYPES for mine in own):
            raise OutsideRules(f"the literal {literal!r} is put in {datatype}, disjoint with its datatype")


#: The engines :func:`infer` can use (module doc).
ENGINES = ("rules", "owlrl")


def drop_noise(closure: Graph, *, ontology: Graph, data: Graph) -> Graph:
    """The triples of ``closure`` that are not asserted (rule 1) and not :func:`is_noise`, as a new graph.

    ``closure`` is what a reasoner derived from ``ontology`` + ``data`` (with or without the inputs).
    """
    canonical = _same_as_representatives(_same_as_links(closure))
    added = [triple for triple in closure if triple not in ontology and triple not in data]  # (1)
    return _worth_reading(added, ontology=ontology, canonical=canonical)


def _worth_reading(added: Iterable[Triple], *, ontology: Graph, canonical: dict[Node, Node]) -> Graph:
    """The triples of ``added`` (none asserted) that are not :func:`is_noise`, as a new graph."""
    ontology_bnodes = {n for triple in ontology for n in triple if isinstance(n, BNode)}
    kept = Graph()
    for triple in added:
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
