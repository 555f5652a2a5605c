"""Query text rewritten for a store elsewhere: the values of bound variables written in place, and a
``VALUES`` block for lookups of many values.

A store elsewhere knows neither this service's predeclared prefixes nor its bindings; the query is sent as
text (:attr:`collabkg.store.query.PreparedQuery.portable_text`) with each value, a term written by rdflib,
where the query's tokens (:mod:`.sparqltext`) hold its variable: data only, never text of a request's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rdflib import BNode
from rdflib.term import Node

from . import sparqltext
from .query import PreparedQuery, QueryFailed

__all__ = ["bound_text", "with_values"]


def bound_text(prepared: PreparedQuery, bindings: Mapping[str, Node] | None) -> str:
    """The query as an engine is given it, each bound variable replaced by its value.

    That is what a binding means (rdflib's ``initBindings``): the variable holds the value everywhere in the
    query, in nested groups, ``BIND`` and ``FILTER`` too. (A ``VALUES`` block would not do: SPARQL evaluates
    groups from the inside out, so a ``BIND (?_review AS ?item)`` in a nested group would not see it, and a
    trailing one is joined after projection.) The values are parsed, checked terms (a parameter's value is
    refused unless it is a term of the parameter's type) written by rdflib (``n3()``), put only where the scan
    finds the variable itself, never inside a string, an IRI or a comment: data, never text of a request's.
    A value cannot be selected or grouped by, so in the ``SELECT`` and ``GROUP BY`` clauses the variable is
    left out instead (the request knows the value).

    The embedded store binds so too: Oxigraph's own ``substitutions`` (SEP-0007) join the values after
    evaluating the query without them, which made the ``explain`` query 60 times slower (35.8 s against
    0.57 s on the real graph), and bind only the variables a query selects.

    :raises QueryFailed: a value is a blank node.
    """
    text = prepared.portable_text
    if not bindings:
        return text
    terms = {}
    for name, term in bindings.items():
        if isinstance(term, BNode):
            raise QueryFailed("A blank node cannot be sent to the store as a value.")
        terms[name] = term.n3()
    columns = _columns(text)
    parts: list[str] = []
    position = 0
    for token in sparqltext.tokens(text):
        name = token.text[1:]
        if token.kind != "var" or name not in terms:
            continue
        parts.append(text[position : token.start])
        parts.append("" if token.start in columns else terms[name])
        position = token.end
    parts.append(text[position:])
    return "".join(parts)


#: The words that end a GROUP BY clause.
_AFTER_GROUP_BY = frozenset({"HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES"})


def _columns(text: str) -> set[int]:
    """Where the outermost query names a variable as a column (``SELECT ?a``) or a group (``GROUP BY ?a``),
    outside any expression: places a term cannot take (a variable inside ``(COUNT(?x) AS ?n)`` can)."""
    found: set[int] = set()
    braces = parens = 0
    clause: str | None = None
    entered = False
    for token in sparqltext.tokens(text):
        word = token.keyword()
        if token.text == "{":
            braces, entered, clause = braces + 1, True, None
        elif token.text == "}":
            braces -= 1
        elif braces:
            continue
        elif token.text == "(":
            parens += 1
        elif token.text == ")":
            parens -= 1
        elif word == "SELECT" and not entered:
            clause = "select"
        elif word in ("WHERE", "FROM") or (word in _AFTER_GROUP_BY and clause == "group"):
            clause = None
        elif word == "BY" and entered:
            clause = "group"
        elif token.kind == "var" and clause is not None and parens == 0:
            found.add(token.start)
    return found


def with_values(prepared: PreparedQuery, variables: Sequence[str], rows: Iterable[Sequence[Node]]) -> str:
    """The query's portable text with a ``VALUES`` block of ``rows`` for ``variables`` opening its ``WHERE``
    group: a lookup of many values at once (:meth:`collabkg.store.remote.RemoteStore.quads`).

    Inside the group, not after the query: SPARQL joins a trailing ``VALUES`` after grouping and projection,
    where a variable that is not selected is not a column (Virtuoso refuses it: "No column"). First in the
    group, because stores start their plan from it (Virtuoso is ten times faster so). The group is the last
    top-level ``{...}`` of the text (a template comes before it, modifiers after it hold no braces).

    :raises QueryFailed: a term is a blank node, or the query has no group pattern to hold the block.
    """
    lines = []
    for row in rows:
        if any(isinstance(term, BNode) for term in row):
            raise QueryFailed("A blank node cannot be sent to the store as a value.")
        lines.append(f"    ({' '.join(term.n3() for term in row)})\n")
    names = " ".join(f"?{name}" for name in variables)
    block = f"\n    VALUES ({names}) {{\n{''.join(lines)}    }}\n"
    text = prepared.portable_text
    depth, start = 0, None
    for token in sparqltext.tokens(text):
        if token.text == "{":
            if depth == 0:
                start = token.end
            depth += 1
        elif token.text == "}":
            depth -= 1
    if start is None:
        raise QueryFailed("The query has no group pattern to bind its parameters in.")
    return text[:start] + block + text[start:]
