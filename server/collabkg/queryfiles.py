"""Query files: the ``.rq`` files of ``queries/`` and their ``#+`` header grammar (no Flask: the build, the
stores, the command line and the web all read them).

A file is a standalone SPARQL query with a ``#+`` comment header that this module reads (the grammar is in
``queries/README.md``): a summary, a description, the parameters and examples. The file name is the query's
stable id and its URL slug. Every file is parsed and checked once, when it is loaded; a broken file is a
:class:`QueryFileError` naming it, so a typo stops a build or a start-up, never reaches a researcher as a 500.

Parameters are the query's ``?_name`` variables. A request gives ``name=value``; the value is parsed into an
RDF term of the declared type, written by rdflib where the query's tokens hold the variable
(:func:`collabkg.store.rewrite.bound_text`), never request text, so no value can change what the query does. A bad value is a :class:`ParameterError` naming it.

Oxigraph, which runs them, parses every file when it is read (a fraction of a millisecond each); the build
reads every file the server runs, so a broken one fails the build before it can stop a server.

The same files run against any SPARQL endpoint (``collabkg query --endpoint``, ``collabkg serve --store``):
:mod:`collabkg.store.rewrite` writes them with each parameter's term in place of its variable.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from .namespaces import ID, IRI_FORBIDDEN, PREFIXES
from .store.base import StatisticsQueries
from .store.query import PreparedQuery, QueryError, check_syntax, prepare

__all__ = [
    "SEARCH_DOCUMENTS",
    "CannedQuery",
    "ParameterError",
    "QueryFileError",
    "ServedQueries",
    "check_served_queries",
    "kept_queries",
    "load_queries",
    "parse_query_file",
]

#: Keys of ``#+ key: value`` header lines.
HEADER_KEYS = ("summary", "description", "param", "example")
#: Types a parameter can take, and the RDF term each value becomes.
PARAM_TYPES = ("iri", "string", "integer")
#: Request parameters with a meaning of their own, which no query parameter may shadow.
RESERVED_NAMES = frozenset({"format"})

_HEADER = re.compile(r"#\+\s?(?P<key>[a-z]+):\s*(?P<value>.*)$")
_CONTINUATION = re.compile(r"#\+\s{2,}(?P<value>\S.*)$")
_PARAM_NAME = re.compile(r"_[a-z][A-Za-z0-9]*")
_KIND = re.compile(r"[a-z][a-z0-9-]*")
_QUERY_FILE = re.compile(r"[a-z0-9][a-z0-9-]*\.rq")
_IRI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_INTEGER = re.compile(r"[+-]?[0-9]+")


class QueryFileError(Exception):
    """A canned query file is malformed; the message starts with its path."""


class ParameterError(ValueError):
    """A request gave a parameter that is missing, unknown or of the wrong type; the message names it."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"parameter '{name}': {message}")


@dataclass(frozen=True)
class Param:
    """One declared parameter: ``#+ param: _name type default kind description``."""

    #: The query variable without ``?``, starting with ``_`` (``_model``).
    variable: str
    type: str
    #: The value used when the request gives none; ``None`` when the parameter is required or optional.
    default: str | None
    #: Whether the query runs with the variable unbound when the request gives no value (default ``*``).
    optional: bool
    #: The resource kind (``model``, ``determinant``, ``study``...): an ``iri`` value may then be a bare slug.
    kind: str | None
    description: str

    @property
    def name(self) -> str:
        """The name requests use: the variable without its leading underscore."""
        return self.variable[1:]

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional

    def parse(self, raw: str) -> Node:
        """The RDF term a request's value stands for.

        An ``iri`` is a full IRI (with or without ``<>``), a prefixed name of the graph's prefixes
        (``model:partnership``, ``ck:microLevel``) or, for a parameter with a kind, the bare slug
        (``partnership``). A value of a kind must name a resource of that kind.

        :raises ParameterError: the value is not of the parameter's type.
        """
        value = raw.strip()
        if self.type == "integer":
            if not _INTEGER.fullmatch(value):
                raise ParameterError(self.name, f"expected an integer, got {raw!r}")
            return Literal(int(value), datatype=XSD.integer)
        if self.type == "string":
            return Literal(value)
        return self._parse_iri(value)

    def _parse_iri(self, value: str) -> URIRef:
        if value.startswith("<") and value.endswith(">"):
            value = value[1:-1]
        base = str(ID[f"{self.kind}/"]) if self.kind else None
        prefix, colon, local = value.partition(":")
        if colon and prefix in PREFIXES and not local.startswith("//"):
            value = PREFIXES[prefix] + local
        elif base and not colon:
            value = base + value
        if not value or IRI_FORBIDDEN.search(value) or not _IRI_SCHEME.match(value):
            raise ParameterError(
                self.name, f"expected an IRI, a prefixed name{' or a slug' if base else ''}, got {value!r}"
            )
        if base and not value.startswith(base):
            raise ParameterError(
                self.name, f"expected a resource of kind '{self.kind}' ({base}...), got {value!r}"
            )
        return URIRef(value)

    def describe(self) -> dict[str, object]:
        """The parameter as the query listing shows it."""
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "kind": self.kind,
            "description": self.description,
        }


