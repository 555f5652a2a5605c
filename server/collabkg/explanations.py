"""Why an inferred triple holds: the OWL 2 RL rule and its premises, down to the asserted triples.

owlrl computes the closure of the ontology and the data but keeps no record of how it got each triple. This
module derives the closure again with the OWL 2 RL rules the ontology uses (:data:`RULES`) and records, for each
triple, the first rule application that produced it (:func:`derive`). The fixpoint takes the triples in order
of derivation depth (asserted triples have depth 0; a derived one, one more than its deepest premise): each
triple, when its turn comes, is joined only with the triples taken before it (semi-naive evaluation), so a
triple is first derived with its least depth, from premises strictly shallower than itself. Derivations
therefore never form cycles, and following premises always ends at asserted triples.

:func:`explain` writes the derivations of the inferred graph as PROV-O data (the build's
``graph/explanations``): each triple is an ``rdf:Statement`` node. An inferred one is a ``ck:Inference`` that
``prov:wasGeneratedBy`` a ``ck:RuleApplication`` naming the rule (``ck:rule``, an individual of the ontology),
the term whose axiom it applied (``ck:axiomOf``) and its premises (``prov:used``); an asserted premise is a
``ck:AssertedStatement`` with the named graphs that hold it (``ck:inGraph``) and the claims of the sources that
support it (``ck:supportedBy``). A statement's IRI is a hash of its triple, so a premise that many derivations
share is one node. :func:`read_explanation` reads such data back as a tree, for pages and the terminal.

Two steps of the OWL 2 RL tables are one rule here: ``cls-hv1``/``cls-hv2`` with ``cax-eqc1``/``cax-eqc2``. The
ontology defines classes as equivalent to anonymous ``owl:hasValue`` restrictions; owlrl passes through a type
of the restriction's blank node, which the inferred graph leaves out as noise, so an explanation goes from the
value to the named class (and back) in one step. That the closure computed here, less the noise
(:func:`collabkg.reasoning.drop_noise`), is exactly owlrl's inferred graph is tested on the real data.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import PROV
from rdflib.term import Node

from .namespaces import CITO, CK, ID, ONTOLOGY_GRAPH, PREFIXES

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


@dataclass(frozen=True)
class Derivation:
    """The first rule application that produced a triple."""

    #: The OWL 2 RL rule's name, one of :data:`RULES` (``prp-symp``).
    rule: str
    #: The ontology term whose axiom the rule applied (the symmetric property, the class with a superclass...);
    #: None for the rules that close ``rdfs:subClassOf``, ``rdfs:subPropertyOf`` and ``owl:sameAs`` themselves.
    axiom: Node | None
    #: The triples the rule matched, data before schema: each asserted, or derived with a smaller depth.
    premises: tuple[Triple, ...]
    depth: int


class _Known:
    """The triples the fixpoint has taken so far, indexed for the joins the rules make."""

    def __init__(self) -> None:
        self._pairs: dict[Node, set[tuple[Node, Node]]] = defaultdict(set)
        self._objects: dict[tuple[Node, Node], set[Node]] = defaultdict(set)
        self._subjects: dict[tuple[Node, Node], set[Node]] = defaultdict(set)

    def add(self, triple: Triple) -> None:
        s, p, o = triple
        self._pairs[p].add((s, o))
        self._objects[s, p].add(o)
        self._subjects[p, o].add(s)

    def __contains__(self, triple: object) -> bool:
        s, p, o = triple  # type: ignore[misc]
        return o in self._objects.get((s, p), ())

    def with_predicate(self, p: Node) -> list[Triple]:
        return [(s, p, o) for s, o in self._pairs.get(p, ())]

    def objects(self, s: Node, p: Node) -> list[Node]:
        return list(self._objects.get((s, p), ()))

    def subjects(self, p: Node, o: Node) -> list[Node]:
        return list(self._subjects.get((p, o), ()))


@dataclass(frozen=True)
class _Schema:
    """What the rules read from the ontology's blank-node structures (lists, restrictions): given, not derived."""

    #: Each property with an ``owl:propertyChainAxiom``, and its chain.
    chains: tuple[tuple[Node, tuple[Node, ...]], ...]
    #: The classes defined as equivalent to an ``owl:hasValue`` restriction, by (property, value)...
    class_of_value: dict[tuple[Node, Node], list[Node]]
    #: ...and the other way round.
    value_of_class: dict[Node, list[tuple[Node, Node]]]

    @classmethod
    def of(cls, ontology: Graph) -> _Schema:
        chains = tuple(
            sorted(
                (prop, tuple(Collection(ontology, chain)))
                for prop, chain in ontology.subject_objects(OWL.propertyChainAxiom)
            )
        )
        class_of_value: dict[tuple[Node, Node], list[Node]] = defaultdict(list)
        value_of_class: dict[Node, list[tuple[Node, Node]]] = defaultdict(list)
        for a, b in ontology.subject_objects(OWL.equivalentClass):
            for named, restriction in ((a, b), (b, a)):
                prop = ontology.value(restriction, OWL.onProperty)
                value = ontology.value(restriction, OWL.hasValue)
                if isinstance(named, URIRef) and prop is not None and value is not None:
                    class_of_value[prop, value].append(named)
                    value_of_class[named].append((prop, value))
        return cls(chains, dict(class_of_value), dict(value_of_class))


