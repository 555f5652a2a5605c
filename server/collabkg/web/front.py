"""The front: the app (WSGI) behind an ASGI application that keeps every thread away from the clients.

A thread that runs the app must never wait on a client, or a few slow clients hold the service: two idle
sockets froze two synchronous workers for the length of their timeout. So, on one event loop per worker
process:

* the request is read whole (head by the server, body here) before a thread is taken: an idle or slow client
  costs a coroutine, never a thread, and a body that has not arrived within ``BODY_SECONDS`` is answered 408;
* the app's answer is written whole (in memory, or a temporary file past :data:`SPOOL_BYTES`) before any of it
  is sent, and a file the app sends (``send_file``, the dumps) is sent from the loop, unread by any thread: a
  client that reads slowly holds a socket and a buffer, never a thread, and one that stops reading for
  ``SEND_SECONDS`` is dropped;
* the threads are few and counted (``THREADS``); a request that finds none free within ``QUEUE_SECONDS`` is
  answered 503 with ``Retry-After``, so the queue for threads is bounded too;
* a client that leaves while its request runs is heard (the server's ``http.disconnect``): the request is
  marked abandoned (:func:`~collabkg.store.processes.abandoned_when`), so its query is stopped and its place
  freed at once rather than at the time limit, and its answer is dropped.

Why not a library: asgiref's ``WsgiToAsgi`` runs every request in one shared thread (``thread_sensitive``),
one slow page holding all others; a2wsgi streams the answer from the app's thread, so a slow reader holds the
thread, and a request cancelled by a disconnect can leave it waiting for ever on a full queue.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from werkzeug.wsgi import FileWrapper

from ..store.processes import abandoned_when

__all__ = ["Front", "FrontLimits"]

_logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Bytes of an answer kept in memory; a longer one is written to a temporary file until it is sent.
SPOOL_BYTES = 1 << 20
#: Bytes sent at a time.
CHUNK_BYTES = 256 * 1024
#: Statuses whose answers carry no body (RFC 9110).
_BODILESS = frozenset({204, 304})


@dataclass(frozen=True)
class FrontLimits:
    """The bounds the front keeps (see the module's description)."""

    #: Largest body read; the app sees a longer one as too large (its own 413).
    body_bytes: int
    #: Seconds the whole body may take to arrive; past them, 408.
    body_seconds: float
    #: Seconds a client may leave a part of the answer unread before it is dropped.
    send_seconds: float
    #: Threads running the app, per worker process.
    threads: int
    #: Seconds a request may wait for a free thread before a 503.
    queue_seconds: float


class _Answer:
    """An answer the app gave in full: its status, headers and body (a spool, or the file it sends)."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: IO[bytes], size: int) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.size = size

    def close(self) -> None:
        self.body.close()


class _Reply:
    """Collects one app call's ``start_response`` (PEP 3333: a later call with ``exc_info`` replaces it)."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        # Outlives this call: closed by _Answer.close once the answer is sent.
        self.body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        if self.status and exc_info is None:
            raise RuntimeError("start_response called twice without exc_info")
        self.status, self.headers = status, list(headers)
        return self.body.write


class Front:
    """An ASGI application serving the WSGI ``app`` under :class:`FrontLimits`."""

    def __init__(self, app: Callable[..., Iterable[bytes]], limits: FrontLimits) -> None:
        self.app = app
        self.limits = limits
        # Both are made in the worker process that uses them, on first need: threads do not survive a fork.
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._free: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1003})
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _threads(self) -> tuple[ThreadPoolExecutor, asyncio.Semaphore]:
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(self.limits.threads, thread_name_prefix="collabkg-app")
            self._pool_pid = os.getpid()
            self._free = asyncio.Semaphore(self.limits.threads)
        assert self._free is not None
        return self._pool, self._free

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _declared_length(scope)
        try:
            async with asyncio.timeout(self.limits.body_seconds):
                # A body declared too large is not read at all: the app refuses it by its length (413).
                body = b"" if declared > self.limits.body_bytes else await self._read_body(receive)
        except TimeoutError:
            await _refuse(
                send, 408, f"The request body did not arrive within {self.limits.body_seconds:g} s."
            )
            return
        if body is None:  # the client left
            return
        pool, free = self._threads()
        try:
            async with asyncio.timeout(self.limits.queue_seconds):
                await free.acquire()
        except TimeoutError:
            await _refuse(send, 503, "Every thread of this server is busy; try again shortly.", retry_after=1)
            return
        environ = _environ(scope, body, max(declared, len(body)))
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[_Answer] = loop.create_future()
        abandoned = threading.Event()
        called: Future[_Answer] = pool.submit(self._call, environ, abandoned)
        # One wake-up of the loop when the thread is done, which frees its place and hands the answer over
        # (asyncio.wrap_future and a release of its own took two).
        called.add_done_callback(lambda _: loop.call_soon_threadsafe(_hand_over, called, answered, free))
        # Listened for only once the body is in: a body too large was left unread, and a receive() would read
        # it (asking the client for it, if it waits for "100 Continue") while the app refuses it (413).
        read_whole = max(declared, len(body)) <= self.limits.body_bytes
        departure = asyncio.create_task(_departure(receive, abandoned, answered)) if read_whole else None
        try:
            answer = await answered
        except asyncio.CancelledError:
            # The client left (the departure's doing), or the server cancels this request: either way the
            # thread stops its query, and its answer is dropped when it is done (_hand_over).
            abandoned.set()
            answered.cancel()
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return
        finally:
            if departure is not None:
                departure.cancel()
        try:
            await self._send_answer(answer, send)
        finally:
            answer.close()

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The body (``None`` if the client left); reading stops past the limit, and the app refuses it (413)."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            parts.append(chunk)
            size += len(chunk)
            if size > self.limits.body_bytes or not message.get("more_body", False):
                return b"".join(parts)

    def _call(self, environ: dict[str, Any], abandoned: threading.Event) -> _Answer:
        """Run the app on one request, in a thread; its whole answer is kept before anything is sent.

        Its queries stop once ``abandoned`` is set (the client left).
        """
        with abandoned_when(abandoned):
            return self._answer(environ)

    def _answer(self, environ: dict[str, Any]) -> _Answer:
        reply = _Reply()
        result = self.app(environ, reply.start_response)
        if type(result) is FileWrapper:
            # A file sent whole (werkzeug passes it through untouched): sent from the loop, as it is.
            reply.body.close()
            body: IO[bytes] = result.file
            size = os.fstat(body.fileno()).st_size - body.tell()
        else:
            try:
                for chunk in result:
                    reply.body.write(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            body, size = reply.body, reply.body.tell()
            body.seek(0)
        code = int(reply.status.split(" ", 1)[0])
        return _Answer(code, reply.headers, body, size)

    async def _send_answer(self, answer: _Answer, send: Send) -> None:
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers
        ]
        bodiless = answer.status in _BODILESS or 100 <= answer.status < 200
        if not bodiless and not any(name in (b"content-length", b"transfer-encoding") for name, _ in headers):
            headers.append((b"content-length", str(answer.size).encode()))
        try:
            async with asyncio.timeout(self.limits.send_seconds):
                await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            left = 0 if bodiless else answer.size
            while True:
                chunk = answer.body.read(min(CHUNK_BYTES, left)) if left else b""
                left -= len(chunk)
                last = not chunk or left <= 0
                async with asyncio.timeout(self.limits.send_seconds):
                    await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                if last:
                    return
        except TimeoutError:
            _logger.info("a client left an answer unread for %g s; dropped", self.limits.send_seconds)
            # The answer ends short of its length: the server closes the connection (and resets it, should the
            # client still not read). Sending nothing more, this does not wait on the client.
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _departure(receive: Receive, abandoned: threading.Event, answered: asyncio.Future[_Answer]) -> None:
    """Wait for the client to leave while its request runs (the body has been read: the server's next message
    is ``http.disconnect``); then mark the request abandoned and give up its answer."""
    while (await receive())["type"] != "http.disconnect":
        pass
    abandoned.set()
    answered.cancel()


