"""Serving the app with gunicorn, a production WSGI server, from Python (``collabkg serve``).

The app (with its loaded dataset) is created once, in gunicorn's master process, and the workers are forked
from it (``preload_app``): they share the dataset's memory and start at once. Workers are gunicorn's
synchronous ones, each running one request at a time in its main thread, where :func:`collabkg.store.sandbox.within`
can stop a query with an alarm signal. Should a query ever hang where no signal reaches (inside a C
extension), gunicorn's own worker timeout, set a little above the query time limit, kills the worker and
starts a fresh one.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS

from .app import create_app

#: Seconds past the query time limit before gunicorn gives up on a silent worker.
WORKER_GRACE = 30
#: Longest request line gunicorn accepts (its maximum): long queries sent with GET fit, longer ones need POST.
MAX_REQUEST_LINE = 8190


class _Gunicorn(BaseApplication):
    """gunicorn, configured from a dict instead of its command line, serving an app that already exists."""

    def __init__(self, app: Flask, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app


def gunicorn_options(app: Flask, host: str, port: int, workers: int) -> dict[str, Any]:
    """gunicorn settings for the app: where to listen, how many workers, and limits that follow its config."""
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "preload_app": True,
        "timeout": math.ceil(float(app.config["QUERY_TIMEOUT"])) + WORKER_GRACE,
        "limit_request_line": MAX_REQUEST_LINE,
        "accesslog": "-",
    }
    if "control_socket_disable" in {setting.name for setting in KNOWN_SETTINGS}:
        # gunicorn 27 opens a management socket in ~/.gunicorn by default: not wanted for a read-only service,
        # and two servers of one user would fight over it.
        options["control_socket_disable"] = True
    return options


def run(app: Flask, host: str, port: int, workers: int) -> None:
    """Serve ``app`` with gunicorn, configured by :func:`gunicorn_options`, until interrupted."""
    # The dataset is millions of objects that live as long as the process: out of the collector's sight, full
    # collections in the workers no longer walk them (pauses that grow with the graph), nor touch their pages
    # (which copy-on-write would then copy into every worker).
    gc.freeze()
    _Gunicorn(app, gunicorn_options(app, host, port, workers)).run()


def serve(config: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Create the app from ``config`` and serve it until interrupted.

    :raises collabkg.store.DatasetLoadError: there is no current build output, or a dataset file does not load
        (:class:`collabkg.store.BuildUnavailable` says which).
    :raises collabkg.store.StoreUnavailable: a store elsewhere cannot be used.
    """
    run(create_app(config), host, port, workers)
