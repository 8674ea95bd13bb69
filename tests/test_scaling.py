"""What keeps the cost of an article linear in its claims (issue 13, item 6) gives the same
answers as the scans it replaced: quotes looked up in an index of the text, sentences,
citation markers and speaker turns bisected. Each is compared with the plain scan on random
texts and spans, over an alphabet small enough that quotes repeat and overlap. (How long
builds take is measured in benchmarks/bench_article.py, not here.)"""

from __future__ import annotations

import random
from collections.abc import Iterator
from types import SimpleNamespace

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, SH, XSD

from kg import prebinding, screen, validate
from kg.load_article import Article, CitationMarker, find_quote, sentence_spans
from kg.namespaces import CKG, DEFAULT_BASE
from kg.screen import run as screen_run
from kg.validate import load_shapes


def _scan(text: str, exact: str) -> list[int]:
    starts, at = [], text.find(exact)
    while at != -1 and exact:
        starts.append(at)
        at = text.find(exact, at + 1)
    return starts


@pytest.mark.parametrize("seed", range(20))
def test_find_quote_finds_every_occurrence_the_scan_finds(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab. " if seed % 2 else "abcdefgh ,.;–’"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 3000)))
    for _ in range(200):
        if text and rng.random() < 0.7:  # a piece of the text: found at least once
            start = rng.randrange(len(text))
            exact = text[start : start + rng.randrange(1, 60)]
        else:  # anything: mostly not found
            exact = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert find_quote(text, exact) == _scan(text, exact), (seed, exact)


def test_find_quote_on_a_repetitive_text() -> None:
    text = "the median PFS was 11.07 months. " * 300 + "the median PFS was 11.08 months."
    assert find_quote(text, "the median PFS was 11.08 months") == [len(text) - 32]
    assert len(find_quote(text, "the median PFS was 11.07 months.")) == 300
    across = "s. the median PFS was 11.0"  # spans two repeats
    assert find_quote(text, across) == _scan(text, across) and len(_scan(text, across)) == 300


def _cites_by_scan(
    sentences: list[tuple[int, int]], citations: list[CitationMarker], start: int, end: int
) -> list[int]:
    return sorted(
        {
            n
            for s, e in sentences
            if s < end and start < e
            for marker in citations
            if s <= marker.start and marker.end <= e
            for n in marker.numbers
        }
    )


@pytest.mark.parametrize("seed", range(10))
def test_cites_at_finds_the_markers_the_scan_finds(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice("ab .\n") for _ in range(2000))
    sentences = sentence_spans(text, len(text))
    markers, at = [], 0
    while at < len(text) - 3:
        at += rng.randrange(1, 40)
        length = rng.randrange(1, 4)
        markers.append(CitationMarker(at, at + length, (rng.randrange(1, 30),)))
        at += length
    article = SimpleNamespace(citations=tuple(markers))
    for _ in range(300):
        start = rng.randrange(len(text))
        end = min(len(text), start + rng.randrange(0, 120))
        assert Article.cites_at(article, sentences, start, end) == _cites_by_scan(  # type: ignore[arg-type]
            sentences, markers, start, end
        )


def test_speaker_of_takes_the_last_turn_at_or_before_the_quote() -> None:
    rng = random.Random(0)
    turns = tuple(sorted((rng.randrange(1000), f"speaker-{i}") for i in range(60)))
    article = SimpleNamespace(speaker_spans=(), turns=turns, editorial_voice="editor")
    for start in [0, *range(0, 1001, 7)]:
        before = [speaker for at, speaker in turns if at <= start]
        expected = before[-1] if before else "editor"
        assert Article.speaker_of(article, start, start + 5) == (expected, None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the quote check in Python

OA = Namespace("http://www.w3.org/ns/oa#")
EX = Namespace("http://example.org/")
QUOTE_CHECK = URIRef("https://w3id.org/claimkg/shapes/QuoteShape-matchesSource")


def _quote_shapes() -> Graph:
    """A node shape with the shipped quote check alone (its select and prefixes copied
    from ``ontology/shapes.ttl``), so that nothing else is checked."""
    real = load_shapes()
    select = real.value(QUOTE_CHECK, SH.select)
    assert select is not None
    shapes = Graph()
    shapes.add((EX.Quote, RDF.type, SH.NodeShape))
    shapes.add((EX.Quote, SH.targetClass, OA.SpecificResource))
    shapes.add((EX.Quote, SH.sparql, EX.matches))
    shapes.add((EX.matches, RDF.type, SH.SPARQLConstraint))
    shapes.add((EX.matches, SH.select, select))
    shapes.add((EX.matches, SH.prefixes, EX.prefixes))
    for name, namespace in prebinding.prefixes(real, QUOTE_CHECK).items():
        declaration = BNode()
        shapes.add((EX.prefixes, SH.declare, declaration))
        shapes.add((declaration, SH.prefix, Literal(name)))
        shapes.add((declaration, SH.namespace, Literal(namespace, datatype=XSD.anyURI)))
    return shapes


def _offset(rng: random.Random, near: int, odd: bool) -> Literal:
    """An offset: a well-typed one near ``near``; if ``odd``, sometimes one rdflib reads
    apart (a decimal, a negative integer, a string)."""
    roll = rng.random() if odd else 1.0
    if roll < 0.08:
        return Literal(f"{near}.0", datatype=XSD.decimal)
    if roll < 0.14:
        return Literal(near - rng.randrange(1, 4), datatype=XSD.integer)  # may be negative
    if roll < 0.17:
        return Literal(str(near), datatype=XSD.string)
    offset = max(0, near + rng.choice((0, 0, 0, 0, 1, -1, 40)))
    return Literal(offset, datatype=XSD.nonNegativeInteger)


def _string(rng: random.Random, text: str, odd: bool) -> Literal | URIRef:
    """``text`` as a plain literal; if ``odd``, sometimes tagged, typed xsd:string, or an
    IRI."""
    roll = rng.random() if odd else 1.0
    if roll < 0.05:
        return Literal(text, lang="en")
    if roll < 0.09:
        return Literal(text, datatype=XSD.string)
    if roll < 0.11:
        return EX[f"iri-{len(text)}"]
    return Literal(text)


def _quotes(rng: random.Random, odd: bool) -> Graph:
    """Quotes of one or two short texts over a small alphabet (so that words repeat), with
    right and wrong offsets, prefixes and suffixes, missing and doubled values (and, if
    ``odd``, values of other kinds)."""
    graph = Graph()
    sources = [EX[f"article-{i}"] for i in range(2)]
    texts: dict[URIRef, str] = {}
    for source in sources:
        text = "".join(rng.choice("ab .") for _ in range(rng.randrange(0, 40)))
        texts[source] = text
        for _ in range(rng.choice((0, 1, 1, 1, 1, 2))):
            graph.add((source, CKG.fullText, _string(rng, text, odd)))
    for n in range(12):
        quote, source = EX[f"quote-{n}"], rng.choice(sources)
        text = texts[source]
        graph.add((quote, RDF.type, OA.SpecificResource))
        graph.add((quote, OA.hasSource, source))
        start = rng.randrange(0, len(text) + 2)
        end = start + rng.randrange(0, 8)
        by_quote, by_position = EX[f"quote-{n}-text"], EX[f"quote-{n}-position"]
        if rng.random() < 0.1:
            by_position = by_quote  # one selector with both
        graph.add((quote, OA.hasSelector, by_quote))
        graph.add((quote, OA.hasSelector, by_position))
        exact = text[start:end] if rng.random() < 0.8 else text[start : end + 1]
        for _ in range(rng.choice((1, 1, 1, 1, 0, 2))):
            graph.add((by_quote, OA.exact, _string(rng, exact, odd)))
            exact = "".join(rng.choice("ab .") for _ in range(3))
        for predicate, piece in ((OA.prefix, text[max(0, start - 3) : start]),
                                 (OA.suffix, text[end : end + 3])):  # fmt: skip
            for _ in range(rng.choice((1, 1, 1, 0, 2))):
                graph.add((by_quote, predicate, _string(rng, piece, odd)))
                piece = rng.choice(("", "a", "b.", piece[1:], piece + "a"))
        for _ in range(rng.choice((1, 1, 1, 1, 2))):
            graph.add((by_position, OA.start, _offset(rng, start, odd)))
            graph.add((by_position, OA.end, _offset(rng, end, odd)))
    return graph


_INTEGER_TYPES = (XSD.integer, XSD.nonNegativeInteger)


def _ordinary(graph: Graph) -> bool:
    """Every string a plain literal and every offset a non-negative xsd:integer or
    xsd:nonNegativeInteger: where the Python check must answer exactly as rdflib."""
    for _, predicate, value in graph:
        if predicate in (OA.start, OA.end):
            if not isinstance(value, Literal) or value.datatype not in _INTEGER_TYPES:
                return False
            if not isinstance(value.value, int) or value.value < 0:
                return False
        elif predicate in (CKG.fullText, OA.exact, OA.prefix, OA.suffix) and (
            not isinstance(value, Literal) or value.datatype or value.language
        ):
            return False
    return True


def test_the_shipped_quote_check_runs_in_python() -> None:
    """The screen checks the quotes in Python only while the shapes' select is the one
    ``kg.screen.native`` was written after: if it changes, this fails (and the screen
    compiles the new select, correct but quadratic in the article's length)."""
    for base in (DEFAULT_BASE, "http://example.org/kg/"):
        compiled = screen.program(base)
        checked = [q for q in compiled.queries if q.native is not None]
        assert len(checked) == 1
        [leaf] = [c.test for c in compiled.checks if c.shape == "QuoteShape-matchesSource"]
        assert checked[0].leaf == leaf
    assert any(q.native is not None for q in screen.compile_shapes(_quote_shapes()).queries)


@pytest.mark.parametrize("seed", range(30))
def test_the_quote_check_in_python_flags_what_rdflib_reports(seed: int) -> None:
    """The exact path (rdflib running the select, as kg.validate does) against the screen's
    Python check on random quotes: the screen flags every quote the exact path reports,
    and exactly those when every value is a plain string or a non-negative integer."""
    shapes, graph = _quote_shapes(), _quotes(random.Random(seed), odd=seed % 3 == 0)
    whole = validate._whole_graph(shapes)
    assert list(whole) == [(EX.Quote, EX.matches)]
    _, report = validate._exact(graph, shapes, graph, whole)
    reported = {str(f) for f in report.objects(None, SH.focusNode)}
    suspected = {focus for shape, focus in screen.suspects(graph, shapes=shapes, ontology=False)}
    assert reported <= suspected
    if _ordinary(graph):
        assert suspected == reported


def test_the_random_quotes_exercise_both_answers() -> None:
    """Across the seeds above: ordinary graphs with quotes that match and quotes that do not."""
    flagged = passed = ordinary = 0
    shapes = _quote_shapes()
    for seed in range(30):
        graph = _quotes(random.Random(seed), odd=seed % 3 == 0)
        ordinary += _ordinary(graph)
        suspected = screen.suspects(graph, shapes=shapes, ontology=False)
        quotes = set(graph.subjects(RDF.type, OA.SpecificResource))
        flagged += len(suspected)
        passed += len(quotes) - len(suspected)
    assert ordinary >= 15 and flagged >= 50 and passed >= 50


def test_the_quote_check_reads_the_text_once_per_article() -> None:
    """Linear in the quotes: the article's text leaves the store once, however many quotes
    point into it, and no other value of that length does (the compiled select had
    Oxigraph copy it out of the store several times per quote, inside SUBSTR)."""
    text = "the median PFS was 11.07 months. " * 200
    graph = Graph()
    article = EX.article
    graph.add((article, CKG.fullText, Literal(text)))
    for n in range(300):
        quote, by_quote, by_position = EX[f"q{n}"], EX[f"q{n}-text"], EX[f"q{n}-position"]
        start = 33 * n
        graph.add((quote, RDF.type, OA.SpecificResource))
        graph.add((quote, OA.hasSource, article))
        graph.add((quote, OA.hasSelector, by_quote))
        graph.add((quote, OA.hasSelector, by_position))
        graph.add((by_quote, OA.exact, Literal(text[start : start + 24])))
        graph.add((by_position, OA.start, Literal(start, datatype=XSD.nonNegativeInteger)))
        graph.add((by_position, OA.end, Literal(start + 24, datatype=XSD.nonNegativeInteger)))
    graph.set((EX["q7-text"], OA.exact, Literal("the median PFS was 11.08")))
    compiled = screen.compile_shapes(_quote_shapes())
    loaded = screen_run._load(graph, DEFAULT_BASE, None, ontology=False)
    read: list[str] = []
    select = loaded.select

    def counting(sparql: str) -> Iterator[ox.QuerySolution]:
        for row in select(sparql):
            read.extend(v.value for v in row if isinstance(v, ox.Literal))
            yield row

    loaded.select = counting  # type: ignore[method-assign]
    assert loaded.check(compiled) == {("matches", str(EX.q7))}
    assert read.count(text) == 1 and len(read) < 6 * 300 and max(map(len, read)) == len(text)
