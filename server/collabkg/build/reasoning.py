"""The reasoning step: what OWL 2 RL adds to the asserted graph, without the noise.

:func:`infer` runs in two parts that can change independently: a closure engine computes the OWL 2 RL
closure, and :func:`drop_noise` keeps only the new triples a user of the inferred graph should see. There are
two engines (:data:`ENGINES`) that give the same inferred graph:

``rules`` (the default, :func:`rule_closure`)
    owlrl reasons over the ontology alone (a few hundred triples, under a second); the closed ontology is then
    compiled into the few OWL 2 RL rules it uses on data (``prp-spo1``, ``prp-inv1/2``, ``prp-symp``,
    ``prp-trp``, ``prp-spo2``, ``prp-dom``, ``prp-rng``, ``cax-sco``/``cax-eqc``, ``cls-hv1/2``, and the
    ``prp-fp``/``prp-ifp``/datatype checks), which run over the data by semi-naive forward chaining on plain
    dict indexes. owlrl instead re-applies every rule to every triple on each pass over the whole
    graph, which is what makes it slow as the graph grows (bench/RESULTS.md). Whatever the compiled rules do not cover (an
    ``owl:sameAs`` between distinct terms, a schema statement in the data, a construct such as
    ``owl:someValuesFrom``, an ill-typed literal) sends the whole graph to owlrl instead, so the answer is
    always owlrl's.
``owlrl`` (:func:`owlrl_closure`)
    owlrl's forward chaining over ontology + data: the reference the ``rules`` engine is tested against.

The same forward chaining, over rules compiled from the asserted axioms instead of the closed ontology, records
why each triple holds (:func:`derive`): the rule and its premises, which :mod:`collabkg.build.explanations` writes as
PROV-O. Recording is off on the fast path.

What is left out of the inferred graph, and why, is the README's "What the inferred graph leaves out";
:func:`is_noise` has one numbered branch per item.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import owlrl
from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.Namespaces import ERRNS
from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from ..namespaces import ID, n3
from .turtle import Triple, Triples

__all__ = [
    "BUILTIN_NAMESPACES",
    "ENGINES",
    "RULES",
    "Derivation",
    "InconsistentGraph",
    "OutsideRules",
    "derive",
    "drop_noise",
    "infer",
    "is_noise",
    "owlrl_closure",
    "rule_closure",
]

_logger = logging.getLogger(__name__)

#: Vocabularies of the modelling languages themselves: statements about their terms hold of every graph.
BUILTIN_NAMESPACES: tuple[str, ...] = (str(RDF), str(RDFS), str(OWL), str(XSD))


class InconsistentGraph(ValueError):
    """The reasoner found the ontology and data inconsistent (an ill-typed literal, a disjointness clash)."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = sorted(messages)
        super().__init__("; ".join(self.messages))


def infer(ontology: Graph, data: Triples, *, engine: str = "rules") -> set[Triple]:
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


def owlrl_closure(ontology: Graph, data: Triples) -> Graph:
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
#: Pairs of datatypes no literal can belong to both of (owlrl's table, both ways round).
_DISJOINT_DATATYPES = frozenset(pair for s, _, o in OWLRL_Datatypes_Disjointness for pair in ((s, o), (o, s)))
_DATATYPE_NAMESPACES = (str(XSD), str(RDF), str(RDFS))
#: rdf:type, looked up once: the forward chaining compares every triple's predicate with it.
_TYPE = RDF.type
#: Looked up once, for :func:`is_noise`, which sees every added triple.
_DOMAIN_RANGE = frozenset({RDFS.domain, RDFS.range})
_SAME_AS = OWL.sameAs
#: The axioms :meth:`_Rules.add_axiom` reads, by predicate, and for ``rdf:type`` by class: the rule each feeds.
_AXIOM_RULES: dict[Node, str] = {
    RDFS.subPropertyOf: "prp-spo1",
    RDFS.subClassOf: "cax-sco",
    OWL.inverseOf: "prp-inv1",
    RDFS.domain: "prp-dom",
    RDFS.range: "prp-rng",
}
_TYPE_AXIOM_RULES: dict[Node, str] = {OWL.SymmetricProperty: "prp-symp", OWL.TransitiveProperty: "prp-trp"}


