"""Stage 1: the curated article loads, quotes resolve to offsets, and bad input is refused
with its file, line and claim id."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from kg.build import build_corpus
from kg.coverage import article_coverage
from kg.errors import CurationError
from kg.load import (
    Article,
    Corpus,
    citation_markers,
    citation_spans,
    find_quote,
    load_corpus,
    number_tokens,
    sentence_spans,
)
from kg.validate import validate_graph

from .conftest import (
    ARTICLE_ID,
    ARTICLE_SHA256,
    FIXTURES,
    SHARED_ARTICLE,
    TEST_CORPUS,
)


def _claims(corpus: Corpus) -> dict[str, object]:
    return {c.id: c for c in _article(corpus, ARTICLE_ID).claims}


def test_the_bundled_article_is_byte_identical_to_the_shared_one(corpus: Corpus) -> None:
    article = _article(corpus, ARTICLE_ID)
    assert article.sha256 == ARTICLE_SHA256
    if SHARED_ARTICLE.exists():  # shared/ sits beside the project on developer machines and CI
        assert (article.directory / "article.txt").read_bytes() == SHARED_ARTICLE.read_bytes()


def test_every_quote_is_the_text_between_its_offsets(corpus: Corpus) -> None:
    article = _article(corpus, ARTICLE_ID)
    assert len(article.claims) > 150
    for claim in article.claims:
        assert article.text[claim.quote.start : claim.quote.end] == claim.quote.exact, claim.id
        assert article.text[: claim.quote.start].endswith(claim.quote.prefix), claim.id
        assert article.text[claim.quote.end :].startswith(claim.quote.suffix), claim.id
        assert len(find_quote(article.text, claim.quote.exact)) == 1, claim.id


def test_offsets_count_code_points_not_bytes(corpus: Corpus) -> None:
    article = _article(corpus, ARTICLE_ID)
    claim = next(c for c in article.claims if c.id == "s02-ic50-cdk9-cyclin-t")
    assert "₅₀" in claim.quote.exact  # multi-byte characters inside the quote
    encoded_start = len(article.text[: claim.quote.start].encode("utf-8"))
    assert encoded_start > claim.quote.start  # bytes and code points differ before it


def test_speaker_is_derived_from_who_holds_the_floor(corpus: Corpus) -> None:
    claims = {c.id: c for c in _article(corpus, ARTICLE_ID).claims}
    assert claims["s03-pfs-investigator-hr"].speaker == "binghe-xu"
    assert claims["s03-question-trial-led-by-xu"].speaker == "oncology-frontier"
    intro = [c for c in _article(corpus, ARTICLE_ID).claims if c.section == "introduction"]
    assert intro and {c.speaker for c in intro} == {"oncology-frontier"}


def test_section_is_derived_from_the_preceding_heading(corpus: Corpus) -> None:
    claims = {c.id: c for c in _article(corpus, ARTICLE_ID).claims}
    assert claims["s02-ic50-cdk4-cyclin-d1"].section == "02"
    assert claims["s04-preliminary-findings-asco-2023"].section == "04"


def test_citations_come_from_the_claims_own_sentence(corpus: Corpus) -> None:
    claims = {c.id: c for c in _article(corpus, ARTICLE_ID).claims}
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
    claims = {c.id: c for c in _article(corpus, ARTICLE_ID).claims}
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


# ---------------------------------------------------------------- articles of other forms

FORMS = FIXTURES / "forms"


@pytest.fixture
def forms_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FORMS, tmp_path / "forms"))


@pytest.fixture(scope="module")
def forms() -> Corpus:
    return load_corpus(FORMS)


def _article(corpus: Corpus, article_id: str) -> Article:
    return next(a for a in corpus.articles if a.id == article_id)


def _forms_problems(corpus_dir: Path) -> list[str]:
    with pytest.raises(CurationError) as error:
        load_corpus(corpus_dir)
    return [str(p) for p in error.value.problems]


def test_articles_of_every_form_load_without_interviewee_or_reference_list(forms: Corpus) -> None:
    by_id = {a.id: a for a in forms.articles}
    assert {str(a.form).rsplit("/", 1)[1] for a in by_id.values()} == {
        "NewsItem",
        "StructuredAbstract",
        "PressRelease",
    }
    assert all(a.interviewees == () for a in by_id.values())
    release = by_id["press-release"]
    assert release.reference_list is None and release.references == ()
    assert release.body() == [(0, len(release.text))]


def test_a_speaker_span_gives_its_words_to_its_speaker(forms: Corpus) -> None:
    news = {c.id: c for c in _article(forms, "news-item").claims}
    assert news["drug-d-worked-well"].speaker == "dr-quote"
    # the words around the quotation stay the desk's, in the same paragraph
    assert news["dr-quote-first-author"].speaker == "test-news-desk"
    assert news["pfs-hr"].speaker == "test-news-desk"
    release = {c.id: c for c in _article(forms, "press-release").claims}
    assert (release["pleased"].speaker, release["dr-quote-cmo"].speaker) == (
        "dr-quote",
        "example-pharma",
    )


def test_each_citation_style_is_read_from_the_claims_sentence(forms: Corpus) -> None:
    news = {c.id: c for c in _article(forms, "news-item").claims}
    assert news["test3-randomized"].cites == (1,)  # (ref. 1)
    assert news["pfs-median-drug-d"].cites == (1, 2)  # (refs 1, 2)
    assert news["pfs-hr"].cites == (1,)  # narrowed by the curator
    assert news["drug-d-worked-well"].cites == (2,)  # (quoted in ref. 2)
    abstract = {c.id: c for c in _article(forms, "structured-abstract").claims}
    assert abstract["drug-d-tested"].cites == (1,)  # [1]
    assert abstract["orr-drug-d"].cites == (1, 2)  # [1,2]


def test_citation_markers_of_each_style() -> None:
    assert citation_markers("HR 0.46 (ref. 1) and 0.5 (refs 6, 9)", "ref-parentheses") == [1, 6, 9]
    assert citation_markers("wrote X (quoted in ref. 6).", "ref-parentheses") == [6]
    assert citation_markers("(refs 10–12)", "ref-parentheses") == [10, 11, 12]
    assert citation_markers("treated [1,4]. Again [2–4]", "numbers-in-brackets") == [1, 4, 2, 3, 4]
    assert citation_markers("[HR] 0.42", "numbers-in-brackets") == []
    # only the reference numbers are a marker, not the figures sharing its parenthesis
    text = "(95% CI 0.36–0.59; ref. 3)"
    [marker] = citation_spans(text, "ref-parentheses")
    assert text[marker.start : marker.end] == "ref. 3"


def test_numbers_printed_without_a_leading_zero_are_numbers() -> None:
    text = "HR 0.45; p=.003; P<.001 vs. 1.5"
    assert [v for _, _, v in number_tokens(text, 0, len(text))] == [
        Decimal(x) for x in ("0.45", "0.003", "0.001", "1.5")
    ]


def test_a_p_value_keeps_its_printed_form(forms: Corpus) -> None:
    p = next(c for c in _article(forms, "news-item").claims if c.id == "pfs-p")
    assert (p.value, p.value_as_printed) == (Decimal("0.003"), ".003")
    assert p.quote.exact == "p=.003"


def test_every_form_is_covered_and_conforms(forms: Corpus) -> None:
    """Reference numbers inside citation markers are not numbers of the body."""
    for article in forms.articles:
        report = article_coverage(article)
        assert report.complete, (article.id, report.uncovered)
    news = _article(forms, "news-item")
    in_markers = [
        v
        for m in news.citations
        for s, e, v in number_tokens(news.text, 0, len(news.text))
        if m.start <= s and e <= m.end
    ]
    assert in_markers == [Decimal(1), Decimal(1), Decimal(2), Decimal(2)]
    assert validate_graph(build_corpus(forms).graph).conforms


def test_the_older_body_ends_at_still_means_the_interviews_reference_list(
    tmp_path: Path,
) -> None:
    """An article.yaml written before ``form`` and ``reference_list`` loads as it did."""
    copy = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    meta = copy / "mini-trial-note" / "article.yaml"
    text = meta.read_text(encoding="utf-8")
    block = text[text.index("reference_list:") : text.index("sections:")]
    assert "ends_before" not in block  # the older key had no such thing
    older = text.replace(block, 'body_ends_at: "References :"\n').replace("form: Interview\n", "")
    meta.write_text(older, encoding="utf-8")
    then = _article(load_corpus(copy), "mini-trial-note")
    now = _article(load_corpus(TEST_CORPUS), "mini-trial-note")
    assert (then.form, then.reference_list, then.citations) == (
        now.form,
        now.reference_list,
        now.citations,
    )
    assert [(c.id, c.quote, c.speaker, c.section, c.cites) for c in then.claims] == [
        (c.id, c.quote, c.speaker, c.section, c.cites) for c in now.claims
    ]


FORM_PROBLEMS = {
    "missing-publisher": (
        "news-item/article.yaml",
        "publisher: test-news-desk\n",
        "",
        "missing required key 'publisher'",
    ),
    "interview-without-interviewee": (
        "news-item/article.yaml",
        "form: NewsItem\n",
        "form: Interview\n",
        "missing required key 'interviewee' (form Interview needs it",
    ),
    "unknown-form": (
        "news-item/article.yaml",
        "form: NewsItem\n",
        "form: Blog\n",
        "unknown form 'Blog'",
    ),
    "attribution-elsewhere": (
        "news-item/article.yaml",
        'attribution: "wrote Dr Quote"',
        'attribution: "said Dr Quote"',
        "must occur once in the span's paragraph",
    ),
    "quote-across-a-speaker-span": (
        "news-item/claims/story.yaml",
        'quote: "Drug D worked well"',
        'quote: "Drug D worked well,\\" wrote Dr Quote"',
        "overlaps the speaker span of 'dr-quote'",
    ),
    "quote-in-the-reference-list": (
        "news-item/claims/story.yaml",
        'quote: "TEST-3 randomised 120 patients"',
        'quote: "A synthetic trial of drug D."',
        "quote lies in the reference list",
    ),
    "dose-on-a-measurement": (
        "news-item/claims/story.yaml",
        "  unit: NUM\n",
        "  unit: NUM\n  dose: {drug: drug-d}\n",
        "'dose' belongs on a claim of type Dosing, not Measurement",
    ),
    "references-without-a-list": (
        "structured-abstract/article.yaml",
        'reference_list:\n  starts_with: "References\\n[1]"\n  entry_style: bracketed-number\n'
        "  citation_style: numbers-in-brackets\n",
        "",
        "'references' needs a 'reference_list'",
    ),
    "unknown-entry-style": (
        "structured-abstract/article.yaml",
        "entry_style: bracketed-number",
        "entry_style: numbered",
        "unknown entry_style 'numbered'",
    ),
}


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"), FORM_PROBLEMS.values(), ids=FORM_PROBLEMS.keys()
)
def test_bad_article_metadata_is_reported_by_key_and_line(
    forms_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    path = forms_copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drift: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = _forms_problems(forms_copy)
    assert any(expected in p for p in problems), problems
    mine = [p for p in problems if expected in p]
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", p) for p in mine), mine
    assert not any("unknown entity None" in p for p in problems)


def test_a_missing_key_names_the_line_of_the_article_mapping(forms_copy: Path) -> None:
    path = forms_copy / "news-item" / "article.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("editorial_voice: test-news-desk\n", ""), encoding="utf-8")
    [problem] = _forms_problems(forms_copy)
    first_key = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("id:"))
    assert problem.startswith(f"{path}:{first_key}: missing required key 'editorial_voice'")


def test_a_ci_limit_and_a_median_may_be_not_reached(test_built: object) -> None:
    corpus = load_corpus(TEST_CORPUS)
    claims = {c.id: c for c in _article(corpus, "mini-trial-note").claims}
    median = claims["os-median-drug-b"]
    assert median.not_reached and median.value is None
    assert median.ci == (Decimal("20.1"), None)
    assert Decimal("20.1") in median.numbers() and Decimal(15) in median.numbers()  # cut-off day


def test_a_quote_outside_every_section_is_refused(forms_copy: Path) -> None:
    meta = forms_copy / "news-item" / "article.yaml"
    text = meta.read_text(encoding="utf-8")
    meta.write_text(text.replace('"NEWS DESK | TESTS"', '"Drug D lengthens"'), encoding="utf-8")
    claims = forms_copy / "news-item" / "claims" / "story.yaml"
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.replace('"TEST-3 randomised 120 patients"', '"NEWS DESK"'), "utf-8")
    problems = _forms_problems(forms_copy)
    assert any("quote does not lie inside one section" in p for p in problems), problems
