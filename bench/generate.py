"""Synthetic collabkg projects of any size, shaped like the real data, for the benchmarks.

The real graph is two reviews (about 2,200 asserted triples): too small to show how the build and the service
grow. This writes a project tree that ``collabkg build --root`` accepts (it passes the shapes and checks)
with as many reviews as it takes to reach a number of asserted triples. Each review has what the real ones
have, in similar proportions: a numbered reference list, a screening flow, authors, covered countries, models
with orientation, levels, a complexity chain, combinations and hybrids, determinants that contribute to one
another, findings with polarity, section, quote and cited references, and ``rdf:Statement`` nodes tying each
link to the claim that supports it (each, like each claim, with its ``ck:strength``); ``mappings.ttl`` links
models and findings of neighbouring reviews through ``ck:CuratedMapping`` nodes. The ontology, shapes and
queries are copied from this checkout, so the generated graph is reasoned and queried exactly like the real one.

The output depends only on the seed and the target: the same arguments write the same bytes.

Usage: ``python -m bench.generate --triples 1e4 1e5 --out /tmp/collabkg-bench``
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["REPOSITORY", "copy_checkout", "generate", "main"]

#: The checkout whose ontology, shapes and queries the generated projects use.
REPOSITORY = Path(__file__).resolve().parents[1]
ID = "https://w3id.org/collabkg/id/"
#: Reviews per data file: each file is a named graph, as each real review is.
REVIEWS_PER_FILE = 50

_PREFIXES = """\
@prefix ck:      <https://w3id.org/collabkg/vocab#> .
@prefix rdf:     <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf:    <http://xmlns.com/foaf/0.1/> .
@prefix cito:    <http://purl.org/spar/cito/> .
@prefix fabio:   <http://purl.org/spar/fabio/> .
@prefix wd:      <http://www.wikidata.org/entity/> .

