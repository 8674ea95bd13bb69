"""`kg check`: derived claims recomputed from their inputs; percentages against counts; each
article's figures against the external sources and against the other articles', like with
like and at the precision each source prints."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph

from kg.check import (
    AGREE,
    COMPATIBLE,
    CORROBORATED,
    DISCREPANT,
    NOT_FOUND,
    Printed,
    compare,
    places,
    run_checks,
)
from kg.cli import EXIT_INVALID, EXIT_OK, main

from .conftest import ARTICLE_ID

NEWS = "leonarda1-fixture-news"
BRIEF = "leonarda1-fixture-brief"


def _of(rows: list[dict[str, str]], article: str = ARTICLE_ID) -> dict[str, dict[str, str]]:
    return {r["claim"]: r for r in rows if r["article"] == article}


def test_every_derivation_of_the_interview_is_consistent(bundled_store: Graph) -> None:
    report = run_checks(bundled_store)
    assert set(_of(report.derivations)) == {
        "s03-pfs-investigator-risk-reduction",
        "s03-pfs-bicr-risk-reduction",
        "s03-pfs-investigator-more-than-double",
        "s03-orr-significantly-higher",
        "s03-cbr-significantly-higher",
        "s03-discontinuation-due-to-ae-lower-than-previous-trials",
    }
    assert report.inconsistent == []


def test_risk_reduction_is_one_minus_the_hazard_ratio(bundled_store: Graph) -> None:
    rows = _of(run_checks(bundled_store).derivations)
    assert float(rows["s03-pfs-investigator-risk-reduction"]["recomputed"]) == pytest.approx(54.9)
    assert float(rows["s03-pfs-bicr-risk-reduction"]["recomputed"]) == pytest.approx(64.7)
    assert float(rows["s03-pfs-investigator-more-than-double"]["recomputed"]) == pytest.approx(
        11.07 / 5.49
    )


def test_baseline_percentages_are_no_whole_number_of_the_275(bundled_store: Graph) -> None:
    rows = [
        r
        for r in run_checks(bundled_store).proportions
        if r["article"] == ARTICLE_ID and r["patients"] == "275"
    ]
    implausible = {r["claim"] for r in rows if r["plausible"] == "false"}
    # 40.9% of 275 is 112.5 patients: no whole count of 275 rounds to 40.9%, nor to the others
    assert implausible == {
        "s03-baseline-liver-metastases",
        "s03-baseline-primary-endocrine-resistance",
        "s03-baseline-metastases-four-or-more-organs",
        "s03-baseline-first-line-chemotherapy",
    }


def test_a_percentage_is_checked_against_counts_of_its_own_article(extended_store: Graph) -> None:
    rows = [r for r in run_checks(extended_store).proportions if r["article"] == NEWS]
    # 29.1% of 275 is 80 patients; the news note's count and the external one, not the
    # interview's
    assert {(r["claim"], r["countFrom"], r["plausible"]) for r in rows} == {
        ("baseline-first-line-chemotherapy", "article enrolment-count", "true"),
        ("baseline-first-line-chemotherapy", "external leonarda-1-randomized-total", "true"),
    }


# ---------------------------------------------------------------- printed precision


@pytest.mark.parametrize(
    ("one", "other", "verdict"),
    [
        (Printed(value=Decimal("29.2"), text="29.2%"), Printed(value=Decimal("29.1")), DISCREPANT),
        # small numbers: the tolerance keeps scaling past three decimals
        (Printed(value=Decimal("0.000016")), Printed(value=Decimal("0.000002")), DISCREPANT),
        (Printed(value=Decimal("0.000016")), Printed(value=Decimal("0.000016")), AGREE),
        (Printed(value=Decimal("55")), Printed(value=Decimal("54.9")), COMPATIBLE),
        (Printed(less_than=Decimal("0.0001")), Printed(value=Decimal("0.000016")), COMPATIBLE),
        (Printed(less_than=Decimal("0.0001")), Printed(value=Decimal("0.0002")), DISCREPANT),
        (Printed(less_than=Decimal("0.0001")), Printed(less_than=Decimal("0.0001")), AGREE),
        (Printed(less_than=Decimal("20")), Printed(greater_than=Decimal("20")), DISCREPANT),
        (Printed(at_most=Decimal("20")), Printed(at_least=Decimal("20")), COMPATIBLE),
        (Printed(none_reported=True), Printed(none_reported=True), AGREE),
        (Printed(none_reported=True), Printed(value=Decimal("2")), DISCREPANT),
        (Printed(not_reached=True), Printed(value=Decimal("25.3")), DISCREPANT),
        # the store gives 0.5 for "0.50": the digits come from the quote
        (Printed(value=Decimal("0.5"), text="HR 0.50"), Printed(value=Decimal("0.54")), DISCREPANT),
        (Printed(value=Decimal("0.5"), text="HR 0.5"), Printed(value=Decimal("0.54")), COMPATIBLE),
        (Printed(value=Decimal("0.5"), text="HR 0.50"), Printed(value=Decimal("0.5")), COMPATIBLE),
        # confidence intervals count where both print one
        (
            Printed(value=Decimal("0.451"), ci=(Decimal("0.311"), Decimal("0.656"))),
            Printed(value=Decimal("0.451")),
            AGREE,
        ),
        (
            Printed(value=Decimal("0.451"), ci=(Decimal("0.311"), Decimal("0.656"))),
            Printed(value=Decimal("0.451"), ci=(Decimal("0.31"), Decimal("0.66"))),
            COMPATIBLE,
        ),
        (
            Printed(value=Decimal("0.451"), ci=(Decimal("0.311"), Decimal("0.656"))),
            Printed(value=Decimal("0.451"), ci=(Decimal("0.211"), Decimal("0.656"))),
            DISCREPANT,
        ),
    ],
)
def test_figures_are_compared_within_the_precision_each_prints(
    one: Printed, other: Printed, verdict: str
) -> None:
    assert compare(one, other) == verdict
    assert compare(other, one) == verdict


def test_the_digits_shown_are_read_from_the_printed_text() -> None:
    assert places(Decimal("0.5"), "HR 0.50, 95% CI 0.40–0.62") == 2
    assert places(Decimal("0.003"), "P=.003") == 3
    assert places(Decimal("275"), "A total of 275 patients") == 0
    assert places(Decimal("11.07"), "no number here") == 2
    shown = Printed(
        value=Decimal("0.5"), ci=(Decimal("0.4"), Decimal("0.62")), text="HR 0.50, 95% CI 0.40–0.62"
    )
    assert str(shown) == "0.50 (CI 0.40–0.62)"


# ---------------------------------------------------------------- against the external sources


def test_the_interview_against_the_external_sources(bundled_store: Graph) -> None:
    rows = _of(run_checks(bundled_store).corroboration)
    status = {claim: row["status"] for claim, row in rows.items()}
    assert status["s03-pfs-investigator-hr"] == CORROBORATED
    assert status["s03-orr-lerociclib"] == CORROBORATED
    # printed as a bound beside the exact figure, or rounded: compatible, not corroborated
    assert status["s03-pfs-investigator-p"] == COMPATIBLE
    assert status["s03-pfs-bicr-p"] == COMPATIBLE
    assert status["s03-pfs-investigator-risk-reduction"] == COMPATIBLE
    assert status["s03-baseline-first-line-chemotherapy"] == DISCREPANT
    assert rows["s03-baseline-first-line-chemotherapy"]["external"] == "29.1"
    assert status["s03-enrolment-count"] == NOT_FOUND


def test_an_exact_p_value_is_checked_against_the_one_printed_with_its_hazard_ratio(
    extended_store: Graph,
) -> None:
    rows = [r for r in run_checks(extended_store).corroboration if r["article"] == NEWS]
    p_values = {(r["claim"], r["figure"], r["status"]) for r in rows if r["claim"].endswith("-p")}
    # 0.000016 agrees with the investigator figure and is never set against BICR's 0.000002
    assert p_values == {
        ("pfs-investigator-p", "leonarda-1-pfs-hr-investigator", CORROBORATED),
        ("pfs-bicr-p", "leonarda-1-pfs-hr-bicr", CORROBORATED),
    }


def test_a_subgroup_hazard_ratio_meets_no_other_subgroups_figure(extended_store: Graph) -> None:
    rows = run_checks(extended_store).corroboration
    subgroup_rows = [r for r in rows if "subgroup" in r["claim"]]
    assert subgroup_rows and all(r["status"] == NOT_FOUND for r in subgroup_rows)
    assert not [r for r in rows if r["status"] == DISCREPANT and r["article"] in (NEWS, BRIEF)]


# ---------------------------------------------------------------- across articles


def test_articles_reporting_the_same_figure_are_listed_with_both_quotes(
    extended_store: Graph,
) -> None:
    ours = {NEWS, BRIEF, ARTICLE_ID}
    pairs = [
        r
        for r in run_checks(extended_store).across_articles
        if {r["article"], r["otherArticle"]} <= ours
    ]
    found = {
        (r["article"], r["claim"], r["otherArticle"], r["otherClaim"]): r["verdict"] for r in pairs
    }
    assert found == {
        (NEWS, "enrolment-count", ARTICLE_ID, "s03-enrolment-count"): AGREE,
        (NEWS, "pfs-investigator-median-lerociclib", ARTICLE_ID,
         "s03-pfs-investigator-median-lerociclib"): AGREE,
        (NEWS, "pfs-investigator-median-placebo", ARTICLE_ID,
         "s03-pfs-investigator-median-placebo"): AGREE,
        (NEWS, "pfs-investigator-hr", ARTICLE_ID, "s03-pfs-investigator-hr"): AGREE,
        (NEWS, "pfs-bicr-hr", ARTICLE_ID, "s03-pfs-bicr-hr"): AGREE,
        (NEWS, "pfs-investigator-p", ARTICLE_ID, "s03-pfs-investigator-p"): COMPATIBLE,
        (NEWS, "pfs-bicr-p", ARTICLE_ID, "s03-pfs-bicr-p"): COMPATIBLE,
        (NEWS, "pfs-investigator-risk-reduction", ARTICLE_ID,
         "s03-pfs-investigator-risk-reduction"): COMPATIBLE,
        (NEWS, "baseline-first-line-chemotherapy", ARTICLE_ID,
         "s03-baseline-first-line-chemotherapy"): DISCREPANT,
        (BRIEF, "grade-3-4-neutropenia-lerociclib", ARTICLE_ID,
         "s03-safety-grade-3-4-neutropenia-lerociclib"): AGREE,
        (BRIEF, "pfs-hr-subgroup-liver-metastases", NEWS,
         "pfs-hr-subgroup-liver-metastases"): AGREE,
    }  # fmt: skip
    chemo = next(r for r in pairs if r["claim"] == "baseline-first-line-chemotherapy")
    assert (chemo["stated"], chemo["otherStated"]) == ("29.1", "29.2")
    assert chemo["quote"].startswith("29.1% of them") and chemo["otherQuote"].startswith("29.2%")


def test_kg_check_prints_the_articles_and_both_quotes(
    extended_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--corpus", str(extended_corpus), "--build", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "first-line chemotherapy" in x and "vs 29.2" in x)
    assert line.strip().startswith(f"{DISCREPANT}:")
    assert f'({NEWS} baseline-first-line-chemotherapy: "29.1% of them' in line
    assert f'({ARTICLE_ID} s03-baseline-first-line-chemotherapy: "29.2% had received' in line
    assert "All derivations are consistent." in out


def test_kg_check_passes_on_the_bundled_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == EXIT_OK
    assert "All derivations are consistent." in capsys.readouterr().out


# ---------------------------------------------------------------- a wrong derivation fails


@pytest.fixture(scope="module")
def turtle(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("build")
    assert main(["build", "--quiet", "--out", str(out)]) == EXIT_OK
    return (out / "claimkg.ttl").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("claim_iri_end", "old", "new", "claim"),
    [
        ("s03-pfs-investigator-risk-reduction>", 'qudt:numericValue "55"', 'qudt:numericValue "45"',
         "s03-pfs-investigator-risk-reduction"),
        ("s03-orr-lerociclib>", "qudt:numericValue 23.4", "qudt:numericValue 5.0",
         "s03-orr-significantly-higher"),
        ("s03-pfs-investigator-median-placebo>", "qudt:numericValue 5.49", "qudt:numericValue 6.2",
         "s03-pfs-investigator-more-than-double"),
    ],
    ids=["risk-reduction", "direction", "more-than-double"],
)  # fmt: skip
def test_a_wrong_derivation_fails(
    turtle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    claim_iri_end: str,
    old: str,
    new: str,
    claim: str,
) -> None:
    start = turtle.index(claim_iri_end + " a ckg:Claim")
    end = turtle.index(" .\n", start)
    block = turtle[start:end]
    assert old in block
    broken = tmp_path / "broken.ttl"
    broken.write_text(turtle[:start] + block.replace(old, new) + turtle[end:], encoding="utf-8")
    assert main(["check", "--data", str(broken)]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert re.search(rf"INCONSISTENT {ARTICLE_ID} {claim}:", out), out
