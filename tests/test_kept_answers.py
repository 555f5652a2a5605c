"""The answers the build keeps (:mod:`collabkg.store.answers`): the pages' queries over the whole graph,
evaluated once by the build; the server answers its own requests for them from the build's file and evaluates
everything else (a query edited since, a request with a parameter bound, a client's query)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from collabkg import formats
from collabkg.manifest import Manifest, freshness
from collabkg.paths import project_paths
from collabkg.queryfiles import SEARCH_DOCUMENTS, kept_queries
from collabkg.store.base import BuildUnavailable, Store
from collabkg.store.oxigraph import OxigraphStore, keep_answers, open_built
from collabkg.store.query import Answer, QueryFailed, prepare
from collabkg.web import create_app
from rdflib.query import ResultRow

ROOT = Path(__file__).resolve().parents[1]
#: The page queries over the whole graph that the landing page and the two maps are made of, and the canned
#: queries without parameters.
KEPT = {
    "pages/counts",
    "pages/entry-points",
    "pages/evidence-map-cells",
    "pages/evidence-map-columns",
    "pages/evidence-map-rows",
    "pages/model-combinations",
    "pages/model-map",
    "corroborated-findings",
    "determinants",
    "hybrid-models",
    "models",
    "most-cited-references",
    "review-countries",
}


def rows(answer: Answer) -> list[tuple[object, ...]]:
    return [tuple(row) for row in answer.result if isinstance(row, ResultRow)]


@pytest.fixture(scope="module")
def evaluating(built_output: OxigraphStore) -> OxigraphStore:
    """The build's store without its kept answers: every request evaluated by a query process."""
    return OxigraphStore(
        built_output.path,
        version=built_output.version,
        graph_sizes=built_output.graph_sizes(),
        union_size=built_output.union_size(),
        modified=None,
    )


@pytest.fixture
def build_copy(tmp_path: Path, built_dataset: Path) -> Path:
    """A copy of the session's build folder, to damage."""
    copy = tmp_path / "build"
    shutil.copytree(built_dataset.parent, copy, ignore=shutil.ignore_patterns(".lock"))
    return copy


def kept_file(build_dir: Path) -> Path:
    manifest = Manifest.read(project_paths(ROOT, build_dir))
    assert manifest is not None and manifest.answers.startswith("answers-")
    return build_dir / manifest.answers


