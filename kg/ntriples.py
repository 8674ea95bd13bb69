"""N-Triples and N-Quads lines from rdflib terms, as rdflib's own ``nt11`` and ``nquads``
serialisers write them, without building an rdflib ``Graph`` first.

An article's triples are written to the build's cache straight from the build; the lines
must be byte for byte rdflib's (the cache and the corpus files are compared with earlier
builds), which ``tests/test_ntriples.py`` checks on every kind of term. Why not rdflib:
its serialiser validates and formats every IRI on every use, and an article repeats the
same few hundred IRIs thousands of times; here each is formatted once per writer.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node, _is_valid_uri

Triple = tuple[Node, Node, Node]
Quad = tuple[Node, Node, Node, Node]

DEFAULT_GRAPH = "urn:x-rdflib:default"
"""rdflib's name for a dataset's default graph: its quads are written without a graph."""


class LineWriter:
    """Terms as N-Triples text, each IRI formatted (and checked) once."""

    def __init__(self) -> None:
        self._iris: dict[str, str] = {}

    def triple(self, s: Node, p: Node, o: Node) -> str:
        return f"{self.term(s)} {self.term(p)} {self.term(o)} .\n"

    def quad(self, s: Node, p: Node, o: Node, g: Node) -> str:
        name = "" if str(g) == DEFAULT_GRAPH else self.term(g)
        return f"{self.term(s)} {self.term(p)} {self.term(o)} {name} .\n"

    def term(self, node: Node) -> str:
        if type(node) is URIRef or isinstance(node, URIRef):
            key = str(node)
            text = self._iris.get(key)
            if text is None:
                text = self._iris[key] = _iri(key)
            return text
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, BNode):
            return f"_:{node}"
        raise TypeError(f"cannot write {node!r} as N-Triples")


def _iri(iri: str) -> str:
    if not _is_valid_uri(iri):  # what rdflib's URIRef.n3() refuses
        raise ValueError(f'"{iri}" does not look like a valid URI, cannot write it as N-Triples')
    return f"<{iri}>"


def _literal(literal: Literal) -> str:
    """rdflib's ``_quoteLiteral`` (``rdflib.plugins.serializers.nt``)."""
    text = (
        str(literal).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        .replace("\r", "\\r")
    )  # fmt: skip
    if literal.language:
        return f'"{text}"@{literal.language}'
    if literal.datatype:
        return f'"{text}"^^<{literal.datatype}>'
    return f'"{text}"'


def sorted_ntriples(triples: Iterable[Triple]) -> str:
    """The triples as sorted N-Triples lines (what the build caches for a graph), sorted
    without their line ends, as the build always sorted them."""
    term = LineWriter().term
    lines = sorted({f"{term(s)} {term(p)} {term(o)} ." for s, p, o in triples})
    return "\n".join(lines) + "\n"


def sorted_nquads(quads: Iterable[Quad]) -> str:
    """The quads as sorted N-Quads lines, duplicates kept (rdflib's ``_nq_row`` for each)."""
    writer = LineWriter()
    return "".join(sorted(writer.quad(*q) for q in quads))


def sorted_lines(quads: Iterable[Quad], graphs: Container[str]) -> tuple[str, str]:
    """``sorted_ntriples`` of the triples of the quads in ``graphs`` and ``sorted_nquads``
    of every quad, from one pass: each quad's terms are written once for both (an article's
    two cached files; a third less time than writing them apart)."""
    term = LineWriter().term
    triples: set[str] = set()
    quad_lines = []
    for s, p, o, g in quads:
        body = f"{term(s)} {term(p)} {term(o)}"
        name = str(g)
        if name in graphs:
            triples.add(body + " .")
        quad_lines.append(f"{body} {'' if name == DEFAULT_GRAPH else term(g)} .\n")  # as quad()
    return "\n".join(sorted(triples)) + "\n", "".join(sorted(quad_lines))