#: One rule application a new triple takes part in: (rule name, conclusion, premises, axiom term).
_Step = tuple[str, Triple, tuple[Triple, ...], Node | None]
_Rule = Callable[[Triple, _Known, _Schema], Iterable[_Step]]
#: How a rule closes over one triple of a property: (conclusion, the data premises in order).
_Closing = Callable[[Triple, _Known], Iterable[tuple[Triple, tuple[Triple, ...]]]]


def _mirrored(triple: Triple, known: _Known) -> Iterator[tuple[Triple, tuple[Triple, ...]]]:
    x, p, y = triple
    yield (y, p, x), (triple,)


def _chained(triple: Triple, known: _Known) -> Iterator[tuple[Triple, tuple[Triple, ...]]]:
    """The triple as the first or the second link of a two-link chain of its property."""
    x, p, y = triple
    for z in known.objects(y, p):
        yield (x, p, z), (triple, (y, p, z))
    for w in known.subjects(p, x):
        yield (w, p, y), ((w, p, x), triple)


def _characteristic(name: str, kind: URIRef, closing: _Closing) -> _Rule:
    """A rule for a property characteristic (``p a owl:SymmetricProperty``), whichever premise comes last."""

    def rule(triple: Triple, known: _Known, schema: _Schema) -> Iterator[_Step]:
        s, p, o = triple
        if p == _TYPE and o == kind:
            for data in known.with_predicate(s):
                for conclusion, premises in closing(data, known):
                    yield name, conclusion, (*premises, triple), s
        if (p, _TYPE, kind) in known:
            for conclusion, premises in closing(triple, known):
                yield name, conclusion, (*premises, (p, _TYPE, kind)), p

    return rule


def _of_predicate(name: str, predicate: URIRef, closing: _Closing) -> _Rule:
    """A rule that closes one built-in property (``rdfs:subClassOf``, ``owl:sameAs``) with no axiom."""

    def rule(triple: Triple, known: _Known, schema: _Schema) -> Iterator[_Step]:
        if triple[1] == predicate:
            for conclusion, premises in closing(triple, known):
                yield name, conclusion, premises, None

    return rule


def _linked(
    name: str,
    link: URIRef,
    conclude: Callable[[Triple, Node], Triple],
    *,
    on_type: bool,
    backwards: bool = False,
) -> _Rule:
    """A rule ``a link b`` + a data triple about ``a`` → ``conclude(data triple, b)``, whichever comes last.

    The data triple is about ``a`` through its predicate (``x a y``: sub-property, domain, range, inverse) or,
    ``on_type``, as its class (``x rdf:type a``: subclass). ``backwards`` reads the link from object to subject
    (``b owl:inverseOf a``).
    """

    def about(term: Node, known: _Known) -> list[Triple]:
        if on_type:
            return [(x, _TYPE, term) for x in known.subjects(_TYPE, term)]
        return known.with_predicate(term)

    def term_of(triple: Triple) -> Node | None:
        if on_type:
            return triple[2] if triple[1] == _TYPE else None
        return triple[1]

    def rule(triple: Triple, known: _Known, schema: _Schema) -> Iterator[_Step]:
        s, p, o = triple
        if p == link:
            start, end = (o, s) if backwards else (s, o)
            for data in about(start, known):
                yield name, conclude(data, end), (data, triple), s
        term = term_of(triple)
        if term is None:
            return
        for end in known.subjects(link, term) if backwards else known.objects(term, link):
            axiom = (end, link, term) if backwards else (term, link, end)
            yield name, conclude(triple, end), (triple, axiom), axiom[0]

    return rule


def _property_chain(triple: Triple, known: _Known, schema: _Schema) -> Iterator[_Step]:
    """prp-spo2: the triple as any link of a property chain; the chain's list is the ontology's, not a premise."""
    for prop, chain in schema.chains:
        for i, link in enumerate(chain):
            if triple[1] != link:
                continue
            for before in _path_to(triple[0], chain, i - 1, known):
                for after in _path_from(triple[2], chain, i + 1, known):
                    path = (*before, triple, *after)
                    yield "prp-spo2", (path[0][0], prop, path[-1][2]), path, prop


