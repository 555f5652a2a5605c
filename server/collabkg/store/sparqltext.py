"""SPARQL query text read as tokens: what the service learns from a query before any engine runs it.

The engines parse queries themselves (Oxigraph here, the store's own elsewhere); the service only needs a few
facts first, each found by one scan of :data:`TOKEN`:

* whether the query uses ``SERVICE`` (refused: an engine would fetch the URL itself), however it is written:
  in any case, after comments, in subqueries, ``EXISTS`` or ``MINUS``, or spelled with SPARQL's codepoint
  escapes (``\\u0053ERVICE``), which apply to the whole text before it is parsed (SPARQL 1.1 Query, 19.2), so
  the scan reads the text with them applied, as the parser does;
* its form (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``), which decides the formats a response can take;
* the prefixes it declares and the graphs its ``FROM`` / ``FROM NAMED`` clauses name (a store elsewhere is
  sent the service's prefixes it relies on, and only the served graphs);
* where its variables stand, outside strings, IRIs and comments, so that a value can take a variable's place
  in the text sent to a store elsewhere.

A keyword is a word token: a word inside a string, an IRI, a comment, a variable (``?service``) or a prefixed
name (``ex:service``, ``service:x``) is none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin

__all__ = [
    "FORMS",
    "QueryShape",
    "Token",
    "refuse_service",
    "shape",
    "signature",
    "tokens",
    "unescape",
]

#: The query forms, by keyword.
FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")

_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

#: One token of SPARQL text. Strings come first (long ones before short), so that nothing inside one is read
#: as anything else; then IRIs (which hold no space, brace or quote), comments, variables, blank-node labels,
#: prefixed names (a prefix and its colon, or a colon alone), words and single characters.
TOKEN = re.compile(
    r'''(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\''''
    r"""|"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')"""
    r"""|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)"""
    r"""|(?P<comment>\#[^\n\r]*)"""
    r"""|(?P<var>[?$][^\W][\w\u00b7\u0300-\u036f\u203f\u2040]*)"""
    r"""|(?P<bnode>_:[\w.\-\u00b7]*)"""
    r"""|(?P<pname>(?:[^\W\d][\w.\-]*)?:(?:[\w.\-:%]|\\.)*)"""
    r"""|(?P<word>[^\W\d][\w\-]*)"""
    r"""|(?P<other>\S)""",
    re.DOTALL,
)


class QueryTextError(ValueError):
    """The text is not a query the service can read (no query form); says why."""


class Token(NamedTuple):
    """One token: its kind (a group name of :data:`TOKEN`), its text and where it starts in the scanned text.

    A named tuple: every request's query is scanned into tokens, and a frozen dataclass took twice as long to
    make."""

    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def keyword(self) -> str | None:
        """The word in capitals when the token is a word (a keyword, a function name), else ``None``."""
        return self.text.upper() if self.kind == "word" else None


