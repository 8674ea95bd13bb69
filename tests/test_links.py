"""Links to external identifiers (ontology/mappings.sssom.tsv), Biolink categories, KGX."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.namespace import RDF, SKOS

from kg.build import BuiltCorpus
from kg.cli import EXIT_INVALID, EXIT_OK, EXIT_UNUSABLE, main
from kg.errors import CurationError
from kg.kgx import render_kgx
from kg.links import RDF_KINDS, check_mappings, iri_forms, rdf_share, rdf_uri_prefix, read_mappings
from kg.load import Corpus, load_corpus, load_vocabulary, mapping_subjects
from kg.namespaces import BIOLINK, CKG
from kg.resources import ontology_file

from .conftest import BUNDLED_CORPUS

CLAIMS_ABOUT_AN_EXTERNAL_ID = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX ckg: <https://w3id.org/claimkg/vocab/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT DISTINCT ?id WHERE {
    ?entity skos:exactMatch ?external .
    ?thing ckg:hasPart? ?entity .
    ?claim ckg:about|ckg:target|ckg:endpoint|ckg:trial|rdf:subject|rdf:object ?thing ;
           ckg:claimId ?id .
}
"""


def _claims_reached_from(built: BuiltCorpus, external: str) -> set[str]:
    rows = built.graph.query(
        CLAIMS_ABOUT_AN_EXTERNAL_ID, initBindings={"external": URIRef(external)}
    )
    return {str(row[0]) for row in rows}  # type: ignore[index]


def test_a_query_from_uniprot_p11802_reaches_the_cdk4_claims(built: BuiltCorpus) -> None:
    claims = _claims_reached_from(built, "http://purl.uniprot.org/uniprot/P11802")
    assert "s02-ic50-cdk4-cyclin-d1" in claims  # via the complex CDK4/cyclin D1
    assert "s01-cdk4-6-inhibitors-block-cdk4" in claims


def test_a_query_from_nct05054751_reaches_the_leonarda1_claims(built: BuiltCorpus) -> None:
    claims = _claims_reached_from(built, "http://bio2rdf.org/clinicaltrials:NCT05054751")
    assert {"s03-pfs-investigator-hr", "s03-pfs-bicr-hr", "s03-enrolment-count"} <= claims


def test_the_bundled_mappings_pass_the_offline_check(corpus: Corpus) -> None:
    subjects = mapping_subjects(corpus.entities, load_vocabulary(), corpus.articles)
    assert check_mappings(corpus.mappings, subjects) == []
    assert main(["links", "--check"]) == EXIT_OK


def _mappings_copy(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "mappings.sssom.tsv"
    text = ontology_file("mappings.sssom.tsv").read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("UniProtKB:P11802", "UniProtKB:p11802", "does not match"),
        ("HP:0001875", "HP:1875", "does not match"),
        ("#   PMID:", "#   pubmedx:", "unknown prefix"),
        (
            "#   HP: http://purl.obolibrary.org/obo/HP_",
            "#   HP: https://hpo.jax.org/HP_",
            "should be",
        ),
        (  # MeSH's web page, not the IRI of MeSH's own RDF
            "#   MESH: http://id.nlm.nih.gov/mesh/",
            "#   MESH: https://meshb.nlm.nih.gov/record/ui?ui=",
            "should be http://id.nlm.nih.gov/mesh/",
        ),
        (  # HGNC publishes no RDF of its own: Bio2RDF's RDF of its records, not its web page
            '#   HGNC: "http://bio2rdf.org/hgnc:"',
            "#   HGNC: https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/",
            "should be http://bio2rdf.org/hgnc: (bio2rdf",
        ),
        (  # DrugCentral: no public RDF form chosen, identifiers.org, not its web page
            "#   DrugCentral: http://identifiers.org/drugcentral/",
            "#   DrugCentral: http://drugcentral.org/drugcard/",
            "should be http://identifiers.org/drugcentral/ (identifiers.org",
        ),
    ],
    ids=[
        "malformed-uniprot", "malformed-hp", "unknown-prefix", "non-canonical-iri",
        "web-page-iri", "bio2rdf-web-page-iri", "no-rdf-web-page-iri",
    ],
)  # fmt: skip
def test_the_check_fails_on_bad_curies(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = _mappings_copy(tmp_path, old, new)
    if "pubmedx" in new:  # the rows still say PMID:, so the reader refuses them first
        text = path.read_text(encoding="utf-8").replace("\tPMID:", "\tpubmedx:")
        path.write_text(text, encoding="utf-8")
    corpus = load_corpus(BUNDLED_CORPUS, path)
    subjects = mapping_subjects(corpus.entities, load_vocabulary(), corpus.articles)
    problems = [str(p) for p in check_mappings(corpus.mappings, subjects)]
    assert any(expected in p for p in problems), problems
    assert main(["links", "--check", "--mappings", str(path)]) == EXIT_INVALID


def test_an_unknown_subject_or_an_unverified_row_is_refused(tmp_path: Path) -> None:
    path = _mappings_copy(tmp_path, "claimkg:cdk4\t", "claimkg:cdk44\t")
    with pytest.raises(CurationError, match="unknown subject claimkg:cdk44"):
        load_corpus(BUNDLED_CORPUS, path)
    assert main(["links", "--mappings", str(path)]) == EXIT_UNUSABLE
    unverified = _mappings_copy(tmp_path, "\tverified: UniProt entry", "\tsaw it somewhere")
    with pytest.raises(CurationError, match="where it was verified"):
        read_mappings(unverified)


def test_every_gap_says_why(tmp_path: Path) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(ontology_file("mapping-gaps.tsv").read_text("utf-8")), delimiter="\t"
        )
    )
    assert rows and all(row["reason"].strip() for row in rows)


