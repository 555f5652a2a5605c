"""What the dataset says about itself: a VoID description, and dumps of the whole dataset.

Crawlers and catalogues (and people choosing a download) read ``/.well-known/void`` as the VoID spec asks:
size, classes, properties, named graphs, where the dumps and the SPARQL endpoint are, licence and version.
The counts are taken once per app, that is once per dataset version (a loaded store never changes); only the
URLs, which depend on the host a request came to, are filled in per request. Dumps are written once per
format, on first request, and kept in memory: the package folder is no place for a cache.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rdflib import OWL, RDF, XSD, BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from ..formats import JSON_LD, N_TRIPLES, TRIG, TURTLE, Format, serialize_dataset
from ..namespaces import ID, SD, VOID
from ..store import Store

#: The dump formats, by file extension. Turtle and N-Triples hold the union of the graphs; TriG and JSON-LD
#: keep every triple in its named graph.
DUMP_FORMATS: dict[str, Format] = {"ttl": TURTLE, "nt": N_TRIPLES, "trig": TRIG, "jsonld": JSON_LD}
#: Dump formats that keep graph names.
QUAD_DUMPS = frozenset({"trig", "jsonld"})


def _namespace(iri: Node) -> str:
    """The vocabulary an IRI belongs to: everything up to its last ``#`` or ``/``."""
    text = str(iri)
    cut = max(text.rfind("#"), text.rfind("/"))
    return text[: cut + 1]


@dataclass(frozen=True)
class DatasetStatistics:
    """The numbers of a VoID description, counted over the union of the named graphs (each triple once)."""

    triples: int
    distinct_subjects: int
    distinct_objects: int
    #: Entities (distinct typed subjects) per class.
    classes: Mapping[URIRef, int]
    #: Triples per property.
    properties: Mapping[Node, int]
    #: Triples per named graph.
    graphs: Mapping[URIRef, int]
    vocabularies: tuple[str, ...]
    #: The store's content hash: changes exactly when the data does (also the dumps' ETag).
    version: str
    #: When the served data last changed (``None``: the store cannot tell).
    modified: datetime | None
    license: URIRef | None

    @classmethod
    def of(cls, store: Store) -> DatasetStatistics:
        """Count once, in one pass over the union (a remote store's is fetched for it, once)."""
        dataset = store.export()
        subjects: set[object] = set()
        objects: set[object] = set()
        properties: Counter[Node] = Counter()
        typed: dict[URIRef, set[object]] = {}
        triples = 0
        for s, p, o in dataset.triples((None, None, None)):
            triples += 1
            subjects.add(s)
            objects.add(o)
            properties[p] += 1
            if p == RDF.type and isinstance(o, URIRef):
                typed.setdefault(o, set()).add(s)
        vocabularies = {_namespace(term) for term in (*properties, *typed)}
        license_ = next(
            (
                value
                for ontology in dataset.subjects(RDF.type, OWL.Ontology)
                for value in dataset.objects(ontology, DCTERMS.license)
                if isinstance(value, URIRef)
            ),
            None,
        )
        return cls(
            triples=triples,
            distinct_subjects=len(subjects),
            distinct_objects=len(objects),
            classes={c: len(members) for c, members in sorted(typed.items())},
            properties=dict(sorted(properties.items())),
            graphs=store.graph_sizes(),
            vocabularies=tuple(sorted(vocabularies)),
            version=store.version,
            modified=store.modified(),
            license=license_,
        )


def _integer(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)


def describe_dataset(
    stats: DatasetStatistics, *, description_url: str, sparql_url: str, dump_urls: Mapping[str, str]
) -> Graph:
    """The VoID description of the served dataset, its URLs on the server that answers.

    :param description_url: the URL of the description; the dataset is ``#dataset`` in it.
    :param dump_urls: the URL of each dump, by extension (:data:`DUMP_FORMATS`).
    """
    g = Graph()
    for prefix, namespace in (("void", VOID), ("sd", SD), ("dcterms", DCTERMS), ("owl", OWL)):
        g.bind(prefix, namespace)
    dataset = URIRef(description_url + "#dataset")
    g.add((URIRef(description_url), RDF.type, VOID.DatasetDescription))
    g.add((URIRef(description_url), DCTERMS.title, Literal("A VoID description of collabkg", lang="en")))
    g.add((URIRef(description_url), VOID.rootResource, dataset))
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, DCTERMS.title, Literal("collabkg", lang="en")))
    g.add(
        (
            dataset,
            DCTERMS.description,
            Literal(
                "An evidence knowledge graph of how welfare organizations collaborate: two literature reviews, "
                "curated mappings between them, the ontology and the OWL 2 RL inferences.",
                lang="en",
            ),
        )
    )
    g.add((dataset, VOID.sparqlEndpoint, URIRef(sparql_url)))
    for extension, url in dump_urls.items():
        g.add((dataset, VOID.dataDump, URIRef(url)))
        g.add((URIRef(url), DCTERMS.format, Literal(DUMP_FORMATS[extension].media_type)))
    g.add((dataset, VOID.uriSpace, Literal(str(ID))))
    g.add((dataset, VOID.exampleResource, ID["model/partnership"]))
    if stats.license is not None:
        g.add((dataset, DCTERMS.license, stats.license))
    g.add((dataset, OWL.versionInfo, Literal(stats.version)))
    if stats.modified is not None:
        g.add((dataset, DCTERMS.modified, Literal(stats.modified.isoformat(), datatype=XSD.dateTime)))
    for vocabulary in stats.vocabularies:
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    g.add((dataset, VOID.triples, _integer(stats.triples)))
    g.add((dataset, VOID.classes, _integer(len(stats.classes))))
    g.add((dataset, VOID.properties, _integer(len(stats.properties))))
    g.add((dataset, VOID.distinctSubjects, _integer(stats.distinct_subjects)))
    g.add((dataset, VOID.distinctObjects, _integer(stats.distinct_objects)))
    for cls, entities in stats.classes.items():
        partition = BNode()
        g.add((dataset, VOID.classPartition, partition))
        g.add((partition, VOID["class"], cls))
        g.add((partition, VOID.entities, _integer(entities)))
    for prop, triples in stats.properties.items():
        partition = BNode()
        g.add((dataset, VOID.propertyPartition, partition))
        g.add((partition, VOID.property, prop))
        g.add((partition, VOID.triples, _integer(triples)))
    for name, triples in stats.graphs.items():
        subset = BNode()
        g.add((dataset, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, RDF.type, SD.NamedGraph))
        g.add((subset, SD.name, name))
        g.add((subset, VOID.triples, _integer(triples)))
    return g


def write_dump(dataset: Dataset, extension: str) -> bytes:
    """The whole dataset in one dump format: the union for triple formats, the named graphs for the others."""
    return serialize_dataset(dataset, DUMP_FORMATS[extension], keep_graphs=extension in QUAD_DUMPS)
