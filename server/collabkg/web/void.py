"""What the dataset says about itself: a VoID description.

Crawlers and catalogues (and people choosing a download) read ``/.well-known/void`` as the VoID spec asks:
size, classes, properties, named graphs, where the dumps and the SPARQL endpoint are, licence and version.
The counts are the store's (:meth:`collabkg.store.base.Store.statistics`, by the queries of
``queries/void/``), taken once per app, that is once per dataset version; the URLs are the service's own.
"""

from __future__ import annotations

from collections.abc import Mapping

from rdflib import OWL, RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from ..formats import DUMP_FORMATS
from ..namespaces import ID, SD, VOID
from ..store.base import DatasetStatistics


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
