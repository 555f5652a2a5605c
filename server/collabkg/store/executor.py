"""A query process: runs queries on the served Oxigraph store, one at a time, for the web worker that started it.

``python -m collabkg.store.executor STORE MEMORY_BYTES WORKER_PID`` opens the store read-only and answers requests on its
standard input, one at a time, on its standard output (:mod:`.processes` starts it and speaks to it). Oxigraph
evaluates queries in Rust, outside Python's reach: nothing can interrupt a query that runs too long or grows
too large except the end of the process running it. So queries run here, apart from the server, and:

* a query past its time limit is ended by the server killing this process (then it starts another), and this
  process ends with the worker that started it, however that ends (``PR_SET_PDEATHSIG``; strictly, with the
  worker's thread that started it: the worker starts them from threads that live as long as it does);
* this process's data segment is limited (``RLIMIT_DATA``, the kernel's bound on the heap and anonymous
  memory): a query that would grow past it fails its allocation, which ends the process, and only it;
* before it opens anything, this process leaves the network: in a network namespace of its own, made in a user
  namespace of its own (needing no privilege where the kernel allows unprivileged user namespaces), it has no
  interface but an unconfigured loopback, so no query can reach a host even if ``SERVICE`` got past the
  server's refusal. Where the kernel refuses, it says so at start and the refusal alone holds.

It imports nothing but the standard library, pyoxigraph and the result writers, to start in a few tens of
milliseconds. The wire format (:func:`read_frame`, :func:`write_frame`): each message a 4-byte big-endian
length and that many bytes; a request is one JSON message, an answer a JSON header then the body.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import struct
import sys
from collections.abc import Iterator
from itertools import islice
from typing import Any, BinaryIO

import pyoxigraph as ox

from . import results
from .union import takes_union

#: Linux clone flags for a new user namespace and a new network namespace.
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
#: Linux prctl option: the signal this process gets when its parent ends.
PR_SET_PDEATHSIG = 1
_LENGTH = struct.Struct(">I")


def read_frame(stream: BinaryIO) -> bytes | None:
    """One message, or ``None`` at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return body


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(_LENGTH.pack(len(body)) + body)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when the web worker that started it (``parent``) ends, however it
    ends (a worker killed at its timeout runs no clean-up), so that no query outlives the worker that would
    answer it."""
    # Elsewhere than Linux, the process still ends when its pipe closes, after the query it runs.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the worker ended before the request took effect
        os._exit(1)


def leave_the_network() -> str | None:
    """Move this process into new user and network namespaces; ``None`` when done, else why not."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            return os.strerror(ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        return str(exc)
    return None


def _in_order(names: list[str], order: list[str] | None) -> list[int]:
    """The columns of a result in the order asked for (``SELECT *``: the order the variables first appear
    in the query), the others after them as Oxigraph gives them."""
    if not order:
        return list(range(len(names)))
    rank = {name: position for position, name in enumerate(order)}
    return sorted(range(len(names)), key=lambda i: rank.get(names[i], len(rank) + i))


def _graph(name: str) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if name == "" else ox.NamedNode(name)


