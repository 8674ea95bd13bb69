"""The query library: every query parses, states its question, and answers as expected,
whatever other articles the corpus holds.

tests/expected/NAME.csv holds each query's answer on the bundled corpus (default
parameters), reviewed against the article text: the rows that name the bundled interview
(columns ``article`` and ``otherArticle``) and the rows that name no article (external
figures). tests/expected/with-fixtures/NAME.csv holds the answer on the bundled corpus plus
the fixture articles of tests/fixtures/corpus-extra (rows naming those articles or the
interview): the questions that span articles. Two queries about the shared entities have
their answer computed from the corpus's entities and mappings instead of pinned.

Rows are compared as a multiset (SPARQL leaves ties in ORDER BY and the order inside
GROUP_CONCAT open); numbers as numbers (the store keeps 0.50 as 0.5); cells joined with "|"
as sets. Orders that matter are asserted separately below. The answers are Oxigraph's (the
default engine); test_pipeline checks that rdflib's engine gives the same.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import cast

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import SKOS
from rdflib.plugins.sparql import prepareQuery
from rdflib.query import ResultRow

from kg.build import BuiltCorpus
from kg.cli import EXIT_OK, EXIT_UNUSABLE, main
from kg.links import link_triples
from kg.load import Corpus
from kg.namespaces import entity_iri
from kg.pipeline import build
from kg.queries import NamedQuery, QueryError, find_query, format_result, list_queries, run_query
from kg.store import as_rdflib

from .conftest import ARTICLE_ID, BUNDLED_CORPUS, EXTRA_ARTICLES, TESTS, the_interview

EXPECTED = TESTS / "expected"
WITH_FIXTURES = EXPECTED / "with-fixtures"
QUERIES = list_queries()
ARTICLE_COLUMNS = ("article", "otherArticle")
FIXTURE_ARTICLES = frozenset(p.parent.name for p in EXTRA_ARTICLES.glob("*/article.yaml"))

Rows = list[tuple[str, ...]]


def _cell(value: str) -> str:
    if "|" in value:
        return "|".join(sorted(_cell(v) for v in value.split("|")))
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return format(round(number, 12).normalize(), "f")


def _table(text: str, articles: Iterable[str] | None = None) -> tuple[tuple[str, ...], Rows]:
    """Header and normalised rows; with ``articles``, only rows whose article columns name
    one of them (or no article: an external figure)."""
    rows = list(csv.reader(io.StringIO(text)))
    header = tuple(rows[0])
    keep = None if articles is None else set(articles)
    at = [i for i, name in enumerate(header) if name in ARTICLE_COLUMNS]
    body = [
        tuple(_cell(c) for c in row)
        for row in rows[1:]
        if keep is None or all(row[i] in keep or row[i] == "" for i in at)
    ]
    return header, sorted(body)


def _answer_text(graph: Graph, query: NamedQuery, **params: str) -> str:
    return format_result(run_query(graph, query, params), "csv")


def _answer(graph: Graph, name: str, **params: str) -> list[dict[str, str]]:
    text = _answer_text(graph, find_query(name), **params)
    return list(csv.DictReader(io.StringIO(text)))


def _of(rows: list[dict[str, str]], article: str = ARTICLE_ID) -> list[dict[str, str]]:
    return [r for r in rows if r.get("article") == article]


def _ours(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of the interview and the fixture articles (the bundled corpus grows)."""
    ours = FIXTURE_ARTICLES | {ARTICLE_ID}
    return [r for r in rows if all(r.get(c, "") in ours | {""} for c in ARTICLE_COLUMNS)]


# ---------------------------------------------------------------- answers computed from the corpus


def _entities_with_links(corpus: Corpus) -> Rows:
    names = {str(SKOS.exactMatch): "exactMatch", str(SKOS.closeMatch): "closeMatch"}
    labels = {str(entity_iri(e.id)): e.label for e in corpus.entities.values()}
    return sorted(
        (labels[str(s)], names[str(p)], str(o))
        for s, p, o in set(link_triples(corpus.mappings))
        if str(s) in labels
    )


def _entities_without_links(corpus: Corpus) -> Rows:
    linked = {str(s) for s, _, _ in link_triples(corpus.mappings)}
    about = Counter(e for claim in the_interview(corpus).claims for e in claim.about)
    rows = []
    for entity_id, claims in about.items():
        entity = corpus.entities[entity_id]
        if str(entity_iri(entity_id)) not in linked:
            kind = str(entity.type).rsplit("/", 1)[-1]
            rows.append((ARTICLE_ID, entity.label, kind, str(claims)))
    return sorted(rows)


