"""The query service under load, side by side with what users would run instead, in one run.

Servers, each started here on a loopback port and stopped after: collabkg (``collabkg serve`` of its own
current build, built before it starts), rdflib-endpoint (its own venv, ``--peers-venv``), Virtuoso 7
(:mod:`bench.virtuoso`, a throwaway database loaded with its bulk loader) and, as the HTTP floor, a Flask app
that answers "hello" under the same gunicorn settings as collabkg (:mod:`bench.floor`). The peers serve the
same built TriG. The engine floor is pyoxigraph in this process on that TriG (:func:`bench.floor.engine_floor`).
A server that cannot be installed or started is reported as such and the others go on.

Each of the five shapes of :data:`ADHOC` (lookup by IRI, a three-pattern join, GROUP BY/COUNT,
OPTIONAL+FILTER, a ``ck:moreComplexThan+`` path) is loaded on its own by ``wrk`` (GET ``?query=``, asking for
SPARQL JSON results), at concurrency 1 and 16, ``--duration`` seconds per point, in two mixes:

repeated
    the same text every request: what answer caches and parsed-query caches are for.
new text
    every request a text no server has seen: wrk's Lua script (:func:`lua_script`) puts an unused declaration
    ``PREFIX n<N>: <urn:n:>`` before the query, N new for each request of each thread of each run. The answer
    is the same; only the engine's own speed (parsing, planning, evaluating) can serve it.

Before the load, every server is asked every shape in both forms and its answer's rows are compared with the
engine floor's: a refused query or a wrong count is named in the report, and its points are left out of the
means. wrk counts responses that are not 2xx/3xx and socket errors; both are reported per point, and a point's
req/s counts only the good responses. Cold start is process start to the first correct answer of a probe
query. The report ends with the targets of issue 12, each judged on this run's figures.

:func:`measure_size` measures ``collabkg serve --dataset`` as the graph grows: the real graph's built TriG alone,
then with generated asserted triples beside it (:func:`generated_dataset`), each served by ``--workers``
workers: the time to the first answer, the memory of the whole server (PSS summed over its process tree, the
query processes included), and the lookup and join as new texts at one connection, whose answers are the same
at every size.
"""

from __future__ import annotations

import compileall
import contextlib
import itertools
import json
import math
import os
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import collabkg
import pyoxigraph as ox

from . import virtuoso
from .floor import EnginePoint, engine_floor, open_store, rows, with_prefix
from .generate import REPOSITORY, generate
from .proctree import TreeMemory, tree_memory

__all__ = [
    "ADHOC",
    "MIXES",
    "Point",
    "SizeRun",
    "generated_dataset",
    "lua_script",
    "main",
    "measure_size",
    "parse_wrk",
    "run",
    "size_header",
    "size_line",
    "size_targets",
]

PREFIX = "PREFIX ck: <https://w3id.org/collabkg/vocab#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
#: The five shapes: the kinds of query people write against the endpoint. The lookup, the join and the path
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
#: The two mixes, each loaded shape by shape.
MIXES = ("repeated", "new text")
CONNECTIONS = (1, 16)
#: The queries whose latency must hold as the graph grows.
AT_SIZE = ("lookup", "join")
#: Asked until it gives this count: the server has loaded the data (cold start ends).
PROBE = PREFIX + "SELECT (COUNT(?m) AS ?n) WHERE { ?m a ck:CollaborationModel }"
_ACCEPT = "application/sparql-results+json"
#: wrk's threads are at most this many: each numbers its requests apart from the others' (see the script).
_MAX_THREADS = 16
#: Numbers the new texts of successive wrk runs apart, so that a run never repeats an earlier run's texts.
_RUNS = itertools.count(1)
_LUA = string.Template("""\
-- Written by bench/query_bench.py for one wrk run: GET $path followed by the URL-encoded query, asking for
-- SPARQL JSON results. With new_text, each request puts "PREFIX n<N>: <urn:n:>" and a newline before the
-- query, N = base + (request number of this thread) * $threads + (this thread's index): never the same twice.
local path = "$path"
local query = "$query"
local new_text = $new_text
local base = $base
local started = 0
number = 0
thread_index = 0
setup = function(thread)
  thread:set("thread_index", started)
  started = started + 1
end
local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
request = function()
  local target = path .. query
  if new_text then
    number = number + 1
    local n = string.format("%.0f", base + number * $threads + thread_index)
    target = path .. encode("PREFIX n" .. n .. ": <urn:n:>\\n") .. query
  end
  return wrk.format("GET", target, {["Accept"] = "$accept"})
end
done = function(summary, latency, requests)
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRK_JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"errors\\": %d, \\"non_2xx\\": %d}\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), failed, summary.errors.status))
end
""")


