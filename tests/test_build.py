"""Stage 2 and 4: the built graph, its nanopublications and its serialisations."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, XSD

from kg.build import BuiltCorpus, build_article, build_corpus
from kg.load import Corpus
from kg.namespaces import CKG, NP, OA, QUDT, claim_iri
from kg.serialize import OUTPUT_FILES, write_outputs
from kg.validate import ValidationResult, validate_graph

from .conftest import ARTICLE_ID


def test_the_built_article_conforms(validation: ValidationResult) -> None:
    assert validation.conforms, validation.text()


def test_every_claim_is_in_the_graph_with_quote_offsets_speaker_and_section(
    corpus: Corpus, built: BuiltCorpus
) -> None:
    graph = built.graph
    article = corpus.articles[0]
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
    assert len(nanopubs) == len(corpus.articles[0].claims)
    for nanopub in nanopubs:
        for part in (NP.hasAssertion, NP.hasProvenance, NP.hasPublicationInfo):
            [graph_name] = {o for _, _, o, _ in dataset.quads((nanopub, part, None, None))}
            assert isinstance(graph_name, URIRef)
            assert len(dataset.graph(graph_name)) > 0, f"{nanopub} {part} is empty"


def test_nanopublications_written_as_nquads_are_the_built_quads(corpus: Corpus) -> None:
    built = build_article(corpus.articles[0])
    text = built.nquads()
    assert text.splitlines() == sorted(text.splitlines())
    parsed = Dataset()
    parsed.parse(data=text, format="nquads")
    assert set(parsed.quads()) == set(built.nanopubs.quads()) and len(built.quads) > 1000
    assert {q[3] for q in built.quads} >= {
        URIRef(f"{str(claim_iri(ARTICLE_ID, c.id)).replace('/claim/', '/np/')}/{part}")
        for c in corpus.articles[0].claims
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
