"""Availability: is the service up for everyone while clients hold what they can, and does it stay flat under a
steady mix? The serving models side by side, in one run.

``python -m bench.availability`` builds this checkout's project into a scratch folder, then for each model
(``collabkg serve``; the same app under gunicorn's ``sync`` and ``gthread`` workers, :mod:`bench.server_models`):

attack
    32 idle connections and 8 slowloris ones (a header line a second) held open (each reopened when the server
    closes it), and 16 clients each sending an expensive query (a cross product that runs to the time limit; a
    new text each time, so that no cache or memory of long texts helps), for ``--attack`` seconds; meanwhile,
    once a second, ``/healthz`` and a one-row lookup, each timed. The target: both answered within 2 s at every
    sample.
soak (``collabkg serve`` only, unless ``--soak-all``)
    16 connections (kept alive) sending a mix for ``--soak`` seconds: the ad-hoc shapes of
    :data:`bench.query_bench.ADHOC` as new texts each time, the canned queries, resource pages and trails. The
    target: no error, no 500, and memory flat: the proportional set size (PSS) of the server's whole process
    tree (master, workers, query processes) sampled along the way.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from collabkg.web.app import DEFAULTS

from .generate import REPOSITORY
from .proctree import pss_bytes
from .query_bench import ADHOC, PREFIX, Server, _collabkg, _collabkg_env, _running, build_collabkg

ID = "https://w3id.org/collabkg/id/"
LOOKUP = f"SELECT ?type WHERE {{ <{ID}model/partnership> a ?type }} LIMIT 1"
#: Runs to the time limit on the real graph (a four-way cross product, counted).
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
#: Pages and trails of the soak mix (paths under the server).
PAGES = (
    "/page/model/partnership",
    "/page/determinant/communication",
    "/trail/model/partnership",
    "/queries",
    "/void",
)
TARGET_SECONDS = 2.0
JSON = "application/sparql-results+json"
#: Seconds the soak's clients run before anything is counted.
WARM_SECONDS = 10.0
#: How much the soak's memory may grow, end over start, and still count as flat.
FLAT = 0.10
#: Seconds the attack's expensive queries may still run after it (the served default time limit).
QUERY_TIMEOUT = float(DEFAULTS["QUERY_TIMEOUT"])


def _new_text(query: str, counter: Iterator[int]) -> str:
    """``query`` as a text no server has seen: a prefix declaration of its own."""
    return f"PREFIX n{next(counter)}: <urn:bench:> {query}"


def _sparql_path(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


def _timed_get(port: int, path: str, timeout: float, accept: str = JSON) -> tuple[int | None, float]:
    """Status (None: no answer in time, or the connection failed) and seconds of one GET on a new connection."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept": accept})
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    except OSError:
        return None, time.monotonic() - started
    finally:
        connection.close()


# --- the attack ----------------------------------------------------------------------------------------------


@dataclass
class Attack:
    """What the attackers saw: how often the server closed their sockets, how it answered expensive queries."""

    idle_closed: int = 0
    slowloris_closed: int = 0
    expensive: Counter[str] = field(default_factory=Counter)


def _hold_idle(port: int, count: int, stop: threading.Event, attack: Attack) -> None:
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    while not stop.is_set():
        readable, _, _ = select.select(sockets, [], [], 0.5)
        for sock in readable:  # closed by the server (an idle socket is sent nothing else)
            sock.close()
            attack.idle_closed += 1
            sockets[sockets.index(sock)] = socket.create_connection(("127.0.0.1", port))
    for sock in sockets:
        sock.close()


def _slowloris(port: int, count: int, stop: threading.Event, attack: Attack) -> None:
    def opened() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
        return sock

    sockets = [opened() for _ in range(count)]
    while not stop.wait(1.0):
        for position, sock in enumerate(sockets):
            try:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    raise ConnectionError("closed by the server")
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                sock.close()
                attack.slowloris_closed += 1
                sockets[position] = opened()
    for sock in sockets:
        sock.close()


def _expensive(port: int, stop: threading.Event, attack: Attack, counter: Iterator[int]) -> None:
    while not stop.is_set():
        status, _ = _timed_get(port, _sparql_path(_new_text(EXPENSIVE, counter)), timeout=120)
        attack.expensive[str(status or "no answer")] += 1


