"""A corpus of articles: one named graph each, incremental rebuilds, per-article validation
that finds what one whole-graph run finds, the same answers on both engines and on a real
SPARQL server that ``kg push`` loaded."""

from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.build import BuiltCorpus
from kg.cli import EXIT_INVALID, EXIT_OK, main
from kg.namespaces import CKG, ENTITY_GRAPH, ID, article_graph_iri, entity_iri
from kg.pipeline import STORE, build
from kg.queries import NamedQuery, format_result, list_queries, run_query
from kg.store import as_rdflib, open_store
from kg.validate import Violation, validate_graph

from .conftest import BUNDLED_CORPUS, TEST_CORPUS
from .servers import oxigraph_server
from .test_shapes import INVALID, _broken

ARTICLES = ("mini-trial-followup", "mini-trial-note")


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))


def _claims_by_graph(build_dir: Path) -> dict[str, set[str]]:
    dataset = as_rdflib(open_store(build_dir / STORE, read_only=True))
    rows = dataset.query(
        "SELECT ?g ?id WHERE { GRAPH ?g { ?c a ckg:Claim ; ckg:claimId ?id } }",
        initNs={"ckg": CKG._NS},
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(str(row[0]), set()).add(str(row[1]))  # type: ignore[index]
    return found


def test_each_article_builds_into_its_own_named_graph(corpus_copy: Path, tmp_path: Path) -> None:
    outcome = build(corpus_copy, tmp_path / "b")
    by_graph = _claims_by_graph(tmp_path / "b")
    assert set(by_graph) == {str(article_graph_iri(a)) for a in ARTICLES}
    assert by_graph[str(article_graph_iri("mini-trial-followup"))] == {
        "question-follow-up",
        "pfs-median-drug-a-follow-up",
        "drug-a-inhibits-kinase-1",
    }
    assert "pfs-hr" in by_graph[str(article_graph_iri("mini-trial-note"))]
    names = {g.name for g in outcome.graph_files()}
    assert str(ENTITY_GRAPH) in names and len(names) == 4  # + the external evidence
    nquads = (tmp_path / "b" / "claimkg.nq").read_text(encoding="utf-8")
    assert f"<{article_graph_iri('mini-trial-followup')}> .\n" in nquads
    parsed = list(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    stored = open_store(tmp_path / "b" / STORE, read_only=True)
    assert len(parsed) == len(set(parsed)) == len(stored)
    assert {q.graph_name.value for q in parsed} == names


def test_the_same_trial_drug_and_doi_are_one_node_across_articles(
    corpus_copy: Path, tmp_path: Path
) -> None:
    build(corpus_copy, tmp_path / "b")
    dataset = as_rdflib(open_store(tmp_path / "b" / STORE, read_only=True))
    shared_work = """
        SELECT DISTINCT ?work ?a1 ?a2 WHERE {
          GRAPH ?g1 { ?r1 ckg:citedWork ?work ; dcterms:isPartOf|^cito:cites ?a1 }
          GRAPH ?g2 { ?r2 ckg:citedWork ?work ; dcterms:isPartOf|^cito:cites ?a2 }
          FILTER (?g1 != ?g2 && STR(?a1) < STR(?a2))
        }"""
    rows = list(dataset.query(shared_work, initNs={"ckg": CKG._NS, "dcterms": URIRef(
        "http://purl.org/dc/terms/"), "cito": URIRef("http://purl.org/spar/cito/")}))  # fmt: skip
    assert [str(r[0]) for r in rows] == ["https://doi.org/10.1234/test.1"]  # type: ignore[index]
    trial = entity_iri("test-1").n3()
    graphs = dataset.query(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?c ckg:trial {trial} }} }}",
                           initNs={"ckg": CKG._NS})  # fmt: skip
    in_graphs = {str(r[0]) for r in graphs}  # type: ignore[index]
    assert {str(article_graph_iri(a)) for a in ARTICLES} <= in_graphs  # and the evidence


def test_an_unchanged_corpus_is_neither_rebuilt_nor_rewritten(
    corpus_copy: Path, tmp_path: Path
) -> None:
    first = build(corpus_copy, tmp_path / "b")
    assert sorted(first.rebuilt) == ["_shared", *ARTICLES]
    second = build(corpus_copy, tmp_path / "b")
    assert second.rebuilt == [] and second.written == []


