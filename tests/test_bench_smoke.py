"""The benchmark's moving parts work (no timings are asserted: those depend on the machine).

The generator's smallest project passes the build's shapes and checks and reasons with the rules engine, and
the load harness reads wrk's output as its Lua hook writes it, its new-text script sends a new text every
request, and the engine floor answers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.build_bench import run_once, table
from bench.floor import engine_floor, open_store, rows, with_prefix
from bench.generate import REPOSITORY, generate
from bench.query_bench import lua_script, parse_wrk
from bench.whole_build import STAGES, project, run_build
from bench.whole_build import table as whole_table


def test_generated_project_builds(tmp_path: Path) -> None:
    written = generate(tmp_path, 1_500, seed=7)
    result = run_once(tmp_path, "rules", validate=True, out=tmp_path / "out.trig")
    assert result["triples"] == written >= 1_500
    assert result["inferred"] > 0 and result["models"] >= 5
    assert set(result["seconds"]) == {"parse", "validate", "reason", "write"}
    assert (tmp_path / "out.trig").stat().st_size > 0
    assert "skipped: budget" in table([{"size": 1_500, "engine": "owlrl", "skipped": "budget"}])


def test_whole_build_harness_runs_the_real_build(tmp_path: Path) -> None:
    root = project(tmp_path, 1_500)
    run = run_build(root, 1_500, ceiling_gb=8)
    assert run.stopped == ""
    assert set(run.seconds) == set(STAGES)
    assert run.asserted >= 1_500 and run.inferred > 0 and run.explanations > run.inferred
    assert run.peak_mb > 0 and set(run.stage_peak_mb) <= set(STAGES)
    stopped = run_build(root, 1_500, ceiling_gb=0.001)  # any process is past a megabyte: killed at once
    assert stopped.stopped.startswith("stopped at ")
    assert "stopped at" in whole_table([run, stopped])


def test_a_kept_project_is_built_with_this_checkouts_queries(tmp_path: Path) -> None:
    """A project kept from an earlier run keeps its data but gets the ontology, shapes and queries of this
    checkout (the whole build at 10M was measured with a check made linear since)."""
    root = project(tmp_path, 1_500)
    check = Path("queries", "checks", "uncurated-mapping-violation.rq")
    (root / check).write_text("# an earlier run's version\n", encoding="utf-8")
    (root / "queries" / "removed-since.rq").write_text("ASK {}\n", encoding="utf-8")
    data = {file.name: file.read_bytes() for file in (root / "data").iterdir()}
    assert project(tmp_path, 1_500) == root
    assert (root / check).read_bytes() == (REPOSITORY / check).read_bytes()
    assert not (root / "queries" / "removed-since.rq").exists()
    assert {file.name: file.read_bytes() for file in (root / "data").iterdir()} == data


def test_generator_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", 3_000, seed=3)
    generate(tmp_path / "b", 3_000, seed=3)
    for file in (tmp_path / "a" / "data").iterdir():
        assert file.read_bytes() == (tmp_path / "b" / "data" / file.name).read_bytes()


def test_parse_wrk() -> None:
    output = (
        "Running 10s test @ http://127.0.0.1:8000/\n  2 threads and 16 connections\n"
        'WRK_JSON {"requests": 2500, "duration_us": 10000000, "p50_us": 4200, "p99_us": 31000, "errors": 3, '
        '"non_2xx": 500}\n'
    )
    point = parse_wrk(output)
    assert point.requests_per_s == pytest.approx(200.0)  # good answers only
    assert (point.p50_ms, point.p99_ms, point.errors, point.non_2xx, point.failed) == (4.2, 31.0, 3, 500, 503)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_new_text_script_sends_a_new_text_every_request(tmp_path: Path) -> None:
    """wrk with the new-text script (two threads, four connections) sends the query with an unused prefix
    declaration before it, a different one on every request; the repeated script sends the query as is.

    Each script loads a recorder of its own: a request of the first run that the recorder was still answering
    when wrk ended landed among the second run's (a flaky failure under load)."""
    query = 'SELECT ?s WHERE { ?s ?p "a b&c" }'
    for new_text in (True, False):

        class Recorder(BaseHTTPRequestHandler):
            seen: ClassVar[list[str]] = []

            def do_GET(self) -> None:
                self.seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        with ThreadingHTTPServer(("127.0.0.1", 0), Recorder) as server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            port = server.server_address[1]
            script = tmp_path / "load.lua"
            script.write_text(lua_script("/sparql?query=", query, new_text=new_text), encoding="utf-8")
            done = subprocess.run(
                ["wrk", "-t2", "-c4", "-d1s", "-s", str(script), f"http://127.0.0.1:{port}/"],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            )
            server.shutdown()
        point = parse_wrk(done.stdout)
        assert point.failed == 0
        texts = [parse_qs(urlsplit(path).query)["query"][0] for path in Recorder.seen]
        assert len(texts) > 10
        if new_text:
            assert len(set(texts)) == len(texts)
            for text in texts:
                declaration, _, rest = text.partition("\n")
                assert rest == query
                assert re.fullmatch(r"PREFIX n[0-9]+: <urn:n:>", declaration)
        else:
            assert set(texts) == {query}


def test_engine_floor_answers_the_shapes(tmp_path: Path) -> None:
    """The engine floor loads a TriG as collabkg does (the default graph the union of the named graphs) and
    answers a query, as is and as new texts, with the same rows."""
    dataset = tmp_path / "small.trig"
    dataset.write_text(
        "<urn:g1> { <urn:a> <urn:p> <urn:b> . <urn:a> <urn:p> <urn:c> . }\n"
        "<urn:g2> { <urn:a> <urn:p> <urn:b> . }\n",
        encoding="utf-8",
    )
    store = open_store(dataset, tmp_path / "store")
    query = "SELECT ?o WHERE { <urn:a> <urn:p> ?o }"
    assert rows(store, query) == rows(store, with_prefix(query, 7)) == 2  # each triple once in the union
    for new_text in (False, True):
        point = engine_floor(store, query, duration=0.2, new_text=new_text)
        assert point.requests_per_s > 0 and point.p50_ms > 0
