"""The build's text index: the words of the built dataset in an SQLite FTS5 file beside it (:mod:`collabkg.search`).

It reads what it indexes from the Oxigraph store the build has just written (``build/store-<hash>/``), with the
query the server would use (``queries/pages/search-documents.rq``), so the index holds exactly what the served
dataset says, asserted and inferred alike, and takes no part of the graph from the build's memory. Keeping it a
step of its own over the finished store means the rest of the pipeline can change without touching it.

The file is ``build/search-<hash of the dataset>.sqlite``: written under a temporary name and renamed when
complete, so a server opening the file the manifest names (read-only, any number of processes) never sees it
change. The build removes the indexes of older outputs with their stores (:mod:`.pipeline`).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import pyoxigraph as oxigraph

from ..manifest import show
from ..paths import ProjectPaths
from ..queryfiles import SEARCH_DOCUMENTS
from ..search import read_documents, write_index
from ..store.union import takes_union

__all__ = [
    "DOCUMENTS_QUERY",
    "SearchIndexError",
    "index_store",
    "write_search_index",
]

#: The query that selects what is indexed, relative to ``queries/``.
DOCUMENTS_QUERY = Path("pages", f"{SEARCH_DOCUMENTS}.rq")


class SearchIndexError(Exception):
    """The index could not be written; the message names the file and why."""


def write_search_index(paths: ProjectPaths, store: str, dataset_sha256: str) -> str:
    """Index the store ``build/{store}`` into ``build/search-<hash>.sqlite``; returns the file's name.

    :raises SearchIndexError: the query cannot be read or run, or the file cannot be written.
    """
    name = f"search-{dataset_sha256[:16]}.sqlite"
    target = paths.build_dir / name
    query_file = paths.queries_dir / DOCUMENTS_QUERY
    try:
        query = query_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SearchIndexError(f"{show(query_file, paths)}: {exc.strerror}") from exc
    handle, temporary = tempfile.mkstemp(dir=paths.build_dir, prefix=f".{name}.", suffix=".tmp")
    os.close(handle)
    try:
        index_store(paths.build_dir / store, query, Path(temporary))
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the index is for any user of the server
        os.replace(temporary, target)
    except (OSError, sqlite3.Error) as exc:
        raise SearchIndexError(
            f"{show(target, paths)}: the search index could not be written: {exc}"
        ) from exc
    finally:
        Path(temporary).unlink(missing_ok=True)
    return name


def index_store(store_dir: Path, query: str, target: Path) -> int:
    """Write the index of the Oxigraph store at ``store_dir`` (read-only) into ``target``, an empty file (which
    SQLite takes for an empty database); returns how many documents it holds.

    :raises SearchIndexError: the query does not run on the store.
    """
    store = oxigraph.Store.read_only(str(store_dir))
    try:
        solutions = store.query(
            query, use_default_graph_as_union=takes_union(store)
        )  # the union of the named graphs
    except (SyntaxError, OSError) as exc:
        raise SearchIndexError(f"{DOCUMENTS_QUERY}: {exc}") from exc
    if not isinstance(solutions, oxigraph.QuerySolutions):
        raise SearchIndexError(f"{DOCUMENTS_QUERY}: not a SELECT query")
    names = [variable.value for variable in solutions.variables]
    rows = (
        {name: None if solution[name] is None else solution[name].value for name in names}
        for solution in solutions
    )
    documents, terms = read_documents(rows)
    connection = sqlite3.connect(target)
    try:
        write_index(connection, documents, terms)
    finally:
        connection.close()
    return len(documents)