@dataclass(frozen=True)
class CannedQuery:
    """One parsed, checked ``.rq`` file."""

    name: str
    path: Path
    summary: str
    description: str
    params: tuple[Param, ...]
    #: Request query strings (``model=co-location``) that the listing offers as examples.
    examples: tuple[str, ...]
    text: str
    #: The query as the service runs it (checked: Oxigraph parses it).
    prepared: PreparedQuery

    @property
    def form(self) -> str:
        return self.prepared.form

    def bindings(self, args: Mapping[str, str]) -> dict[str, Node]:
        """The variable bindings for a request's parameters, defaults filled in.

        :raises ParameterError: a required parameter is missing, a value is ill-typed, or a name is unknown.
        """
        known = {param.name: param for param in self.params}
        for name in args:
            if name not in known and name not in RESERVED_NAMES:
                listing = ", ".join(known) or "none"
                raise ParameterError(name, f"unknown parameter (this query takes: {listing})")
        bound: dict[str, Node] = {}
        for param in self.params:
            raw = args.get(param.name, param.default)
            if raw is None or not raw.strip():
                if param.required:
                    raise ParameterError(param.name, "required, and missing")
                continue
            bound[param.variable] = param.parse(raw)
        return bound

    def describe(self) -> dict[str, object]:
        """The query as the listing shows it."""
        return {
            "name": self.name,
            "summary": self.summary,
            "description": self.description,
            "form": self.form,
            "params": [param.describe() for param in self.params],
            "examples": list(self.examples),
        }


def parse_query_file(path: Path) -> CannedQuery:
    """Read and check one query file: its header, its parameters, and its SPARQL (Oxigraph parses it).

    :raises QueryFileError: the header breaks the grammar, the query does not parse or uses ``SERVICE``, or
        the ``?_name`` variables and the declared parameters disagree.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryFileError(f"{path}: {exc}") from exc
    if not _QUERY_FILE.fullmatch(path.name):
        raise QueryFileError(f"{path}: a query file name is lowercase letters, digits and '-', ending in .rq")
    header = _parse_header(text, path)
    if "summary" not in header:
        raise QueryFileError(f"{path}: no '#+ summary:' line")
    params = tuple(_parse_param(line, path) for line in header.get("param", []))
    declared = {param.variable for param in params}
    used = set(re.findall(r"[?$](_[A-Za-z0-9]+)", _strip_comments(text)))
    if declared - used:
        raise QueryFileError(f"{path}: parameter(s) {sorted(declared - used)} not used in the query")
    if used - declared:
        raise QueryFileError(
            f"{path}: variable(s) {sorted(used - declared)} start with '_' but are not declared"
        )
    try:
        prepared = prepare(text)
        check_syntax(prepared)
    except QueryError as exc:
        raise QueryFileError(f"{path}: {exc}") from exc
    query = CannedQuery(
        name=path.stem,
        path=path,
        summary=header["summary"][0],
        description=" ".join(header.get("description", [])),
        params=params,
        examples=tuple(header.get("example", [])),
        text=text,
        prepared=prepared,
    )
    for example in query.examples:
        try:
            query.bindings(dict(pair.partition("=")[::2] for pair in example.split("&")))
        except ParameterError as exc:
            raise QueryFileError(f"{path}: example {example!r}: {exc}") from exc
    return query


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _parse_header(text: str, path: Path) -> dict[str, list[str]]:
    """The ``#+`` lines by key; a continuation line (``#+`` and two or more spaces) extends the one before."""
    header: dict[str, list[str]] = {}
    last: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#+"):
            last = None
            continue
        continued = _CONTINUATION.match(line)
        if continued and last is not None:
            header[last][-1] += " " + continued["value"].strip()
            continue
        match = _HEADER.match(line)
        if not match or match["key"] not in HEADER_KEYS:
            raise QueryFileError(
                f"{path}:{number}: not a header line ('#+ key: value', key one of {HEADER_KEYS})"
            )
        key, value = match["key"], match["value"].strip()
        if key in ("summary", "description") and key in header:
            raise QueryFileError(f"{path}:{number}: a second '#+ {key}:' line")
        header.setdefault(key, []).append(value)
        last = key
    return header


