"""The benchmark's moving parts work (no timings are asserted: those depend on the machine).

The generator's smallest project passes the build's shapes and checks and reasons with the rules engine, and
the load harness reads wrk's output as its Lua hook writes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.build_bench import run_once, table
from bench.generate import generate
from bench.query_bench import parse_wrk
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


def test_generator_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", 3_000, seed=3)
    generate(tmp_path / "b", 3_000, seed=3)
    for file in (tmp_path / "a" / "data").iterdir():
        assert file.read_bytes() == (tmp_path / "b" / "data" / file.name).read_bytes()


def test_parse_wrk() -> None:
    output = (
        "Running 10s test @ http://127.0.0.1:8000/\n  2 threads and 16 connections\n"
        'WRK_JSON {"requests": 2500, "duration_us": 10000000, "p50_us": 4200, "p99_us": 31000, "errors": 3}\n'
    )
    point = parse_wrk(output)
    assert point.requests_per_s == pytest.approx(250.0)
    assert (point.p50_ms, point.p99_ms, point.errors) == (4.2, 31.0, 3)