@dataclass(frozen=True)
class Point:
    """One load point: what wrk measured. ``requests_per_s`` counts good (2xx/3xx) responses only."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    #: Socket errors: connections refused or reset, reads or writes failed, requests past wrk's timeout.
    errors: int
    #: Responses that were not 2xx or 3xx.
    non_2xx: int

    @property
    def failed(self) -> int:
        """Requests that did not get a good answer."""
        return self.errors + self.non_2xx


def parse_wrk(output: str) -> Point:
    """The figures of a wrk run with our Lua ``done`` hook (its ``WRK_JSON`` line)."""
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return Point(
        requests_per_s=(raw["requests"] - raw["non_2xx"]) / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=raw["errors"],
        non_2xx=raw["non_2xx"],
    )


def lua_script(path: str, query: str, *, new_text: bool) -> str:
    """wrk's script for one run: GET ``path`` with ``query`` URL-encoded after it (``path`` ends in
    ``?query=``; an empty query asks for ``path`` alone), as is or, with ``new_text``, with a prefix
    declaration of its own before it on every request (:func:`bench.floor.with_prefix`)."""
    return _LUA.substitute(
        path=path,
        query=urllib.parse.quote(query, safe=""),
        new_text="true" if new_text else "false",
        base=next(_RUNS) * 10**12,
        threads=_MAX_THREADS,
        accept=_ACCEPT,
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
    #: (mix, shape) this server answers with an error, and which: those points are not loaded, and the means
    #: say they are missing.
    refused: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (mix, shape) this server answers with other rows than the engine floor's: loaded all the same (it is
    #: work the server does for every request), marked in the tables and named with the targets.
    wrong: dict[tuple[str, str], str] = field(default_factory=dict)


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
    """Build the project, and compile the package's bytecode, before collabkg starts: its cold start is that of
    a server installed and built. (pip compiles a package it installs, and Python caches the bytecode of what it
    imports; a machine with ``PYTHONDONTWRITEBYTECODE`` set, as this one is, compiled the package's modules from
    source at every start: 0.17 s of collabkg's and the HTTP floor's cold starts, which import it.)"""
    compileall.compile_dir(Path(collabkg.__file__).parent, quiet=1)
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
                f"{binary} is missing: python3 -m venv {venv} && {venv}/bin/pip install 'rdflib-endpoint[cli]'"
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
            time.sleep(0.01)  # cold starts of a few tenths of a second: a coarser poll would show in them
        server.cold_start_s = time.monotonic() - started
        server.pid = process.pid
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _check_answers(port: int, server: Server, expected: dict[str, int]) -> None:
    """Ask each shape once as it is and once as a new text, before the load: a query the server refuses is
    named in the report and not loaded, rather than hidden in an error count; one it answers with other rows
    than the engine floor's is named too, so that no fast wrong answer passes for a right one."""
    for name, query in ADHOC.items():
        for mix, text in zip(MIXES, (query, with_prefix(query, 0)), strict=True):
            try:
                found = len(json.loads(_ask(port, server.endpoint, text, timeout=60))["results"]["bindings"])
            except urllib.error.HTTPError as exc:
                reason = exc.read().decode("utf-8", "replace").strip().splitlines()
                server.refused[mix, name] = f"{exc.code} {reason[0][:100] if reason else ''}".strip()
                continue
            except (OSError, ValueError, KeyError) as exc:
                server.refused[mix, name] = str(exc)
                continue
            if found != expected[name]:
                server.wrong[mix, name] = f"{found} rows; the engine floor has {expected[name]}"


