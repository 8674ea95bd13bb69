"""Stage 2 and 4: the built graph, its nanopublications and its serialisations."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import PROV, RDF, XSD

from kg.build import BuiltCorpus, build_article, build_corpus
from kg.load import Article, Corpus, load_corpus
from kg.namespaces import (
    CITO,
    CKG,
    FABIO,
    NP,
    OA,
    QUDT,
    UNIT,
    article_iri,
    claim_iri,
    entity_iri,
)
from kg.queries import find_query, format_result, run_query
from kg.serialize import OUTPUT_FILES, write_outputs
from kg.validate import ValidationResult, validate_graph

from .conftest import ARTICLE_ID, FIXTURES


def test_the_built_article_conforms(validation: ValidationResult) -> None:
    assert validation.conforms, validation.text()


def test_every_claim_is_in_the_graph_with_quote_offsets_speaker_and_section(
    corpus: Corpus, built: BuiltCorpus
) -> None:
    graph = built.graph
    for article in corpus.articles:
        _claims_are_located(graph, article)


def _claims_are_located(graph: Graph, article: Article) -> None:
    for claim in article.claims:
        node = claim_iri(article.id, claim.id)
        [target] = graph.objects(node, CKG.hasQuote)
        selectors = set(graph.objects(target, OA.hasSelector))
        exact = {graph.value(s, OA.exact) for s in selectors} - {None}
        start = {graph.value(s, OA.start) for s in selectors} - {None}
        assert exact == {Literal(claim.quote.exact)}
        assert start == {Literal(claim.quote.start, datatype=XSD.nonNegativeInteger)}
        assert graph.value(node, URIRef("http://www.w3.org/ns/prov#wasAttributedTo")) is not None
        assert graph.value(node, CKG.inSection) is not None


def test_decimals_keep_their_printed_form(built: BuiltCorpus) -> None:
    node = claim_iri(ARTICLE_ID, "s03-pfs-investigator-median-lerociclib")
    value = built.graph.value(node, QUDT.numericValue)
    assert isinstance(value, Literal)
    assert (str(value), value.datatype) == ("11.07", XSD.decimal)


def test_a_claim_citing_nothing_has_no_citation(built: BuiltCorpus) -> None:
    cites = URIRef("http://purl.org/spar/cito/citesAsEvidence")
    assert list(built.graph.objects(claim_iri(ARTICLE_ID, "s02-ic50-cdk9-cyclin-t"), cites)) == []
    cited = set(built.graph.objects(claim_iri(ARTICLE_ID, "s02-ic50-cdk4-cyclin-d1"), cites))
    assert {str(c).rsplit("/", 1)[-1] for c in cited} == {"6", "7"}


def test_one_nanopublication_per_claim(corpus: Corpus, built: BuiltCorpus) -> None:
    dataset = built.dataset
    nanopubs = {s for s, _, _, _ in dataset.quads((None, RDF.type, NP.Nanopublication, None))}
    assert len(nanopubs) == sum(len(a.claims) for a in corpus.articles)
    for nanopub in nanopubs:
        for part in (NP.hasAssertion, NP.hasProvenance, NP.hasPublicationInfo):
            [graph_name] = {o for _, _, o, _ in dataset.quads((nanopub, part, None, None))}
            assert isinstance(graph_name, URIRef)
            assert len(dataset.graph(graph_name)) > 0, f"{nanopub} {part} is empty"


def test_nanopublications_written_as_nquads_are_the_built_quads(corpus: Corpus) -> None:
    interview = next(a for a in corpus.articles if a.id == ARTICLE_ID)
    built = build_article(interview)
    text = built.nquads()
    assert text.splitlines() == sorted(text.splitlines())
    parsed = Dataset()
    parsed.parse(data=text, format="nquads")
    assert set(parsed.quads()) == set(built.nanopubs.quads()) and len(built.quads) > 1000
    assert {q[3] for q in built.quads} >= {
        URIRef(f"{str(claim_iri(ARTICLE_ID, c.id)).replace('/claim/', '/np/')}/{part}")
        for c in interview.claims
        for part in ("head", "assertion", "provenance", "pubinfo")
    }


def test_assertion_holds_what_provenance_holds_where(built: BuiltCorpus) -> None:
    nanopub = URIRef(str(claim_iri(ARTICLE_ID, "s03-pfs-bicr-hr")).replace("/claim/", "/np/"))
    assertion = built.dataset.graph(URIRef(f"{nanopub}/assertion"))
    provenance = built.dataset.graph(URIRef(f"{nanopub}/provenance"))
    claim = claim_iri(ARTICLE_ID, "s03-pfs-bicr-hr")
    assert (claim, QUDT.numericValue, None) in assertion
    assert (claim, CKG.hasQuote, None) not in assertion
    assert (claim, CKG.hasQuote, None) in provenance
    assert (claim, QUDT.numericValue, None) not in provenance


def test_the_flat_graph_is_the_union_of_the_dataset_without_nanopub_bookkeeping(
    built: BuiltCorpus,
) -> None:
    union = Graph()
    for graph in built.dataset.graphs():
        if not str(graph.identifier).endswith(("/head", "/pubinfo")):
            for triple in graph:
                union.add(triple)
    assert isomorphic(union, built.graph)


def test_builds_are_deterministic(corpus: Corpus, built: BuiltCorpus) -> None:
    again = build_corpus(corpus)
    assert set(again.graph) == set(built.graph)


def test_base_iri_moves_every_claimkg_iri(corpus: Corpus) -> None:
    base = "http://example.org/kg/"
    moved = build_corpus(corpus, base)
    iris = {str(t) for triple in moved.graph for t in triple if isinstance(t, URIRef)}
    assert not any(i.startswith("https://w3id.org/claimkg/") for i in iris)
    assert f"{base}vocab/Claim" in iris
    result = validate_graph(moved.graph, base)
    assert result.conforms, result.text()


@pytest.fixture(scope="module")
def written(
    built: BuiltCorpus, validation: ValidationResult, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("out")
    write_outputs(built, validation.report, out)
    return out


@pytest.mark.parametrize(
    ("name", "rdf_format"),
    [("claimkg.ttl", "turtle"), ("claimkg.nt", "nt"), ("claimkg.jsonld", "json-ld")],
)
def test_serialisation_parses_back_to_an_isomorphic_graph(
    built: BuiltCorpus, written: Path, name: str, rdf_format: str
) -> None:
    parsed = Graph().parse(written / name, format=rdf_format)
    assert len(parsed) == len(built.graph)
    assert isomorphic(parsed, built.graph)


def test_trig_parses_back_to_the_same_named_graphs(built: BuiltCorpus, written: Path) -> None:
    parsed = Dataset()
    parsed.parse(written / "claimkg.trig", format="trig")
    names = {g.identifier for g in built.dataset.graphs() if len(g)}
    assert {g.identifier for g in parsed.graphs() if len(g)} == names
    for name in names:
        assert isomorphic(parsed.graph(name), built.dataset.graph(name)), name


def test_all_outputs_are_written(written: Path) -> None:
    assert sorted(p.name for p in written.iterdir()) == sorted(OUTPUT_FILES)


def test_ntriples_are_sorted_for_clean_diffs(written: Path) -> None:
    lines = (written / "claimkg.nt").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines)


# ---------------------------------------------------------------- forms and the new vocabulary


def _value(graph: Graph, article: str, claim: str, predicate: URIRef) -> object:
    return graph.value(claim_iri(article, claim), predicate)


def test_an_article_says_its_form_and_names_only_the_interviewees_it_has(
    built: BuiltCorpus, test_built: BuiltCorpus
) -> None:
    interview = article_iri(ARTICLE_ID)
    assert (interview, CKG.articleForm, CKG.Interview) in built.graph
    assert (interview, CKG.interviewee, None) in built.graph
    forms = build_corpus(load_corpus(FIXTURES / "forms")).graph
    news = article_iri("news-item")
    assert (news, CKG.articleForm, CKG.NewsItem) in forms
    assert (news, RDF.type, FABIO.NewsItem) in forms
    assert (news, CKG.interviewee, None) not in forms
    assert (article_iri("press-release"), CITO.cites, None) not in forms


def test_a_speaker_span_is_the_claims_prov_speaker(test_built: BuiltCorpus) -> None:
    said = _value(test_built.graph, "mini-trial-note", "drug-b-new-option", PROV.wasAttributedTo)
    assert said == entity_iri("dr-example")
    desk = _value(
        test_built.graph, "mini-trial-note", "dr-example-affiliation", PROV.wasAttributedTo
    )
    assert desk == entity_iri("test-editor")


def test_a_p_value_is_the_number_and_keeps_its_printed_form(test_built: BuiltCorpus) -> None:
    graph = test_built.graph
    value = _value(graph, "mini-trial-note", "os-p", QUDT.numericValue)
    assert value == Literal("0.003", datatype=XSD.decimal)
    assert _value(graph, "mini-trial-note", "os-p", CKG.valueAsPrinted) == Literal(".003")
    bound = _value(graph, "mini-trial-note", "os-p-one-sided", CKG.lessThan)
    assert bound == Literal("0.001", datatype=XSD.decimal)
    assert _value(graph, "mini-trial-note", "os-p-one-sided", CKG.sidedness) == CKG.OneSided
    # a value printed in full has no second form
    assert _value(graph, "mini-trial-note", "os-hr", CKG.valueAsPrinted) is None


def test_not_reached_is_a_flag_not_a_number(test_built: BuiltCorpus) -> None:
    graph, node = test_built.graph, claim_iri("mini-trial-note", "os-median-drug-b")
    assert (node, QUDT.numericValue, None) not in graph
    assert (node, CKG.notReached, Literal(True)) in graph
    assert (node, CKG.ciUpperNotReached, Literal(True)) in graph
    assert (node, CKG.ciUpper, None) not in graph
    assert graph.value(node, CKG.ciLower) == Literal("20.1", datatype=XSD.decimal)
    assert graph.value(node, CKG.dataCutoff) == Literal("2023-11-15", datatype=XSD.date)
    assert graph.value(node, CKG.analysisStage) == CKG.InterimAnalysis


def test_a_dose_is_its_parts(test_built: BuiltCorpus) -> None:
    graph = test_built.graph
    b, c = claim_iri("mini-trial-note", "drug-b-dose"), claim_iri("mini-trial-note", "drug-c-dose")
    assert (b, RDF.type, CKG.Dosing) in graph and graph.value(b, CKG.drug) == entity_iri("drug-b")
    assert (graph.value(b, CKG.doseAmount), graph.value(b, CKG.doseUnit)) == (
        Literal("200", datatype=XSD.decimal),
        UNIT["MilliGM"],
    )
    assert (graph.value(b, CKG.doseFrequency), graph.value(b, CKG.doseSchedule)) == (
        CKG.TwiceDaily,
        CKG.ContinuousSchedule,
    )
    assert graph.value(b, CKG.doseRoute) == CKG.Oral
    assert graph.value(c, CKG.doseSchedule) == CKG.IntermittentSchedule
    assert (graph.value(c, CKG.onPeriodValue), graph.value(c, CKG.onPeriodUnit)) == (
        Literal("21", datatype=XSD.decimal),
        UNIT["DAY"],
    )
    assert graph.value(c, CKG.offPeriodValue) == Literal("7", datatype=XSD.decimal)
    assert (c, CKG.doseRoute, None) not in graph  # the text gives no route for drug C


def test_grades_attribution_counts_ratio_facts_and_roles(test_built: BuiltCorpus) -> None:
    graph = test_built.graph

    def of(claim: str, predicate: URIRef) -> object:
        return _value(graph, "mini-trial-note", claim, predicate)

    assert of("trae-grade-3-or-higher", CKG.gradeAtLeast) == Literal(3, datatype=XSD.integer)
    assert (claim_iri("mini-trial-note", "trae-grade-3-or-higher"), CKG.grade, None) not in graph
    assert of("trae-grade-3-or-higher", CKG.aeAttribution) == CKG.TreatmentRelated
    assert of("teae-grade-3-or-higher", CKG.aeAttribution) == CKG.TreatmentEmergent
    assert of("nausea-any-grade", CKG.anyGrade) == Literal(True)
    assert (of("nausea-any-grade", CKG.numerator), of("nausea-any-grade", CKG.denominator)) == (
        Literal(30, datatype=XSD.integer),
        Literal(200, datatype=XSD.integer),
    )
    ratio = (
        of("test2-allocation-ratio", CKG.ratioAntecedent),
        of("test2-allocation-ratio", CKG.ratioConsequent),
    )
    assert ratio == (Literal("2", datatype=XSD.decimal), Literal("1", datatype=XSD.decimal))
    assert of("os-hr-age-65-or-older", CKG.analysis) == CKG.PostHocSubgroupAnalysis
    assert of("os-hr-age-65-or-older", CKG.subgroup) == entity_iri("test-2-age-65-plus")
    assert of("os-hr", CKG.assessor) is None  # not stated, so absent
    assert of("test2-phase", CKG.trialPhase) == Literal(3, datatype=XSD.integer)
    assert of("test2-registry", CKG.registryIdentifier) == Literal("NCT00000000")
    assert of("dr-example-lead-investigator", CKG.roleTitle) == Literal("lead investigator")
    assert of("dr-example-lead-investigator", CKG.roleIn) == entity_iri("test-2")
    assert of("dr-example-affiliation", CKG.roleHolder) == entity_iri("dr-example")
    assert of("dr-example-affiliation", CKG.roleTitle) is None


def _rows(graph: Graph, name: str) -> list[dict[str, str]]:
    text = format_result(run_query(graph, find_query(name)), "csv")
    return [r for r in csv.DictReader(io.StringIO(text)) if r["article"] == "mini-trial-note"]


def test_the_vocabularys_queries_answer_on_its_examples(test_built: BuiltCorpus) -> None:
    graph = test_built.graph
    printed = {
        r["claim"]: (r["relation"], r["printed"], r["sidedness"]) for r in _rows(graph, "p-values")
    }
    assert printed["os-p"] == ("=", ".003", "not stated")
    assert printed["os-p-one-sided"] == ("<", ".001", "OneSided")
    assert printed["pfs-p"] == ("<", "0.001", "not stated")
    unassessed = {r["claim"] for r in _rows(graph, "assessor-not-stated")}
    assert unassessed == {"os-hr", "os-hr-age-65-or-older"}  # pfs-hr names its assessor
    medians = {
        r["claim"]: (r["median"], r["ciLower"], r["ciUpper"])
        for r in _rows(graph, "medians-with-ci")
    }
    assert medians["os-median-drug-b"] == ("not reached", "20.1", "not reached")
    grades = {
        r["claim"]: (r["grades"], r["attribution"]) for r in _rows(graph, "adverse-events-by-grade")
    }
    assert grades["trae-grade-3-or-higher"] == ("≥ 3", "TreatmentRelated")
    assert grades["teae-grade-3-or-higher"] == ("≥ 3", "TreatmentEmergent")
    assert grades["nausea-any-grade"] == ("any", "not stated")
    assert set(grades["neutropenia-grade-3-4"][0].split("|")) == {"3", "4"}
    subgroups = {r["claim"]: r["analysis"] for r in _rows(graph, "subgroup-analyses")}
    assert subgroups["os-hr-age-65-or-older"] == "PostHocSubgroupAnalysis"
    design = {(r["fact"], r["detail"]) for r in _rows(graph, "trial-design")}
    assert {
        ("phase", "3"),
        ("registry identifier", "NCT00000000"),
        ("allocation ratio", "2:1"),
    } <= design
    assert ("patients in arm", "TEST-2 drug B arm: 200") in design
    assert ("dose", "drug B 200 MilliGM, TwiceDaily, ContinuousSchedule, Oral") in design
    assert (
        "dose",
        "drug C 100 MilliGM, OnceDaily, IntermittentSchedule, on 21 DAY, off 7 DAY",
    ) in design
    people = {(r["person"], r["role"], r["roleIn"]) for r in _rows(graph, "people-and-roles")}
    assert people == {
        ("Dr Example", "lead investigator", "TEST-2"),
        ("Dr Example", "", "Example Institute"),
    }
