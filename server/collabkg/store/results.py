"""Query results written from Oxigraph's terms: the four SPARQL result formats, the RDF formats, and a plain
JSON form of terms for the service's own use.

Written here rather than by Oxigraph's serializers because a result is cut at the service's row limit (and
may leave out columns: the parameters a canned query selects), which those serializers, writing a whole
result, cannot do. RDF formats of a (cut) graph are Oxigraph's. Nothing here imports rdflib or Flask: the
query processes (:mod:`.executor`) use it, and they start fast.

XML 1.0 cannot carry most control characters (U+0000 to U+001F but tab, line feed and carriage return, and
U+FFFE, U+FFFF), not even as character references: a result holding one cannot be written as SPARQL XML or
RDF/XML, and :class:`NotWritable` says so rather than write a document no XML parser accepts.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring as _json_string  # what json.dumps uses without ensure_ascii
from typing import Any

import pyoxigraph as ox

__all__ = [
    "GRAPH_WRITERS",
    "TABLE_WRITERS",
    "NotWritable",
    "Term",
    "decode_term",
    "encode_term",
    "write_boolean",
    "write_graph",
    "write_table",
]

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
#: What XML 1.0 cannot hold in any form.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


@functools.cache
def _xml_name() -> re.Pattern[str]:
    """An XML name (NCName) ending an IRI: what RDF/XML writes a property as, after a namespace prefix.

    Compiled when first needed: its wide character ranges take 10 ms to compile, which every query process and
    server start paid before its first answer, for a check only RDF/XML answers need.
    """
    return re.compile(r"[A-Za-z_\u00c0-\ufffd][\w.\-\u00b7\u00c0-\ufffd]*$")


class NotWritable(ValueError):
    """The result cannot be written in the format asked for; the message says why and what to ask instead."""


def encode_term(term: Term | None) -> list[str] | None:
    """A term as JSON: ``["i", iri]``, ``["b", label]``, ``["l", lexical, datatype, language]``."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ["i", term.value]
    if isinstance(term, ox.BlankNode):
        return ["b", term.value]
    if isinstance(term, ox.Literal):
        return ["l", term.value, term.datatype.value, term.language or ""]
    raise NotWritable("This service does not write RDF-star triple terms.")


def decode_term(term: list[str] | None) -> Term | None:
    """The term :func:`encode_term` wrote."""
    if term is None:
        return None
    kind, value = term[0], term[1]
    if kind == "i":
        return ox.NamedNode(value)
    if kind == "b":
        return ox.BlankNode(value)
    if term[3]:
        return ox.Literal(value, language=term[3])
    return ox.Literal(value, datatype=ox.NamedNode(term[2]))


# --- Tables: SELECT and ASK --------------------------------------------------------------------------------


def write_table(fmt: str, variables: Sequence[str], rows: Iterable[Sequence[Term | None]]) -> bytes:
    """SELECT results in a SPARQL result format: ``json``, ``xml``, ``csv``, ``tsv``, or ``terms`` (this
    service's own: ``{"vars": [...], "rows": [[term, ...], ...]}`` with :func:`encode_term`'s terms).

    :raises NotWritable: a value cannot be written in ``fmt``.
    """
    return TABLE_WRITERS[fmt](variables, rows)


def write_boolean(fmt: str, value: bool) -> bytes:
    """An ASK answer: JSON and XML as the result formats define; CSV and TSV as the single word ``true`` or
    ``false`` (as Oxigraph and Jena write it: the CSV/TSV note defines SELECT results only)."""
    word = "true" if value else "false"
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if fmt == "xml":
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head></head><boolean>{word}</boolean></sparql>\n"
        ).encode()
    if fmt == "terms":
        return json.dumps({"boolean": value}).encode()
    return (word + ("\r\n" if fmt == "csv" else "\n")).encode()


def _json_term(term: Term) -> str:
    """A term as a SPARQL JSON results object, written as ``json.dumps`` (compact, non-ASCII as is) would."""
    if isinstance(term, ox.NamedNode):
        return f'{{"type":"uri","value":{_json_string(term.value)}}}'
    if isinstance(term, ox.BlankNode):
        return f'{{"type":"bnode","value":{_json_string(term.value)}}}'
    if isinstance(term, ox.Literal):
        if term.language:
            tail = f',"xml:lang":{_json_string(term.language)}'
        else:
            datatype = term.datatype.value
            tail = "" if datatype == XSD_STRING else f',"datatype":{_json_string(datatype)}'
        return f'{{"type":"literal","value":{_json_string(term.value)}{tail}}}'
    raise NotWritable("This service does not write RDF-star triple terms.")


def _write_json(variables: Sequence[str], rows: Iterable[Sequence[Term | None]]) -> bytes:
    """SPARQL JSON results, written as text: the same bytes as ``json.dumps`` of the document (compact,
    non-ASCII as is), which it took twice as long to make through dictionaries for every term (the query
    processes write every answer of the service, so this is on every request's path)."""
    keys = [f"{_json_string(name)}:" for name in variables]
    bindings = ",".join(
        "{"
        + ",".join(key + _json_term(term) for key, term in zip(keys, row, strict=True) if term is not None)
        + "}"
        for row in rows
    )
    head = ",".join(_json_string(name) for name in variables)
    return f'{{"head":{{"vars":[{head}]}},"results":{{"bindings":[{bindings}]}}}}'.encode()


