"""The Python namespace module and ontology/claimkg.ttl declare the same terms."""

from __future__ import annotations

from inspect import get_annotations

import pytest
import rdflib.namespace as rdflib_namespaces
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, DefinedNamespaceMeta, Namespace

from kg.namespaces import CKG, DEFAULT_BASE, OA, KeptNamespace, rebase_iri
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


_RDFLIB = ("RDF", "RDFS", "DCTERMS", "PROV", "SKOS", "XSD")
_KEPT: dict[str, DefinedNamespaceMeta] = {
    "CKG": CKG,
    **{name: getattr(rdflib_namespaces, name) for name in _RDFLIB},
}
"""XSD is not imported by name: pytest probes a test module's names, and XSD warns."""


@pytest.mark.parametrize("name", sorted(_KEPT))  # names: pytest probes parameters' attributes
def test_kept_terms_are_the_iris_rdflib_makes_read_as_attributes(name: str) -> None:
    namespace = _KEPT[name]
    declared = [term for term in get_annotations(namespace) if not term.startswith("_")]
    assert declared
    for term in declared:
        kept = namespace.__dict__[term]  # set on the class, so no metaclass lookup runs
        assert type(kept) is URIRef and kept == URIRef(str(namespace._NS) + term), term
        assert getattr(namespace, term) is kept and namespace[term] == kept


def test_a_kept_namespace_makes_each_term_once_as_rdflib_would() -> None:
    plain, kept = Namespace("https://example.org/v#"), KeptNamespace("https://example.org/v#")
    assert "thing" not in vars(kept)
    first = kept.thing
    assert first == plain.thing and type(first) is URIRef
    assert kept.thing is first and vars(kept)["thing"] is first
    assert kept["other"] == plain["other"] and kept == plain
    assert not hasattr(kept, "__wrapped__")  # special names are not terms (inspect, pytest)
    assert OA.exact == URIRef("http://www.w3.org/ns/oa#exact") and OA.exact is OA.exact


def test_rebase_moves_claimkg_iris_only() -> None:
    assert rebase_iri(DEFAULT_BASE + "vocab/Claim", "http://example.org/k/") == (
        "http://example.org/k/vocab/Claim"
    )
    assert rebase_iri("http://www.w3.org/ns/oa#exact", "http://example.org/k/") == (
        "http://www.w3.org/ns/oa#exact"
    )