COMPUTED: dict[str, Callable[[Corpus], Rows]] = {
    "entities-with-links": _entities_with_links,
    "entities-without-links": _entities_without_links,
}


# ---------------------------------------------------------------- the library


def test_the_library_has_at_least_25_questions() -> None:
    assert len(QUERIES) >= 25
    for query in QUERIES:
        assert query.summary.endswith(("?", ".", ")")), query.name
        first = query.text.splitlines()[0]
        assert first.startswith("#+ summary:"), (
            f"{query.name}: the file must open with its question"
        )


def test_every_query_parses_on_both_engines() -> None:
    for query in QUERIES:
        prepareQuery(query.text)  # rdflib's parser
        ox.Store().query(query.bound_text())  # Oxigraph's (an empty store: nothing runs)


def test_every_query_has_an_expected_answer() -> None:
    pinned = {p.stem for p in EXPECTED.glob("*.csv")} | {
        p.stem for p in WITH_FIXTURES.glob("*.csv")
    }
    assert {q.name for q in QUERIES} == pinned | set(COMPUTED)
    assert not pinned & set(COMPUTED)
    assert {p.stem for p in WITH_FIXTURES.glob("*.csv")} <= {q.name for q in QUERIES}


def test_every_query_returning_claims_names_their_article() -> None:
    for query in QUERIES:
        variables = prepareQuery(query.text).algebra["PV"]
        names = {str(v) for v in variables}
        if names & {"claim", "otherClaim", "exact", "quote"}:
            assert "article" in names, f"{query.name} returns claims but not their article"
        if "otherClaim" in names:
            assert "otherArticle" in names, query.name
            assert "spans articles" in query.text, f"{query.name}: say that it spans articles"


CLAIM_IRI = "https://w3id.org/claimkg/id/claim/"


def _columns_naming_claims(answer: str, claim_ids: set[str]) -> list[str]:
    """The columns of a CSV answer that hold a claim: its IRI or its id."""
    rows = list(csv.reader(io.StringIO(answer)))
    return [
        name
        for i, name in enumerate(rows[0])
        if any(
            row[i] in claim_ids or row[i].startswith(CLAIM_IRI) for row in rows[1:] if i < len(row)
        )
    ]


def test_a_column_of_claim_ids_or_iris_is_found() -> None:
    answer = f"label,which,n\nneutropenia,s03-orr-lerociclib,1\nx,{CLAIM_IRI}a/b,2\n"
    assert _columns_naming_claims(answer, {"s03-orr-lerociclib"}) == ["which"]
    assert _columns_naming_claims("label,n\nneutropenia,1\n", {"s03-orr-lerociclib"}) == []


def test_every_query_whose_answer_holds_claims_names_their_article(bundled_store: Graph) -> None:
    """By what the answers hold, whatever the columns are called: a query whose rows carry
    a claim (its id or IRI) has an article column (``entities-with-links`` returns entities,
    and its header says so)."""
    claim_ids = {
        str(cast(ResultRow, row)[0])
        for row in bundled_store.query(
            "PREFIX ckg: <https://w3id.org/claimkg/vocab/> "
            "SELECT DISTINCT ?id WHERE { GRAPH ?g { ?c a ckg:Claim ; ckg:claimId ?id } }"
        )
    }
    assert claim_ids
    naming = 0
    for query in QUERIES:
        answer = _answer_text(bundled_store, query)
        header = next(csv.reader(io.StringIO(answer)))
        columns = _columns_naming_claims(answer, claim_ids)
        if columns:
            naming += 1
            assert "article" in header, f"{query.name}: {columns} name claims, no article"
        if "otherClaim" in header:
            assert "otherArticle" in header, query.name
    assert naming >= 10  # the detector finds the claims of the library's claim queries


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_query_answers_as_expected(
    corpus: Corpus, bundled_store: Graph, extended_store: Graph, query: NamedQuery
) -> None:
    if query.name in COMPUTED:
        _, rows = _table(_answer_text(bundled_store, query), {ARTICLE_ID})
        assert rows == COMPUTED[query.name](corpus) and rows
        return
    answered = False
    expected = EXPECTED / f"{query.name}.csv"
    if expected.exists():
        header, rows = _table(_answer_text(bundled_store, query), {ARTICLE_ID})
        assert (header, rows) == _table(expected.read_text(encoding="utf-8"))
        answered = bool(rows)
    with_fixtures = WITH_FIXTURES / f"{query.name}.csv"
    if with_fixtures.exists():
        articles = FIXTURE_ARTICLES | {ARTICLE_ID}
        header, rows = _table(_answer_text(extended_store, query), articles)
        assert (header, rows) == _table(with_fixtures.read_text(encoding="utf-8"))
        answered = answered or bool(rows)
    assert answered, f"{query.name} answers nothing on the bundled corpus or its fixtures"


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_more_articles_leave_the_interviews_rows_unchanged(
    bundled_store: Graph, extended_store: Graph, query: NamedQuery
) -> None:
    """Five more articles in the corpus, three about the same trial: every query still gives
    the interview's rows (and the external figures' rows) as on the interview alone."""
    alone = _table(_answer_text(bundled_store, query), {ARTICLE_ID})
    among_others = _table(_answer_text(extended_store, query), {ARTICLE_ID})
    assert among_others == alone


