"""The build: turn ``ontology/`` and ``data/`` into the one dataset file the server loads.

The pipeline, one function per stage::

    parse      ontology/collabkg.ttl, ontology/shapes.ttl, data/*.ttl    (turtle.parse_turtle)
    validate   the data, as asserted, against the shapes (SHACL,         (validation.validate,
               compiled to SPARQL) and the queries/checks/*-violation.rq  validation.Checks)
               checks (SPARQL), both on one Oxigraph store
    reason     OWL 2 RL over ontology + data, keeping what is new       (reasoning.infer)
    explain    the rule and premises of each inferred triple (PROV-O)   (explanations.explain)
    write      build/collabkg-<hash>.trig                               (trig)
    store      build/store-<hash>/, the served Oxigraph store            (write_store)
    void       the VoID counts of the store, for the manifest            (store.oxigraph.count_store)
    answers    build/answers-<hash>.sqlite: the canned and page queries (store.oxigraph.keep_answers)
               without parameters, answered once for the server
    index      build/search-<hash>.sqlite, then build/manifest.json     (search_index)

The dataset holds one named graph per input (``graph/ontology``, ``graph/<data file stem>``), ``graph/inferred``
and ``graph/explanations``. ``manifest.json`` records the fingerprint of the inputs and the code
(:mod:`collabkg.manifest`), so a build is *current* exactly when its manifest matches them and the dataset file
it names; the server opens nothing else (:func:`collabkg.store.oxigraph.open_built`).

Every output but the manifest is named by the dataset's hash and written under a temporary name first; the
manifest is written last, and replacing it is the one step that makes a new output the build folder's. So a
build that fails, or is interrupted, leaves the last good output as it was, for a server running on it and for
one started meanwhile (``collabkg serve`` serves it, saying so, when a build fails). After the switch,
``collabkg.trig`` becomes the new dataset (a second name of the file), and the outputs of builds older than the
last two go: a server still running on the one before keeps working.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import hashlib
import itertools
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import pyoxigraph as oxigraph
from rdflib import Graph, URIRef
from rdflib.term import Node

from ..manifest import Manifest, fingerprint, freshness, input_files, show, stamp_of
from ..namespaces import EXPLANATIONS_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH, data_graph
from ..paths import ProjectPaths
from ..queryfiles import QueryFileError, check_served_queries, kept_queries, statistics_queries
from ..store import oxigraph as served_store
from ..store.base import DatasetCounts, DatasetLoadError, DatasetSource
from ..store.query import QueryFailed
from .explanations import Explanations, explain, nt_line
from .reasoning import InconsistentGraph, infer
from .search_index import SearchIndexError, write_search_index
from .turtle import Triple, Triples, TurtleSyntaxError, parse_turtle, read_turtle
from .validation import Checks, ConstraintError, Violation, validate

__all__ = [
    "BuildError",
    "BuildResult",
    "ValidationFailed",
    "build",
    "write_dataset",
]

_logger = logging.getLogger(__name__)

#: A data file's stem names its graph (``graph/<stem>``), so it must read well in an IRI.
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: Inferred triples without an explanation that the build log lists one by one; the rest are counted.
_SHOWN_UNEXPLAINED = 10
_T = TypeVar("_T")


class BuildError(Exception):
    """The build stopped; the message says which file and why. Nothing current is left in the build folder."""


class ValidationFailed(BuildError):
    """The data violates SHACL shapes or checks. ``str()`` lists the violations, one per line, sorted."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = sorted(violations)
        lines = [f"the data does not conform: {_count(len(self.violations), 'violation')}"]
        lines += [f"  {violation}" for violation in self.violations]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote, or found current."""

    #: The dataset the manifest names (``build/collabkg-<hash>.trig``; ``build/collabkg.trig`` is the same file).
    dataset_file: Path
    manifest_file: Path
    #: False when the output was already current and nothing was done.
    rebuilt: bool
    #: Triples per named graph IRI.
    graphs: dict[str, int]
    #: Seconds per stage (``parse``, ``validate``, ``reason``, ``explain``, ``write`` the TriG, ``store``,
    #: ``void`` counts, ``answers`` kept, ``index`` the search index, ``total``) of the build that wrote the output.
    timings: dict[str, float]

    @classmethod
    def of(cls, paths: ProjectPaths, manifest: Manifest, *, rebuilt: bool) -> BuildResult:
        dataset_file = paths.build_dir / manifest.dataset
        return cls(dataset_file, paths.manifest_file, rebuilt, manifest.graphs, manifest.timings)


def build(
    paths: ProjectPaths, *, force: bool = False, log: Callable[[str], None] = _logger.info
) -> BuildResult:
    """Parse, validate, reason and write, unless the output is current (same inputs, same code).

    Builds of one build folder take turns (a file lock), so server workers starting together build once.

    :param force: rebuild even when the output is current.
    :param log: receives one progress line per stage, with its time and triple counts.
    :raises ValidationFailed: the data violates a shape or a check; the last good output is left as it was.
    :raises BuildError: an input is missing or does not parse, a shape or check cannot be used, the reasoner
        finds the graph inconsistent, or the build folder cannot be written; the last good output is left as
        it was.
    """
    try:
        paths.build_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"{show(paths.build_dir, paths)}: {exc.strerror}") from exc
    with _lock(paths.build_dir), _collector_paused():
        inputs = _read_inputs(paths)
        status = freshness(paths, inputs)
        if status.current and status.manifest is not None and not force:
            log(f"up to date: {show(paths.dataset_file, paths)} (inputs unchanged; --force rebuilds)")
            return BuildResult.of(paths, status.manifest, rebuilt=False)
        previous = Manifest.read(paths)  # whole or not, a server may be running on what it names
        before = set(_outputs(paths))
        try:
            manifest = _run(paths, inputs, log)
            second_name = _switch(paths, manifest)
        except BaseException:
            # What this build wrote, which no manifest names; the last good output stays as it was.
            _remove(paths, set(_outputs(paths)) - before)
            raise
        os.replace(second_name, paths.dataset_file)
        _remove(
            paths,
            set(_outputs(paths)) - set(manifest.outputs()) - set(previous.outputs() if previous else ()),
        )
        return BuildResult.of(paths, manifest, rebuilt=True)


def _run(paths: ProjectPaths, inputs: dict[Path, bytes], log: Callable[[str], None]) -> Manifest:
    """The stages, timed and logged; returns the manifest of the output written, not yet the build folder's.

    The graphs are made and written by :func:`_write_graphs` and gone when it returns: the store and the index
    read the written file, and at a million triples the graphs are gigabytes that would sit idle meanwhile.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    dataset, dataset_sha256, graphs, disjoint = _write_graphs(paths, inputs, log, timings)
    _give_back_memory()
    mark = time.perf_counter()
    store = write_store(paths, dataset, dataset_sha256, disjoint=disjoint)
    # Graphs that share no triple have a union of them all; otherwise the store counts it.
    union_size = sum(graphs.values()) if disjoint else _union_size(paths.build_dir / store)
    mark = _lap(timings, "store", mark)
    log(
        f"store     {timings['store']:6.2f}s  {show(paths.build_dir / store, paths)}: {union_size:,} in the union"
    )
    counts = _void_counts(paths, store, union_size)
    mark = _lap(timings, "void", mark)
    log(
        f"void      {timings['void']:6.2f}s  {counts.distinct_subjects:,} subjects, {counts.distinct_objects:,} "
        f"objects, {len(counts.classes)} classes, {len(counts.properties)} properties (the VoID counts)"
    )
    answers, kept = _kept_answers(paths, store, dataset_sha256)
    mark = _lap(timings, "answers", mark)
    log(
        f"answers   {timings['answers']:6.2f}s  {show(paths.build_dir / answers, paths)}: "
        f"{_count(kept, 'answer')} of the queries without parameters (over the whole graph)"
    )
    search_index = _search_index(paths, store, dataset_sha256)
    _lap(timings, "index", mark)
    _lap(timings, "total", started)
    log(
        f"index     {timings['index']:6.2f}s  {show(paths.build_dir / search_index, paths)} "
        f"(total {timings['total']:.2f}s)"
    )
    return Manifest(
        fingerprint=fingerprint(inputs, paths),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        graphs=graphs,
        timings=timings,
        dataset=dataset,
        dataset_sha256=dataset_sha256,
        dataset_stamp=stamp_of(paths.build_dir / dataset),
        store=store,
        union_size=union_size,
        search_index=search_index,
        answers=answers,
        counts=counts.to_json(),
    )


