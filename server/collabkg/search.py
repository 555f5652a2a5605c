"""Full-text search over the graph's words: a text index (SQLite FTS5) of every finding, claim, model,
determinant, theme, review and country, by its label, description, quote and section.

Why SQLite's FTS5: it is in Python's standard library (no new dependency, nothing to run beside the server),
it is a real inverted index with BM25 ranking, Porter stemming ("collaborate" finds "collaboration"), case and
accent folding (``unicode61 remove_diacritics 2``), and ``snippet()`` / ``highlight()`` to show the matching
words in context; and the index is one file that any number of server processes open read-only at once. A
search engine (Elasticsearch, Solr, Meilisearch) would be a second service to run for a few thousand documents;
rdflib and Oxigraph have no text index, and a regular expression per request scans every literal.

The build writes the index beside the dataset (:mod:`collabkg.build.search_index`, from the documents
``queries/pages/search-documents.rq`` selects in the built store); the server opens it read-only
(:meth:`SearchIndex.open`). A server of other files (``collabkg serve --dataset``) or of a store elsewhere
indexes the same query's answer in memory on its first search (:meth:`SearchIndex.of_documents`). This module
is both the writer and the reader, so the two cannot disagree on the schema; it needs neither Flask nor the
build, so the build, the command line and the web all use it.

The schema::

    documents (id, iri, kind, label, description, quote, section, review, polarity)   one row per resource
    topics    (document, topic)       the determinants and models a document is about (findings, claims)
    terms     (iri, facet, slug, label)   the values the filters take: reviews, polarities, determinants, models
    words     FTS5 over documents(label, description, quote, section), external content, Porter stemming
    meta      (key, value)            the schema version

Ranking is BM25 with the label weighing most, then the description, the quote and the section (a resource
named by the words comes before a passage that mentions them). A query is words and "quoted phrases", all of
which must match; ``word*`` matches a prefix. It never reaches FTS5 as syntax: each word and phrase is quoted
(:func:`parse_query`), so no input can be a malformed FTS5 query. British and American spellings find each
other (organisation/organization, behaviour/behavior, analyse/analyze), which the two reviews need: one is
written in each.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

from .namespaces import CK, ID

__all__ = [
    "FACETS",
    "KINDS",
    "MAX_LIMIT",
    "MAX_QUERY_LENGTH",
    "Document",
    "Hit",
    "Results",
    "SearchError",
    "SearchIndex",
    "SearchIndexUnavailable",
    "SearchRequest",
    "Snippet",
    "Term",
    "parse_query",
    "read_documents",
    "results_data",
    "slug",
    "write_index",
]

#: Bump when the schema changes: an index of another version is not opened.
SCHEMA_VERSION = "1"
#: The kinds of resource the index holds, in the order a resource of several kinds is filed under.
KINDS: tuple[str, ...] = ("finding", "claim", "model", "determinant", "theme", "review", "country")
#: The filters a search takes besides ``kind``, each over one kind of term (:class:`Term`).
FACETS: tuple[str, ...] = ("review", "polarity", "determinant", "model")
#: The longest query accepted, in characters; the most words and phrases in it.
MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
#: Results per page: by default, and at most; the furthest a page may start.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 10_000
#: BM25 weights of the columns label, description, quote, section.
WEIGHTS = (8.0, 3.0, 1.5, 0.5)
#: Tokens of context a snippet shows.
SNIPPET_TOKENS = 24
#: Where a match starts and ends in FTS5's output: private-use characters, which no source text holds.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
#: The base IRI of the terms of each facet; a filter value is the rest (``andersson-2011``) or the whole IRI.
FACET_BASES: dict[str, str] = {
    "review": str(ID["study/"]),
    "polarity": str(CK),
    "determinant": str(ID["determinant/"]),
    "model": str(ID["model/"]),
}

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    iri TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    description TEXT NOT NULL,
    quote TEXT NOT NULL,
    section TEXT NOT NULL,
    review TEXT,
    polarity TEXT
);
CREATE INDEX documents_by_kind ON documents (kind);
CREATE TABLE topics (
    document INTEGER NOT NULL REFERENCES documents (id),
    topic TEXT NOT NULL,
    PRIMARY KEY (document, topic)
) WITHOUT ROWID;
CREATE INDEX topics_by_topic ON topics (topic, document);
CREATE TABLE terms (
    iri TEXT PRIMARY KEY,
    facet TEXT NOT NULL,
    slug TEXT NOT NULL,
    label TEXT NOT NULL,
    UNIQUE (facet, slug)
);
CREATE VIRTUAL TABLE words USING fts5 (
    label, description, quote, section,
    content = 'documents', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO words (words, rank) VALUES ('rank', 'bm25({", ".join(map(str, WEIGHTS))})');
"""