@pytest.fixture(scope="module")
def union_and_nanopubs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Graph, Graph]:
    """The bundled corpus's union files alone, and with the nanopublications loaded into the
    same store (the same triples then sit in two graphs)."""
    out = tmp_path_factory.mktemp("files")
    build(BUNDLED_CORPUS, out, formats=("nq", "trig"))
    union = ox.Store()
    union.load(path=str(out / "claimkg.nq"), format=ox.RdfFormat.N_QUADS)
    both = ox.Store()
    both.load(path=str(out / "claimkg.nq"), format=ox.RdfFormat.N_QUADS)
    both.load(path=str(out / "claimkg.trig"), format=ox.RdfFormat.TRIG)
    assert len(both) > len(union)
    return as_rdflib(union), as_rdflib(both)


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_the_nanopublications_in_the_same_store_change_no_answer(
    union_and_nanopubs: tuple[Graph, Graph], query: NamedQuery
) -> None:
    union, both = union_and_nanopubs
    assert _table(_answer_text(both, query)) == _table(_answer_text(union, query))


def test_the_union_default_graph_would_have_duplicated_rows(
    union_and_nanopubs: tuple[Graph, Graph],
) -> None:
    """Why the queries match claims inside GRAPH: the same pattern on the default graph (the
    union of all graphs) finds each claim's triples twice once the nanopublications are in."""
    union, both = union_and_nanopubs
    flat = (
        "SELECT ?c WHERE { ?c a <https://w3id.org/claimkg/vocab/Claim> ;"
        " <http://purl.org/dc/terms/source> ?a }"
    )
    assert len(list(both.query(flat))) == 4 * len(list(union.query(flat)))


# ---------------------------------------------------------------- particular answers


def test_ic50_ranks_the_targets(bundled_store: Graph) -> None:
    rows = _of(_answer(bundled_store, "ic50-by-target"))
    assert [(r["target"], r["ic50"]) for r in rows] == [
        ("CDK4/cyclin D1", "1"),
        ("CDK6/cyclin D3", "2"),
        ("CDK9/cyclin T", "28"),
    ]
    assert set(rows[0]["cites"].split("|")) == {"6", "7"} and rows[2]["cites"] == ""


def test_fold_selectivity_is_computed_from_the_ic50s(extended_store: Graph) -> None:
    rows = _of(_answer(extended_store, "ic50-fold-selectivity"))
    assert {(r["moreSensitive"], r["lessSensitive"], Decimal(r["fold"])) for r in rows} == {
        ("CDK4/cyclin D1", "CDK6/cyclin D3", Decimal(2)),
        ("CDK6/cyclin D3", "CDK9/cyclin T", Decimal(14)),
        ("CDK4/cyclin D1", "CDK9/cyclin T", Decimal(28)),
    }


def test_hazard_ratio_by_assessor_pairs_each_with_its_own_p_value(extended_store: Graph) -> None:
    rows = _answer(extended_store, "hazard-ratio-by-assessor")
    interview = _of(rows)
    assert [(r["assessor"], r["hr"], r["pLessThan"], r["riskReduction"]) for r in interview] == [
        ("Blinded Independent Central Review", "0.353", "0.0001", "65"),
        ("investigator assessment", "0.451", "0.0001", "55"),
    ]
    # the news note prints exact p-values: each beside its own hazard ratio, never beside the
    # interview's, and the interview's bound never beside the news note's ratios
    news = {r["hr"]: (r["pValue"], r["pLessThan"]) for r in _of(rows, "leonarda1-fixture-news")}
    assert news == {"0.353": ("0.000002", ""), "0.451": ("0.000016", "")}


