"""Explanations read back: why a statement holds, as a tree down to asserted triples and their claims.

The build writes the derivation of every inferred triple as PROV-O into ``graph/explanations``
(:mod:`collabkg.build.explanations`); this module reads such data (for pages, trails and ``collabkg
explain``) without the reasoner: rule names, labels and claims are all in the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from ..namespaces import CITO, CK, ID, PREFIXES
from . import number

__all__ = [
    "Explanation",
    "Strength",
    "Support",
    "explanations_about",
    "format_explanation",
    "read_explanation",
]


@dataclass(frozen=True)
class Support:
    """A claim of a source that supports an asserted statement, with the numbers of the references it cites."""

    iri: Node
    label: str
    references: tuple[int, ...]

    @property
    def trail_path(self) -> str:
        """The claim's trail relative to ``/trail/``: ``claim/<slug>`` or ``finding/<slug>``."""
        return str(self.iri).removeprefix(str(ID))

    @property
    def kind(self) -> str:
        """The claim's kind as trails name it (``claim``, ``finding``)."""
        return self.trail_path.partition("/")[0]

    @property
    def slug(self) -> str:
        return self.trail_path.partition("/")[2]


@dataclass(frozen=True, order=True)
class Strength:
    """How firmly a statement is stated: its rank on the scale of ``ck:strengthRank`` (higher is firmer) and the
    strength's label (``stated``, ``qualified``, ``tentative``...)."""

    rank: int
    label: str
    #: Whether it is ``ck:stated`` (said plainly: a page needs no word about its firmness).
    plain: bool = False


@dataclass(frozen=True)
class Explanation:
    """Why one statement holds: the rule and its premises when inferred; the graphs and claims when asserted."""

    iri: Node
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
    #: How firmly the sources state an asserted statement (the firmest passage supporting it; ``ck:stated`` where
    #: none does); ``None`` for an inferred one, which is as firm as its weakest premise (:attr:`firmness`).
    strength: Strength | None = None

    @property
    def firmness(self) -> Strength | None:
        """How firm the statement is: an asserted one as the sources state it, an inferred one as its weakest
        premise (what follows from a "may" is a "may"); ``None`` where the data does not say."""
        if self.rule is None:
            return self.strength
        premises = [premise.firmness for premise in self.premises]
        known = [firmness for firmness in premises if firmness is not None]
        return min(known) if known and len(known) == len(premises) else None

    @property
    def statement(self) -> str:
        return f"{self.subject} {self.predicate} {self.object}"

    @property
    def path(self) -> str | None:
        """The statement node's path under ``https://w3id.org/collabkg/id/`` (its page), if it has one there."""
        text = str(self.iri)
        return text[len(str(ID)) :] if isinstance(self.iri, URIRef) and text.startswith(str(ID)) else None

    @property
    def reason(self) -> str:
        """``symmetric property (prp-symp): combines with``, or ``asserted in andersson-2011``."""
        if self.rule is None:
            return f"asserted in {', '.join(self.graphs)}"
        axiom = f": {self.axiom}" if self.axiom else ""
        return f"{self.rule} ({self.rule_name}){axiom}"


#: Names for terms without a label: rdf: is not among the graph's prefixes, but rdf:type is in explanations.
_NAMES = sorted({**PREFIXES, "rdf": str(RDF)}.items(), key=lambda item: -len(item[1]))


def _name(graph: Graph, node: Node | None) -> str:
    """A term as people read it: a literal's text, a label (English preferred), else a prefixed name."""
    if isinstance(node, Literal):
        return str(node)
    if node == RDF.type:
        return "is a"
    labels = sorted(
        (label for label in graph.objects(node, RDFS.label) if isinstance(label, Literal)),
        key=lambda label: (label.language not in ("en", None), label),
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
    premises = graph.objects(node, PROV.wasDerivedFrom)
    claims = (
        Support(
            iri=claim,
            label=_name(graph, claim),
            references=tuple(
                sorted(
                    number(value)
                    for cites in (CITO.citesAsEvidence, CITO.citesForInformation)
                    for reference in graph.objects(claim, cites)
                    for value in graph.objects(reference, CK.referenceNumber)
                )
            ),
        )
        for claim in graph.objects(node, CK.supportedBy)
    )
    strength = None
    if application is None:
        strength = _strength(graph, graph.value(node, CK.strength)) or _strength(graph, CK.stated)
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
        strength=strength,
    )


def _strength(graph: Graph, node: Node | None) -> Strength | None:
    """The strength ``node`` as the explanation data gives it (rank and label), or ``None``."""
    rank = None if node is None else graph.value(node, CK.strengthRank)
    return (
        None
        if node is None or rank is None
        else Strength(number(rank), _name(graph, node), node == CK.stated)
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
    firmness = explanation.firmness
    if firmness is not None and not firmness.plain:
        how = "stated as" if explanation.rule is None else "as firm as its weakest premise:"
        lines.append(f"  {how} {firmness.label}")
    for claim in explanation.claims:
        cited = "".join(f" [{number}]" for number in claim.references)
        lines.append(f"  supported by: {claim.label}{cited}")
    for premise in explanation.premises:
        first, *rest = format_explanation(premise)
        lines += [f"  - {first}", *(f"    {line}" for line in rest)]
    return lines
