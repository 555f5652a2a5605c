"""The whole ``collabkg build`` at size: every stage, explanations, the served store and the search index.

:mod:`bench.build_bench` times the build's stages one by one in its own process, without the explanations, the
store or the index; this runs the real command, ``collabkg --root P build --force``, on a generated project
(:mod:`bench.generate`) of each size, in a subprocess, and reads what the build itself logs: the seconds of each
stage, and from the manifest the triples of each graph. The process's resident memory is read from ``/proc``
every :data:`POLL_SECONDS` while it runs, which gives the peak of each stage; the whole run's peak is the
kernel's (``wait4``'s ``ru_maxrss``), which polling cannot miss.

A run whose resident memory passes ``--ceiling`` GB is killed by this harness, not left for the kernel's
out-of-memory killer (other work shares the machine), and reported as stopped at that memory after that many
seconds in that stage. Generated projects are kept under ``--workdir`` and their data reused (the generator
is seeded: the same size is the same bytes); their ontology, shapes and queries are this checkout's, copied
again for every run.

Usage: ``python -m bench.whole_build --triples 1e5 1e6 --ceiling 16``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from collabkg.namespaces import EXPLANATIONS_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH

from .generate import copy_checkout, generate

__all__ = ["STAGES", "Run", "main", "project", "run_build", "table"]

#: The stages ``collabkg build`` logs, in order: one line each, ``<stage> <seconds>s ...``.
STAGES = ("parse", "validate", "reason", "explain", "write", "store", "void", "answers", "index")
#: Seconds between two reads of the build's resident memory.
POLL_SECONDS = 0.1
_STAGE_LINE = re.compile(r"^(?P<stage>[a-z]+)\s+(?P<seconds>\d+\.\d+)s\s")


@dataclass
class Run:
    """One whole build: what it logged and how much memory it held."""

    size: int
    #: Seconds per stage, as the build logged them (the stages it finished).
    seconds: dict[str, float] = field(default_factory=dict)
    #: The largest resident memory polled while each stage ran, in MB.
    stage_peak_mb: dict[str, float] = field(default_factory=dict)
    #: The process's peak resident memory (the kernel's figure), in MB.
    peak_mb: float = 0.0
    wall_seconds: float = 0.0
    asserted: int = 0
    inferred: int = 0
    explanations: int = 0
    #: Why the run did not finish (the ceiling, or the build's error); empty when it did.
    stopped: str = ""


def project(workdir: Path, size: int) -> Path:
    """The generated project of ``size`` asserted triples under ``workdir``: its data written unless already
    there (the same size is the same bytes), its ontology, shapes and queries this checkout's every time."""
    root = workdir / str(size)
    marker = root / ".generated"
    if marker.exists():
        copy_checkout(root)
    else:
        written = generate(root, size)
        marker.write_text(f"{written}\n", encoding="utf-8")
    return root


def _resident_mb(pid: int) -> float:
    """The process's resident memory now, in MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0.0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def run_build(root: Path, size: int, *, ceiling_gb: float) -> Run:
    """Run ``collabkg --root root build --force`` and measure it; kills it past ``ceiling_gb`` of resident
    memory. The command is the ``collabkg`` beside this interpreter, so the checkout's code is what runs; the
    project's ``build/`` is removed first."""
    run = Run(size)
    # A build that finds its store already written (the same dataset) keeps it: every run starts from nothing.
    shutil.rmtree(root / "build", ignore_errors=True)
    command = [str(Path(sys.executable).parent / "collabkg"), "--root", str(root), "build", "--force"]
    started = time.monotonic()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    log: list[str] = []

    def read_log() -> (
        None
    ):  # the stage lines arrive as each stage ends; a thread, so polling goes on meanwhile
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line.rstrip("\n"))
            found = _STAGE_LINE.match(line)
            if found and found["stage"] in STAGES:
                run.seconds[found["stage"]] = float(found["seconds"])

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    while True:
        # wait4 rather than Popen.poll: it reaps the process with its own resource usage, the kernel's peak.
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            run.peak_mb = usage.ru_maxrss / 1024
            break
        stage = STAGES[min(len(run.seconds), len(STAGES) - 1)]
        resident = _resident_mb(process.pid)
        run.stage_peak_mb[stage] = max(run.stage_peak_mb.get(stage, 0.0), resident)
        if resident > ceiling_gb * 1024 and not run.stopped:
            run.stopped = (
                f"stopped at {resident / 1024:.1f} GB after {time.monotonic() - started:.0f} s in {stage}"
            )
            os.kill(process.pid, signal.SIGKILL)
        time.sleep(POLL_SECONDS)
    reader.join()
    process.stderr.close()
    run.wall_seconds = time.monotonic() - started
    if process.returncode != 0 and not run.stopped:
        run.stopped = f"failed (exit {process.returncode}): " + " | ".join(log[-3:])
    if not run.stopped:
        manifest = json.loads((root / "build" / "manifest.json").read_text(encoding="utf-8"))
        graphs: dict[str, int] = manifest["graphs"]
        run.inferred = graphs[str(INFERRED_GRAPH)]
        run.explanations = graphs[str(EXPLANATIONS_GRAPH)]
        run.asserted = sum(graphs.values()) - run.inferred - run.explanations - graphs[str(ONTOLOGY_GRAPH)]
    return run