def test_arms_are_paired_within_one_article(extended_store: Graph) -> None:
    rows = _ours(_answer(extended_store, "arms-side-by-side"))
    medians = [r for r in rows if r["endpoint"] == "progression-free survival"]
    # the news note repeats the interview's medians: one row per article, none across them
    assert sorted(r["article"] for r in medians) == [
        "leonarda1-fixture-news",
        ARTICLE_ID,
    ]
    assert {(r["lerociclib"], r["placebo"]) for r in medians} == {("11.07", "5.49")}


def test_the_pfs_hazard_ratio_per_article_keeps_each_ci_and_p_value(extended_store: Graph) -> None:
    rows = _ours(_answer(extended_store, "pfs-hazard-ratio-per-article"))
    found = {
        (
            r["article"],
            r["assessor"],
            r["hr"],
            r["ciLower"],
            r["ciUpper"],
            r["pValue"],
            r["pLessThan"],
        )
        for r in rows
        if r["trial"] == "LEONARDA-1"
    }
    assert found == {
        (ARTICLE_ID, "Blinded Independent Central Review", "0.353", "", "", "", "0.0001"),
        (ARTICLE_ID, "investigator assessment", "0.451", "", "", "", "0.0001"),
        ("leonarda1-fixture-news", "Blinded Independent Central Review", "0.353", "0.228",
         "0.547", "0.000002", ""),
        ("leonarda1-fixture-news", "investigator assessment", "0.451", "0.311", "0.656",
         "0.000016", ""),
    }  # fmt: skip


def test_subgroups_are_compared_only_with_the_same_subgroup(extended_store: Graph) -> None:
    pairs = _ours(_answer(extended_store, "same-figure-across-articles"))
    subgroup_pairs = {
        (r["claim"], r["otherClaim"]) for r in pairs if "subgroup" in r["claim"] + r["otherClaim"]
    }
    assert subgroup_pairs == {
        ("pfs-hr-subgroup-liver-metastases", "pfs-hr-subgroup-liver-metastases")
    }


def test_no_pair_crosses_an_unstated_or_different_context(extended_store: Graph) -> None:
    pairs = {
        (r["article"], r["claim"], r["otherArticle"], r["otherClaim"])
        for r in _ours(_answer(extended_store, "same-figure-across-articles"))
    }
    claims = {c for a, x, b, y in pairs for c in ((a, x), (b, y))}
    # the brief's median PFS names no assessor: it is paired with no assessed median
    assert ("leonarda1-fixture-brief", "pfs-median-lerociclib") not in claims
    # a BICR p-value is never paired with an investigator-assessed one
    assert (
        "leonarda1-fixture-news",
        "pfs-bicr-p",
        ARTICLE_ID,
        "s03-pfs-investigator-p",
    ) not in pairs
    # a longer follow-up (no analysis stated) is not the primary analysis
    assert not any(a == "mini-trial-followup" or b == "mini-trial-followup" for a, _, b, _ in pairs)


def test_parameters_are_bound_not_formatted(bundled_store: Graph) -> None:
    cited_by_9 = {r["claim"] for r in _of(_answer(bundled_store, "claims-citing", ref="9"))}
    assert cited_by_9 == {
        "s02-plasma-not-detectable-48h",
        "s02-tumor-concentration-48h",
        "s02-tumor-to-plasma-concentration-ratio-24h",
    }
    above_40 = _of(_answer(bundled_store, "baseline-above-threshold", minimum="40"))
    assert [r["characteristic"] for r in above_40] == ["liver metastases"]
    # a value that would break a query built by string formatting is just a value here
    assert _answer(bundled_store, "claim-provenance", claim='x" } ?s ?p ?o { "') == []


def test_the_external_id_query_starts_from_a_trial_registry_id(bundled_store: Graph) -> None:
    nct = "http://bio2rdf.org/clinicaltrials:NCT05054751"  # the link's IRI (decision 0015)
    rows = _of(_answer(bundled_store, "claims-about-external-id", external=nct))
    assert {"s03-pfs-investigator-hr", "s03-enrolment-count"} <= {r["claim"] for r in rows}


def test_cross_trial_is_relative_to_the_given_article(extended_store: Graph) -> None:
    rows = _answer(extended_store, "compare-pfs-hr")
    assert {r["trial"] for r in rows if r["crossTrial"] == "false"} == {"LEONARDA-1"}
    test_note = _answer(extended_store, "compare-pfs-hr", article="mini-trial-note")
    assert "LEONARDA-1" in {r["trial"] for r in test_note if r["crossTrial"] == "true"}