"""
#: ISO 3166-1 alpha-2 and alpha-3 codes, with Wikidata items: the countries reviews cover.
_COUNTRIES = (
    ("se", "SWE", "Sweden", 34), ("ca", "CAN", "Canada", 16), ("us", "USA", "United States", 30),
    ("nl", "NLD", "Netherlands", 55), ("gb", "GBR", "United Kingdom", 145), ("au", "AUS", "Australia", 408),
    ("be", "BEL", "Belgium", 31), ("no", "NOR", "Norway", 20), ("dk", "DNK", "Denmark", 35),
    ("fi", "FIN", "Finland", 33), ("de", "DEU", "Germany", 183), ("fr", "FRA", "France", 142),
    ("ie", "IRL", "Ireland", 27), ("nz", "NZL", "New Zealand", 664), ("es", "ESP", "Spain", 29),
    ("it", "ITA", "Italy", 38),
)  # fmt: skip
_WORDS = (
    "communication", "trust", "commitment", "leadership", "funding", "culture", "roles", "information", "goals",
    "territoriality", "legislation", "training", "co-location", "management", "time", "resources", "ownership",
)  # fmt: skip
_SECTIONS = ("Introduction", "Results", "Results / Barriers and facilitators", "Discussion", "Conclusion")
_POLARITIES = ("ck:barrier", "ck:facilitator", "ck:twoSided")
_LEVELS = ("ck:microLevel", "ck:mesoLevel", "ck:macroLevel")
_ORIENTATIONS = ("ck:structuralOrientation", "ck:processOrientation")


@dataclass
class _Turtle:
    """Turtle text written triple by triple, counting the triples (one statement per line, no abbreviation:
    fast to write and to count)."""

    lines: list[str] = field(default_factory=list)
    triples: int = 0
    _blank: int = 0

    def add(self, s: str, p: str, o: str) -> None:
        self.lines.append(f"{s} {p} {o} .\n")
        self.triples += 1

    def support(self, claim: str, s: str, p: str, o: str) -> None:
        """Assert ``s p o`` and the rdf:Statement by which ``claim`` supports it (the shapes require one)."""
        self.add(s, p, o)
        self._blank += 1
        node = f"_:st{self._blank}"
        self.add(claim, "ck:supportsStatement", node)
        self.add(node, "rdf:type", "rdf:Statement")
        self.add(node, "rdf:subject", s)
        self.add(node, "rdf:predicate", p)
        self.add(node, "rdf:object", o)
        self.add(node, "ck:strength", "ck:stated")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _literal(text: str, lang: bool = False) -> str:
    return f'"{text}"@en' if lang else f'"{text}"'


@dataclass(frozen=True)
class _Review:
    """What the mappings file needs to know of a generated review."""

    slug: str
    models: tuple[str, ...]
    findings: tuple[tuple[str, str], ...]  # (finding, polarity)


def _review(out: _Turtle, rng: random.Random, number: int) -> _Review:
    """Write one review with everything that hangs off it; returns what mappings may link."""
    slug = f"review-{number:05d}"
    review = f"<{ID}study/{slug}>"
    references = rng.randint(40, 80)
    out.add(review, "rdf:type", "ck:Review")
    out.add(review, "rdf:type", "fabio:ReviewArticle")
    out.add(review, "rdfs:label", _literal(f"Review {number}", lang=True))
    out.add(review, "dcterms:title", _literal(f"A review of {_text(rng, 4)}", lang=True))
    out.add(review, "dcterms:issued", f'"{rng.randint(1995, 2025)}"^^xsd:gYear')
    out.add(review, "ck:referenceCount", str(references))
    for author in range(rng.randint(2, 5)):
        person = f"<{ID}person/{slug}-author-{author + 1}>"
        out.add(review, "dcterms:creator", person)
        out.add(person, "rdf:type", "foaf:Person")
        out.add(person, "foaf:name", _literal(f"Author {author + 1} of review {number}"))

    refs = [f"<{ID}study/{slug}/ref/{n}>" for n in range(1, references + 1)]
    for n, ref in enumerate(refs, start=1):
        out.add(ref, "rdf:type", "ck:Reference")
        out.add(ref, "rdfs:label", _literal(f"Review {number}, reference [{n}]", lang=True))
        out.add(ref, "ck:referenceNumber", str(n))
        out.add(ref, "ck:inReferenceListOf", review)

    def claim(kind: str, name: str, section: str | None = None, cites: str = "cito:citesAsEvidence") -> str:
        node = f"<{ID}{'finding' if kind == 'ck:Finding' else 'claim'}/{slug}-{name}>"
        out.add(node, "rdf:type", kind)
        out.add(node, "rdfs:label", _literal(f"{name} of review {number}: {_text(rng, 5)}", lang=True))
        out.add(node, "ck:reportedIn", review)
        out.add(node, "ck:section", _literal(section or rng.choice(_SECTIONS)))
        out.add(node, "ck:quote", _literal(f"{_text(rng, 14)} [{rng.randint(1, references)}]."))
        out.add(node, "ck:strength", "ck:stated")
        for ref in rng.sample(refs, rng.randint(1, 3)):
            out.add(node, cites, ref)
        return node

    methods = claim("ck:Conclusion", "methods", "Materials and methods", "cito:citesForInformation")
    countries = rng.sample(_COUNTRIES, rng.randint(1, 4))
    for code, *_ in countries:
        out.support(methods, review, "ck:coversCountry", f"<{ID}country/{code}>")
    out.support(methods, review, "ck:includedPaperCount", str(rng.randint(10, 80)))
    records = rng.randint(2000, 20000)
    steps = [f"<{ID}study/{slug}/step/{n}>" for n in range(1, rng.randint(3, 4) + 1)]
    for order, step in enumerate(steps, start=1):
        out.add(review, "ck:searchStep", step)
        out.add(step, "rdf:type", "ck:ScreeningStep")
        out.add(step, "rdfs:label", _literal(f"Step {order}", lang=True))
        out.add(step, "ck:stepOf", review)
        out.add(step, "ck:stepOrder", str(order))
        out.support(methods, step, "ck:recordCount", str(records))
        records = rng.randint(records // 10, records)
        if order < len(steps):
            out.add(step, "ck:nextStep", steps[order])

    models = [f"<{ID}model/{slug}-model-{n}>" for n in range(1, rng.randint(5, 8) + 1)]
    for rank, model in enumerate(models, start=1):
        description = claim("ck:ModelDescription", f"model-{rank}", "Results / Models of collaboration")
        out.add(description, "ck:concernsModel", model)
        out.add(model, "rdf:type", "ck:CollaborationModel")
        out.add(model, "rdfs:label", _literal(f"Model {rank} of review {number}", lang=True))
        out.add(model, "skos:definition", _literal(_text(rng, 12), lang=True))
        out.support(description, model, "ck:identifiedIn", review)
        out.support(description, model, "ck:complexityRank", str(rank))
        out.support(description, model, "ck:orientation", rng.choice(_ORIENTATIONS))
        for level in rng.sample(_LEVELS, rng.randint(1, 2)):
            out.support(description, model, "ck:organizationalLevel", level)
        if rank > 1:
            out.support(description, model, "ck:moreComplexThan", models[rank - 2])
        if rank > 2 and rng.random() < 0.4:
            out.support(description, model, "ck:combinesWith", rng.choice(models[: rank - 2]))
    hybrid = f"<{ID}model/{slug}-hybrid>"
    hybrid_claim = claim("ck:Conclusion", "hybrid", "Discussion")
    out.add(hybrid, "rdf:type", "ck:HybridModel")
    out.add(hybrid, "rdfs:label", _literal(f"Hybrid model of review {number}", lang=True))
    out.add(hybrid, "skos:definition", _literal(_text(rng, 10), lang=True))
    out.support(hybrid_claim, hybrid, "ck:identifiedIn", review)
    for component in rng.sample(models, 2):
        out.support(hybrid_claim, hybrid, "ck:hasComponent", component)

    determinants = [f"<{ID}determinant/{slug}-{word}>" for word in rng.sample(_WORDS, rng.randint(4, 8))]
    links = claim("ck:Conclusion", "determinant-links", "Discussion")
    for determinant in determinants:
        out.add(determinant, "rdf:type", "ck:Determinant")
        out.add(determinant, "rdfs:label", _literal(determinant.rsplit("-", 1)[-1].capitalize(), lang=True))
        out.add(determinant, "skos:definition", _literal(_text(rng, 10), lang=True))
        out.add(determinant, "ck:identifiedIn", review)
        out.add(links, "ck:aboutDeterminant", determinant)
        if rng.random() < 0.5:
            out.support(links, determinant, "ck:contributesTo", rng.choice(determinants))

    findings = []
    for n in range(1, rng.randint(15, 30) + 1):
        finding = claim("ck:Finding", str(n), "Results / Barriers and facilitators")
        polarity = rng.choice(_POLARITIES)
        out.add(finding, "ck:polarity", polarity)
        out.add(finding, "ck:aboutDeterminant", rng.choice(determinants))
        if rng.random() < 0.3:
            out.add(finding, "ck:concernsModel", rng.choice(models))
        findings.append((finding, polarity))
    for n in range(1, rng.randint(3, 8) + 1):
        claim("ck:Conclusion", f"conclusion-{n}", cites="cito:citesForInformation")
    return _Review(slug, tuple(models), tuple(findings))


def _mappings(out: _Turtle, rng: random.Random, reviews: list[_Review]) -> None:
    """Curated links between each review and the next: close models, corroborating findings."""
    for here, there in itertools.pairwise(reviews):
        pairs = [("skos:closeMatch", rng.choice(here.models), rng.choice(there.models))]
        same = [(a, b) for a, pa in here.findings for b, pb in there.findings if pa == pb]
        if same:
            pairs.append(("ck:corroborates", *rng.choice(same)))
        for n, (relation, s, o) in enumerate(pairs, start=1):
            mapping = f"<{ID}mapping/{here.slug}-to-{there.slug}-{n}>"
            out.add(s, relation, o)
            out.add(mapping, "rdf:type", "ck:CuratedMapping")
            out.add(mapping, "ck:mappingSubject", s)
            out.add(mapping, "ck:mappingRelation", relation)
            out.add(mapping, "ck:mappingObject", o)
            out.add(mapping, "ck:rationale", _literal(f"Both reviews speak of {_text(rng, 3)}."))
            out.add(mapping, "ck:strength", "ck:curatedReading")


def _countries(out: _Turtle) -> None:
    for code, alpha3, name, item in _COUNTRIES:
        country = f"<{ID}country/{code}>"
        out.add(country, "rdf:type", "ck:Country")
        out.add(country, "rdfs:label", _literal(name, lang=True))
        out.add(country, "ck:isoAlpha2", _literal(code.upper()))
        out.add(country, "ck:isoAlpha3", _literal(alpha3))
        out.add(country, "skos:exactMatch", f"wd:Q{item}")


def _data_files(rng: random.Random, triples: int) -> Iterator[tuple[str, _Turtle]]:
    """``(file name, content)`` of each data file, reviews until the whole reaches ``triples``."""
    countries = _Turtle()
    _countries(countries)
    yield "countries.ttl", countries
    total, reviews, number = countries.triples, [], 0
    while total < triples:
        chunk = _Turtle()
        for _ in range(REVIEWS_PER_FILE):
            number += 1
            reviews.append(_review(chunk, rng, number))
            if total + chunk.triples >= triples:
                break
        total += chunk.triples
        yield f"reviews-{number:05d}.ttl", chunk
    mappings = _Turtle()
    _mappings(mappings, rng, reviews)
    yield "mappings.ttl", mappings


def generate(root: Path, triples: int, seed: int = 1) -> int:
    """Write a project tree at ``root`` with at least ``triples`` asserted data triples (one review more at
    most). Replaces ``root/data``; returns the number of data triples written."""
    rng = random.Random(seed)
    copy_checkout(root)
    data = root / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    written = 0
    for name, content in _data_files(rng, triples):
        (data / name).write_text(_PREFIXES + "".join(content.lines), encoding="utf-8")
        written += content.triples
    return written


def copy_checkout(root: Path) -> None:
    """Make ``root``'s ontology, shapes and queries this checkout's, replacing what was there: a project kept
    from an earlier run must not be built with that run's queries (a check made linear since was measured
    at its old, quadratic cost)."""
    for folder in ("ontology", "queries"):
        shutil.rmtree(root / folder, ignore_errors=True)
        shutil.copytree(REPOSITORY / folder, root / folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=float, nargs="+", default=[1e4], help="Sizes (1e6 is fine).")
    parser.add_argument("--out", type=Path, required=True, help="One project per size goes under here.")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for size in args.triples:
        root = args.out / f"{int(size)}"
        written = generate(root, int(size), args.seed)
        print(f"{root}: {written:,} data triples")


if __name__ == "__main__":
    main()
