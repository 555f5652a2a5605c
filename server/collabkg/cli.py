"""The ``collabkg`` command: a thin wrapper over the library.

Exit codes (as pySHACL's): 0 success; 1 the data does not conform (SHACL violations); 2 any other error
(unparsable file, bad option, missing input). Library code raises; only this module picks exit codes.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rdflib import RDF, URIRef
from rdflib.term import Node

from .evidence.citations import REVIEW_KIND, find_sources
from .evidence.explanations import format_explanation, read_explanation
from .evidence.exports import EXPORTS
from .evidence.trails import KINDS, construct, format_trail, read_trail, trail_graph
from .formats import GRAPH_FORMATS, serialize_graph
from .manifest import Manifest, freshness, show
from .namespaces import CK, resource_iri, statement_iri
from .paths import ProjectPaths, project_paths
from .publish import Credentials, PublishError, publish, read_dataset
from .queryfiles import Param, ParameterError, QueryFileError, ServedQueries, load_queries
from .search import (
    DEFAULT_LIMIT,
    Results,
    SearchError,
    SearchIndex,
    SearchIndexUnavailable,
    SearchRequest,
    Snippet,
    results_data,
)
from .search import KINDS as KINDS_SEARCHED
from .store.base import BuildUnavailable, DatasetLoadError, DatasetSource, Store, StoreUnavailable
from .store.oxigraph import open_built
from .store.remote import output_formats, send_query
from .store.rewrite import bound_text
from .web import create_app
from .web.serving import run
from .web.ui import installed as ui_installed

if TYPE_CHECKING:
    from .build import BuildError

EXIT_NONCONFORMANT = 1
EXIT_ERROR = 2
#: The command line's queries are the user's own: no size cap (the engine reads one row past its limit).
_NO_LIMIT = sys.maxsize - 1


class _Group(click.Group):
    """Exit 2 (not click's default 1) on usage errors, so 1 always means 'does not conform'."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="COLLABKG_ROOT",
    help="Project tree holding ontology/, data/ and queries/ (default: this checkout, or $COLLABKG_ROOT).",
)
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """collabkg: build and serve the collaboration evidence knowledge graph."""
    ctx.obj = project_paths(root)


@main.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when the inputs have not changed.")
@click.pass_obj
def build_cmd(paths: ProjectPaths, force: bool) -> None:
    """Parse, validate (SHACL), reason (OWL 2 RL) and write the dataset.

    Reads ontology/collabkg.ttl, ontology/shapes.ttl and data/*.ttl; writes build/collabkg.trig with one named
    graph per input plus the inferred graph, and build/manifest.json with the input hashes. When a file does not
    parse or the data violates a shape, the previous build is kept as it was, and served.
    """
    failed = _run_build(paths, force=force, log=_stderr)
    if failed is not None:
        _fail_build(failed, paths)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Serve this RDF file instead of the built graph (repeatable). TriG/N-Quads keep their graph names; "
    "a triple file becomes the graph named by its file: URI.",
)
@click.option(
    "--graph",
    "graphs",
    multiple=True,
    type=(str, click.Path(dir_okay=False, exists=True, path_type=Path)),
    metavar="IRI FILE",
    help="Serve the triples of FILE as the named graph IRI (repeatable).",
)
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="Answer from this SPARQL endpoint, which holds the published build (collabkg publish), instead of "
    "loading the dataset here.",
)
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Seconds a query may run (default 10).")
@click.option(
    "--base-url",
    metavar="URL",
    help="The URL clients reach the service at, written into what it says about itself (VoID, service "
    "description, links); default: http://HOST:PORT of the bind address (this host's name for 0.0.0.0).",
)
@click.option(
    "--access-log",
    metavar="FILE",
    help="Log each request to FILE, one line each (- for standard error); default: no request log.",
)
@click.pass_obj
def serve_cmd(
    paths: ProjectPaths,
    host: str,
    port: int,
    workers: int,
    datasets: tuple[Path, ...],
    graphs: tuple[tuple[str, Path], ...],
    store_url: str | None,
    timeout: float | None,
    base_url: str | None,
    access_log: str | None,
) -> None:
    """Serve the graph over HTTP: SPARQL 1.1 endpoint at /sparql, read-only.

    Runs a production WSGI server (gunicorn). Without --dataset/--graph/--store it serves the build output,
    building first when an input changed (each stage is shown as it runs). When that build fails, it serves
    the previous build, saying so; when there is none, it stops with the build's error.
    """
    sources = [DatasetSource(p) for p in datasets] + [DatasetSource(p, URIRef(iri)) for iri, p in graphs]
    if store_url and sources:
        raise click.UsageError("--store serves the store's data: it does not go with --dataset or --graph")
    config: dict[str, object] = {"PROJECT_ROOT": str(paths.root)}
    if sources:
        config["DATASET_FILES"] = sources
    if store_url:
        config["STORE_URL"] = store_url
    if timeout is not None:
        config["QUERY_TIMEOUT"] = timeout
    config["BASE_URL"] = base_url = base_url or default_base_url(host, port)
    if not sources and not store_url:
        status = freshness(paths)
        failed = None
        if not status.current:
            _stderr(f"building the graph into {show(paths.build_dir, paths)}/ ({'; '.join(status.reasons)}):")
            failed = _run_build(paths, log=_stderr)
        if failed is not None:
            # A data file broken while the server was down should not keep it down: the last good build is
            # served, and said to be, as long as there is one (the app serves a stale build only when told).
            previous = freshness(paths)
            if previous.manifest is None:
                _fail_build(failed, paths)
            _serving_previous(failed, previous.manifest, previous.reasons)
            config["SERVE_STALE_BUILD"] = True
    what = store_url or ", ".join(str(source.path) for source in sources) or show(paths.dataset_file, paths)
    _stderr(f"loading {what} ...")
    started = time.perf_counter()
    try:
        app = create_app(config)
    except (DatasetLoadError, StoreUnavailable, QueryFileError) as exc:
        _fail(exc)
    _stderr(f"loaded in {time.perf_counter() - started:.1f}s; serving {base_url}/")
    _stderr(f"  search {base_url}/search, evidence map {base_url}/map, SPARQL {base_url}/sparql")
    if not ui_installed(app):
        _stderr("  the query UI (/ui) is not installed: run `npm ci --prefix ui` in the project folder")
    run(app, host, port=port, workers=workers, access_log=access_log)