class SearchError(ValueError):
    """A search request the index cannot answer as asked; the message names the parameter and the problem."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class SearchIndexUnavailable(Exception):
    """The index file is missing, damaged, or of another schema version; says which."""


# --- What is indexed ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One resource as the index holds it."""

    iri: str
    kind: str
    label: str
    description: str = ""
    quote: str = ""
    section: str = ""
    review: str | None = None
    polarity: str | None = None
    #: The determinants and models it is about.
    topics: tuple[str, ...] = ()


def read_documents(rows: Iterable[Mapping[str, str | None]]) -> tuple[list[Document], list[Term]]:
    """The documents, and the terms the filters take, from the rows of ``search-documents.rq``.

    A resource comes in several rows (one per determinant, kind or language of a label); they are folded into
    one document, its kind the first of :data:`KINDS` it has, each text its first value in sorted order (so
    the same graph always gives the same index, whichever order an engine returns rows in).
    """
    values: dict[str, dict[str, set[str]]] = {}
    labels: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        iri = row.get("resource")
        if not iri:
            continue
        fields = values.setdefault(iri, {})
        for name, value in row.items():
            if value is not None and name != "resource":
                fields.setdefault(name, set()).add(value)
        for facet in ("review", "polarity", "determinant", "model"):
            term, label = row.get(facet), row.get(f"{facet}Label")
            if term:
                labels.setdefault((facet, term), set()).update([label] if label else [])

    def first(fields: dict[str, set[str]], name: str) -> str:
        return min(fields.get(name, {""}))

    documents = []
    for iri, fields in sorted(values.items()):
        kinds = [kind for kind in KINDS if kind in fields.get("kind", set())]
        if not kinds or not fields.get("label"):
            continue
        documents.append(
            Document(
                iri=iri,
                kind=kinds[0],
                label=first(fields, "label"),
                description=first(fields, "description"),
                quote=first(fields, "quote"),
                section=first(fields, "section"),
                review=min(fields["review"]) if fields.get("review") else None,
                polarity=min(fields["polarity"]) if fields.get("polarity") else None,
                topics=tuple(sorted(fields.get("determinant", set()) | fields.get("model", set()))),
            )
        )
    for document in documents:  # a review, determinant or model is a filter value even if nothing is about it
        if document.kind in FACETS:
            labels.setdefault((document.kind, document.iri), set()).add(document.label)
    terms = [
        Term(iri=iri, facet=facet, slug=slug(facet, iri), label=min(found) if found else slug(facet, iri))
        for (facet, iri), found in sorted(labels.items())
    ]
    return documents, terms


def slug(facet: str, iri: str) -> str:
    """The short name a filter takes: ``andersson-2011``, ``trust``, ``two-sided`` (``ck:twoSided``)."""
    base = FACET_BASES[facet]
    if not iri.startswith(base) or len(iri) == len(base):
        return iri
    rest = iri[len(base) :]
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", rest).lower() if facet == "polarity" else rest


def write_index(target: sqlite3.Connection, documents: Sequence[Document], terms: Sequence[Term]) -> None:
    """Create the index in an empty database and fill it: schema, documents, terms, the text index."""
    with target:
        target.executescript(_SCHEMA)
        target.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        target.executemany(
            "INSERT INTO documents (id, iri, kind, label, description, quote, section, review, polarity) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (number, d.iri, d.kind, d.label, d.description, d.quote, d.section, d.review, d.polarity)
                for number, d in enumerate(documents, start=1)
            ),
        )
        target.executemany(
            "INSERT INTO topics (document, topic) VALUES (?, ?)",
            ((number, topic) for number, d in enumerate(documents, start=1) for topic in d.topics),
        )
        target.executemany(
            "INSERT INTO terms (iri, facet, slug, label) VALUES (?, ?, ?, ?)",
            ((t.iri, t.facet, t.slug, t.label) for t in terms),
        )
        target.execute("INSERT INTO words (words) VALUES ('rebuild')")
        target.execute("INSERT INTO words (words) VALUES ('optimize')")