def _write_graphs(
    paths: ProjectPaths, inputs: dict[Path, bytes], log: Callable[[str], None], timings: dict[str, float]
) -> tuple[str, str, dict[str, int], bool]:
    """Parse, validate, reason, explain and write the dataset file, timing each stage into ``timings``;
    returns the file's name and sha256, the triples of each graph, and whether no triple is in two graphs."""
    mark = time.perf_counter()
    terms: dict[str, Node] = {}
    ontology = _parse(paths.ontology_file, inputs[paths.ontology_file], paths, terms)
    shapes = _parse(paths.shapes_file, inputs[paths.shapes_file], paths, terms)
    # Each data file's triples as a set, and their union as one: validation, the reasoner and the explanations
    # only iterate them and look triples up, and an rdflib graph of a million triples takes 0.75 GB, a set of
    # them a twentieth of that (the triples themselves are shared; :func:`.turtle.read_turtle`).
    data = {file.stem: frozenset(_read(file, inputs[file], paths, terms)) for file in paths.data_files()}
    asserted = frozenset[Triple]().union(*data.values())
    checks = {
        show(file, paths): inputs[file].decode()
        for file in sorted((paths.queries_dir / "checks").glob("*-violation.rq"))
    }
    mark = _lap(timings, "parse", mark)
    log(
        f"parse     {timings['parse']:6.2f}s  ontology {len(ontology):,} triples, shapes {len(shapes):,}, "
        f"{len(data)} data files {len(asserted):,}"
    )

    try:  # the queries are the server's, not the graph's, but a broken one should stop a build, not a server
        check_served_queries(paths.queries_dir)
    except QueryFileError as exc:
        raise BuildError(str(exc)) from exc
    remarks, notes = _validate(asserted, shapes, ontology, checks, paths, log)
    mark = _lap(timings, "validate", mark)
    log(
        f"validate  {timings['validate']:6.2f}s  conforms to the shapes and {_count(len(checks), 'check')} "
        f"({_count(len(remarks), 'SHACL warning or info', 'SHACL warnings or infos')})"
    )
    for line in [*notes, *remarks]:
        log(f"  {line}")

    try:
        inferred = infer(ontology, asserted)
    except InconsistentGraph as exc:
        raise BuildError(f"the reasoner found the ontology and data inconsistent: {exc}") from exc
    mark = _lap(timings, "reason", mark)
    log(f"reason    {timings['reason']:6.2f}s  {len(inferred):,} triples inferred (OWL 2 RL, noise left out)")

    sources = {data_graph(stem): g for stem, g in data.items()}
    explanations = explain(ontology, sources, inferred, union=asserted)
    missing = explanations.unexplained
    mark = _lap(timings, "explain", mark)
    log(
        f"explain   {timings['explain']:6.2f}s  {len(inferred) - len(missing):,} of {len(inferred):,} inferred "
        f"triples explained, in {len(explanations):,} triples (PROV-O)"
    )
    # A gap is a rule the explanations do not know yet (a new kind of axiom): worth fixing, not a broken graph.
    for triple in missing[:_SHOWN_UNEXPLAINED]:
        log(f"  warning: no explanation for {' '.join(term.n3() for term in triple)}")
    if len(missing) > _SHOWN_UNEXPLAINED:
        log(f"  warning: ... and {len(missing) - _SHOWN_UNEXPLAINED:,} more without an explanation")

    named: dict[URIRef, Graph | Collection[Triple] | Explanations] = {
        ONTOLOGY_GRAPH: ontology,
        **sources,
        INFERRED_GRAPH: inferred,
        EXPLANATIONS_GRAPH: explanations,
    }
    graphs = {str(name): len(graph) for name, graph in named.items()}
    disjoint = not _share_triples(ontology, data, asserted, inferred, explanations)
    dataset, dataset_sha256 = _write_hashed_dataset(paths, named)
    _lap(timings, "write", mark)
    log(
        f"write     {timings['write']:6.2f}s  {show(paths.dataset_file, paths)}: {len(named)} graphs, "
        f"{sum(graphs.values()):,} triples"
    )
    return dataset, dataset_sha256, graphs, disjoint


