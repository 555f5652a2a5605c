"""Start-up does only what the first request needs (no pyLODE, no VoID counts), and serves only what the build
wrote, checked current by its manifest."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from collabkg.paths import project_paths
from collabkg.queryfiles import QueryFileError
from collabkg.store.base import BuildUnavailable, DatasetSource
from collabkg.store.oxigraph import open_built
from collabkg.web import create_app
from collabkg.web.context import Service
from conftest import ROOT


@pytest.fixture
def build_copy(built_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's current build folder, which the project's paths then name."""
    copy = tmp_path / "build"
    shutil.copytree(built_dataset.parent, copy)
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(copy))
    return copy


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


def test_a_stale_build_is_not_served_unless_asked_and_then_it_is_the_last_one(build_copy: Path) -> None:
    """The app never builds: an output older than its inputs is an error naming what changed, or, with
    SERVE_STALE_BUILD (what serve does after a build that failed), the last output as it is."""
    manifest = json.loads((build_copy / "manifest.json").read_text())
    manifest["inputs"]["data/andersson-2011.ttl"] = "0" * 64
    (build_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BuildUnavailable, match=r"stale \(data/andersson-2011\.ttl changed\)"):
        create_app({"PROJECT_ROOT": str(ROOT)})
    app = create_app({"PROJECT_ROOT": str(ROOT), "SERVE_STALE_BUILD": True})
    assert Service.of(app).store.version == open_built(project_paths(ROOT), allow_stale=True)[0].version


def test_a_damaged_build_is_not_served_even_when_asked(build_copy: Path) -> None:
    named = json.loads((build_copy / "manifest.json").read_text())["output"]["file"]
    with open(build_copy / named, "a", encoding="utf-8") as dataset:
        dataset.write("\n")
    with pytest.raises(BuildUnavailable, match="is not the file the build wrote"):
        create_app({"PROJECT_ROOT": str(ROOT), "SERVE_STALE_BUILD": True})


def test_a_dataset_changed_in_place_is_not_served_and_one_only_touched_is(build_copy: Path) -> None:
    """The dataset file is hashed again only when its size or time differ from the manifest's: a byte changed
    in place (same size, a new time) is found by its hash; a file touched but unchanged is still the build's."""
    named = build_copy / json.loads((build_copy / "manifest.json").read_text())["output"]["file"]
    os.utime(named, ns=(0, 0))  # touched: only its time differs
    assert Service.of(create_app({"PROJECT_ROOT": str(ROOT)})).store.version
    with open(named, "r+b") as dataset:
        first = dataset.read(1)
        dataset.seek(0)
        dataset.write(b"#" if first != b"#" else b" ")
    with pytest.raises(BuildUnavailable, match="is not the file the build wrote"):
        create_app({"PROJECT_ROOT": str(ROOT), "SERVE_STALE_BUILD": True})


def test_a_query_file_broken_after_the_build_stops_the_start_naming_it(
    build_copy: Path, tmp_path: Path
) -> None:
    """Every query is parsed (by Oxigraph) when the app starts: a file broken since the build stops it."""
    queries = tmp_path / "queries"
    shutil.copytree(ROOT / "queries", queries)
    app = create_app({"PROJECT_ROOT": str(ROOT), "CANNED_QUERIES_DIR": str(queries)})
    response = app.test_client().get("/queries/models", headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200 and json.loads(response.data)["results"]["bindings"]
    changed = queries / "models.rq"
    changed.write_text(changed.read_text(encoding="utf-8").replace("WHERE", "WHER", 1), encoding="utf-8")
    with pytest.raises(QueryFileError, match=re.escape(str(changed))):
        create_app({"PROJECT_ROOT": str(ROOT), "CANNED_QUERIES_DIR": str(queries)})
