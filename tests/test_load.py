"""Stage 1: the curated article loads, quotes resolve to offsets, and bad input is refused
with its file, line and claim id."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from kg.errors import CurationError
from kg.load import (
    Corpus,
    citation_markers,
    find_quote,
    load_corpus,
    number_tokens,
    sentence_spans,
)

from .conftest import ARTICLE_ID, ARTICLE_SHA256, SHARED_ARTICLE


def _claims(corpus: Corpus) -> dict[str, object]:
    return {c.id: c for c in corpus.articles[0].claims}


def test_the_bundled_article_is_byte_identical_to_the_shared_one(corpus: Corpus) -> None:
    article = corpus.articles[0]
    assert article.sha256 == ARTICLE_SHA256
    if SHARED_ARTICLE.exists():  # shared/ sits beside the project on developer machines and CI
        assert (article.directory / "article.txt").read_bytes() == SHARED_ARTICLE.read_bytes()


def test_every_quote_is_the_text_between_its_offsets(corpus: Corpus) -> None:
    article = corpus.articles[0]
    assert len(article.claims) > 150
    for claim in article.claims:
        assert article.text[claim.quote.start : claim.quote.end] == claim.quote.exact, claim.id
        assert article.text[: claim.quote.start].endswith(claim.quote.prefix), claim.id
        assert article.text[claim.quote.end :].startswith(claim.quote.suffix), claim.id
        assert len(find_quote(article.text, claim.quote.exact)) == 1, claim.id


def test_offsets_count_code_points_not_bytes(corpus: Corpus) -> None:
    article = corpus.articles[0]
    claim = next(c for c in article.claims if c.id == "s02-ic50-cdk9-cyclin-t")
    assert "₅₀" in claim.quote.exact  # multi-byte characters inside the quote
    encoded_start = len(article.text[: claim.quote.start].encode("utf-8"))
    assert encoded_start > claim.quote.start  # bytes and code points differ before it


def test_speaker_is_derived_from_who_holds_the_floor(corpus: Corpus) -> None:
    claims = {c.id: c for c in corpus.articles[0].claims}
    assert claims["s03-pfs-investigator-hr"].speaker == "binghe-xu"
    assert claims["s03-question-trial-led-by-xu"].speaker == "oncology-frontier"
    intro = [c for c in corpus.articles[0].claims if c.section == "introduction"]
    assert intro and {c.speaker for c in intro} == {"oncology-frontier"}


def test_section_is_derived_from_the_preceding_heading(corpus: Corpus) -> None:
    claims = {c.id: c for c in corpus.articles[0].claims}
    assert claims["s02-ic50-cdk4-cyclin-d1"].section == "02"
    assert claims["s04-preliminary-findings-asco-2023"].section == "04"


def test_citations_come_from_the_claims_own_sentence(corpus: Corpus) -> None:
    claims = {c.id: c for c in corpus.articles[0].claims}
    assert claims["s02-ic50-cdk4-cyclin-d1"].cites == (6, 7)
    assert claims["s02-ic50-cdk9-cyclin-t"].cites == ()  # the next sentence cites nothing
    assert claims["s03-discontinuation-due-to-ae-lerociclib"].cites == (10, 11, 12, 13, 14)
    # a clause-level narrowing: the sentence marks [²] and [³]
    assert claims["s01-distant-metastases-at-diagnosis-proportion"].cites == (2,)
    assert claims["s01-early-stage-progress-to-advanced-proportion"].cites == (3,)


def test_citation_marker_ranges_expand() -> None:
    assert citation_markers("… 15.9% [¹⁰–¹⁴].") == [10, 11, 12, 13, 14]
    assert citation_markers("inhibitors [⁶][⁷]") == [6, 7]
    assert citation_markers("no marker") == []


def test_sentences_do_not_end_at_abbreviations() -> None:
    text = "The ORR was 23.4% vs. 8.7%. Next one[¹]."
    spans = sentence_spans(text, len(text))
    assert [text[s:e] for s, e in spans] == ["The ORR was 23.4% vs. 8.7%.", "Next one[¹]."]


def test_digits_inside_names_are_not_numbers() -> None:
    text = "CDK4/6 and HER2 in LEONARDA-1: 357,200 cases, 3%–10%, P < 0.0001, 2–3 years"
    values = [v for _, _, v in number_tokens(text, 0, len(text))]
    assert values == [Decimal(x) for x in ("357200", "3", "10", "0.0001", "2", "3")]


def test_values_keep_the_lexical_form_printed(corpus: Corpus) -> None:
    claims = {c.id: c for c in corpus.articles[0].claims}
    assert str(claims["s03-pfs-investigator-median-lerociclib"].value) == "11.07"
    assert str(claims["s01-new-cases-china-2022"].value) == "357200"


# ---------------------------------------------------------------- errors


def _claims_file(corpus_dir: Path) -> Path:
    return corpus_dir / ARTICLE_ID / "claims" / "03a-leonarda1-design-efficacy.yaml"


def _edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in ``path``; return the 1-based line where it was."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def _claim_line(path: Path, claim_id: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line == f"- id: {claim_id}")


def _problems(corpus_dir: Path) -> list[str]:
    with pytest.raises(CurationError) as error:
        load_corpus(corpus_dir)
    return [str(p) for p in error.value.problems]


HR_CLAIM = "s03-pfs-investigator-hr"


HR_STATISTIC = "  statistic: HazardRatio\n"
BAD_CLAIMS = {
    "missing-quote": ("(HR 0.451", "(HR 0.999", "quote not found"),
    "ambiguous-quote": (
        'quote: "risk of disease progression or death (HR 0.451"',
        'quote: "P < 0.0001"',
        "ambiguous",
    ),
    "unknown-entity": (
        "comparator: leonarda-1-placebo-arm",
        "comparator: no-such-arm",
        "unknown entity 'no-such-arm'",
    ),
    "wrong-value-type": ("value: 0.451", "value: 0.451 (HR)", "must be a number as printed"),
    "unknown-unit": ("unit: UNITLESS", "unit: NanoM", "unknown unit 'NanoM'"),
    "unknown-statistic": ("statistic: HazardRatio", "statistic: Hazard", "unknown statistic"),
    "unknown-key": (HR_STATISTIC, HR_STATISTIC + "  colour: red\n", "unknown key 'colour'"),
    "borrowed-citation": (
        HR_STATISTIC,
        HR_STATISTIC + "  cites: [10]\n",
        "not marked in the claim's own sentence",
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
def test_bad_claim_is_refused_with_file_line_and_claim(
    corpus_copy: Path, old: str, new: str, expected: str
) -> None:
    claims = _claims_file(corpus_copy)
    block = claims.read_text(encoding="utf-8")
    start = block.index(f"- id: {HR_CLAIM}\n")
    end = block.index("\n- id:", start + 1)
    assert old in block[start:end], f"fixture drift: {old!r} not in {HR_CLAIM}"
    claims.write_text(block[:start] + block[start:end].replace(old, new, 1) + block[end:], "utf-8")
    [problem] = _problems(corpus_copy)
    line = _claim_line(claims, HR_CLAIM)
    assert problem.startswith(f"{claims}:{line}:"), problem
    assert f"claim '{HR_CLAIM}'" in problem
    assert expected in problem


def test_value_ambiguous_quote_names_offsets(corpus_copy: Path) -> None:
    _edit(_claims_file(corpus_copy), 'quote: "HR 0.451, P < 0.0001"', 'quote: "P < 0.0001"')
    [problem] = _problems(corpus_copy)
    assert re.search(r"occurs 2 times \(at offsets \d+, \d+\)", problem)


def test_duplicate_claim_id_names_both_places(corpus_copy: Path) -> None:
    claims = _claims_file(corpus_copy)
    _edit(claims, "- id: s03-pfs-bicr-hr\n", f"- id: {HR_CLAIM}\n")
    [problem] = [p for p in _problems(corpus_copy) if "duplicate claim id" in p]
    assert "duplicate claim id" in problem and f"claim '{HR_CLAIM}'" in problem
    assert f"first at {claims}:{_claim_line(claims, HR_CLAIM)}" in problem


def test_changed_source_text_is_refused(corpus_copy: Path) -> None:
    text = corpus_copy / ARTICLE_ID / "article.txt"
    text.write_text(text.read_text(encoding="utf-8").replace("11.07", "11.70"), encoding="utf-8")
    [problem] = _problems(corpus_copy)
    assert (
        "article.yaml" in problem and "source text changed" in problem and ARTICLE_SHA256 in problem
    )


def test_unknown_entity_type_is_refused(corpus_copy: Path) -> None:
    entities = corpus_copy / "entities" / "drugs-and-targets.yaml"
    line = _edit(entities, "  type: Drug\n", "  type: Medicine\n")
    [problem] = _problems(corpus_copy)
    assert (
        problem.startswith(f"{entities}:{line - 1}:")
        and "unknown entity type 'Medicine'" in problem
    )


def test_invalid_yaml_names_the_line(corpus_copy: Path) -> None:
    claims = _claims_file(corpus_copy)
    line = _edit(claims, "  type: Measurement\n", "  type: [Measurement\n")
    [problem] = _problems(corpus_copy)
    assert problem.startswith(f"{claims}:") and "invalid YAML" in problem
    assert int(problem.split(":")[1]) >= line


def test_duplicate_yaml_key_is_refused(corpus_copy: Path) -> None:
    claims = _claims_file(corpus_copy)
    _edit(claims, "  unit: UNITLESS\n", "  unit: UNITLESS\n  unit: PERCENT\n")
    [problem] = _problems(corpus_copy)
    assert "duplicate key 'unit'" in problem


def test_all_problems_are_reported_at_once(corpus_copy: Path) -> None:
    claims = _claims_file(corpus_copy)
    _edit(claims, "unit: UNITLESS", "unit: NanoM")
    _edit(claims, "statistic: Median", "statistic: Mean")
    assert len(_problems(corpus_copy)) == 2
