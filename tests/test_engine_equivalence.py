"""The served engine (Oxigraph, in query processes) gives the answers the engine before it (rdflib) gave.

Every query the service runs is asked of both over the real build: the canned queries with each of their
examples, the pages', trails' and VoID's queries, and the competency questions. rdflib runs as it always ran
for this service: over the dataset with the union of its graphs as the default graph, parameters bound with
``initBindings``. Rows are compared as multisets (an unordered result may come in another order), blank
nodes by position only (their labels are each engine's own), graphs as isomorphic graphs.

Where the two differ by design, the query is listed with the reason (the README's "What the engine
changed" says the same): they are the only exceptions.

One query is given to rdflib with its parameter written into the text as a constant rather than bound
(:data:`CONSTANT_FOR_RDFLIB`): the same question (the variable is not projected), asked so that rdflib can answer
it within CI's time.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from collabkg.namespaces import PREFIXES
from collabkg.queryfiles import CannedQuery, load_queries, parse_query_file
from collabkg.store.oxigraph import OxigraphStore
from collabkg.store.query import prepare
from collabkg.store.rewrite import bound_text
from collabkg.web.context import Service
from conftest import ROOT
from flask import Flask
from rdflib import BNode, Dataset, Graph, Variable
from rdflib.compare import isomorphic
from rdflib.query import Result
from rdflib.term import Node

#: Resources the parameterized page and trail queries are asked about: a model, a determinant, a finding, a
#: claim, a review, a country, a numbered reference.
RESOURCES = (
    "model:partnership",
    "model:co-location",
    "determinant:trust",
    "finding:andersson-2011-communication-1",
    "study:andersson-2011",
    "country:se",
    "https://w3id.org/collabkg/id/study/andersson-2011/ref/34",
)
#: What the page queries about a rule application (parameter ``_application``) are asked of: the symmetric
#: property's application to ck:combinesWith (the hash is of that term's IRI). Only they: rdflib took 128 s over
#: the trail's explanations query of it, which no page asks.
APPLICATIONS = ("https://w3id.org/collabkg/id/rule-application/prp-symp-d2e38312a4c7a5e9",)
#: Queries rdflib is asked with the parameter's IRI in place of its variable. rdflib orders a group's triple
#: patterns when it parses, before it knows the bindings, by how many unknown variables each has: in
#: ``trail/explanations`` every branch then begins with every inference of the graph and follows each one's
#: premises before it looks at the subject (90 s for model:co-location, beside other work); with the IRI in the
#: pattern it begins at the resource (4.6 s, the same 568 triples). The variable appears only inside patterns,
#: never in the template or a projection, so the constant asks the same question.
CONSTANT_FOR_RDFLIB = frozenset({ROOT / "queries" / "trail" / "explanations.rq"})


@pytest.fixture(scope="module")
def reference(built_dataset: Path) -> Dataset:
    """The build as rdflib held it when it served: one dataset, the default graph the union of the graphs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Dataset(default_union=True).parse(built_dataset, format="trig")


def cases() -> Iterator[tuple[str, Path, dict[str, str]]]:
    """``(id, query file, request parameters)`` for every query the service runs."""
    for folder in ("", "void"):
        for name, query in load_queries(ROOT / "queries" / folder).items():
            for example in query.examples or ("",):
                args = dict(pair.partition("=")[::2] for pair in example.split("&") if pair)
                yield f"{folder or 'canned'}/{name}?{example}", query.path, args
    for path in sorted(
        [*(ROOT / "queries" / "pages").glob("*.rq"), *(ROOT / "queries" / "trail").glob("*.rq")]
    ):
        query = parse_query_file(path)
        if not query.params:
            yield f"{path.parent.name}/{path.stem}", path, {}
            continue
        if len(query.params) > 1:  # a value of a property of a resource: asked as its examples say
            for example in query.examples:
                args = dict(pair.partition("=")[::2] for pair in example.split("&"))
                yield f"{path.parent.name}/{path.stem}?{example}", path, args
            continue
        (param,) = query.params
        for resource in APPLICATIONS if param.variable == "_application" else RESOURCES:
            if param.kind is None or resource.startswith(f"{param.kind}:"):
                yield f"{path.parent.name}/{path.stem}?{resource}", path, {param.name: resource}
    for path in sorted((ROOT / "tests" / "competency").glob("*.rq")):
        if path.stem != "weakest-premise":  # asked with bound values: test_competency asks it both ways
            yield f"competency/{path.stem}", path, {}


def _competency(path: Path) -> CannedQuery:
    """A competency question as a query file of the service (they have no header of their own)."""
    text = path.read_text(encoding="utf-8")
    prepared = prepare(text, namespaces=PREFIXES)
    return CannedQuery(path.stem, path, path.stem, "", (), (), text, prepared)


@pytest.mark.parametrize(
    ("case", "path", "args"), list(cases()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_the_served_engine_answers_as_rdflib_did(
    built_app: Flask,
    built_output: OxigraphStore,
    reference: Dataset,
    case: str,
    path: Path,
    args: dict[str, str],
) -> None:
    """Both ways a store gives the union (:mod:`collabkg.store.union`) are asked: the build's store, which
    takes it, and the store of the same TriG served with ``--dataset``, which holds it."""
    query = _competency(path) if case.startswith("competency/") else parse_query_file(path)
    bindings = query.bindings(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if path in CONSTANT_FOR_RDFLIB:
            expected = reference.query(bound_text(query.prepared, bindings), initNs=PREFIXES)
        else:
            expected = reference.query(query.text, initNs=PREFIXES, initBindings=bindings)
    for store in (Service.of(built_app).store, built_output):
        served = store.evaluate(query.prepared, init_bindings=bindings, limit=1_000_000).result
        assert served.type == expected.type
        if served.type == "ASK":
            assert served.askAnswer == expected.askAnswer
        elif served.type == "SELECT":
            assert [str(v) for v in served.vars or ()] == [str(v) for v in expected.vars or ()]
            assert _rows(served) == _rows(expected), case
        else:
            assert served.graph is not None and expected.graph is not None
            assert len(served.graph) == len(expected.graph)
            assert isomorphic(_graph(served.graph), _graph(expected.graph)), case


def _rows(result: Result) -> Counter[tuple[str, ...]]:
    """The rows as a multiset of tuples of terms (a blank node as ``_``: labels are each engine's)."""
    variables = [Variable(str(v)) for v in result.vars or ()]
    return Counter(tuple(_term(row.get(v)) for v in variables) for row in _bindings(result))


def _bindings(result: Result) -> Iterator[Mapping[Variable, Node]]:
    for row in result.bindings:
        yield {Variable(str(k)): v for k, v in row.items()}


def _term(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return "_"
    return term.n3()


def _graph(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy
