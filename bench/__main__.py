"""``python -m bench``: the build table at growing sizes, the query service against its peers (repeated and
new texts), and the service at size: the real graph served alone and with generated triples beside it.

``--quick`` is a smoke run (small sizes, 2 s per load point); the figures in the README come from the defaults.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from . import build_bench, query_bench
from .generate import REPOSITORY


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=float, nargs="+", default=[2e3, 2e4, 1e5, 1e6], help="Build sizes.")
    parser.add_argument("--budget", type=float, default=600, help="Seconds an owlrl build may take.")
    parser.add_argument("--validate-up-to", type=float, default=1e6, help="Largest size that runs pySHACL.")
    parser.add_argument("--duration", type=float, default=10, help="Seconds per query load point.")
    parser.add_argument(
        "--at-size",
        type=float,
        nargs="+",
        default=[2e6],
        help="Generated triples served beside the real graph, one server per size (e.g. 2e6 1e7).",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="Query load points run this many times each; the median is shown.",
    )
    parser.add_argument("--at-size-workers", type=int, default=4, help="Workers of the servers at size.")
    parser.add_argument("--quick", action="store_true", help="Sizes 2e3 2e4, 2 s per point, 120 s budget.")
    parser.add_argument("--skip-build", action="store_true", help="No build table.")
    parser.add_argument("--skip-query", action="store_true", help="No query service table.")
    parser.add_argument("--skip-at-size", action="store_true", help="No latency-at-size table.")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "collabkg-bench")
    parser.add_argument(
        "--peers-venv", type=Path, default=Path("/tmp/venv-peers"), help="Has rdflib-endpoint."
    )
    args = parser.parse_args()
    if args.quick:
        args.triples, args.duration, args.budget, args.at_size = [2e3, 2e4], 2.0, 120.0, [2e4]
    print(
        f"collabkg benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}: "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    if not args.skip_build:
        started = time.monotonic()
        print("\n## Build: parse + validate + reason + write (owlrl baseline vs compiled rules)")
        rows = build_bench.measure(
            [int(size) for size in args.triples],
            args.workdir,
            budget=args.budget,
            validate_up_to=int(args.validate_up_to),
        )
        print(build_bench.table(rows))
        print(f"({time.monotonic() - started:.0f} s)")
    if args.skip_query and args.skip_at_size:
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    real = args.workdir / "real.trig"
    built = build_bench.run_once(REPOSITORY, "rules", validate=False, out=real)
    scratch = Path(tempfile.mkdtemp(dir=args.workdir))
    if not args.skip_query:
        rounds = "" if args.rounds == 1 else f", the median of {args.rounds} rounds"
        print(
            f"\n## Query service on the real graph, {args.duration:g} s per point{rounds}, wrk over loopback, "
            "each point run on every server in turn"
        )
        print(
            query_bench.run(
                real,
                built["models"],
                duration=args.duration,
                peers_venv=args.peers_venv,
                scratch=scratch,
                rounds=args.rounds,
            )
        )
    if not args.skip_at_size:
        workers = args.at_size_workers
        print(
            f"\n## The service at size: collabkg serve --dataset, {workers} workers, new texts; the real graph "
            "alone, then with generated asserted triples"
        )
        print(query_bench.size_header())

        def measured(label: str, files: list[Path]) -> query_bench.SizeRun:
            started = time.monotonic()
            run = query_bench.measure_size(
                label, files, workers=workers, duration=args.duration, scratch=scratch
            )
            print(query_bench.size_line(run), f"({time.monotonic() - started:.0f} s)", flush=True)
            return run

        alone = measured("real graph", [real])
        targets = []
        for size in (int(n) for n in args.at_size):
            generated, triples = query_bench.generated_dataset(args.workdir, size)
            grown = measured(f"real + {triples:,} generated", [real, generated])
            targets += query_bench.size_targets(alone, grown)
        print("\nTargets at size (issue 12; the 2M one is the issue's, larger sizes are judged alike)")
        print("\n".join(targets))


if __name__ == "__main__":
    main()
