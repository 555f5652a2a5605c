"""The build's manifest: what an output was built from, and whether it still matches its inputs.

The build writes ``build/manifest.json`` last, beside its output (:mod:`collabkg.build`); the server reads it
to open that output (:func:`collabkg.store.local.open_built`) and never builds. Both judge an output by one
fingerprint (:func:`fingerprint`), so they cannot disagree on what "current" means:

* every input file: the ontology and the shapes, each ``data/*.ttl``, and every ``queries/**/*.rq`` (the
  checks are run by the build, and the served queries are parsed by it);
* the code that makes the output: every module of the package except the web service (``collabkg.web``) and
  the command line (``collabkg.cli``), which the build never imports (``tests/test_architecture.py`` proves
  it), so no module the build depends on can be left out, and nothing needs a list;
* the versions of the libraries that parse, validate and reason.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import ProjectPaths

__all__ = [
    "MANIFEST_FORMAT",
    "Freshness",
    "Manifest",
    "fingerprint",
    "freshness",
    "input_files",
    "read_inputs",
    "sha256",
    "show",
]

#: Bump when the manifest's layout changes, so older manifests count as stale.
MANIFEST_FORMAT = 6
#: The package whose code the fingerprint covers.
PACKAGE = Path(__file__).resolve().parent
#: Parts of the package the build never imports, which therefore cannot change what it writes.
NOT_BUILD_CODE = (PACKAGE / "web", PACKAGE / "cli.py")
#: The libraries whose versions decide what the build writes.
LIBRARIES = ("rdflib", "owlrl", "pyshacl", "pyoxigraph")


@dataclass(frozen=True)
class Manifest:
    """What ``build/manifest.json`` says of the output beside it."""

    #: The fingerprint of the inputs and code the output was built from (:func:`fingerprint`).
    fingerprint: dict[str, Any]
    #: When the build finished (ISO 8601, UTC).
    built_at: str
    #: Triples per named graph IRI.
    graphs: dict[str, int]
    #: Seconds per stage of the build that wrote the output.
    timings: dict[str, float]
    #: The file of the build folder holding the dataset (TriG), ``collabkg-<hash>.trig``, and its sha256.
    #: ``collabkg.trig`` is the same file, under the name people look for.
    dataset: str
    dataset_sha256: str
    #: The dataset file's size and modification time (ns) as written: while both are unchanged the file is
    #: taken to be the one hashed (:func:`freshness`); ``None`` from a manifest that did not record them.
    dataset_stamp: tuple[int, int] | None
    #: The folder of the build folder holding the served store (Oxigraph, on disk): ``store-<hash>``. Its
    #: queries' default graph is the union of the named graphs (each triple once, :mod:`collabkg.store.union`),
    #: of ``union_size`` triples.
    store: str
    union_size: int
    #: The file of the build folder holding the text index of the dataset (SQLite FTS5, :mod:`collabkg.search`):
    #: ``search-<hash>.sqlite``.
    search_index: str
    #: The file of the build folder holding the answers of the canned and page queries without parameters
    #: (:mod:`collabkg.store.answers`): ``answers-<hash>.sqlite``.
    answers: str
    #: The VoID counts of the store, counted by the build (:meth:`collabkg.store.base.DatasetCounts.to_json`);
    #: ``None`` from a manifest that did not record them (the server then counts on first need).
    counts: dict[str, Any] | None = None

    @classmethod
    def read(cls, paths: ProjectPaths) -> Manifest | None:
        """The manifest of ``paths``' build folder, or ``None`` when there is none that this code can read."""
        try:
            data = json.loads(paths.manifest_file.read_text(encoding="utf-8"))
            if data["format"] != MANIFEST_FORMAT:
                return None
            return cls(
                fingerprint={"inputs": data["inputs"], "code": data["code"]},
                built_at=data["built_at"],
                graphs=data["graphs"],
                timings=data["timings"],
                dataset=data["output"]["file"],
                dataset_sha256=data["output"]["sha256"],
                dataset_stamp=_stamp(data["output"].get("size"), data["output"].get("mtime_ns")),
                store=data["output"]["store"],
                union_size=data["output"]["union_size"],
                search_index=data["output"]["search_index"],
                answers=data["output"]["answers"],
                counts=_mapping(data["output"].get("void_counts")),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def outputs(self) -> tuple[str, ...]:
        """The names of the files and folders of the build folder that make this output."""
        return (self.dataset, self.store, self.search_index, self.answers)

    def to_json(self) -> bytes:
        """The manifest as the build writes it."""
        data = {
            "format": MANIFEST_FORMAT,
            **self.fingerprint,
            "built_at": self.built_at,
            "graphs": self.graphs,
            "output": {
                "file": self.dataset,
                "sha256": self.dataset_sha256,
                **(
                    {"size": self.dataset_stamp[0], "mtime_ns": self.dataset_stamp[1]}
                    if self.dataset_stamp
                    else {}
                ),
                "store": self.store,
                "union_size": self.union_size,
                "search_index": self.search_index,
                "answers": self.answers,
                **({} if self.counts is None else {"void_counts": self.counts}),
            },
            "timings": self.timings,
        }
        return json.dumps(data, indent=2).encode() + b"\n"


def _mapping(value: object) -> dict[str, Any] | None:
    """A recorded JSON object; anything else makes the manifest unreadable (a ``TypeError`` to :meth:`read`)."""
    if value is None or isinstance(value, dict):
        return value
    raise TypeError(f"not a JSON object: {value!r:.40}")


def _stamp(size: object, mtime_ns: object) -> tuple[int, int] | None:
    """A dataset file's recorded size and time, when the manifest has both as integers."""
    if isinstance(size, int) and isinstance(mtime_ns, int):
        return size, mtime_ns
    return None


def stamp_of(file: Path) -> tuple[int, int]:
    """A file's size and modification time in nanoseconds (:attr:`Manifest.dataset_stamp`).

    :raises OSError: the file cannot be read.
    """
    status = file.stat()
    return status.st_size, status.st_mtime_ns


def input_files(paths: ProjectPaths) -> list[Path]:
    """Every input of a build, in a stable order: ontology, shapes, data files, query files."""
    return [paths.ontology_file, paths.shapes_file, *paths.data_files(), *paths.query_files()]


def read_inputs(paths: ProjectPaths) -> dict[Path, bytes]:
    """The bytes of every input, read once (what is hashed is what is used).

    :raises OSError: an input cannot be read (``filename`` says which).
    """
    return {file: file.read_bytes() for file in input_files(paths)}


def fingerprint(inputs: Mapping[Path, bytes], paths: ProjectPaths) -> dict[str, Any]:
    """What an output depends on: each input file's sha256, and the version of the code that builds it."""
    return {
        "inputs": {show(file, paths): sha256(content) for file, content in inputs.items()},
        "code": code_version(),
    }


def code_version() -> dict[str, str]:
    """The library versions, and one sha256 over the source of every module the build may import.

    Worked out once per process (``serve`` asks twice as it starts: its own check, then the app's; 0.03 s
    each): a process runs the code it imported, whatever the files hold later.
    """
    return dict(_code_version())


@functools.cache
def _code_version() -> tuple[tuple[str, str], ...]:
    source = hashlib.sha256()
    for module in sorted(PACKAGE.rglob("*.py")):
        if any(module == part or part in module.parents for part in NOT_BUILD_CODE):
            continue
        source.update(module.relative_to(PACKAGE).as_posix().encode() + b"\0")
        source.update(module.read_bytes())
    versions = {}
    for distribution in LIBRARIES:
        try:
            versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[distribution] = "not installed"
    return (*versions.items(), ("code_sha256", source.hexdigest()))


@dataclass(frozen=True)
class Freshness:
    """How a build folder's output stands against the inputs and code now."""

    #: The manifest of the output, ``None`` when there is no complete output.
    manifest: Manifest | None
    #: Why the output is not current, for people (``data/x.ttl changed``); empty when it is current.
    reasons: tuple[str, ...]

    @property
    def current(self) -> bool:
        return self.manifest is not None and not self.reasons


def freshness(paths: ProjectPaths, inputs: Mapping[Path, bytes] | None = None) -> Freshness:
    """Whether the output in ``paths.build_dir`` was built from exactly these inputs and code, and is intact.

    :param inputs: the inputs' bytes when the caller has read them already (the build); read here otherwise.
        An input that cannot be read makes the output stale, with the reason.
    """
    manifest = Manifest.read(paths)
    if manifest is None:
        return Freshness(None, ("there is no complete build output",))
    dataset_file = paths.build_dir / manifest.dataset
    try:
        if (
            stamp_of(dataset_file) != manifest.dataset_stamp
            and _sha256_of(dataset_file) != manifest.dataset_sha256
        ):
            return Freshness(None, (f"{show(dataset_file, paths)} is not the file the build wrote",))
    except OSError:
        return Freshness(None, (f"{show(dataset_file, paths)} is missing",))
    if not (paths.build_dir / manifest.store).is_dir():
        return Freshness(None, (f"{show(paths.build_dir / manifest.store, paths)} is missing",))
    for output in (manifest.search_index, manifest.answers):
        if not (paths.build_dir / output).is_file():
            return Freshness(None, (f"{show(paths.build_dir / output, paths)} is missing",))
    if inputs is None:
        try:
            inputs = read_inputs(paths)
        except OSError as exc:
            return Freshness(manifest, (f"{exc.filename}: {exc.strerror}",))
    now = fingerprint(inputs, paths)
    before, after = manifest.fingerprint["inputs"], now["inputs"]
    reasons = [
        f"{name} changed" for name in sorted(before.keys() & after.keys()) if before[name] != after[name]
    ]
    reasons += [f"{name} is new" for name in sorted(after.keys() - before.keys())]
    reasons += [f"{name} was removed" for name in sorted(before.keys() - after.keys())]
    if manifest.fingerprint["code"] != now["code"]:
        reasons.append("the code or a library that builds it changed")
    return Freshness(manifest, tuple(reasons))


def _sha256_of(file: Path) -> str:
    """The file's sha256, hashed as it is read (the dataset of a large build is gigabytes, which need not be in
    memory). Only a file whose size or time changed since the build is hashed again: ``serve`` and each of its
    workers check the output as they start, and the 1M build's 1.7 GB took 1.9 s to hash, from memory.

    :raises OSError: the file cannot be read.
    """
    with file.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def show(file: Path, paths: ProjectPaths) -> str:
    """A path relative to the project root when it is inside it, as people type it."""
    try:
        return file.relative_to(paths.root).as_posix()
    except ValueError:
        return str(file)
