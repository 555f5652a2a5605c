"""collabkg's app under gunicorn's other worker models, for :mod:`bench.availability` to set beside the one
``collabkg serve`` runs (gunicorn's ``asgi`` worker and :mod:`collabkg.web.front`).

``python -m bench.server_models MODEL PORT``, with the project and build named as for ``collabkg serve``
(``COLLABKG_ROOT``, ``COLLABKG_BUILD_DIR``), serves the current build with two workers of MODEL:

``sync``
    gunicorn's synchronous workers, one request at a time each: collabkg's server before the front.
``gthread``
    gunicorn's threaded workers, ``THREADS`` threads each (32 by default), reading requests in those threads.
"""

from __future__ import annotations

import gc
import sys

from collabkg.web.app import create_app
from collabkg.web.serving import GunicornServer, gunicorn_options

MODELS = ("sync", "gthread")


def main() -> None:
    model, port = sys.argv[1], int(sys.argv[2])
    if model not in MODELS:
        raise SystemExit(f"usage: python -m bench.server_models {{{','.join(MODELS)}}} PORT")
    app = create_app()
    options = gunicorn_options(app, "127.0.0.1", port, workers=2)
    options["worker_class"] = model
    options["threads"] = int(app.config["THREADS"]) if model == "gthread" else 1
    gc.freeze()
    GunicornServer(app, options).run()


if __name__ == "__main__":
    main()
