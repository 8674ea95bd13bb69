"""The screen in front of pySHACL (kg/screen.py) is sound: it suspects every (shape, focus
node) pair pySHACL reports, on every broken-shape fixture, and nothing on the valid corpora
(else it would save nothing). Where the screen leans on Oxigraph computing as rdflib does,
the two engines are compared here."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pyoxigraph as ox
import pytest
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, SH, XSD
from rdflib.plugins.sparql import operators
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import SPARQLError

import kg.validate
from kg import screen
from kg.build import BuiltCorpus, build_article, build_shared
from kg.load import load_article, load_shared
from kg.namespaces import CKG, DEFAULT_BASE, ENTITY_GRAPH
from kg.screen import functions, run, sparql
from kg.validate import load_shapes, validate_graph

from .test_shapes import FIXTURE_FILES, INVALID, PREFIXES, _broken

EX = Namespace("http://example.org/")


def _pairs(graph: Graph, context: Graph | None = None) -> set[tuple[str, str]]:
    """(shape, focus) of every violation the exact path (pySHACL) reports."""
    result = validate_graph(graph, context=context, screen=False)
    return {(v.shape, v.focus) for v in result.violations}


def _changed(test_built: BuiltCorpus, update: str) -> Graph:
    graph = Graph()
    for triple in test_built.graph:
        graph.add(triple)
    graph.update(PREFIXES + update)
    return graph


# ---------------------------------------------------------------- valid corpora: no suspects


def test_the_valid_corpora_raise_no_suspicion(built: BuiltCorpus, test_built: BuiltCorpus) -> None:
    assert screen.suspects(built.graph) == set()
    assert screen.suspects(test_built.graph) == set()


def test_a_synthetic_article_raises_no_suspicion(generator: ModuleType, tmp_path: Path) -> None:
    """As the pipeline validates it: one article with the shared entities as context, and
    the shared graphs on their own."""
    corpus = generator.generate(tmp_path / "corpus", 1, 20)
    shared = load_shared(corpus.path)
    graphs = build_shared(shared.entities, shared.mappings, shared.evidence, DEFAULT_BASE)
    article = load_article(corpus.path / corpus.article_dirs[0], shared)
    graph = build_article(article, DEFAULT_BASE).graph
    assert screen.suspects(graph, context=graphs[ENTITY_GRAPH]) == set()
    union = Graph()
    for part in graphs.values():
        for triple in part:
            union.add(triple)
    assert screen.suspects(union) == set()


def test_a_screened_graph_gets_pyshacls_conforming_report(test_built: BuiltCorpus) -> None:
    result = validate_graph(test_built.graph)
    assert result.conforms and result.violations == ()
    [report] = result.report.subjects(RDF.type, SH.ValidationReport)
    assert set(result.report) == {
        (report, RDF.type, SH.ValidationReport),
        (report, SH.conforms, Literal(True)),
    }


# ---------------------------------------------------------------- soundness on broken graphs


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=[f.stem for f in FIXTURE_FILES])
def test_the_suspects_cover_what_pyshacl_reports(test_built: BuiltCorpus, fixture: Path) -> None:
    broken = _broken(test_built, fixture)
    reported = _pairs(broken)
    assert reported, "the fixture breaks nothing"
    assert reported <= screen.suspects(broken)


@pytest.mark.parametrize(
    "fixture", ["ClaimShape-about", "ClaimShape-arm", "RelationShape-subject", "EntityShape-label"]
)
def test_an_article_checked_with_its_context_is_covered_too(
    test_built: BuiltCorpus, fixture: str
) -> None:
    """Per article, as the pipeline runs it: the entities are context, not focus nodes."""
    broken = _broken(test_built, INVALID / f"{fixture}.ru")
    articles = {
        s for name, g in test_built.graphs.items() if "/article/" in name for s in g.subjects()
    }
    article, context = Graph(), Graph()
    for triple in broken:
        (article if triple[0] in articles else context).add(triple)
    reported = _pairs(article, context) | _pairs(context)
    assert reported
    assert reported <= screen.suspects(article, context=context) | screen.suspects(context)


def test_a_fixed_context_is_encoded_once_and_screened_as_before(
    test_built: BuiltCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a build does before its workers fork (``screen.fix_context``): the entities are
    then known by identity, not hashed for each article, and the answers do not change."""
    broken = _broken(test_built, INVALID / "EntityShape-label.ru")
    articles = {
        s for name, g in test_built.graphs.items() if "/article/" in name for s in g.subjects()
    }
    article, context = Graph(), Graph()
    for triple in broken:
        (article if triple[0] in articles else context).add(triple)
    expected = screen.suspects(article, context=context)
    assert ("EntityShape-label", f"{DEFAULT_BASE}id/entity/drug-a") in expected  # the context
    screen.fix_context(context)
    try:

        def encoded_again(graph: Graph) -> None:
            raise AssertionError("the fixed context was encoded again")

        monkeypatch.setattr(run, "_encode", encoded_again)
        run._CONTEXTS.clear()
        assert screen.suspects(article, context=context) == expected
        assert not run._CONTEXTS  # nor hashed to be looked up
        monkeypatch.undo()
        copy = Graph()
        copy += context
        copy.remove((next(iter(context.subjects())), None, None))  # another context
        assert run._context(copy) != run._context(context)
    finally:
        run._FIXED.clear()