def _share_triples(
    ontology: Graph,
    data: Mapping[str, Collection[Triple]],
    asserted: Collection[Triple],
    inferred: Collection[Triple],
    explanations: Explanations,
) -> bool:
    """Whether a triple is in two of the dataset's graphs, which decides how the store gives their union
    (:mod:`collabkg.store.union`): looked for, not assumed (two data files may well state one triple), in one
    pass over the graphs in hand, set lookups only."""
    if sum(map(len, data.values())) != len(asserted):
        return True  # two data files state one triple
    own = set(ontology)
    if any(triple in asserted for triple in own):
        return True
    if any(triple in asserted or triple in own for triple in inferred):
        return True
    # The explanations' triples are all about their own nodes: no other graph's triple has one as subject.
    return any(explanations.owns(triple[0]) for graph in (own, asserted, inferred) for triple in graph)


def _validate(
    data: Triples,
    shapes: Graph,
    ontology: Graph,
    checks: dict[str, str],
    paths: ProjectPaths,
    log: Callable[[str], None],
) -> tuple[list[Violation], list[str]]:
    """Run the shapes and every check; returns the SHACL results that do not stop the build (Warning, Info),
    and why pySHACL validated if it did (to show after the stage's line, with those results).

    :param checks: the text of each check query, by its file name as shown to people.
    :raises ValidationFailed: a shape or check found violations (all of them are listed, not just the first).
    """
    notes: list[str] = []
    loaded = Checks(data, ontology)  # once, for the shapes (compiled to SPARQL) and the checks
    try:
        results = validate(
            data,
            shapes,
            ontology,
            checks=loaded,
            on_warning=lambda message: log(f"warning: {message}"),
            on_fallback=notes.append,
        )
    except ConstraintError as exc:
        raise BuildError(f"{show(paths.shapes_file, paths)}: {exc}") from exc
    try:
        results += loaded.run_all(checks)
    except ConstraintError as exc:
        raise BuildError(str(exc)) from exc
    violations = [result for result in results if result.severity == "Violation"]
    if violations:
        raise ValidationFailed(violations)
    return results, notes


