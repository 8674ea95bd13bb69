"""`kg check`: derived claims recomputed from their inputs; percentages against counts; each
article's figures against the external sources and against the other articles', like with
like and at the precision each source prints."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from rdflib import Graph
from rdflib.query import ResultRow

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
    whole_count,
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
    # 29.1% of 275 is 80 patients; the news note's count of its enrolled population, not the
    # interview's, nor the external count of the randomised, which states no population
    assert {(r["claim"], r["countFrom"], r["plausible"]) for r in rows} == {
        ("baseline-first-line-chemotherapy", "article enrolment-count", "true"),
    }


# ---------------------------------------------------------------- denominators


@pytest.mark.parametrize(
    ("percent", "printed", "patients", "numerator", "whole"),
    [
        ("62.1", "62.1%", 240, None, True),  # 149 of 240
        ("62.1", "62.1%", 241, None, False),  # 149 of 241 is 61.8%, 150 of 241 is 62.2%
        ("29.2", "29.2%", 275, None, False),  # 80 of 275 is 29.1%
        ("29.2", "29.2%", 137, None, True),  # 40 of 137
        # the digits the quote prints, not the store's value: 1 of 7 is 14.3%
        ("14", "14% of 7", 7, None, True),
        ("14", "14.0% of 7", 7, None, False),
        # 1 of 8 is 12.5%: printed 13% (halves up) or 12% (halves to even), both whole
        ("13", "13%", 8, None, True),
        ("12", "12%", 8, None, True),
        ("11", "11%", 8, None, False),
        # a printed numerator: exactly it, not some k
        ("35.7", "86 of 241 patients (35.7%)", 241, 86, True),
        ("35.7", "87 of 241 patients (35.7%)", 241, 87, False),
        # only a numerator: some whole denominator (162 of 227 is 71.37%)
        ("71.4", "162 PFS events (71.4% of those projected)", None, 162, True),
        ("71.4", "5 events (71.4%)", None, 5, True),  # 5 of 7
        ("71.4", "4 events (71.4%)", None, 4, False),  # 4 of 5 is 80%, 4 of 6 is 66.7%
        ("0", "0%", None, 0, True),
        ("0", "0%", 120, None, True),
        ("100", "100%", 120, None, True),
    ],
)
def test_a_percentage_is_whole_at_the_precision_printed(
    percent: str, printed: str, patients: int | None, numerator: int | None, whole: bool
) -> None:
    assert whole_count(Decimal(percent), printed, patients, numerator) is whole


_FIXTURE = """
@prefix ckg: <https://w3id.org/claimkg/vocab/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix qudt: <http://qudt.org/schema/qudt/> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix a: <https://w3id.org/claimkg/id/article/> .
@prefix c: <https://w3id.org/claimkg/id/claim/fx/> .
@prefix e: <https://w3id.org/claimkg/id/entity/> .
@prefix x: <https://w3id.org/claimkg/id/external/figure/> .

e:randomized-patients rdfs:label "randomized patients" .
e:enrolled-patients rdfs:label "enrolled patients" .
e:neutropenia a ckg:AdverseEvent ; rdfs:label "neutropenia" .
e:events rdfs:label "PFS events" .
e:orr rdfs:label "objective response rate" .
e:liver rdfs:label "liver metastases" .

x:arm-a a ckg:ExternalFigure ; ckg:figureId "fx-arm-a" ; ckg:statistic ckg:Count ;
    ckg:trial e:fx-trial ; ckg:arm e:fx-arm-a ; ckg:endpoint e:randomized-patients ;
    qudt:numericValue 241 .
x:total a ckg:ExternalFigure ; ckg:figureId "fx-total" ; ckg:statistic ckg:Count ;
    ckg:trial e:fx-trial ; ckg:endpoint e:randomized-patients ; qudt:numericValue 361 .