# --- Queries -----------------------------------------------------------------------------------------------

#: A "quoted phrase" (the closing quote may be missing), or a run of anything else but spaces and quotes.
_CHUNK = re.compile(r'"([^"]*)"?|([^\s"]+)')
_WORD = re.compile(r"\w+")
#: British and American spellings of one word, each way: (pattern, replacement), on a word of 6 letters or more.
_SPELLINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"is(e|ed|es|ing|ation|ations|ational|ationally|er|ers)$"), r"iz\1"),
    (re.compile(r"iz(e|ed|es|ing|ation|ations|ational|ationally|er|ers)$"), r"is\1"),
    (re.compile(r"ys(e|ed|es|ing)$"), r"yz\1"),
    (re.compile(r"yz(e|ed|es|ing)$"), r"ys\1"),
    (re.compile(r"our(s|ed|ing|al|able|ably|ite|ites)?$"), r"or\1"),
    (re.compile(r"(?<=[^aeiou][aeiou][^aeiou])or(s|ed|ing|al|able|ably|ite|ites)?$"), r"our\1"),
)


def _fold(text: str) -> str:
    """Lower case without accents: what the tokenizer makes of the text, so spellings compare alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def spellings(word: str) -> list[str]:
    """The word and its other spelling, British or American, if it has one (``behaviour`` → ``behavior``)."""
    folded = _fold(word)
    found = [folded]
    if len(folded) >= 6:
        for pattern, replacement in _SPELLINGS:
            other = pattern.sub(replacement, folded)
            if other != folded and other not in found:
                found.append(other)
    return found


def parse_query(text: str) -> str:
    """The FTS5 query for what a person typed: every word and "phrase" must match, ``word*`` is a prefix.

    Each word and phrase goes to FTS5 as a quoted string, never as syntax, so ``AND``, ``NEAR``, ``:``, ``^``
    or parentheses are words like any other.

    :raises SearchError: the text is empty, too long, has no words, or too many.
    """
    if not text.strip():
        raise SearchError("q", "give one or more words to search for")
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchError("q", f"at most {MAX_QUERY_LENGTH} characters, got {len(text)}")
    units = []
    for match in _CHUNK.finditer(text):
        phrase, bare = match.group(1), match.group(2)
        chunk = phrase if phrase is not None else bare
        prefix = bare is not None and bare.endswith("*")
        words = _WORD.findall(chunk)
        if not words:
            continue
        if len(words) == 1 and phrase is None:
            options = [f'"{spelling}"' + ("*" if prefix else "") for spelling in spellings(words[0])]
            units.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
        else:
            units.append('"' + " ".join(_fold(word) for word in words) + '"' + ("*" if prefix else ""))
    if not units:
        raise SearchError("q", f"no words to search for in {text!r}")
    if len(units) > MAX_TERMS:
        raise SearchError("q", f"at most {MAX_TERMS} words and phrases, got {len(units)}")
    return " AND ".join(units)


@dataclass(frozen=True)
class SearchRequest:
    """A search: the words, and filters (each a set of values, any of which may match; all filters must)."""

    text: str
    kinds: tuple[str, ...] = ()
    #: Filter values by facet (:data:`FACETS`): slugs (``andersson-2011``, ``barrier``) or full IRIs.
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def of(
        cls,
        text: str | None,
        *,
        kinds: Iterable[str] = (),
        filters: Mapping[str, Iterable[str]] | None = None,
        limit: str | int | None = None,
        offset: str | int | None = None,
    ) -> SearchRequest:
        """A request from what a person (or a query string) gave, each value checked.

        :raises SearchError: a value is missing, empty, not a number or out of range; names which.
        """
        if text is None:
            raise SearchError("q", "required: the words to search for")
        parse_query(text)
        return cls(
            text=text,
            kinds=tuple(dict.fromkeys(k.strip() for k in kinds if k.strip())),
            filters={
                facet: tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
                for facet, values in (filters or {}).items()
            },
            limit=_number("limit", limit, DEFAULT_LIMIT, 1, MAX_LIMIT),
            offset=_number("offset", offset, 0, 0, MAX_OFFSET),
        )


def _number(name: str, value: str | int | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise SearchError(name, f"expected a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise SearchError(name, f"expected a number from {low} to {high}, got {number}")
    return number


# --- Answers -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A value of a filter: a review, a polarity, a determinant or a model, with its label."""

    iri: str
    facet: str
    slug: str
    label: str


