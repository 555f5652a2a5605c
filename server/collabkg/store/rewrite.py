"""Query text rewritten for a store elsewhere: the values of bound variables written in place, and a
``VALUES`` block for lookups of many values.

A store elsewhere knows neither this service's predeclared prefixes nor rdflib's ``initBindings``; the query is
sent as text (:attr:`collabkg.store.query.PreparedQuery.portable_text`) with each value, a term written by
rdflib, where the query's tokens hold its variable: data only, never text of a request's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from rdflib import BNode
from rdflib.term import Node

from .query import PreparedQuery, QueryFailed

__all__ = ["bound_text", "with_values"]


def bound_text(prepared: PreparedQuery, bindings: Mapping[str, Node] | None) -> str:
    """The query as a store elsewhere must be sent it, each bound variable replaced by its value.

    That is what rdflib's ``initBindings`` means: the variable holds the value everywhere in the query, in
    nested groups, ``BIND`` and ``FILTER`` too. (A ``VALUES`` block would not do: SPARQL evaluates groups from
    the inside out, so a ``BIND (?_review AS ?item)`` in a nested group would not see it, and a trailing one is
    joined after projection.) The values are parsed terms written by rdflib (``n3()``), put only where the scan
    of :data:`_TOKENS` finds the variable itself, never inside a string, an IRI or a comment: data only.

    A query that selects a bound variable (``SELECT ?_x``) becomes one the store refuses: no canned query
    does, as none needs to (the value is the request's own).

    :raises QueryFailed: a value is a blank node.
    """
    if not bindings:
        return prepared.portable_text
    terms = {}
    for name, term in bindings.items():
        if isinstance(term, BNode):
            raise QueryFailed("A blank node cannot be sent to the store as a value.")
        terms[name] = term.n3()

    def substitute(token: re.Match[str]) -> str:
        word = token[0]
        return terms.get(word[1:], word) if word[0] in "?$" else word

    return _TOKENS.sub(substitute, prepared.portable_text)


#: What can hold a brace or a variable name that is not one: strings (long ones first), IRIs (which cannot
#: hold braces or spaces, but can hold ``#`` and ``?``) and comments; then braces and variables.
_TOKENS = re.compile(
    r'''"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\''''
    r"""|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    r"""|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*|[{}]|[?$][A-Za-z0-9_\u00b7\u00c0-\uffff]+""",
    re.DOTALL,
)


def with_values(prepared: PreparedQuery, variables: Sequence[str], rows: Iterable[Sequence[Node]]) -> str:
    """The query's portable text with a ``VALUES`` block of ``rows`` for ``variables`` opening its ``WHERE``
    group: a lookup of many values at once (:meth:`RemoteStore.quads`).

    Inside the group, not after the query: SPARQL joins a trailing ``VALUES`` after grouping and projection,
    where a variable that is not selected is not a column (Virtuoso refuses it: "No column"). First in the
    group, because stores start their plan from it (Virtuoso is ten times faster so). The group is the last
    top-level ``{...}`` of the text (a template comes before it, modifiers after it hold no braces), found by
    the scan of :data:`_TOKENS`.

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
    for token in _TOKENS.finditer(text):
        if token[0] == "{":
            if depth == 0:
                start = token.end()
            depth += 1
        elif token[0] == "}":
            depth -= 1
    if start is None:
        raise QueryFailed("The query has no group pattern to bind its parameters in.")
    return text[:start] + block + text[start:]
