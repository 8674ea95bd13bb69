"""The query library: every query parses, states its question, and answers as expected.

tests/expected/NAME.csv holds each query's answer on the bundled article (default
parameters), reviewed against the article text. Rows are compared as a multiset (SPARQL
leaves ties in ORDER BY and the order inside GROUP_CONCAT open); cells joined with "|"
are compared as sets. Orders that matter are asserted separately below.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph

from kg.build import BuiltCorpus
from kg.cli import EXIT_OK, EXIT_UNUSABLE, main
from kg.queries import NamedQuery, QueryError, find_query, format_result, list_queries, run_query

from .conftest import TESTS

EXPECTED = TESTS / "expected"
QUERIES = list_queries()


def _rows(text: str) -> list[tuple[str, ...]]:
    rows = list(csv.reader(io.StringIO(text)))
    normal = [
        tuple("|".join(sorted(c.split("|"))) if "|" in c else c for c in row) for row in rows[1:]
    ]
    return [tuple(rows[0]), *sorted(normal)]


def _answer(graph: Graph, name: str, **params: str) -> list[dict[str, str]]:
    text = format_result(run_query(graph, find_query(name), params), "csv")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_library_has_at_least_25_questions() -> None:
    assert len(QUERIES) >= 25
    for query in QUERIES:
        assert query.summary.endswith(("?", ".")), query.name
        first = query.text.splitlines()[0]
        assert first.startswith("#+ summary:"), (
            f"{query.name}: the file must open with its question"
        )


def test_every_query_has_an_expected_answer() -> None:
    assert {q.name for q in QUERIES} == {p.stem for p in EXPECTED.glob("*.csv")}


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_query_answers_as_expected(built: BuiltCorpus, query: NamedQuery) -> None:
    answer = format_result(run_query(built.graph, query), "csv")
    expected = (EXPECTED / f"{query.name}.csv").read_text(encoding="utf-8")
    assert _rows(answer) == _rows(expected)
    assert len(_rows(expected)) > 1, f"{query.name} answers nothing on the bundled article"


def test_ic50_ranks_the_targets(built: BuiltCorpus) -> None:
    rows = _answer(built.graph, "ic50-by-target")
    assert [(r["target"], r["ic50"]) for r in rows] == [
        ("CDK4/cyclin D1", "1"),
        ("CDK6/cyclin D3", "2"),
        ("CDK9/cyclin T", "28"),
    ]
    assert set(rows[0]["cites"].split("|")) == {"6", "7"} and rows[2]["cites"] == ""


def test_fold_selectivity_is_computed_from_the_ic50s(built: BuiltCorpus) -> None:
    rows = _answer(built.graph, "ic50-fold-selectivity")
    assert {(r["moreSensitive"], r["lessSensitive"], Decimal(r["fold"])) for r in rows} == {
        ("CDK4/cyclin D1", "CDK6/cyclin D3", Decimal(2)),
        ("CDK6/cyclin D3", "CDK9/cyclin T", Decimal(14)),
        ("CDK4/cyclin D1", "CDK9/cyclin T", Decimal(28)),
    }


def test_hazard_ratio_by_assessor(built: BuiltCorpus) -> None:
    rows = _answer(built.graph, "hazard-ratio-by-assessor")
    assert [(r["assessor"], r["hr"], r["riskReduction"]) for r in rows] == [
        ("Blinded Independent Central Review", "0.353", "65"),
        ("investigator assessment", "0.451", "55"),
    ]


def test_parameters_are_bound_not_formatted(built: BuiltCorpus) -> None:
    cited_by_9 = {r["claim"] for r in _answer(built.graph, "claims-citing", ref="9")}
    assert cited_by_9 == {
        "s02-plasma-not-detectable-48h",
        "s02-tumor-concentration-48h",
        "s02-tumor-to-plasma-concentration-ratio-24h",
    }
    above_40 = _answer(built.graph, "baseline-above-threshold", minimum="40")
    assert [r["characteristic"] for r in above_40] == ["liver metastases"]
    # a value that would break a query built by string formatting is just a value here
    assert _answer(built.graph, "claim-provenance", claim='x" } ?s ?p ?o { "') == []


def test_the_external_id_query_starts_from_a_trial_registry_id(built: BuiltCorpus) -> None:
    nct = "http://identifiers.org/clinicaltrials/NCT05054751"
    claims = {r["claim"] for r in _answer(built.graph, "claims-about-external-id", external=nct)}
    assert {"s03-pfs-investigator-hr", "s03-enrolment-count"} <= claims


def test_kg_query_prints_each_format(capsys: pytest.CaptureFixture[str]) -> None:
    for output, marker in (
        ("table", "(2 rows)"),
        ("csv", "assessor,"),
        ("tsv", "assessor\t"),
        ("json", '"bindings"'),
    ):
        assert main(["query", "hazard-ratio-by-assessor", "--format", output]) == EXIT_OK
        assert marker in capsys.readouterr().out


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
