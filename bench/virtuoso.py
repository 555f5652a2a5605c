"""Virtuoso 7 (Debian's ``virtuoso-opensource``) on loopback ports with a throwaway database.

Two users: the query benchmark, where it is a peer loaded with the built TriG by its bulk loader, and the
remote-store tests, where it is the store ``collabkg publish`` writes to and ``collabkg serve --store`` reads.
Everything lives in a scratch folder; nothing outside it is read or written, and the server stops with
:meth:`Virtuoso.stop`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UPDATE_GRANTS", "Virtuoso", "VirtuosoFailed", "VirtuosoMissing", "start"]

#: Let the anonymous SPARQL user update graphs, through /sparql and /sparql-graph-crud alike.
UPDATE_GRANTS = "GRANT SPARQL_UPDATE TO \"SPARQL\"; DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);"

_INI = """\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{isql_port}
DirsAllowed = ., {load_dir}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty_buffers}
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections = {threads}
ServerThreads = {threads}
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 60
"""


class VirtuosoMissing(RuntimeError):
    """``virtuoso-t`` or its ``isql`` is not installed."""


class VirtuosoFailed(RuntimeError):
    """Virtuoso did not start, or did not run the start-up script; the message holds its log's end."""


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Virtuoso:
    """A running Virtuoso: where it answers, and the process to stop."""

    url: str
    isql_port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def sparql(self) -> str:
        """Its SPARQL endpoint (queries, and SPARQL Update where granted)."""
        return self.url + "/sparql"

    @property
    def graph_store(self) -> str:
        """Its Graph Store Protocol endpoint."""
        return self.url + "/sparql-graph-crud"

    def stop(self) -> None:
        """Stop the server (politely, then not)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(
    scratch: Path,
    *,
    http_port: int | None = None,
    script: str = "",
    load: Path | None = None,
    buffers: int = 10_000,
    threads: int = 8,
    seconds: float = 120,
) -> Virtuoso:
    """Start ``virtuoso-t`` on a fresh database in ``scratch/virtuoso`` and run ``script`` (SQL, e.g.
    :data:`UPDATE_GRANTS`) once it accepts connections; with ``load``, bulk load that RDF file into the graph
    ``https://w3id.org/collabkg/graph/default`` first.

    ``buffers`` (8 KiB pages) and ``threads`` size it: small for tests on a 2-core machine, larger for the
    benchmark.

    :raises VirtuosoMissing: it is not installed.
    :raises VirtuosoFailed: it did not start or the script failed within ``seconds``; it is stopped.
    """
    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt") or shutil.which("isql")
    if binary is None or isql is None:
        raise VirtuosoMissing("virtuoso-t is not installed: apt-get install virtuoso-opensource")
    db = scratch / "virtuoso"
    load_dir = db / "load"
    load_dir.mkdir(parents=True)
    if load is not None:
        shutil.copy(load, load_dir / load.name)
        script = (
            f"ld_dir('{load_dir}', '{load.name}', 'https://w3id.org/collabkg/graph/default'); "
            f"rdf_loader_run(); checkpoint; {script}"
        )
    isql_port, http_port = free_port(), http_port or free_port()
    (db / "virtuoso.ini").write_text(
        _INI.format(
            db=db,
            load_dir=load_dir,
            isql_port=isql_port,
            http_port=http_port,
            buffers=buffers,
            dirty_buffers=buffers * 3 // 4,
            threads=threads,
        ),
        encoding="utf-8",
    )
    log = db / "virtuoso.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-f", "-c", str(db / "virtuoso.ini")], cwd=db, stdout=out, stderr=out
        )
    server = Virtuoso(f"http://127.0.0.1:{http_port}", isql_port, log, process)
    give_up = time.monotonic() + seconds
    while True:
        done = subprocess.run(
            [isql, str(isql_port), "dba", "dba", f"exec={script or 'status();'}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and "Error" not in done.stdout + done.stderr:
            return server
        if process.poll() is not None or time.monotonic() > give_up:
            server.stop()
            raise VirtuosoFailed(
                f"Virtuoso did not start or run its script:\n{log.read_text()[-2000:]}\n"
                f"{textwrap.shorten(done.stdout + done.stderr, 500)}"
            )
        time.sleep(0.3)
