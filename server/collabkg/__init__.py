"""collabkg: an evidence knowledge graph of collaboration between welfare organizations, and its query service.

The package is laid out as the data flows, each part importing only from those after it::

    cli.py          the ``collabkg`` command, on top of everything
    web/            the Flask service (``collabkg.web.create_app``): it only loads what the build wrote
    publish.py      the build's output into any SPARQL 1.1 store
    evidence/       trails, explanations and citations read from a store (no Flask)
    build/          parse, validate, reason, explain, write (no Flask, no web)
    store/          the served dataset: the store interface, embedded and remote (no Flask, no reasoner)
    queryfiles.py   the ``.rq`` header grammar; formats.py media types and writers; namespaces.py, paths.py

``tests/test_architecture.py`` imports each part in a fresh interpreter and checks that it loads nothing it
must not.
"""
