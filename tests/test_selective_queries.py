"""The selective questions of the library (issue 15, item 4): one trial's hazard ratios and
one entity's claims, answered on the bundled interview (rows filtered to that article) and
checked against the claims its graph holds; each is tagged ``selective``, which
``benchmarks/bench_queries.py`` holds to 50 ms at 100k claims."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import URIRef

from kg.build import BuiltCorpus
from kg.namespaces import CKG, article_graph_iri, entity_iri
from kg.queries import find_query, list_queries, run_on_store

from .conftest import ARTICLE_ID

SELECTIVE = ("claim-provenance", "claims-about-external-id", "trial-hazard-ratios",
             "claims-about-entity")  # fmt: skip


@pytest.fixture(scope="module")
def store(built: BuiltCorpus) -> ox.Store:
    store = ox.Store()
    for name, graph in built.graphs.items():
        data = graph.serialize(format="nt11", encoding="utf-8")
        store.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(name)))
    return store


def _rows(store: ox.Store, name: str, **given: str) -> list[dict[str, str]]:
    answer = run_on_store(store, find_query(name), given)
    assert answer is not None
    rows = [dict(zip(answer.vars, row, strict=True)) for row in answer]
    return [r for r in rows if r["article"] == ARTICLE_ID]


def test_the_selective_questions_are_tagged_so() -> None:
    tagged = {q.name for q in list_queries() if "selective" in q.tags}
    assert tagged == set(SELECTIVE)


def test_one_trials_hazard_ratios(store: ox.Store) -> None:
    rows = _rows(store, "trial-hazard-ratios", trial="LEONARDA-1")
    by_claim = {r["claim"]: (r["hr"], r["assessor"], r["endpoint"]) for r in rows}
    assert by_claim == {
        "s03-pfs-bicr-hr": ("0.353", "Blinded Independent Central Review",
                            "progression-free survival"),
        "s03-pfs-investigator-hr": ("0.451", "investigator assessment",
                                    "progression-free survival"),
    }  # fmt: skip
    assert all(r["exact"] for r in rows)
    assert _rows(store, "trial-hazard-ratios", trial="no such trial") == []


def test_one_entitys_claims_are_those_of_its_graph(store: ox.Store, built: BuiltCorpus) -> None:
    rows = _rows(store, "claims-about-entity", entity="lerociclib")
    found = {r["claim"] for r in rows}
    assert len(found) == len(rows)  # each claim once
    graph = built.graphs[article_graph_iri(ARTICLE_ID)]
    entities = built.graphs[next(n for n in built.graphs if "entities" in str(n))]
    drug = entity_iri("lerociclib")
    things = {drug, *entities.subjects(CKG.hasPart, drug)}
    properties = [CKG.about, CKG.target, CKG.endpoint, CKG.trial, CKG.arm,
                  URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#subject"),
                  URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#object")]  # fmt: skip
    expected = {
        str(graph.value(claim, CKG.claimId))
        for prop in properties
        for thing in things
        for claim in graph.subjects(prop, thing)
        if graph.value(claim, CKG.claimId) is not None
    }
    assert found == expected
    assert {"s02-ic50-cdk4-cyclin-d1", "s03-pfs-bicr-hr"} <= found


def test_a_parameter_is_a_value_whatever_it_holds(store: ox.Store) -> None:
    for value in ('x" } ?s ?p ?o { "', "back\\slash\\", "two\nlines\r", "'''\"\"\"#"):
        assert _rows(store, "claim-provenance", claim=value) == []
        assert _rows(store, "trial-hazard-ratios", trial=value) == []
