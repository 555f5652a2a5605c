"""Answers of read-only queries, and the pages made from them, kept in memory and validated by ``ETag``.

The served dataset never changes while the app runs (it changes only at build, and a new build is a new
:attr:`collabkg.store.Store.version`), so an answer stays right for as long as the key it was stored under
names the same query, bindings, dataset version, negotiated format and result limit. No invalidation is needed:
a key that includes the version cannot outlive it.

The same key, hashed, is the response's ``ETag``: a client (or proxy) that sends it back in ``If-None-Match``
gets ``304 Not Modified`` without the query being parsed or run at all. The tag is weak (``W/``) because rdflib
may order the rows of an unordered result differently in another process: same meaning, maybe other bytes.

Entries are stored under that digest, not under the key itself: a key holds the query text, which can be a
megabyte, and 600 such keys once grew a worker by half a gigabyte while the bodies they kept were small.
Memory is bounded by the bytes of the bodies and of their digests, with a fixed charge per entry for the
rest (``CACHE_BYTES``; 0 turns caching off), least recently used first out. Each worker process has its own
cache.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from werkzeug.wrappers import Response

#: A response of any class (Flask's, werkzeug's): given back as it came.
R = TypeVar("R", bound=Response)

__all__ = ["CachedAnswer", "KeyLocks", "ResultCache", "etag_of", "tagged"]


@dataclass(frozen=True)
class CachedAnswer:
    """What a response needs to be written again: its bytes, its type and whether it was cut at the limit; for
    a page, its status and the headers its view set (``Location``, ``Link``, ``Vary``...)."""

    body: bytes
    content_type: str
    truncated: bool
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


#: Bytes charged for each entry besides its body and digest (the entry's objects and the map's slot).
ENTRY_OVERHEAD = 256


def etag_of(key: tuple[object, ...]) -> str:
    """The digest of an answer's key: its entity tag and the cache's key, revealing nothing of the query."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


def tagged(response: R, tag: str | None) -> R:
    """Mark an answer as negotiated (``Vary: Accept``) and, when it has a tag, revalidatable by its ETag before
    any reuse (``Cache-Control: public, no-cache``: it may be stored, and revalidating it is cheap).

    The headers are written as text: werkzeug's header objects cost as much as the rest of a cache hit.
    """
    headers = response.headers
    headers["Vary"] = "Accept"
    if tag is not None:
        headers["ETag"] = f'W/"{tag}"'
        headers["Cache-Control"] = "public, no-cache"
    return response


class ResultCache:
    """A least-recently-used map from answer keys to answers, bounded by the total bytes of the bodies."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._bytes = 0
        # The development server and tests may answer from threads; gunicorn's sync workers never contend.
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes charged for the entries held: bodies, digests and the fixed charge per entry."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def digests(self) -> list[str]:
        """The keys held (digests), least recently used first."""
        with self._lock:
            return list(self._entries)

    def get(self, key: str) -> CachedAnswer | None:
        """The answer stored under ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: str, answer: CachedAnswer) -> None:
        """Keep ``answer``, dropping the least recently used until the bodies fit; one larger than the whole
        budget is not kept at all (it would only push everything else out)."""
        cost = _cost(key, answer)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= _cost(key, old)
            self._entries[key] = answer
            self._bytes += cost
            while self._bytes > self.max_bytes:
                dropped_key, dropped = self._entries.popitem(last=False)
                self._bytes -= _cost(dropped_key, dropped)


def _cost(key: str, answer: CachedAnswer) -> int:
    """The bytes an entry is charged."""
    headers = sum(len(name) + len(value) for name, value in answer.headers)
    return len(key) + len(answer.body) + len(answer.content_type) + headers + ENTRY_OVERHEAD


class KeyLocks:
    """A lock per key, for as long as a thread holds or waits for it: requests for the same missing answer take
    turns, so that the first makes it and the others find it kept, instead of all making it at once (a page
    asked for by sixteen clients the moment a worker starts would otherwise queue sixteen times its queries).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: The lock of each key in use, and how many threads hold or wait for it.
        self._held: dict[str, tuple[threading.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._held)

    @contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        """Hold ``key``'s lock, waiting at most ``timeout`` seconds; yields whether it was acquired (a caller that
        waited in vain goes on without it: making an answer twice is better than failing to make it)."""
        with self._lock:
            lock, users = self._held.get(key, (None, 0))
            lock = lock or threading.Lock()
            self._held[key] = (lock, users + 1)
        acquired = lock.acquire(timeout=timeout)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._lock:
                users = self._held[key][1] - 1
                if users:
                    self._held[key] = (lock, users)
                else:
                    del self._held[key]