class Executor:
    """Answers the requests of one web worker on one store."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        #: Whether a query naming no dataset of its own takes the union of the named graphs (:mod:`.union`).
        self.union = takes_union(store)

    def handle(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """The header and body answering ``request`` (its ``op`` says what it asks)."""
        op = request["op"]
        if op == "query":
            return self.query(request)
        if op == "quads":
            return self.quads(request)
        if op == "dump":
            return self.dump(request)
        if op == "graph":
            return self.graph(request)
        return {"ok": False, "error": "request", "message": f"unknown op {op!r}"}, b""

    def query(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """Evaluate a query and write at most ``limit`` rows or triples of its result in ``format``."""
        options: dict[str, Any] = {
            "base_iri": request.get("base"),
            "prefixes": request.get("prefixes") or None,
        }
        store = self.store
        if request.get("merge"):
            store = self.merged(request["default"], request["named"])
            options["default_graph"] = ox.DefaultGraph()
            options["named_graphs"] = [ox.NamedNode(name) for name in request["named"]]
        else:
            if request.get("default") is not None:
                options["default_graph"] = [_graph(name) for name in request["default"]]
            if request.get("named") is not None:
                options["named_graphs"] = [ox.NamedNode(name) for name in request["named"]]
            if request.get("service_dataset") and self.union:
                options["use_default_graph_as_union"] = True
        limit, fmt = int(request["limit"]), request["format"]
        try:
            answer = store.query(request["query"], **options)
            if isinstance(answer, ox.QueryBoolean):
                return {"ok": True, "form": "ASK", "truncated": False}, results.write_boolean(
                    fmt, bool(answer)
                )
            if isinstance(answer, ox.QuerySolutions):
                names = [v.value for v in answer.variables]
                columns = _in_order(names, request.get("order"))
                rows = [tuple(solution[i] for i in columns) for solution in islice(answer, limit + 1)]
                body = results.write_table(fmt, [names[i] for i in columns], rows[:limit])
                return {"ok": True, "form": "SELECT", "truncated": len(rows) > limit}, body
            triples = list(islice(answer, limit + 1))
            body = results.write_graph(fmt, triples[:limit], request.get("prefixes") or {})
            return {"ok": True, "form": "GRAPH", "truncated": len(triples) > limit}, body
        except SyntaxError as exc:
            return {"ok": False, "error": "syntax", "message": str(exc)}, b""
        except results.NotWritable as exc:
            return {"ok": False, "error": "format", "message": str(exc)}, b""
        except (OSError, ValueError, RuntimeError, TypeError) as exc:
            return {"ok": False, "error": "evaluation", "message": str(exc)}, b""

    def merged(self, default: list[str], named: list[str]) -> ox.Store:
        """A store (in memory, for one query) whose default graph is the merge of ``default``, each triple
        once as SPARQL's RDF merge has it, and whose named graphs are ``named``."""
        merged = ox.Store()
        merged.extend(
            ox.Quad(q.subject, q.predicate, q.object)
            for name in default
            for q in self.store.quads_for_pattern(None, None, None, _graph(name))
        )
        merged.extend(
            q for name in named for q in self.store.quads_for_pattern(None, None, None, _graph(name))
        )
        return merged

    def quads(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """The statements of some subjects with some predicates, in the named graphs (a lookup, not a query)."""
        found = []
        for subject in request["subjects"]:
            for predicate in request["predicates"]:
                for quad in self.store.quads_for_pattern(
                    ox.NamedNode(subject), ox.NamedNode(predicate), None
                ):
                    if isinstance(quad.graph_name, ox.NamedNode):
                        found.append(
                            [subject, predicate, results.encode_term(quad.object), quad.graph_name.value]
                        )
        return {"ok": True}, json.dumps(found, ensure_ascii=False).encode()

    def graph(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """One named graph, whole, as terms."""
        quads = self.store.quads_for_pattern(None, None, None, ox.NamedNode(request["graph"]))
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
        return {"ok": True}, results.write_graph("terms", triples, {})

    def dump(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """Write the named graphs (a quad format) or the union default graph (a triple format) to a file."""
        rdf_format = results.GRAPH_WRITERS[request["format"]]
        prefixes = request.get("prefixes") or None
        if rdf_format.supports_datasets:
            quads = (q for q in self.store if not isinstance(q.graph_name, ox.DefaultGraph))
            ox.serialize(quads, request["path"], rdf_format, prefixes=prefixes)
        elif self.union:
            # The union taken, not held: graph by graph, each graph's triples by subject (no triple is in two).
            triples = (
                ox.Triple(q.subject, q.predicate, q.object)
                for graph in sorted(self.store.named_graphs(), key=str)
                for q in self.store.quads_for_pattern(None, None, None, graph)
            )
            ox.serialize(triples, request["path"], rdf_format, prefixes=prefixes)
        else:
            self.store.dump(
                request["path"],
                rdf_format,
                from_graph=ox.DefaultGraph(),
                prefixes=prefixes,
            )
        return {"ok": True}, b""


def serve(store_path: str, memory: int, parent: int, requests: BinaryIO, answers: BinaryIO) -> None:
    """Open the store and answer requests until the web worker (process ``parent``) closes the pipe."""
    die_with_parent(parent)
    refused = leave_the_network()
    if refused is not None:
        print(
            f"collabkg query process: cannot leave the network ({refused}); SERVICE stays refused",
            file=sys.stderr,
        )
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    executor = Executor(ox.Store.read_only(store_path))
    write_frame(answers, json.dumps({"ok": True, "ready": True, "network": refused is None}).encode())
    answers.flush()
    for message in _messages(requests):
        header, body = executor.handle(json.loads(message))
        write_frame(answers, json.dumps(header).encode())
        write_frame(answers, body)
        answers.flush()


def _messages(stream: BinaryIO) -> Iterator[bytes]:
    while (message := read_frame(stream)) is not None:
        yield message


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.stdin.buffer, sys.stdout.buffer)