def unescape(text: str) -> str:
    """The text with SPARQL's codepoint escapes (``\\uXXXX``, ``\\UXXXXXXXX``) replaced by their characters,
    which SPARQL applies before parsing. A surrogate or out-of-range code point is left as written (the
    parser refuses it)."""

    def char(match: re.Match[str]) -> str:
        code = int(match[1] or match[2], 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match[0]

    return _CODEPOINT.sub(char, text)


def tokens(text: str) -> Iterator[Token]:
    """The tokens of ``text`` as written (apply :func:`unescape` first to read it as a parser does)."""
    for match in TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        yield Token(kind, match[0], match.start())


@dataclass(frozen=True)
class QueryShape:
    """What a scan of a query finds (:func:`shape`)."""

    #: ``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``.
    form: str
    #: The prefixes the query declares (``PREFIX p: <...>``), by prefix.
    prefixes: Mapping[str, str]
    #: The query's own ``BASE``, if it declares one.
    base: str | None
    #: The graphs named by ``FROM`` and by ``FROM NAMED``, as absolute IRIs (relative ones resolved against
    #: the base); ``None`` when the query names no graph of that kind.
    from_graphs: tuple[str, ...] | None
    from_named: tuple[str, ...] | None
    #: The variables the query selects (``SELECT ?a ?b``) in order; ``None`` for ``SELECT *`` and other forms.
    projection: tuple[str, ...] | None
    #: Every variable of the query, in the order it first appears (the columns of ``SELECT *``, as clients
    #: expect them: the SPARQL algebra leaves their order open, and engines differ).
    variables: tuple[str, ...]
    #: Whether the query uses ``SERVICE`` anywhere.
    service: bool
    #: What it asks, however written (:func:`signature`), from the same scan.
    signature: str


def shape(text: str, base: str | None = None, namespaces: Mapping[str, str] | None = None) -> QueryShape:
    """Scan a query (its codepoint escapes applied) for its form, declarations, dataset and ``SERVICE``.

    :param base: the IRI relative IRIs of the query resolve against, when it declares no ``BASE``.
    :param namespaces: prefixes the query may use without declaring them.
    :raises QueryTextError: no query form (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``) is found, or a
        ``FROM`` names no graph; the engine reports other syntax errors when it parses the query.
    """
    found = _significant(text)
    form = None
    prefixes: dict[str, str] = {}
    declared_base = None
    service = False
    for index, token in enumerate(found):
        word = token.keyword()
        if word == "SERVICE":
            service = True
        elif form is None and word in FORMS:
            form = word
        elif (
            form is None and word == "PREFIX" and index + 2 < len(found) and found[index + 1].kind == "pname"
        ):
            name, iri = found[index + 1].text, found[index + 2].text
            if iri.startswith("<"):
                prefixes[name[:-1] if name.endswith(":") else name.partition(":")[0]] = iri[1:-1]
        elif form is None and word == "BASE" and index + 1 < len(found) and found[index + 1].kind == "iri":
            declared_base = found[index + 1].text[1:-1]
    if form is None:
        raise QueryTextError("Syntax error: not a query (no SELECT, ASK, CONSTRUCT or DESCRIBE).")
    resolve_base = urljoin(base, declared_base) if base and declared_base else declared_base or base
    known = {**(namespaces or {}), **prefixes}
    default, named = _dataset(found, known, resolve_base)
    return QueryShape(
        form=form,
        prefixes=prefixes,
        base=declared_base,
        from_graphs=default,
        from_named=named,
        projection=_projection(found) if form == "SELECT" else None,
        variables=tuple(dict.fromkeys(token.text[1:] for token in found if token.kind == "var")),
        service=service,
        signature=_signature(found),
    )


def signature(text: str) -> str:
    """What the query asks, however it is laid out, commented, declared or its variables named: its tokens one
    space apart, comments left out, variables named by their order of appearance, and of its prologue the
    ``BASE`` and the ``PREFIX`` declarations its body uses (sorted). Two texts with one signature ask the same
    of the data (a prefix declared and not used changes nothing, nor does renaming ``?x`` to ``?y``)."""
    return _signature(_significant(text))


def _significant(text: str) -> list[Token]:
    """The tokens of a query as a parser reads them (codepoint escapes applied), comments left out."""
    return [token for token in tokens(unescape(text)) if token.kind != "comment"]


def _signature(found: list[Token]) -> str:
    declared: dict[str, str] = {}
    base: list[str] = []
    start = 0
    while start < len(found) and found[start].keyword() in ("PREFIX", "BASE"):
        if found[start].keyword() == "PREFIX":
            declared[found[start + 1].text if start + 1 < len(found) else ""] = " ".join(
                token.text for token in found[start : start + 3]
            )
            start += 3
        else:
            base = [token.text for token in found[start : start + 2]]
            start += 2
    body = found[start:]
    used = {token.text.partition(":")[0] + ":" for token in body if token.kind == "pname"}
    prologue = base + [declared[name] for name in sorted(declared) if name in used]
    variables: dict[str, str] = {}
    words = [
        variables.setdefault(token.text[1:], f"?{len(variables)}") if token.kind == "var" else token.text
        for token in body
    ]
    return " ".join(prologue + words)


def refuse_service(text: str) -> None:
    """:raises QueryTextError: the query uses ``SERVICE`` (a scan of the text with its escapes applied)."""
    if any(token.keyword() == "SERVICE" for token in tokens(unescape(text))):
        raise QueryTextError("SERVICE")


def _dataset(
    found: list[Token], prefixes: Mapping[str, str], base: str | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The IRIs of the ``FROM`` and ``FROM NAMED`` clauses (which stand before the query's first ``{``)."""
    default: list[str] = []
    named: list[str] = []
    index = 0
    while index < len(found):
        token = found[index]
        if token.text == "{":
            break
        if token.keyword() == "FROM":
            target = named if index + 1 < len(found) and found[index + 1].keyword() == "NAMED" else default
            at = index + 2 if target is named else index + 1
            if at >= len(found):
                raise QueryTextError("FROM names no graph.")
            target.append(_iri(found[at], prefixes, base))
            index = at
        index += 1
    return (tuple(default) or None, tuple(named) or None)


def _iri(token: Token, prefixes: Mapping[str, str], base: str | None) -> str:
    """The absolute IRI an IRI or prefixed-name token stands for (an unknown prefix is the engine's error)."""
    if token.kind == "iri":
        iri = token.text[1:-1]
        return urljoin(base, iri) if base else iri
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        namespace = prefixes.get(prefix)
        if namespace is not None:
            return namespace + re.sub(r"\\(.)", r"\1", local)
    raise QueryTextError(f"FROM names no graph IRI ({token.text!r}).")


def _projection(found: list[Token]) -> tuple[str, ...] | None:
    """The variables of the outermost ``SELECT`` clause, or ``None`` for ``SELECT *``.

    A variable inside an expression (``(COUNT(?x) AS ?n)``) is not selected; the one after its ``AS`` is.
    """
    start = next(index for index, token in enumerate(found) if token.keyword() == "SELECT")
    selected: list[str] = []
    depth = 0
    after_as = False
    for token in found[start + 1 :]:
        word = token.keyword()
        if token.text == "{" or (depth == 0 and word in ("WHERE", "FROM")):
            break
        if token.text == "*" and depth == 0:
            return None
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif word == "AS":
            after_as = True
        elif token.kind == "var" and (depth == 0 or after_as):
            selected.append(token.text[1:])
            after_as = False
    return tuple(selected)