_TRIALS_OF_ARTICLE = """
PREFIX ckg: <https://w3id.org/claimkg/vocab/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?label WHERE {
  GRAPH ?g { ?c dcterms:source ?a ; ckg:trial ?t } GRAPH ?h { ?t rdfs:label ?label }
  FILTER (STRAFTER(STR(?a), "/id/article/") = ?article)
}"""


@pytest.mark.parametrize(
    "name",
    [
        "compare-pfs-hr",
        "compare-pfs-median",
        "compare-neutropenia-g34",
        "compare-discontinuation-ae",
    ],
)
@pytest.mark.parametrize("article", [ARTICLE_ID, "mini-trial-note"])
def test_cross_trial_is_false_exactly_for_the_articles_trials(
    extended_store: Graph, name: str, article: str
) -> None:
    """The four comparisons join the given article's trials (rewritten from a NOT EXISTS per
    row, issue 15): a row is not cross-trial exactly when a claim of the article names its
    trial; each row still names its drug (the arm, less the endocrine partner)."""
    rows = _answer(extended_store, name, article=article)
    asked = _TRIALS_OF_ARTICLE.replace("?article", f'"{article}"')  # an id: no quote in it
    own = {str(r[0]) for r in cast(Iterable[ResultRow], extended_store.query(asked))}
    assert rows and all(r["drug"] and r["drug"] not in ("fulvestrant", "letrozole") for r in rows)
    for row in rows:
        assert row["crossTrial"] == ("false" if row["trial"] in own else "true"), row


def test_the_comparisons_keep_each_figures_assessor(extended_store: Graph) -> None:
    rows = _answer(extended_store, "compare-pfs-median")
    assert any(r["assessor"] for r in rows) and any(not r["assessor"] for r in rows)


# ---------------------------------------------------------------- kg query


def test_kg_query_prints_each_format(capsys: pytest.CaptureFixture[str]) -> None:
    for output, marker in (
        ("table", "assessor"),
        ("csv", "article,assessor,"),
        ("tsv", "article\tassessor\t"),
        ("json", '"bindings"'),
    ):
        assert main(["query", "hazard-ratio-by-assessor", "--format", output]) == EXIT_OK
        out = capsys.readouterr().out
        assert marker in out and ARTICLE_ID in out


def test_kg_query_list_shows_every_question(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--list"]) == EXIT_OK
    out = capsys.readouterr().out
    for query in QUERIES:
        assert query.name in out and query.summary in out


def test_kg_query_runs_a_users_file_on_given_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data.ttl"
    data.write_text("<http://example.org/a> <http://example.org/b> 42 .\n", encoding="utf-8")
    query = tmp_path / "mine.rq"
    query.write_text("# What is b?\nSELECT ?o WHERE { ?s <http://example.org/b> ?o }\n", "utf-8")
    assert main(["query", str(query), "--data", str(data), "--format", "csv"]) == EXIT_OK
    assert capsys.readouterr().out.splitlines() == ["o", "42"]


def test_a_library_query_runs_on_a_flat_file_given_as_data(
    built: BuiltCorpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "claimkg.nt"
    built.graph.serialize(data, format="nt11", encoding="utf-8")
    for engine in ("oxigraph", "rdflib"):
        argv = ["query", "hazard-ratio-by-assessor", "--data", str(data), "--format", "csv"]
        assert main([*argv, "--engine", engine]) == EXIT_OK
        assert len(_of(list(csv.DictReader(io.StringIO(capsys.readouterr().out))))) == 2


def test_a_syntax_error_exits_2_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "broken.rq"
    query.write_text("# broken\nSELECT ?x WHERE {\n  ?x ?y\n}\n", encoding="utf-8")
    assert main(["query", str(query)]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert f"{query}:3:3: SPARQL syntax error" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "claims-citing", "--param", "reference=10"], "unknown parameter 'reference'"),
        (["query", "claims-citing", "--param", "ref=ten"], "must be a whole number"),
        (["query", "value-provenance", "--param", "value=0.3.5"], "must be a decimal number"),
        (["query", "no-such-question"], "no query named 'no-such-question'"),
        (["query", "claims-citing", "--param", "ref"], "NAME=VALUE"),
    ],
)
def test_bad_query_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_UNUSABLE
    assert message in capsys.readouterr().err


def test_a_header_with_a_bad_parameter_type_is_refused(tmp_path: Path) -> None:
    query = tmp_path / "typed.rq"
    query.write_text("#+ params:\n#+   - {name: x, type: float, default: 1}\nASK {}\n", "utf-8")
    with pytest.raises(QueryError, match="parameter type"):
        find_query(str(query))
