"""The words pages show for IRIs: labels from the data, then from the bundled well-known vocabularies.

A label may sit under any of several properties (rdfs:label, skos:prefLabel, dcterms:title, schema:name,
foaf:name); :class:`Labels` folds them into one lookup, so a page never has to know which one a source used.
The graph names terms of rdf, owl, skos, dcterms, prov, cito, fabio and others that the data does not label;
``static/vocabularies.ttl`` bundles their labels, read once, so pages show "cites as evidence" rather than an
IRI, and nothing is fetched to find out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDFS, SKOS
from rdflib.term import Node

from ..namespaces import PREFIXES, SCHEMA

#: Properties whose value is a name for people, most telling first. A resource's description carries its
#: neighbours' values of each, so that a client gets words too.
LABEL_PROPERTIES: tuple[URIRef, ...] = (RDFS.label, SKOS.prefLabel, DCTERMS.title, SCHEMA.name, FOAF.name)
#: Properties whose value says what a resource is, in a sentence or more; the first found leads its page.
DESCRIPTION_PROPERTIES: tuple[URIRef, ...] = (
    SKOS.definition,
    DCTERMS.description,
    RDFS.comment,
    DCTERMS.abstract,
)

VOCABULARY_LABELS = Path(__file__).parent / "static" / "vocabularies.ttl"


@functools.cache
def vocabulary_labels() -> Graph:
    """The bundled labels of well-known vocabularies' terms (parsed once per process: the file is ours)."""
    return Graph().parse(VOCABULARY_LABELS, format="turtle")


def first_text(graphs: Iterable[Graph], subject: Node, properties: Iterable[URIRef]) -> str | None:
    """The first value of the first of ``properties`` that ``subject`` has, English or untagged preferred."""
    graphs = list(graphs)
    for prop in properties:
        values = [value for graph in graphs for value in graph.objects(subject, prop)]
        literals = [value for value in values if isinstance(value, Literal)]
        if literals:
            return str(
                min(literals, key=lambda v: (v.language not in (None, "en"), v.language != "en", str(v)))
            )
        if values:
            return str(values[0])
    return None


def short_name(iri: URIRef) -> str:
    """A prefixed name (``fabio:Journal``) when a prefix of the graph covers ``iri``, else the IRI itself."""
    text = str(iri)
    matches = [(prefix, ns) for prefix, ns in PREFIXES.items() if text.startswith(ns) and len(text) > len(ns)]
    if not matches:
        return text
    prefix, namespace = max(matches, key=lambda match: len(match[1]))
    return f"{prefix}:{text[len(namespace) :]}"


class Labels:
    """One label lookup over several graphs: the first graph that labels a term wins.

    The bundled vocabulary labels are always consulted last; a term nobody labels reads as its prefixed name.
    """

    def __init__(self, *graphs: Graph) -> None:
        self._graphs = (*graphs, vocabulary_labels())

    def find(self, term: Node) -> str | None:
        """The label of ``term``, or ``None`` when no graph gives one."""
        for graph in self._graphs:
            label = first_text((graph,), term, LABEL_PROPERTIES)
            if label is not None:
                return label
        return None

    def __call__(self, term: Node) -> str:
        """The label of ``term``; its prefixed name (an IRI) or its text (a literal) when it has none."""
        label = self.find(term)
        if label is not None:
            return label
        return short_name(term) if isinstance(term, URIRef) else str(term)