def _read_inputs(paths: ProjectPaths) -> dict[Path, bytes]:
    """The bytes of every input (:func:`collabkg.manifest.input_files`), read once: what is hashed is what is
    used.

    :raises BuildError: a required input is missing, or a data file's name cannot name a graph.
    """
    data_files = paths.data_files()
    if not data_files:
        raise BuildError(f"{show(paths.data_dir, paths)}: no *.ttl data files")
    reserved = {ONTOLOGY_GRAPH, INFERRED_GRAPH, EXPLANATIONS_GRAPH}
    for file in data_files:
        if not _STEM.fullmatch(file.stem) or data_graph(file.stem) in reserved:
            raise BuildError(
                f"{show(file, paths)}: the file name names the graph {data_graph(file.stem)}; use letters, "
                "digits, '-', '_' and '.', and not 'ontology', 'inferred' or 'explanations'"
            )
    inputs = {}
    for file in input_files(paths):
        try:
            inputs[file] = file.read_bytes()
        except OSError as exc:
            raise BuildError(f"{show(file, paths)}: {exc.strerror}") from exc
    return inputs


def _parse(file: Path, content: bytes, paths: ProjectPaths, terms: dict[str, Node]) -> Graph:
    """One Turtle file as an rdflib graph (:func:`.turtle.parse_turtle`), errors as :func:`_read` says them."""
    try:
        return parse_turtle(content, file.resolve().as_uri(), terms=terms)
    except TurtleSyntaxError as exc:
        raise _syntax_error(file, content, paths, exc) from exc


