"""The lanes of query processes (:mod:`collabkg.store.processes`) on a real store: a client's query that runs long
moves to a long place, one that finds none is turned away, a query known to be long waits for a long place
without taking a quick one (whatever prologue or variable names it comes with), the service's own queries
never wait behind clients', and a query whose request is abandoned stops at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from collabkg import formats
from collabkg.store.base import DatasetSource
from collabkg.store.oxigraph import Limits, OxigraphStore, load_files
from collabkg.store.processes import ABANDON_SECONDS, Abandoned, Overloaded, abandoned_when
from collabkg.store.query import TimeLimitExceeded, prepare
from collabkg.store.sparqltext import signature
from conftest import EX, FIXTURE_GRAPHS, RUNAWAY

#: The same question as RUNAWAY, written otherwise: a prefix of its own, other variable names, a comment, other
#: spacing.
RUNAWAY_AGAIN = (
    "PREFIX unused7: <urn:x:> # again\nSELECT (COUNT(*) AS ?count) WHERE {\n  "
    + " .\n  ".join(f"?x{i} ?y{i} ?z{i}" for i in range(10))
    + "\n}"
)
#: Another question that runs as long.
OTHER_RUNAWAY = RUNAWAY.replace(" }", " . ?x ?y ?z }")
CHEAP = f"ASK {{ <{EX}alice> <{EX}knows> <{EX}bob> }}"
JSON = formats.by_name("json")


@pytest.fixture
def store() -> Iterator[OxigraphStore]:
    limits = Limits(quick=1, long=1, internal=1, quick_seconds=1.0, queue_seconds=2.0)
    loaded = load_files([DatasetSource(path, graph) for graph, path in FIXTURE_GRAPHS.items()], limits)
    yield loaded
    loaded.lanes.close()


def ask(store: OxigraphStore, text: str, seconds: float, *, internal: bool = False) -> bytes:
    deadline = time.monotonic() + seconds
    return store.respond(prepare(text), JSON, limit=100, deadline=deadline, internal=internal).body


class Outcome:
    """What a query run in a thread came to, and when."""

    def __init__(
        self,
        store: OxigraphStore,
        text: str,
        seconds: float,
        *,
        internal: bool = False,
        abandoned: threading.Event | None = None,
    ) -> None:
        self.result: bytes | Exception | None = None
        self.at = 0.0
        self._thread = threading.Thread(target=self._run, args=(store, text, seconds, internal, abandoned))
        self._thread.start()

    def _run(
        self,
        store: OxigraphStore,
        text: str,
        seconds: float,
        internal: bool,
        abandoned: threading.Event | None,
    ) -> None:
        try:
            with abandoned_when(abandoned or threading.Event()):
                self.result = ask(store, text, seconds, internal=internal)
        except Exception as exc:  # the test reads what it was
            self.result = exc
        self.at = time.monotonic()

    def join(self) -> Outcome:
        self._thread.join()
        return self


def test_the_signature_sees_through_prologue_layout_comments_and_variable_names() -> None:
    assert signature(RUNAWAY) == signature(RUNAWAY_AGAIN)
    assert signature(RUNAWAY) != signature(RUNAWAY.replace("?o0 .", "<urn:o> ."))
    # Prefixes its body uses are part of the question; others are not.
    used = "PREFIX ex: <http://example.org/> ASK { ex:a ex:b ex:c }"
    assert signature(used) != signature(used.replace("<http://example.org/>", "<http://example.net/>"))
    # A prepared query carries the signature of its text, made by the scan that prepared it.
    assert prepare(RUNAWAY_AGAIN).signature == signature(RUNAWAY) == signature(RUNAWAY_AGAIN)
    assert prepare(used).signature == signature(used)


def test_a_long_query_moves_to_the_long_place_and_runs_to_its_time_limit(store: OxigraphStore) -> None:
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        ask(store, RUNAWAY, 3)
    assert time.monotonic() - started >= 3  # not stopped at the quick lane's second: it had a long place


def test_a_long_query_finding_no_long_place_is_turned_away(store: OxigraphStore) -> None:
    first = Outcome(store, RUNAWAY, 6)
    time.sleep(1.5)  # past the quick second: it holds the long place
    with pytest.raises(Overloaded) as refused:
        ask(store, OTHER_RUNAWAY, 6)  # a new question, long too
    assert refused.value.retry_after >= 1
    assert isinstance(first.join().result, TimeLimitExceeded)


def test_a_query_known_to_be_long_takes_no_quick_place(store: OxigraphStore) -> None:
    first = Outcome(store, RUNAWAY, 6)
    time.sleep(1.5)  # it needed a long place: known long from now on, and holding the only one
    again = Outcome(store, RUNAWAY_AGAIN, 6)  # waits for a long place (2 s), then is turned away
    time.sleep(0.2)
    cheap = Outcome(store, CHEAP, 6)  # the quick place is free: answered at once
    assert b'"boolean":true' in cheap.join().result.replace(b" ", b"")  # type: ignore[union-attr]
    assert isinstance(again.join().result, Overloaded)
    assert cheap.at < again.at
    first.join()


def test_the_services_own_queries_never_wait_behind_clients(store: OxigraphStore) -> None:
    clients = [Outcome(store, RUNAWAY, 4), Outcome(store, OTHER_RUNAWAY, 4)]
    time.sleep(1.5)  # one in the long place, the quick place taken again
    started = time.monotonic()
    assert b"true" in ask(store, CHEAP, 4, internal=True)
    assert time.monotonic() - started < 1
    for client in clients:
        client.join()


@pytest.mark.parametrize(("lane", "after"), [("quick", 0.3), ("long", 1.5), ("internal", 0.3)])
def test_an_abandoned_query_stops_at_once_and_frees_its_place(
    store: OxigraphStore, lane: str, after: float
) -> None:
    """A query whose client left is stopped within moments, not run on to its time limit for nobody, and the
    place it held serves the next query (before the fix it held its place and a core for the whole 30 s)."""
    left = threading.Event()
    running = Outcome(store, RUNAWAY, 30, internal=lane == "internal", abandoned=left)
    time.sleep(after)  # 1.5 s: past the quick second, it holds the long place
    left.set()
    set_at = time.monotonic()
    assert isinstance(running.join().result, Abandoned), running.result
    assert running.at - set_at < ABANDON_SECONDS + 1.5
    # Its place is free: a long query now gets the long place and runs to its limit (it was turned away while
    # the place was held), and an internal query is answered.
    assert isinstance(Outcome(store, OTHER_RUNAWAY, 2.5).join().result, TimeLimitExceeded)
    assert b"true" in ask(store, CHEAP, 4, internal=True)
