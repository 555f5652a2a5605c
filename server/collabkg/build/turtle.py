"""Turtle documents as rdflib graphs, read by Oxigraph's parser, and where a document that does not parse is wrong.

Oxigraph's parser is the build's (rdflib's own would be most of a large build's time, bench/RESULTS.md), and it
is the one whose verdict matters: the served store is Oxigraph, which must read back what the build writes.
Its errors carry the line and column where it stopped, which is not always where the fault is: a long string
(``\"\"\"``) left open runs on to the next long string's opening quotes, wherever that is, and the parser stops
only after it; a missing dot is noticed at the next statement. :func:`locate` names the fault's place.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

import pyoxigraph as oxigraph
from rdflib import XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

__all__ = ["Triple", "Triples", "TurtleSyntaxError", "as_graph", "locate", "parse_turtle", "read_turtle"]

#: A triple of rdflib terms, as the build holds a data file's.
Triple = tuple[Node, Node, Node]
#: Triples as the build holds them: an rdflib graph, or, for the data (a million triples and more), a set of
#: them, which takes a twentieth of a graph's memory (a graph indexes each triple three ways).
Triples = Graph | Collection[Triple]


def as_graph(triples: Triples) -> Graph:
    """``triples`` as an rdflib graph, for the libraries that need one (pySHACL, owlrl): itself if it is one."""
    if isinstance(triples, Graph):
        return triples
    graph = Graph()
    graph.addN((s, p, o, graph) for s, p, o in triples)
    return graph


#: rdflib's plain literals are RDF 1.1's xsd:string ones (:func:`parse_turtle`).
_XSD_STRING = str(XSD.string)
#: Oxigraph's message names the position itself ("Parser error at line 3 column 5: ..."); the build says
#: ``file:line:column:`` instead.
_POSITION = re.compile(r"^Parser error (?:at|between) [^:]*: ")
#: The tokens of Turtle that may hold a quote, a ``#`` or a line break which is not one: comments, IRIs and the
#: four kinds of string (the grammar's STRING_LITERAL_LONG_QUOTE and the others, escapes included).
_TOKEN = re.compile(
    r"""\#[^\n]*
      | <[^<>"{}|^`\\\x00-\x20]*>
      | (?P<long>\"\"\"(?:"{0,2}(?:[^"\\]|\\.))*\"\"\" | '''(?:'{0,2}(?:[^'\\]|\\.))*''')
      | "(?:[^"\\\n]|\\.)*" | '(?:[^'\\\n]|\\.)*'
    """,
    re.VERBOSE | re.DOTALL,
)
#: A line that ends a Turtle statement or a part of one (`` ;``, `` .``, `` ,``): text a long string swallowed.
_STATEMENT_END = re.compile(r"\s[.;,]\s*$", re.MULTILINE)
#: Between a string and the fault: nothing but white space and comments.
_GAP = re.compile(r"(?:\s|#[^\n]*)*")
#: Oxigraph's messages for a statement without its final dot ("A dot is expected at the end of statements",
#: "Triples should be followed by a dot").
_MISSING_DOT = re.compile(r"\bdot\b")


class TurtleSyntaxError(ValueError):
    """A Turtle document that does not parse: what is wrong, and where (1-based line and column, in characters;
    ``None`` when the fault has no one place)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message, self.line, self.column = message, line, column
        super().__init__(message if line is None else f"{line}:{column}: {message}")


def parse_turtle(content: bytes, base_iri: str, *, terms: dict[str, Node] | None = None) -> Graph:
    """A Turtle document as an rdflib graph (:func:`read_turtle`'s triples, with the document's prefixes bound:
    the shapes, and the reports about them, are shown with these prefixes, as rdflib's parser would).

    :raises TurtleSyntaxError: the document does not parse, or holds an RDF 1.2 triple term (rdflib has none).
    """
    triples, prefixes = read_turtle(content, base_iri, terms=terms)
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    for prefix, iri in prefixes.items():
        graph.bind(prefix, iri)
    return graph


def read_turtle(
    content: bytes, base_iri: str, *, terms: dict[str, Node] | None = None
) -> tuple[list[Triple], dict[str, str]]:
    """A Turtle document's triples as rdflib terms, and the prefixes it declares; read to the end before
    anything is returned, so that a document that does not parse leaves nothing behind.

    The build keeps each data file's triples as they come from here (a set: it only iterates them and asks
    whether one is there) and one rdflib graph of their union: a graph per file as well held every data
    triple twice in rdflib's indexes, at about a kilobyte a triple.

    Each IRI and blank node becomes one rdflib term object shared by all its occurrences, which the reasoner's
    indexes then compare by identity. A blank node's label depends only on the document, and on the documents
    read before it with the same ``terms``. RDF 1.1 makes ``"a"`` and ``"a"^^xsd:string`` one literal while rdflib
    keeps them apart; both come out as rdflib's plain ``"a"``, which is what rdflib's parser gives for the
    usual spelling.

    :param terms: the rdflib term of each IRI (and renamed blank node) read so far; share one between the
        documents of a build so that an IRI is one object in all of them.
    :raises TurtleSyntaxError: the document does not parse, or holds an RDF 1.2 triple term (rdflib has none).
    """
    known = {} if terms is None else terms
    datatypes: dict[str, URIRef] = {}
    # Oxigraph renames blank nodes apart at random; their labels here are the same for the same documents, so
    # that the build writes the same bytes each time: the document's hash (blank nodes of two documents are
    # apart) and a count (those of one document are, and documents that share ``terms`` too).
    document = hashlib.sha256(content).hexdigest()[:8]

    def term(node: oxigraph.NamedNode | oxigraph.BlankNode | oxigraph.Literal | oxigraph.Triple) -> Node:
        if isinstance(node, oxigraph.Literal):
            if node.language:
                return Literal(node.value, lang=node.language)
            datatype = node.datatype.value
            if datatype == _XSD_STRING:
                return Literal(node.value)
            if datatype not in datatypes:
                datatypes[datatype] = URIRef(datatype)
            return Literal(node.value, datatype=datatypes[datatype])
        if isinstance(node, oxigraph.Triple):
            raise TurtleSyntaxError(f"an RDF 1.2 triple term, {node}, which rdflib cannot hold")
        # Blank nodes are keyed as written in N-Triples, which no IRI can be (an IRI's scheme has no "_").
        key = node.value if isinstance(node, oxigraph.NamedNode) else f"_:{node.value}"
        found = known.get(key)
        if found is None:
            found = known[key] = (
                URIRef(node.value)
                if isinstance(node, oxigraph.NamedNode)
                else BNode(f"b{document}x{len(known)}")
            )
        return found

    quads = oxigraph.parse(content, oxigraph.RdfFormat.TURTLE, base_iri=base_iri, rename_blank_nodes=True)
    try:
        triples = [(term(quad.subject), term(quad.predicate), term(quad.object)) for quad in quads]
    except SyntaxError as exc:
        raise locate(exc, content.decode("utf-8", errors="replace")) from exc
    return triples, dict(quads.prefixes)


@dataclass(frozen=True)
class _Position:
    """A place in a text: its line and column, from 1 (in characters, as Oxigraph counts them)."""

    line: int
    column: int

    @classmethod
    def at(cls, text: str, offset: int) -> _Position:
        """The place of the character at ``offset`` (from 0)."""
        line_start = text.rfind("\n", 0, offset) + 1
        return cls(text.count("\n", 0, offset) + 1, offset - line_start + 1)


def locate(error: SyntaxError, text: str) -> TurtleSyntaxError:
    """Oxigraph's parse error in ``text``, said where the fault is.

    That is where Oxigraph stopped, but in four cases:

    * a string that runs to the end of the file: Oxigraph names its opening quote, and so does the message;
    * a string that a line break ends: Oxigraph names the line break, the error the opening quote;
    * a long string that spans lines and holds what reads as Turtle statements (a line ending in `` ;``,
      `` .`` or `` ,``), just before where Oxigraph stopped: most likely one left open and closed by the
      opening quotes of the next one, wherever that is; the error names the line it opens at;
    * a missing dot, or a statement cut short by the end of the file: Oxigraph notices at the next statement,
      or at the end; the error names the place just after the last word, where the dot belongs.
    """
    message = _POSITION.sub("", error.msg)
    if error.lineno is None or error.offset is None:
        return TurtleSyntaxError(message)
    lines = text.split("\n")
    if not 0 < error.lineno <= len(lines):
        return TurtleSyntaxError(message, error.lineno, error.offset)
    fault = sum(len(line) + 1 for line in lines[: error.lineno - 1]) + error.offset - 1
    if text[fault : fault + 1] in ("'", '"') and (error.end_lineno or 0) > error.lineno:
        return TurtleSyntaxError(
            f"the string opened here is never closed: {message}", error.lineno, error.offset
        )
    tokens = list(_TOKEN.finditer(text, 0, fault))
    opened = _string_open_at_line_end(text, tokens, fault)
    if opened is not None:
        where = _Position.at(text, opened)
        return TurtleSyntaxError(
            f"the string opened here is not closed on its line: {message}", where.line, where.column
        )
    swallowed = _swallowing_string(text, tokens, fault)
    if swallowed is not None:
        start, end = _Position.at(text, swallowed.start()), _Position.at(text, swallowed.end() - 1)
        quotes = swallowed.group()[:3]
        return TurtleSyntaxError(
            f"the long string opened here runs to line {end.line}, column {end.column} (is its closing "
            f"{quotes} missing?); after it, at line {error.lineno}, column {error.offset}: {message}",
            start.line,
            start.column,
        )
    if _MISSING_DOT.search(message) or _GAP.fullmatch(text, fault) is not None:  # or nothing follows
        after = _Position.at(text, _end_of_words(text, tokens, fault))
        return TurtleSyntaxError(message, after.line, after.column)
    return TurtleSyntaxError(message, error.lineno, error.offset)


def _string_open_at_line_end(text: str, tokens: list[re.Match[str]], fault: int) -> int | None:
    """The offset of the quote that opens a string still open at the end of the line where ``fault`` is, when
    ``fault`` is that end; else None. (No token matches such a string, so it is the first quote after them.)"""
    if text[fault : fault + 1] not in ("\n", "\r"):
        return None
    line_start = text.rfind("\n", 0, fault) + 1
    after = max([line_start, *(token.end() for token in tokens[-1:])])
    quotes = [at for at in (text.find(quote, after, fault) for quote in "\"'") if at >= 0]
    return min(quotes) if quotes else None


def _swallowing_string(text: str, tokens: list[re.Match[str]], fault: int) -> re.Match[str] | None:
    """The long string just before ``fault`` (white space and comments between) when it spans lines and holds
    lines that end like statements; else None."""
    before = next((token for token in reversed(tokens) if not token.group().startswith("#")), None)
    if before is None or before.group("long") is None or "\n" not in before.group():
        return None
    if _GAP.fullmatch(text, before.end(), fault) is None or not _STATEMENT_END.search(before.group()):
        return None
    return before


def _end_of_words(text: str, tokens: list[re.Match[str]], fault: int) -> int:
    """The offset just after the last text before ``fault`` that is neither white space nor a comment."""
    comments = [token.span() for token in tokens if token.group().startswith("#")]
    end = fault
    while True:
        end = len(text[:end].rstrip())
        start = next((start for start, stop in reversed(comments) if start < end <= stop), None)
        if start is None:
            return end
        end = start