def _hand_over(called: Future[_Answer], answered: asyncio.Future[_Answer], free: asyncio.Semaphore) -> None:
    """On the loop, once the app's thread is done: free its place, and give its answer to the request, or
    drop it if the request is gone (the client left)."""
    free.release()
    if called.cancelled():  # the pool was shut down before the thread took it (the worker is stopping)
        answered.cancel()
        return
    error = called.exception()
    if answered.cancelled():
        if error is None:
            called.result().close()
    elif error is not None:
        answered.set_exception(error)
    else:
        answered.set_result(called.result())


async def _refuse(send: Send, status: int, message: str, retry_after: int | None = None) -> None:
    """Answer without the app (and so without a thread): plain text naming the problem, then close."""
    body = (message + "\n").encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"connection", b"close"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int:
    """The request's ``Content-Length`` (0 if none; the server has refused malformed ones)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value)
    return 0


def _environ(scope: Scope, body: bytes, length: int) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of a request read whole.

    The body is given with a length, whatever its framing on the wire (chunked included): its own, or one past
    the limit when it was not read whole for being too large, which the app refuses (413).
    """
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(length),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"], port = scope["client"][:2]
        environ["REMOTE_PORT"] = str(port)
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = raw_name.decode("latin-1").upper().replace("-", "_"), raw_value.decode("latin-1")
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ
