"""Property: no request to /sparql gets a 500, hangs, or changes the data.

Hypothesis sends at least 1,000 generated requests: valid queries and mutations of them, token soup and random
text; every method; query strings, forms and bodies in odd encodings; random Accept and Content-Type headers.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from collabkg.formats import GRAPH_FORMATS, HTML, RESULT_FORMATS
from conftest import EX, dataset_snapshot
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 1000
TIMEOUT = 2.0

SEED_QUERIES = [
    "SELECT * WHERE { ?s ?p ?o }",
    "SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s HAVING (COUNT(?o) > 1) ORDER BY DESC(?n) LIMIT 5",
    "PREFIX ex: <http://example.org/> SELECT ?name WHERE { ?p a ex:Person ; rdfs:label ?name "
    "FILTER(langMatches(lang(?name), 'en') || lang(?name) = '') } ORDER BY ?name",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT * FROM <http://example.org/orgs> FROM NAMED <http://example.org/people> "
    "WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
    "SELECT ?x ?y WHERE { ?x <http://example.org/knows>+ ?y OPTIONAL { ?y <http://example.org/age> ?age } }",
    "SELECT ?s WHERE { ?s ?p ?o MINUS { ?s a <http://example.org/Person> } FILTER NOT EXISTS { ?s ?q 1 } }",
    "SELECT (STRLEN(?l) AS ?n) (UCASE(?l) AS ?u) (REPLACE(?l, 'a', 'b') AS ?r) (xsd:integer('12') AS ?i) "
    "(STRDT('1', xsd:decimal) AS ?d) (IRI(CONCAT('http://x/', ?l)) AS ?iri) (BNODE() AS ?b) (NOW() AS ?t) "
    "(MD5(?l) AS ?h) (ENCODE_FOR_URI(?l) AS ?e) WHERE { ?s rdfs:label ?l }",
    "SELECT * WHERE { VALUES (?a ?b) { (1 2) (UNDEF 'x') } BIND(?a + ?b AS ?c) FILTER(BOUND(?c) || !BOUND(?c)) }",
    "SELECT * WHERE { { SELECT DISTINCT ?s WHERE { ?s ?p ?o } LIMIT 2 OFFSET 1 } ?s ?q ?v }",
    "SELECT (GROUP_CONCAT(?o; SEPARATOR=', ') AS ?all) (SAMPLE(?o) AS ?one) (AVG(?a) AS ?avg) "
    "WHERE { ?s ?p ?o OPTIONAL { ?s <http://example.org/age> ?a } }",
    "ASK { ?s ?p ?o FILTER(REGEX(STR(?o), '^a', 'i')) }",
    "ASK FROM <http://nowhere.example/> { ?s ?p ?o }",
    "CONSTRUCT { ?s <http://example.org/rel> ?o } WHERE { ?s ?p ?o FILTER(isIRI(?o)) }",
    "CONSTRUCT WHERE { ?s a ?type }",
    "DESCRIBE <http://example.org/alice>",
    "DESCRIBE ?s WHERE { ?s a <http://example.org/Organization> }",
    "BASE <http://base.example/> SELECT * WHERE { <rel> ?p ?o }",
    # Queries rdflib's evaluator raises on (400)
    "SELECT (SUM(?o) AS ?sum) (MAX(?o) AS ?max) WHERE { ?s ?p ?o } ORDER BY ?o",
    'SELECT ?x WHERE { BIND(REPLACE("abc", "(b", "$9") AS ?x) BIND(STRLANG("a", "no tag!") AS ?y) }',
    "SELECT * WHERE { ?s ?p ?o } LIMIT 99999999999999999999999",
]
TOKENS = [
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "FROM", "NAMED", "GRAPH", "SERVICE", "SILENT", "LOAD",
    "INSERT", "DELETE", "DATA", "CLEAR", "DROP", "OPTIONAL", "UNION", "MINUS", "FILTER", "BIND", "AS", "VALUES",
    "UNDEF", "GROUP BY", "ORDER BY", "LIMIT", "OFFSET", "DISTINCT", "COUNT(*)", "EXISTS", "NOT", "PREFIX",
    "BASE", "{", "}", "(", ")", "[", "]", ".", ";", ",", "*", "?s", "?o", "$x", "_:b", "<http://example.org/>",
    "<file:///etc/passwd>", "<>", "ex:alice", "a", "'x'", '"y"@en', "'''z'''", "1", "-2.5e3", "true",
    "^^xsd:integer", "+", "/", "|", "^", "!", "&&", "||", "=", "!=", "<", ">", "#", "\\", "\x00", "\u2603",
]  # fmt: skip

FORMAT_NAMES = [name for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS, HTML) for name in fmt.names]
MEDIA_TYPES = [t for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS, HTML) for t in fmt.media_types]
#: Header values: printable Latin-1, what HTTP allows through (no CR or LF).
header_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=60
)


@st.composite
def mutated_queries(draw: st.DrawFn) -> str:
    """A valid query with a few slices deleted, inserted, replaced or repeated."""
    query = draw(st.sampled_from(SEED_QUERIES))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(query)))
        end = draw(st.integers(start, min(len(query), start + 25)))
        piece = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=6)))
        query = draw(
            st.sampled_from(
                [
                    query[:start] + query[end:],
                    query[:start] + " " + piece + " " + query[start:],
                    query[:start] + piece + query[end:],
                    query[:end] + query[start:],
                ]
            )
        )
    return query


queries = st.one_of(
    st.sampled_from(SEED_QUERIES),
    mutated_queries(),
    st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join),
    st.text(max_size=120),
)
values = st.one_of(
    queries,
    st.sampled_from([EX + "people", EX + "nope", "file:///etc/passwd", "not an iri", ""]),
    st.sampled_from(FORMAT_NAMES + MEDIA_TYPES),
    st.text(max_size=20),
)
keys = st.sampled_from(
    [
        "query",
        "query",
        "query",
        "update",
        "default-graph-uri",
        "named-graph-uri",
        "format",
        "output",
        "using-graph-uri",
    ]
) | st.text(max_size=8)
params = st.lists(st.tuples(keys, values), max_size=5)


def percent_encoded(pairs: list[tuple[str, str]]) -> str:
    return urllib.parse.urlencode(pairs)


query_strings = st.one_of(
    params.map(percent_encoded),
    st.binary(max_size=60).map(
        lambda b: "query=" + urllib.parse.quote_from_bytes(b)
    ),  # any bytes, UTF-8 or not
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60),  # raw and possibly malformed
)
bodies = st.one_of(
    st.none(),
    params.map(lambda pairs: percent_encoded(pairs).encode()),
    st.tuples(queries, st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"])).map(
        lambda q: q[0].encode(q[1], errors="replace")
    ),
    st.binary(max_size=200),
)
content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/sparql-query",
            "application/sparql-update",
            "application/sparql-query; charset=utf-8",
            "application/sparql-query; charset=UTF-16",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/sparql-query; charset=nonsense",
            "text/plain",
            "multipart/form-data; boundary=xyz",
            "application/json",
        ]
    ),
    header_text,
)
accepts = st.one_of(
    st.none(),
    st.sampled_from([*MEDIA_TYPES, "*/*", "text/*", "image/png", "application/sparql-results+json;q=0"]),
    st.lists(st.tuples(st.sampled_from(MEDIA_TYPES), st.floats(0, 1)), max_size=4).map(
        lambda items: ", ".join(f"{t};q={q:.2f}" for t, q in items)
    ),
    header_text,
)
methods = st.sampled_from(
    ["GET", "GET", "POST", "POST", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "FOO"]
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    headers = {}
    for name, strategy in (("Accept", accepts), ("Content-Type", content_types)):
        value = draw(strategy)
        if value is not None:
            headers[name] = value
    return {
        "method": draw(methods),
        "path": "/sparql",
        "query_string": draw(query_strings),
        "headers": headers,
        "data": draw(bodies),
    }


def test_no_request_gets_a_500_hangs_or_changes_data(make_app) -> None:
    app: Flask = make_app(QUERY_TIMEOUT=TIMEOUT)
    client = app.test_client()
    before = dataset_snapshot(app)
    offered = {fmt.media_type for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS, HTML)} | set(MEDIA_TYPES)
    sent = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests())
    def check(request: dict[str, Any]) -> None:
        started = time.monotonic()
        response = client.open(**request)
        elapsed = time.monotonic() - started
        sent.append(response.status_code)
        assert response.status_code < 500 or response.status_code == 503, response.data[:500]
        assert elapsed < TIMEOUT + 2, f"took {elapsed:.1f} s"
        content_type = response.headers.get("Content-Type", "")
        assert "charset=utf-8" in content_type
        if response.status_code == 200:
            assert content_type.split(";")[0] in offered

    check()
    assert len(sent) >= EXAMPLES
    assert dataset_snapshot(app) == before
    print(f"fuzz: {len(sent)} requests, statuses {sorted(set(sent))}")