@dataclass(frozen=True)
class Snippet:
    """Text with the words that matched marked: ``segments`` alternate plain and matched text."""

    field: str
    segments: tuple[tuple[str, bool], ...]

    @classmethod
    def of(cls, field: str, marked: str) -> Snippet:
        """From FTS5's output, whose matches are between :data:`MARK_OPEN` and :data:`MARK_CLOSE`."""
        segments: list[tuple[str, bool]] = []
        for part in re.split(f"({MARK_OPEN}.*?{MARK_CLOSE})", marked, flags=re.DOTALL):
            matched = part.startswith(MARK_OPEN) and part.endswith(MARK_CLOSE)
            text = part.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")
            if text:
                segments.append((text, matched))
        return cls(field, tuple(segments))

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.segments)

    @property
    def matched(self) -> bool:
        return any(matched for _, matched in self.segments)

    def highlights(self) -> list[tuple[int, int]]:
        """``(start, end)`` of each match in :attr:`text`."""
        spans, position = [], 0
        for text, matched in self.segments:
            if matched:
                spans.append((position, position + len(text)))
            position += len(text)
        return spans


@dataclass(frozen=True)
class Hit:
    """One resource found: what it is, its label and a passage with the matching words marked."""

    iri: str
    kind: str
    label: Snippet
    #: The passage that matched (the quote, the description or the section), or the start of the quote or
    #: description when only the label did; ``None`` when the resource has neither.
    snippet: Snippet | None
    section: str
    review: Term | None
    polarity: Term | None
    topics: tuple[Term, ...]


@dataclass(frozen=True)
class Results:
    """One page of hits, best first, the total, and how many hits each filter value would give."""

    request: SearchRequest
    total: int
    hits: tuple[Hit, ...]
    #: Per filter (``kind`` and :data:`FACETS`): ``(value, label, count)`` under the other filters.
    facets: dict[str, tuple[tuple[str, str, int], ...]]
    #: The filters as applied: the terms each value named, by facet.
    applied: dict[str, tuple[Term, ...]]


def results_data(results: Results) -> dict[str, Any]:
    """The results as plain data (JSON for programs): highlights as ``[start, end]`` character offsets."""

    def term(found: Term | None) -> dict[str, str] | None:
        return None if found is None else {"iri": found.iri, "slug": found.slug, "label": found.label}

    wanted = results.request
    return {
        "query": wanted.text,
        "filters": {"kind": list(wanted.kinds)}
        | {facet: [t.slug for t in terms] for facet, terms in results.applied.items()},
        "total": results.total,
        "offset": wanted.offset,
        "limit": wanted.limit,
        "hits": [
            {
                "iri": hit.iri,
                "kind": hit.kind,
                "label": hit.label.text,
                "label_highlights": hit.label.highlights(),
                "snippet": None
                if hit.snippet is None
                else {
                    "field": hit.snippet.field,
                    "text": hit.snippet.text,
                    "highlights": hit.snippet.highlights(),
                },
                "section": hit.section or None,
                "review": term(hit.review),
                "polarity": term(hit.polarity),
                "about": [term(topic) for topic in hit.topics],
            }
            for hit in results.hits
        ],
        "facets": {
            facet: [{"value": value, "label": label, "count": count} for value, label, count in values]
            for facet, values in results.facets.items()
        },
    }


