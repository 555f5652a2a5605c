"""The query processes of one web worker, in lanes, so that no query can hold the service from others.

Oxigraph evaluates in Rust: no signal or flag stops a query that runs too long, and it releases Python's lock
while it works. Each query therefore runs in a process of its own (:mod:`.executor`), which the worker kills
when the query's time is up; the next request gets a fresh process (a few tens of milliseconds to start), so
the worker answers the next request at once and the CPU is freed for real.

Processes are grouped in lanes, per web worker:

``internal``
    the service's own queries (pages, trails, citations, canned queries, VoID): known texts, bounded answers.
    Never shared with anything a client writes, so a page stays quick while clients' queries run.
``adhoc``
    queries clients write. Each starts in one of a few *quick* processes and may use it for
    :attr:`Lanes.quick_seconds`; a query still running then moves on to one of fewer *long* places, keeping its
    process (nothing is lost), and the quick lane starts another. When every long place is taken, the query is
    stopped and the client told to come back (:class:`Overloaded`, a 503 with ``Retry-After``). A query that
    needed a long place once goes straight there the next time, whatever its prologue, layout, comments or
    variable names (:func:`.sparqltext.signature`): sent again with a new prefix declaration each time, it
    takes no quick place.

Waiting for a free process is bounded too (:attr:`Lanes.queue_seconds`): beyond capacity a request is turned
away, never queued without end.

A query whose request is abandoned (its client left: the web front sets the event given to
:func:`abandoned_when`) is stopped within :data:`ABANDON_SECONDS` the same way, its process killed and its place
freed, rather than run on to its time limit for nobody.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from .base import StoreUnavailable
from .query import TimeLimitExceeded
from .sparqltext import signature as text_signature

__all__ = [
    "ABANDON_SECONDS",
    "Abandoned",
    "Lanes",
    "Overloaded",
    "QueryProcess",
    "QueryProcessEnded",
    "abandoned_when",
]

_logger = logging.getLogger(__name__)
_LENGTH = struct.Struct(">I")
#: Seconds a new query process may take to open the store and say it is ready.
START_SECONDS = 60.0
#: Texts remembered as needing a long place (by digest), per worker.
REMEMBERED_LONG = 1024
#: Most seconds a running query goes on after its request is abandoned (a wait for its answer wakes this often
#: to look; only queries that run longer pay the wake-ups).
ABANDON_SECONDS = 0.2
#: The event saying that the request this thread answers was abandoned (:func:`abandoned_when`).
_abandoned: ContextVar[threading.Event | None] = ContextVar("abandoned", default=None)


class QueryProcessEnded(Exception):
    """The query process ended while it ran a query: the query outgrew the memory it may use (or crashed)."""


class Overloaded(Exception):
    """Every process of a lane is busy: come back in :attr:`retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Abandoned(Exception):
    """The request a query ran for was abandoned (its client left); the query was stopped, its process killed."""


@contextmanager
def abandoned_when(event: threading.Event) -> Iterator[None]:
    """Within the block, in this thread, a query stops once ``event`` is set (:class:`Abandoned` is raised).

    Set by whatever answers a request for a client (the web front, which sets the event when the client
    leaves): a context variable, so the layers in between need not pass it along.
    """
    token = _abandoned.set(event)
    try:
        yield
    finally:
        _abandoned.reset(token)


class _StillRunning(Exception):
    """The query has not answered by the time asked; it goes on in its process."""


class QueryProcess:
    """One query process (:mod:`.executor`) on a store, spoken to through its standard input and output."""

    def __init__(self, store: Path, memory: int, *, wait: bool = True) -> None:
        """Start the process and, with ``wait``, wait until it has opened the store (:meth:`ready`).

        :raises StoreUnavailable: it could not start or open the store.
        """
        self._process = subprocess.Popen(
            [sys.executable, "-m", "collabkg.store.executor", str(store), str(memory), str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._in = self._process.stdin
        self._out = self._process.stdout.fileno()
        #: Bytes read from the process and not yet taken (:meth:`_read`).
        self._buffer = bytearray()
        self._store = store
        self._ready = False
        #: Whether the process left the network (see :func:`.executor.leave_the_network`), once it is ready.
        self.isolated = False
        if wait:
            self.ready()

    def ready(self) -> None:
        """Wait until the process has opened the store (at once if it has said so already).

        :raises StoreUnavailable: it could not open the store; it is ended.
        """
        if self._ready:
            return
        try:
            said = json.loads(self._frame(time.monotonic() + START_SECONDS))
        except (_StillRunning, QueryProcessEnded) as exc:
            self.kill()
            raise StoreUnavailable(f"a query process could not open the store {self._store}") from exc
        self._ready = True
        self.isolated = bool(said.get("network"))

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def send(self, request: dict[str, Any]) -> None:
        """Send one request (the answer is read with :meth:`answer`), once the process is :meth:`ready`."""
        self.ready()
        body = json.dumps(request).encode()
        try:
            self._in.write(_LENGTH.pack(len(body)) + body)
            self._in.flush()
        except (BrokenPipeError, OSError) as exc:
            raise QueryProcessEnded(self._ending()) from exc

    def answer(self, until: float) -> tuple[dict[str, Any], bytes]:
        """The header and body answering the request sent, if they come by ``until`` (a monotonic time).

        :raises _StillRunning: they did not; the query goes on.
        :raises QueryProcessEnded: the process ended instead.
        :raises Abandoned: the request was abandoned first (:func:`abandoned_when`); the caller kills the process.
        """
        header = json.loads(self._frame(until))
        return header, self._frame(float("inf"))

    def kill(self) -> None:
        """End the process now, whatever it is doing, and reap it."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
        self._process.wait()
        self._in.close()
        assert self._process.stdout is not None
        self._process.stdout.close()

    def _frame(self, until: float) -> bytes:
        (size,) = _LENGTH.unpack(self._read(_LENGTH.size, until))
        return self._read(size, float("inf") if until == float("inf") else max(until, time.monotonic() + 5))

    def _read(self, size: int, until: float) -> bytes:
        """The next ``size`` bytes from the process. Whatever the pipe holds is read at once (an answer's two
        frames usually come in one read), and what is past ``size`` is kept for the next call: a read and a
        ``select`` per frame part were a tenth of a worker's time on a short query."""
        buffer = self._buffer
        abandoned = _abandoned.get()
        while len(buffer) < size:
            wait = None if until == float("inf") else until - time.monotonic()
            if wait is not None and wait <= 0:
                if buffer:  # an answer that has begun is read to its end
                    wait = 5.0
                else:
                    raise _StillRunning
            if abandoned is not None and not buffer:
                if abandoned.is_set():
                    raise Abandoned("the request was abandoned (its client left); its query was stopped")
                wait = ABANDON_SECONDS if wait is None else min(wait, ABANDON_SECONDS)
            readable, _, _ = select.select([self._out], [], [], wait)
            if not readable:
                if buffer:
                    raise QueryProcessEnded("the query process stopped writing its answer")
                if abandoned is None or time.monotonic() >= until:
                    raise _StillRunning
                continue  # woke to look whether the request was abandoned
            chunk = os.read(self._out, max(size - len(buffer), 1 << 20))
            if not chunk:
                raise QueryProcessEnded(self._ending())
            buffer += chunk
        taken = bytes(buffer[:size])
        del buffer[:size]
        return taken

    def _ending(self) -> str:
        """Why the process ended, as far as its exit says."""
        code = self._process.wait()
        if code in (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV, 1):
            return "the query needed more memory than this service allows a query"
        return f"the query process ended (exit {code})"


class Lanes:
    """The query processes of one web worker, in lanes (see the module's description); thread-safe.

    A lane is a number of places; a request holds a place while its query runs in a process. Processes are
    shared by the lanes: an idle one serves whichever request comes next, and a killed one is replaced when
    a request needs one.
    """

    def __init__(
        self,
        store: Path,
        *,
        memory: int,
        internal: int,
        quick: int,
        long: int,
        quick_seconds: float,
        queue_seconds: float,
    ) -> None:
        self.store = store
        self.memory = memory
        #: Seconds a client's query may run in a quick place before it needs a long one.
        self.quick_seconds = quick_seconds
        #: Most seconds a request waits for a free place before it is turned away.
        self.queue_seconds = queue_seconds
        self._size = {"internal": internal, "quick": quick, "long": long}
        self._taken = dict.fromkeys(self._size, 0)
        self._idle: list[QueryProcess] = []
        self._long_deadlines: list[float] = []
        self._long_texts: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.RLock()
        #: One condition per lane, on the one lock: a place set free wakes one request waiting for that lane,
        #: not every waiting thread of the worker (at 16 connections most of them went back to sleep at once,
        #: each after taking the GIL).
        self._free = {lane: threading.Condition(self._lock) for lane in self._size}
        self._pid = os.getpid()

    def run(
        self, request: dict[str, Any], deadline: float, *, internal: bool, signature: str | None = None
    ) -> tuple[dict[str, Any], bytes]:
        """Run one request in a process of the right lane and return its header and body.

        :param signature: the query's :func:`.sparqltext.signature`, when the caller has it already (made from
            the scan that prepared the query); else it is made here from the request's text.

        :raises TimeLimitExceeded: it did not answer by ``deadline``; its process was killed.
        :raises Overloaded: no place was free in time, or a client's query needed a long place and none was.
        :raises QueryProcessEnded: its process ended (the memory limit).
        :raises Abandoned: the request was abandoned (:func:`abandoned_when`); its process was killed.
        """
        if internal:
            return self._run_in("internal", request, deadline)
        if signature is None:
            signature = text_signature(str(request.get("query", "")))
        digest = hashlib.sha256(signature.encode()).hexdigest()
        if self._known_long(digest):
            return self._run_in("long", request, deadline)
        self._take("quick", min(deadline, time.monotonic() + self.queue_seconds))
        quick = True
        process = None
        try:
            process = self._get_process()
            process.send(request)
            try:
                answer = process.answer(min(deadline, time.monotonic() + self.quick_seconds))
                self._put_process(process)
                return answer
            except _StillRunning:
                pass
            self._remember_long(digest)
            if time.monotonic() >= deadline or not self._try_take("long", deadline):
                self._discard(process)
                if time.monotonic() >= deadline:
                    raise TimeLimitExceeded from None
                raise Overloaded(
                    "Too many long queries are running on this server; this one was stopped. "
                    "Try again later, or make it more selective.",
                    self._retry_after(),
                )
            self._release("quick")
            quick = False
            try:
                return self._wait(process, deadline)
            finally:
                self._release("long", deadline)
        except (QueryProcessEnded, Abandoned):
            if process is not None:
                self._discard(process)
            raise
        finally:
            if quick:
                self._release("quick")

    def _run_in(self, lane: str, request: dict[str, Any], deadline: float) -> tuple[dict[str, Any], bytes]:
        """Run a request to its end in ``lane``, waiting at most :attr:`queue_seconds` for a place."""
        self._take(lane, min(deadline, time.monotonic() + self.queue_seconds), deadline)
        try:
            process = self._get_process()
            try:
                process.send(request)
            except QueryProcessEnded:
                self._discard(process)
                raise
            return self._wait(process, deadline)
        finally:
            self._release(lane, deadline)

    def _wait(self, process: QueryProcess, deadline: float) -> tuple[dict[str, Any], bytes]:
        """The answer by ``deadline``, the process then idle again; else the process is killed."""
        try:
            answer = process.answer(deadline)
        except _StillRunning:
            self._discard(process)
            raise TimeLimitExceeded from None
        except (QueryProcessEnded, Abandoned):
            self._discard(process)
            raise
        self._put_process(process)
        return answer

    # --- places --------------------------------------------------------------------------------------------------

    def _take(self, lane: str, until: float, deadline: float | None = None) -> None:
        """Take a place in ``lane``, waiting for one until ``until``.

        :raises Overloaded: none came free.
        """
        with self._lock:
            while self._taken[lane] >= self._size[lane]:
                wait = until - time.monotonic()
                if wait <= 0:
                    raise Overloaded(
                        f"All of this server's places for {_LANE_WORDS[lane]} are taken; try again shortly.",
                        self._retry_after(),
                    )
                self._free[lane].wait(wait)
            self._taken[lane] += 1
            if lane == "long" and deadline is not None:
                self._long_deadlines.append(deadline)

    def _try_take(self, lane: str, deadline: float) -> bool:
        """Take a place in ``lane`` if one is free now."""
        with self._lock:
            if self._taken[lane] >= self._size[lane]:
                return False
            self._taken[lane] += 1
            if lane == "long":
                self._long_deadlines.append(deadline)
            return True

    def _release(self, lane: str, deadline: float | None = None) -> None:
        with self._lock:
            self._taken[lane] -= 1
            if lane == "long" and deadline in self._long_deadlines:
                self._long_deadlines.remove(deadline)
            self._free[lane].notify()

    def _retry_after(self) -> int:
        """Seconds until a place should be free: when the first long query now running must end (or 1)."""
        ends = min(self._long_deadlines, default=time.monotonic() + 1)
        return max(1, math.ceil(ends - time.monotonic()))

    def _known_long(self, digest: str) -> bool:
        with self._lock:
            return digest in self._long_texts

    def _remember_long(self, digest: str) -> None:
        with self._lock:
            self._long_texts[digest] = None
            self._long_texts.move_to_end(digest)
            while len(self._long_texts) > REMEMBERED_LONG:
                self._long_texts.popitem(last=False)

    # --- processes ---------------------------------------------------------------------------------------------

    def prestart(self) -> None:
        """Start a query process now, without waiting for it: the first query finds it open, instead of
        waiting the tens of milliseconds a process takes to start (a worker's first answer after a start).

        Call it from a thread that lives as long as the worker (its main thread, just after the fork): a query
        process ends with the thread that started it (:func:`.executor.die_with_parent`).
        """
        process = QueryProcess(self.store, self.memory, wait=False)
        with self._lock:
            self._idle_here().append(process)

    def _get_process(self) -> QueryProcess:
        """An idle process, or a new one (started outside the lock: it takes tens of milliseconds)."""
        with self._lock:
            idle = self._idle_here()
            while idle:
                process = idle.pop()
                if process.alive():
                    return process
        return QueryProcess(self.store, self.memory)

    def _idle_here(self) -> list[QueryProcess]:
        """The idle processes of this process (with the lock held): a forked worker never shares its parent's."""
        if os.getpid() != self._pid:
            self._idle, self._pid = [], os.getpid()
        return self._idle

    def _put_process(self, process: QueryProcess) -> None:
        with self._lock:
            if process.alive() and os.getpid() == self._pid:
                self._idle.append(process)

    def _discard(self, process: QueryProcess) -> None:
        """Kill a process whose query ran out of time or space (the next request starts another)."""
        try:
            process.kill()
        except OSError:
            _logger.warning("query process %s could not be killed", process.pid, exc_info=True)

    def close(self) -> None:
        """Kill the idle processes (busy ones end with their requests' time limits)."""
        with self._lock:
            idle, self._idle = (self._idle, []) if os.getpid() == self._pid else ([], [])
        for process in idle:
            self._discard(process)


#: How a lane is named to a client turned away.
_LANE_WORDS = {"internal": "this service's own queries", "quick": "queries", "long": "long queries"}