def _path_to(node: Node, chain: tuple[Node, ...], last: int, known: _Known) -> Iterator[tuple[Triple, ...]]:
    """The paths over ``chain[0..last]`` that end at ``node``."""
    if last < 0:
        yield ()
        return
    for previous in known.subjects(chain[last], node):
        for path in _path_to(previous, chain, last - 1, known):
            yield (*path, (previous, chain[last], node))


def _path_from(
    node: Node, chain: tuple[Node, ...], first: int, known: _Known
) -> Iterator[tuple[Triple, ...]]:
    """The paths over ``chain[first..]`` that start at ``node``."""
    if first == len(chain):
        yield ()
        return
    for following in known.objects(node, chain[first]):
        for path in _path_from(following, chain, first + 1, known):
            yield ((node, chain[first], following), *path)


def _has_value(triple: Triple, known: _Known, schema: _Schema) -> Iterator[_Step]:
    """cls-hv2 + cax-eqc2 (the value gives the class) and cax-eqc1 + cls-hv1 (the class gives the value)."""
    s, p, o = triple
    for cls in schema.class_of_value.get((p, o), ()):
        yield "cls-hv2", (s, _TYPE, cls), (triple,), cls
    if p == _TYPE:
        for prop, value in schema.value_of_class.get(o, ()):
            yield "cls-hv1", (s, prop, value), (triple,), o


#: The rules, by OWL 2 RL name (OWL 2 Profiles, section 4.3), in the order they are tried on each triple.
RULES: dict[str, _Rule] = {
    "prp-symp": _characteristic("prp-symp", OWL.SymmetricProperty, _mirrored),
    "prp-trp": _characteristic("prp-trp", OWL.TransitiveProperty, _chained),
    "prp-inv1": _linked("prp-inv1", OWL.inverseOf, lambda t, b: (t[2], b, t[0]), on_type=False),
    "prp-inv2": _linked(
        "prp-inv2", OWL.inverseOf, lambda t, a: (t[2], a, t[0]), on_type=False, backwards=True
    ),
    "prp-spo1": _linked("prp-spo1", RDFS.subPropertyOf, lambda t, b: (t[0], b, t[2]), on_type=False),
    "prp-spo2": _property_chain,
    "prp-dom": _linked("prp-dom", RDFS.domain, lambda t, c: (t[0], _TYPE, c), on_type=False),
    "prp-rng": _linked("prp-rng", RDFS.range, lambda t, c: (t[2], _TYPE, c), on_type=False),
    "cax-sco": _linked("cax-sco", RDFS.subClassOf, lambda t, c: (t[0], _TYPE, c), on_type=True),
    "cls-hv1": _has_value,
    "cls-hv2": _has_value,
    "scm-sco": _of_predicate("scm-sco", RDFS.subClassOf, _chained),
    "scm-spo": _of_predicate("scm-spo", RDFS.subPropertyOf, _chained),
    "eq-sym": _of_predicate("eq-sym", OWL.sameAs, _mirrored),
    "eq-trans": _of_predicate("eq-trans", OWL.sameAs, _chained),
}


def derive(ontology: Graph, data: Graph) -> dict[Triple, Derivation]:
    """Every triple the rules derive from ``ontology`` + ``data`` that neither asserts, with its first derivation.

    A breadth-first fixpoint: triples are taken in the order they became known, so by derivation depth.
    """
    schema = _Schema.of(ontology)
    depth: dict[Triple, int] = {}
    queue: deque[Triple] = deque()
    for graph in (ontology, data):
        for triple in graph:
            if triple not in depth:
                depth[triple] = 0
                queue.append(triple)
    rules = list(dict.fromkeys(RULES.values()))  # cls-hv1 and cls-hv2 share one function
    derivations: dict[Triple, Derivation] = {}
    known = _Known()
    while queue:
        triple = queue.popleft()
        known.add(triple)
        for rule in rules:
            for name, conclusion, premises, axiom in rule(triple, known, schema):
                if conclusion in depth or isinstance(conclusion[0], Literal):
                    continue
                depth[conclusion] = 1 + max(depth[premise] for premise in premises)
                derivations[conclusion] = Derivation(name, axiom, premises, depth[conclusion])
                queue.append(conclusion)
    return derivations


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
    :param inferred: what the reasoner added (:func:`collabkg.reasoning.infer`); a triple the rules here do not
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