@main.command("publish")
@click.option(
    "--to",
    "endpoint",
    required=True,
    metavar="URL",
    help="The store's SPARQL endpoint: SPARQL Update goes here, and collabkg serve --store reads from it.",
)
@click.option(
    "--graph-store",
    metavar="URL",
    help="The store's Graph Store Protocol endpoint: each graph is PUT there (SPARQL Update at --to when the "
    "store has none).",
)
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Publish this RDF dataset file (TriG, N-Quads; repeatable) instead of the build.",
)
@click.option("--user", envvar="COLLABKG_STORE_USER", help="User for the store ($COLLABKG_STORE_USER).")
@click.option(
    "--password",
    envvar="COLLABKG_STORE_PASSWORD",
    help="Its password ($COLLABKG_STORE_PASSWORD: keeps it out of the process list).",
)
@click.pass_obj
def publish_cmd(
    paths: ProjectPaths,
    endpoint: str,
    graph_store: str | None,
    datasets: tuple[Path, ...],
    user: str | None,
    password: str | None,
) -> None:
    """Load the built dataset (or --dataset files), each named graph whole, into a SPARQL 1.1 store.

    Each graph replaces the store's graph of the same name; the store's other graphs are left alone. Builds
    first when an input changed.
    """
    if (user is None) != (password is None):
        raise click.UsageError("give both --user and --password, or neither")
    credentials = None if user is None or password is None else Credentials(user, password)
    if not datasets:
        _build(paths)
    try:
        dataset = read_dataset([DatasetSource(p) for p in datasets or (paths.dataset_file,)])
    except DatasetLoadError as exc:
        _fail(exc)
    try:
        published = publish(
            dataset,
            endpoint,
            graph_store=graph_store,
            credentials=credentials,
            log=lambda line: click.echo(line, err=True),
        )
    except (PublishError, StoreUnavailable) as exc:
        _fail(exc)
    total = sum(graph.triples for graph in published)
    click.echo(f"published {len(published)} graphs, {total} triples, to {endpoint}", err=True)


def _stderr(line: str) -> None:
    click.echo(line, err=True)


