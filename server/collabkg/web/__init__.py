"""The web service: the SPARQL 1.1 endpoint, canned queries, evidence trails, citations and linked-data pages
over one store (:func:`create_app`; ``collabkg serve`` runs it under gunicorn, :mod:`.serving`)."""

from .app import create_app

__all__ = ["create_app"]
