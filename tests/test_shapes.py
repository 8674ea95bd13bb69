"""Every named shape fails on bad data: one SPARQL Update per shape in fixtures/invalid/.

Each fixture breaks the graph built from the small synthetic corpus (which conforms) in one
way; the shape named by the file must then report a violation naming the broken claim.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from kg.build import BuiltCorpus
from kg.validate import load_ontology, load_shapes, validate_graph

from .conftest import FIXTURES

INVALID = FIXTURES / "invalid"
PREFIXES = (INVALID / "PREFIXES.rq").read_text(encoding="utf-8")
FIXTURE_FILES = sorted(INVALID.glob("*.ru"))


def _broken(test_built: BuiltCorpus, fixture: Path) -> Graph:
    graph = Graph()
    for triple in test_built.graph:
        graph.add(triple)
    before = len(graph)
    graph.update(PREFIXES + fixture.read_text(encoding="utf-8"))
    changed = len(graph) != before or fixture.stem in {"ClaimShape-rangeMinimum"}
    assert changed or graph != test_built.graph, f"{fixture.name} changed nothing"
    return graph


def _named_shapes() -> set[str]:
    """Every shape that carries its own message: the names a violation reports."""
    shapes = load_shapes()
    return {
        str(s).rsplit("/", 1)[-1]
        for s in shapes.subjects(SH.message, None)
        if isinstance(s, URIRef)  # blank nodes have no name to report
    }


def test_the_synthetic_corpus_conforms(test_built: BuiltCorpus) -> None:
    result = validate_graph(test_built.graph)
    assert result.conforms, result.text()


def test_every_named_shape_has_an_invalid_fixture() -> None:
    missing = _named_shapes() - {f.stem for f in FIXTURE_FILES}
    assert missing == set(), f"shapes without a fixture in {INVALID}: {sorted(missing)}"


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=[f.stem for f in FIXTURE_FILES])
def test_shape_reports_its_fixture(test_built: BuiltCorpus, fixture: Path) -> None:
    result = validate_graph(_broken(test_built, fixture))
    assert not result.conforms
    shapes = {v.shape for v in result.violations}
    assert fixture.stem in shapes, f"{fixture.stem} not among {sorted(shapes)}"
    mine = [v for v in result.violations if v.shape == fixture.stem]
    assert all(v.message for v in mine)


def test_violations_of_a_claim_name_the_claim_and_its_curated_line(test_built: BuiltCorpus) -> None:
    result = validate_graph(_broken(test_built, INVALID / "TextPositionSelectorShape-start.ru"))
    [violation] = [v for v in result.violations if v.shape == "TextPositionSelectorShape-start"]
    assert violation.claim_id == "pfs-hr"
    assert violation.curated_at is not None
    assert violation.curated_at.startswith("mini-trial-note/claims/results.yaml:")
    assert "pfs-hr" in str(violation)


def test_whole_graph_sparql_checks_find_what_plain_pyshacl_finds(test_built: BuiltCorpus) -> None:
    """The SPARQL constraints run once over the graph report the same (focus, constraint)
    pairs as pySHACL running them per focus node."""
    graph = _broken(test_built, INVALID / "QuoteShape-matchesSource.ru")
    graph.update(PREFIXES + (INVALID / "ClaimShape-printedNumbers.ru").read_text(encoding="utf-8"))
    data = graph + load_ontology()
    _, report, _ = validate(data, shacl_graph=load_shapes(), advanced=True, inference="none")
    assert isinstance(report, Graph)
    plain = {
        (str(report.value(r, SH.focusNode)), str(report.value(r, SH.sourceConstraint)))
        for r in report.subjects(SH.sourceConstraintComponent, SH.SPARQLConstraintComponent)
    }
    ours = {
        (str(report_focus), str(constraint))
        for report_focus, constraint in _sparql_results(validate_graph(graph).report)
    }
    assert len(plain) == 2
    assert ours == plain


def _sparql_results(report: Graph) -> list[tuple[object, object]]:
    return [
        (report.value(r, SH.focusNode), report.value(r, SH.sourceConstraint))
        for r in report.subjects(SH.sourceConstraintComponent, SH.SPARQLConstraintComponent)
    ]
