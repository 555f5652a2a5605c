"""``collabkg serve`` against clients that hold what they can: idle and slow sockets, slow bodies, readers that
stop reading, more connections than allowed, more requests than threads, expensive queries by the dozen, and
malformed framing.

Each test starts its own server (gunicorn, :mod:`collabkg.web.serving`) with small limits, so that what it
holds is far past them: two synchronous workers were frozen by two idle sockets. Waits are bounds on liveness
(seconds, where the broken server hung for its 40 s worker timeout or for ever), not measurements.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import pytest
from conftest import EX, FIXTURE_GRAPHS, RUNAWAY, LiveServer, serve_graphs

pytestmark = pytest.mark.live

#: One row: who alice knows.
LOOKUP = f"SELECT ?o WHERE {{ <{EX}alice> <{EX}knows> ?o }}"
#: Four-way cross product, every column: tens of megabytes of CSV, more than the sockets buffer.
HUGE = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
#: Seconds a request that should be answered at once may take before the test calls the server held.
PROMPT = 10


@contextmanager
def server(tmp_path: Path, workers: int = 1, **config: object) -> Iterator[LiveServer]:
    with serve_graphs(FIXTURE_GRAPHS, tmp_path, workers=workers, config=config) as running:
        yield running


def fetch(
    running: LiveServer, path: str, timeout: float = PROMPT
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Status, headers and body of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(running.url + path, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def query_path(text: str, output: str = "json") -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": text, "format": output})


def assert_served(running: LiveServer) -> None:
    """The health check and a one-row lookup are answered, promptly."""
    status, _, body = fetch(running, "/healthz")
    assert (status, body) == (200, b"ok\n")
    status, _, body = fetch(running, query_path(LOOKUP, "csv"))
    assert (status, body.split()) == (200, [b"o", f"{EX}bob".encode()])


def connect(running: LiveServer, stack: ExitStack, first_bytes: bytes = b"") -> socket.socket:
    host, port = running.url.removeprefix("http://").split(":")
    sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=PROMPT))
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def read_all(sock: socket.socket, timeout: float = PROMPT) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closing)."""
    sock.settimeout(timeout)
    received = bytearray()
    try:
        while chunk := sock.recv(1 << 16):
            received += chunk
    except ConnectionResetError:
        pass
    return bytes(received)


