"""kg.ntriples writes what rdflib's nt11 and nquads serialisers write, and an article's cached
files and edges made without an rdflib Graph equal those made from one."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.plugins.serializers.nquads import _nq_row

from kg.build import build_article
from kg.kgx import TripleIndex, edge_part
from kg.load import Article, Corpus
from kg.namespaces import ENTITY_GRAPH, bind_prefixes
from kg.ntriples import DEFAULT_GRAPH, LineWriter, sorted_lines, sorted_nquads, sorted_ntriples

S = URIRef("https://example.org/s")
G = URIRef("https://example.org/g")
OBJECTS = [
    URIRef("https://example.org/o?x=1#frag"),
    URIRef("urn:isbn:0451450523"),
    BNode("b0"),
    Literal("plain"),
    Literal('with "quotes", a \\ backslash,\nnewline,\r return\tand tab'),
    Literal("≤ 0.05 – ≥ 2 µM, 中文, 😀"),
    Literal("line\u2028separator and \x85 next-line"),
    Literal("chat", lang="fr"),
    Literal("en-GB text", lang="en-GB"),
    Literal("11.07", datatype=XSD.decimal),
    Literal("357200", datatype=XSD.integer),
    Literal("2024-06-01", datatype=XSD.date),
    Literal("true", datatype=XSD.boolean),
    Literal("custom", datatype=URIRef("https://example.org/dt")),
    Literal(""),
]


def rdflib_ntriples(graph: Graph) -> str:
    """How the build wrote a graph before kg.ntriples: rdflib's nt11, lines sorted (split at
    line ends only: the build split with str.splitlines, which also breaks a line inside a
    literal holding U+2028 or U+0085; kg.ntriples keeps such lines whole)."""
    lines = graph.serialize(format="nt11").split("\n")
    return "\n".join(sorted(line for line in lines if line.strip())) + "\n"


@pytest.mark.parametrize("obj", OBJECTS, ids=repr)
def test_each_term_is_written_as_rdflib_writes_it(obj: object) -> None:
    graph = Graph()
    graph.add((S, RDFS.label, obj))  # type: ignore[arg-type]
    assert sorted_ntriples(graph) == rdflib_ntriples(graph)
    quad = (S, RDFS.label, obj, G)
    assert LineWriter().quad(*quad) == _nq_row(quad[:3], G)  # type: ignore[arg-type,no-untyped-call]


def test_a_blank_subject_and_the_default_graph() -> None:
    quad = (BNode("x1"), RDF.type, S, URIRef("urn:x-rdflib:default"))
    assert LineWriter().quad(*quad) == _nq_row(quad[:3], quad[3])  # type: ignore[no-untyped-call]


def test_duplicates_are_written_once_in_a_graph_and_kept_in_quads() -> None:
    triple = (S, RDFS.label, Literal("x"))
    assert sorted_ntriples([triple, triple]).count("\n") == 1
    assert sorted_nquads([(*triple, G), (*triple, G)]).count("\n") == 2


def test_an_iri_rdflib_refuses_is_refused() -> None:
    with pytest.raises(ValueError, match="does not look like a valid URI"):
        LineWriter().term(URIRef("https://example.org/a b"))
    with pytest.raises(TypeError):
        LineWriter().term("not a term")  # type: ignore[arg-type]


def test_an_article_written_from_its_triples_equals_the_old_graph_route(corpus: Corpus) -> None:
    article = corpus.articles[0]
    built = build_article(article)
    assert built.ntriples() == rdflib_ntriples(built.graph)
    assert len(built.triples) == len(built.graph)  # the triples hold no duplicate
    assert built.nquads() == "".join(
        sorted(_nq_row(q[:3], q[3]) for q in built.quads)  # type: ignore[no-untyped-call]
    )


def test_edges_from_a_triple_index_equal_those_from_the_graph(
    built_corpus_parts: tuple[Article, Graph],
) -> None:
    article, entities = built_corpus_parts
    built = build_article(article)
    index = TripleIndex(built.triples, bind_prefixes(Graph(), built.base))
    from_graph = edge_part(built.graph, entities)
    assert from_graph.count("\n") > 10  # the article has edges to compare
    assert edge_part(index, entities) == from_graph


@pytest.fixture
def built_corpus_parts(corpus: Corpus) -> tuple[Article, Graph]:
    from kg.build import build_shared

    graphs = build_shared(corpus.entities, corpus.mappings, corpus.evidence)
    return corpus.articles[0], graphs[ENTITY_GRAPH]


def test_both_files_from_one_pass_equal_each_written_apart() -> None:
    other = URIRef("https://example.org/g2")
    kept = (S, RDFS.label, Literal("x"))
    quads = [
        (*kept, G),
        (*kept, other),  # the same triple in two kept graphs: once in the N-Triples
        (S, RDFS.comment, Literal("only in the quads"), URIRef("https://example.org/head")),
        (S, RDFS.comment, Literal("default graph"), URIRef(DEFAULT_GRAPH)),
    ]
    graphs = {str(G), str(other)}
    triples = [q[:3] for q in quads if str(q[3]) in graphs]
    assert sorted_lines(quads, graphs) == (sorted_ntriples(triples), sorted_nquads(quads))
    assert sorted_lines(quads, graphs)[0].count("\n") == 1


def test_an_article_s_files_from_one_pass_equal_each_written_apart(corpus: Corpus) -> None:
    built = build_article(corpus.articles[0])
    assert built.graphs  # build_article says which graphs its triples come from
    assert built.ntriples() == sorted_ntriples(built.triples)
    assert built.nquads() == sorted_nquads(built.quads)