def _parse_param(line: str, path: Path) -> Param:
    """``_name type default kind description``: default ``-`` is required, ``*`` optional; kind ``-`` none."""
    try:
        fields = shlex.split(line)
    except ValueError as exc:
        raise QueryFileError(f"{path}: param {line!r}: {exc}") from exc
    if len(fields) < 4:
        raise QueryFileError(f"{path}: param {line!r}: expected '_name type default kind [description]'")
    variable, type_, default, kind = fields[:4]
    if not _PARAM_NAME.fullmatch(variable) or variable[1:] in RESERVED_NAMES:
        raise QueryFileError(
            f"{path}: param {variable!r}: a name is '_' then a lowercase letter, not '_format'"
        )
    if type_ not in PARAM_TYPES:
        raise QueryFileError(f"{path}: param {variable}: type {type_!r} is not one of {PARAM_TYPES}")
    if kind != "-" and (type_ != "iri" or not _KIND.fullmatch(kind)):
        raise QueryFileError(f"{path}: param {variable}: a kind ({kind!r}) is a lowercase word, for an iri")
    param = Param(
        variable=variable,
        type=type_,
        default=None if default in ("-", "*") else default,
        optional=default == "*",
        kind=None if kind == "-" else kind,
        description=" ".join(fields[4:]),
    )
    if param.default is not None:
        try:
            param.parse(param.default)
        except ParameterError as exc:
            raise QueryFileError(f"{path}: default of {exc}") from exc
    return param


def load_queries(folder: Path) -> dict[str, CannedQuery]:
    """Every ``*.rq`` file directly in ``folder`` (not ``checks/``), by name.

    :raises QueryFileError: some file is malformed (the first, in name order, is reported).
    """
    return {path.stem: parse_query_file(path) for path in sorted(folder.glob("*.rq"))}


#: The folders of ``queries/`` whose files the server runs (``checks/`` is the build's own, ``remote/`` a
#: store elsewhere's).
SERVED_QUERY_FOLDERS = ("", "pages", "trail", "void")


def check_served_queries(queries_dir: Path) -> int:
    """Read and check every query file the server runs (the build does, so a broken one stops a build rather
    than a server); how many there are.

    :raises QueryFileError: some file is malformed: the build fails, naming it.
    """
    return sum(len(load_queries(queries_dir / folder)) for folder in SERVED_QUERY_FOLDERS)


def statistics_queries(queries_dir: Path) -> StatisticsQueries:
    """``queries/void/``: the counts of the VoID description, which the build makes for its store and the
    server for a store it loads.

    :raises QueryFileError: a file is missing or malformed.
    """
    void = queries_dir / "void"
    return StatisticsQueries(
        *(
            parse_query_file(void / f"{name}.rq").prepared
            for name in ("totals", "properties", "classes", "license")
        )
    )


#: The page query whose answer the build indexes for search (:mod:`collabkg.build.search_index`).
SEARCH_DOCUMENTS = "search-documents"


def kept_queries(queries_dir: Path) -> dict[str, PreparedQuery]:
    """The queries whose answers the build keeps (:mod:`collabkg.store.answers`), by file (``models``,
    ``pages/counts``): every canned query and page query without parameters, each of which asks about the
    whole graph (the landing page's counts and lists, the evidence map's, the map of models, the canned lists
    of models and references); not the search documents, whose answer the build keeps as the text index.

    :raises QueryFileError: a file is malformed.
    """
    found = {
        f"{folder}{name}": query.prepared
        for folder in ("", "pages/")
        for name, query in load_queries(queries_dir / folder).items()
        if not query.params
    }
    found.pop(f"pages/{SEARCH_DOCUMENTS}", None)
    return found


@dataclass(frozen=True)
class ServedQueries:
    """Every query the service runs, each read and checked once at start (a broken file stops the start)."""

    #: ``queries/*.rq``: the canned queries, by name.
    canned: dict[str, CannedQuery]
    #: ``queries/pages/*.rq``: what the pages ask, by name.
    pages: dict[str, CannedQuery]
    #: ``queries/trail/``: the trail of a resource (the resource and its claims, then each claim and each
    #: review of them: :func:`collabkg.evidence.trails.trail_graph`), the explanations of its inferred
    #: statements, and the sources to cite.
    trail: CannedQuery
    trail_claim: CannedQuery
    trail_review: CannedQuery
    explanations: CannedQuery
    sources: CannedQuery
    #: ``queries/void/``: the counts of the VoID description.
    statistics: StatisticsQueries

    @classmethod
    def load(cls, folder: Path) -> ServedQueries:
        """:raises QueryFileError: a file is missing or malformed."""
        trail = folder / "trail"
        return cls(
            canned=load_queries(folder),
            pages=load_queries(folder / "pages"),
            trail=parse_query_file(trail / "trail.rq"),
            trail_claim=parse_query_file(trail / "claim.rq"),
            trail_review=parse_query_file(trail / "review.rq"),
            explanations=parse_query_file(trail / "explanations.rq"),
            sources=parse_query_file(trail / "sources.rq"),
            statistics=statistics_queries(folder),
        )