def _fail(exc: Exception) -> NoReturn:
    """Say what went wrong, in one line, and exit 2."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_ERROR)


def _run_build(
    paths: ProjectPaths, *, force: bool = False, log: Callable[[str], None] = lambda line: None
) -> BuildError | None:
    """Run the build (which does nothing when the output is current, unless forced); returns its error, if any.

    The build package is imported here, when a build is asked for, not with this module: pySHACL and owlrl take
    about a third of a second to import, which a server or a query on a current build should not pay.
    """
    from .build import BuildError, build

    try:
        build(paths, force=force, log=log)
    except BuildError as exc:
        return exc
    return None


def _fail_build(exc: BuildError, paths: ProjectPaths) -> NoReturn:
    """A build that failed: its violations (exit 1), or its error (exit 2); and what is served meanwhile."""
    from .build import ValidationFailed

    click.echo(str(exc) if isinstance(exc, ValidationFailed) else f"error: {exc}", err=True)
    previous = freshness(paths).manifest
    if previous is None:
        click.echo("there is no previous build to serve", err=True)
    else:
        click.echo(
            f"the previous build (built at {previous.built_at}) is kept and still served: a running server "
            "goes on serving it, and `collabkg serve` serves it until a build succeeds",
            err=True,
        )
    sys.exit(EXIT_NONCONFORMANT if isinstance(exc, ValidationFailed) else EXIT_ERROR)


def _serving_previous(exc: BuildError, previous: Manifest, reasons: tuple[str, ...]) -> None:
    """Say, so that nobody misses it, that the build failed and why, and which build is served instead."""
    from .build import ValidationFailed

    _stderr(click.style("the build failed:", fg="red", bold=True))
    _stderr(str(exc) if isinstance(exc, ValidationFailed) else f"error: {exc}")
    _stderr(
        click.style(
            f"serving the PREVIOUS build instead, built at {previous.built_at} from older inputs "
            f"({'; '.join(reasons)}); fix the error and restart serve (it builds first) to serve them",
            fg="red",
            bold=True,
        )
    )


def _build(paths: ProjectPaths, log: Callable[[str], None] = lambda line: None) -> None:
    """Build the project's output if an input changed; a failed build ends the command (exit 1 or 2)."""
    if freshness(paths).current:
        return
    failed = _run_build(paths, log=log)
    if failed is not None:
        _fail_build(failed, paths)


def _built_store(paths: ProjectPaths) -> Store:
    """The local build, opened as the server opens it, built first when an input changed."""
    _build(paths)
    try:
        return open_built(paths)[0]
    except BuildUnavailable as exc:
        _fail(exc)


@main.command("query")
@click.argument("name")
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter of the query (repeatable)."
)
@click.option(
    "--endpoint", metavar="URL", help="Run against this SPARQL endpoint instead of the local build."
)
@click.option(
    "--format",
    "format_name",
    default=None,
    help="Result format: json, xml, csv, tsv (default) for rows; ttl (default), jsonld, rdf for graphs.",
)
@click.pass_obj
def query_cmd(
    paths: ProjectPaths, name: str, params: tuple[str, ...], endpoint: str | None, format_name: str | None
) -> None:
    """Run the canned query NAME (a file of queries/, without .rq) and print its result.

    Locally it answers from the build output (building first when an input changed); with --endpoint, from any
    SPARQL endpoint holding the graph (the same query, each parameter's term in place of its variable).
    """
    try:
        query = load_queries(paths.queries_dir).get(name)
    except QueryFileError as exc:
        raise click.ClickException(str(exc)) from exc
    if query is None:
        raise click.BadParameter(f"no canned query {name!r} in {paths.queries_dir}", param_hint="NAME")
    offered = output_formats(query.form)
    fmt = next(
        (
            f
            for f in offered
            if f.matches(format_name or ("tsv" if query.form in ("SELECT", "ASK") else "ttl"))
        ),
        None,
    )
    if fmt is None:
        raise click.BadParameter(f"one of {', '.join(f.name for f in offered)}", param_hint="--format")
    pairs = dict(param.partition("=")[::2] for param in params)
    try:
        bindings = query.bindings(pairs)
    except ParameterError as exc:
        raise click.BadParameter(str(exc), param_hint="--param") from exc
    if endpoint:
        try:
            data = send_query(endpoint, bound_text(query.prepared, bindings), fmt)
        except Exception as exc:  # SPARQLWrapper and urllib raise many types; all mean "the endpoint failed"
            raise click.ClickException(f"{endpoint}: {exc}") from exc
    else:
        reply = _built_store(paths).respond(
            query.prepared, fmt, init_bindings=bindings, limit=_NO_LIMIT, internal=True
        )
        data = reply.body
    click.echo(data.decode("utf-8"), nl=False)


