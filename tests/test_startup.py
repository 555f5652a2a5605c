"""Start-up does only what the first request needs: no pyLODE, no VoID counts, and the dataset from the build's
snapshot, which is loaded only when it is exactly the one the manifest records."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import shutil
from collections import OrderedDict
from pathlib import Path

import pytest
from collabkg.paths import project_paths
from collabkg.queryfiles import QueryFileError
from collabkg.store import DatasetSource, Store, load_snapshot, load_store, open_built
from collabkg.web import create_app
from collabkg.web.context import Service
from conftest import ROOT
from rdflib import BNode, Literal, URIRef


@pytest.fixture
def build_copy(built_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's current build folder, which the project's paths then name."""
    copy = tmp_path / "build"
    shutil.copytree(built_dataset.parent, copy)
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(copy))
    return copy


def _ground(store: Store) -> set[tuple[object, ...]]:
    """The quads without blank nodes, which get new ids in every parse (their count is compared per graph)."""
    return {quad for quad in store.dataset.quads() if not any(isinstance(term, BNode) for term in quad)}


def _recorded_sha256(build_dir: Path) -> str:
    return json.loads((build_dir / "manifest.json").read_text())["output"]["snapshot_sha256"]


def test_create_app_leaves_the_vocabulary_page_and_void_counts_to_their_first_request(
    built_dataset: Path,
) -> None:
    app = create_app({"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]})
    state = Service.of(app)
    assert "vocab_html" not in vars(state) and "statistics" not in vars(state)
    client = app.test_client()
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert "vocab_html" not in vars(state)
    response = client.get("/vocab", headers={"Accept": "text/html"})
    assert response.status_code == 200 and b"<html" in response.data.lower()
    assert "vocab_html" in vars(state)


def test_the_snapshot_gives_the_dataset_and_version_the_trig_gives(build_copy: Path) -> None:
    from_snapshot = load_snapshot(
        build_copy / "collabkg.store.pickle",
        _recorded_sha256(build_copy),
        [DatasetSource(build_copy / "collabkg.trig")],
    )
    parsed = load_store([DatasetSource(build_copy / "collabkg.trig")])
    assert from_snapshot is not None
    assert from_snapshot.version == parsed.version
    assert from_snapshot.graph_names() == parsed.graph_names()
    assert _ground(from_snapshot) == _ground(parsed)
    for name in parsed.graph_names():
        assert len(from_snapshot.dataset.graph(name)) == len(parsed.dataset.graph(name)), name
    assert dict(from_snapshot.dataset.namespaces()) == dict(parsed.dataset.namespaces())


def test_a_snapshot_that_is_not_the_recorded_one_is_refused_and_the_trig_served(build_copy: Path) -> None:
    snapshot_file = build_copy / "collabkg.store.pickle"
    recorded = _recorded_sha256(build_copy)
    parsed = load_store([DatasetSource(build_copy / "collabkg.trig")])
    forged = URIRef("urn:forged")
    parsed.dataset.graph(forged).add((forged, forged, Literal("not built")))
    snapshot_file.write_bytes(pickle.dumps(parsed.dataset.store))
    assert load_snapshot(snapshot_file, recorded, [DatasetSource(build_copy / "collabkg.trig")]) is None
    served, _ = open_built(project_paths(ROOT))
    assert forged not in served.graph_names()
    assert len(served) == len(parsed) - 1


def test_a_snapshot_naming_anything_but_rdflib_terms_is_refused_even_with_its_hash(tmp_path: Path) -> None:
    hostile = tmp_path / "collabkg.store.pickle"
    hostile.write_bytes(pickle.dumps(OrderedDict(a=1)))
    sha256 = hashlib.sha256(hostile.read_bytes()).hexdigest()
    source = tmp_path / "empty.trig"
    source.write_text("")
    assert load_snapshot(hostile, sha256, [DatasetSource(source)]) is None


def test_a_snapshot_others_may_write_is_refused(build_copy: Path) -> None:
    snapshot_file = build_copy / "collabkg.store.pickle"
    snapshot_file.chmod(0o666)
    sources = [DatasetSource(build_copy / "collabkg.trig")]
    assert load_snapshot(snapshot_file, _recorded_sha256(build_copy), sources) is None
    snapshot_file.chmod(0o644)
    assert load_snapshot(snapshot_file, _recorded_sha256(build_copy), sources) is not None


def test_queries_the_build_parsed_are_parsed_on_first_use_and_others_at_start(
    build_copy: Path, tmp_path: Path
) -> None:
    """The build vouches for the exact texts it parsed; a query changed since is parsed at start, and a broken
    one stops it, naming the file."""
    app = create_app({"PROJECT_ROOT": str(ROOT)})
    models = Service.of(app).queries.canned["models"]
    trail = Service.of(app).queries.trail
    assert "prepared" not in vars(models) and "prepared" not in vars(trail)
    response = app.test_client().get("/queries/models", headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200 and json.loads(response.data)["results"]["bindings"]
    assert "prepared" in vars(models)

    queries = tmp_path / "queries"
    shutil.copytree(ROOT / "queries", queries)
    changed = queries / "models.rq"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n# changed after the build\n", encoding="utf-8"
    )
    app = create_app({"PROJECT_ROOT": str(ROOT), "CANNED_QUERIES_DIR": str(queries)})
    assert "prepared" in vars(Service.of(app).queries.canned["models"])
    assert "prepared" not in vars(Service.of(app).queries.canned["determinants"])

    changed.write_text(changed.read_text(encoding="utf-8").replace("WHERE", "WHER", 1), encoding="utf-8")
    with pytest.raises(QueryFileError, match=re.escape(str(changed))):
        create_app({"PROJECT_ROOT": str(ROOT), "CANNED_QUERIES_DIR": str(queries)})
