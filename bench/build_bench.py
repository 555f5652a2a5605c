"""How the build grows: parse, validate, reason and write at each size, owlrl (the baseline) against the rules.

Each (size, engine) runs in a fresh subprocess, so its peak memory (``ru_maxrss``) is its own and one run's
garbage does not slow the next. The stages are the build's (``collabkg.build``): the same parsing, the same
shapes and checks, :func:`collabkg.build.reasoning.infer` with the engine named, and the build's TriG writer. The
first row is the real graph (this checkout's ``data/``), the others generated projects (``bench.generate``).

A run that takes under :data:`REPEAT_UNDER` seconds is repeated, and the row shows the median of
:data:`RUNS` (its ``runs`` column says how many). Validation does not depend on the engine, so it runs in
the ``rules`` runs, and the owlrl row counts that same time in its total. Sizes above ``--validate-up-to``
skip it and say so. owlrl is skipped where its predicted time (from the previous size and the growth seen so
far) passes ``--budget``, and stopped if a run passes it. An owlrl run then reasons with the rules too, in
the same process (after its timings and peak memory are taken), and its row says whether both inferred the
same triples.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collabkg.build import (  # the build's own: the stages are the build's
    parse_turtle,
    read_turtle,
    write_dataset,
)
from collabkg.build.reasoning import infer
from collabkg.build.turtle import Triple
from collabkg.build.validation import Checks
from collabkg.build.validation import validate as shacl
from collabkg.namespaces import CK, INFERRED_GRAPH, ONTOLOGY_GRAPH, data_graph
from rdflib import RDF, Graph
from rdflib.term import Node

from .generate import REPOSITORY, generate

__all__ = ["main", "run_once", "table"]

STAGES = ("parse", "validate", "reason", "write")
#: Runs of one (size, engine) whose median is shown, when a run is short enough to repeat.
RUNS = 3
#: Seconds under which a run is repeated :data:`RUNS` times.
REPEAT_UNDER = 60.0


def run_once(root: Path, engine: str, *, validate: bool, out: Path | None = None) -> dict[str, Any]:
    """One build of the project at ``root`` with ``engine``, timed by stage; writes the TriG to ``out``, or
    into a temporary folder. With ``engine="owlrl"`` the result's ``same`` says whether the rules engine
    infers the same triples from the same parsed graphs (checked after the timings and peak memory)."""
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    terms: dict[str, Node] = {}
    asserted = Graph()

    def parse(file: Path) -> Graph:
        return parse_turtle(file.read_bytes(), file.resolve().as_uri(), terms=terms)

    def read(file: Path) -> frozenset[Triple]:  # a data file, held as the build holds it
        triples = read_turtle(file.read_bytes(), file.resolve().as_uri(), terms=terms)[0]
        for triple in triples:
            asserted.add(triple)
        return frozenset(triples)

    ontology = parse(root / "ontology" / "collabkg.ttl")
    shapes = parse(root / "ontology" / "shapes.ttl")
    data = {file.stem: read(file) for file in sorted((root / "data").glob("*.ttl"))}
    mark = _lap(timings, "parse", mark)
    if validate:
        results = shacl(asserted, shapes, ontology)
        loaded = Checks(asserted)
        for file in sorted((root / "queries" / "checks").glob("*-violation.rq")):
            results += loaded.run(file.read_text(encoding="utf-8"), file.name)
        violations = [str(result) for result in results if result.severity == "Violation"]
        if violations:
            raise SystemExit(f"{root}: the generated data does not conform: {violations[:3]}")
        mark = _lap(timings, "validate", mark)
    inferred = infer(ontology, asserted, engine=engine)
    mark = _lap(timings, "reason", mark)
    named = {
        ONTOLOGY_GRAPH: ontology,
        **{data_graph(s): g for s, g in data.items()},
        INFERRED_GRAPH: inferred,
    }
    with tempfile.TemporaryDirectory() as scratch:
        write_dataset(out or Path(scratch) / "collabkg.trig", named)
    _lap(timings, "write", mark)
    result = {
        "models": len(
            set(asserted.subjects(RDF.type, CK.CollaborationModel))
            | {s for s, p, o in inferred if p == RDF.type and o == CK.CollaborationModel}
        ),
        "triples": len(asserted),
        "inferred": len(inferred),
        "seconds": timings,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if engine == "owlrl":
        result["same"] = set(infer(ontology, asserted)) == set(inferred)
    return result


def _lap(timings: dict[str, float], stage: str, since: float) -> float:
    now = time.perf_counter()
    timings[stage] = now - since
    return now


def _in_subprocess(root: Path, engine: str, *, validate: bool, budget: float) -> dict[str, Any] | None:
    """:func:`run_once` in a fresh interpreter; None if it passed ``budget`` seconds (it is stopped)."""
    command = [sys.executable, "-m", "bench.build_bench", "--one", str(root), "--engine", engine]
    if not validate:
        command.append("--no-validate")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"build of {root} with {engine} failed:\n{exc.stderr}") from exc
    return json.loads(done.stdout.splitlines()[-1])


def _repeated(root: Path, engine: str, *, validate: bool, budget: float) -> dict[str, Any] | None:
    """:func:`_in_subprocess`, repeated to :data:`RUNS` runs while a run takes under :data:`REPEAT_UNDER`
    seconds; the median of each stage, of the total and of the peak memory. None if the first run passed
    ``budget``."""
    runs = []
    while len(runs) < RUNS:
        run = _in_subprocess(root, engine, validate=validate, budget=budget)
        if run is None:
            return None
        runs.append(run)
        if sum(run["seconds"].values()) >= REPEAT_UNDER:
            break
    middle = {
        "seconds": {
            stage: statistics.median(r["seconds"][stage] for r in runs) for stage in runs[0]["seconds"]
        },
        "total": statistics.median(sum(r["seconds"].values()) for r in runs),
        "peak_mb": statistics.median(r["peak_mb"] for r in runs),
        "runs": len(runs),
    }
    return {**runs[0], **middle}


def measure(
    sizes: list[int], workdir: Path, *, budget: float, validate_up_to: int, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Build the real graph, then generate each size, with both engines; one row per (size, engine)."""
    rows: list[dict[str, Any]] = []
    owlrl_seen: tuple[int, float] | None = None  # (triples, reason seconds) of the last owlrl run
    for size in [0, *sizes]:
        root = REPOSITORY
        if size:
            root = workdir / str(size)
            generate(root, size)
        validate = size <= validate_up_to
        ours = _repeated(root, "rules", validate=validate, budget=budget * 4)
        if ours is None:
            raise SystemExit(f"the rules engine passed {budget * 4:.0f} s at {size:,} triples")
        validate_time = ours["seconds"].get("validate")
        rows.append({"size": size, "engine": "rules", **ours})
        log(f"  {ours['triples']:>9,} rules  {ours['total']:8.1f} s ({ours['runs']} runs)")
        predicted = at_least = None
        if owlrl_seen is not None:
            seen_triples, seen_seconds = owlrl_seen
            predicted = seen_seconds * (ours["triples"] / seen_triples) ** 1.3
            at_least = seen_seconds * ours["triples"] / seen_triples  # owlrl is at least linear
        if predicted is not None and predicted > budget:
            skipped = f"predicted {predicted:,.0f} s > budget; reasoning alone >= {at_least:,.0f} s (linear)"
            speedup = at_least / ours["total"]
            rows.append(
                {"size": size, "engine": "owlrl", "skipped": f"{skipped}, >= {speedup:.1f}x rules total"}
            )
            continue
        baseline = _repeated(root, "owlrl", validate=False, budget=budget)
        if baseline is None:
            rows.append({"size": size, "engine": "owlrl", "skipped": f"stopped at the {budget:.0f} s budget"})
            owlrl_seen = (ours["triples"], budget)
            continue
        if validate_time is not None:
            baseline["seconds"]["validate"] = validate_time  # the same code as in the rules run
            baseline["total"] += validate_time
        owlrl_seen = (baseline["triples"], baseline["seconds"]["reason"])
        rows.append({"size": size, "engine": "owlrl", **baseline})
        log(f"  {baseline['triples']:>9,} owlrl  {baseline['total']:8.1f} s ({baseline['runs']} runs)")
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a text table, with the speed-up of rules over owlrl and the growth per ×10 of triples."""
    head = f"{'triples':>10} {'engine':<6} {'runs':>4} " + " ".join(f"{s:>8}" for s in STAGES)
    head += f" {'total s':>8} {'peak MB':>8} {'inferred':>9} {'same':>4} {'speed-up':>8} {'growth/x10':>10}"
    lines = [head, "-" * len(head)]
    previous: dict[str, dict[str, Any]] = {}
    totals: dict[int, dict[str, float]] = {}
    for row in rows:
        if "skipped" in row:
            lines.append(f"{row['size']:>10,} {row['engine']:<6} skipped: {row['skipped']}")
            continue
        seconds = row["seconds"]
        total = row.get("total", sum(seconds.values()))
        totals.setdefault(row["size"], {})[row["engine"]] = total
        cells = " ".join(f"{seconds[s]:>8.2f}" if s in seconds else f"{'-':>8}" for s in STAGES)
        speedup = ""
        if row["engine"] == "owlrl" and "rules" in totals[row["size"]]:
            speedup = f"{total / totals[row['size']]['rules']:.1f}x"
        same = {True: "yes", False: "NO"}.get(row.get("same"), "")
        growth = ""
        before = previous.get(row["engine"])
        if before is not None:
            decades = math.log10(row["triples"] / before["triples"])
            growth = f"{(total / before['total']) ** (1 / decades):.1f}x"
        previous[row["engine"]] = {"triples": row["triples"], "total": total}
        lines.append(
            f"{row['triples']:>10,} {row['engine']:<6} {row.get('runs', 1):>4} {cells} {total:>8.2f} "
            f"{row['peak_mb']:>8.0f} {row['inferred']:>9,} {same:>4} {speedup:>8} {growth:>10}"
        )
    lines.append(
        "First row: the real graph. runs: the median of that many runs is shown (one where a run takes 60 s or "
        "more). same: owlrl and the rules inferred the same triples. speed-up: owlrl total / rules total. "
        "growth/x10: how the total grows per tenfold triples. '-' under validate: skipped (--validate-up-to); "
        "owlrl rows count the rules run's validate time."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=float, nargs="+", default=[2e3, 2e4, 1e5, 1e6])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "collabkg-bench")
    parser.add_argument("--budget", type=float, default=600, help="Seconds an owlrl build may take.")
    parser.add_argument("--validate-up-to", type=float, default=1e5, help="Largest size that runs pySHACL.")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="rules", help=argparse.SUPPRESS)
    parser.add_argument("--no-validate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_once(args.one, args.engine, validate=not args.no_validate)))
        return
    rows = measure(
        [int(size) for size in args.triples],
        args.workdir,
        budget=args.budget,
        validate_up_to=int(args.validate_up_to),
    )
    print(table(rows))


if __name__ == "__main__":
    main()