def _write_terms(variables: Sequence[str], rows: Iterable[Sequence[Term | None]]) -> bytes:
    document = {"vars": list(variables), "rows": [[encode_term(term) for term in row] for row in rows]}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _xml_text(text: str) -> str:
    if _NOT_XML.search(text):
        code = ord(_NOT_XML.search(text)[0])  # type: ignore[index]
        raise NotWritable(
            f"This result holds the character U+{code:04X}, which XML 1.0 cannot carry; ask for JSON, CSV or TSV."
        )
    # A raw carriage return would reach the reader as a line feed (XML normalizes line ends): escaped, it stays.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return escaped.replace("\r", "&#13;")


def _write_xml(variables: Sequence[str], rows: Iterable[Sequence[Term | None]]) -> bytes:
    parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    parts += [f'<variable name="{_xml_text(name)}"/>' for name in variables]
    parts.append("</head><results>")
    for row in rows:
        parts.append("<result>")
        for name, term in zip(variables, row, strict=True):
            if term is None:
                continue
            parts.append(f'<binding name="{_xml_text(name)}">')
            if isinstance(term, ox.NamedNode):
                parts.append(f"<uri>{_xml_text(term.value)}</uri>")
            elif isinstance(term, ox.BlankNode):
                parts.append(f"<bnode>{_xml_text(term.value)}</bnode>")
            elif isinstance(term, ox.Literal):
                if term.language:
                    attribute = f' xml:lang="{_xml_text(term.language)}"'
                elif term.datatype.value != XSD_STRING:
                    attribute = f' datatype="{_xml_text(term.datatype.value)}"'
                else:
                    attribute = ""
                parts.append(f"<literal{attribute}>{_xml_text(term.value)}</literal>")
            else:
                raise NotWritable("This service does not write RDF-star triple terms.")
            parts.append("</binding>")
        parts.append("</result>")
    parts.append("</results></sparql>\n")
    return "".join(parts).encode()


def _csv_value(term: Term | None) -> str:
    """CSV keeps the plain string of a term: IRI, lexical form, ``_:label``; unbound is empty."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    raise NotWritable("This service does not write RDF-star triple terms.")


def _write_csv(variables: Sequence[str], rows: Iterable[Sequence[Term | None]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(variables)
    writer.writerows([_csv_value(term) for term in row] for row in rows)
    return out.getvalue().encode()


def _tsv_value(term: Term | None) -> str:
    """TSV writes terms in SPARQL syntax, on one line: tabs and newlines inside literals are escaped."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        text = '"' + term.value.translate(_TSV_ESCAPES) + '"'
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype.value != XSD_STRING:
            return f"{text}^^<{term.datatype.value}>"
        return text
    raise NotWritable("This service does not write RDF-star triple terms.")


def _write_tsv(variables: Sequence[str], rows: Iterable[Sequence[Term | None]]) -> bytes:
    lines = ["\t".join(f"?{name}" for name in variables)]
    lines += ["\t".join(_tsv_value(term) for term in row) for row in rows]
    return "".join(line + "\n" for line in lines).encode()


TABLE_WRITERS: dict[str, Any] = {
    "json": _write_json,
    "xml": _write_xml,
    "csv": _write_csv,
    "tsv": _write_tsv,
    "terms": _write_terms,
}


# --- Graphs: CONSTRUCT and DESCRIBE --------------------------------------------------------------------------

#: Oxigraph's RDF writers by format name. A graph result holds triples only: TriG and N-Quads put them in the
#: default graph, which Turtle and N-Triples written as they are already are.
GRAPH_WRITERS: dict[str, ox.RdfFormat] = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdf": ox.RdfFormat.RDF_XML,
    "trig": ox.RdfFormat.TRIG,
    "nq": ox.RdfFormat.N_QUADS,
}


def write_graph(fmt: str, triples: Sequence[ox.Triple], prefixes: dict[str, str]) -> bytes:
    """A graph in an RDF format (``terms``: this service's own, ``{"triples": [[s, p, o], ...]}``).

    :param prefixes: the prefixes Turtle, TriG and RDF/XML abbreviate IRIs with.
    :raises NotWritable: the graph cannot be written as ``fmt`` (XML and its control characters, a property
        RDF/XML cannot name).
    """
    if fmt == "terms":
        document = {
            "triples": [
                [encode_term(t.subject), encode_term(t.predicate), encode_term(t.object)] for t in triples
            ]
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    rdf_format = GRAPH_WRITERS[fmt]
    if rdf_format is ox.RdfFormat.RDF_XML:
        for triple in triples:
            if not _xml_name().search(triple.predicate.value):
                raise NotWritable(
                    f"RDF/XML cannot name the property <{triple.predicate.value}> (its IRI does not end in an XML "
                    "name); ask for Turtle, N-Triples or JSON-LD."
                )
            for term in (triple.subject, triple.predicate, triple.object):
                if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
                    _xml_text(term.value)
    quads: list[ox.Triple] | list[ox.Quad] = list(triples)
    if rdf_format in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
        quads = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    try:
        written = ox.serialize(quads, format=rdf_format, prefixes=prefixes if fmt != "nt" else None)
    except (ValueError, OSError) as exc:
        raise NotWritable(f"This result cannot be written in this format: {exc}") from exc
    assert written is not None
    if rdf_format is ox.RdfFormat.RDF_XML:
        # Oxigraph writes a carriage return of a literal raw, which XML readers turn into a line feed; the
        # document has no other (its own line ends are line feeds), so each is the literal's, escaped here.
        return written.replace(b"\r", b"&#13;")
    return written