def test_every_entity_has_a_biolink_category(built: BuiltCorpus) -> None:
    graph = built.graph
    entities = set(graph.subjects(RDF.type, CKG.Entity))
    assert entities
    for entity in entities:
        [category] = graph.objects(entity, BIOLINK.category)
        assert str(category).startswith(str(BIOLINK))
    lerociclib = URIRef("https://w3id.org/claimkg/id/entity/lerociclib")
    assert graph.value(lerociclib, BIOLINK.category) == BIOLINK.SmallMolecule
    cdk4 = URIRef("https://w3id.org/claimkg/id/entity/cdk4")
    assert graph.value(cdk4, BIOLINK.category) == BIOLINK.Protein


def test_links_are_skos_with_full_canonical_iris(built: BuiltCorpus) -> None:
    cdk4 = URIRef("https://w3id.org/claimkg/id/entity/cdk4")
    assert (cdk4, SKOS.exactMatch, URIRef("http://purl.uniprot.org/uniprot/P11802")) in built.graph
    neutropenia = URIRef("https://w3id.org/claimkg/id/entity/neutropenia")
    hp = URIRef("http://purl.obolibrary.org/obo/HP_0001875")
    assert (neutropenia, SKOS.exactMatch, hp) in built.graph
    assert not list(
        built.graph.triples((None, URIRef("http://www.w3.org/2002/07/owl#sameAs"), None))
    )


def _tsv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def test_kgx_nodes_and_edges_are_consistent_and_carry_provenance(
    corpus: Corpus, built: BuiltCorpus
) -> None:
    files = render_kgx(built.graph)
    nodes, edges = _tsv(files["nodes.tsv"]), _tsv(files["edges.tsv"])
    ids = {n["id"] for n in nodes}
    assert len(ids) == len(corpus.entities)
    cdk4 = next(n for n in nodes if n["name"] == "CDK4")
    assert cdk4["id"] == "UniProtKB:P11802" and "claimkg:cdk4" in cdk4["xref"].split("|")
    assert edges
    texts = {a.id: a.text for a in corpus.articles}
    for edge in edges:
        assert edge["subject"] in ids and edge["object"] in ids, edge["id"]
        assert edge["predicate"].startswith("biolink:")
        text = texts[edge["article"].rstrip("/").rsplit("/", 1)[-1]]
        start, end = int(edge["quote_start"]), int(edge["quote_end"])
        assert text[start:end].replace("\n", " ") == edge["quote"], edge["id"]
    inhibits = [e for e in edges if e["original_predicate"] == "ckg:inhibits"]
    lerociclib = next(n["id"] for n in nodes if n["name"] == "lerociclib")
    assert any(e["subject"] == lerociclib for e in inhibits)


def test_build_writes_the_kgx_files(tmp_path: Path) -> None:
    assert main(["build", "--quiet", "--out", str(tmp_path)]) == EXIT_OK
    assert (tmp_path / "nodes.tsv").stat().st_size > 0
    assert (tmp_path / "edges.tsv").stat().st_size > 0