def _load(
    port: int, path: str, query: str, connections: int, duration: float, scratch: Path, *, new_text: bool
) -> Point:
    """One wrk run of ``query`` at ``path`` (:func:`lua_script`) with ``connections`` connections."""
    script = scratch / "load.lua"
    script.write_text(lua_script(path, query, new_text=new_text), encoding="utf-8")
    command = [
        "wrk",
        f"-t{min(connections, 2)}",
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


#: A load point by (server, mix, shape, connections); the HTTP floor's mix and shape are "hello".
Results = dict[tuple[str, str, str, int], Point]


def run(
    dataset: Path, expected: int, *, duration: float, peers_venv: Path, scratch: Path, rounds: int = 1
) -> str:
    """The engine floor, then every server with both mixes, shape by shape, at concurrency 1 and 16; returns
    the report.

    The servers are started one at a time (each cold start is its own) and then kept up together, and every
    load point is run on each server in turn, back to back: on a shared machine whose speed drifts by half
    within minutes (measured here: the same point at 533 and 1,044 req/s a minute apart), servers loaded one
    after the other, minutes apart, were compared at different speeds of the machine. With ``rounds`` above 1
    the whole sequence is run that many times and each point is the round with its median throughput.
    """
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    servers = [
        Server("collabkg", _collabkg(cache=True)),
        Server("virtuoso", _virtuoso),
        Server("rdflib-endpoint", _rdflib_endpoint(peers_venv), endpoint="/"),
        Server("flask-floor", _floor, endpoint="/", sparql=False),
    ]
    store = open_store(dataset, scratch / "floor-store")
    answers = {name: rows(store, query) for name, query in ADHOC.items()}
    floor = {
        (mix, name): engine_floor(store, query, duration=duration, new_text=mix == "new text")
        for mix in MIXES
        for name, query in ADHOC.items()
    }
    del store  # its files stay in the scratch folder; the servers run alone
    build_collabkg(scratch)
    measured: dict[tuple[str, str, str, int], list[Point]] = {}
    with contextlib.ExitStack() as running:
        ports: dict[str, int] = {}
        for server in servers:
            port = running.enter_context(_running(server, dataset, expected, scratch))
            if port is not None:
                ports[server.name] = port
                if server.sparql:
                    _check_answers(port, server, answers)
        up = [server for server in servers if server.name in ports]
        points = [("hello", "hello", c) for c in CONNECTIONS] + [
            (mix, name, c) for mix in MIXES for name in ADHOC for c in CONNECTIONS
        ]
        for _ in range(rounds):
            for mix, name, connections in points:
                for server in up:
                    if (mix == "hello") == server.sparql or (mix, name) in server.refused:
                        continue
                    point = _load(
                        ports[server.name],
                        server.endpoint + "?query=" if server.sparql else server.endpoint,
                        ADHOC[name] if server.sparql else "",
                        connections,
                        duration,
                        scratch,
                        new_text=mix == "new text",
                    )
                    measured.setdefault((server.name, mix, name, connections), []).append(point)
    results: Results = {key: _median(found) for key, found in measured.items()}
    return report(servers, results, floor, answers)


def _median(points: list[Point]) -> Point:
    """The point with the median throughput (the lower middle one of an even number)."""
    return sorted(points, key=lambda point: point.requests_per_s)[(len(points) - 1) // 2]


def _geomean(results: Results, server: str, mix: str, connections: int, shapes: list[str]) -> float | None:
    """The geometric mean of ``server``'s req/s over ``shapes`` (None if one is missing or zero)."""
    values = [results.get((server, mix, shape, connections)) for shape in shapes]
    if not values or any(v is None or v.requests_per_s <= 0 for v in values):
        return None
    return math.exp(sum(math.log(v.requests_per_s) for v in values if v) / len(values))


def _answered(results: Results, servers: list[str], mix: str) -> list[str]:
    """The shapes every one of ``servers`` was loaded with in ``mix``: a mean compares like with like."""
    return [
        shape for shape in ADHOC if all((s, mix, shape, c) in results for s in servers for c in CONNECTIONS)
    ]


def report(
    servers: list[Server],
    results: Results,
    floor: dict[tuple[str, str], EnginePoint],
    answers: dict[str, int],
) -> str:
    """One table per mix (good answers per second and p50 per shape, at 1 and 16 connections, the geometric
    means and collabkg's ratios to each peer), the HTTP floor, the targets of issue 12, what a server refused
    or failed, and the cold starts."""
    peers = [s.name for s in servers if s.sparql]
    lines: list[str] = []
    width = 17
    for mix in MIXES:
        lines += [
            f"### {mix}: good answers per second (p50 ms); ! = some requests failed, w = wrong rows (below)",
            f"{'shape':<16} {'rows':>4} "
            + " ".join(f"{name + ' c=' + str(c):>{width}}" for name in peers for c in CONNECTIONS)
            + f" {'oxigraph floor':>{width}}",
        ]
        for shape in ADHOC:
            cells = []
            for server in servers:
                if not server.sparql:
                    continue
                for connections in CONNECTIONS:
                    point = results.get((server.name, mix, shape, connections))
                    if (mix, shape) in server.refused:
                        cells.append("refused")
                    elif point is None:
                        cells.append("-")
                    else:
                        mark = ("!" if point.failed else "") + ("w" if (mix, shape) in server.wrong else "")
                        cells.append(f"{point.requests_per_s:.0f} ({point.p50_ms:.2f}){mark}")
            engine = floor[mix, shape]
            cells.append(f"{engine.requests_per_s:.0f} ({engine.p50_ms:.2f})")
            lines.append(f"{shape:<16} {answers[shape]:>4} " + " ".join(f"{c:>{width}}" for c in cells))
        means = []
        for name in peers:
            for connections in CONNECTIONS:
                mean = _geomean(results, name, mix, connections, list(ADHOC))
                means.append("-" if mean is None else f"{mean:.0f}")
        floor_mean = math.exp(sum(math.log(floor[mix, s].requests_per_s) for s in ADHOC) / len(ADHOC))
        means.append(f"{floor_mean:.0f}")
        lines.append(f"{'geometric mean':<21} " + " ".join(f"{m:>{width}}" for m in means))
        for other in peers[1:]:
            shapes = _answered(results, ["collabkg", other], mix)
            ratios = []
            for connections in CONNECTIONS:
                ours = _geomean(results, "collabkg", mix, connections, shapes)
                theirs = _geomean(results, other, mix, connections, shapes)
                ratios.append(
                    f"c={connections}: {ours / theirs:.2f}x" if ours and theirs else f"c={connections}: -"
                )
            over = "" if len(shapes) == len(ADHOC) else f" (over the {len(shapes)} shapes both answered)"
            lines.append(f"  collabkg / {other}: " + ", ".join(ratios) + over)
        ours_1 = _geomean(results, "collabkg", mix, 1, list(ADHOC))
        if ours_1:
            lines.append(f"  collabkg c=1 / oxigraph floor: {ours_1 / floor_mean:.2f}x")
        lines.append("")
    hello = [results.get(("flask-floor", "hello", "hello", c)) for c in CONNECTIONS]
    if all(hello):
        lines.append(
            "HTTP floor (Flask 'hello' under collabkg's gunicorn settings): "
            + ", ".join(
                f"c={c}: {p.requests_per_s:.0f} req/s, p50 {p.p50_ms:.2f} ms"
                for c, p in zip(CONNECTIONS, hello, strict=True)
                if p
            )
        )
    lines += ["", "Targets (issue 12)", *_targets(servers, results)]
    refusals = [
        f"  {server.name}, {mix}, {shape}: {reason}"
        for server in servers
        for (mix, shape), reason in server.refused.items()
    ]
    if refusals:
        lines += ["", "Refused (not loaded):", *refusals]
    wrong = [
        f"  {server.name}, {mix}, {shape}: {reason}"
        for server in servers
        for (mix, shape), reason in server.wrong.items()
    ]
    if wrong:
        lines += ["", "Answered with other rows than the engine floor (loaded all the same):", *wrong]
    failures = [
        f"  {name}, {mix}, {shape}, c={c}: {point.non_2xx} not 2xx, {point.errors} socket errors"
        for (name, mix, shape, c), point in results.items()
        if point.failed
    ]
    lines += ["", "Failed requests under load:", *(failures or ["  none"]), ""]
    for server in servers:
        state = f"{server.cold_start_s:.3f} s to the first correct answer" if server.cold_start_s else ""
        lines.append(f"cold start {server.name:<18} {state or 'NOT RUN: ' + str(server.failure)}")
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "MET    " if ok else "NOT MET"


def _targets(servers: list[Server], results: Results) -> list[str]:
    """Each target of issue 12 that this run measured, with the figures it is judged by. A ratio is of the
    geometric means over the five shapes; it is judged NOT MET if collabkg answered a shape wrongly or had a
    request fail in that mix."""
    lines = []
    wanted = [
        ("new text", 16, "virtuoso", 2.0),
        ("new text", 16, "rdflib-endpoint", 10.0),
        ("new text", 1, "virtuoso", 1.0),
        ("repeated", 16, "rdflib-endpoint", 5.0),
        ("repeated", 16, "virtuoso", 2.0),
    ]
    for mix, connections, other, target in wanted:
        shapes = _answered(results, ["collabkg", other], mix)
        ours = _geomean(results, "collabkg", mix, connections, shapes)
        theirs = _geomean(results, other, mix, connections, shapes)
        what = f"{mix} c={connections}: collabkg >= {target:g}x {other}"
        if not (ours and theirs):
            lines.append(f"  NOT RUN {what}")
            continue
        failed = sum(p.failed for (name, m, _, _), p in results.items() if name == "collabkg" and m == mix)
        ours_wrong = [
            shape
            for (m, shape) in [*_server(servers, "collabkg").refused, *_server(servers, "collabkg").wrong]
            if m == mix
        ]
        theirs_wrong = [shape for (m, shape) in _server(servers, other).wrong if m == mix]
        ratio = ours / theirs
        notes = [f"{ratio:.2f}x ({ours:.0f} vs {theirs:.0f} req/s"]
        if len(shapes) < len(ADHOC):
            notes.append(f"over {len(shapes)} shapes")
        if failed:
            notes.append(f"{failed} collabkg requests failed")
        if ours_wrong:
            notes.append(f"collabkg refused or answered wrongly: {', '.join(ours_wrong)}")
        if theirs_wrong:
            notes.append(f"{other} answered {', '.join(theirs_wrong)} with other rows")
        lines.append(
            f"  {_verdict(ratio >= target and not failed and not ours_wrong)} {what}: "
            + "; ".join(notes)
            + ")"
        )
    cold = _server(servers, "collabkg").cold_start_s
    if cold is not None:
        lines.append(f"  {_verdict(cold < 0.3)} cold start < 0.3 s: {cold:.3f} s")
    return lines


def _server(servers: list[Server], name: str) -> Server:
    return next(server for server in servers if server.name == name)


def generated_dataset(workdir: Path, triples: int) -> tuple[Path, int]:
    """An N-Quads file of about ``triples`` generated asserted triples (:func:`bench.generate.generate`),
    each data file of the generated project in the named graph of its ``file:`` URI, as ``serve --dataset``
    of those files would name them; and how many triples it holds. The generated reviews do not touch the
    real graph's resources, so beside it the lookup and the join have the real graph's answers.

    Not reasoned: a build of 10M triples needs far more memory than this machine has (3.5 GB at 1M), and the
    queries measured at size ask nothing inferred. Written once per size (the generator is seeded).
    """
    out = workdir / f"generated-{triples}.nq"
    if not out.exists():
        root = workdir / f"generated-{triples}"
        generate(root, triples)
        partial = out.with_suffix(".partial")
        with partial.open("wb") as sink:
            for file in sorted((root / "data").glob("*.ttl")):
                graph = ox.NamedNode(file.resolve().as_uri())
                quads = ox.parse(path=file, format=ox.RdfFormat.TURTLE, base_iri=graph.value)
                ox.serialize(
                    (ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads),
                    output=sink,
                    format=ox.RdfFormat.N_QUADS,
                )
        partial.rename(out)
        shutil.rmtree(root)
    with out.open("rb") as lines:
        return out, sum(1 for _ in lines)


def _collabkg_files(files: list[Path], workers: int) -> Callable[[Path, int, Path], subprocess.Popen[bytes]]:
    """``collabkg serve --dataset`` of ``files`` with ``workers`` workers, otherwise as deployed."""

    def start(_: Path, port: int, __: Path) -> subprocess.Popen[bytes]:
        command = [_collabkg_binary(), "serve", "--port", str(port), "--workers", str(workers)]
        for file in files:
            command += ["--dataset", str(file)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start


@dataclass
class SizeRun:
    """What one size measured (:func:`measure_size`)."""

    label: str
    #: Seconds from process start to the first correct answer (None: it did not answer; see ``failure``).
    first_answer_s: float | None = None
    failure: str | None = None
    #: The server's PSS once it first answered, and the largest sample under load at 16 connections.
    memory_idle: TreeMemory | None = None
    memory_peak: TreeMemory | None = None
    #: Each shape asked once: rows and milliseconds (None: refused, with the reason in ``refused``).
    once: dict[str, tuple[int, float]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    #: The queries of :data:`AT_SIZE` as new texts at one connection.
    points: dict[str, Point] = field(default_factory=dict)
    #: The lookup as new texts at 16 connections, while memory was sampled.
    busy: Point | None = None


def measure_size(label: str, files: list[Path], *, workers: int, duration: float, scratch: Path) -> SizeRun:
    """``collabkg serve --dataset`` of ``files`` with ``workers`` workers: time to the first answer, each shape
    once, :data:`AT_SIZE` as new texts at one connection, then the lookup as new texts at 16 connections
    with the server's PSS sampled every half second (all workers and their query processes at work)."""
    result = SizeRun(label)
    server = Server(label, _collabkg_files(files, workers))
    with _running(server, files[0], None, scratch, patience=3600) as port:
        if port is None:
            result.failure = server.failure
            return result
        assert server.pid is not None
        result.first_answer_s = server.cold_start_s
        result.memory_idle = tree_memory(server.pid)
        for name, query in ADHOC.items():
            started = time.perf_counter()
            try:
                body = _ask(port, server.endpoint, with_prefix(query, 0), timeout=60)
            except (OSError, urllib.error.URLError) as exc:
                result.refused[name] = str(exc)
                continue
            found = len(json.loads(body)["results"]["bindings"])
            result.once[name] = (found, (time.perf_counter() - started) * 1000)
        for name in AT_SIZE:
            path = server.endpoint + "?query="
            result.points[name] = _load(port, path, ADHOC[name], 1, duration, scratch, new_text=True)
        samples: list[TreeMemory] = []
        stop = threading.Event()

        def sample(pid: int) -> None:
            while not stop.wait(0.5):
                samples.append(tree_memory(pid))

        sampler = threading.Thread(target=sample, args=(server.pid,), daemon=True)
        sampler.start()
        try:
            path = server.endpoint + "?query="
            result.busy = _load(port, path, ADHOC["lookup"], 16, duration, scratch, new_text=True)
        finally:
            stop.set()
            sampler.join()
        result.memory_peak = max(samples, key=lambda m: m.bytes, default=None)
    return result


#: Targets at size (issue 12): the first answer, the whole server's memory, the lookup against the real graph's.
FIRST_ANSWER_S, MEMORY_BYTES, LOOKUP_RATIO = 60.0, 1.5e9, 2.0


def size_header() -> str:
    """The column heads of :func:`size_line`."""
    return (
        f"{'dataset':<34} {'first s':>8} {'PSS MB idle':>11} {'peak':>6} {'procs':>5} "
        + " ".join(f"{name + ' p50/p99 ms':>19}" for name in AT_SIZE)
        + f" {'lookup c=16':>18}  each shape once: rows, ms"
    )


def size_line(run: SizeRun) -> str:
    """One dataset's figures (:func:`measure_size`)."""
    if run.first_answer_s is None:
        return f"{run.label:<34} NOT RUN: {run.failure}"
    idle, peak = run.memory_idle, run.memory_peak
    unread = (idle.unread if idle else 0) + (peak.unread if peak else 0)
    points = " ".join(
        f"{p.p50_ms:>9.2f}/{p.p99_ms:<7.2f}{'!' if p.failed else ' ':>2}"
        for p in (run.points[name] for name in AT_SIZE)
    )
    busy = f"{run.busy.requests_per_s:>8.0f} req/s{'!' if run.busy.failed else ''}" if run.busy else "-"
    once = ", ".join(f"{name} {rows_}, {ms:.0f}" for name, (rows_, ms) in run.once.items())
    once += "".join(f"; {name} REFUSED {why}" for name, why in run.refused.items())
    return (
        f"{run.label:<34} {run.first_answer_s:>8.1f} {(idle.bytes if idle else 0) / 1e6:>11.0f} "
        f"{(peak.bytes if peak else 0) / 1e6:>6.0f} {peak.processes if peak else 0:>5} {points} {busy:>18}  {once}"
        + (f" ({unread} processes unreadable)" if unread else "")
    )


def size_targets(real: SizeRun, run: SizeRun) -> list[str]:
    """``run`` (the real graph grown) judged by the targets at size, against ``real``."""
    if run.first_answer_s is None or real.first_answer_s is None:
        return [f"  NOT RUN {run.label}: {run.failure or real.failure}"]
    peak = max(
        (m for m in (run.memory_idle, run.memory_peak) if m), key=lambda m: m.bytes
    )  # the idle sample is taken in every run; a peak only if the load ran long enough
    ratio = run.points["lookup"].p50_ms / max(real.points["lookup"].p50_ms, 1e-3)
    same = all(run.once.get(name, (None,))[0] == real.once.get(name, (None,))[0] for name in AT_SIZE)
    return [
        f"  {_verdict(run.first_answer_s <= FIRST_ANSWER_S)} {run.label}: first answer <= {FIRST_ANSWER_S:g} s: "
        f"{run.first_answer_s:.1f} s",
        f"  {_verdict(peak.bytes <= MEMORY_BYTES and not peak.unread)} {run.label}: whole server PSS <= "
        f"{MEMORY_BYTES / 1e9:g} GB: {peak.bytes / 1e9:.2f} GB over {peak.processes} processes"
        + (f" ({peak.unread} unreadable)" if peak.unread else ""),
        f"  {_verdict(ratio <= LOOKUP_RATIO and same)} {run.label}: lookup p50 (new texts, c=1) <= "
        f"{LOOKUP_RATIO:g}x the real graph's: {run.points['lookup'].p50_ms:.2f} vs "
        f"{real.points['lookup'].p50_ms:.2f} ms, {ratio:.2f}x"
        + ("" if same else " (the answers differ from the real graph's)"),
    ]


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="A built collabkg.trig.")
    parser.add_argument("--expected-models", type=int, required=True, help="The probe's right answer.")
    parser.add_argument("--duration", type=float, default=10, help="Seconds per load point (10 or more).")
    parser.add_argument("--rounds", type=int, default=1, help="Runs of every point; the median is shown.")
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
                rounds=args.rounds,
            )
        )


if __name__ == "__main__":
    main()
