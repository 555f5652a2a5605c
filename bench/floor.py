"""The floors of the query benchmark: what collabkg's answers cannot be faster than.

Two of them, each measuring a different part of what collabkg spends per request:

* the HTTP floor: a Flask app that answers "hello", served as collabkg is (gunicorn, the front). Whatever
  collabkg spends above it per request is its own work (parsing, evaluating, serializing), not the WSGI
  server's or the network's. Usage: ``python -m bench.floor PORT``.
* the engine floor (:func:`engine_floor`): the benchmark's queries evaluated by pyoxigraph in this process,
  on a store loaded the way collabkg loads ``serve --dataset`` (:func:`open_store`), and their results
  serialized as SPARQL JSON, in a loop on one thread: no HTTP, no query process, no cache. It is what
  Oxigraph itself costs per query, so collabkg at one connection against it is collabkg's own overhead.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from collabkg.store.base import DatasetSource
from collabkg.store.oxigraph import write_store
from collabkg.web.app import DEFAULTS
from collabkg.web.serving import run
from flask import Flask

__all__ = ["EnginePoint", "app", "engine_floor", "open_store", "rows", "with_prefix"]

app = Flask(__name__)
app.config.from_mapping(DEFAULTS)  # the limits collabkg.web.serving reads, as collabkg's defaults


@app.get("/")
def hello() -> str:
    return "hello"


def with_prefix(query: str, number: int) -> str:
    """``query`` as the new-text mix sends it: an unused prefix declaration of its own before it, so that no
    server has seen the text (no answer cache, no parsed-query cache helps), while the answer stays the same."""
    return f"PREFIX n{number}: <urn:n:>\n{query}"


def open_store(dataset: Path, folder: Path) -> ox.Store:
    """``dataset`` in a new Oxigraph store at ``folder``, opened read-only: written by collabkg's own
    :func:`collabkg.store.oxigraph.write_store` (the default graph the union of the named graphs, each triple
    once), as ``collabkg serve --dataset`` writes it and its query processes open it."""
    write_store(folder, [DatasetSource(dataset)])
    return ox.Store.read_only(str(folder))


def _answer(store: ox.Store, query: str) -> bytes:
    """The query's results as SPARQL JSON: what a server sends back, so the floor does the same work."""
    solutions = store.query(query)
    if not isinstance(solutions, ox.QuerySolutions):
        raise TypeError(f"not a SELECT query: {query[:60]}")
    return bytes(solutions.serialize(format=ox.QueryResultsFormat.JSON))


def rows(store: ox.Store, query: str) -> int:
    """How many rows ``query`` has on ``store``: the answer every server must give."""
    solutions = store.query(query)
    if not isinstance(solutions, ox.QuerySolutions):
        raise TypeError(f"not a SELECT query: {query[:60]}")
    return sum(1 for _ in solutions)


@dataclass(frozen=True)
class EnginePoint:
    """One floor point: queries answered per second by the loop, and the median time of one."""

    requests_per_s: float
    p50_ms: float


def engine_floor(store: ox.Store, query: str, *, duration: float, new_text: bool) -> EnginePoint:
    """Answer ``query`` on ``store`` again and again for ``duration`` seconds, on this thread; with
    ``new_text``, each time with a prefix declaration of its own (:func:`with_prefix`), so that it is parsed
    and planned every time, as a server must for a text it has not seen."""
    seconds: list[float] = []
    started = time.perf_counter()
    while (now := time.perf_counter()) - started < duration:
        _answer(store, with_prefix(query, len(seconds)) if new_text else query)
        seconds.append(time.perf_counter() - now)
    return EnginePoint(len(seconds) / (time.perf_counter() - started), statistics.median(seconds) * 1000)


if __name__ == "__main__":
    run(app, "127.0.0.1", int(sys.argv[1]), workers=2)