def test_changing_one_article_rebuilds_it_alone_and_updates_the_store(
    corpus_copy: Path, tmp_path: Path
) -> None:
    build(corpus_copy, tmp_path / "b")
    claims = corpus_copy / "mini-trial-followup" / "claims" / "follow-up.yaml"
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.split("- id: drug-a-inhibits-kinase-1")[0], encoding="utf-8")
    outcome = build(corpus_copy, tmp_path / "b")
    assert outcome.rebuilt == ["mini-trial-followup"]
    by_graph = _claims_by_graph(tmp_path / "b")
    assert "drug-a-inhibits-kinase-1" not in by_graph[str(article_graph_iri("mini-trial-followup"))]
    assert "pfs-hr" in by_graph[str(article_graph_iri("mini-trial-note"))]


def test_removing_an_article_drops_its_graph(corpus_copy: Path, tmp_path: Path) -> None:
    build(corpus_copy, tmp_path / "b")
    shutil.rmtree(corpus_copy / "mini-trial-followup")
    assert build(corpus_copy, tmp_path / "b").rebuilt == []
    assert set(_claims_by_graph(tmp_path / "b")) == {str(article_graph_iri("mini-trial-note"))}
    assert "mini-trial-followup" not in (tmp_path / "b" / "claimkg.nq").read_text("utf-8")


def test_changing_the_entities_rebuilds_every_article(corpus_copy: Path, tmp_path: Path) -> None:
    build(corpus_copy, tmp_path / "b")
    entities = corpus_copy / "entities" / "test-entities.yaml"
    entities.write_text(entities.read_text("utf-8") + "\n", encoding="utf-8")
    assert sorted(build(corpus_copy, tmp_path / "b").rebuilt) == ["_shared", *ARTICLES]