def test_numbers_keep_the_form_they_were_written_in(test_built: BuiltCorpus) -> None:
    """Oxigraph stores "10.50" as 10.5, which the quote prints: the screen must still see
    the "10.50" rdflib and pySHACL see (not printed, so a violation)."""
    broken = _changed(
        test_built,
        "DELETE { claim:pfs-median-drug-a qudt:numericValue ?v } "
        "INSERT { claim:pfs-median-drug-a qudt:numericValue 10.50 } "
        "WHERE { claim:pfs-median-drug-a qudt:numericValue ?v }",
    )
    reported = _pairs(broken)
    assert {shape for shape, _ in reported} == {"ClaimShape-printedNumbers"}
    assert reported <= screen.suspects(broken)


def test_two_spellings_of_one_number_are_two_values(test_built: BuiltCorpus) -> None:
    """10.5 and 10.50 are one value to Oxigraph but two terms to pySHACL: sh:maxCount 1."""
    broken = _changed(test_built, "INSERT DATA { claim:pfs-median-drug-a qudt:numericValue 10.50 }")
    reported = _pairs(broken)
    assert "ClaimShape-numericValue" in {shape for shape, _ in reported}
    assert reported <= screen.suspects(broken)


# ---------------------------------------------------------------- error semantics

SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:S-start .
ex:S-start a sh:PropertyShape ; sh:path ex:start ; sh:lessThan ex:end .
"""


@pytest.mark.parametrize(
    ("start", "end", "reported", "flagged"),
    [
        (Literal("abc"), Literal(Decimal("5.0")), True, True),  # a string and a number
        (Literal(7), Literal(Decimal("5.0")), True, True),
        (Literal(3), Literal(Decimal("5.0")), False, False),
        (EX.iri, Literal(5), True, True),
        # rdflib orders a year before a number; the screen trusts only numbers: flagged
        (Literal("2024", datatype=XSD.gYear), Literal(2025), False, True),
    ],
)
def test_an_incomparable_pair_counts_as_a_violation(
    start: Any, end: Any, reported: bool, flagged: bool
) -> None:
    """``FILTER(!(?a < ?b))`` would drop the row when the comparison errors; the screen must
    flag it, as pySHACL reports it."""
    shapes = Graph().parse(data=SHAPES, format="turtle")
    data = Graph()
    data.add((EX.x, RDF.type, EX.C))
    data.add((EX.x, EX.start, start))
    data.add((EX.x, EX.end, end))
    conforms, _, _ = validate(data, shacl_graph=shapes, inference="none")
    assert conforms is not reported
    assert screen.suspects(data, shapes=shapes) == ({("S-start", str(EX.x))} if flagged else set())


# ---------------------------------------------------------------- unsupported shapes


def test_an_unsupported_term_stops_the_compiler_with_the_shape_and_term() -> None:
    shapes = load_shapes()
    shapes.add((URIRef("https://w3id.org/claimkg/shapes/ClaimShape"), SH.closed, Literal(True)))
    with pytest.raises(screen.UnsupportedShapes, match="ClaimShape: closed"):
        screen.compile_shapes(shapes)


CLOSED_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ckg: <https://w3id.org/claimkg/vocab/> .
@prefix shape: <https://w3id.org/claimkg/shapes/> .
shape:ClosedClaimShape a sh:NodeShape ; sh:targetClass ckg:Claim ;
    sh:closed true ; sh:message "A claim may have no property at all." .
"""