def test_a_corpus_may_bring_its_own_mappings(test_built: BuiltCorpus) -> None:
    reference = URIRef("https://w3id.org/claimkg/id/article/mini-trial-note/reference/1")
    doi = URIRef("https://doi.org/10.1234/test.1")
    assert (reference, SKOS.exactMatch, doi) in test_built.graph


@pytest.mark.parametrize(
    ("entity", "iri"),
    [
        ("cdk4", "http://purl.uniprot.org/uniprot/P11802"),  # UniProt's RDF
        ("cdk4", "http://purl.uniprot.org/geneid/1019"),  # NCBI Gene, as UniProt's RDF has it
        ("cdk4", "http://rdf.ebi.ac.uk/resource/ensembl/ENSG00000135446"),  # EBI's Ensembl RDF
        ("breast-cancer", "http://id.nlm.nih.gov/mesh/D001943"),  # NLM's MeSH RDF
        ("cdk4", "http://bio2rdf.org/hgnc:1773"),  # HGNC: Bio2RDF's RDF of its records
        ("leonarda-1", "http://bio2rdf.org/clinicaltrials:NCT05054751"),  # Bio2RDF's
        ("fulvestrant", "http://identifiers.org/drugbank/DB00947"),  # Biolink graphs' form
    ],
)
def test_links_use_the_iris_public_rdf_uses(built: BuiltCorpus, entity: str, iri: str) -> None:
    subject = URIRef(f"https://w3id.org/claimkg/id/entity/{entity}")
    assert URIRef(iri) in set(built.graph.objects(subject, SKOS.closeMatch)) | set(
        built.graph.objects(subject, SKOS.exactMatch)
    )


def test_no_link_uses_a_web_page_iri(built: BuiltCorpus) -> None:
    web_pages = ("genenames.org", "ncbi.nlm.nih.gov/gene", "ensembl.org/id", "meshb.nlm",
                 "bioregistry.io", "clinicaltrials.gov", "go.drugbank.com")  # fmt: skip
    links = {
        str(o) for p in (SKOS.exactMatch, SKOS.closeMatch) for o in built.graph.objects(None, p)
    }
    assert links
    assert not [iri for iri in links if any(page in iri for page in web_pages)]


def test_a_reference_links_to_uniprots_citation_iri(built: BuiltCorpus) -> None:
    reference = URIRef(
        "https://w3id.org/claimkg/id/article/lerociclib-leonarda1-interview/reference/6"
    )
    pubmed = URIRef("http://purl.uniprot.org/citations/28418845")
    assert (reference, SKOS.exactMatch, pubmed) in built.graph


def test_at_least_90_percent_of_link_iris_are_in_a_public_rdf_form(
    corpus: Corpus, capsys: pytest.CaptureFixture[str]
) -> None:
    in_rdf, total = rdf_share(corpus.mappings)
    distinct = {obj for _, _, obj in corpus.mappings.pairs()}
    assert total == len(distinct) and total > 0
    assert in_rdf / total >= 0.9, f"{in_rdf}/{total} link IRIs in a public RDF form"
    forms = iri_forms(corpus.mappings)
    assert in_rdf == sum(forms[kind] for kind in RDF_KINDS)
    assert main(["links", "--check"]) == EXIT_OK
    assert f"{total} link IRIs: {in_rdf} (" in capsys.readouterr().out


def test_a_bio2rdf_form_is_bioregistrys_bio2rdf_provider() -> None:
    import bioregistry

    for prefix in ("HGNC", "CLINICALTRIALS"):
        form = rdf_uri_prefix(prefix)
        assert form is not None and form.kind == "bio2rdf"
        resource = bioregistry.get_resource(bioregistry.normalize_prefix(prefix) or "")
        assert resource is not None and resource.get_rdf_uri_prefix() is None  # no RDF of its own
        providers = {p.code: p.uri_format for p in resource.get_extra_providers() or []}
        assert providers["bio2rdf"] == form.uri_prefix + "$1"
    # a resource with RDF of its own keeps it, and one without either a Bio2RDF form
    # chosen or any RDF keeps identifiers.org
    assert getattr(rdf_uri_prefix("CHEBI"), "kind", None) == "rdf"
    assert getattr(rdf_uri_prefix("DRUGBANK"), "kind", None) == "identifiers.org"