def _read(file: Path, content: bytes, paths: ProjectPaths, terms: dict[str, Node]) -> list[Triple]:
    """One Turtle file's triples (:func:`.turtle.read_turtle`); a syntax error says ``file:line:column:
    message`` (as compilers do, which editors and terminals turn into a link to the place) and shows the line."""
    try:
        return read_turtle(content, file.resolve().as_uri(), terms=terms)[0]
    except TurtleSyntaxError as exc:
        raise _syntax_error(file, content, paths, exc) from exc


def _syntax_error(file: Path, content: bytes, paths: ProjectPaths, exc: TurtleSyntaxError) -> BuildError:
    if exc.line is None:
        return BuildError(f"{show(file, paths)}: {exc.message}")
    text = content.decode("utf-8", errors="replace").split("\n")
    shown = f"\n    {text[exc.line - 1].strip()}" if 0 < exc.line <= len(text) else ""
    return BuildError(f"{show(file, paths)}:{exc.line}:{exc.column}: {exc.message}{shown}")


def write_dataset(file: Path, graphs: Mapping[Any, Graph | Collection[Triple] | Explanations]) -> str:
    """Write the named graphs as TriG (:func:`write_trig`), atomically; returns the file's sha256."""
    return _write_atomically(file, lambda out: write_trig(out, graphs))


#: Lines of the dataset file joined into one write (:func:`write_trig`).
_LINES_PER_WRITE = 4096


def write_trig(out: BinaryIO, graphs: Mapping[Any, Graph | Collection[Triple] | Explanations]) -> str:
    """Write the named graphs as TriG to ``out``; returns the sha256 of what was written.

    Each graph is a ``<name> { ... }`` block of N-Triples lines, which TriG reads as they are. rdflib's TriG
    serializer (prefixed names, triples grouped by subject) reads better but takes many times as long
    (bench/RESULTS.md); people read the graph through the server, which has the prefixes. The lines are sorted,
    so the same graphs are the same bytes, whatever order they were made in (the blank nodes' labels are the
    parser's, the same for the same inputs: :func:`.turtle.parse_turtle`); the file names no time. They are
    written as they come, a graph at a time (the explanations a node at a time), and hashed on the way: the
    dataset is never one object in memory, which at a million triples was gigabytes.
    """
    digest = hashlib.sha256()

    def write(chunk: bytes) -> None:
        digest.update(chunk)
        out.write(chunk)

    for name, graph in graphs.items():
        write(f"<{name}> {{\n".encode())
        if isinstance(graph, Explanations):
            lines: Iterator[bytes] = graph.lines()
        else:
            lines = iter(sorted(nt_line(triple).encode() for triple in graph))
        # Lines joined in runs: hashing and writing each line alone took twice as long (a million lines: 0.95 s
        # against 0.5 s), at ten million triples a minute and a half.
        while run := b"".join(itertools.islice(lines, _LINES_PER_WRITE)):
            write(run)
        write(b"}\n")
    return digest.hexdigest()


def _write_hashed_dataset(
    paths: ProjectPaths, graphs: Mapping[Any, Graph | Collection[Triple] | Explanations]
) -> tuple[str, str]:
    """Write the dataset as ``build/collabkg-<hash>.trig``, atomically; returns its name and sha256.

    The name is known once the file is written: it is written under a temporary name and renamed. A file of
    that name is replaced all the same: it may be one damaged since (that is why it is stale).

    :raises BuildError: the file cannot be written.
    """
    temporary = paths.build_dir / ".collabkg.trig.tmp"  # the build folder's lock makes the name this build's
    try:
        digest = _write_atomically(temporary, lambda out: write_trig(out, graphs))
        name = f"collabkg-{digest[:16]}.trig"
        os.replace(temporary, paths.build_dir / name)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BuildError(f"{show(paths.build_dir, paths)}: the dataset could not be written: {exc}") from exc
    return name, digest