def test_a_broken_article_changes_no_output_and_keeps_the_store(
    corpus_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b"
    assert main(["build", "--corpus", str(corpus_copy), "--out", str(out), "-q"]) == EXIT_OK
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    claims = corpus_copy / "mini-trial-followup" / "claims" / "follow-up.yaml"
    claims.write_text(claims.read_text("utf-8").replace('value: "11.2"', 'value: "11.3"'), "utf-8")
    assert main(["build", "--corpus", str(corpus_copy), "--out", str(out), "-q"]) == EXIT_INVALID
    assert "follow-up.yaml" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert (
        "pfs-median-drug-a-follow-up"
        in _claims_by_graph(out)[str(article_graph_iri("mini-trial-followup"))]
    )


# ---------------------------------------------------------------- validation per article


def _unit_of(subject: URIRef, owners: dict[URIRef, URIRef]) -> URIRef:
    """The named graph a (possibly new) subject belongs to: its owner, else by its IRI."""
    if subject in owners:
        return owners[subject]
    for article in ARTICLES:
        if str(subject).startswith((str(ID[f"claim/{article}/"]), str(ID[f"article/{article}"]))):
            return article_graph_iri(article)
    return ENTITY_GRAPH


def _key(violation: Violation) -> tuple[str | None, str, str, str | None]:
    return violation.claim_id, violation.shape, violation.focus, violation.value


@pytest.mark.parametrize("fixture", sorted(INVALID.glob("*.ru")), ids=lambda p: p.stem)
def test_per_article_validation_finds_what_the_whole_graph_run_finds(
    test_built: BuiltCorpus, fixture: Path
) -> None:
    broken = _broken(test_built, fixture)
    owners = {s: name for name, g in test_built.graphs.items() for s in g.subjects()}
    units: dict[URIRef, Graph] = {}
    for triple in broken:
        units.setdefault(_unit_of(triple[0], owners), Graph()).add(triple)  # type: ignore[arg-type]
    shared = Graph()
    for name, part in units.items():
        if not str(name).startswith(str(ID["graph/article/"])):
            for triple in part:
                shared.add(triple)
    per_unit = set(map(_key, validate_graph(shared).violations))
    for name, part in units.items():
        if str(name).startswith(str(ID["graph/article/"])):
            per_unit |= set(map(_key, validate_graph(part, context=shared).violations))
    whole = set(map(_key, validate_graph(broken).violations))
    assert whole and per_unit == whole


# ---------------------------------------------------------------- engines and servers


def _normal(text: str) -> list[tuple[str, ...]]:
    """Rows as a sorted multiset; numbers compared as numbers (Oxigraph stores 0.50 as 0.5,
    and divides to 18 decimal places), "|"-joined cells as sets."""

    def cell(value: str) -> str:
        if "|" in value:
            return "|".join(sorted(cell(v) for v in value.split("|")))
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return format(round(number, 12).normalize(), "f")

    rows = list(csv.reader(io.StringIO(text)))
    return [tuple(rows[0]), *sorted(tuple(cell(c) for c in row) for row in rows[1:])]


def _answers(graph: Graph, query: NamedQuery) -> list[tuple[str, ...]]:
    return _normal(format_result(run_query(graph, query), "csv"))


@pytest.fixture(scope="module")
def bundled_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundled")
    build(BUNDLED_CORPUS, out, formats=("nt",))
    return out


def test_the_query_library_answers_the_same_on_both_engines(
    built: BuiltCorpus, bundled_build: Path
) -> None:
    raw = open_store(bundled_build / STORE, read_only=True)
    assert len({quad.triple for quad in raw}) == len(built.graph)  # a triple may be in two graphs
    store = as_rdflib(raw)
    for query in list_queries():
        assert _answers(store, query) == _answers(built.graph, query), query.name


def test_kg_query_engines_agree(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for engine in ("oxigraph", "rdflib"):
        assert (
            main(["query", "hazard-ratio-by-assessor", "--format", "csv", "--engine", engine]) == 0
        )
        outputs.append(_normal(capsys.readouterr().out))
    assert outputs[0] == outputs[1] and len(outputs[0]) > 2


def test_kg_push_loads_a_real_server_that_answers_like_the_local_store(
    tmp_path: Path, bundled_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with oxigraph_server(tmp_path, "--union-default-graph") as server:
        pushed = main(["push", "--build", str(bundled_build), "--endpoint", f"{server}/update",
                       "--graph-store", f"{server}/store", "-q"])  # fmt: skip
        assert pushed == EXIT_OK
        graphs = len(list(open_store(bundled_build / STORE, read_only=True).named_graphs()))
        assert f"pushed {graphs} graphs" in capsys.readouterr().out
        local = as_rdflib(open_store(bundled_build / STORE, read_only=True))
        for query in list_queries():
            assert main(["query", query.name, "--endpoint", f"{server}/query", "--format",
                         "csv"]) == EXIT_OK  # fmt: skip
            remote = _normal(capsys.readouterr().out)
            assert remote == _answers(local, query), query.name
        named = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        count = tmp_path / "graphs.rq"
        count.write_text(named, encoding="utf-8")
        assert main(["query", str(count), "--endpoint", f"{server}/query", "--format", "csv"]) == 0
        assert capsys.readouterr().out.split() == ["n", str(graphs)]


def test_kg_push_by_sparql_update_replaces_the_graphs(
    tmp_path: Path, bundled_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with oxigraph_server(tmp_path, "--union-default-graph") as server:
        for _ in range(2):  # pushing again replaces, never duplicates
            assert main(["push", "--build", str(bundled_build), "--endpoint", f"{server}/update",
                         "-q"]) == EXIT_OK  # fmt: skip
        claims = tmp_path / "claims.rq"
        claims.write_text(
            "SELECT (COUNT(*) AS ?n) WHERE { ?c a <https://w3id.org/claimkg/vocab/Claim> }",
            encoding="utf-8",
        )
        capsys.readouterr()
        assert main(["query", str(claims), "--endpoint", f"{server}/query", "--format", "csv"]) == 0
        local = Graph().parse(bundled_build / "claimkg.nt", format="nt")
        expected = len(set(local.subjects(RDF.type, CKG.Claim)))
        assert capsys.readouterr().out.split() == ["n", str(expected)]


def test_kg_push_reports_a_server_that_is_not_there(
    bundled_build: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["push", "--build", str(bundled_build), "--endpoint",
                 "http://127.0.0.1:9/update", "--retries", "0", "-q"])  # fmt: skip
    assert code == 2 and "push failed" in capsys.readouterr().err
