"""Grounding from curated resources (kg links --suggest): candidates, cross-checks, gaps."""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kg.cli import EXIT_INVALID, EXIT_OK, main
from kg.grounding import (
    BIOMAPPINGS,
    DRUG_DICTIONARY,
    Biomappings,
    Resource,
    candidates,
    cross_check,
    gap_namespaces,
    installed_version,
    load_resources,
    missing_gaps,
    read_gaps,
)
from kg.links import Link, MappingSet, read_mappings
from kg.load import Corpus, Entity, load_corpus
from kg.namespaces import CKG
from kg.resources import ontology_file

from .conftest import BUNDLED_CORPUS


@pytest.fixture(scope="module")
def resources(corpus: Corpus) -> list[Resource]:
    found, missing = load_resources(corpus.mappings)
    assert not missing, missing  # the test extras install both
    return found


def _entity(entity_id: str, label: str, kind: object = CKG.Drug, *synonyms: str) -> Entity:
    some = next(iter(load_corpus(BUNDLED_CORPUS).entities.values()))
    return Entity(entity_id, kind, label, tuple(synonyms), (), some.located)  # type: ignore[arg-type]


def test_every_drug_identifier_has_a_second_source_or_says_single_source(
    corpus: Corpus,
) -> None:
    drugs = {f"claimkg:{e.id}" for e in corpus.entities.values() if e.type == CKG.Drug}
    pairs = {k: v for k, v in corpus.mappings.pairs().items() if k[0] in drugs}
    assert pairs
    for (subject, _, obj), rows in pairs.items():
        sources = {row.source for row in rows}
        assert len(sources) >= 2 or all("single source" in row.comment for row in rows), (
            f"{subject} {obj}: one source and not marked single-sourced (line {rows[0].line})"
        )


def test_rows_from_a_resource_are_what_the_installed_resource_says(
    corpus: Corpus, resources: list[Resource]
) -> None:
    versions = {r.name: r.version for r in resources}
    found = candidates(corpus.entities.values(), _without_resource_rows(corpus.mappings), resources)
    proposed = {(c.subject_id, c.object_id, c.resource) for c in found}
    checked = 0
    for link in corpus.mappings.links:
        resource = link.object_source.removeprefix("pypi:")
        if versions.get(resource) == link.object_source_version:
            assert (link.subject_id, link.object_id, resource) in proposed, link.line
            checked += 1
    assert checked  # the bundled file has rows from both resources


def _without_resource_rows(mappings: MappingSet) -> MappingSet:
    manual = tuple(link for link in mappings.links if not link.object_source)
    return MappingSet(mappings.path, mappings.metadata, mappings.curie_map, manual)


def test_no_link_contradicts_a_second_source(corpus: Corpus, resources: list[Resource]) -> None:
    found = candidates(corpus.entities.values(), corpus.mappings, resources)
    assert cross_check(corpus.mappings, found) == []


def test_a_wrong_identifier_is_caught_by_the_second_source(
    corpus: Corpus, resources: list[Resource], tmp_path: Path
) -> None:
    text = ontology_file("mappings.sssom.tsv").read_text(encoding="utf-8")
    assert "\tDRUGBANK:DB09073\t" in text
    wrong = tmp_path / "mappings.sssom.tsv"
    wrong.write_text(text.replace("\tDRUGBANK:DB09073\t", "\tDRUGBANK:DB09074\t"), "utf-8")
    mappings = read_mappings(wrong)
    found = candidates(corpus.entities.values(), mappings, resources)
    [contradiction] = cross_check(mappings, found)
    assert contradiction.subject_id == "claimkg:palbociclib"
    assert set(contradiction.sources) == {"DRUGBANK:DB09073", "DRUGBANK:DB09074"}
    assert f"{DRUG_DICTIONARY} " in " ".join(contradiction.sources["DRUGBANK:DB09073"])
    assert main(["links", "--suggest", "--mappings", str(wrong)]) == EXIT_INVALID