"""


def _claim(name: str, statistic: str, value: str, endpoint: str, quote: str, *more: str) -> str:
    extra = "".join(f" ; {m}" for m in more)
    return (
        f'c:{name} a ckg:Claim ; dcterms:source a:fx ; ckg:claimId "{name}" ;\n'
        f"    ckg:statistic ckg:{statistic} ; qudt:numericValue {value} ; ckg:trial e:fx-trial ;\n"
        f"    ckg:endpoint e:{endpoint} ; ckg:hasQuote c:{name}-q{extra} .\n"
        f'c:{name}-q oa:hasSelector c:{name}-s . c:{name}-s oa:exact "{quote}" .\n'
    )


def _percent(name: str, value: str, endpoint: str, quote: str, *more: str) -> str:
    return _claim(name, "Proportion", value, endpoint, quote, "qudt:unit unit:PERCENT", *more)


def _proportions(*claims: str) -> list[dict[str, str]]:
    graph = Graph().parse(data=_FIXTURE + "".join(claims), format="turtle")
    return run_checks(graph).proportions


def _pairs(rows: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(r["claim"], r["countFrom"], r["plausible"]) for r in rows}


ARM_COUNT = _claim(
    "arm-count", "Count", "241", "randomized-patients", "241 to A", "ckg:arm e:fx-arm-a"
)


def test_a_share_of_an_arm_is_weighed_against_that_arms_counts() -> None:
    rows = _proportions(ARM_COUNT, _percent("orr-a", "35.7", "orr", "35.7%", "ckg:arm e:fx-arm-a"))
    assert _pairs(rows) == {
        ("orr-a", "article arm-count", "true"),
        ("orr-a", "external fx-arm-a", "true"),
    }


def test_a_share_of_a_population_the_counts_do_not_name_is_weighed_against_none() -> None:
    # "Among patients with measurable disease, 62.3% responded": not of the arm's 241
    share = _percent(
        "orr-measurable", "62.3", "orr", "62.3% responded",
        "ckg:arm e:fx-arm-a", "ckg:population e:measurable-disease",
    )  # fmt: skip
    assert _proportions(ARM_COUNT, share) == []


def test_a_population_share_is_weighed_against_that_populations_count_only() -> None:
    enrolled = _claim(
        "enrolled", "Count", "275", "enrolled-patients", "275 enrolled",
        "ckg:population e:fx-population",
    )  # fmt: skip
    share = _percent(
        "liver", "29.2", "liver", "29.2% had liver metastases", "ckg:population e:fx-population"
    )
    # not of the external 361 randomised (no population); and 29.2% of 275 stays flagged
    assert _pairs(_proportions(enrolled, share)) == {("liver", "article enrolled", "false")}


def test_an_adverse_events_share_is_not_weighed_against_the_randomised() -> None:
    # of the treated patients (the safety population: 149 of 240), not of the 241 randomised
    by_type = _percent("neutropenia", "62.1", "neutropenia", "62.1%", "ckg:arm e:fx-arm-a")
    by_grade = _percent("g3", "62.1", "orr", "62.1%", "ckg:arm e:fx-arm-a", "ckg:gradeAtLeast 3")
    assert _proportions(ARM_COUNT, by_type, by_grade) == []


def test_a_share_of_counted_events_is_weighed_against_its_numerator_not_the_patients() -> None:
    events = _claim("events", "Count", "162", "events", "162 PFS events")
    share = _percent("fraction", "71.4", "events", "162 PFS events (71.4% of those projected)")
    assert _pairs(_proportions(events, share)) == {
        ("fraction", "numerator: article events", "true")
    }
    wrong = _percent("wrong", "71.4", "events", "4 PFS events (71.4%)")
    four = _claim("events", "Count", "4", "events", "4 PFS events")
    assert _pairs(_proportions(four, wrong)) == {("wrong", "numerator: article events", "false")}


def test_a_printed_denominator_is_the_only_one() -> None:
    share = _percent(
        "orr-printed", "62.1", "orr", "149 of 240 patients (62.1%)",
        "ckg:arm e:fx-arm-a", "ckg:numerator 149", "ckg:denominator 240",
    )  # fmt: skip
    rows = _proportions(ARM_COUNT, share)
    assert _pairs(rows) == {("orr-printed", "printed denominator", "true")}
    assert (rows[0]["numerator"], rows[0]["patients"]) == ("149", "240")


def test_the_corpus_weighs_no_adverse_event_against_the_randomised(
    extended_store: Graph,
) -> None:
    """What test_an_adverse_events_share… asserts on a fixture, on every article."""
    safety = {
        str(cast(ResultRow, row)[0])
        for row in extended_store.query(
            """PREFIX ckg: <https://w3id.org/claimkg/vocab/>
            SELECT ?id WHERE {
              GRAPH ?g { ?c ckg:claimId ?id ; ckg:statistic ckg:Proportion ; ckg:endpoint ?e }
              { GRAPH ?g { ?c ckg:grade|ckg:gradeAtLeast|ckg:anyGrade ?x } }
              UNION { GRAPH ?h { ?e a ckg:AdverseEvent } }
            }"""
        )
    }
    rows = run_checks(extended_store).proportions
    weighed = {r["claim"] for r in rows if r["countFrom"].startswith(("article ", "external "))}
    assert safety and weighed and not weighed & safety


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
