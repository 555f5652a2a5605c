"""The query service under load, side by side with what users would run instead, in one run.

Servers, each started here on a loopback port and stopped after: collabkg (``collabkg serve``), the same with
its answer cache off (``COLLABKG_CACHE_BYTES=0``: the engine's own speed), rdflib-endpoint (its own venv,
``--peers-venv``), Virtuoso 7 (:mod:`bench.virtuoso`, a throwaway database loaded with its bulk loader) and, as
the floor, a Flask app that answers "hello" under the same gunicorn settings as collabkg. The peers serve the
same built TriG; collabkg serves its own build output of the same project (built before it starts). A server
that cannot be installed or started is reported as such and the others go on; a query a server answers with an
error is named in the report.

Load comes from ``wrk`` with a Lua script that rotates through a fixed mix of queries (GET ``?query=``, asking
for SPARQL JSON results), at concurrency 1 and 16, ``--duration`` seconds per point. Two mixes: the canned
queries of ``queries/`` without parameters, and ad-hoc queries (:data:`ADHOC`: lookup by IRI, a three-pattern
join, GROUP BY/COUNT, OPTIONAL+FILTER, a ``ck:moreComplexThan+`` path). Cold start is process start to the first
correct answer of a probe query. The report ends with the issue's targets, each judged on this run's figures.

:func:`at_size` measures latency as the graph grows: the lookup and the join, one client, answer cache off, on
the real graph and on the real graph plus generated reviews (:func:`grown_project`, a million triples by
default), where both have the same answers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import virtuoso
from .generate import REPOSITORY, generate

__all__ = ["ADHOC", "Point", "main", "parse_wrk", "run"]

PREFIX = "PREFIX ck: <https://w3id.org/collabkg/vocab#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
#: The ad-hoc mix: the kinds of query people write against the endpoint. The lookup, the join and the path
#: start from one resource, as a researcher's question does ("what do the reviews find about communication?"),
#: so their answers stay the same size as the graph grows: that is what the latency-at-size table compares.
#: (Virtuoso 7 also refuses a ``+`` path with neither end given: "transitive start not given".)
ADHOC = {
    "lookup": "SELECT ?p ?o WHERE { <https://w3id.org/collabkg/id/model/partnership> ?p ?o }",
    "join": PREFIX + "SELECT ?f ?polarity ?review WHERE { "
    "?f ck:aboutDeterminant <https://w3id.org/collabkg/id/determinant/communication> ; "
    "ck:polarity ?polarity ; ck:reportedIn ?review }",
    "group-count": PREFIX
    + "SELECT ?review (COUNT(?f) AS ?n) WHERE { ?f ck:reportedIn ?review } GROUP BY ?review",
    "optional-filter": PREFIX + "SELECT ?m ?rank WHERE { ?m a ck:CollaborationModel . "
    "OPTIONAL { ?m ck:complexityRank ?rank } FILTER (!BOUND(?rank) || ?rank > 2) }",
    "path": PREFIX
    + "SELECT ?simpler WHERE { <https://w3id.org/collabkg/id/model/partnership> ck:moreComplexThan+ ?simpler }",
}
#: The queries whose latency must hold as the graph grows (the issue's target: within 3x at 1M triples).
AT_SIZE = ("lookup", "join")
#: Asked until it gives this count: the server has loaded the data (cold start ends).
PROBE = PREFIX + "SELECT (COUNT(?m) AS ?n) WHERE { ?m a ck:CollaborationModel }"
_ACCEPT = "application/sparql-results+json"
_LUA = """
local paths = {%(paths)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Accept"] = "%(accept)s"})
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("WRK_JSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, "
    .. "\\"p99_us\\": %%d, \\"errors\\": %%d}\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors))
end
"""


@dataclass(frozen=True)
class Point:
    """One load point: what wrk measured."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def parse_wrk(output: str) -> Point:
    """The figures of a wrk run with our Lua ``done`` hook (its ``WRK_JSON`` line)."""
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return Point(
        requests_per_s=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=raw["errors"],
    )


@dataclass
class Server:
    """A server to load: how to start it, where it answers SPARQL, and how long it took to answer."""

    name: str
    start: Callable[[Path, int, Path], subprocess.Popen[bytes]]
    endpoint: str = "/sparql"
    sparql: bool = True
    cold_start_s: float | None = None
    #: The process started (while it runs).
    pid: int | None = None
    failure: str | None = None
    #: Queries of the mixes this server answers with an error, and its reason: their requests count as errors.
    refused: dict[str, str] = field(default_factory=dict)


def _ask(port: int, path: str, query: str | None, timeout: float = 5) -> bytes:
    url = f"http://127.0.0.1:{port}{path}"
    if query is not None:
        url += "?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": _ACCEPT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


def _probe_count(body: bytes) -> int:
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def _collabkg_env(scratch: Path, *, cache: bool) -> dict[str, str]:
    """collabkg's settings here: the project of this checkout, built into the scratch folder; without its
    answer cache, every request is parsed and evaluated (the engine's own speed)."""
    env = {
        **os.environ,
        "COLLABKG_ROOT": str(REPOSITORY),
        "COLLABKG_BUILD_DIR": str(scratch / "collabkg-build"),
    }
    if not cache:
        env["COLLABKG_CACHE_BYTES"] = "0"
    return env


def _collabkg_binary() -> str:
    return str(Path(sys.executable).parent / "collabkg")  # the console script of the venv running the bench


def build_collabkg(scratch: Path) -> None:
    """Build the project before collabkg starts, so its cold start is that of a server whose build is current."""
    subprocess.run(
        [_collabkg_binary(), "build"],
        env=_collabkg_env(scratch, cache=True),
        check=True,
        capture_output=True,
        timeout=600,
    )


def _collabkg(*, cache: bool) -> Callable[[Path, int, Path], subprocess.Popen[bytes]]:
    """``collabkg serve`` of its own current build output (the real graph plus its explanations graph), as
    deployed, rather than of the TriG the peers load: start-up from a build is what users wait for."""

    def start(_: Path, port: int, scratch: Path) -> subprocess.Popen[bytes]:
        command = [_collabkg_binary(), "serve", "--port", str(port)]
        env = _collabkg_env(scratch, cache=cache)
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start


def _floor(_: Path, port: int, __: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bench.floor", str(port)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPOSITORY)


def _rdflib_endpoint(venv: Path) -> Callable[[Path, int, Path], subprocess.Popen[bytes]]:
    def start(dataset: Path, port: int, _: Path) -> subprocess.Popen[bytes]:
        binary = venv / "bin" / "rdflib-endpoint"
        if not binary.exists():
            raise RuntimeError(
                f"{binary} is missing: python3 -m venv {venv} && {venv}/bin/pip install rdflib-endpoint"
            )
        command = [str(binary), "serve", str(dataset), "--host", "127.0.0.1", "--port", str(port)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start


def _virtuoso(dataset: Path, port: int, scratch: Path) -> subprocess.Popen[bytes]:
    """Virtuoso 7 on a throwaway database in ``scratch``, sized for load (:mod:`bench.virtuoso`); the data is
    bulk loaded before it counts as up."""
    try:
        return virtuoso.start(scratch, http_port=port, load=dataset, buffers=170_000, threads=32).process
    except (virtuoso.VirtuosoMissing, virtuoso.VirtuosoFailed) as exc:
        raise RuntimeError(str(exc)) from exc


@contextmanager
def _running(
    server: Server, dataset: Path, expected: int | None, scratch: Path, *, patience: float = 300
) -> Iterator[int | None]:
    """Start ``server``, wait for the probe's correct answer (its cold start), yield its port; stop it after.

    ``expected=None`` takes any count: the server has loaded once it answers. Yields None (with
    ``server.failure`` set) if it cannot start within ``patience`` seconds.
    """
    port = virtuoso.free_port()
    started = time.monotonic()
    try:
        process = server.start(dataset, port, scratch)
    except (RuntimeError, OSError) as exc:
        server.failure = str(exc)
        yield None
        return
    try:
        while True:
            try:
                if server.sparql:
                    count = _probe_count(_ask(port, server.endpoint, PROBE))
                    if expected is None or count == expected:
                        break
                elif _ask(port, server.endpoint, None):
                    break
            except (OSError, ValueError, KeyError, urllib.error.URLError):
                pass
            if process.poll() is not None or time.monotonic() - started > patience:
                server.failure = f"did not answer correctly (exit {process.poll()})"
                yield None
                return
            time.sleep(0.05)
        server.cold_start_s = time.monotonic() - started
        server.pid = process.pid
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _refused(port: int, server: Server, queries: dict[str, str]) -> None:
    """Ask each query once, before the load: a query the server cannot answer is named in the report rather
    than hidden in an error count."""
    for name, query in queries.items():
        try:
            _ask(port, server.endpoint, query, timeout=60)
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode("utf-8", "replace").strip().splitlines()
            server.refused[name] = f"{exc.code} {reason[0][:100] if reason else ''}".strip()
        except (OSError, urllib.error.URLError) as exc:
            server.refused[name] = str(exc)


def _load(port: int, paths: list[str], connections: int, duration: float, scratch: Path) -> Point:
    script = scratch / "mix.lua"
    script.write_text(
        _LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "accept": _ACCEPT}, encoding="utf-8"
    )
    threads = min(connections, 2)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
    ]
    done = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )
    return parse_wrk(done.stdout)


def canned_queries() -> dict[str, str]:
    """The canned queries without parameters, by name, as SPARQL text every server takes."""
    queries = {}
    for file in sorted((REPOSITORY / "queries").glob("*.rq")):
        text = file.read_text(encoding="utf-8")
        if "#+ param:" not in text:
            queries[file.stem] = text
    return queries


def run(dataset: Path, expected: int, *, duration: float, peers_venv: Path, scratch: Path) -> str:
    """Load every server with both mixes at concurrency 1 and 16; returns the report."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    servers = [
        Server("collabkg", _collabkg(cache=True)),
        Server("collabkg-uncached", _collabkg(cache=False)),
        Server("rdflib-endpoint", _rdflib_endpoint(peers_venv), endpoint="/"),
        Server("virtuoso", _virtuoso),
        Server("flask-floor", _floor, endpoint="/", sparql=False),
    ]
    mixes = {"canned": canned_queries(), "adhoc": ADHOC}
    build_collabkg(scratch)
    results: dict[tuple[str, str, int], Point] = {}
    for server in servers:
        with _running(server, dataset, expected, scratch) as port:
            if port is None:
                continue
            for mix, queries in mixes.items() if server.sparql else [("hello", {"hello": ""})]:
                if server.sparql:
                    _refused(port, server, queries)
                paths = [
                    server.endpoint + ("?" + urllib.parse.urlencode({"query": q}) if q else "")
                    for q in queries.values()
                ]
                for connections in (1, 16):
                    results[server.name, mix, connections] = _load(
                        port, paths, connections, duration, scratch
                    )
    return report(servers, results)


def report(servers: list[Server], results: dict[tuple[str, str, int], Point]) -> str:
    """The side-by-side table, each collabkg's ratios against each other server, the targets of issue 6, the
    queries a server refused, and the cold starts."""
    names = [s.name for s in servers]
    lines = [f"{'mix':<8} {'conc':>4} " + " ".join(f"{n:>30}" for n in names)]
    lines.append(f"{'':<8} {'':>4} " + " ".join(f"{'req/s   p50 ms   p99 ms  err':>30}" for _ in names))
    for mix in ("canned", "adhoc", "hello"):
        for connections in (1, 16):
            cells = []
            for name in names:
                point = results.get((name, mix, connections))
                cells.append(
                    f"{point.requests_per_s:>9.1f} {point.p50_ms:>8.1f} {point.p99_ms:>8.1f} {point.errors:>4}"
                    if point
                    else f"{'-':>30}"
                )
            if any(c.strip() != "-" for c in cells):
                lines.append(f"{mix:<8} {connections:>4} " + " ".join(f"{c:>30}" for c in cells))
    lines += ["", "Ratios (req/s: ours / other, higher is better; p50: ours / other, lower is better)"]
    ours_names = [n for n in names if n.startswith("collabkg")]
    for ours_name in ours_names:
        for mix in ("canned", "adhoc"):
            for connections in (1, 16):
                ours = results.get((ours_name, mix, connections))
                if ours is None:
                    continue
                parts = []
                for name in (n for n in names if n not in ours_names):
                    other = results.get((name, mix, connections)) or results.get((name, "hello", connections))
                    if other:
                        parts.append(
                            f"{name}: req/s {ours.requests_per_s / other.requests_per_s:.2f}x, "
                            f"p50 {ours.p50_ms / max(other.p50_ms, 1e-3):.2f}x"
                        )
                lines.append(f"  {ours_name:<17} {mix:<7} c={connections:<3} " + "; ".join(parts))
    lines += ["", "Targets (issue 6)", *_targets(servers, results)]
    refusals = [
        f"  {server.name} refused {name!r}: {reason}"
        for server in servers
        for name, reason in server.refused.items()
    ]
    if refusals:
        lines += ["", "Queries answered with an error (their requests are in the error counts):", *refusals]
    lines.append("")
    for server in servers:
        state = f"{server.cold_start_s:.2f} s to the first correct answer" if server.cold_start_s else ""
        lines.append(f"cold start {server.name:<18} {state or 'NOT RUN: ' + str(server.failure)}")
    return "\n".join(lines)


def _targets(servers: list[Server], results: dict[tuple[str, str, int], Point]) -> list[str]:
    """Each target of the issue that this run measured, with the figures it is judged by."""

    def verdict(ok: bool) -> str:
        return "met    " if ok else "NOT MET"

    lines = []
    ours, virtuoso = results.get(("collabkg", "canned", 16)), results.get(("virtuoso", "canned", 16))
    if ours and virtuoso:
        lines.append(
            f"  {verdict(ours.requests_per_s >= virtuoso.requests_per_s)} canned c=16 req/s >= Virtuoso's: "
            f"{ours.requests_per_s:.0f} vs {virtuoso.requests_per_s:.0f}"
        )
    floor = results.get(("flask-floor", "hello", 16))
    if ours and floor:
        ratio = ours.p50_ms / max(floor.p50_ms, 1e-3)
        lines.append(f"  {verdict(ratio <= 1.5)} canned c=16 p50 <= 1.5x the floor's: {ratio:.2f}x")
    for connections in (1, 16):
        adhoc, peer = (
            results.get(("collabkg", "adhoc", connections)),
            results.get(("rdflib-endpoint", "adhoc", connections)),
        )
        if adhoc and peer:
            ratio = adhoc.requests_per_s / peer.requests_per_s
            lines.append(
                f"  {verdict(ratio >= 5)} ad-hoc c={connections} req/s >= 5x rdflib-endpoint's: {ratio:.1f}x"
            )
    for server in servers:
        if server.name == "collabkg" and server.cold_start_s:
            lines.append(
                f"  {verdict(server.cold_start_s < 1)} cold start < 1 s: {server.cold_start_s:.2f} s"
            )
    return lines


def grown_project(root: Path, triples: int) -> Path:
    """A project at ``root``: the real graph's data files plus generated reviews up to ``triples`` asserted
    triples, so that the queries of :data:`AT_SIZE` have the same answers as on the real graph."""
    generate(root, triples)
    for file in (REPOSITORY / "data").glob("*.ttl"):
        shutil.copy(file, root / "data" / f"real-{file.name}")  # beside the generated countries and mappings
    return root


def _collabkg_files(files: list[Path]) -> Callable[[Path, int, Path], subprocess.Popen[bytes]]:
    """``collabkg serve --dataset`` of ``files``, answer cache off: how fast the engine itself answers."""

    def start(_: Path, port: int, scratch: Path) -> subprocess.Popen[bytes]:
        command = [_collabkg_binary(), "serve", "--port", str(port)]
        for file in files:
            command += ["--dataset", str(file)]
        env = {**os.environ, "COLLABKG_CACHE_BYTES": "0"}
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start


def at_size(real: Path, grown: Path, label: str, *, duration: float, scratch: Path) -> str:
    """Latency of :data:`AT_SIZE` (concurrency 1, answer cache off) on the real graph's built TriG, and on
    that of the real graph grown to ``label`` triples (:func:`grown_project`): the same queries and answers,
    a larger store. Both are the build's data and inferred graphs without the explanations graph."""
    servers = [
        Server("real graph", _collabkg_files([real])),
        Server(f"real + {label}", _collabkg_files([grown])),
    ]
    measured: dict[tuple[str, str], tuple[int, Point]] = {}
    for server, dataset in zip(servers, (real, grown), strict=True):
        with _running(server, dataset, None, scratch, patience=3600) as port:
            if port is None:
                continue
            for name in AT_SIZE:
                answer = json.loads(_ask(port, server.endpoint, ADHOC[name], timeout=60))
                path = server.endpoint + "?" + urllib.parse.urlencode({"query": ADHOC[name]})
                measured[server.name, name] = (
                    len(answer["results"]["bindings"]),
                    _load(port, [path], 1, duration, scratch),
                )
    first, second = (server.name for server in servers)
    lines = [f"{'query':<8} {first:>28} {second:>28}   p50 ratio  target (<= 3x)"]
    lines.append(f"{'':<8} {'rows   p50 ms   p99 ms':>28} {'rows   p50 ms   p99 ms':>28}")
    for name in AT_SIZE:
        cells = [measured.get((server.name, name)) for server in servers]
        text = [f"{c[0]:>6} {c[1].p50_ms:>8.2f} {c[1].p99_ms:>8.2f}" if c else "-" for c in cells]
        line = f"{name:<8} {text[0]:>28} {text[1]:>28}"
        if cells[0] and cells[1]:
            ratio = cells[1][1].p50_ms / max(cells[0][1].p50_ms, 1e-3)
            line += f"   {ratio:>8.2f}x  {'met' if ratio <= 3 else 'NOT MET'}"
        lines.append(line)
    for server in servers:
        state = (
            f"{server.cold_start_s:.1f} s (parsing TriG)"
            if server.cold_start_s
            else f"NOT RUN: {server.failure}"
        )
        lines.append(f"loaded {server.name:<18} {state}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="A built collabkg.trig.")
    parser.add_argument("--expected-models", type=int, required=True, help="The probe's right answer.")
    parser.add_argument("--duration", type=float, default=10, help="Seconds per load point (10 or more).")
    parser.add_argument(
        "--peers-venv", type=Path, default=Path(os.environ.get("PEERS_VENV", "/tmp/venv-peers"))
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        print(
            run(
                args.dataset,
                args.expected_models,
                duration=args.duration,
                peers_venv=args.peers_venv,
                scratch=Path(scratch),
            )
        )


if __name__ == "__main__":
    main()
