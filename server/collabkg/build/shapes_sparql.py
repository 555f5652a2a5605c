"""SHACL shapes compiled to SPARQL SELECT queries, to validate the data on Oxigraph instead of with pySHACL.

pySHACL walks the data a focus node at a time in Python (76 s of a 633 s build at 1M triples, its memory growing
with the data). Compiled, each constraint of a shape is one query over all its focus nodes at once, run by
Oxigraph on the store the checks load anyway (:class:`.validation.Checks`); each row is a validation result, the
same that pySHACL reports: tests/test_shapes_sparql.py holds the two to the same violations.

What compiles is SHACL Core as ``ontology/shapes.ttl`` uses it: node and property shapes with ``sh:targetClass``
(and implicit class targets), ``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``; ``sh:property``
on node shapes; any ``sh:path``; ``sh:minCount``, ``sh:maxCount``, ``sh:class``, ``sh:datatype``, ``sh:in``,
``sh:minLength``, ``sh:pattern`` (with ``sh:flags``), ``sh:nodeKind``, ``sh:minInclusive``, ``sh:or`` (of such
shapes); ``sh:message``, ``sh:severity``, ``sh:deactivated``. Any other SHACL term in the shapes graph (SPARQL
constraints, rules, ``sh:node``, ``sh:not``...) raises :class:`Unsupported`, and the caller validates with pySHACL
instead: no shape is ever checked in part.

Where SPARQL and pySHACL judge a value differently, the query asks Python (an Oxigraph custom function): a
pattern is Python's ``re`` as pySHACL compiles it (SPARQL's ``REGEX`` is XPath's), an ill-typed literal is one
rdflib finds ill-typed, ``sh:minInclusive`` compares as pySHACL's ``compare_literal`` does. The messages of shapes
without ``sh:message`` are pySHACL's words, rendered with its ``stringify_node``.

Oxigraph does not keep every literal as written: it stores a typed literal in its canonical form (``"1.0"^^xsd:decimal``
as ``"1"``), ``xsd:int`` and the like as ``xsd:integer``, language tags in lower case, and ``"x"^^xsd:string`` as
``"x"``, where SHACL (and rdflib) compare terms as written. :class:`.validation.Checks` finds such literals as it
loads the data (``Checks.altered``), and :func:`.validation.validate` then lets pySHACL validate.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pyshacl.rdfutil import stringify_node
from pyshacl.rdfutil.compare import compare_literal
from rdflib import RDF, RDFS, SH, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

__all__ = ["CompiledShapes", "Constraint", "Unsupported", "compile_shapes", "path_text"]

#: SHACL's one-argument path forms, as SPARQL writes them.
_UNARY_PATHS = (
    (SH.inversePath, "^{}"),
    (SH.zeroOrMorePath, "{}*"),
    (SH.oneOrMorePath, "{}+"),
    (SH.zeroOrOnePath, "{}?"),
)
#: The SHACL terms a shapes graph may use as predicates and still compile; any other sends it to pySHACL.
_COMPILED = frozenset(
    {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.property, SH.path}
    | {p for p, _ in _UNARY_PATHS}
    | {SH.alternativePath, SH.minCount, SH.maxCount, SH["class"], SH.datatype, SH["in"], SH.minLength}
    | {SH.pattern, SH.flags, SH.nodeKind, SH.minInclusive, SH["or"], SH.message, SH.severity, SH.deactivated}
    | {SH.name, SH.description, SH.order, SH.group, SH.defaultValue}  # non-validating
)
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
#: What each sh:nodeKind excludes, as a SPARQL test of ``{}``.
_NODE_KINDS = {
    SH.IRI: "!isIRI({})",
    SH.BlankNode: "!isBlank({})",
    SH.Literal: "!isLiteral({})",
    SH.BlankNodeOrIRI: "isLiteral({})",
    SH.BlankNodeOrLiteral: "isIRI({})",
    SH.IRIOrLiteral: "isBlank({})",
}
#: Count constraints inside sh:or are written as that many distinct values: up to this many.
_MAX_NESTED_COUNT = 4
#: SPARQL's IRIREF: what may stand between ``<`` and ``>``.
_IRI = re.compile(r'[^<>"{}|^`\\\x00-\x20]*')
_LANGUAGE = re.compile(r"[a-zA-Z]+(-[a-zA-Z0-9]+)*")
_FUNCTION = "urn:collabkg:shacl:"
#: pySHACL's default message of a constraint: (data graph, focus node, value node or None) → text.
Message = Callable[[Graph, Node, Node | None], str]


class Unsupported(Exception):
    """The shapes use something the compiler does not: the message says what; pySHACL validates instead."""


@dataclass(frozen=True)
class Constraint:
    """One constraint of one shape as a SELECT query: each row a validation result, the focus node ``?focus``
    and, unless the constraint counts values, the offending value ``?value``."""

    #: The shape with the constraint, as pySHACL's results name it (sh:sourceShape).
    shape: Node
    #: Its sh:path, or None for a node shape.
    path: Node | None
    severity: Node
    #: The shape's sh:message values; when there are none, :attr:`default_message` says it.
    messages: tuple[Node, ...]
    default_message: Message
    query: str


@dataclass(frozen=True)
class CompiledShapes:
    """The constraints of a shapes graph, and the Python tests their queries call (by IRI)."""

    constraints: list[Constraint]
    #: Custom SPARQL functions: IRI → test of one value (an rdflib term) that is True when the value fails.
    functions: dict[str, Callable[[Node], bool]]


def compile_shapes(shapes: Graph) -> CompiledShapes:
    """The constraints of every shape of ``shapes`` that has targets, as queries.

    :raises Unsupported: the shapes use a SHACL feature not compiled, or use one in a way pySHACL refuses
        (pySHACL then says why).
    """
    unsupported = sorted(
        predicate.n3(shapes.namespace_manager)
        for predicate in set(shapes.predicates())
        if isinstance(predicate, URIRef) and predicate.startswith(str(SH)) and predicate not in _COMPILED
    )
    if unsupported:
        raise Unsupported(
            f"{', '.join(unsupported)} {'is' if len(unsupported) == 1 else 'are'} not compiled to SPARQL"
        )
    compiler = _Compiler(shapes)
    constraints = [c for shape in _targeted(shapes) for c in compiler.shape(shape)]
    return CompiledShapes(constraints, compiler.functions)


def path_text(path: Node, graph: Graph, show: Callable[[Node], str], *, grouped: bool = False) -> str:
    """A SHACL property path in SPARQL property-path syntax (``^p``, ``p/q``, ``(p|q)``, ``p*``), its IRIs written
    by ``show``; ``grouped`` puts what an operator applies to in parentheses unless it is an IRI (as SPARQL needs
    for ``^(p/q)``; people read ``^p/q`` well enough)."""

    def operand(inner: Node) -> str:
        text = path_text(inner, graph, show, grouped=grouped)
        return f"({text})" if grouped and not isinstance(inner, URIRef) else text

    if isinstance(path, URIRef):
        return show(path)
    if graph.value(path, RDF.first) is not None:
        return "/".join(operand(step) for step in Collection(graph, path))
    for key, template in _UNARY_PATHS:
        inner = graph.value(path, key)
        if inner is not None:
            return template.format(operand(inner))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(operand(p) for p in Collection(graph, alternatives)) + ")"
    return show(path)


def _targeted(shapes: Graph) -> list[Node]:
    """The shapes that pySHACL validates on their own: those with a target, explicit or implicit."""
    classes = {RDFS.Class, *shapes.transitive_subjects(RDFS.subClassOf, RDFS.Class)}
    kinds = {SH.NodeShape, SH.PropertyShape}
    found = {s for target in _TARGETS for s in shapes.subjects(target, None)}
    found |= {
        s
        for s in shapes.subjects(RDF.type, None)
        if classes & set(shapes.objects(s, RDF.type)) and kinds & set(shapes.objects(s, RDF.type))
    }
    return sorted(found, key=str)


def _iri(node: Node) -> str:
    """An IRI of the shapes written into SPARQL; anything SPARQL's grammar would not read as one is refused."""
    if not isinstance(node, URIRef) or not _IRI.fullmatch(node):
        raise Unsupported(f"{node!r} cannot be written into SPARQL as an IRI")
    return f"<{node}>"


