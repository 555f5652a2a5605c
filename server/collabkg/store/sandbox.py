"""Limits around running a query: a deadline that really stops it, and no file, network or process access.

:func:`within` runs work under both. A store that answers from elsewhere lets its own address through
(:func:`reaching`); nothing else is reachable, whatever a query says.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from .query import AccessRefused, TimeLimitExceeded

__all__ = ["Address", "interrupt", "reaching", "within"]

T = TypeVar("T")


class _Interrupt(BaseException):
    """Raised inside a query that has run out of time.

    A ``BaseException``, like ``KeyboardInterrupt``, because rdflib catches ``Exception`` in places (its casts
    turn any exception into a SPARQL error that a FILTER then treats as false). It never leaves
    :func:`within`.
    """


#: Seconds between repeated alarms once a query is past its deadline, in case rdflib swallowed the first.
_RETRY = 0.05
#: Whether the alarm handler may interrupt: set while a query runs in the main thread. A one-item list so that
#: clearing it is a single store, with no point where the interpreter runs a signal handler in between.
_ALARM_ARMED = [False]
_GUARDED: contextvars.ContextVar[bool] = contextvars.ContextVar("collabkg_query_guard", default=False)
#: The one address a guarded query may connect to: the store it runs on, while that store sends it there.
_REACHABLE: contextvars.ContextVar[Address | None] = contextvars.ContextVar("collabkg_store", default=None)


@dataclass(frozen=True)
class Address:
    """Where a remote store listens: its host as written in its URL, the addresses that resolves to, its port."""

    host: str
    ips: frozenset[str]
    port: int

    def admits(self, event: str, args: tuple[Any, ...]) -> bool:
        """Whether an audited network event goes to this address and nowhere else."""
        if event == "urllib.Request":
            url = urllib.parse.urlsplit(args[0])
            default = 443 if url.scheme == "https" else 80
            return url.hostname == self.host and (url.port or default) == self.port
        if event == "socket.getaddrinfo":
            return args[0] in (self.host, *self.ips) and args[1] == self.port
        if event == "http.client.connect":
            return args[1] == self.host and args[2] == self.port
        if event == "socket.connect":
            address = args[1]
            return isinstance(address, tuple) and address[0] in self.ips and address[1] == self.port
        return False


@contextlib.contextmanager
def reaching(address: Address) -> Iterator[None]:
    """Let a guarded query connect to ``address`` (and only there) while the block runs.

    A store that answers from elsewhere (:class:`collabkg.remote.RemoteStore`) sends the query over the network
    from inside :func:`within`; everything else the guard refuses stays refused, and no other host can be
    reached, whatever the query says.
    """
    token = _REACHABLE.set(address)
    try:
        yield
    finally:
        _REACHABLE.reset(token)


def within(seconds: float, work: Callable[[float], T]) -> T:
    """Run ``work(deadline)`` under a time limit, with no file, network or process access.

    Stopping: in the main thread (gunicorn's sync workers and Flask's test client run requests there) a
    ``SIGALRM`` timer interrupts the query wherever it is, even inside a regular expression, and repeats until
    the query has unwound. Off the main thread no signal can be used; the query then stops at its next read
    from :class:`DatasetWindow`, which checks the deadline (a pure computation over rows already read, such as
    a sort, finishes first). Either way the worker is freed, not left computing. Deadlines do not nest.

    :raises TimeLimitExceeded: the deadline passed.
    :raises AccessRefused: the work tried to read a file or the network, or to start a process.
    """
    _install_audit_hook()
    deadline = time.monotonic() + seconds
    on_main = threading.current_thread() is threading.main_thread()
    token = _GUARDED.set(True)
    try:
        try:
            if on_main:
                previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
                _ALARM_ARMED[0] = True
                previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds, _RETRY)
            return work(deadline)
        finally:
            _ALARM_ARMED[0] = False  # first: from here on the handler does nothing
            _GUARDED.reset(token)
            if on_main:
                _restore_alarm(previous_handler, previous_timer, seconds - (deadline - time.monotonic()))
    except _Interrupt:
        raise TimeLimitExceeded(seconds) from None


def interrupt() -> NoReturn:
    """Stop the running query here: its deadline has passed (for work that notices it itself, such as a
    request to a remote store that timed out). :func:`within` turns it into :class:`TimeLimitExceeded`."""
    raise _Interrupt


def _on_alarm(signum: int, frame: object) -> None:
    if _ALARM_ARMED[0]:
        raise _Interrupt


def _restore_alarm(handler: Any, timer: tuple[float, float], elapsed: float) -> None:
    """Put back the alarm set before the query (a test runner's timeout, say), less the time spent."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, handler if handler is not None else signal.SIG_DFL)
    delay, interval = timer
    if delay > 0:
        signal.setitimer(signal.ITIMER_REAL, max(delay - elapsed, 0.001), interval)


#: Audit events that reach the network or start programs; none has any business inside a query.
_REFUSED_EVENTS = frozenset(
    {
        "urllib.Request",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "http.client.connect",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
    }
)
_hook_installed = False


def _install_audit_hook() -> None:
    """Install (once per process; audit hooks cannot be removed) the hook that guards running queries."""
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True


def _import_roots() -> tuple[str, ...]:
    """Folders Python imports from: a lazily imported module (an rdflib plugin) may be read during a query."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *(p for p in sys.path if p)}
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _GUARDED.get():
        return
    if event in _REFUSED_EVENTS:
        reachable = _REACHABLE.get()
        if reachable is not None and reachable.admits(event, args):
            return
        raise AccessRefused(f"Queries may not reach the network or start programs ({event} refused).")
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):  # an already open descriptor
            return
        writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
        reading = (mode is None or set(mode) <= {"r", "b", "t"}) and not (flags or 0) & writes
        if not (reading and os.path.realpath(os.fsdecode(path)).startswith(_import_roots())):
            raise AccessRefused("Queries may not read or write files.")