#: Why a table entry of :class:`_Rules` applies: the OWL 2 RL rule's name, the term whose axiom it is (None for
#: the rules that close ``rdfs:subClassOf``, ``rdfs:subPropertyOf`` and ``owl:sameAs`` themselves) and the
#: axiom triples that join the data premises in a derivation (none for the ontology's blank-node structures).
_Why = tuple[str, Node | None, tuple[Triple, ...]]
#: What the forward chaining does with a conclusion: (subject, predicate, object, why, data premises).
_Add = Callable[[Node, Node, Node, _Why, tuple[Triple, ...]], None]

#: The rules :func:`derive` records, by OWL 2 RL name (OWL 2 Profiles, section 4.3): each is an individual
#: ``ck:rule-<name>`` of the ontology, which the explanations name.
RULES: tuple[str, ...] = (
    "prp-symp",
    "prp-trp",
    "prp-inv1",
    "prp-inv2",
    "prp-spo1",
    "prp-spo2",
    "prp-dom",
    "prp-rng",
    "cax-sco",
    "cls-hv1",
    "cls-hv2",
    "scm-sco",
    "scm-spo",
    "eq-sym",
    "eq-trans",
)


@dataclass(frozen=True)
class Derivation:
    """The first rule application that produced a triple (:func:`derive`)."""

    #: The OWL 2 RL rule's name, one of :data:`RULES` (``prp-symp``).
    rule: str
    #: The ontology term whose axiom the rule applied (the symmetric property, the class with a superclass...);
    #: None for the rules that close ``rdfs:subClassOf``, ``rdfs:subPropertyOf`` and ``owl:sameAs`` themselves.
    axiom: Node | None
    #: The triples the rule matched, data before schema: each asserted, or derived with a smaller depth.
    premises: tuple[Triple, ...]
    #: One more than the deepest premise's (an asserted premise's is 0): premises are always shallower.
    depth: int


def _entries() -> defaultdict[Node, dict[Node, _Why]]:
    """An empty table; a dict per term (not a set) so each entry keeps the first axiom that gave it."""
    return defaultdict(dict)


