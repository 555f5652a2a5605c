"""Answers the build keeps: the queries over the whole graph, evaluated once per dataset version.

The landing page, the evidence map and the map of models are made of page queries without parameters over the
whole graph (``queries/pages/counts.rq``, ``evidence-map-*.rq``, ``model-map.rq``, ...), and the canned queries
without parameters list the whole graph's models, determinants or references. Their answers change only with
the dataset, and at a million triples they take seconds each, at ten million longer than a query may run: the
build evaluates them once, on the store it wrote, as a query process would, and keeps each answer as that
process wrote it (``build/answers-<hash>.sqlite``, :func:`collabkg.store.oxigraph.keep_answers`). A store opened
on the build answers the service's own requests for them from the file (:meth:`KeptAnswers.answer`).

A request is found by everything a query process is asked except the row limit and the format
(:func:`request_key`): the text, base, prefixes and dataset. A query file edited since the build, a parameter
bound, a client's query: each is another request, evaluated as before. SQLite (the standard library's, as the
text index uses) gives one file, written once and read by any number of processes, that is looked up without
being loaded.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .results import TABLE_WRITERS, NotWritable, decode_term, write_boolean, write_table

__all__ = ["Kept", "KeptAnswers", "KeptAnswersUnreadable", "request_key", "write_kept"]

_SCHEMA = (
    "CREATE TABLE answer (key TEXT PRIMARY KEY, name TEXT NOT NULL, truncated INTEGER NOT NULL, "
    "size INTEGER NOT NULL, body BLOB NOT NULL)"
)
#: Where a query process's ``terms`` document holds the rows or triples that a row limit cuts.
_CUT_KEYS = ("rows", "triples")


class KeptAnswersUnreadable(Exception):
    """The file of kept answers cannot be opened or is not one; the message names it."""


@dataclass(frozen=True)
class Kept:
    """One answer to keep: the query's name (for people reading the file), the request and what it gave."""

    name: str
    request: dict[str, Any]
    #: The query process's header (``truncated``) and body (the document in the request's format).
    header: dict[str, Any]
    body: bytes


def request_key(request: dict[str, Any]) -> str:
    """What identifies a query process's request up to its row limit: the sha256 of the rest, as JSON."""
    rest = {name: value for name, value in request.items() if name != "limit"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _size(body: bytes) -> int:
    """Rows or triples in a ``terms`` document (an ``ASK`` answer has neither: 0)."""
    document = json.loads(body)
    return next((len(document[key]) for key in _CUT_KEYS if key in document), 0)


def write_kept(target: Path, answers: Iterable[Kept]) -> int:
    """Write ``answers`` into ``target``, a new or empty file (SQLite takes an empty file for an empty database);
    returns how many it holds.

    :raises sqlite3.Error: the file cannot be written.
    """
    written = 0
    with closing(sqlite3.connect(target)) as db:
        db.execute(_SCHEMA)
        for kept in answers:
            db.execute(
                "INSERT INTO answer VALUES (?, ?, ?, ?, ?)",
                (
                    request_key(kept.request),
                    kept.name,
                    int(bool(kept.header.get("truncated"))),
                    _size(kept.body),
                    kept.body,
                ),
            )
            written += 1
        db.commit()
    return written


class KeptAnswers:
    """The build's kept answers (``build/answers-<hash>.sqlite``), read-only.

    The keys are read once, when the file is opened (a few dozen): a request that was not kept is told apart
    without touching the file. An answer is read from the file each time it is asked for: the pages it makes
    are kept in the service's answer cache, and the file stays on disk, in the page cache, once for every process.
    """

    def __init__(self, file: Path) -> None:
        """:raises KeptAnswersUnreadable: the file is missing or not a file of kept answers."""
        self.file = file
        try:
            with closing(self._connect()) as db:
                self._keys = frozenset(key for (key,) in db.execute("SELECT key FROM answer"))
        except sqlite3.Error as exc:
            raise KeptAnswersUnreadable(f"{file}: not a file of kept answers ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"{self.file.resolve().as_uri()}?mode=ro", uri=True)

    def answer(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes] | None:
        """The header and body a query process would answer ``request`` with, when the build kept its answer
        and it holds what the request's row limit asks for; ``None`` otherwise (the request is evaluated).

        The build keeps each answer in the service's own ``terms`` form; a request for a result format
        (``json``, ``xml``, ``csv``, ``tsv``: a canned query's client) is written from it here, as the query
        process writes it (:func:`.results.write_table`). A kept answer longer than the limit is cut to it
        (``truncated``), as the query process cuts: the same store answers the same query in the same order.
        One the build cut itself holds no more than it kept, so a larger limit is evaluated.
        """
        fmt = str(request["format"])
        if fmt not in TABLE_WRITERS:  # a graph of a CONSTRUCT in an RDF format: only its terms are kept
            return None
        key = request_key({**request, "format": "terms"})
        if key not in self._keys:
            return None
        try:
            with closing(self._connect()) as db:
                found = db.execute(
                    "SELECT truncated, size, body FROM answer WHERE key = ?", (key,)
                ).fetchone()
        except sqlite3.Error:
            return None  # the file went away under a running server (a rebuild): the store answers
        if found is None:
            return None
        truncated, size, body = bool(found[0]), int(found[1]), bytes(found[2])
        limit = int(request["limit"])
        if truncated and limit > size:
            return None
        cut = truncated or size > limit
        if fmt == "terms" and not cut:
            return {"ok": True, "truncated": False}, body
        document = json.loads(body)
        if fmt == "terms":
            for name in _CUT_KEYS:
                if name in document:
                    document[name] = document[name][:limit]
            return {"ok": True, "truncated": True}, json.dumps(document, ensure_ascii=False).encode()
        try:
            if "boolean" in document:
                written = write_boolean(fmt, bool(document["boolean"]))
            elif "rows" in document:
                rows = ([decode_term(term) for term in row] for row in document["rows"][:limit])
                written = write_table(fmt, document["vars"], rows)
            else:
                return None
        except NotWritable:
            return None  # the query process says why, in the error it answers
        return {"ok": True, "truncated": cut}, written