def test_unsupported_shapes_are_left_to_pyshacl(
    test_built: BuiltCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a shape the screen cannot compile, validation still finds its violations."""
    original = kg.validate._parsed

    def parsed(names: tuple[str, ...], base: str) -> Graph:
        graph = original(names, base)
        if names != ("shapes.ttl",):
            return graph
        return graph + Graph().parse(data=CLOSED_SHAPE, format="turtle")

    monkeypatch.setattr(kg.validate, "_parsed", parsed)
    screen._forget()
    try:
        with pytest.raises(screen.UnsupportedShapes, match="ClosedClaimShape: closed"):
            screen.suspects(test_built.graph)
        result = validate_graph(test_built.graph)
    finally:
        screen._forget()
    assert not result.conforms
    assert {v.shape for v in result.violations} == {"ClosedClaimShape"}
    claims = set(test_built.graph.subjects(RDF.type, CKG.Claim))
    assert {v.focus for v in result.violations} == {str(c) for c in claims}


REFUSED = [
    "SELECT $this WHERE { $this ex:a ?a ; ex:b ?b . FILTER (?a < ?b) }",  # rdflib orders anything
    "SELECT $this WHERE { $this ex:a ?a . MINUS { $this ex:b ?a } }",
    "SELECT $this WHERE { GRAPH ?g { $this ex:a ?a } }",
    "SELECT $this WHERE { $this ex:a ?a . FILTER (sameTerm(?a, 1)) }",
    "SELECT $this WHERE { $this ex:a 5 }",  # a number stored under the screen's datatype
    'SELECT $this WHERE { $this ex:a ?a . FILTER (?a = "5"^^<urn:x>) }',
    "SELECT $this WHERE { $this ex:a ?a . BIND (?a + 1 AS ?b) FILTER (STR(?b) = 2) }",
    "SELECT $this WHERE { $this ex:a ?a } ORDER BY ?a LIMIT 1",
    "SELECT ?x WHERE { ?x ex:a ?a }",
]


@pytest.mark.parametrize("select", REFUSED)
def test_sparql_the_screen_cannot_run_faithfully_is_refused(select: str) -> None:
    with pytest.raises(screen.UnsupportedShapes):
        sparql._rewrite(select, {"ex": str(EX)}, "test")


def test_data_oxigraph_cannot_hold_is_left_to_pyshacl(test_built: BuiltCorpus) -> None:
    """An IRI with a space would not survive N-Triples: the screen refuses to decide."""
    broken = _changed(test_built, "INSERT DATA { claim:pfs-hr ckg:about entity:test-1 }")
    claim = URIRef("https://w3id.org/claimkg/id/claim/mini-trial-note/pfs-hr")
    broken.add((claim, CKG.about, URIRef("https://example.org/a b")))
    with pytest.raises(screen.ScreenError):
        screen.suspects(broken)
    assert "ClaimShape-about" in {v.shape for v in validate_graph(broken).violations}


# ---------------------------------------------------------------- the two engines agree


def _integer(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode(XSD.integer))


def _text(text: str, language: str | None = None) -> ox.Literal:
    return ox.Literal(text, language=language) if language else ox.Literal(text)


TEXT = _text("Abc déf – ghi")
IRI = ox.NamedNode(EX.a)
ARGUMENTS: dict[str, list[tuple[ox.Literal | ox.NamedNode, ...]]] = {
    "SUBSTR": [
        (TEXT, _integer(2)),
        (TEXT, _integer(0)),
        (TEXT, _integer(3), _integer(4)),
        (TEXT, _integer(-2), _integer(3)),
        (TEXT, _integer(4), _integer(-2)),
        (TEXT, ox.Literal("1.5", datatype=ox.NamedNode(XSD.decimal))),
        (_integer(5), _integer(1)),
        (_text("abc", "en"), _integer(2)),
    ],
    "CONCAT": [
        (TEXT, _text("!")),
        (_text("a", "en"), _text("b", "en")),
        (_text("a", "en"), _text("b")),
        (TEXT, _integer(1)),
    ],
    "LCASE": [(TEXT,), (_text("ΣΑΣ"),), (_text("İ"),)],
    "REGEX": [
        (TEXT, _text("d.f")),
        (TEXT, _text("^abc"), _text("i")),
        (TEXT, _text("ghi$")),
        (_text("ab\n"), _text("b$")),
        (TEXT, _text("[")),
        (TEXT, IRI),
    ],
    "REPLACE": [
        (TEXT, _text("([a-z])"), _text("$1$1")),
        (_text("1,234"), _text("([0-9]),([0-9]{3})"), _text("$1$2")),
        (TEXT, _text("b"), _text("x"), _text("i")),
        (TEXT, _text("b"), _text("$")),
    ],
}
"""Arguments on which rdflib answers, errs or crashes; the screen must do the same."""
PARAMETERS = {
    "SUBSTR": ("arg", "start", "length"),
    "REGEX": ("text", "pattern", "flags"),
    "REPLACE": ("arg", "pattern", "replacement", "flags"),
    "LCASE": ("arg",),
}


def _rdflib_term(term: ox.Literal | ox.NamedNode) -> Any:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return Literal(term.value, datatype=None if datatype == str(XSD.string) else datatype)


def _outcome(call: Callable[[], Any]) -> str:
    try:
        result = call()
    except (SPARQLError, functions._SparqlError):
        return "SPARQL error"
    except Exception as error:  # the exact path would crash: so must the screen
        return f"crash {type(error).__name__}"
    if isinstance(result, Literal):
        language = result.language or ""
        datatype = "" if result.datatype in (None, XSD.string) else str(result.datatype)
        return f"{result}|{language}|{datatype}"
    language = result.language or ""
    plain = language or result.datatype.value == str(XSD.string)
    return f"{result.value}|{language}|{'' if plain else result.datatype.value}"


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_the_python_functions_answer_as_rdflibs(name: str) -> None:
    builtin = getattr(operators, f"Builtin_{name}")
    for arguments in ARGUMENTS[name]:
        values = [_rdflib_term(a) for a in arguments]
        if name == "CONCAT":
            expression = CompValue(name, arg=values)
        else:
            expression = CompValue(name, **dict.fromkeys(PARAMETERS[name]))
            expression.update(zip(PARAMETERS[name], values, strict=False))
        ours = _outcome(lambda a=arguments: functions._MIRRORS[name](*a))  # type: ignore[misc]
        theirs = _outcome(lambda e=expression: builtin(e, None))  # type: ignore[misc]
        assert ours == theirs, f"{name}{arguments}"


AGREED_VALUES = [
    Literal("abc"),
    Literal("2"),
    Literal("Zwölf – 12"),
    Literal("2", datatype=XSD.integer),
    Literal("-7", datatype=XSD.integer),
    Literal("12", datatype=XSD.nonNegativeInteger),
    Literal("3", datatype=XSD.positiveInteger),
    Literal("2.0", datatype=XSD.decimal),
    Literal("0.50", datatype=XSD.decimal),
    Literal("12.000", datatype=XSD.decimal),
    Literal("-0.5", datatype=XSD.decimal),
    Literal("true", datatype=XSD.boolean),
    Literal("2024", datatype=XSD.gYear),
    Literal("2024-03-01", datatype=XSD.date),
    EX.iri,
]
EXPRESSIONS = [
    "?v = 2",
    "?v != 2",
    "!(?v = 3)",
    '?v = "abc"',
    "?v = 0.5",
    "?v = true",
    "?v + 1 = 3",
    "?v - 1 = 11",
    "?v = ?v",
    'REGEX(STR(?v), "^[0-9]+$")',
    'STR(?v) = "0.50"',
    'CONTAINS(?v, "b")',
    'STRSTARTS(STR(?v), "1")',
    'STRENDS(?v, "12")',
    'SUBSTR(STR(?v), 2, 2) = "2."',
    'SUBSTR(?v, 2) = "bc"',
    'CONCAT(STR(?v), "!") = "2!"',
    'LCASE(?v) = "zwölf – 12"',
    'REPLACE(STR(?v), "[.]", ",") = "0,50"',
    "BOUND(?v) && ?v = 12",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_oxigraph_filters_agreed_values_as_rdflib_does(expression: str) -> None:
    """The rewritten SHACL-SPARQL on the screen's store keeps exactly the rows rdflib keeps,
    for every literal kind in ``_AGREED`` (the screen trusts Oxigraph on no other)."""
    data = Graph()
    for i, value in enumerate(AGREED_VALUES):
        data.add((EX[f"s{i}"], EX.p, value))
    select = f"SELECT ?this WHERE {{ ?this ex:p ?v . FILTER ({expression}) }}"
    theirs = {str(row[0]) for row in data.query(select, initNs={"ex": EX})}  # type: ignore[index]
    rewritten = sparql._rewrite(select, {"ex": str(EX)}, "test")
    loaded = run._load(data, DEFAULT_BASE, None)
    assert loaded.disagreeing == frozenset()
    for typed in (loaded.typed, None):  # decoding what the data needs, or every value read
        where = sparql._render(rewritten.where, dict(rewritten.sources), typed)
        ours = {row["this"].value for row in loaded.select(f"SELECT ?this WHERE {where}")}
        assert ours == theirs


def test_a_value_the_engines_read_apart_makes_all_suspects(test_built: BuiltCorpus) -> None:
    """rdflib finds ``"…"^^xsd:anyURI != 2`` true, Oxigraph an error: with such a value on a
    predicate a SHACL-SPARQL constraint computes with, all its focus nodes are suspects."""
    broken = _changed(test_built, 'INSERT DATA { claim:pfs-hr ckg:grade "3"^^xsd:anyURI }')
    claims = {str(c) for c in broken.subjects(RDF.type, CKG.Claim)}
    suspected = screen.suspects(broken)
    assert {("ClaimShape-printedNumbers", c) for c in claims} <= suspected
    assert _pairs(broken) <= suspected


# ---------------------------------------------------------------- the probes of issue 13

PROBE_PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
PROBE_DATA = PROBE_PREFIXES + "ex:x a ex:C . ex:y a ex:C ; ex:p 1 ; ex:q ex:x ."


def _sparql_shape(select: str) -> Graph:
    text = (
        PROBE_PREFIXES
        + f"""
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql ex:S-check .
        ex:S-check a sh:SPARQLConstraint ; sh:prefixes ex:declared ;
            sh:select \"\"\"{select}\"\"\" .
        ex:declared sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^xsd:anyURI ] .
    """
    )
    return Graph().parse(data=text, format="turtle")


def _pyshacl(data: Graph, shapes: Graph) -> tuple[bool, set[tuple[str, str]]]:
    """pySHACL's verdict and its (shape, focus) pairs, named as the screen names them."""
    conforms, report, _ = validate(data, shacl_graph=shapes, advanced=True, inference="none")
    pairs: set[tuple[str, str]] = set()
    if isinstance(report, Graph):
        for result in report.subjects(RDF.type, SH.ValidationResult):
            shape = report.value(result, SH.sourceConstraint) or report.value(
                result, SH.sourceShape
            )
            pairs.add((kg.validate._short(shape), str(report.value(result, SH.focusNode))))
    return bool(conforms), pairs