def write_store(paths: ProjectPaths, dataset: str, dataset_sha256: str, *, disjoint: bool) -> str:
    """Load the TriG just written (``dataset``, a file of the build folder) into an Oxigraph store on disk, the
    served store, whose default graph is the union of the named graphs (taken by queries when the graphs are
    ``disjoint``, held otherwise: :mod:`collabkg.store.union`); returns its folder's name.

    The folder is named by the dataset's hash (``store-<hash>``) and written once: it is filled under a
    temporary name and renamed when complete, so a server opening the folder the manifest names (read-only,
    by any number of processes at once) never sees it change. Loading the written file rather than the graphs
    in hand makes the store the very dataset the TriG holds (:func:`collabkg.store.oxigraph.write_store`,
    which ``serve --dataset`` uses too).

    :raises BuildError: Oxigraph cannot write the store (a full disk, say).
    """
    name = f"store-{dataset_sha256[:16]}"
    target = paths.build_dir / name
    if target.is_dir():  # the same dataset, loaded by an earlier build: a server may be reading it
        return name
    temporary = Path(tempfile.mkdtemp(dir=paths.build_dir, prefix=f".{name}.", suffix=".tmp"))
    try:
        served_store.write_store(
            temporary / "store", [DatasetSource(paths.build_dir / dataset)], disjoint=disjoint
        )
        (temporary / "store").chmod(0o755)
        (temporary / "store").rename(target)
    except (OSError, DatasetLoadError) as exc:
        raise BuildError(f"{show(target, paths)}: the store could not be written: {exc}") from exc
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return name


def _union_size(store: Path) -> int:
    """The triples of the union of the store's graphs, counted by Oxigraph (a pass over every quad)."""
    return served_store.sizes_of(oxigraph.Store.read_only(str(store)))[""]


def _give_back_memory() -> None:
    """Return the memory the graphs held to the system before the store is loaded, whose loader's buffers
    come on top of the process: the graphs sit in reference cycles (an rdflib graph's namespace manager points
    back at it) that only the collector frees, and glibc's allocator keeps freed pages until it is trimmed."""
    gc.collect()
    with suppress(OSError, AttributeError):  # not glibc: the pages stay with the process
        ctypes.CDLL(None).malloc_trim(0)


def _void_counts(paths: ProjectPaths, store: str, union_size: int) -> DatasetCounts:
    """The VoID description's counts of the store just written, made here once rather than by each server
    worker on first need (a pass over every triple: at a million triples it outlasted a query's time and
    memory limits there).

    :raises BuildError: a query failed, or the store's union is not the size the build wrote (a triple counted
        twice: the graphs were not disjoint after all).
    """
    try:
        counts = served_store.count_store(paths.build_dir / store, statistics_queries(paths.queries_dir))
    except (QueryFileError, QueryFailed) as exc:
        raise BuildError(f"the VoID counts could not be made: {exc}") from exc
    if counts.triples != union_size:
        raise BuildError(
            f"the store's union holds {counts.triples:,} triples where the build wrote {union_size:,}"
        )
    return counts


def _kept_answers(paths: ProjectPaths, store: str, dataset_sha256: str) -> tuple[str, int]:
    """Keep the answers of the canned and page queries without parameters, which ask about the whole graph
    (:mod:`collabkg.store.answers`), evaluated on the store just written, in ``build/answers-<hash>.sqlite``; returns its name and how many it holds.

    The file is written under a temporary name and renamed: a server of the same dataset may be reading the
    one it replaces, and finds its requests by their text (an edited query is not found, and is evaluated).

    :raises BuildError: a query failed, or the file cannot be written.
    """
    name = f"answers-{dataset_sha256[:16]}.sqlite"
    target = paths.build_dir / name
    handle, temporary = tempfile.mkstemp(dir=paths.build_dir, prefix=f".{name}.", suffix=".tmp")
    os.close(handle)
    try:
        kept = served_store.keep_answers(
            paths.build_dir / store, kept_queries(paths.queries_dir), Path(temporary)
        )
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the answers are for any user of the server
        os.replace(temporary, target)
    except (QueryFileError, QueryFailed) as exc:
        raise BuildError(f"the answers of the queries without parameters could not be kept: {exc}") from exc
    except (OSError, sqlite3.Error) as exc:
        raise BuildError(f"{show(target, paths)}: the kept answers could not be written: {exc}") from exc
    finally:
        Path(temporary).unlink(missing_ok=True)
    return name, kept