@main.command("trail")
@click.argument("resource", metavar="KIND:SLUG")
@click.option(
    "--format", "format_name", default="text", help="text (default), or an RDF format: ttl, jsonld, nt..."
)
@click.pass_obj
def trail_cmd(paths: ProjectPaths, resource: str, format_name: str) -> None:
    """Print the evidence trail of a finding, claim, model or determinant (e.g. model:partnership).

    The trail runs from the statement to the claims of the sources (section, quote), the references they cite,
    the review (authors, year, title, journal, identifiers) and the countries it covers.
    """
    kind, _, slug = resource.partition(":")
    if kind not in KINDS or not slug:
        raise click.BadParameter(
            f"expected KIND:SLUG with KIND one of {', '.join(KINDS)}", param_hint="KIND:SLUG"
        )
    fmt = next((f for f in GRAPH_FORMATS if f.matches(format_name)), None)
    if fmt is None and format_name != "text":
        raise click.BadParameter(
            f"text, or one of {', '.join(f.name for f in GRAPH_FORMATS)}", param_hint="--format"
        )
    queries = _served_queries(paths)
    store = _built_store(paths)
    iri = resource_iri(f"{kind}/{slug}")
    graph = None if iri is None else trail_graph(queries, store, iri, limit=_NO_LIMIT, deadline=float("inf"))
    if not graph or iri is None:
        raise click.ClickException(f"the graph knows no {kind} {slug!r}")
    click.echo(
        format_trail(read_trail(graph, iri)) if fmt is None else serialize_graph(graph, fmt).decode(),
        nl=False,
    )


@main.command("explain")
@click.argument("subject")
@click.argument("predicate")
@click.argument("object_", metavar="OBJECT")
@click.pass_obj
def explain_cmd(paths: ProjectPaths, subject: str, predicate: str, object_: str) -> None:
    """Print why an inferred triple holds: its rule and premises, down to asserted triples and their claims.

    Each term is a prefixed name or a full IRI, e.g. model:co-location ck:combinesWith model:partnership;
    the predicate may be "a" (rdf:type), as in Turtle.
    """
    terms: list[Node] = []
    for name, value in (("SUBJECT", subject), ("PREDICATE", predicate), ("OBJECT", object_)):
        if name == "PREDICATE" and value == "a":
            terms.append(RDF.type)
            continue
        try:
            terms.append(Param(f"_{name.lower()}", "iri", None, False, None, "").parse(value))
        except ParameterError as exc:
            raise click.BadParameter(str(exc).partition(": ")[2], param_hint=name) from exc
    queries = _served_queries(paths)
    explanations = construct(
        queries.explanations,
        _built_store(paths),
        {"_resource": terms[0]},
        limit=_NO_LIMIT,
        deadline=float("inf"),
    )
    node = statement_iri((terms[0], terms[1], terms[2]))
    if (node, RDF.type, CK.Inference) not in explanations:
        raise click.ClickException(f"{subject} {predicate} {object_} is not a triple of the inferred graph")
    click.echo("\n".join(format_explanation(read_explanation(explanations, node))))


@main.command("cite")
@click.argument("resource", metavar="KIND:SLUG")
@click.option(
    "--format", "format_name", default="apa", show_default=True, help="apa, bibtex, ris or csl-json."
)
@click.pass_obj
def cite_cmd(paths: ProjectPaths, resource: str, format_name: str) -> None:
    """Print the sources of a trail (e.g. model:partnership), or a review (study:andersson-2011), for citing.

    A trail's sources are its reviews, and the references its claims cite where the graph describes them.
    """
    kind, _, slug = resource.partition(":")
    if kind not in (*KINDS, REVIEW_KIND) or not slug:
        raise click.BadParameter(
            f"expected KIND:SLUG with KIND one of {', '.join((*KINDS, REVIEW_KIND))}", param_hint="KIND:SLUG"
        )
    export = next((e for e in EXPORTS if e.format.matches(format_name)), None)
    if export is None:
        raise click.BadParameter(f"one of {', '.join(e.format.name for e in EXPORTS)}", param_hint="--format")
    queries = _served_queries(paths)
    store = _built_store(paths)
    sources = find_sources(queries, store, kind, slug, limit=_NO_LIMIT, deadline=float("inf"))
    if sources is None:
        raise click.ClickException(f"the graph knows no {kind} {slug!r}")
    click.echo(export.write([source.csl for source in sources]), nl=False)


