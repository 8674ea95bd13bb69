"""Stage 4, per graph — each graph's block of the corpus files, rendered from the build's own
N-Triples or N-Quads by Oxigraph and kept beside them in the unit's cache folder.

A corpus file is its blocks copied one after another (``kg.serialize``, decision 0025). An
article's blocks are rendered by the worker that built it, from the text it holds in
memory (``write_unit_blocks``); a block missing from a unit folder (the shared unit, or
other prefixes) is rendered when the file is written. Either way it has the same name and
the same bytes, so whichever comes first is the one the corpus file copies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox

NQ, TTL, TRIG, JSONLD = "nq", "ttl", "trig", "jsonld"


def block_prefixes(prefixes: Mapping[str, str]) -> dict[str, str]:
    """The prefixes Turtle and TriG blocks are written with: Oxigraph would escape the
    slashes of ``id:claim/…`` names, so data IRIs are written in full."""
    return {p: n for p, n in prefixes.items() if p != "id"}


def block_file(source: Path, kind: str, prefixes: Mapping[str, str] | None = None) -> Path:
    """Where ``source``'s block of ``kind`` is kept: beside it, named by what else it
    depends on (the prefixes of a Turtle or TriG block). A unit's folder is named by the
    hash of its inputs, so what is rendered from its files stays true while it exists."""
    return block_files([source], kind, prefixes)[0]


def block_files(
    sources: Sequence[Path], kind: str, prefixes: Mapping[str, str] | None = None
) -> list[Path]:
    """``block_file`` of each source, ``prefixes`` hashed once: the KGX blocks depend on
    the corpus's node ids (751 at 1,000 articles: 0.27 ms a hash, once per unit before)."""
    suffix = kind if prefixes is None else f"{kind}-{short_digest(prefixes)}"
    return [source.with_name(f"{source.name}.{suffix}") for source in sources]


