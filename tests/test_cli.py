"""The ``collabkg`` command through click's runner: exit codes (0 ok, 1 does not conform, 2 any other error)
and one line naming the problem, never a traceback.

Running a server is the live tests' business (``conftest.serve_graphs``); here ``serve`` is stopped before
gunicorn starts, where its own decisions are made: what to build, what to load, what to refuse.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from collabkg.cli import EXIT_ERROR, EXIT_NONCONFORMANT, main
from conftest import FIXTURE_GRAPHS, ROOT, serve_graphs

COMMANDS = ("build", "serve", "publish", "query", "search", "trail", "explain", "cite")


def collabkg(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_error(result: Result, code: int, words: str) -> None:
    """Exit ``code``, ``words`` in what it said, no traceback."""
    assert result.exit_code == code, result.output
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_help_lists_every_command() -> None:
    result = collabkg("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_a_usage_error_exits_2_not_click_s_1() -> None:
    assert_error(collabkg("no-such-command"), EXIT_ERROR, "No such command")
    assert_error(collabkg("serve", "--port", "seventy"), EXIT_ERROR, "'seventy' is not a valid integer")


def test_serve_refuses_a_store_with_files() -> None:
    assert_error(
        collabkg("serve", "--store", "http://127.0.0.1:9/sparql", "--dataset", str(ROOT / "README.md")),
        EXIT_ERROR,
        "--store serves the store's data",
    )


def test_serve_names_a_dataset_that_does_not_load(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text("<urn:a> <urn:b> .\n", encoding="utf-8")
    assert_error(collabkg("serve", "--dataset", str(broken)), EXIT_ERROR, f"error: {broken}")


def test_serve_builds_first_and_a_tree_that_does_not_build_is_not_served(tmp_path: Path) -> None:
    """Without files to serve, serve builds the project first, showing its stages; a build that fails ends
    it with the build's own exit code and message."""
    (tmp_path / "ontology").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "ontology" / "collabkg.ttl").write_text("", encoding="utf-8")
    (tmp_path / "ontology" / "shapes.ttl").write_text("", encoding="utf-8")
    result = collabkg("--root", str(tmp_path), "serve")
    assert_error(result, EXIT_ERROR, "error: data: no *.ttl data files")
    # It says first that it builds, and why, rather than work for seconds without a word.
    assert result.stderr.splitlines()[0] == (
        "building the graph into build/ (there is no complete build output):"
    )


def test_publish_wants_both_user_and_password() -> None:
    assert_error(
        collabkg("publish", "--to", "http://127.0.0.1:9/sparql", "--user", "me"),
        EXIT_ERROR,
        "give both --user and --password",
    )


def test_publish_to_nothing_says_it_cannot_reach_it(built_dataset: Path) -> None:
    result = collabkg("publish", "--to", "http://127.0.0.1:9/sparql", "--dataset", str(built_dataset))
    assert_error(result, EXIT_ERROR, "cannot reach the store")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("query", "no-such-query"), "no canned query 'no-such-query'"),
        (("query", "models", "--format", "nt"), "one of json, xml, csv, tsv"),
        (("query", "determinant-findings", "--param", "nope=1"), "unknown parameter"),
        (("trail", "country:se"), "expected KIND:SLUG with KIND one of"),
        (("trail", "model:no-such-model"), "the graph knows no model 'no-such-model'"),
        (("trail", "model:partnership", "--format", "pdf"), "text, or one of ttl"),
        (("cite", "model:partnership", "--format", "pdf"), "one of apa, bibtex, ris, csl-json"),
        (("explain", "model:partnership", "ck:combinesWith", "model:co-location"), "is not a triple of the"),
        (("explain", "not an iri", "a", "ck:Model"), "expected an IRI"),
    ],
)
def test_commands_name_what_is_wrong(
    built_dataset: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], words: str
) -> None:
    monkeypatch.setenv("COLLABKG_BUILD_DIR", str(built_dataset.parent))
    assert_error(collabkg("--root", str(ROOT), *args), EXIT_ERROR, words)


def test_build_exit_codes_follow_pyshacl(tmp_path: Path) -> None:
    """1 is kept for data that does not conform (the build's own tests check it); a tree that cannot be read
    is 2."""
    assert EXIT_NONCONFORMANT == 1
    assert_error(collabkg("--root", str(tmp_path), "build"), EXIT_ERROR, "error: data: no *.ttl data files")


@pytest.mark.live
def test_serve_says_what_it_loads_where_it_serves_and_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLLABKG_UI_DIR", str(tmp_path))  # a folder without the query UI
    with serve_graphs(FIXTURE_GRAPHS, tmp_path) as server:
        log = server.log.read_text()
    lines = log.splitlines()
    assert lines[0].startswith("loading ") and lines[0].endswith(" ...")
    assert re.fullmatch(r"loaded in [0-9.]+s; serving http://127\.0\.0\.1:\d+/", lines[1])
    assert (
        f"search {server.url}/search, evidence map {server.url}/map, SPARQL {server.url}/sparql" in lines[2]
    )
    assert "the query UI (/ui) is not installed: run `npm ci --prefix ui` in the project folder" in lines[3]


def test_the_readme_set_up_installs_everything_every_page_needs() -> None:
    """The one set-up command installs the server and the query UI, then serves; /ui asks for the same step."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme[readme.index("## Set-up") :]
    start = setup.index("```sh\n") + len("```sh\n")
    command = setup[start : setup.index("\n```", start)]
    steps = [step.strip() for step in command.split("&&")]
    assert steps[-1] == "collabkg serve"
    assert steps.index("pip install -e .") < steps.index("npm ci --prefix ui") < steps.index("collabkg serve")
    template = (ROOT / "server" / "collabkg" / "web" / "templates" / "ui.html").read_text(encoding="utf-8")
    assert "<pre>npm ci --prefix ui</pre>" in template
    lock = (ROOT / "ui" / "package-lock.json").read_text(encoding="utf-8")
    assert '"node_modules/@zazuko/yasgui"' in lock  # what `npm ci` installs is pinned
