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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as oxigraph
import pyshacl
from pyshacl.errors import ReportableRuntimeError
from rdflib import RDF, SH, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.graph import ReadOnlyGraphAggregate
from rdflib.namespace import NamespaceManager
from rdflib.term import Node

from ..namespaces import PREFIXES

__all__ = ["Checks", "ConstraintError", "Violation", "check", "validate"]

_logger = logging.getLogger(__name__)

#: Each severity's rank (results are listed most severe first) and name.
_SEVERITIES = {SH.Violation: (0, "Violation"), SH.Warning: (1, "Warning"), SH.Info: (2, "Info")}
_XSD_STRING = str(XSD.string)
#: SHACL's one-argument path forms, as SPARQL writes them.
_UNARY_PATHS = (
    (SH.inversePath, "^{}"),
    (SH.zeroOrMorePath, "{}*"),
    (SH.oneOrMorePath, "{}+"),
    (SH.zeroOrOnePath, "{}?"),
)


class ConstraintError(ValueError):
    """A shape or a check cannot be used: a malformed shape, or a SPARQL constraint or check that fails."""


@dataclass(frozen=True, order=True)
class Violation:
    """One SHACL validation result, rendered for people: IRIs as prefixed names, paths in SPARQL syntax.

    Violations sort most severe first, then by focus node, path and message.
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

    def __str__(self) -> str:
        line = f"{self.focus_node} {self.path or '(node)'}: {self.message}"
        if self.value not in (None, self.focus_node) and self.value not in self.message:
            line += f" (value {self.value})"
        line += f" [{self.source_shape}]"
        return line if self.severity == "Violation" else f"{self.severity}: {line}"


def validate(
    data: Graph,
    shapes: Graph,
    ontology: Graph,
    *,
    on_warning: Callable[[str], None] = _logger.warning,
) -> list[Violation]:
    """Every result of validating ``data`` against ``shapes``, most severe first, then by focus node and path.

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
        _violation(lookup, result, names) for result in report.subjects(RDF.type, SH.ValidationResult)
    )


class Checks:
    """The data loaded once into an Oxigraph store, to run any number of checks on.

    Oxigraph's SPARQL engine (Rust) runs the checks several times faster than rdflib's, most of its time
    loading the store (bench/RESULTS.md); the results are the same rows (tests/test_checks.py).
    """

    def __init__(self, data: Graph) -> None:
        self._store = oxigraph.Store()
        terms: dict[int, oxigraph.NamedNode | oxigraph.BlankNode] = {}  # by id(): the graph keeps them alive

        def term(node: Node) -> Any:  # the subject, predicate or object oxigraph.Quad takes
            if isinstance(node, Literal):
                if node.language:
                    return oxigraph.Literal(str(node), language=node.language)
                if node.datatype is None:
                    return oxigraph.Literal(str(node))
                return oxigraph.Literal(str(node), datatype=oxigraph.NamedNode(str(node.datatype)))
            known = terms.get(id(node))
            if known is None:
                kind = oxigraph.BlankNode if isinstance(node, BNode) else oxigraph.NamedNode
                known = terms[id(node)] = kind(str(node))
            return known

        self._store.extend(oxigraph.Quad(term(s), term(p), term(o)) for s, p, o in data)

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


def check(data: Graph, query: str, name: str) -> list[Violation]:
    """The rows of one check over ``data`` (:meth:`Checks.run`; for several, load the data once with
    :class:`Checks`)."""
    return Checks(data).run(query, name)


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


def _violation(graph: Graph, result: Node, names: NamespaceManager) -> Violation:
    path = graph.value(result, SH.resultPath)
    value = graph.value(result, SH.value)
    level = graph.value(result, SH.resultSeverity)
    rank, severity = _SEVERITIES[
        level if isinstance(level, URIRef) and level in _SEVERITIES else SH.Violation
    ]
    return Violation(
        rank=rank,
        focus_node=_show(graph.value(result, SH.focusNode), names),
        path=None if path is None else _show_path(path, graph, names),
        message=_message(graph, result),
        severity=severity,
        source_shape=_show_shape(graph.value(result, SH.sourceShape), graph, names),
        value=None if value is None else _show(value, names),
    )


def _message(report: Graph, result: Node) -> str:
    """The English (or untagged) message when there are several (pySHACL writes one if the shape has none)."""
    messages = sorted(
        (m for m in report.objects(result, SH.resultMessage) if isinstance(m, Literal)),
        key=lambda m: (m.language not in (None, "en"), m),
    )
    return str(messages[0]) if messages else "(no message)"


def _show(node: Node | None, names: NamespaceManager) -> str:
    if node is None:
        return "(none)"
    if isinstance(node, BNode):
        return "[]"
    return node.n3(names)


def _show_path(path: Node, graph: Graph, names: NamespaceManager) -> str:
    """A SHACL property path in SPARQL property-path syntax (``^p``, ``p/q``, ``(p|q)``, ``p*``)."""
    if isinstance(path, URIRef):
        return _show(path, names)
    if graph.value(path, RDF.first) is not None:
        return "/".join(_show_path(step, graph, names) for step in Collection(graph, path))
    for key, template in _UNARY_PATHS:
        inner = graph.value(path, key)
        if inner is not None:
            return template.format(_show_path(inner, graph, names))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_show_path(p, graph, names) for p in Collection(graph, alternatives)) + ")"
    return _show(path, names)


def _show_shape(shape: Node | None, graph: Graph, names: NamespaceManager) -> str:
    """A named shape by its name; a blank property shape as ``NodeShape property path`` (where it is)."""
    if not isinstance(shape, BNode):
        return _show(shape, names)
    parent = graph.value(predicate=SH.property, object=shape)
    path = graph.value(shape, SH.path)
    where = "property" if parent is None else f"{_show(parent, names)} property"
    return where if path is None else f"{where} {_show_path(path, graph, names)}"
