"""What a browser may do with what this server sends: the headers on every response.

Every page is made of this server's own files: scripts and stylesheets from ``/static`` and ``/ui/yasgui``, data
for scripts in ``type="application/json"`` blocks (which no browser runs), no inline script, no inline style, no
third-party request. The Content-Security-Policy says exactly that, so that a literal of the graph or a query
parameter that slipped past escaping could still run nothing. It goes on every response, not only HTML: an SVG
or an HTML literal opened on its own is a document too.

Two pages need more, and say so through :func:`policy`: the query UI (YASGUI sets ``style`` attributes as it
lays out its panes) and the vocabulary (pyLODE writes its stylesheet inline; its hash is allowed, nothing else).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from flask import Response

__all__ = ["BASE_POLICY", "add_headers", "inline_style_hashes", "policy"]

#: The policy of every response: this server's own scripts, styles, images and fonts, ``data:`` images (the
#: vocabulary's icons), requests back to this server only, forms that post here, no base element, no framing.
BASE_POLICY: dict[str, str] = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}

_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def policy(**relaxed: str) -> str:
    """The Content-Security-Policy header value: :data:`BASE_POLICY` with the named directives replaced
    (``style_src="'self' 'unsafe-inline'"`` replaces ``style-src``)."""
    directives = BASE_POLICY | {name.replace("_", "-"): value for name, value in relaxed.items()}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


@functools.lru_cache(maxsize=4)
def inline_style_hashes(html: str) -> str:
    """The CSP sources (``'sha256-…'``) that allow exactly the ``<style>`` elements of ``html``, in order.

    Kept per page text: the vocabulary's page is made once and sent many times (a quarter of a megabyte to scan).
    """
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode() + "'"
        for match in _STYLE_ELEMENT.finditer(html)
    )


def add_headers(response: Response) -> Response:
    """Every response is what its ``Content-Type`` says (no browser may guess otherwise: a query answer that
    looks like HTML stays text), and runs nothing but this server's own files (unless its view set a policy
    of its own through :func:`policy`)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Content-Security-Policy", _BASE_POLICY_TEXT)
    return response


#: :data:`BASE_POLICY` as the header's value, written once rather than for every response.
_BASE_POLICY_TEXT = policy()