@contextmanager
def _attacking(port: int) -> Iterator[Attack]:
    attack, stop, counter = Attack(), threading.Event(), itertools.count()
    threads = [
        threading.Thread(target=_hold_idle, args=(port, 32, stop, attack)),
        threading.Thread(target=_slowloris, args=(port, 8, stop, attack)),
        *(threading.Thread(target=_expensive, args=(port, stop, attack, counter)) for _ in range(16)),
    ]
    for thread in threads:
        thread.start()
    try:
        yield attack
    finally:
        stop.set()
        for thread in threads:
            thread.join()


@dataclass
class Samples:
    """The timed checks of one endpoint: seconds of each (``None`` status: not answered within 10 s)."""

    timings: list[tuple[int | None, float]] = field(default_factory=list)

    def line(self) -> str:
        seconds = [s for _, s in self.timings]
        late = sum(1 for status, s in self.timings if status != 200 or s > TARGET_SECONDS)
        return (
            f"p50 {statistics.median(seconds) * 1000:7.1f} ms, max {max(seconds) * 1000:7.1f} ms, "
            f"late or failed {late}/{len(seconds)}"
        )

    def met(self) -> bool:
        return all(status == 200 and s <= TARGET_SECONDS for status, s in self.timings)


def attack(port: int, seconds: float) -> tuple[Attack, Samples, Samples]:
    """The attack for ``seconds``, with ``/healthz`` and the lookup timed once a second throughout."""
    health, lookup = Samples(), Samples()
    with _attacking(port) as seen:
        time.sleep(2)  # the attackers in place
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            started = time.monotonic()
            health.timings.append(_timed_get(port, "/healthz", timeout=10))
            lookup.timings.append(_timed_get(port, _sparql_path(LOOKUP), timeout=10))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    return seen, health, lookup


# --- the soak ------------------------------------------------------------------------------------------------


def soak_mix() -> list[tuple[str, bool]]:
    """The soak's requests: (path, or query text to send as a new text each time; whether it is a query)."""
    mix = [(query, True) for query in ADHOC.values()]
    for file in sorted((REPOSITORY / "queries").glob("*.rq")):
        if "#+ param:" not in file.read_text(encoding="utf-8"):
            mix.append((f"/queries/{file.stem}", False))
    mix += [(path, False) for path in PAGES]
    mix.append((PREFIX + LOOKUP, True))
    return mix


@dataclass
class Soak:
    statuses: Counter[str] = field(default_factory=Counter)
    #: Answers that were no success, by status and what was asked (a path, or the start of a query).
    failed: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    pss: list[tuple[float, int]] = field(default_factory=list)
    duration: float = 0.0

    @property
    def errors(self) -> int:
        """Answers that were no success (not 2xx or 3xx), failed connections included."""
        return sum(n for key, n in self.statuses.items() if not key.split()[-1].startswith(("2", "3")))

    @property
    def growth(self) -> float:
        """PSS at the end over PSS at the start (after the warm-up)."""
        return self.pss[-1][1] / self.pss[0][1]

    def lines(self) -> list[str]:
        failures = sum(n for key, n in self.statuses.items() if key.split()[-1] == "500")
        ordered = sorted(self.seconds)
        p99 = ordered[int(len(ordered) * 0.99)] if ordered else float("nan")
        peak = max(size for _, size in self.pss)
        return [
            f"requests {len(self.seconds)} ({len(self.seconds) / self.duration:.0f}/s), "
            f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms",
            f"statuses {dict(sorted(self.statuses.items()))}; errors {self.errors}; 500s {failures}",
            *(f"  {n} x {what}" for what, n in self.failed.most_common(5)),
            "PSS of the process tree (MB): "
            + ", ".join(f"{at:.0f} s: {size / 1e6:.0f}" for at, size in self.pss)
            + f"; end/start {self.growth:.2f}, peak/start {peak / self.pss[0][1]:.2f}",
            f"no error, no 500: {'met' if self.errors == 0 else 'NOT MET'}; "
            f"memory flat (end within {FLAT:.0%} of the start): {'met' if self.growth <= 1 + FLAT else 'NOT MET'}",
        ]


def _kind(what: str, is_query: bool) -> str:
    """What a soak request is, for its statuses: a new query text, a canned query or a page."""
    if is_query:
        return "query"
    return "canned" if what.startswith("/queries/") else "page"


