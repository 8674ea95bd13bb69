"""`kg check`: derived claims recomputed from their inputs; percentages against counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.build import BuiltCorpus
from kg.check import run_checks
from kg.cli import EXIT_INVALID, EXIT_OK, main


def test_every_derivation_of_the_article_is_consistent(built: BuiltCorpus) -> None:
    report = run_checks(built.graph)
    assert {row["claim"] for row in report.derivations} == {
        "s03-pfs-investigator-risk-reduction",
        "s03-pfs-bicr-risk-reduction",
        "s03-pfs-investigator-more-than-double",
        "s03-orr-significantly-higher",
        "s03-cbr-significantly-higher",
        "s03-discontinuation-due-to-ae-lower-than-previous-trials",
    }
    assert report.inconsistent == []


def test_risk_reduction_is_one_minus_the_hazard_ratio(built: BuiltCorpus) -> None:
    rows = {r["claim"]: r for r in run_checks(built.graph).derivations}
    assert float(rows["s03-pfs-investigator-risk-reduction"]["recomputed"]) == pytest.approx(54.9)
    assert float(rows["s03-pfs-bicr-risk-reduction"]["recomputed"]) == pytest.approx(64.7)
    assert float(rows["s03-pfs-investigator-more-than-double"]["recomputed"]) == pytest.approx(
        11.07 / 5.49
    )


def test_baseline_percentages_are_no_whole_number_of_the_275(built: BuiltCorpus) -> None:
    rows = [r for r in run_checks(built.graph).proportions if r["patients"] == "275"]
    implausible = {r["claim"] for r in rows if r["plausible"] == "false"}
    # 40.9% of 275 is 112.5 patients: no whole count of 275 rounds to 40.9%, nor to the others
    assert implausible == {
        "s03-baseline-liver-metastases",
        "s03-baseline-primary-endocrine-resistance",
        "s03-baseline-metastases-four-or-more-organs",
        "s03-baseline-first-line-chemotherapy",
    }


def test_kg_check_passes_on_the_article(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == EXIT_OK
    assert "All derivations are consistent." in capsys.readouterr().out


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
    assert re.search(rf"INCONSISTENT {claim}:", out), out