UNBOUND_THIS = {
    "not-exists": "SELECT $this WHERE { FILTER NOT EXISTS { $this ex:p ?v } }",
    "optional-unbound": "SELECT $this WHERE { OPTIONAL { $this ex:p ?v } FILTER (!BOUND(?v)) }",
    "union-branch": "SELECT $this WHERE { { $this ex:q ?v }"
    ' UNION { FILTER (STR($this) = "http://example.org/x") } }',
    "bind-as-this": "SELECT $this WHERE { BIND (ex:nobody AS $this) }",
    "bind-before": 'SELECT $this WHERE { BIND (STR($this) AS ?s) FILTER (STRENDS(?s, "x")) }',
}
"""SHACL-SPARQL constraints that read ``$this`` before a triple pattern binds it: run once
over the whole graph with ``$this`` free, they find nothing pySHACL (``$this`` pre-bound to
each focus node) finds."""


@pytest.mark.parametrize("select", UNBOUND_THIS.values(), ids=UNBOUND_THIS.keys())
def test_a_constraint_reading_this_before_binding_it_is_left_to_pyshacl(select: str) -> None:
    shapes = _sparql_shape(select)
    data = Graph().parse(data=PROBE_DATA, format="turtle")
    conforms, _ = _pyshacl(data, shapes)
    assert not conforms  # pySHACL rejects ex:x (or the select itself)
    with pytest.raises(screen.UnsupportedShapes, match="S-check"):
        screen.suspects(data, shapes=shapes)


