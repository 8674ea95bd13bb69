"""External evidence: a second source, built and validated apart, corroborating or
contradicting the article's figures, compared across trials and drawn."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import RDF

from kg.build import BuiltCorpus, build_corpus
from kg.check import run_checks
from kg.cli import EXIT_OK, EXIT_UNUSABLE, main
from kg.evidence import TABLE
from kg.load import Corpus, load_corpus
from kg.namespaces import CKG, ENTITY_GRAPH, EVIDENCE_GRAPH
from kg.queries import find_query, format_result, run_query
from kg.validate import validate_graph

from .conftest import BUNDLED_CORPUS, REPO

SHARED_TABLE = REPO.parent / "shared" / "data" / "external-evidence.tsv"
ARTICLE_QUESTIONS = (
    "arms-side-by-side",
    "hazard-ratio-by-assessor",
    "ic50-by-target",
    "pfs-medians",
)


def _answer(graph: Graph, name: str) -> list[dict[str, str]]:
    return list(
        csv.DictReader(io.StringIO(format_result(run_query(graph, find_query(name)), "csv")))
    )


def test_the_table_is_the_delivered_one() -> None:
    if SHARED_TABLE.exists():
        assert (
            BUNDLED_CORPUS / "external-evidence" / TABLE
        ).read_bytes() == SHARED_TABLE.read_bytes()


def test_every_figure_is_its_rows_printed_text(corpus: Corpus) -> None:
    evidence = corpus.evidence
    assert evidence is not None and len(evidence.figures) > 100
    for figure in evidence.figures:
        assert figure.as_printed == figure.row.cells["value"], figure.id


def _part(built: BuiltCorpus, names: set[object]) -> Graph:
    graph = Graph()
    for part in built.dataset.graphs():
        if part.identifier in names:
            for triple in part:
                graph.add(triple)
    return graph


def test_evidence_and_article_validate_apart(built: BuiltCorpus) -> None:
    evidence = _part(built, {ENTITY_GRAPH, EVIDENCE_GRAPH})
    assert evidence.value(predicate=RDF.type, object=CKG.ExternalFigure) is not None
    assert not list(evidence.subjects(RDF.type, CKG.Claim))
    assert validate_graph(evidence).conforms
    article = _part(
        built, {g.identifier for g in built.dataset.graphs() if g.identifier != EVIDENCE_GRAPH}
    )
    assert not list(article.subjects(RDF.type, CKG.ExternalFigure))
    assert validate_graph(article).conforms


def test_nothing_leaks_into_the_articles_answers(built: BuiltCorpus, tmp_path: Path) -> None:
    without = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, without)
    (without / "external-evidence" / "figures.yaml").unlink()
    bare = build_corpus(load_corpus(without))
    for name in ARTICLE_QUESTIONS:
        assert sorted(map(str, _answer(built.graph, name))) == sorted(
            map(str, _answer(bare.graph, name))
        ), name


def test_a_figure_must_copy_its_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, copy)
    figures = copy / "external-evidence" / "figures.yaml"
    text = figures.read_text(encoding="utf-8")
    figures.write_text(
        text.replace('as_printed: "0.451 (95% CI', 'as_printed: "0.45 (95% CI', 1), "utf-8"
    )
    assert main(["build", "--corpus", str(copy), "--out", str(tmp_path / "o")]) == EXIT_UNUSABLE
    assert "as_printed must be the exact value cell of row 21" in capsys.readouterr().err


def _statuses(graph: Graph) -> list[dict[str, str]]:
    """The corroboration rows with kg check's status (the query gives the figures only)."""
    return run_checks(graph).corroboration


def test_corroboration_statuses(built: BuiltCorpus) -> None:
    interview = "lerociclib-leonarda1-interview"
    rows = {
        (r["claim"], r["figure"]): r for r in _statuses(built.graph) if r["article"] == interview
    }
    assert (
        rows["s03-pfs-investigator-hr", "leonarda-1-pfs-hr-investigator"]["status"]
        == "corroborated"
    )
    assert (
        # "P < 0.0001" (a bound) against the source's exact P=0.000016: compatible, not equal
        rows["s03-pfs-investigator-p", "leonarda-1-pfs-hr-investigator"]["status"] == "compatible"
    )
    discrepant = rows["s03-baseline-first-line-chemotherapy", "leonarda-1-prior-first-line-chemo"]
    assert (discrepant["stated"], discrepant["external"], discrepant["status"]) == (
        "29.2",
        "29.1",
        "discrepant",
    )
    assert rows["s03-baseline-liver-metastases", ""]["status"] == "not found in the sources at hand"


def test_the_synthetic_corpus_shows_a_discrepancy(test_built: BuiltCorpus) -> None:
    rows = {r["claim"]: r["status"] for r in _statuses(test_built.graph)}
    assert rows == {
        "pfs-median-drug-a": "corroborated",
        "pfs-median-drug-a-follow-up": "discrepant",  # the second article's longer follow-up
        # the figure names the investigators as assessor, the claim names none: not like
        "pfs-median-placebo": "not found in the sources at hand",
        "pfs-hr": "corroborated",
        # the claim is about a subgroup, the figure about the whole trial: not like with like
        "neutropenia-grade-3-4": "not found in the sources at hand",
    }


def test_kg_compare_pfs_hr_prints_caveats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "pfs-hr"]) == EXIT_OK
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert {"assessor", "population", "analysis", "dataCutoff", "tier", "crossTrial"} <= set(header)
    assert "MONARCH 2" in out and "0.553" in out and "PALOMA-3" in out
    assert 'caveat: "cross-trial comparisons are inherently challenging and subject to bias"' in out


@pytest.mark.parametrize(
    "endpoint", ["pfs-median", "neutropenia-g34", "discontinuation-ae", "ic50"]
)
def test_every_comparison_answers(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", endpoint, "--format", "csv"]) == EXIT_OK
    assert len(capsys.readouterr().out.splitlines()) > 2


def test_kg_plot_draws_three_pictures(tmp_path: Path) -> None:
    assert main(["plot", "--out", str(tmp_path)]) == EXIT_OK
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        f"{n}.{s}"
        for n in ("pfs-hazard-ratios", "ic50-by-target", "citation-support")
        for s in ("png", "svg")
    )
    for png in tmp_path.glob("*.png"):
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000, png.name
    forest = (tmp_path / "pfs-hazard-ratios.svg").read_text(encoding="utf-8")
    assert "<svg" in forest and "MONALEESA-3" in forest and "LEONARDA-1" in forest