def _search_index(paths: ProjectPaths, store: str, dataset_sha256: str) -> str:
    """The text index of the store just written (:mod:`.search_index`); its failure fails the build."""
    try:
        return write_search_index(paths, store, dataset_sha256)
    except SearchIndexError as exc:
        raise BuildError(str(exc)) from exc


def _switch(paths: ProjectPaths, manifest: Manifest) -> Path:
    """Make ``manifest``'s output the build folder's by writing the manifest over the old one; returns a second
    name of its dataset, to be renamed ``collabkg.trig`` (the name people look for) after the switch.

    The second name is made before the switch so that only a rename is left to do after it, and renamed after
    it so that it never names a dataset no manifest names.

    :raises BuildError: the manifest or the second name cannot be written; the last output stays the current.
    """
    linked = paths.build_dir / f".{paths.dataset_file.name}.{manifest.dataset}.tmp"
    try:
        linked.unlink(missing_ok=True)
        os.link(paths.build_dir / manifest.dataset, linked)
        _write_atomically(paths.manifest_file, lambda out: out.write(manifest.to_json()))
    except OSError as exc:
        linked.unlink(missing_ok=True)
        raise BuildError(f"{show(paths.build_dir, paths)}: the build could not be saved: {exc}") from exc
    return linked


#: The outputs of the build folder that a manifest may name (:meth:`Manifest.outputs`).
_OUTPUTS = ("collabkg-*.trig", "store-*", "search-*.sqlite", "answers-*.sqlite")


def _outputs(paths: ProjectPaths) -> list[str]:
    """The names of the build folder's outputs, whichever build wrote them."""
    return [found.name for pattern in _OUTPUTS for found in paths.build_dir.glob(pattern)]


def _remove(paths: ProjectPaths, names: set[str]) -> None:
    """Remove these outputs of the build folder (files or store folders)."""
    for name in names:
        output = paths.build_dir / name
        if output.is_dir():
            shutil.rmtree(output, ignore_errors=True)
        else:
            output.unlink(missing_ok=True)


def _write_atomically(file: Path, write: Callable[[BinaryIO], _T]) -> _T:
    """Write a temporary file beside ``file`` with ``write``, then rename it over: readers see the old or the
    new file. Returns what ``write`` returns."""
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            written = write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the output is for any user of the server
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Run the block without the cyclic garbage collector's automatic passes (restored after, as it was).

    The build makes tens of millions of small containers (each triple a tuple, sets and dicts of them) that
    live until their stage ends, and every automatic pass of the older generations walks all of them again:
    at a million asserted triples the passes took 29 % of the Python stages (parse 10.7 s -> 5.4 s,
    reason 22.3 -> 15.8, explain 60.7 -> 32.3, write 67.5 -> 49.1 without them), and they found almost nothing
    to free (peak 1,598 MB with them, 1,601 MB without). What sits in reference cycles (the rdflib graphs of
    the ontology and shapes) is freed by the explicit collection before the store is loaded
    (:func:`_give_back_memory`), which runs whether the collector is paused or not.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _lock(build_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the build folder (released when the process ends, whatever happens)."""
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def _lap(timings: dict[str, float], stage: str, since: float) -> float:
    """Record the seconds since ``since`` as ``stage``'s time; returns now, the start of the next stage."""
    now = time.perf_counter()
    timings[stage] = round(now - since, 3)
    return now