def short_digest(items: Mapping[str, str]) -> str:
    text = json.dumps(sorted(items.items()), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def write_unit_blocks(
    ntriples: Path,
    graph: bytes,
    graph_name: str,
    nanopubs: Path,
    nanopub_quads: bytes,
    prefixes: Mapping[str, str],
    formats: Collection[str] = (NQ, TTL, JSONLD, TRIG),
) -> None:
    """The blocks of ``formats`` of an article's graph (the file ``ntriples``, whose bytes
    are ``graph``, named ``graph_name``) and of its nanopublications (``nanopubs``, holding
    ``nanopub_quads``), beside them. A block of another format is rendered if a later build
    asks for it (``kg.serialize``)."""
    short = block_prefixes(prefixes)
    header = turtle_header(short) if TTL in formats or TRIG in formats else b""
    if NQ in formats:
        block_file(ntriples, NQ).write_bytes(nquads_of(graph, graph_name))
    if TTL in formats:
        turtle = turtle_block(graph, short, header, ntriples)
        block_file(ntriples, TTL, short).write_bytes(turtle)
    if JSONLD in formats:
        block_file(ntriples, JSONLD).write_bytes(jsonld_block(graph))
    if TRIG in formats:
        quads = parsed(nanopub_quads, ox.RdfFormat.N_QUADS)
        block_file(nanopubs, TRIG, short).write_bytes(trig_block(quads, short, header, nanopubs))


def nquads_of(ntriples: bytes, graph_name: str) -> bytes:
    """N-Triples as N-Quads in the graph ``graph_name``: one bytes replace, sound because an
    N-Triples line ends in `` .`` and a literal cannot hold a raw newline."""
    name = f" {ox.NamedNode(graph_name)} .\n".encode()  # checks the IRI first
    return ntriples.replace(b" .\n", name)


def parsed(source: Path | bytes, rdf_format: ox.RdfFormat) -> Iterator[ox.Quad]:
    """A cached file of the build's own lines, parsed to be written in another syntax.

    Lenient: Oxigraph does not check each IRI again, which halved the parse (5.4 → 2.6 ms
    for an article's 3,137 triples). The lines were written from terms whose IRIs rdflib
    checked (``kg.ntriples``), and the store's bulk load of the same lines stays strict."""
    if isinstance(source, bytes):
        return iter(ox.parse(source, format=rdf_format, lenient=True))
    return iter(ox.parse(path=str(source), format=rdf_format, lenient=True))


def in_graph(path: Path, graph_name: str) -> Iterator[ox.Quad]:
    """The triples of an N-Triples file as quads of the graph ``graph_name``."""
    name = ox.NamedNode(graph_name)
    return (
        ox.Quad(q.subject, q.predicate, q.object, name)
        for q in parsed(path, ox.RdfFormat.N_TRIPLES)
    )


# ---------------------------------------------------------------- Turtle, TriG, JSON-LD

_RDF_TYPE = b"> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
_TYPE_FIRST = b"> <\x00> "
"""Stands in for rdf:type while a graph's lines are sorted: it sorts before every IRI, so
each subject's ``a`` comes first, as in rdflib's Turtle; N-Triples cannot hold a raw NUL."""


def _types_first(ntriples: bytes) -> bytes:
    """Sorted N-Triples re-sorted so that each subject's rdf:type lines lead its block: the
    subjects keep their order (they differ before the predicate), only predicates move."""
    if _TYPE_FIRST in ntriples:  # not N-Triples as claimkg writes it: keep the order given
        return ntriples
    lines = ntriples.replace(_RDF_TYPE, _TYPE_FIRST).split(b"\n")
    lines.sort()
    return b"\n".join(lines).replace(_TYPE_FIRST, _RDF_TYPE)


def turtle_header(prefixes: Mapping[str, str]) -> bytes:
    """The ``@prefix`` lines Oxigraph starts a Turtle document with, for these prefixes."""
    probe = ox.Triple(ox.NamedNode("urn:x"), ox.NamedNode("urn:y"), ox.NamedNode("urn:z"))
    text = ox.serialize([probe], format=ox.RdfFormat.TURTLE, prefixes=dict(prefixes)) or b""
    return b"".join(line for line in text.splitlines(keepends=True) if line.startswith(b"@prefix"))


def _without_header(chunk: bytes, header: bytes, source: Path) -> bytes:
    if not chunk:
        return b""
    if not chunk.startswith(header):  # Oxigraph's own header differs: keep it whole
        raise RuntimeError(f"unexpected header from Oxigraph for {source}")
    return b"\n" + chunk[len(header) :]


def turtle_block(
    ntriples: bytes, prefixes: Mapping[str, str], header: bytes, source: Path
) -> bytes:
    """One graph's statements in Turtle, after ``header`` (``turtle_header(prefixes)``),
    each subject's ``a`` first; ``source`` names the graph in an error."""
    triples = parsed(_types_first(ntriples), ox.RdfFormat.N_TRIPLES)
    chunk = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=dict(prefixes))
    return _without_header(chunk or b"", header, source)


def trig_block(
    quads: Iterator[ox.Quad], prefixes: Mapping[str, str], header: bytes, source: Path
) -> bytes:
    """Whole graphs in TriG, after ``header``."""
    chunk = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=dict(prefixes))
    return _without_header(chunk or b"", header, source)


_NODE_BOUNDARY = b']},{"@id":'
"""Where one top-level node object of Oxigraph's flat JSON-LD ends and the next starts: a
node ends with its last property's array; in a string the quote would be escaped."""


def jsonld_block(ntriples: bytes | Path) -> bytes:
    """One graph's node objects in expanded JSON-LD, one per line, without the array's
    brackets (the corpus file puts them around the blocks)."""
    triples = parsed(ntriples, ox.RdfFormat.N_TRIPLES)
    chunk = ox.serialize(triples, format=ox.RdfFormat.JSON_LD) or b"[]"
    body = chunk.strip()[1:-1]
    return body.replace(_NODE_BOUNDARY, b']},\n{"@id":')