@main.command("search")
@click.argument("words", nargs=-1, required=True)
@click.option(
    "--kind", "kinds", multiple=True, help=f"Only these kinds (repeatable): {', '.join(KINDS_SEARCHED)}."
)
@click.option("--review", "reviews", multiple=True, help="Only claims of this review, e.g. andersson-2011.")
@click.option(
    "--polarity", "polarities", multiple=True, help="Only findings of it: barrier, facilitator, two-sided."
)
@click.option(
    "--determinant", "determinants", multiple=True, help="Only claims about this determinant, e.g. trust."
)
@click.option("--model", "models", multiple=True, help="Only claims about this model, e.g. partnership.")
@click.option("--limit", default=str(DEFAULT_LIMIT), show_default=True, help="Hits to show.")
@click.option("--offset", default="0", show_default=True, help="Hits to skip (the next page).")
@click.option(
    "--format", "format_name", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def search_cmd(
    paths: ProjectPaths,
    words: tuple[str, ...],
    kinds: tuple[str, ...],
    reviews: tuple[str, ...],
    polarities: tuple[str, ...],
    determinants: tuple[str, ...],
    models: tuple[str, ...],
    limit: str,
    offset: str,
    format_name: str,
) -> None:
    """Search the graph's words: labels, definitions, quotes and sections, best match first.

    WORDS must all match ("collaborate" finds "collaboration"; case, accents and British or American spelling
    do not matter); quote a phrase to match it whole, end a word with * to match its start. Answers from the
    build's text index, building first when an input changed.
    """
    _build(paths)
    manifest = Manifest.read(paths)
    if manifest is None:
        _fail(BuildUnavailable(f"{show(paths.build_dir, paths)}: no build output; run `collabkg build`"))
    try:
        index = SearchIndex.open(paths.build_dir / manifest.search_index)
        wanted = SearchRequest.of(
            " ".join(words),
            kinds=kinds,
            filters={"review": reviews, "polarity": polarities, "determinant": determinants, "model": models},
            limit=limit,
            offset=offset,
        )
        results = index.search(wanted)
    except SearchIndexUnavailable as exc:
        _fail(exc)
    except SearchError as exc:
        raise click.BadParameter(
            str(exc).partition(": ")[2], param_hint=_SEARCH_HINTS[exc.parameter]
        ) from exc
    if format_name == "json":
        click.echo(json.dumps(results_data(results), indent=1, ensure_ascii=False))
    else:
        click.echo(format_results(results), nl=False)


#: The command line's names of the search's parameters, for its error messages.
_SEARCH_HINTS = {
    "q": "WORDS",
    "kind": "--kind",
    "review": "--review",
    "polarity": "--polarity",
    "determinant": "--determinant",
    "model": "--model",
    "limit": "--limit",
    "offset": "--offset",
}


def format_results(results: Results) -> str:
    """The hits as text for a terminal: the matching words in bold where the terminal shows it."""

    def marked(snippet: Snippet) -> str:
        return "".join(
            click.style(text, bold=True, underline=True) if hit else text for text, hit in snippet.segments
        )

    wanted = results.request
    shown = (
        f" ({wanted.offset + 1}-{wanted.offset + len(results.hits)} shown)"
        if results.total > len(results.hits)
        else ""
    )
    lines = [f"{results.total} result{'' if results.total == 1 else 's'} for {wanted.text!r}{shown}"]
    for number, hit in enumerate(results.hits, start=wanted.offset + 1):
        facts = [hit.kind]
        facts += [term.label for term in (hit.polarity, hit.review) if term is not None]
        facts += [hit.section] if hit.section else []
        lines += ["", f"{number}. {marked(hit.label)}  [{', '.join(facts)}]"]
        if hit.snippet is not None:
            text = marked(hit.snippet)
            lines.append(f'   "{text}"' if hit.snippet.field == "quote" else f"   {text}")
        if hit.topics:
            lines.append(f"   about: {', '.join(topic.label for topic in hit.topics)}")
        lines.append(f"   {hit.iri}")
    return "\n".join(lines) + "\n"


def _served_queries(paths: ProjectPaths) -> ServedQueries:
    """The service's queries of the project (``queries/``); a malformed file ends the command (exit 2)."""
    try:
        return ServedQueries.load(paths.queries_dir)
    except QueryFileError as exc:
        _fail(exc)


def default_base_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` of the address the server binds; for a wildcard address (every interface), this
    machine's name, which is what a client elsewhere would use."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