def test_a_query_that_fails_fails_the_keeping_and_names_itself(
    built_output: OxigraphStore, tmp_path: Path
) -> None:
    """The queries are evaluated a core each, but their answers are taken in order: the one Oxigraph refuses
    (rdflib parses ``SELECT *`` with ``GROUP BY``; Oxigraph does not) stops the keeping with its text, whatever
    the others do, and nothing is kept."""
    target = tmp_path / "answers.sqlite"
    target.touch()
    queries = {
        "a": prepare("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"),
        "b": prepare("SELECT * WHERE { ?s ?p ?o } GROUP BY ?s"),
        "c": prepare("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"),
    }
    with pytest.raises(QueryFailed, match=re.escape("SELECT * WHERE { ?s ?p ?o } GROUP BY ?s")):
        keep_answers(built_output.path, queries, target)
    with closing(sqlite3.connect(target)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert not tables or db.execute("SELECT COUNT(*) FROM answer").fetchone() == (0,)


def test_the_build_keeps_each_query_over_the_whole_graph() -> None:
    """Every canned and page query without a parameter, and only those: the search documents are the text
    index's."""
    queries = kept_queries(ROOT / "queries")
    assert set(queries) == KEPT
    assert f"pages/{SEARCH_DOCUMENTS}" not in queries


def test_kept_answers_are_what_the_store_answers(
    built_output: OxigraphStore, evaluating: OxigraphStore, built_dataset: Path
) -> None:
    """Each kept answer is the one a query process gives, rows in the same order; a limit below its size
    cuts it as the query process cuts (the first rows, ``truncated``)."""
    with closing(sqlite3.connect(kept_file(built_dataset.parent))) as db:
        names = sorted(name for (name,) in db.execute("SELECT name FROM answer"))
    assert names == sorted(KEPT)
    for name, prepared in kept_queries(ROOT / "queries").items():
        kept = built_output.evaluate(prepared, limit=100_000)
        evaluated = evaluating.evaluate(prepared, limit=100_000)
        assert rows(kept), name  # the real graph has models, determinants, findings and maps
        assert rows(kept) == rows(evaluated), name
        assert not kept.truncated and not evaluated.truncated
        cut, evaluated_cut = built_output.evaluate(prepared, limit=2), evaluating.evaluate(prepared, limit=2)
        assert rows(cut) == rows(evaluated_cut) == rows(evaluated)[:2], name
        assert cut.truncated == evaluated_cut.truncated == (len(rows(evaluated)) > 2), name


def test_canned_answers_are_written_from_the_kept_answers_as_a_query_process_writes_them(
    built_output: OxigraphStore, evaluating: OxigraphStore
) -> None:
    """The build keeps one form of each answer; every result format a client asks for is written from it,
    byte for byte what the query process writes, whole or cut at the limit."""
    for name, prepared in kept_queries(ROOT / "queries").items():
        for fmt in formats.RESULT_FORMATS:
            for limit in (100_000, 2):
                kept = built_output.respond(prepared, fmt, limit=limit, internal=True)
                evaluated = evaluating.respond(prepared, fmt, limit=limit, internal=True)
                assert kept == evaluated, (name, fmt.name, limit)


def test_values_as_text_are_the_terms_texts(built_output: OxigraphStore, evaluating: OxigraphStore) -> None:
    """:meth:`OxigraphStore.texts` reads the query process's terms as text, kept or evaluated: the same rows
    as the text of rdflib's terms (:meth:`Store.texts`, which a store elsewhere uses)."""
    for name, prepared in kept_queries(ROOT / "queries").items():
        expected = Store.texts(evaluating, prepared, limit=100_000)
        assert expected, name
        assert built_output.texts(prepared, limit=100_000) == expected, name
        assert evaluating.texts(prepared, limit=100_000) == expected, name


def tamper(file: Path, name: str, change: dict[str, int]) -> None:
    """Rewrite the kept answer ``name``: each count of a row whose first value ends with a key of ``change``."""
    with closing(sqlite3.connect(file)) as db:
        (body,) = db.execute("SELECT body FROM answer WHERE name = ?", (name,)).fetchone()
        document = json.loads(body)
        for row in document["rows"]:
            for suffix, value in change.items():
                if row[0][1].endswith(suffix):
                    row[1] = ["l", str(value), "http://www.w3.org/2001/XMLSchema#integer", ""]
        db.execute("UPDATE answer SET body = ? WHERE name = ?", (json.dumps(document).encode(), name))
        db.commit()


def test_the_landing_page_is_made_from_the_kept_answers(
    build_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changed in the build's file, the landing page's counts change with it: the server asked no query
    process. A query file edited since the build is another request, evaluated: the true count again."""
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(build_copy))
    before = findings_on(create_app({"TESTING": True, "PROJECT_ROOT": str(ROOT)}).test_client().get("/").text)
    tamper(kept_file(build_copy), "pages/counts", {"#Finding": 987_654})
    client = create_app({"TESTING": True, "PROJECT_ROOT": str(ROOT)}).test_client()
    assert before > 0 and findings_on(client.get("/").text) == 987_654

    queries = tmp_path / "queries"
    shutil.copytree(ROOT / "queries", queries)
    counts = queries / "pages" / "counts.rq"
    counts.write_text(counts.read_text(encoding="utf-8") + "# edited after the build\n", encoding="utf-8")
    app = create_app({"TESTING": True, "PROJECT_ROOT": str(ROOT), "CANNED_QUERIES_DIR": str(queries)})
    assert findings_on(app.test_client().get("/").text) == before


def findings_on(landing_page: str) -> int:
    """The count of findings the landing page states."""
    found = re.search(r"<td>(\d+)</td><td>findings</td>", landing_page)
    assert found is not None
    return int(found.group(1))


def test_a_canned_query_is_answered_from_the_kept_answers(
    build_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emptied in the build's file, the canned list of models answers no row, in every format."""
    with closing(sqlite3.connect(kept_file(build_copy))) as db:
        (body,) = db.execute("SELECT body FROM answer WHERE name = 'models'").fetchone()
        document = json.loads(body)
        assert document["rows"]
        document["rows"] = []
        db.execute(
            "UPDATE answer SET body = ?, size = 0 WHERE name = 'models'", (json.dumps(document).encode(),)
        )
        db.commit()
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(build_copy))
    client = create_app({"TESTING": True, "PROJECT_ROOT": str(ROOT)}).test_client()
    answer = client.get("/queries/models?format=json").get_json()
    assert answer["head"]["vars"] and answer["results"]["bindings"] == []
    assert client.get("/queries/models?format=csv").text.count("\n") == 1  # the header line alone


def test_a_limit_past_what_the_build_kept_is_evaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer the build cut at its own bound (``KEPT_ROWS``) answers a request for no more than it holds;
    one asking for more is evaluated, whole."""
    from collabkg.build import build
    from collabkg.store import oxigraph

    monkeypatch.setattr(oxigraph, "KEPT_ROWS", 1)
    paths = project_paths(ROOT, tmp_path / "build")
    build(paths, log=lambda line: None)
    store, _ = open_built(paths)
    query = kept_queries(ROOT / "queries")["pages/counts"]
    one = store.evaluate(query, limit=1)
    assert len(rows(one)) == 1 and one.truncated
    whole = store.evaluate(query, limit=1_000)
    assert len(rows(whole)) > 1 and not whole.truncated


def test_a_build_without_its_kept_answers_is_not_current(build_copy: Path) -> None:
    paths = project_paths(ROOT, build_copy)
    assert freshness(paths).current
    file = kept_file(build_copy)
    file.unlink()
    status = freshness(paths)
    assert not status.current and status.reasons == (f"{file} is missing",)


def test_damaged_kept_answers_are_a_build_unavailable_naming_the_file(build_copy: Path) -> None:
    file = kept_file(build_copy)
    file.write_bytes(b"not a database")
    with pytest.raises(BuildUnavailable, match=rf"{file.name}.*not a file of kept answers"):
        open_built(project_paths(ROOT, build_copy))