def soak(port: int, root: int, seconds: float) -> Soak:
    """16 kept-alive connections sending :func:`soak_mix` for ``seconds``; PSS sampled every 5 s.

    The warm-up is not counted: each request of the mix is first sent once, alone (caches fill, pyLODE runs),
    then the 16 clients run for :data:`WARM_SECONDS` (threads and query processes start), so that the memory
    measured from the start is that of a server in its steady state under this load.
    """
    result, stop, counting, counter, mix = (
        Soak(),
        threading.Event(),
        threading.Event(),
        itertools.count(),
        soak_mix(),
    )
    lock = threading.Lock()
    for what, is_query in mix:
        path = _sparql_path(_new_text(what, counter)) if is_query else what
        _timed_get(port, path, timeout=60, accept=JSON if is_query else "*/*")

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for position in itertools.count(offset):
            if stop.is_set():
                break
            what, is_query = mix[position % len(mix)]
            path = _sparql_path(_new_text(what, counter)) if is_query else what
            started = time.monotonic()
            try:
                connection.request("GET", path, headers={"Accept": JSON if is_query else "*/*"})
                response = connection.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if not counting.is_set():
                continue
            with lock:
                result.statuses[f"{_kind(what, is_query)} {status}"] += 1
                if not status.startswith(("2", "3")):
                    result.failed[f"{status} {what[:60]}"] += 1
                result.seconds.append(time.monotonic() - started)
        connection.close()

    clients = [threading.Thread(target=client, args=(n * 7,)) for n in range(16)]
    for thread in clients:
        thread.start()
    time.sleep(WARM_SECONDS)
    counting.set()
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        result.pss.append((elapsed, pss_bytes(root)))
        time.sleep(min(5.0, max(0.0, seconds - elapsed)))
    stop.set()
    for thread in clients:
        thread.join()
    result.duration = time.monotonic() - started
    result.pss.append((result.duration, pss_bytes(root)))
    return result


# --- the run -------------------------------------------------------------------------------------------------


def _server_model(model: str) -> Callable[[Path, int, Path], subprocess.Popen[bytes]]:
    def start(_: Path, port: int, scratch: Path) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "bench.server_models", model, str(port)]
        env = _collabkg_env(scratch, cache=True)
        return subprocess.Popen(
            command, env=env, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    return start


def run(*, attack_seconds: float, soak_seconds: float, soak_all: bool, scratch: Path) -> str:
    servers = [
        Server("collabkg serve (asgi + front)", _collabkg(cache=True)),
        Server("gunicorn sync x2 (before)", _server_model("sync")),
        Server("gunicorn gthread x2x32", _server_model("gthread")),
    ]
    build_collabkg(scratch)
    lines = [
        f"attack: 32 idle + 8 slowloris connections + 16 clients of expensive queries, {attack_seconds:g} s; "
        f"/healthz and a one-row lookup each second (target: every one within {TARGET_SECONDS:g} s)"
    ]
    soaks: list[str] = []
    for number, server in enumerate(servers):
        with _running(server, Path(), None, scratch, patience=600) as port:
            if port is None:
                lines.append(f"\n{server.name}: NOT RUN ({server.failure})")
                continue
            seen, health, lookup = attack(port, attack_seconds)
            verdict = "met" if health.met() and lookup.met() else "NOT MET"
            lines += [
                f"\n{server.name}: {verdict}",
                f"  /healthz  {health.line()}",
                f"  lookup    {lookup.line()}",
                f"  expensive queries answered: {dict(sorted(seen.expensive.items()))}",
                f"  connections closed by the server: idle {seen.idle_closed}, slowloris {seen.slowloris_closed}",
            ]
            if number == 0 or soak_all:
                time.sleep(QUERY_TIMEOUT + 2)  # the attack's queries end (their time limit) before the soak
                assert server.pid is not None
                result = soak(port, server.pid, soak_seconds)
                soaks += [f"\n{server.name}, soak of {soak_seconds:g} s at 16 connections:"]
                soaks += [f"  {line}" for line in result.lines()]
    return "\n".join(lines + soaks)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.availability", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--attack", type=float, default=30, help="Seconds of the attack (default 30).")
    parser.add_argument("--soak", type=float, default=60, help="Seconds of the soak (default 60).")
    parser.add_argument("--soak-all", action="store_true", help="Soak every model, not only collabkg serve.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        print(
            run(
                attack_seconds=args.attack,
                soak_seconds=args.soak,
                soak_all=args.soak_all,
                scratch=Path(scratch),
            )
        )


if __name__ == "__main__":
    main()
