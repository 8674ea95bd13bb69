"""The Python namespace module and ontology/claimkg.ttl declare the same terms."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from kg.namespaces import CKG, DEFAULT_BASE, rebase_iri
from kg.resources import ontology_file


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ontology_file("claimkg.ttl"))


def _ontology_terms(ontology: Graph) -> set[str]:
    namespace = str(CKG._NS)
    return {
        str(s)[len(namespace) :]
        for s in ontology.subjects(RDF.type, None)
        if isinstance(s, URIRef) and str(s).startswith(namespace) and str(s) != namespace
    }


def test_python_namespace_and_ontology_declare_the_same_terms(ontology: Graph) -> None:
    in_python = set(CKG.__annotations__)
    in_ontology = _ontology_terms(ontology)
    assert in_python - in_ontology == set(), "declared in kg/namespaces.py only"
    assert in_ontology - in_python == set(), "declared in ontology/claimkg.ttl only"


def test_every_term_has_one_label_and_one_definition(ontology: Graph) -> None:
    for name in sorted(_ontology_terms(ontology)):
        term = URIRef(str(CKG._NS) + name)
        assert len(list(ontology.objects(term, RDFS.label))) == 1, f"{name}: label"
        assert len(list(ontology.objects(term, SKOS.definition))) == 1, f"{name}: definition"


def test_a_misspelt_term_raises_instead_of_minting_an_iri() -> None:
    with pytest.raises(AttributeError):
        _ = CKG.hazardRatio  # the term is CKG.HazardRatio


def test_rebase_moves_claimkg_iris_only() -> None:
    assert rebase_iri(DEFAULT_BASE + "vocab/Claim", "http://example.org/k/") == (
        "http://example.org/k/vocab/Claim"
    )
    assert rebase_iri("http://www.w3.org/ns/oa#exact", "http://example.org/k/") == (
        "http://www.w3.org/ns/oa#exact"
    )
