"""The floor of the query benchmark: a Flask app that answers "hello", served as collabkg is (gunicorn, the front).

Whatever collabkg spends above this per request is its own work (parsing, evaluating, serializing), not the
WSGI server's or the network's. Usage: ``python -m bench.floor PORT``.
"""

from __future__ import annotations

import sys

from collabkg.web.app import DEFAULTS
from collabkg.web.serving import run
from flask import Flask

__all__ = ["app"]

app = Flask(__name__)
app.config.from_mapping(DEFAULTS)  # the limits collabkg.web.serving reads, as collabkg's defaults


@app.get("/")
def hello() -> str:
    return "hello"


if __name__ == "__main__":
    run(app, "127.0.0.1", int(sys.argv[1]), workers=2)