def test_the_drug_dictionarys_mesh_ids_are_not_proposed(resources: list[Resource]) -> None:
    [dictionary] = [r for r in resources if r.name == DRUG_DICTIONARY]
    found = dictionary.by_name("fulvestrant")
    assert found and all(curie.startswith("DRUGBANK:") for curie, *_ in found)


def test_a_new_drug_gets_candidates_from_both_resources(
    corpus: Corpus, resources: list[Resource]
) -> None:
    # letrozole is an entity of the external evidence: pretend it is new, with no links
    bare = MappingSet(corpus.mappings.path, {}, corpus.mappings.curie_map, ())
    letrozole = corpus.entities["letrozole"]
    found = candidates([letrozole], bare, resources)
    by_resource = {c.resource for c in found}
    assert by_resource == {DRUG_DICTIONARY, BIOMAPPINGS}
    for candidate in found:
        row = candidate.row()
        assert row["object_source"] == f"pypi:{candidate.resource}"
        assert row["object_source_version"] == installed_version(candidate.resource)
        assert row["mapping_justification"] in ("semapv:LexicalMatching", "semapv:MappingChaining")
        assert 0 < float(row["confidence"]) <= 1
        assert row["comment"].startswith(f"seen in {candidate.resource} ")
    prefixes = {c.object_id.partition(":")[0] for c in found}
    assert {"DRUGBANK", "CHEBI", "MESH"} <= prefixes


def test_a_brand_name_is_a_synonym_match_with_lower_confidence(
    corpus: Corpus, resources: list[Resource]
) -> None:
    bare = MappingSet(corpus.mappings.path, {}, corpus.mappings.curie_map, ())
    by_name = candidates([_entity("x", "palbociclib")], bare, resources)
    by_brand = candidates([_entity("x", "Ibrance")], bare, resources)
    [name] = [c for c in by_name if c.object_id.startswith("DRUGBANK:")]
    [brand] = [c for c in by_brand if c.object_id.startswith("DRUGBANK:")]
    assert name.object_id == brand.object_id
    assert brand.confidence < name.confidence


def test_a_protein_gets_gene_records_as_close_matches(
    corpus: Corpus, resources: list[Resource]
) -> None:
    bare = MappingSet(corpus.mappings.path, {}, corpus.mappings.curie_map, ())
    found = candidates([_entity("x", "CDK6", CKG.Protein)], bare, resources)
    genes = [c for c in found if c.object_id.startswith("HGNC:")]
    assert genes and all(c.predicate_id == "skos:closeMatch" for c in genes)


def _biomappings(tmp_path: Path, positive: list[str], negative: list[str]) -> Biomappings:
    head = "subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\n"
    (tmp_path / "positive.sssom.tsv").write_text(head + "\n".join(positive) + "\n", "utf-8")
    neg = "subject_id\tsubject_label\tpredicate_id\tpredicate_modifier\tobject_id\tobject_label\n"
    (tmp_path / "negative.sssom.tsv").write_text(neg + "\n".join(negative) + "\n", "utf-8")
    return Biomappings("test", tmp_path, {"chebi": "CHEBI", "mesh": "MESH"})


def test_chains_go_through_curated_rows_and_refuted_pairs_are_dropped(
    corpus: Corpus, tmp_path: Path
) -> None:
    resource = _biomappings(
        tmp_path,
        ["chebi:1\tfooamine\tskos:exactMatch\tmesh:D000001\tFooamine",
         "mesh:D000002\tBar\tskos:exactMatch\tchebi:1\tfooamine"],
        ["mesh:D000002\tBar\tskos:exactMatch\tNot\tchebi:9\tother"],
    )  # fmt: skip
    bare = MappingSet(corpus.mappings.path, {}, corpus.mappings.curie_map, ())
    found = {c.object_id: c for c in candidates([_entity("x", "Fooamine")], bare, [resource])}
    assert found["CHEBI:1"].justification == "semapv:LexicalMatching"
    assert found["MESH:D000001"].justification == "semapv:LexicalMatching"
    assert found["MESH:D000002"].justification == "semapv:MappingChaining"
    accepted = read_mappings(ontology_file("mappings.sssom.tsv"))
    refuting = [link for link in accepted.links if link.object_id.startswith("CHEBI:")][:1]
    assert refuting
    mine = MappingSet(bare.path, {}, bare.curie_map, (_relink(refuting[0], "CHEBI:9"),))
    again = {c.object_id for c in candidates([_entity("x", "Fooamine")], mine, [resource])}
    assert "MESH:D000002" not in again  # its curators said MESH:D000002 is not CHEBI:9


