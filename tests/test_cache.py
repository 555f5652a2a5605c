"""Cached answers and ETags of /sparql, /queries/{name} and the pages: same bytes as uncached, keyed by all that
decides them, revalidated with 304, errors never kept, memory bounded."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

from collabkg.store.base import DatasetSource
from collabkg.store.oxigraph import OxigraphStore
from collabkg.web.app import create_app
from collabkg.web.cache import ENTRY_OVERHEAD, CachedAnswer, KeyLocks, ResultCache
from collabkg.web.context import Service, kept
from conftest import EX, ROOT, RUNAWAY
from flask import Flask
from flask.testing import FlaskClient

SELECT = (
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label"
)
JSON = "application/sparql-results+json"


def _cache(app: Flask) -> ResultCache:
    return Service.of(app).cache


def _get(client: FlaskClient, query: str, accept: str = JSON, **headers: str):
    return client.get("/sparql", query_string={"query": query}, headers={"Accept": accept, **headers})


def test_a_repeated_query_is_answered_from_the_cache_with_the_same_bytes(make_app) -> None:
    app = make_app()
    client = app.test_client()
    first = _get(client, SELECT)
    assert first.status_code == 200
    assert len(_cache(app)) == 1
    second = _get(client, SELECT)
    assert second.data == first.data
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["ETag"] == first.headers["ETag"]
    assert len(_cache(app)) == 1
    uncached = _get(make_app(CACHE_BYTES=0).test_client(), SELECT)
    assert uncached.data == first.data
    assert json.loads(first.data)["results"]["bindings"]


def test_answers_carry_a_weak_etag_and_must_be_revalidated(client: FlaskClient) -> None:
    response = _get(client, SELECT)
    assert response.headers["ETag"].startswith('W/"')
    assert response.cache_control.public and response.cache_control.no_cache
    assert "Accept" in response.vary


def test_if_none_match_gets_304_without_a_body(client: FlaskClient) -> None:
    etag = _get(client, SELECT).headers["ETag"]
    response = _get(client, SELECT, **{"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert _get(client, SELECT, **{"If-None-Match": 'W/"other"'}).status_code == 200


def test_another_format_is_another_entry_and_another_etag(app: Flask, client: FlaskClient) -> None:
    as_json = _get(client, SELECT)
    as_csv = _get(client, SELECT, accept="text/csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.data != as_json.data
    assert as_csv.headers["ETag"] != as_json.headers["ETag"]
    assert len(_cache(app)) == 2
    assert _get(client, SELECT, accept="text/csv").data == as_csv.data
    assert _get(client, SELECT, **{"If-None-Match": as_json.headers["ETag"]}).status_code == 304
    assert (
        _get(client, SELECT, accept="text/csv", **{"If-None-Match": as_json.headers["ETag"]}).status_code
        == 200
    )


def test_the_result_limit_is_part_of_the_key(make_app) -> None:
    full, cut = make_app().test_client(), make_app(RESULT_LIMIT=1).test_client()
    assert _get(full, SELECT).headers["ETag"] != _get(cut, SELECT).headers["ETag"]


def test_errors_are_not_cached(app: Flask, client: FlaskClient) -> None:
    assert _get(client, "SELECT * WHERE {").status_code == 400
    assert _get(client, "ASK { ?s ?p ?o }", accept="image/png").status_code == 406
    assert len(_cache(app)) == 0
    assert "ETag" not in _get(client, "SELECT * WHERE {").headers


def test_a_query_stopped_at_the_time_limit_is_not_cached(make_app) -> None:
    app = make_app(QUERY_TIMEOUT=1)
    response = _get(app.test_client(), RUNAWAY)
    assert response.status_code == 503
    assert "ETag" not in response.headers
    assert len(_cache(app)) == 0


def test_canned_queries_are_cached_per_name_and_bindings(make_app, tmp_path: Path) -> None:
    (tmp_path / "labels.rq").write_text(
        "#+ summary: Labels of a thing\n"
        "#+ param: _thing iri - - The thing\n"
        "SELECT ?label WHERE { ?_thing <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label\n"
    )
    for folder in ("pages", "trail", "void"):  # the app's other queries, which a queries folder must hold too
        (tmp_path / folder).symlink_to(ROOT / "queries" / folder)
    app = make_app(CANNED_QUERIES_DIR=str(tmp_path))
    client = app.test_client()
    alice = client.get("/queries/labels", query_string={"thing": EX + "alice"}, headers={"Accept": JSON})
    bob = client.get("/queries/labels", query_string={"thing": EX + "bob"}, headers={"Accept": JSON})
    assert alice.status_code == bob.status_code == 200
    assert alice.data != bob.data
    assert alice.headers["ETag"] != bob.headers["ETag"]
    assert len(_cache(app)) == 2
    again = client.get(
        "/queries/labels",
        query_string={"thing": EX + "alice"},
        headers={"Accept": JSON, "If-None-Match": alice.headers["ETag"]},
    )
    assert again.status_code == 304
    uncached = make_app(CANNED_QUERIES_DIR=str(tmp_path), CACHE_BYTES=0).test_client()
    assert (
        uncached.get("/queries/labels", query_string={"thing": EX + "alice"}, headers={"Accept": JSON}).data
        == alice.data
    )
    assert client.get("/queries/labels").status_code == 400  # missing parameter: an error, not kept
    assert len(_cache(app)) == 2


def test_the_cache_keeps_the_most_recently_used_within_its_bytes() -> None:
    """Each entry is charged its body, its key (a digest) and a fixed overhead; past the budget the least
    recently used go first, and an entry larger than the whole budget is not kept at all."""
    entry = 1 + 4 + len("text/plain") + ENTRY_OVERHEAD  # key "a", four bytes of body
    cache = ResultCache(max_bytes=2 * entry + 1)
    answer = lambda n: CachedAnswer(b"x" * n, "text/plain", truncated=False)  # noqa: E731
    cache.put("a", answer(4))
    cache.put("b", answer(4))
    assert cache.get("a") is not None  # now b is the least recently used
    cache.put("c", answer(4))
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert cache.size == 2 * entry
    cache.put("huge", answer(2 * entry))
    assert cache.get("huge") is None and len(cache) == 2


def test_query_texts_are_not_kept_only_their_digests(make_app) -> None:
    """Many long distinct query texts cost their digests, not their length: the cache stays within budget
    counting its keys, and holds no query text at all."""
    app = make_app(CACHE_BYTES=64 * 1024)
    client = app.test_client()
    padding = "#" + "x" * 100_000 + "\n"
    for n in range(40):
        assert _get(client, f"{padding}ASK {{ ?s ?p {n} }}").status_code == 200
    cache = _cache(app)
    assert 0 < cache.size <= 64 * 1024
    assert all(len(key) == 32 for key in cache.digests())


def test_the_app_cache_stays_within_cache_bytes(make_app) -> None:
    app = make_app(CACHE_BYTES=2000)
    client = app.test_client()
    for n in range(30):
        assert _get(client, f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {n + 1}").status_code == 200
    assert 0 < _cache(app).size <= 2000
    assert len(_cache(app)) < 30
    disabled = make_app(CACHE_BYTES=0)
    _get(disabled.test_client(), SELECT)
    assert len(_cache(disabled)) == 0


def test_relative_iris_resolve_against_the_canonical_url_not_the_host(make_app) -> None:
    """The same text, cached or not, answers for the service's canonical URL, whatever host a request names."""
    query = "SELECT ?x WHERE { BIND (<relative> AS ?x) }"
    answers = [
        json.loads(
            make_app(CACHE_BYTES=0, BASE_URL=base)
            .test_client()
            .get("/sparql", base_url=host, query_string={"query": query}, headers={"Accept": JSON})
            .data
        )["results"]["bindings"][0]["x"]["value"]
        for base, host in (
            ("http://one.example", "http://any.example"),
            ("http://two.example", "http://one.example"),
        )
    ]
    assert answers == ["http://one.example/relative", "http://two.example/relative"]


