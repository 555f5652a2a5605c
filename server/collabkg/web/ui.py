"""The query UI: YASGUI on ``/sparql``, one tab per canned query, served from this server (``/ui``).

YASGUI comes from the npm registry (``@zazuko/yasgui``, pinned in ``ui/package-lock.json``), installed by
``npm ci`` in ``ui/``; its files are served from there, never from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, render_template, send_from_directory
from werkzeug.exceptions import NotFound

from ..namespaces import PREFIXES
from .context import absolute_url, service

__all__ = ["bp"]

bp = Blueprint("ui", __name__)

#: The YASGUI files ``/ui`` serves, from ``ui/node_modules`` (installed by ``npm ci`` in ``ui/``).
YASGUI_BUILD = Path("node_modules", "@zazuko", "yasgui", "build")
YASGUI_FILES = frozenset({"yasgui.min.js", "yasgui.min.css"})


@bp.get("/ui")
def ui() -> Response:
    """YASGUI with the canned queries as tabs, or, when it is not installed, how to install it."""
    current = service()
    build = current.settings.ui_dir / YASGUI_BUILD
    installed = all((build / name).is_file() for name in YASGUI_FILES)
    examples = [
        {"name": query.name, "summary": query.summary, "query": query.text}
        for query in current.queries.canned.values()
    ]
    body = render_template(
        "ui.html",
        installed=installed,
        ui_dir=current.settings.ui_dir,
        examples=examples,
        endpoint=absolute_url("sparql.endpoint"),
        prefixes=PREFIXES,
    )
    return Response(body, mimetype="text/html")


@bp.get("/ui/yasgui/<name>")
def yasgui_file(name: str) -> Response:
    """YASGUI's script and stylesheet, from ``ui/node_modules`` (never from a CDN)."""
    if name not in YASGUI_FILES:
        raise NotFound()
    return send_from_directory(service().settings.ui_dir / YASGUI_BUILD, name, max_age=3600)