def _term(node: Node) -> str:
    """An IRI or literal of the shapes written into SPARQL (a blank node cannot be: it would be a variable)."""
    if not isinstance(node, Literal):
        return _iri(node)
    text = str(node)
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(char, escaped)
    if node.language:
        if not _LANGUAGE.fullmatch(node.language):
            raise Unsupported(f"{node!r} has a language tag SPARQL cannot read")
        return f'"{text}"@{node.language}'
    return f'"{text}"' if node.datatype is None else f'"{text}"^^{_iri(node.datatype)}'


def _show(graph: Graph, node: Node) -> str:
    """A node as pySHACL's messages write it (a node missing from the graph as its text, as pySHACL does)."""
    try:
        return stringify_node(graph, node)
    except (LookupError, ValueError):
        return str(node)


def _count(node: Node | None, parameter: str) -> int:
    if not (isinstance(node, Literal) and isinstance(node.value, int) and node.value >= 0):
        raise Unsupported(f"sh:{parameter} {node!r} is not a non-negative integer")
    return node.value


class _Compiler:
    """The queries of one shapes graph; fresh variables and the Python tests are numbered as they are made."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.functions: dict[str, Callable[[Node], bool]] = {}
        self._numbers = itertools.count()

    def _variable(self) -> str:
        return f"?v{next(self._numbers)}"

    def _function(self, test: Callable[[Node], bool]) -> str:
        iri = f"{_FUNCTION}{len(self.functions)}"
        self.functions[iri] = test
        return f"<{iri}>"

    def _one(self, shape: Node, parameter: URIRef) -> Node | None:
        values = list(self.shapes.objects(shape, parameter))
        if len(values) > 1:
            raise Unsupported(f"{_show(self.shapes, shape)} has {len(values)} values of {parameter}")
        return values[0] if values else None

    def _path(self, shape: Node) -> str | None:
        path = self._one(shape, SH.path)
        return None if path is None else path_text(path, self.shapes, _iri, grouped=True)

    def _active(self, shape: Node) -> bool:
        deactivated = self._one(shape, SH.deactivated)
        return not (isinstance(deactivated, Literal) and bool(deactivated.value))

    def _focus(self, shape: Node) -> str:
        """A group pattern binding ``?focus`` to each focus node of ``shape`` (some more than once)."""
        parts = [
            f"?focus a/<{RDFS.subClassOf}>* {_iri(c)}" for c in self.shapes.objects(shape, SH.targetClass)
        ]
        if shape in set(_targeted(self.shapes)) - {
            s for t in _TARGETS for s in self.shapes.subjects(t, None)
        }:
            parts.append(f"?focus a/<{RDFS.subClassOf}>* {_iri(shape)}")  # an implicit class target
        parts += [f"VALUES ?focus {{ {_term(n)} }}" for n in self.shapes.objects(shape, SH.targetNode)]
        parts += [
            f"?focus {_iri(p)} {self._variable()}" for p in self.shapes.objects(shape, SH.targetSubjectsOf)
        ]
        parts += [
            f"{self._variable()} {_iri(p)} ?focus" for p in self.shapes.objects(shape, SH.targetObjectsOf)
        ]
        return " UNION ".join(f"{{ {part} }}" for part in parts)

    def shape(self, shape: Node) -> Iterator[Constraint]:
        """The constraints of a targeted shape and of its property shapes, on its focus nodes."""
        if not self._active(shape):
            return
        focus = self._focus(shape)
        yield from self._constraints(shape, focus)
        for child in self._properties(shape):
            yield from self._constraints(child, focus)

    def _properties(self, shape: Node) -> list[Node]:
        """The active property shapes of a node shape (a property shape's own are not compiled)."""
        children = list(self.shapes.objects(shape, SH.property))
        if children and self._one(shape, SH.path) is not None:
            raise Unsupported(f"{_show(self.shapes, shape)}: sh:property of a property shape is not compiled")
        for child in children:
            if self._one(child, SH.path) is None:
                raise Unsupported(f"{_show(self.shapes, child)}: a property shape without sh:path")
        return [child for child in children if self._active(child)]

    def _constraints(self, shape: Node, focus: str) -> Iterator[Constraint]:
        """One query per constraint of ``shape`` (not of its property shapes), over the focus nodes ``focus``."""
        if not self._active(shape):
            return
        path_node = self._one(shape, SH.path)
        path = self._path(shape)
        severity = self._one(shape, SH.severity) or SH.Violation
        messages = tuple(self.shapes.objects(shape, SH.message))

        def constraint(default_message: Message, query: str) -> Constraint:
            return Constraint(shape, path_node, severity, messages, default_message, query)

        values = f"?focus {path} ?value ." if path else "BIND (?focus AS ?value)"
        for minimum, maximum in self._counts(shape):
            assert path_node is not None  # _counts refuses counts on a node shape
            if minimum:
                yield constraint(
                    self._count_message("Less than", minimum, path_node),
                    f"SELECT ?focus WHERE {{ {{ {focus} }} OPTIONAL {{ ?focus {path} ?value }} }} "
                    f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?value) < {minimum})",
                )
            if maximum is not None:
                yield constraint(
                    self._count_message("More than", maximum, path_node),
                    f"SELECT ?focus WHERE {{ {{ {focus} }} ?focus {path} ?value }} "
                    f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?value) > {maximum})",
                )
        for test, default_message in self._value_tests(shape):
            yield constraint(
                default_message,
                f"SELECT DISTINCT ?focus ?value WHERE {{ {{ {focus} }} {values} FILTER ({test('?value')}) }}",
            )

    def _counts(self, shape: Node) -> list[tuple[int, int | None]]:
        """The shape's sh:minCount and sh:maxCount (0 and None when absent), if it has either."""
        minimum, maximum = self._one(shape, SH.minCount), self._one(shape, SH.maxCount)
        if minimum is None and maximum is None:
            return []
        if self._one(shape, SH.path) is None:
            raise Unsupported(f"{_show(self.shapes, shape)}: sh:minCount or sh:maxCount on a node shape")
        return [
            (
                0 if minimum is None else _count(minimum, "minCount"),
                None if maximum is None else _count(maximum, "maxCount"),
            )
        ]

    def _count_message(self, words: str, count: int, path: Node) -> Message:
        shapes = self.shapes
        return lambda data, focus, value: (
            f"{words} {count} values on {_show(data, focus)}->{_show(shapes, path)}"
        )

    def _value_tests(self, shape: Node) -> Iterator[tuple[Callable[[str], str], Message]]:
        """Each constraint of ``shape`` on its value nodes one by one: a SPARQL test, true of a value that fails
        it (``test(variable)``), and its default message."""
        shapes = self.shapes
        classes = list(shapes.objects(shape, SH["class"]))
        for cls in classes:
            subclass = f"a/<{RDFS.subClassOf}>* {_iri(cls)}"
            shown = ", ".join(_show(shapes, c) for c in classes)
            message = (
                f"Value does not have class {shown}"
                if len(classes) == 1
                else f"Value class is not in classes ({shown})"
            )
            yield self._not_instance(subclass), self._fixed(message)
        datatype = self._one(shape, SH.datatype)
        if datatype is not None:
            yield (
                self._datatype(datatype),
                self._fixed(f"Value is not Literal with datatype {_show(shapes, datatype)}"),
            )
        kind = self._one(shape, SH.nodeKind)
        if kind is not None:
            if not isinstance(kind, URIRef) or kind not in _NODE_KINDS:
                raise Unsupported(f"sh:nodeKind {kind!r}")
            yield (
                _NODE_KINDS[kind].format,
                self._fixed(f"Value is not of Node Kind {_show(shapes, kind)}"),
            )
        allowed = self._one(shape, SH["in"])
        if allowed is not None:
            yield self._in(allowed)
        length = self._one(shape, SH.minLength)
        if length is not None:
            n = _count(length, "minLength")
            if n:
                yield (
                    lambda v: f"(isBlank({v}) || STRLEN(STR({v})) < {n})",
                    lambda data, focus, value: f"String length not >= {_show(data, length)}",
                )
        pattern = self._one(shape, SH.pattern)
        if pattern is not None:
            yield self._pattern(shape, pattern)
        minimum = self._one(shape, SH.minInclusive)
        if minimum is not None:
            yield self._min_inclusive(minimum)
        alternatives = self._one(shape, SH["or"])
        if alternatives is not None:
            yield self._or(alternatives)

    @staticmethod
    def _fixed(message: str) -> Message:
        return lambda data, focus, value: message

    def _datatype(self, datatype: Node) -> Callable[[str], str]:
        """sh:datatype as pySHACL checks it: a literal of that datatype that rdflib does not find ill-typed."""
        if datatype == RDFS.Literal:
            return "!isLiteral({})".format
        if datatype == RDFS.Datatype:  # true of "x"^^xsd:string, false of "x" in rdflib: one term in Oxigraph
            raise Unsupported("sh:datatype rdfs:Datatype is not compiled")
        ill_typed = self._function(lambda v: isinstance(v, Literal) and v.ill_typed is True)
        return lambda v: f"!(isLiteral({v}) && DATATYPE({v}) = {_iri(datatype)} && !{ill_typed}({v}))"

    def _in(self, allowed: Node) -> tuple[Callable[[str], str], Message]:
        members = list(self.shapes.items(allowed))
        if any(isinstance(m, BNode) for m in members):
            raise Unsupported("a blank node in sh:in")
        listed = " || ".join(f"sameTerm({{0}}, {_term(m)})" for m in members) or "false"
        in_values: set[Node] = set()
        for member in members:  # added one by one as pySHACL does: its message lists them in the set's order
            in_values.add(member)
        shown = [_show(self.shapes, m) for m in in_values]
        return (
            lambda v: f"!({listed.format(v)})",
            lambda data, focus, value: f"Value {stringify_node(data, value)} not in list {shown}",
        )

    def _pattern(self, shape: Node, pattern: Node) -> tuple[Callable[[str], str], Message]:
        """sh:pattern as pySHACL matches it: Python's ``re.search``, only the flags ``i`` and ``m``."""
        flags_node = next(iter(self.shapes.objects(shape, SH.flags)), None)
        flags = str(flags_node).lower() if flags_node is not None else ""
        try:
            regex = re.compile(str(pattern), (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0))
        except re.error as exc:
            raise Unsupported(f"sh:pattern {pattern!r}: {exc}") from exc
        mismatch = self._function(lambda v: isinstance(v, BNode) or not regex.search(str(v)))
        shown = str(pattern.value if isinstance(pattern, Literal) else pattern)
        return (lambda v: f"{mismatch}({v})"), self._fixed(f"Value does not match pattern '{shown}'")

    def _min_inclusive(self, minimum: Node) -> tuple[Callable[[str], str], Message]:
        """sh:minInclusive as pySHACL compares: only literals, strings with strings, by ``compare_literal``."""
        if not isinstance(minimum, Literal):
            raise Unsupported(f"sh:minInclusive {minimum!r} is not a literal")

        def below(v: Node) -> bool:
            if not isinstance(v, Literal) or isinstance(v.value, str) != isinstance(minimum.value, str):
                return True
            try:
                return bool(compare_literal(v, minimum) < 0)
            except (TypeError, NotImplementedError):
                return True

        function = self._function(below)
        return (lambda v: f"{function}({v})"), self._fixed(f"Value is not >= {_show(self.shapes, minimum)}")

    def _or(self, alternatives: Node) -> tuple[Callable[[str], str], Message]:
        """sh:or: a value fails when it fails every shape of the list (each with all its constraints)."""
        members = list(self.shapes.items(alternatives))
        if not members or any(isinstance(m, Literal) for m in members):
            raise Unsupported("sh:or is not a list of shapes")
        listed = " , ".join(stringify_node(self.shapes, m) for m in members)
        tests = [self._fails(member) for member in members]
        return (
            lambda v: "(" + " && ".join(test(v) for test in tests) + ")",
            lambda data, focus, value: (
                f"Node {_show(data, value)} must conform to one or more shapes in {listed}"
            ),
        )

    def _fails(self, shape: Node) -> Callable[[str], str]:
        """A SPARQL test, true of a node that does not conform to ``shape`` (its targets aside): the node is the
        focus node, and any constraint of the shape or of its property shapes has a result."""
        if not self._active(shape):
            return lambda x: "false"
        path = self._path(shape)
        tests: list[Callable[[str], str]] = []
        for minimum, maximum in self._counts(shape):
            if minimum:
                tests.append(self._count_test("NOT EXISTS", path, minimum))
            if maximum is not None:
                tests.append(self._count_test("EXISTS", path, maximum + 1))
        for test, _ in self._value_tests(shape):
            tests.append(test if path is None else self._some_value(path, test))
        tests += [self._fails(child) for child in self._properties(shape)]
        return lambda x: "(" + " || ".join(test(x) for test in tests) + ")" if tests else "false"

    @staticmethod
    def _not_instance(subclass: str) -> Callable[[str], str]:
        return lambda v: f"NOT EXISTS {{ {v} {subclass} }}"

    def _count_test(self, exists: str, path: str | None, n: int) -> Callable[[str], str]:
        """A test of ``n`` distinct values of ``path``: ``EXISTS`` them, or ``NOT EXISTS``."""
        return lambda x: f"{exists} {{ {self._distinct(x, path, n)} }}"

    def _some_value(self, path: str, test: Callable[[str], str]) -> Callable[[str], str]:
        """A test true of a node that has a value of ``path`` of which ``test`` is true."""
        value = self._variable()
        return lambda x: f"EXISTS {{ {x} {path} {value} FILTER ({test(value)}) }}"

    def _distinct(self, node: str, path: str | None, n: int) -> str:
        """A group pattern that matches when ``node`` has at least ``n`` distinct values of ``path``."""
        if n > _MAX_NESTED_COUNT:
            raise Unsupported(f"a count above {_MAX_NESTED_COUNT - 1} inside sh:or is not compiled")
        values = [self._variable() for _ in range(n)]
        pairs = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(values, 2)]
        return " . ".join(f"{node} {path} {v}" for v in values) + (
            f" FILTER ({' && '.join(pairs)})" if pairs else ""
        )
