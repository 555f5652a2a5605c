"""Fixtures: an app per test over a tiny dataset (tests/data/), and real servers in subprocesses (collabkg,
and Virtuoso 7 for the remote-store tests).

Nothing here reads the project's data/ or build/: tests serve their own files through ``DATASET_FILES`` (the
app) or ``collabkg serve --graph IRI FILE`` (live servers), so they pass whatever state the graph is in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph
import pytest
from collabkg.namespaces import GRAPH, PREFIXES
from collabkg.store.base import DatasetSource
from collabkg.store.oxigraph import OxigraphStore
from collabkg.web import create_app
from collabkg.web.context import Service
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from rdflib import RDF, Dataset, Graph, URIRef

from bench import virtuoso
from bench.virtuoso import Virtuoso, free_port

DATA = Path(__file__).parent / "data"
EX = "http://example.org/"
#: The checkout under test.
ROOT = Path(__file__).resolve().parents[1]
#: The project's prefixes (and ``rdf:``) as a Turtle header, for test data written by hand.
TURTLE_PREFIXES = "".join(
    f"@prefix {name}: <{iri}> .\n" for name, iri in {**PREFIXES, "rdf": str(RDF)}.items()
)
#: The fixture dataset: three named graphs; ``extra`` repeats one triple of ``orgs``.
FIXTURE_GRAPHS: dict[URIRef, Path] = {
    URIRef(EX + name): DATA / f"{name}.ttl" for name in ("people", "orgs", "extra")
}
#: Distinct triples of the union of the fixture graphs (the default graph): 11 + 4 + 2, one of them shared.
FIXTURE_UNION_SIZE = 16
#: Counts a cross product of ten patterns, 16**10 rows over the fixture: no engine on any machine finishes it
#: within a time limit (six patterns, 16**6 rows, were counted inside five seconds on a fast machine).
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?s{i} ?p{i} ?o{i}" for i in range(10)) + " }"


#: Lines a test module wants shown in the summary at the end of the run (e.g. the W3C suite's pass count).
SUMMARY_LINES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


def fixture_config(**overrides: Any) -> dict[str, Any]:
    """App configuration serving the fixture graphs, with ``overrides``."""
    return {
        "TESTING": True,
        "DATASET_FILES": [DatasetSource(path, graph) for graph, path in FIXTURE_GRAPHS.items()],
        **overrides,
    }


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    """Build an app over the fixture graphs with configuration overrides: ``make_app(QUERY_TIMEOUT=1)``."""
    return lambda **overrides: create_app(fixture_config(**overrides))


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def dataset_snapshot(app: Flask) -> set[str]:
    """Every quad the app serves, read from its store on disk (read-only, beside the query processes that
    serve it): compare before and after to prove requests changed nothing."""
    store = Service.of(app).store
    assert isinstance(store, OxigraphStore)
    return {str(quad) for quad in pyoxigraph.Store.read_only(str(store.path))}


def parse_rdf(data: bytes | str, rdflib_format: str) -> Graph:
    """Parse a graph response; quad formats give their default graph (where a query's triples go).

    rdflib 7.6's own JSON-LD, TriG and N-Quads parsers call APIs it deprecates; those warnings are rdflib's
    business, not a failure of the response under test.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if rdflib_format in ("trig", "nquads"):
            return Dataset().parse(data=data, format=rdflib_format).default_graph
        return Graph().parse(data=data, format=rdflib_format)


# --- Live servers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    """A ``collabkg serve`` process on a loopback port."""

    url: str
    log: Path

    @property
    def endpoint(self) -> str:
        return self.url + "/sparql"


@contextmanager
def serve_graphs(
    graphs: Mapping[str, Path],
    log_dir: Path,
    *,
    timeout: float | None = None,
    workers: int = 2,
    datasets: Sequence[Path] = (),
    store: str | None = None,
    config: Mapping[str, object] | None = None,
) -> Iterator[LiveServer]:
    """Run ``collabkg serve --graph IRI FILE ... --dataset FILE ...`` (or ``--store URL``) on a free port until
    the block ends; wait until it answers. ``config`` sets app settings (``COLLABKG_<KEY>`` variables).

    The server's output goes to a log file (a pipe nobody reads would fill up and block it).
    """
    port = free_port()
    args = [sys.executable, "-c", "from collabkg.cli import main; main()", "serve", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", str(workers)]
    for iri, path in graphs.items():
        args += ["--graph", str(iri), str(path)]
    for path in datasets:
        args += ["--dataset", str(path)]
    if store is not None:
        args += ["--store", store]
    if timeout is not None:
        args += ["--timeout", str(timeout)]
    log = log_dir / f"server-{port}.log"
    with log.open("wb") as out:
        environment = os.environ | {f"COLLABKG_{key}": str(value) for key, value in (config or {}).items()}
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=environment)
    server = LiveServer(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_healthy(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(server: LiveServer, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        if process.poll() is not None:
            pytest.fail(f"collabkg serve exited with {process.returncode}:\n{server.log.read_text()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"collabkg serve did not answer /healthz within {seconds} s:\n{server.log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server (gunicorn, two workers) over the fixture graphs, shared by the live tests."""
    with serve_graphs(FIXTURE_GRAPHS, tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def built_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's real graph, built once per session into a temporary folder (never into build/)."""
    from collabkg.build import build
    from collabkg.paths import project_paths

    paths = project_paths(ROOT, tmp_path_factory.mktemp("build"))
    return build(paths, log=lambda line: None).dataset_file


@pytest.fixture(scope="session")
def built_output(built_dataset: Path) -> OxigraphStore:
    """The store of the session's build, as ``collabkg serve`` opens it (not loaded from the TriG)."""
    from collabkg.paths import project_paths
    from collabkg.store.oxigraph import open_built

    return open_built(project_paths(ROOT, built_dataset.parent))[0]


@pytest.fixture(scope="session")
def built_app(built_dataset: Path) -> Flask:
    """One app over the real built graph for the whole session: no request can change it (tests check that)."""
    return create_app({"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]})


@pytest.fixture(scope="session")
def served(built_dataset: Path) -> Dataset:
    """The built dataset, read by rdflib independently of the server (and of its text index), to check what the
    service says against."""
    dataset = Dataset(default_union=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset.parse(built_dataset, format="trig")
    return dataset


def evidence_client(base_url: str | None = None) -> FlaskClient:
    """A client of an app over ``tests/data/evidence.ttl``, a small graph whose every answer is known."""
    config: dict[str, Any] = {
        "TESTING": True,
        "PROJECT_ROOT": str(ROOT),
        "DATASET_FILES": [DatasetSource(DATA / "evidence.ttl", GRAPH["evidence-test"])],
    }
    if base_url is not None:
        config["BASE_URL"] = base_url
    return create_app(config).test_client()


@pytest.fixture(scope="session")
def live_built_server(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server (gunicorn) over the real built graph, with this checkout's queries and UI."""
    with serve_graphs({}, tmp_path_factory.mktemp("live-built"), datasets=[built_dataset]) as server:
        yield server


# --- Virtuoso -----------------------------------------------------------------------------------------------


@contextmanager
def run_virtuoso(scratch: Path) -> Iterator[Virtuoso]:
    """A Virtuoso 7 (:mod:`bench.virtuoso`) on a fresh database in ``scratch``, open to updates by anyone,
    stopped when the block ends. Skips the test where Virtuoso is not installed."""
    try:
        server = virtuoso.start(scratch, script=virtuoso.UPDATE_GRANTS)
    except virtuoso.VirtuosoMissing as exc:
        pytest.skip(f"{exc} (.ci/run does)")
    except virtuoso.VirtuosoFailed as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()
