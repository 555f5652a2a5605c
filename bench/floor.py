"""The floor of the query benchmark: a Flask app that answers "hello", under collabkg's own gunicorn settings.

Whatever collabkg spends above this per request is its own work (parsing, evaluating, serializing), not the
WSGI server's or the network's. Usage: ``python -m bench.floor PORT``.
"""

from __future__ import annotations

import sys

from collabkg.web.serving import run
from flask import Flask

__all__ = ["app"]

app = Flask(__name__)
app.config["QUERY_TIMEOUT"] = 10  # collabkg.serving sets the worker timeout from it, as for collabkg


@app.get("/")
def hello() -> str:
    return "hello"


if __name__ == "__main__":
    run(app, "127.0.0.1", int(sys.argv[1]), workers=2)
