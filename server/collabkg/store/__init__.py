"""The served dataset: the :class:`~.base.Store` interface (:mod:`.base`), the embedded Oxigraph store
(:mod:`.oxigraph`) queried by processes of its own (:mod:`.processes`, :mod:`.executor`), and a store
elsewhere (:mod:`.remote`). Queries are read by :mod:`.query` and :mod:`.sparqltext` before any engine runs
them.

Nothing is imported here: the query processes import :mod:`.executor` and must start without rdflib.
"""