def test_a_page_is_kept_and_answered_again_without_its_queries(built_dataset: Path) -> None:
    """Pages (here a model's, its trail, its 303 and the evidence map) are answered again from the cache: even
    with the store's query processes closed, the same bytes and headers come back; revalidation is a 304."""
    app = create_app({"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]})
    client = app.test_client()
    paths = ("/page/model/partnership", "/trail/model/partnership", "/id/model/partnership", "/map")
    first = {path: client.get(path, headers={"Accept": "text/html"}) for path in paths}
    assert [first[path].status_code for path in paths] == [200, 200, 303, 200]
    assert len(_cache(app)) == len(paths)
    store = Service.of(app).store
    assert isinstance(store, OxigraphStore)
    store.lanes.close()  # no query process is left, and none can start on a store that is gone:
    shutil.rmtree(store.path)
    assert client.get("/page/model/co-location").status_code >= 500  # a page not kept cannot be answered
    for path in paths:
        again = client.get(path, headers={"Accept": "text/html"})
        assert (again.status_code, again.data) == (first[path].status_code, first[path].data), path
        assert again.headers["ETag"] == first[path].headers["ETag"]
        assert again.headers.get("Location") == first[path].headers.get("Location")
        assert again.headers["Content-Type"] == first[path].headers["Content-Type"]
        assert again.headers["Content-Security-Policy"] == first[path].headers["Content-Security-Policy"]
        tag = again.headers["ETag"]
        assert client.get(path, headers={"Accept": "text/html", "If-None-Match": tag}).status_code == 304
    assert "Accept" in first["/id/model/partnership"].vary
    assert (
        client.get("/id/model/partnership", headers={"Accept": "text/turtle"}).status_code >= 500
    )  # another key


def test_a_page_not_found_is_not_kept(built_dataset: Path) -> None:
    app = create_app({"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]})
    assert app.test_client().get("/page/model/no-such-model").status_code == 404
    assert len(_cache(app)) == 0


def test_requests_for_a_page_being_made_wait_for_it_and_none_makes_it_again(built_dataset: Path) -> None:
    """Eight threads ask at once for a page no one has asked for: it is made once (the others find it kept),
    every one gets the same bytes, and no lock is left behind."""
    app = create_app({"PROJECT_ROOT": str(ROOT), "DATASET_FILES": [DatasetSource(built_dataset)]})
    made: list[str] = []
    original = app.view_functions["trails.show_trail"]

    def counted(*args: object, **kwargs: object) -> object:
        made.append(threading.current_thread().name)
        return original.__wrapped__(*args, **kwargs)  # the view itself, inside the kept wrapper

    app.view_functions["trails.show_trail"] = kept(counted)  # type: ignore[arg-type]
    barrier = threading.Barrier(8)
    bodies: list[bytes] = []

    def ask() -> None:
        client = app.test_client()
        barrier.wait()
        bodies.append(client.get("/trail/model/partnership", headers={"Accept": "text/html"}).data)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert len(bodies) == 8 and len(set(bodies)) == 1 and b"Evidence trail" in bodies[0]
    assert len(Service.of(app).making) == 0


def test_a_wait_in_vain_goes_on_without_the_lock() -> None:
    locks = KeyLocks()
    with locks.hold("k", timeout=1) as first:
        assert first
        with locks.hold("k", timeout=0.05) as second:
            assert not second
        assert len(locks) == 1
    assert len(locks) == 0