def table(runs: list[Run]) -> str:
    """The runs as a text table: seconds per stage, total, peak memory (MB) with the stage that held it,
    triples, and the growth per ×10 of asserted triples of the total time and of the peak."""
    head = f"{'asserted':>10} " + " ".join(f"{stage:>8}" for stage in STAGES)
    head += f" {'total s':>8} {'peak MB':>8} {'at':>8} {'inferred':>10} {'explan.':>11} {'time/x10':>8}"
    head += f" {'mem/x10':>8}"
    lines = [head, "-" * len(head)]
    previous: Run | None = None
    for run in runs:
        cells = " ".join(
            f"{run.seconds[stage]:>8.2f}" if stage in run.seconds else f"{'-':>8}" for stage in STAGES
        )
        total = sum(run.seconds.values())
        at = max(run.stage_peak_mb, key=lambda stage: run.stage_peak_mb[stage], default="-")
        size = run.asserted or run.size
        row = f"{size:>10,} {cells} {total:>8.2f} {run.peak_mb:>8.0f} {at:>8}"
        if run.stopped:
            lines.append(f"{row}  {run.stopped}")
            previous = None
            continue
        growth = memory = ""
        if previous is not None:
            decades = math.log10(run.asserted / previous.asserted)
            growth = f"{(total / sum(previous.seconds.values())) ** (1 / decades):.1f}x"
            memory = f"{(run.peak_mb / previous.peak_mb) ** (1 / decades):.1f}x"
        lines.append(f"{row} {run.inferred:>10,} {run.explanations:>11,} {growth:>8} {memory:>8}")
        previous = run
    lines.append("peak MB per stage (polled):")
    for run in runs:
        peaks = ", ".join(f"{stage} {mb:,.0f}" for stage, mb in run.stage_peak_mb.items())
        lines.append(f"  {run.asserted or run.size:,}: {peaks}")
    lines.append(
        "Seconds per stage as `collabkg build` logs them; total: their sum. peak MB: the build process's "
        "largest resident memory, polled every 0.1 s; at: the stage that held it. explan.: triples of "
        "graph/explanations. time/x10, mem/x10: growth of the total and of the peak per tenfold asserted "
        "triples, from the row above."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=float, nargs="+", default=[1e5, 1e6], help="Asserted triples.")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "collabkg-whole-build")
    parser.add_argument(
        "--ceiling", type=float, default=16.0, help="GB of resident memory past which a build is killed."
    )
    args = parser.parse_args(argv)
    runs = []
    for size in (int(triples) for triples in args.triples):
        root = project(args.workdir, size)
        run = run_build(root, size, ceiling_gb=args.ceiling)
        print(f"  {size:,}: {run.wall_seconds:.0f} s, {run.peak_mb:,.0f} MB {run.stopped}", flush=True)
        runs.append(run)
    print(table(runs))


if __name__ == "__main__":
    main()