REVIEWER_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ckg: <https://w3id.org/claimkg/vocab/> .
@prefix shape: <https://w3id.org/claimkg/shapes/> .
shape:ReviewedShape a sh:NodeShape ; sh:targetClass ckg:Claim ;
    sh:sparql shape:ReviewedShape-reviewer .
shape:ReviewedShape-reviewer a sh:SPARQLConstraint ; sh:prefixes shape: ;
    sh:message "Every claim needs a reviewer." ;
    sh:select "SELECT $this WHERE { FILTER NOT EXISTS { $this ckg:reviewedBy ?who } }" .
"""


def _with_shapes(monkeypatch: pytest.MonkeyPatch, turtle: str) -> None:
    """``ontology/shapes.ttl`` plus ``turtle``, for this test only."""
    original = kg.validate._parsed

    def parsed(names: tuple[str, ...], base: str) -> Graph:
        graph = original(names, base)
        if names != ("shapes.ttl",):
            return graph
        return graph + Graph().parse(data=turtle, format="turtle")

    monkeypatch.setattr(kg.validate, "_parsed", parsed)
    screen._forget()


@pytest.mark.parametrize("use_screen", [True, False], ids=["screened", "exact"])
def test_every_claim_needs_a_reviewer_is_enforced(
    test_built: BuiltCorpus, monkeypatch: pytest.MonkeyPatch, use_screen: bool
) -> None:
    """The whole-graph runner of kg/validate.py had the screen's hole: a plausible new shape
    written with ``FILTER NOT EXISTS { $this … }`` passed every claim."""
    _with_shapes(monkeypatch, REVIEWER_SHAPE)
    try:
        result = validate_graph(test_built.graph, screen=use_screen)
    finally:
        screen._forget()
    claims = {str(c) for c in test_built.graph.subjects(RDF.type, CKG.Claim)}
    assert not result.conforms
    assert {v.focus for v in result.violations if v.shape == "ReviewedShape-reviewer"} == claims


NEEDS_P = "sh:property [ sh:path ex:p ; sh:minCount 1 ] ."
IMPLICIT = {
    "rdfs-class": "ex:C a sh:NodeShape , rdfs:Class ; " + NEEDS_P,
    "owl-class": "ex:C a sh:NodeShape , owl:Class ; " + NEEDS_P,
    "subclass-of-rdfs-class": "ex:Meta rdfs:subClassOf rdfs:Class . "
    "ex:C a sh:NodeShape , ex:Meta ; " + NEEDS_P,
}


@pytest.mark.parametrize("turtle", IMPLICIT.values(), ids=IMPLICIT.keys())
def test_implicit_class_targets_are_pyshacls(turtle: str) -> None:
    """A shape that is also a class targets its instances, as pySHACL decides it (rdfs:Class,
    or a type declared a subclass of rdfs:Class, owl:Class among them)."""
    shapes = Graph().parse(data=PROBE_PREFIXES + turtle, format="turtle")
    data = Graph().parse(data=PROBE_DATA, format="turtle")
    conforms, reported = _pyshacl(data, shapes)
    assert not conforms
    suspected = screen.suspects(data, shapes=shapes, ontology=False)
    assert reported and reported <= suspected


RECURSIVE = {
    "or-itself": "ex:S a sh:NodeShape ; sh:targetClass ex:C ;"
    " sh:or ( ex:S [ sh:path ex:p ; sh:minCount 1 ] ) .",
    "through-qualified": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:P . "
    "ex:P sh:path ex:q ; sh:qualifiedValueShape ex:T ; sh:qualifiedMinCount 0 . "
    "ex:T sh:or ( ex:U ) . ex:U sh:xone ( ex:T ) .",
    "list-cycle": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:in ex:list . "
    "ex:list rdf:first ex:x ; rdf:rest ex:list .",
}


@pytest.mark.parametrize("turtle", RECURSIVE.values(), ids=RECURSIVE.keys())
def test_recursive_shapes_are_left_to_pyshacl(turtle: str) -> None:
    text = PROBE_PREFIXES + "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> ."
    shapes = Graph().parse(data=text + turtle, format="turtle")
    data = Graph().parse(data=PROBE_DATA, format="turtle")
    with pytest.raises(screen.UnsupportedShapes):
        screen.suspects(data, shapes=shapes)


def test_a_malformed_offset_is_a_violation_not_a_crash(test_built: BuiltCorpus) -> None:
    """``oa:end`` typed xsd:decimal: SUBSTR in the quote check gets a decimal (a TypeError in
    rdflib); validation reports the datatype violation and the quote it cannot check."""
    broken = _changed(
        test_built,
        "DELETE { ?sel oa:end ?e } INSERT { ?sel oa:end ?d } WHERE { "
        "claim:pfs-hr ckg:hasQuote/oa:hasSelector ?sel . ?sel oa:end ?e "
        'BIND (STRDT(CONCAT(STR(?e), ".0"), xsd:decimal) AS ?d) }',
    )
    for use_screen in (True, False):
        result = validate_graph(broken, screen=use_screen)
        assert not result.conforms
        shapes = {v.shape for v in result.violations}
        assert shapes == {"TextPositionSelectorShape-end", "QuoteShape-matchesSource"}
        assert {v.claim_id for v in result.violations} == {"pfs-hr"}
        [unchecked] = [v for v in result.violations if v.shape == "QuoteShape-matchesSource"]
        assert "could not be checked" in unchecked.message


def test_a_constraint_left_to_pyshacl_that_fails_on_the_data_is_reported() -> None:
    """pySHACL raises when rdflib fails inside a SPARQL constraint it runs (SUBSTR given a
    decimal): validation still ends, not conforming, naming the constraint."""
    select = (
        "SELECT $this WHERE { FILTER NOT EXISTS { $this ex:q ?q } "
        '$this ex:end ?e . BIND (SUBSTR("abcdef", 1, ?e) AS ?x) }'
    )
    shapes = _sparql_shape(select)
    data = Graph().parse(data=PROBE_PREFIXES + "ex:x a ex:C ; ex:end 2.0 .", format="turtle")
    whole = kg.validate._whole_graph(shapes)
    assert whole == {}  # $this is read before it is bound: pySHACL runs it
    with pytest.raises(TypeError):
        validate(data, shacl_graph=shapes, advanced=True, inference="none")
    conforms, report = kg.validate._exact(data, shapes, data, whole)
    assert not conforms
    [result] = report.objects(kg.validate._report_node(report), SH.result)
    assert report.value(result, SH.sourceConstraint) == EX["S-check"]
    assert "could not be checked" in str(report.value(result, SH.resultMessage))
