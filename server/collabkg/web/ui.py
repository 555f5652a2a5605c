"""The query UI: YASGUI on ``/sparql``, one tab per canned query, served from this server (``/ui``).

YASGUI comes from the npm registry (``@zazuko/yasgui``, pinned in ``ui/package-lock.json``), installed by
``npm ci`` in ``ui/``; its files are served from there, never from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, render_template, send_from_directory
from werkzeug.exceptions import NotFound

from ..namespaces import PREFIXES
from . import security
from .context import Service, absolute_url, service

__all__ = ["bp", "installed"]

bp = Blueprint("ui", __name__)

#: The YASGUI files ``/ui`` serves, from ``ui/node_modules`` (installed by ``npm ci`` in ``ui/``).
YASGUI_BUILD = Path("node_modules", "@zazuko", "yasgui", "build")
YASGUI_FILES = frozenset({"yasgui.min.js", "yasgui.min.css"})


def installed(app: Flask) -> bool:
    """Whether YASGUI is installed where ``app`` serves it from (``npm ci --prefix ui``)."""
    build = Service.of(app).settings.ui_dir / YASGUI_BUILD
    return all((build / name).is_file() for name in YASGUI_FILES)


@bp.get("/ui")
def ui() -> Response:
    """YASGUI with the canned queries as tabs, or, when it is not installed, how to install it."""
    current = service()
    examples = [
        {"name": query.name, "summary": query.summary, "query": query.text}
        for query in current.queries.canned.values()
    ]
    body = render_template(
        "ui.html",
        installed=installed(current_app),
        examples=examples,
        endpoint=absolute_url("sparql.endpoint"),
        prefixes=PREFIXES,
    )
    response = Response(body, mimetype="text/html")
    # YASGUI styles its panes from its script (a style element it inserts): inline styles are allowed here,
    # scripts stay this server's own files.
    response.headers["Content-Security-Policy"] = security.policy(style_src="'self' 'unsafe-inline'")
    return response


@bp.get("/ui/yasgui/<name>")
def yasgui_file(name: str) -> Response:
    """YASGUI's script and stylesheet, from ``ui/node_modules`` (never from a CDN)."""
    if name not in YASGUI_FILES:
        raise NotFound()
    return send_from_directory(service().settings.ui_dir / YASGUI_BUILD, name, max_age=3600)
