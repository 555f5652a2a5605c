"""Serving the app with gunicorn, from Python (``collabkg serve``): worker processes, each one event loop.

The app (with its store opened) is created once, in gunicorn's master process, and the workers are forked from
it (``preload_app``), so they start at once. Each worker runs gunicorn's ``asgi`` worker: one event loop reads
every connection, and :class:`~.front.Front` hands a request to a thread of the app only once it has arrived
whole, and sends the answer from the loop. What a client can hold is a socket, never a thread.

gunicorn's ``asgi`` worker leaves three bounds open, which :class:`Worker` closes: it gives a connection no
deadline for its first request's head (only later requests are bounded, by ``keepalive``), so an idle or
slow-header ("slowloris") connection stayed open for ever; it does not enforce ``worker_connections``; and a
connection it closes stays open until the client has read what is buffered for it, which one that stopped
reading never does. Here a connection that has not sent a whole head within ``HEADER_SECONDS`` is closed, one
past ``CONNECTIONS`` is answered 503 and closed, and one closed with data its client leaves unread for
``SEND_SECONDS`` is reset.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import resource
import sys
from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.asgi import protocol
from gunicorn.config import KNOWN_SETTINGS
from gunicorn.workers import gasgi

from .app import create_app
from .context import EXTENSION, Service
from .front import Front, FrontLimits

#: Seconds past the query time limit before gunicorn gives up on a worker whose loop stopped answering.
WORKER_GRACE = 30
#: Longest request line gunicorn accepts (its maximum): long queries sent with GET fit, longer ones need POST.
MAX_REQUEST_LINE = 8190
#: Seconds a kept-alive connection may wait for its next request.
KEEPALIVE_SECONDS = 5
#: What a connection past the ceiling is told before it is closed.
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\n"
    b"X-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: 48\r\n\r\n"
    b"This server has too many connections; try again.\n"
)


class _Connection(protocol.ASGIProtocol):
    """gunicorn's ASGI connection, with a deadline for its first request's head and a ceiling on connections."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        if self.worker.nr_conns > self.worker.worker_connections:
            transport.write(_BUSY)
            self._close_transport()
            return
        # The timer gunicorn arms between requests, armed here for the first one: it is cancelled when the
        # head is in, and closes the connection otherwise.
        self._keepalive_handle = self.worker.loop.call_later(
            self.worker.header_seconds, self._keepalive_timeout
        )

    def _close_transport(self) -> None:
        super()._close_transport()
        # Closing waits until the client has taken what is still buffered (at most gunicorn's 64 KiB high-water
        # mark); one that never reads again would keep the socket for ever. It gets as long as for any part of
        # an answer, then the connection is reset.
        if not self._conn_lost_handled and self.transport is not None:
            self.worker.loop.call_later(self.worker.send_seconds, self._reset)

    def _reset(self) -> None:
        if not self._conn_lost_handled:
            self.transport.abort()


class Worker(gasgi.ASGIWorker):
    """gunicorn's ``asgi`` worker, serving its connections with :class:`_Connection`."""

    #: Seconds a new connection may take to send its first request's head.
    header_seconds = 10.0
    #: Seconds a closed connection may take to take what is still buffered for it.
    send_seconds = 30.0

    def init_process(self) -> None:
        # The worker makes its connections with the class its module imported under this name: in the worker
        # process (only), that is ours. tests/test_serving.py fails should a gunicorn release stop using it.
        gasgi.ASGIProtocol = _Connection
        super().init_process()

    def run(self) -> None:
        self.loop.create_server = self._create_server
        super().run()

    async def _create_server(self, *args: Any, **options: Any) -> asyncio.Server:
        """The loop's server on the shared socket, taking one connection each time the socket is ready.

        Every worker waits on the one listening socket, and asyncio accepts as many connections at each wake
        as ``backlog`` (100): the worker that woke first took a whole burst, so a client opening sixteen
        connections at once often had them all on one worker, limited to the one core its interpreter can
        use, while the other idled (new query texts at 16 connections: 390 or 810 req/s by that draw). Taking
        one at a time, the workers take turns. The kernel's queue keeps gunicorn's length (``listen`` again:
        asyncio's ``backlog`` sets both).
        """
        server = await type(self.loop).create_server(self.loop, *args, **{**options, "backlog": 1})
        if options.get("sock") is not None:
            options["sock"].listen(self.cfg.backlog)
        return server