@dataclass
class _Rules:
    """The ABox rules of an ontology, as lookup tables from a predicate or class to what follows and why.

    Compiled either from the ontology closed by owlrl (:meth:`of`, ``strict``: what the tables do not cover is
    refused, so owlrl decides) or from the asserted ontology and data (:meth:`asserted`, for :func:`derive`:
    every axiom premise is then an asserted triple, and the schema is closed by ``scm-*`` rules as it goes).
    """

    strict: bool
    super_properties: dict[Node, dict[Node, _Why]] = field(default_factory=_entries)
    inverses: dict[Node, dict[Node, _Why]] = field(default_factory=_entries)
    domains: dict[Node, dict[Node, _Why]] = field(default_factory=_entries)
    ranges: dict[Node, dict[Node, _Why]] = field(default_factory=_entries)
    super_classes: dict[Node, dict[Node, _Why]] = field(default_factory=_entries)
    #: cls-hv1: a class to the (property, value) its members have.
    has_value: dict[Node, list[tuple[Node, Node, _Why]]] = field(default_factory=lambda: defaultdict(list))
    #: cls-hv2: (property, value) to the classes it puts a subject in.
    by_value: defaultdict[tuple[Node, Node], dict[Node, _Why]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    #: prp-spo2: for each property, the (chain, position, result property, why) it appears in.
    chain_links: dict[Node, list[tuple[tuple[Node, ...], int, Node, _Why]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    symmetric: dict[Node, _Why] = field(default_factory=dict)
    transitive: dict[Node, _Why] = field(default_factory=dict)
    functional: set[Node] = field(default_factory=set)
    inverse_functional: set[Node] = field(default_factory=set)

    @classmethod
    def of(cls, tbox: Graph) -> _Rules:
        """Compile the closed ontology ``tbox``.

        :raises OutsideRules: it uses a construct the rules do not implement.
        """
        rules = cls(strict=True)
        restrictions: dict[Node, dict[Node, Node]] = defaultdict(dict)
        for triple in tbox:
            s, p, o = triple
            if rules.add_axiom(triple):
                continue
            if p == RDF.type and _is_builtin(o):
                if o == OWL.FunctionalProperty:
                    rules.functional.add(s)
                elif o == OWL.InverseFunctionalProperty:
                    rules.inverse_functional.add(s)
                elif str(o).startswith(str(OWL)) and o not in _INERT_CLASSES | {OWL.Restriction}:
                    raise OutsideRules(f"the ontology uses {o}")
            elif p == OWL.equivalentProperty:
                _link(rules.super_properties, s, o, ("prp-eqp1", s, (triple,)))
                _link(rules.super_properties, o, s, ("prp-eqp2", s, (triple,)))
            elif p == OWL.equivalentClass:
                _link(rules.super_classes, s, o, ("cax-eqc1", s, (triple,)))
                _link(rules.super_classes, o, s, ("cax-eqc2", s, (triple,)))
            elif p in (OWL.onProperty, OWL.hasValue):
                restrictions[s][p] = o
            elif p == OWL.propertyChainAxiom:
                rules.add_chain(s, tuple(tbox.items(o)))
            elif p == OWL.sameAs and s != o:
                raise OutsideRules(f"the ontology makes {s} the same as {o}")
            elif p == OWL.disjointWith and _is_datatype(s) and _is_datatype(o):
                continue  # owlrl's datatype disjointness, which _check_literal_type applies
            elif _is_schema(p) and p not in _COMPILED_SCHEMA:
                raise OutsideRules(f"the ontology uses {p}")
        for restriction, parts in restrictions.items():
            if OWL.hasValue in parts and OWL.onProperty in parts:
                prop, value = parts[OWL.onProperty], parts[OWL.hasValue]
                axioms = ((restriction, OWL.hasValue, value), (restriction, OWL.onProperty, prop))
                rules.has_value[restriction].append((prop, value, ("cls-hv1", restriction, axioms)))
                rules.by_value[prop, value][restriction] = ("cls-hv2", restriction, axioms)
        return rules

    @classmethod
    def asserted(cls, ontology: Graph, triples: Iterable[Triple]) -> _Rules:
        """Compile the axioms as asserted in ``ontology`` and ``triples`` (the ontology's and the data's), for
        derivations that end at them; the tables keep the order of ``triples``.

        Refuses nothing: what the tables do not cover is simply not derived. Two steps of the OWL 2 RL tables
        are one here, ``cls-hv1``/``cls-hv2`` with ``cax-eqc1``/``cax-eqc2``: the ontology defines named classes
        as equivalent to anonymous ``owl:hasValue`` restrictions, and a type of the restriction's blank node is
        noise, so a derivation goes from the value to the named class (and back) in one step.
        """
        rules = cls(strict=False)
        for triple in triples:
            rules.add_axiom(triple)
        for chained, items in _in_order(ontology.subject_objects(OWL.propertyChainAxiom)):
            rules.add_chain(chained, tuple(ontology.items(items)))
        for a, b in _in_order(ontology.subject_objects(OWL.equivalentClass)):
            for named, restriction in ((a, b), (b, a)):
                on = ontology.value(restriction, OWL.onProperty)
                value = ontology.value(restriction, OWL.hasValue)
                if isinstance(named, URIRef) and on is not None and value is not None:
                    rules.has_value[named].append((on, value, ("cls-hv1", named, ())))
                    rules.by_value[on, value].setdefault(named, ("cls-hv2", named, ()))
        rules.transitive.setdefault(RDFS.subClassOf, ("scm-sco", None, ()))
        rules.transitive.setdefault(RDFS.subPropertyOf, ("scm-spo", None, ()))
        rules.symmetric.setdefault(OWL.sameAs, ("eq-sym", None, ()))
        rules.transitive.setdefault(OWL.sameAs, ("eq-trans", None, ()))
        return rules

    def add_axiom(self, triple: Triple) -> bool:
        """Enter an axiom both compilations read the same way; False if ``triple`` is not one.

        Every asserted triple is offered (:meth:`asserted`), so the axiom is found by dict lookups (a hash, and
        Python's ``__eq__`` only on a match), not by comparing the terms with each of the vocabulary's in turn.
        """
        s, p, o = triple
        rule = _AXIOM_RULES.get(p) or (_TYPE_AXIOM_RULES.get(o) if p == _TYPE else None)
        if rule is None:
            return False
        why = (rule, s, (triple,))
        if rule == "prp-symp":
            self.symmetric.setdefault(s, why)
        elif rule == "prp-trp":
            self.transitive.setdefault(s, why)
        elif rule == "prp-spo1":
            _link(self.super_properties, s, o, why)
        elif rule == "cax-sco":
            _link(self.super_classes, s, o, why)
        elif rule == "prp-inv1":
            self.inverses[s].setdefault(o, why)
            self.inverses[o].setdefault(s, ("prp-inv2", s, (triple,)))
        elif rule == "prp-dom":
            self.domains[s].setdefault(o, why)
        else:
            self.ranges[s].setdefault(o, why)
        return True

    def add_chain(self, prop: Node, chain: tuple[Node, ...]) -> None:
        """prp-spo2: the chain's list is the ontology's blank nodes, not a premise of the derivation."""
        for position, link in enumerate(chain):
            self.chain_links[link].append((chain, position, prop, ("prp-spo2", prop, ())))


def _link(table: dict[Node, dict[Node, _Why]], a: Node, b: Node, why: _Why) -> None:
    """Enter ``a`` → ``b``, unless reflexive (it concludes what is known); the first axiom found stays."""
    if a != b:
        table[a].setdefault(b, why)


#: The terms of one subject or object in :class:`_Facts`: a dict used as a set that keeps its order.
_Terms = dict[Node, None]
_NO_TERMS: _Terms = {}


class _Facts:
    """Every triple known so far, indexed by predicate then subject (``spo``) and by predicate then object
    (``pos``, kept only for the predicates a join looks up by object).

    The terms are kept in the order they became known, not in a set: a set's order follows the terms' hashes,
    which differ from one process to the next (``PYTHONHASHSEED``), and the joins would then meet the same
    premises in another order, so that :func:`derive` recorded other first derivations in each build.
    """

    def __init__(self, by_object: Iterable[Node]) -> None:
        self.spo: dict[Node, dict[Node, _Terms]] = defaultdict(lambda: defaultdict(dict))
        self.pos: dict[Node, dict[Node, _Terms]] = {p: defaultdict(dict) for p in by_object}

    def add(self, s: Node, p: Node, o: Node) -> bool:
        """Record the triple; False if it was known."""
        objects = self.spo[p][s]
        if o in objects:
            return False
        objects[o] = None
        subjects = self.pos.get(p)
        if subjects is not None:
            subjects[o][s] = None
        return True

    def objects(self, s: Node, p: Node) -> _Terms:
        by_subject = self.spo.get(p)
        return by_subject.get(s, _NO_TERMS) if by_subject else _NO_TERMS

    def subjects(self, p: Node, o: Node) -> _Terms:
        return self.pos[p].get(o, _NO_TERMS)


def rule_closure(ontology: Graph, data: Triples) -> set[Triple]:
    """What OWL 2 RL adds to ``ontology`` + ``data`` (no asserted triple), by compiled rules (module doc).

    After :func:`drop_noise` it equals :func:`owlrl_closure`'s answer.

    :raises OutsideRules: the graph needs what the compiled rules leave to owlrl.
    :raises InconsistentGraph: owlrl found the ontology alone inconsistent.
    """
    tbox = _as_in(owlrl_closure(ontology, Graph()), ontology)
    added = _forward_chain(_Rules.of(tbox), known=tbox, given=data)
    added.update(triple for triple in tbox if triple not in ontology and triple not in data)
    return added


def _as_in(graph: Graph, ontology: Graph) -> Graph:
    """``graph`` with each term that ``ontology`` has replaced by ``ontology``'s own object for it.

    owlrl's conclusions hold rdflib's namespace constants (``RDF.type``...), other objects than the parsed
    ones the data shares with the ontology (:func:`collabkg.build.parse_turtle`). Equal terms that are one
    object are found in a dict by identity, without rdflib's Python ``__eq__``: most of the lookups of the
    forward chaining.
    """
    own = {term: term for triple in ontology for term in triple}
    same = Graph()
    for triple in graph:
        same.add(
            (own.get(triple[0], triple[0]), own.get(triple[1], triple[1]), own.get(triple[2], triple[2]))
        )
    return same


def derive(ontology: Graph, data: Triples) -> dict[Triple, Derivation]:
    """Every triple the rules derive from ``ontology`` + ``data`` that neither asserts, with its first derivation.

    The same forward chaining as :func:`rule_closure`, recording, over rules compiled from the asserted axioms
    (:meth:`_Rules.asserted`) so that every premise is asserted or derived before its conclusion: following
    premises always ends at asserted triples, without cycles. Unlike :func:`rule_closure` it refuses nothing;
    what the rules do not cover (``eq-rep-*``, a construct owlrl alone handles) is simply not derived.
    """
    derivations: dict[Triple, Derivation] = {}
    # Which derivation comes first depends on the order the triples are met in; an rdflib graph gives its
    # triples in the order of their hashes, which differ from one process to the next (PYTHONHASHSEED), so
    # they are put in the order of their text: the same inputs, the same explanations.
    asserted = [*_in_order(ontology), *_in_order(data)]
    _forward_chain(_Rules.asserted(ontology, asserted), known=(), given=asserted, record=derivations)
    return derivations


_Terms_T = TypeVar("_Terms_T", bound=tuple[Node, ...])


def _in_order(terms: Iterable[_Terms_T]) -> list[_Terms_T]:
    """Tuples of terms in the order of their N-Triples text, the same in every process (the text as
    :func:`collabkg.namespaces.n3` writes it: rdflib's ``n3()``, without its second check of each IRI)."""
    return sorted(terms, key=lambda each: tuple(map(n3, each)))


def _forward_chain(
    rules: _Rules,
    *,
    known: Iterable[Triple],
    given: Iterable[Triple],
    record: dict[Triple, Derivation] | None = None,
) -> set[Triple]:
    """Semi-naive forward chaining: each triple, given or derived, is joined once with those known then.

    Returns the derived triples that are neither ``known`` (joined with, not from: a closed ontology) nor
    ``given``. Triples are taken first in, first out (breadth first); a triple is known, to joins and to the
    check that it is new, from the moment it is derived, so each is derived once, from premises known before it.

    :param record: receives the first derivation of each derived triple (a triple with a literal subject is
        then not derived, as no explanation is about one); None, the fast path, records nothing.
    :raises OutsideRules: ``rules.strict`` and the data needs a rule that is not compiled.
    """
    chained = {link for entries in rules.chain_links.values() for links, *_ in entries for link in links}
    facts = _Facts(by_object=rules.transitive.keys() | rules.inverse_functional | chained)
    pending: deque[Triple] = deque()
    for triple in known:
        facts.add(*triple)
    checked: set[Literal] = set()  # strict: each literal of the data checked once, as it is read
    for triple in given:
        if rules.strict:
            _refuse_schema(triple)
            o = triple[2]
            if isinstance(o, Literal) and o not in checked:
                checked.add(o)
                _check_lexical(o)
        if facts.add(*triple):
            pending.append(triple)
    # rdf:type as the facts hold it, and a set to test with: a hash, and Python's __eq__ only on a match
    rdf_type = next((p for p in facts.spo if p == _TYPE), _TYPE)
    is_type = {rdf_type}.__contains__
    derived: set[Triple] = set()

    def add(s: Node, p: Node, o: Node, why: _Why, premises: tuple[Triple, ...]) -> None:
        if facts.add(s, p, o):
            pending.append((s, p, o))
            derived.add((s, p, o))

    recorded: dict[Triple, Derivation] = {} if record is None else record

    def add_recording(s: Node, p: Node, o: Node, why: _Why, premises: tuple[Triple, ...]) -> None:
        if isinstance(s, Literal) or not facts.add(s, p, o):
            return
        rule, axiom, axioms = why
        premises += axioms
        depth = 1 + max(recorded[premise].depth if premise in recorded else 0 for premise in premises)
        recorded[s, p, o] = Derivation(rule, axiom, premises, depth)
        pending.append((s, p, o))
        derived.add((s, p, o))

    conclude: _Add = add if record is None else add_recording
    while pending:
        triple = pending.popleft()
        s, p, o = triple
        if is_type(p):
            _apply_type(rules, triple, conclude, rdf_type)
            continue
        why = rules.symmetric.get(p)
        if why is not None:
            conclude(o, p, s, why, (triple,))
        why = rules.transitive.get(p)
        if why is not None:
            for z in list(facts.objects(o, p)):
                conclude(s, p, z, why, (triple, (o, p, z)))
            for w in list(facts.subjects(p, s)):
                conclude(w, p, o, why, ((w, p, s), triple))
        for inverse, why in rules.inverses.get(p, {}).items():
            conclude(o, inverse, s, why, (triple,))
        for super_property, why in rules.super_properties.get(p, {}).items():
            conclude(s, super_property, o, why, (triple,))
        for links, position, result, why in rules.chain_links.get(p, ()):
            for path in _chain_paths(facts, links, position, triple):
                conclude(path[0][0], result, path[-1][2], why, path)
        if rules.strict and p in rules.functional and len(facts.objects(s, p)) > 1:
            raise OutsideRules(f"{s} has two values of the functional {p} (owl:sameAs)")
        if rules.strict and p in rules.inverse_functional and len(facts.subjects(p, o)) > 1:
            raise OutsideRules(f"{o} has two subjects of the inverse-functional {p} (owl:sameAs)")
        for cls, why in rules.domains.get(p, {}).items():
            conclude(s, rdf_type, cls, why, (triple,))
        for cls, why in rules.ranges.get(p, {}).items():
            if not isinstance(o, Literal):
                conclude(o, rdf_type, cls, why, (triple,))
            elif rules.strict:
                _check_literal_type(o, cls, rules)
        for cls, why in rules.by_value.get((p, o), {}).items():
            conclude(s, rdf_type, cls, why, (triple,))
    return derived


def _apply_type(rules: _Rules, triple: Triple, conclude: _Add, rdf_type: Node) -> None:
    """cax-sco/cax-eqc and cls-hv1 for ``s rdf:type cls`` (``rdf_type``: the facts' own object for it)."""
    s, _, cls = triple
    if rules.strict and _is_builtin(cls) and cls not in _INERT_CLASSES:
        raise OutsideRules(f"{s} is put in {cls}")
    for super_class, why in rules.super_classes.get(cls, {}).items():
        conclude(s, rdf_type, super_class, why, (triple,))
    for prop, value, why in rules.has_value.get(cls, ()):
        conclude(s, prop, value, why, (triple,))


def _chain_paths(
    facts: _Facts, links: tuple[Node, ...], position: int, triple: Triple
) -> list[tuple[Triple, ...]]:
    """Every path of known triples along the property chain ``links`` through ``triple`` at ``position``."""
    paths: list[tuple[Triple, ...]] = [(triple,)]
    for link in reversed(links[:position]):
        paths = [((w, link, path[0][0]), *path) for path in paths for w in facts.subjects(link, path[0][0])]
    for link in links[position + 1 :]:
        paths = [(*path, (path[-1][2], link, z)) for path in paths for z in facts.objects(path[-1][2], link)]
    return paths


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


def _check_lexical(literal: Literal) -> None:
    """owlrl's dt-not-type: a literal whose text is not of its datatype makes the graph inconsistent."""
    if literal.datatype in OWL_RL_Datatypes:
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


def drop_noise(closure: Graph, *, ontology: Graph, data: Triples) -> set[Triple]:
    """The triples of ``closure`` that are not asserted (rule 1) and not :func:`is_noise`.

    ``closure`` is what a reasoner derived from ``ontology`` + ``data`` (with or without the inputs).
    """
    canonical = _same_as_representatives(_same_as_links(closure))
    added = [triple for triple in closure if triple not in ontology and triple not in data]  # (1)
    return _worth_reading(added, ontology=ontology, canonical=canonical)


def _worth_reading(added: Iterable[Triple], *, ontology: Graph, canonical: dict[Node, Node]) -> set[Triple]:
    """The triples of ``added`` (none asserted) that are not :func:`is_noise`: a set, not a graph (the inferred
    triples of a large build are as many as the data's, and a graph takes twenty times a set's memory)."""
    ontology_bnodes = {n for triple in ontology for n in triple if isinstance(n, BNode)}
    return {
        triple
        for triple in added
        if not is_noise(triple, ontology_bnodes=ontology_bnodes, canonical=canonical)
    }


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
    if p in _DOMAIN_RANGE:  # (4)
        return True
    if s == o and _is_builtin(p):  # (5)
        return True
    if s in ontology_bnodes or o in ontology_bnodes:  # (6)
        return True
    if not canonical or p == _SAME_AS:  # (7), which the rules engine never needs (no same-as sets)
        return False
    return canonical.get(s, s) != s or canonical.get(o, o) != o


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
