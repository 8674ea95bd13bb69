"""Graph analytics: citation support, provenance, the biomedical graph, paths, GraphML."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from rdflib import Graph

from kg.analysis import (
    biomedical_graph,
    citation_support_graph,
    entity_path,
    provenance_graph,
    support_ranking,
    unsupported_claims,
    write_graphml,
)
from kg.build import BuiltCorpus
from kg.cli import EXIT_OK, EXIT_UNUSABLE, main
from kg.load import Corpus
from kg.namespaces import CITO, ENTITY_GRAPH, article_graph_iri

INTERVIEW = "lerociclib-leonarda1-interview"


@pytest.fixture(scope="module")
def interview(built: BuiltCorpus) -> Graph:
    """The interview's own graph with the shared entities: these tests state its answers."""
    graph = Graph()
    for name in (article_graph_iri(INTERVIEW), ENTITY_GRAPH):
        for triple in built.graphs[name]:
            graph.add(triple)
    return graph


def test_reference_6_supports_the_most_claims(interview: Graph) -> None:
    ranking = support_ranking(citation_support_graph(interview))
    top_label, top_count = ranking[0]
    assert top_label.startswith("[6] Preclinical development of G1T38")
    assert top_count == 22 and top_count > ranking[1][1]
    citations = list(interview.subject_objects(CITO.citesAsEvidence))
    assert sum(count for _, count in ranking) == len(citations)


def test_unsupported_claims_are_the_ones_citing_nothing(corpus: Corpus, interview: Graph) -> None:
    unsupported = set(unsupported_claims(citation_support_graph(interview)))
    [article] = [a for a in corpus.articles if a.id == INTERVIEW]
    expected = {c.id for c in article.claims if not c.cites}
    assert unsupported == expected
    assert "s02-ic50-cdk9-cyclin-t" in unsupported and "s02-ic50-cdk4-cyclin-d1" not in unsupported


def test_provenance_runs_claim_quote_section_article(interview: Graph) -> None:
    view = provenance_graph(interview)
    claim = next(n for n, d in view.nodes(data=True) if d["label"] == "s03-pfs-bicr-hr")
    reachable = {view.nodes[n]["kind"] for n in nx.descendants(view, claim)}
    assert reachable == {"quote", "section", "article", "speaker"}


def test_path_from_lerociclib_to_neutropenia_names_its_claims(interview: Graph) -> None:
    steps = entity_path(biomedical_graph(interview), "lerociclib", "neutropenia")
    assert [str(s) for s in steps] == [
        "lerociclib ←hasPart— LEONARDA-1 lerociclib plus fulvestrant arm",
        "LEONARDA-1 lerociclib plus fulvestrant arm —endpoint→ neutropenia",
    ]
    assert "s03-safety-grade-3-4-neutropenia-lerociclib" in steps[1].claims


def test_an_unknown_entity_is_refused(built: BuiltCorpus) -> None:
    with pytest.raises(KeyError, match="no entity 'aspirin'"):
        entity_path(biomedical_graph(built.graph), "lerociclib", "aspirin")
    assert main(["graph", "--path", "lerociclib", "aspirin"]) == EXIT_UNUSABLE


def test_graphml_round_trips(built: BuiltCorpus, tmp_path: Path) -> None:
    views = [citation_support_graph(built.graph), biomedical_graph(built.graph)]
    written = write_graphml(views, tmp_path)
    assert [p.name for p in written] == ["citation-support.graphml", "biomedical.graphml"]
    again = nx.read_graphml(written[1])
    assert again.number_of_edges() == views[1].number_of_edges()


def test_kg_graph_reports(
    built: BuiltCorpus, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        main(["graph", "--path", "lerociclib", "neutropenia", "--graphml", str(tmp_path)])
        == EXIT_OK
    )
    out = capsys.readouterr().out
    assert "References by the number of claims they support:" in out
    assert "claims cite nothing in their own sentence" in out
    # Which shortest path is printed depends on the corpus (ties): its length does not.
    steps = entity_path(biomedical_graph(built.graph), "lerociclib", "neutropenia")
    printed = out.split("Path from lerociclib to neutropenia:\n")[1].splitlines()[: len(steps)]
    assert [line.startswith("  ") for line in printed] == [True] * len(steps)
    assert "neutropenia   claims: " in printed[-1] and "(entity structure)" not in printed[-1]
    assert len(list(tmp_path.glob("*.graphml"))) == 3