class GunicornServer(BaseApplication):
    """gunicorn, configured from a dict instead of its command line, serving an app that already exists."""

    def __init__(self, app: Front | Flask, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Front | Flask:
        return self._app


def front(app: Flask) -> Front:
    """``app`` behind the :class:`~.front.Front`, with the limits of its config."""
    config = app.config
    return Front(
        app,
        FrontLimits(
            body_bytes=int(config["MAX_CONTENT_LENGTH"]),
            body_seconds=float(config["BODY_SECONDS"]),
            send_seconds=float(config["SEND_SECONDS"]),
            threads=int(config["THREADS"]),
            queue_seconds=float(config["QUEUE_SECONDS"]),
        ),
    )


def _end_worker(arbiter: object, worker: object) -> None:
    """gunicorn's last call in a worker process (its ``worker_exit`` hook): end the process at once, without the
    interpreter's exit.

    The master may have started RocksDB's thread pools (``serve`` builds first, ``--dataset`` loads a store),
    which a forked worker inherits as data but not as threads: at exit their destructors wait for threads that
    do not exist, and the worker hung until the master killed it at ``graceful_timeout`` (or crashed). Nothing
    is lost: a worker's query processes end with it (:func:`collabkg.store.executor.die_with_parent`), and the
    temporary store the master made is the master's to remove, not a worker's on its way out.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def gunicorn_options(
    app: Flask, host: str, port: int, workers: int, access_log: str | None = None
) -> dict[str, Any]:
    """gunicorn settings for the app: where to listen, how many workers, and limits that follow its config.

    :param access_log: a file to log each request to (``-`` for stderr), or ``None`` for none. Off unless
        asked, as in gunicorn and Oxigraph: formatting and writing the line took a tenth of a worker's time per
        query (new query texts at 16 connections: about 10 % more answers a second without it).
    """
    limits = {
        "header_seconds": float(app.config["HEADER_SECONDS"]),
        "send_seconds": float(app.config["SEND_SECONDS"]),
    }
    worker = type("Worker", (Worker,), limits)
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": worker,
        "worker_connections": int(app.config["CONNECTIONS"]),
        # uvloop (libuv) runs the loop's own work (sockets, timers, wake-ups from the app's threads) in C:
        # about 9 % more answers a second for new query texts at 16 connections than asyncio's loop.
        "asgi_loop": "uvloop",
        "preload_app": True,
        # The loop answers gunicorn's heartbeat whatever the app does (the app runs in threads, queries in
        # processes of their own): a worker silent this long is broken.
        "timeout": math.ceil(float(app.config["QUERY_TIMEOUT"])) + WORKER_GRACE,
        "keepalive": KEEPALIVE_SECONDS,
        "limit_request_line": MAX_REQUEST_LINE,
        "accesslog": access_log,
        "worker_exit": _end_worker,
    }
    if EXTENSION in app.extensions:  # an app of ours, with a store (not the bench's bare "hello" app)
        # In the new worker's main thread, before its loop: the store gets ready to answer (a query process
        # started while the worker boots, not at its first query).
        options["post_fork"] = lambda arbiter, worker: Service.of(app).store.warm()
    if "control_socket_disable" in {setting.name for setting in KNOWN_SETTINGS}:
        # gunicorn 27 opens a management socket in ~/.gunicorn by default: not wanted for a read-only service,
        # and two servers of one user would fight over it.
        options["control_socket_disable"] = True
    return options


def _allow_open_files(wanted: int) -> None:
    """Raise this process's limit on open files (inherited by the workers) towards ``wanted``, as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def run(app: Flask, host: str, port: int, workers: int, access_log: str | None = None) -> None:
    """Serve ``app`` with gunicorn, configured by :func:`gunicorn_options`, until interrupted."""
    # The objects made at start live as long as the process: out of the collector's sight, full collections
    # in the workers no longer walk them, nor touch their pages (which copy-on-write would copy per worker).
    gc.freeze()
    # Every connection is a file; a worker holds up to CONNECTIONS of them, and a few per query process.
    _allow_open_files(int(app.config["CONNECTIONS"]) + 256)
    GunicornServer(front(app), gunicorn_options(app, host, port, workers, access_log)).run()


def serve(config: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Create the app from ``config`` and serve it until interrupted.

    :raises collabkg.store.DatasetLoadError: there is no current build output, or a dataset file does not load
        (:class:`collabkg.store.BuildUnavailable` says which).
    :raises collabkg.store.StoreUnavailable: a store elsewhere cannot be used.
    """
    run(create_app(config), host, port, workers)