class SearchIndex:
    """The text index, read-only: one connection per process and thread, made on first use."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], description: str) -> None:
        self._connect = connect
        self.description = description
        self._local = threading.local()

    @classmethod
    def open(cls, path: Path) -> SearchIndex:
        """The index file the build wrote; it never changes (its name holds the dataset's hash).

        :raises SearchIndexUnavailable: the file is missing, or not an index of this schema version.
        """
        uri = f"file:{url_quote(str(path.resolve()))}?mode=ro&immutable=1"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False)

        if not path.is_file():
            raise SearchIndexUnavailable(f"{path}: no search index")
        index = cls(connect, str(path))
        index._check()
        return index

    @classmethod
    def of_documents(cls, documents: Sequence[Document], terms: Sequence[Term]) -> SearchIndex:
        """An index held in memory (for served files and stores elsewhere, which the build did not index)."""
        builder = sqlite3.connect(":memory:")
        write_index(builder, documents, terms)
        image = builder.serialize()
        builder.close()

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(":memory:", check_same_thread=False)
            connection.deserialize(image)
            return connection

        return cls(connect, f"in memory, {len(documents)} documents")

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection; a forked process makes its own (SQLite's rule for connections)."""
        found: tuple[int, sqlite3.Connection] | None = getattr(self._local, "connection", None)
        if found is None or found[0] != os.getpid():
            connection = self._connect()
            connection.execute("PRAGMA query_only = ON")
            self._local.connection = found = (os.getpid(), connection)
        return found[1]

    def _check(self) -> None:
        try:
            row = self._connection().execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SearchIndexUnavailable(f"{self.description}: not a search index ({exc})") from exc
        if row is None or row[0] != SCHEMA_VERSION:
            raise SearchIndexUnavailable(
                f"{self.description}: a search index of schema {row and row[0]}, not {SCHEMA_VERSION}; rebuild"
            )

    def terms(self, facet: str | None = None) -> list[Term]:
        """The values a filter takes (all filters' without ``facet``), by label."""
        sql = "SELECT iri, facet, slug, label FROM terms"
        rows = self._connection().execute(
            sql + (" WHERE facet = ?" if facet else "") + " ORDER BY facet, label COLLATE NOCASE",
            (facet,) if facet else (),
        )
        return [Term(*row) for row in rows]

    def size(self) -> int:
        """How many documents the index holds."""
        return int(self._connection().execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def search(self, request: SearchRequest) -> Results:
        """One page of the documents that match, best first.

        :raises SearchError: a filter names a kind or a term the index does not know.
        """
        connection = self._connection()
        match = parse_query(request.text)
        applied = self._applied(request)
        kinds = request.kinds
        for kind in kinds:
            if kind not in KINDS:
                raise SearchError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        where, parameters = self._where(match, kinds, applied, leave_out=None)
        total = connection.execute(
            f"SELECT COUNT(*) FROM words JOIN documents d ON d.id = words.rowid WHERE {where}", parameters
        ).fetchone()[0]
        marks = (MARK_OPEN, MARK_CLOSE)
        rows = connection.execute(
            "SELECT d.id, d.iri, d.kind, d.section, d.review, d.polarity, "
            "highlight(words, 0, ?, ?), "
            "snippet(words, 1, ?, ?, '…', ?), snippet(words, 2, ?, ?, '…', ?), "
            "snippet(words, 3, ?, ?, '…', ?), d.quote != '', d.description != '' "
            f"FROM words JOIN documents d ON d.id = words.rowid WHERE {where} "
            "ORDER BY rank, d.kind, d.label COLLATE NOCASE LIMIT ? OFFSET ?",
            (
                *marks,
                *marks,
                SNIPPET_TOKENS,
                *marks,
                SNIPPET_TOKENS,
                *marks,
                SNIPPET_TOKENS,
                *parameters,
                request.limit,
                request.offset,
            ),
        ).fetchall()
        terms = {term.iri: term for term in self.terms()}
        hits = []
        for row in rows:
            number, iri, kind, section, review, polarity, label, description, quote, in_section = row[:10]
            has_quote, has_description = row[10], row[11]
            passages = [
                Snippet.of(name, text)
                for name, text in (("quote", quote), ("description", description), ("section", in_section))
                if text
            ]
            snippet = next((p for p in passages if p.matched), None)
            if snippet is None and (has_quote or has_description):
                snippet = next(p for p in passages if p.field == ("quote" if has_quote else "description"))
            topics = connection.execute(
                "SELECT topic FROM topics WHERE document = ? ORDER BY topic", (number,)
            )
            hits.append(
                Hit(
                    iri=iri,
                    kind=kind,
                    label=Snippet.of("label", label),
                    snippet=snippet,
                    section=section,
                    review=terms.get(review) if review else None,
                    polarity=terms.get(polarity) if polarity else None,
                    topics=tuple(terms[topic] for (topic,) in topics if topic in terms),
                )
            )
        return Results(
            request=request,
            total=int(total),
            hits=tuple(hits),
            facets=self._facets(connection, match, kinds, applied, terms),
            applied=applied,
        )

    def _applied(self, request: SearchRequest) -> dict[str, tuple[Term, ...]]:
        """The terms the request's filter values name, by facet.

        :raises SearchError: a facet or value the index does not know.
        """
        applied: dict[str, tuple[Term, ...]] = {}
        for facet, values in request.filters.items():
            if facet not in FACETS:
                raise SearchError(facet, f"not a filter (filters: kind, {', '.join(FACETS)})")
            known = self.terms(facet)
            found = []
            for value in values:
                term = next((t for t in known if value in (t.slug, t.iri)), None)
                if term is None:
                    offered = ", ".join(t.slug for t in known) or "none in this graph"
                    raise SearchError(facet, f"no {facet} {value!r} (one of: {offered})")
                found.append(term)
            if found:
                applied[facet] = tuple(found)
        return applied

    @staticmethod
    def _where(
        match: str, kinds: Sequence[str], applied: Mapping[str, Sequence[Term]], leave_out: str | None
    ) -> tuple[str, list[str]]:
        """The SQL condition for the match and the filters (less ``leave_out``), and its parameters."""
        clauses, parameters = ["words MATCH ?"], [match]
        if kinds and leave_out != "kind":
            clauses.append(f"d.kind IN ({', '.join('?' * len(kinds))})")
            parameters += kinds
        for facet, terms in applied.items():
            if facet == leave_out:
                continue
            marks = ", ".join("?" * len(terms))
            if facet in ("review", "polarity"):
                clauses.append(f"d.{facet} IN ({marks})")
            else:
                clauses.append(
                    f"EXISTS (SELECT 1 FROM topics t WHERE t.document = d.id AND t.topic IN ({marks}))"
                )
            parameters += [term.iri for term in terms]
        return " AND ".join(clauses), parameters

    def _facets(
        self,
        connection: sqlite3.Connection,
        match: str,
        kinds: Sequence[str],
        applied: Mapping[str, Sequence[Term]],
        terms: Mapping[str, Term],
    ) -> dict[str, tuple[tuple[str, str, int], ...]]:
        """How many hits each value of each filter would give, with the other filters as they are."""
        facets: dict[str, tuple[tuple[str, str, int], ...]] = {}
        where, parameters = self._where(match, kinds, applied, leave_out="kind")
        counts = dict(
            connection.execute(
                f"SELECT d.kind, COUNT(*) FROM words JOIN documents d ON d.id = words.rowid WHERE {where} "
                "GROUP BY d.kind",
                parameters,
            ).fetchall()
        )
        facets["kind"] = tuple((kind, kind, int(counts[kind])) for kind in KINDS if kind in counts)
        for facet in FACETS:
            where, parameters = self._where(match, kinds, applied, leave_out=facet)
            if facet in ("review", "polarity"):
                sql = (
                    f"SELECT d.{facet}, COUNT(*) FROM words JOIN documents d ON d.id = words.rowid "
                    f"WHERE {where} AND d.{facet} IS NOT NULL GROUP BY d.{facet}"
                )
            else:
                sql = (
                    "SELECT t.topic, COUNT(*) FROM words JOIN documents d ON d.id = words.rowid "
                    f"JOIN topics t ON t.document = d.id WHERE {where} GROUP BY t.topic"
                )
            counts = dict(connection.execute(sql, parameters).fetchall())
            facets[facet] = tuple(
                sorted(
                    (
                        (terms[iri].slug, terms[iri].label, int(count))
                        for iri, count in counts.items()
                        if iri in terms and terms[iri].facet == facet
                    ),
                    key=lambda item: (-item[2], item[1].casefold()),
                )
            )
        return facets