def test_idle_and_slow_header_connections_hold_no_thread_and_are_closed(tmp_path: Path) -> None:
    with server(tmp_path, THREADS=2, HEADER_SECONDS=2) as running, ExitStack() as stack:
        idle = [connect(running, stack) for _ in range(32)]
        slowloris = [connect(running, stack, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ") for _ in range(8)]
        assert_served(running)
        # Held open far past the head's deadline, each is closed by the server without an answer.
        for sock in idle + slowloris:
            assert read_all(sock) == b""
        assert_served(running)


def test_a_slow_body_holds_no_thread_and_gets_408(tmp_path: Path) -> None:
    head = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
    with server(tmp_path, THREADS=1, BODY_SECONDS=1) as running, ExitStack() as stack:
        slow = [connect(running, stack, head + b"Content-Length: 40\r\n\r\nASK {") for _ in range(4)]
        unterminated = connect(running, stack, head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nASK {\r\n")
        assert_served(running)
        for sock in [*slow, unterminated]:
            answer = read_all(sock)
            assert answer.startswith(b"HTTP/1.1 408 ")
            assert answer.endswith(b"The request body did not arrive within 1 s.\n")
        assert_served(running)


def test_a_body_too_large_is_refused_without_asking_for_it(tmp_path: Path) -> None:
    """A client that waits for "100 Continue" before sending a body over the limit gets the 413 instead, and
    sends nothing: the body is not read, not even to listen for the client leaving."""
    head = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
    with server(tmp_path, MAX_CONTENT_LENGTH=1024) as running, ExitStack() as stack:
        sock = connect(running, stack, head + b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"100 Continue" not in answer


def test_a_client_that_stops_reading_holds_no_thread_and_is_dropped(tmp_path: Path) -> None:
    request = f"GET {query_path(HUGE, 'csv')} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    send_seconds = 10
    with (
        server(tmp_path, THREADS=1, SEND_SECONDS=send_seconds, RESULT_LIMIT=1_000_000) as running,
        ExitStack() as stack,
    ):
        sent = time.monotonic()
        stalled = connect(running, stack, request)  # and reads nothing, for now
        # The only thread is busy while the answer is computed, then free: the client holds none of it.
        while (status := fetch(running, "/healthz")[0]) == 503 and time.monotonic() - sent < send_seconds:
            time.sleep(0.2)
        assert status == 200
        assert time.monotonic() - sent < send_seconds  # so the stalled client was not dropped yet
        assert_served(running)
        time.sleep(send_seconds)
        head, _, body = read_all(stalled).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        length = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        assert 0 < len(body) < int(length.split(b":")[1])  # cut off: the server gave up on the client
        assert_served(running)


def test_connections_past_the_ceiling_are_turned_away_with_503(tmp_path: Path) -> None:
    with server(tmp_path, CONNECTIONS=4, HEADER_SECONDS=60) as running, ExitStack() as stack:
        held = [connect(running, stack) for _ in range(4)]
        answer = read_all(connect(running, stack, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"\r\nRetry-After: 1\r\n" in answer
        assert answer.endswith(b"This server has too many connections; try again.\n")
        for sock in held:
            sock.close()
        time.sleep(0.5)  # the server sees them go
        assert_served(running)


def test_requests_past_the_threads_wait_a_bounded_time_then_get_503(tmp_path: Path) -> None:
    with server(tmp_path, THREADS=1, QUEUE_SECONDS=0.5, QUERY_TIMEOUT=4) as running:
        runaway = threading.Thread(target=fetch, args=(running, query_path(RUNAWAY)))
        runaway.start()
        time.sleep(1)  # it holds the only thread until its time limit
        status, headers, body = fetch(running, "/healthz")
        assert (status, headers["Retry-After"]) == (503, "1")
        assert body == b"Every thread of this server is busy; try again shortly.\n"
        runaway.join()
        assert_served(running)


def test_sixteen_expensive_queries_leave_health_and_lookups_answered(tmp_path: Path) -> None:
    answers: list[tuple[int, http.client.HTTPMessage, bytes]] = []
    with server(tmp_path, workers=2, QUERY_TIMEOUT=5) as running:
        clients = [
            threading.Thread(target=lambda: answers.append(fetch(running, query_path(RUNAWAY), timeout=60)))
            for _ in range(16)
        ]
        for client in clients:
            client.start()
        time.sleep(1)
        for _ in range(3):
            assert_served(running)
            time.sleep(0.5)
        for client in clients:
            client.join()
    assert len(answers) == 16
    for status, headers, body in answers:
        assert status == 503, body
        assert headers["Retry-After"]


MALFORMED = {
    "chunk size not hex": b"Transfer-Encoding: chunked\r\n\r\nzz\r\nASK {}\r\n0\r\n\r\n",
    "negative chunk size": b"Transfer-Encoding: chunked\r\n\r\n-6\r\nASK {}\r\n0\r\n\r\n",
    "chunk longer than its size": b"Transfer-Encoding: chunked\r\n\r\n3\r\nASK {}\r\n0\r\n\r\n",
    "chunk size with spaces": b"Transfer-Encoding: chunked\r\n\r\n 6 \r\nASK {}\r\n0\r\n\r\n",
    "Content-Length and chunked": b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nASK {}\r\n0\r\n\r\n",
    "Content-Length not a number": b"Content-Length: six\r\n\r\nASK {}",
    "negative Content-Length": b"Content-Length: -6\r\n\r\nASK {}",
    "two Content-Lengths": b"Content-Length: 6\r\nContent-Length: 7\r\n\r\nASK {}",
    "unknown transfer coding": b"Transfer-Encoding: gzip\r\n\r\nASK {}",
    "header line without a colon": b"Broken\r\nContent-Length: 6\r\n\r\nASK {}",
}


def test_a_client_that_leaves_mid_query_stops_its_query(tmp_path: Path) -> None:
    """The query process of a client that closes its connection while the query runs is killed within moments
    (it ran on, holding a core and a place, until the time limit: here 60 s), and the worker answers on."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("a process's children are read from Linux's /proc")
    with server(tmp_path, QUERY_TIMEOUT=60) as running, ExitStack() as stack:
        sock = connect(
            running, stack, f"GET {query_path(RUNAWAY)} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
        )
        (worker,) = re.findall(r"Booting worker with pid: (\d+)", running.log.read_text())
        time.sleep(1.5)  # the query runs (past the quick lane's second, too)
        (busy,) = _query_processes(int(worker))
        sock.close()
        give_up = time.monotonic() + PROMPT
        while _is_query_process(busy):
            assert time.monotonic() < give_up, "the query of a client that left still runs"
            time.sleep(0.05)
        assert_served(running)


def test_connections_opened_together_are_shared_by_the_workers(tmp_path: Path) -> None:
    """Sixteen connections opened at once are spread over both workers, not taken by whichever woke first
    (asyncio accepts a whole burst per wake: one worker often held 13 to 16 of them, and the client got one
    core's worth of service while the other core idled)."""
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("which process holds a connection is read from Linux's /proc")
    with server(tmp_path, workers=2) as running, ExitStack() as stack:
        give_up = time.monotonic() + PROMPT  # both workers listening, as their logs say
        while running.log.read_text().count("ASGI server listening") < 2:
            assert time.monotonic() < give_up, running.log.read_text()
            time.sleep(0.05)
        sockets = [connect(running, stack) for _ in range(16)]
        for sock in sockets:  # an answer on each: every connection has been accepted by then
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        for sock in sockets:
            answer = b""
            while not answer.endswith(b"ok\n"):
                answer += sock.recv(4096)
        port = int(running.url.rsplit(":", 1)[1])
        held = _holders(port, {sock.getsockname()[1] for sock in sockets})
    assert sum(held.values()) == 16
    assert len(held) == 2 and min(held.values()) >= 3, held


def test_each_worker_has_a_query_process_before_its_first_query(tmp_path: Path) -> None:
    """A worker starts a query process as it boots, so its first query does not wait for one to start."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("a process's children are read from Linux's /proc")
    with server(tmp_path, workers=2) as running:
        give_up = time.monotonic() + PROMPT
        while True:  # no request is sent: the processes are there without one
            workers = re.findall(r"Booting worker with pid: (\d+)", running.log.read_text())
            executors = {pid: _query_processes(int(pid)) for pid in workers}
            if len(workers) == 2 and all(executors.values()):
                break
            assert time.monotonic() < give_up, (executors, running.log.read_text())
            time.sleep(0.05)
    assert all(len(found) == 1 for found in executors.values()), executors


def _query_processes(pid: int) -> list[int]:
    """The children of a process that are query processes (``python -m collabkg.store.executor``)."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with suppress(OSError):
            children += [int(child) for child in task.read_text().split()]
    return [child for child in children if _is_query_process(child)]


def _is_query_process(pid: int) -> bool:
    """Whether ``pid`` is (still) a running query process."""
    try:
        return b"collabkg.store.executor" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _holders(port: int, client_ports: set[int]) -> Counter[int]:
    """How many of the server's ends of these loopback connections each process holds (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, inode = (line.split()[i] for i in (1, 2, 9))
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) in client_ports:
            inodes.add(f"socket:[{inode}]")
    held: Counter[int] = Counter()
    for descriptors in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [os.readlink(descriptor) for descriptor in descriptors.iterdir()]
        except OSError:  # a process that ended meanwhile, or another user's
            continue
        if found := sum(link in inodes for link in links):
            held[int(descriptors.parent.name)] = found
    return held


@pytest.fixture(scope="module")
def framing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with server(tmp_path_factory.mktemp("framing"), BODY_SECONDS=5) as running:
        yield running


@pytest.mark.parametrize("tail", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_framing_is_400(framing_server: LiveServer, tail: bytes) -> None:
    head = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
    with ExitStack() as stack:
        answer = read_all(connect(framing_server, stack, head + tail))
    assert answer.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    "request_line", [b"GET /healthz HTTP/9.9", b"\x00\x01 /healthz HTTP/1.1", b"GET /healthz"], ids=repr
)
def test_malformed_request_line_is_400(framing_server: LiveServer, request_line: bytes) -> None:
    with ExitStack() as stack:
        answer = read_all(connect(framing_server, stack, request_line + b"\r\nHost: x\r\n\r\n"))
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_well_formed_chunked_bodies_are_read(framing_server: LiveServer) -> None:
    head = (
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nConnection: close\r\n"
    )
    body = b"Transfer-Encoding: chunked\r\nAccept: text/csv\r\n\r\n4;note=1\r\nASK \r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n"
    with ExitStack() as stack:
        answer = read_all(connect(framing_server, stack, head + body))
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"\r\n\r\ntrue\n") or b"true" in answer.rpartition(b"\r\n\r\n")[2]


def test_a_websocket_upgrade_is_refused(framing_server: LiveServer) -> None:
    request = (
        b"GET /sparql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with ExitStack() as stack:
        answer = read_all(connect(framing_server, stack, request))
    assert not answer.startswith(b"HTTP/1.1 101 ")
    assert answer.startswith(b"HTTP/1.1 403 ")