def _relink(link: Link, obj: str) -> Link:
    return replace(link, subject_id="claimkg:x", object_id=obj)


def test_every_main_identifier_is_linked_or_its_gap_says_why(corpus: Corpus) -> None:
    gaps = read_gaps(ontology_file("mapping-gaps.tsv"))
    assert missing_gaps(corpus.entities.values(), corpus.mappings, gaps) == []
    assert all(row["reason"].strip() for row in gaps)
    assert main(["links", "--gaps"]) == EXIT_OK


def test_kg_links_suggest_and_accept_for_a_new_article_entity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    shutil.copy(ontology_file("mappings.sssom.tsv"), corpus / "mappings.sssom.tsv")
    shutil.copy(ontology_file("mapping-gaps.tsv"), corpus / "mapping-gaps.tsv")
    (corpus / "entities" / "new-article.yaml").write_text(
        "- id: tamoxifen\n  type: Drug\n  label: tamoxifen\n  synonyms: [Nolvadex]\n", "utf-8"
    )
    args = ["links", "--corpus", str(corpus), "--entity", "tamoxifen"]
    assert main([*args, "--gaps"]) == EXIT_INVALID  # its DrugBank, ChEBI, MeSH are unaccounted
    capsys.readouterr()
    assert main([*args, "--suggest"]) == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out), delimiter="\t"))
    assert rows and {r["subject_id"] for r in rows} == {"claimkg:tamoxifen"}
    assert any(r["object_id"].startswith("DRUGBANK:") for r in rows)
    assert main([*args, "--suggest", "--accept"]) == EXIT_OK
    capsys.readouterr()
    accepted = load_corpus(corpus).mappings.by_subject()["claimkg:tamoxifen"]
    assert {link.object_id for link in accepted} == {r["object_id"] for r in rows}
    assert main(["links", "--corpus", str(corpus), "--check"]) == EXIT_OK
    capsys.readouterr()
    assert main([*args, "--suggest"]) == EXIT_OK  # nothing left to propose
    assert capsys.readouterr().out.count("\n") == 1  # the header only


def test_every_drug_has_drugbank_and_chebi_or_a_stated_reason(corpus: Corpus) -> None:
    gaps = read_gaps(ontology_file("mapping-gaps.tsv"))
    reasons = {
        (g["subject_id"], namespace): g["reason"].strip()
        for g in gaps
        for namespace in gap_namespaces(g["namespace"])
    }
    linked = {(link.subject_id, link.prefix) for link in corpus.mappings.links}
    drugs = [f"claimkg:{e.id}" for e in corpus.entities.values() if e.type == CKG.Drug]
    assert drugs
    unexplained = [
        (drug, namespace)
        for drug in drugs
        for namespace in ("DRUGBANK", "CHEBI")
        if (drug, namespace) not in linked
        and not (reasons.get((drug, namespace)) or reasons.get((drug, "*")))
    ]
    assert unexplained == []


def test_no_gap_row_contradicts_a_link(corpus: Corpus) -> None:
    # a gap says no identifier of the namespace is linked; a row that gives one makes it stale
    linked = {(link.subject_id, link.prefix) for link in corpus.mappings.links}
    stale = [
        (g["subject_id"], namespace)
        for g in read_gaps(ontology_file("mapping-gaps.tsv"))
        for namespace in gap_namespaces(g["namespace"])
        if (g["subject_id"], namespace) in linked
    ]
    assert stale == []
