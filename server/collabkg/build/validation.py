"""The validation step: the asserted data against ``ontology/shapes.ttl`` and the ``*-violation.rq`` checks.

The data is validated as asserted (no inference): a shape must hold on what the data files say, not on what
the reasoner could fill in. The ontology is passed to pySHACL so that a shape targeting ``ck:Finding`` also
reaches the resources typed ``ck:BarrierFinding`` (SHACL follows ``rdfs:subClassOf`` in the data graph).

A check (``queries/checks/*-violation.rq``) is a SPARQL SELECT of whole-graph conditions that shapes say
awkwardly; each row it returns is a violation: ``?focus`` and optionally ``?path``, ``?value``, ``?message``.
Both kinds of result come back as the same :class:`Violation`.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as oxigraph
import pyshacl
from pyshacl.errors import ReportableRuntimeError
from rdflib import RDF, SH, XSD, BNode, Graph, Literal, URIRef
from rdflib.graph import ReadOnlyGraphAggregate
from rdflib.namespace import NamespaceManager
from rdflib.term import Node

from ..namespaces import ONTOLOGY_GRAPH, PREFIXES
from ..store.oxigraph import in_parallel
from .shapes_sparql import CompiledShapes, Constraint, Unsupported, compile_shapes, path_text
from .turtle import Triples, as_graph

__all__ = ["Checks", "ConstraintError", "Violation", "check", "validate", "validate_with_pyshacl"]

_logger = logging.getLogger(__name__)

#: Each severity's rank (results are listed most severe first) and name.
_SEVERITIES = {SH.Violation: (0, "Violation"), SH.Warning: (1, "Warning"), SH.Info: (2, "Info")}
_XSD_STRING = str(XSD.string)
#: Where :class:`Checks` keeps the ontology's triples that the data lacks: out of the default graph, which the
#: checks query, and in the default graph of the shapes' queries, which see the data and the ontology as one.
_ONTOLOGY = oxigraph.NamedNode(str(ONTOLOGY_GRAPH))


class ConstraintError(ValueError):
    """A shape or a check cannot be used: a malformed shape, or a SPARQL constraint or check that fails."""


@dataclass(frozen=True)
class Violation:
    """One SHACL validation result, rendered for people: IRIs as prefixed names, paths in SPARQL syntax.

    Violations sort most severe first, then by focus node, path and message; a missing path or value first
    (a focus node can have a result with a value and one without on the same path: a wrong value and too
    many values).
    """

    #: ``0`` for sh:Violation, ``1`` for sh:Warning, ``2`` for sh:Info: only for ordering.
    rank: int = field(repr=False)
    #: The resource that does not conform.
    focus_node: str
    #: The value path (``ck:polarity``, ``^ck:concernsModel``), or None for a constraint on the node itself.
    path: str | None
    message: str
    #: ``"Violation"``, ``"Warning"`` or ``"Info"``.
    severity: str
    #: The shape that produced the result; a blank property shape is named by its node shape and path.
    source_shape: str
    #: The offending value, when the result names one.
    value: str | None = None

    def _key(self) -> tuple[object, ...]:
        return (
            self.rank,
            self.focus_node,
            (self.path is not None, self.path or ""),
            self.message,
            self.severity,
            self.source_shape,
            (self.value is not None, self.value or ""),
        )

    def __lt__(self, other: Violation) -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        line = f"{self.focus_node} {self.path or '(node)'}: {self.message}"
        if self.value not in (None, self.focus_node) and self.value not in self.message:
            line += f" (value {self.value})"
        line += f" [{self.source_shape}]"
        return line if self.severity == "Violation" else f"{self.severity}: {line}"


def validate(
    data: Triples,
    shapes: Graph,
    ontology: Graph,
    *,
    checks: Checks | None = None,
    on_warning: Callable[[str], None] = _logger.warning,
    on_fallback: Callable[[str], None] = _logger.info,
) -> list[Violation]:
    """Every result of validating ``data`` against ``shapes``, most severe first, then by focus node and path:
    the shapes compiled to SPARQL (:mod:`.shapes_sparql`) and run on Oxigraph, several times faster than pySHACL
    and in the memory the checks' store takes anyway. The results are pySHACL's (:func:`validate_with_pyshacl`,
    the reference, which tests/test_shapes_sparql.py holds them to); shapes that use what the compiler does not
    support are validated by pySHACL instead, all of them.

    :param checks: the data already loaded for the checks, with ``ontology`` (``Checks(data, ontology)``), to
        load it once; by default it is loaded here.
    :param on_warning: receives pySHACL's warnings, when pySHACL validates.
    :param on_fallback: receives why pySHACL validates, when it does.
    :raises ConstraintError: a query or pySHACL failed on a shape.
    """
    try:
        compiled = compile_shapes(shapes)
    except Unsupported as exc:
        on_fallback(f"the shapes are validated by pySHACL: {exc}")
        return validate_with_pyshacl(as_graph(data), shapes, ontology, on_warning=on_warning)
    loaded = checks or Checks(data, ontology)
    if loaded.altered:
        on_fallback(
            f"the shapes are validated by pySHACL: Oxigraph would store {len(loaded.altered):,} literals of the "
            f"data as other terms ({loaded.altered[0][0]!r} of type {loaded.altered[0][1]}, say)"
        )
        return validate_with_pyshacl(as_graph(data), shapes, ontology, on_warning=on_warning)
    return loaded.validate(compiled, shapes)


def validate_with_pyshacl(
    data: Graph,
    shapes: Graph,
    ontology: Graph,
    *,
    on_warning: Callable[[str], None] = _logger.warning,
) -> list[Violation]:
    """:func:`validate` by pySHACL, the reference implementation: for shapes the compiler does not support, and
    for the tests to compare with.

    SHACL-SPARQL constraints (``sh:sparql``) and the SHACL Advanced Features are enabled. ``data`` is the
    same afterwards: the ontology's triples it lacks are added for the validation and taken out again, where
    pySHACL would copy the whole data graph to mix them in (bench/RESULTS.md has the figures). Shapes with SHACL
    rules (``sh:rule``), which write into the data graph, get the copy.

    :param on_warning: receives what pySHACL reports as a Python warning (a recursive shape, an unusable
        ``sh:target``...). Those are problems of the shapes, so they are shown to the person building rather
        than raised mid-validation or dropped.
    :raises ConstraintError: pySHACL could not load a shape or constraint.
    """
    in_place = (None, SH.rule, None) not in shapes
    mixed_in = [triple for triple in ontology if triple not in data] if in_place else []
    for triple in mixed_in:
        data.add(triple)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _, report, _ = pyshacl.validate(
                data,
                shacl_graph=shapes,
                ont_graph=None if in_place else ontology,
                inplace=in_place,
                inference="none",
                advanced=True,
                allow_warnings=True,
            )
        except ReportableRuntimeError as exc:
            raise ConstraintError(str(exc)) from exc
        finally:
            for triple in mixed_in:
                data.remove(triple)
    for warning in caught:
        on_warning(f"pySHACL: {warning.message}")

    names = _namespaces(shapes.namespaces())
    lookup = ReadOnlyGraphAggregate([report, shapes])  # blank paths and shapes: copied to the report or not
    return sorted(
        _violation(
            lookup,
            names,
            focus=report.value(result, SH.focusNode),
            path=report.value(result, SH.resultPath),
            value=report.value(result, SH.value),
            severity=report.value(result, SH.resultSeverity),
            shape=report.value(result, SH.sourceShape),
            messages=report.objects(result, SH.resultMessage),
        )
        for result in report.subjects(RDF.type, SH.ValidationResult)
    )


class Checks:
    """The data loaded once into an Oxigraph store, to run any number of checks, and the compiled shapes, on.

    Oxigraph's SPARQL engine (Rust) runs the checks several times faster than rdflib's, most of its time
    loading the store (bench/RESULTS.md); the results are the same rows (tests/test_checks.py).

    The ontology's triples that the data lacks go to a named graph of their own: the checks query the default
    graph, the data alone, as before; the shapes query both, as pySHACL sees them (SHACL follows
    ``rdfs:subClassOf`` in the data graph, so a shape targeting ``ck:Finding`` reaches a ``ck:BarrierFinding``).
    """

    def __init__(self, data: Triples, ontology: Graph | None = None) -> None:
        self._store = oxigraph.Store()
        self._data = data
        self._graph: Graph | None = None  # the data as a graph, made only for a message that needs one
        self._ontology = ontology
        terms: dict[int, oxigraph.NamedNode | oxigraph.BlankNode] = {}  # by id(): the data keeps them alive
        literals: set[tuple[str, str | None, str | None]] = set()  # typed or tagged, as rdflib has them

        def term(node: Node) -> Any:  # the subject, predicate or object oxigraph.Quad takes
            if isinstance(node, Literal):
                if node.datatype is not None or node.language:
                    literals.add(_literal_key(node))
                return _oxigraph_literal(node)
            known = terms.get(id(node))
            if known is None:
                kind = oxigraph.BlankNode if isinstance(node, BNode) else oxigraph.NamedNode
                known = terms[id(node)] = kind(str(node))
            return known

        self._store.extend(oxigraph.Quad(term(s), term(p), term(o)) for s, p, o in data)
        if ontology is not None:
            self._store.extend(
                oxigraph.Quad(term(s), term(p), term(o), _ONTOLOGY)
                for s, p, o in ontology
                if (s, p, o) not in data
            )
        stored = {
            (row["o"].value, None if row["o"].language else row["o"].datatype.value, row["o"].language)
            for row in self._query(
                "SELECT DISTINCT ?o WHERE { ?s ?p ?o FILTER (isLiteral(?o) && DATATYPE(?o) != "
                f"<{_XSD_STRING}>) }}"
            )
        }
        #: The data's literals that Oxigraph stores as another term: it writes a typed literal in its canonical
        #: form and folds xsd:int and the like into xsd:integer ("1.0"^^xsd:decimal becomes "1"^^xsd:decimal),
        #: which SHACL, comparing terms as written, tells apart.
        self.altered = sorted(literals - stored, key=str)

    def _data_graph(self) -> Graph:
        """The data as a graph, for pySHACL's words of a message (a blank node is shown by its triples): made
        on the first result only, so data that conforms is never copied."""
        if self._graph is None:
            self._graph = as_graph(self._data)
        return self._graph

    def _query(self, query: str, **options: Any) -> list[oxigraph.QuerySolution]:
        """The rows of a SELECT over the data and the ontology."""
        return list(
            self._store.query(  # type: ignore[arg-type]  # a SELECT: solutions
                query, default_graph=[oxigraph.DefaultGraph(), _ONTOLOGY], **options
            )
        )

    def validate(self, compiled: CompiledShapes, shapes: Graph) -> list[Violation]:
        """The results of the compiled ``shapes`` on the data and ontology, as :func:`validate_with_pyshacl`'s.

        :raises ConstraintError: a query failed.
        """
        if self._ontology is None:
            raise ValueError("the shapes need the ontology loaded: Checks(data, ontology)")
        functions: dict[oxigraph.NamedNode, Callable[..., Any]] = {
            oxigraph.NamedNode(iri): _function(test) for iri, test in compiled.functions.items()
        }
        names = _namespaces(shapes.namespaces())

        def rows_of(constraint: Constraint) -> list[oxigraph.QuerySolution]:
            try:
                return self._query(constraint.query, custom_functions=functions)
            except (SyntaxError, OSError, ValueError) as exc:
                raise ConstraintError(f"the query of {constraint.shape} failed: {exc}") from exc

        results = []
        # A query per core: Oxigraph evaluates without Python's lock (the shapes of the 1M project are 101
        # queries, 15.7 s one after the other); the results are made here, in order, from the rows.
        for constraint, rows in zip(
            compiled.constraints, in_parallel(rows_of, compiled.constraints), strict=True
        ):
            for row in rows:
                focus = _rdflib_term(row["focus"])
                value = None if row["value"] is None else _rdflib_term(row["value"])
                results.append(
                    _violation(
                        shapes,
                        names,
                        focus=focus,
                        path=constraint.path,
                        value=value,
                        severity=constraint.severity,
                        shape=constraint.shape,
                        messages=constraint.messages
                        or [Literal(constraint.default_message(self._data_graph(), focus, value))],
                    )
                )
        return sorted(results)

    def run_all(self, checks: Mapping[str, str]) -> list[Violation]:
        """The rows of every check (``checks``: each query by the name :meth:`run` shows), a query per core.

        :raises ConstraintError: a check does not parse or run; the message starts with its name.
        """

        def rows_of(item: tuple[str, str]) -> list[Violation]:
            name, query = item
            try:
                return self.run(query, name)
            except ConstraintError as exc:
                message = f"{name}: {exc}"
            # Raised afresh, past the handler: the error caught holds the frames of `run`, and Oxigraph's
            # solutions there may be dropped only in the thread that made them (pyoxigraph's are unsendable).
            raise ConstraintError(message)

        return [result for found in in_parallel(rows_of, checks.items()) for result in found]

    def run(self, query: str, name: str) -> list[Violation]:
        """The rows of the check ``query``, as violations sorted like :func:`validate`'s.

        :param name: where the check is written (its file), shown in place of the source shape.
        :raises ConstraintError: the query does not parse or run, or is not a SELECT with a ``?focus`` variable.
        """
        try:
            result = self._store.query(query)
        except (SyntaxError, OSError, ValueError) as exc:
            raise ConstraintError(f"the check does not parse or run: {exc}") from exc
        if not isinstance(result, oxigraph.QuerySolutions) or "focus" not in (
            v.value for v in result.variables
        ):
            raise ConstraintError("a check must be a SELECT query with a ?focus variable")
        summary = re.search(r"^#\+ summary:\s*(.+)$", query, flags=re.MULTILINE)
        fallback = summary.group(1).strip() if summary else "the check returned this row"
        names = _namespaces(())
        rank, severity = _SEVERITIES[SH.Violation]

        def shown(row: oxigraph.QuerySolution, variable: str) -> str | None:
            value = row[variable]
            return None if value is None else _show(_rdflib_term(value), names)

        try:
            return sorted(
                Violation(
                    rank=rank,
                    focus_node=shown(row, "focus") or "(none)",
                    path=shown(row, "path"),
                    message=fallback if row["message"] is None else row["message"].value,
                    severity=severity,
                    source_shape=name,
                    value=shown(row, "value"),
                )
                for row in result
            )
        except (OSError, ValueError) as exc:  # an evaluation error surfaces while reading the rows
            raise ConstraintError(f"the check does not parse or run: {exc}") from exc


def check(data: Triples, query: str, name: str) -> list[Violation]:
    """The rows of one check over ``data`` (:meth:`Checks.run`; for several, load the data once with
    :class:`Checks`)."""
    return Checks(data).run(query, name)


def _function(test: Callable[[Node], bool]) -> Callable[[Any], oxigraph.Literal]:
    """A compiled shape's test of a value, as an Oxigraph custom function: Oxigraph's term in, a boolean out."""
    return lambda value: oxigraph.Literal(test(_rdflib_term(value)))


def _literal_key(node: Literal) -> tuple[str, str | None, str | None]:
    return str(node), None if node.datatype is None else str(node.datatype), node.language


def _oxigraph_literal(node: Literal) -> oxigraph.Literal:
    if node.language:
        return oxigraph.Literal(str(node), language=node.language)
    if node.datatype is None:
        return oxigraph.Literal(str(node))
    return oxigraph.Literal(str(node), datatype=oxigraph.NamedNode(str(node.datatype)))


def _rdflib_term(node: oxigraph.NamedNode | oxigraph.BlankNode | oxigraph.Literal) -> Node:
    if isinstance(node, oxigraph.NamedNode):
        return URIRef(node.value)
    if isinstance(node, oxigraph.BlankNode):
        return BNode(node.value)
    if node.language:
        return Literal(node.value, lang=node.language)
    if node.datatype.value == _XSD_STRING:  # rdflib's plain literal, as the data has it
        return Literal(node.value)
    return Literal(node.value, datatype=URIRef(node.datatype.value))


def _namespaces(extra: Iterable[tuple[str, str]]) -> NamespaceManager:
    """Our prefixes, plus ``extra`` ones (the shapes file's, so its shape names read as written)."""
    names = NamespaceManager(Graph(), bind_namespaces="none")
    for prefix, iri in extra:
        names.bind(prefix, iri, override=False)
    for prefix, iri in PREFIXES.items():
        names.bind(prefix, iri, override=True, replace=True)
    return names


def _violation(
    graph: Graph,
    names: NamespaceManager,
    *,
    focus: Node | None,
    path: Node | None,
    value: Node | None,
    severity: Node | None,
    shape: Node | None,
    messages: Iterable[Node],
) -> Violation:
    """One validation result for people, however it was found: ``graph`` holds the shapes (blank paths and
    property shapes are shown by what it says of them)."""
    rank, severity_name = _SEVERITIES[
        severity if isinstance(severity, URIRef) and severity in _SEVERITIES else SH.Violation
    ]
    return Violation(
        rank=rank,
        focus_node=_show(focus, names),
        path=None if path is None else path_text(path, graph, lambda node: _show(node, names)),
        message=_message(messages),
        severity=severity_name,
        source_shape=_show_shape(shape, graph, names),
        value=None if value is None else _show(value, names),
    )


def _message(messages: Iterable[Node]) -> str:
    """The English (or untagged) message when there are several (pySHACL writes one if the shape has none)."""
    found = sorted(
        (m for m in messages if isinstance(m, Literal)),
        key=lambda m: (m.language not in (None, "en"), m),
    )
    return str(found[0]) if found else "(no message)"


def _show(node: Node | None, names: NamespaceManager) -> str:
    if node is None:
        return "(none)"
    if isinstance(node, BNode):
        return "[]"
    return node.n3(names)


def _show_shape(shape: Node | None, graph: Graph, names: NamespaceManager) -> str:
    """A named shape by its name; a blank property shape as ``NodeShape property path`` (where it is)."""
    if not isinstance(shape, BNode):
        return _show(shape, names)
    parent = graph.value(predicate=SH.property, object=shape)
    path = graph.value(shape, SH.path)
    where = "property" if parent is None else f"{_show(parent, names)} property"
    return where if path is None else f"{where} {path_text(path, graph, lambda node: _show(node, names))}"
