"""Near-miss hints for curators (issue 13, item 4): a quote not found names the closest
passage and the first differing character, an unknown key names its line and the key it
is closest to, long values are shortened, an update given to kg query is called one, and
every path in a message opens from the current folder.

Each test breaks a copy of a fixture in tmp_path; corpus/ and tests/fixtures/ stay as they
are.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kg.cli import EXIT_INVALID, EXIT_UNUSABLE, main
from kg.errors import CurationError, shorten, shown, shown_path
from kg.hints import character, closest_passage, line_and_column, near_miss_hint
from kg.load import load_corpus
from kg.load_claims import QUANTITY_KEYS, RELATION_KEYS

from .conftest import REPO, TEST_CORPUS

ARTICLE = "mini-trial-note"


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A writable copy of the test corpus (two small articles)."""
    return Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))


def _replace(path: Path, old: str, new: str) -> int:
    """Replace ``old`` (once in the file) by ``new``; the line ``new`` starts on."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"fixture drift: {old!r} in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _problems(corpus: Path) -> list[str]:
    with pytest.raises(CurationError) as error:
        load_corpus(corpus)
    return [str(p) for p in error.value.problems]


def _one(problems: list[str], needle: str) -> str:
    [found] = [p for p in problems if needle in p]
    return found


# ---------------------------------------------------------------- a quote not found


@pytest.mark.parametrize(
    ("written", "typed", "quote_has", "text_has"),
    [
        ("the patients’ quality of life", "the patients' quality of life", "0027", "2019"),
        ("approximately 3%–10% of patients", "approximately 3%-10% of patients", "002D", "2013"),
        (
            "with an IC₅₀ of 3 nM against kinase",
            "with an IC50 of 3 nM against kinase",
            "0035",
            "2085",
        ),
        ("a “new option” for them", 'a "new option" for them', "0022", "201C"),
        ("it was 10\u00a0mg twice daily", "it was 10 mg twice daily", "0020", "00A0"),
    ],
)
def test_a_quote_differing_in_typography_names_the_passage_and_both_code_points(
    written: str, typed: str, quote_has: str, text_has: str
) -> None:
    text = "An opening line of the article.\nSome words before " + written + " and after.\n"
    near = closest_passage(text, typed)
    assert near is not None and text[near.start : near.end] == written
    assert near.difference is not None
    assert text[near.difference.text_at] != typed[near.difference.quote_at]
    hint = near_miss_hint(text, typed, "article.txt")
    line, column = line_and_column(text, near.difference.text_at)
    assert (line, column) == (
        2,
        len("Some words before ") + written.index(chr(int(text_has, 16))) + 1,
    )
    assert f"the quote has U+{quote_has} " in hint
    assert f"where the text has U+{text_has} " in hint
    assert f"at line {line}, column {column}" in hint
    assert "differs only in typography" in hint and "article.txt" in hint


def test_characters_are_named_with_code_point_name_and_glyph() -> None:
    assert character("’") == 'U+2019 RIGHT SINGLE QUOTATION MARK "’"'
    assert character("'") == 'U+0027 APOSTROPHE "\'"'
    assert character("\u00a0") == 'U+00A0 NO-BREAK SPACE "\\xa0"'
    assert character("\n") == 'U+000A LINE FEED "\\n"'


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("median PFS was 10.6 months with drug A", "replace"),
        ("median PFS was 10.5 monthss with drug A", "extra-in-quote"),
        ("median PFS was 10.5 month with drug A", "extra-in-text"),
    ],
)
def test_a_quote_with_a_typo_names_the_closest_passage_and_the_first_difference(
    typed: str, kind: str
) -> None:
    text = (TEST_CORPUS / ARTICLE / "article.txt").read_text(encoding="utf-8")
    near = closest_passage(text, typed)
    assert near is not None and near.difference is not None
    assert near.difference.kind == kind
    passage = text[near.start : near.end]
    assert passage.startswith("median PFS was 10.5 month") and passage.endswith("with drug A")
    # everything before the first difference is the same in the quote and the text
    at = near.difference.quote_at
    assert typed[:at] == text[near.start : near.difference.text_at]
    assert "first difference" in near_miss_hint(text, typed)


def test_a_quote_like_nothing_in_the_text_says_so() -> None:
    text = (TEST_CORPUS / ARTICLE / "article.txt").read_text(encoding="utf-8")
    assert closest_passage(text, "completely unrelated words of nothing") is None
    assert "no passage" in near_miss_hint(text, "completely unrelated words of nothing")


def test_the_loader_reports_a_typed_dash_with_the_passage_and_the_text_file(mini: Path) -> None:
    claims = mini / ARTICLE / "claims" / "results.yaml"
    _replace(claims, 'quote: "HR 0.50, 95% CI 0.40–0.62"', 'quote: "HR 0.50, 95% CI 0.40-0.62"')
    problem = _one(_problems(mini), "not found")
    text_file = mini / ARTICLE / "article.txt"
    text = text_file.read_text(encoding="utf-8")
    line, column = line_and_column(text, text.index("0.40–0.62") + 4)
    assert "claim 'pfs-hr'" in problem
    assert "'HR 0.50, 95% CI 0.40–0.62'" in problem  # the closest passage
    assert 'U+002D HYPHEN-MINUS "-" where the text has U+2013 EN DASH "–"' in problem
    assert f"at line {line}, column {column}" in problem
    assert shown_path(text_file) in problem
    assert "0.40-0.62" in problem  # the quote as written: nothing is corrected


def test_the_loader_reports_a_typed_subscript(mini: Path) -> None:
    claims = mini / ARTICLE / "claims" / "results.yaml"
    text = claims.read_text(encoding="utf-8")
    [ic50] = re.findall(r'quote: "([^"\n]*IC₅₀[^"\n]*)"', text)
    _replace(claims, f'quote: "{ic50}"', f'quote: "{ic50.replace("₅₀", "50")}"')
    subscript = _one(_problems(mini), "not found")
    assert (
        'the quote has U+0035 DIGIT FIVE "5" where the text has U+2085 SUBSCRIPT FIVE' in subscript
    )
    assert "(and 1 more such character)" in subscript  # the 0 of ₅₀


def test_the_loader_reports_straight_quotes_typed_for_curly_ones(mini: Path) -> None:
    article = mini / ARTICLE / "article.yaml"
    _replace(article, "“Drug B is a new option,”", '\\"Drug B is a new option,\\"')
    curly = _one(_problems(mini), "speaker span quote not found")
    assert "U+0022 QUOTATION MARK '\"' where the text has U+201C LEFT DOUBLE" in curly
    assert curly.startswith(f"{shown_path(article)}:")


def test_a_quote_hint_costs_little_on_a_long_text() -> None:
    """Closest passages for 300 typos in a 170 KB text: the anchors narrow the search, so
    this stays far below an edit distance against the whole text per quote (minutes)."""
    import time

    base = (TEST_CORPUS / ARTICLE / "article.txt").read_text(encoding="utf-8")
    text = "".join(f"Paragraph {i}. {base}" for i in range(100))
    quotes = [text[at : at + 60].replace("e", "é", 1) for at in range(1000, 160000, 530)]
    started = time.process_time()
    found = [closest_passage(text, q) for q in quotes]
    assert time.process_time() - started < 10
    assert sum(f is not None for f in found) >= len(quotes) * 0.9


# ---------------------------------------------------------------- unknown keys


def test_a_misspelt_article_key_is_named_at_its_line_with_the_key_meant(mini: Path) -> None:
    article = mini / ARTICLE / "article.yaml"
    line = _replace(article, "publisher: test-editor\n", "publsher: test-editor\n")
    problems = _problems(mini)
    typo = _one(problems, "publsher")
    assert typo.startswith(f"{shown_path(article)}:{line}:"), typo
    assert "unknown key 'publsher' (did you mean 'publisher'?)" in typo
    assert not any("unknown entity None" in p for p in problems)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("claims/results.yaml", "    trial: test-1\n    arm: test-1-drug-a-arm\n    assessor",
         "    trail: test-1\n    arm: test-1-drug-a-arm\n    assessor",
         "unknown context key 'trail' (did you mean 'trial'?)"),
        ("claims/results.yaml", "  statistic: HazardRatio\n",
         "  statistic: HazardRatio\n  colour: red\n",
         "unknown key 'colour' (expected one of: id, "),
        ("claims/results.yaml", "  endpoint: progression-free-survival\n  value: \"0.50\"\n",
         "  endpoint: progression-free-survival\n  valeu: \"0.50\"\n",
         "unknown key 'valeu' (did you mean 'value'?)"),
        ("article.yaml", "    starts_with: \"01 Results\"\n", "    starts_wiht: \"01 Results\"\n",
         "unknown key 'starts_wiht' (did you mean 'starts_with'?)"),
        ("coverage.yaml", "  reason: part of the name", "  raeson: part of the name",
         "unknown key 'raeson' (did you mean 'reason'?)"),
    ],
)  # fmt: skip
def test_an_unknown_key_anywhere_is_named_at_its_own_line(
    mini: Path, file: str, old: str, new: str, expected: str
) -> None:
    path = mini / ARTICLE / file
    line = _replace(path, old, new)
    key = re.findall(r"'(\w+)'", expected)[0]
    key_line = line + next(i for i, t in enumerate(new.splitlines()) if f"{key}:" in t)
    problem = _one(_problems(mini), expected)
    assert problem.startswith(f"{shown_path(path)}:{key_line}:"), problem


def test_a_misspelt_entity_key_is_named_with_the_key_meant(mini: Path) -> None:
    entities = next(
        p for p in sorted((mini / "entities").glob("*.yaml")) if "  label: " in p.read_text()
    )
    text = entities.read_text(encoding="utf-8")
    at = text.index("  label: ")
    entities.write_text(text[:at] + "  lable: " + text[at + 9 :], encoding="utf-8")
    problem = _one(_problems(mini), "lable")
    line = text[:at].count("\n") + 1
    assert problem.startswith(f"{shown_path(entities)}:{line}:")
    assert "(did you mean 'label'?)" in problem


SCHEMA = json.loads((REPO / "ontology" / "curation.schema.json").read_text(encoding="utf-8"))


def test_every_closed_mapping_of_the_schema_is_checked_for_unknown_keys() -> None:
    """Each mapping the schema closes (additionalProperties: false) has its keys in the
    loader (test_curation compares the others), so that an unknown key is found anywhere."""
    closed = {n for n, d in SCHEMA["$defs"].items() if d.get("additionalProperties") is False}
    assert {"quantity", "relation"} <= closed
    assert list(SCHEMA["$defs"]["quantity"]["properties"]) == list(QUANTITY_KEYS)
    assert list(SCHEMA["$defs"]["relation"]["properties"]) == list(RELATION_KEYS)


# ---------------------------------------------------------------- long values


def test_shorten_keeps_both_ends_and_says_how_long() -> None:
    long = "a" * 100 + "MIDDLE" + "z" * 100
    cut = shorten(long, 40)
    assert cut.startswith("a" * 26) and "z" * 13 in cut and "MIDDLE" not in cut
    assert "(206 characters)" in cut
    assert shorten("short", 40) == "short"
    assert shown("x\ny" * 50, 20).startswith("'x\\ny") and "(150 characters)" in shown(
        "x\ny" * 50, 20
    )


def test_a_240_kb_quote_is_not_echoed_whole(
    mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = mini / ARTICLE / "claims" / "results.yaml"
    huge = "versus 5.2 months with placebo " * 8000  # 248,000 characters
    _replace(claims, 'quote: "versus 5.2 months with placebo"', f'quote: "{huge}"')
    code = main(["build", "--corpus", str(mini), "--out", str(tmp_path / "out"), "-q", "-j", "1"])
    assert code == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "claim 'pfs-median-placebo'" in err and "(248,000 characters)" in err
    assert len(err) < 2000


# ---------------------------------------------------------------- kg query given an update


@pytest.mark.parametrize(
    ("sparql", "operation"),
    [
        ("PREFIX ex: <http://example.org/#>\nINSERT DATA { ex:a ex:b ex:c }\n", "INSERT"),
        ("# a comment\nDELETE WHERE { ?s ?p ?o }\n", "DELETE"),
        ("LOAD <http://example.org/data.ttl>\n", "LOAD"),
        ("CLEAR ALL\n", "CLEAR"),
        ("DROP GRAPH <http://example.org/g>\n", "DROP"),
    ],
)
def test_an_update_in_a_file_is_named_as_one_not_a_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sparql: str, operation: str
) -> None:
    query = tmp_path / "update.rq"
    query.write_text(sparql, encoding="utf-8")
    assert main(["query", str(query)]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert f"a SPARQL update ({operation})" in err and "read-only" in err
    assert "syntax error" not in err


def test_an_update_given_inline_is_named_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "DELETE WHERE { ?s ?p ?o }"]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "a SPARQL update (DELETE)" in err and "read-only" in err
    assert "no query named" not in err


def test_a_broken_select_is_still_a_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "broken.rq"
    query.write_text("SELECT * WHERE { ?s ?p ?o \n", encoding="utf-8")
    assert main(["query", str(query)]) == EXIT_UNUSABLE
    assert "SPARQL syntax error" in capsys.readouterr().err


# ---------------------------------------------------------------- paths that open from here


def _paths_in(lines: str) -> list[str]:
    """The file paths (``x/y.yaml:12`` or ``x/article.txt:3:4``) messages name."""
    return re.findall(r"(?:^|\s)(\S+\.(?:yaml|txt))(?::\d+)+", lines, re.MULTILINE)


def test_exit_2_paths_open_from_the_current_folder(
    mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _replace(mini / ARTICLE / "article.yaml", "publisher: test-editor\n", "publsher: x\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["build", "--corpus", "../corpus", "--out", str(tmp_path / "o"), "-q"]) == 2
    paths = _paths_in(capsys.readouterr().err)
    assert paths and all(Path(p).is_file() for p in paths), paths


def test_exit_1_paths_open_from_the_current_folder(
    mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The graph records a claim's file relative to the corpus folder; the message names
    it from where the user stands (here a sibling folder of the corpus)."""
    _replace(mini / ARTICLE / "claims" / "results.yaml", 'value: "10.5"', 'value: "10.6"')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = str(tmp_path / "o")
    assert main(["build", "--corpus", str(mini), "--out", out, "-q", "-j", "1"]) == EXIT_INVALID
    err = capsys.readouterr().err
    paths = _paths_in(err)
    assert "results.yaml" in err and paths, err
    assert all(Path(p).is_file() for p in paths), paths


def test_coverage_paths_open_from_the_current_folder(
    mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage = mini / ARTICLE / "coverage.yaml"
    _replace(coverage, '- number: "01"\n  quote: "01 Results"\n  reason: section number\n', "")
    coverage.write_text(
        coverage.read_text(encoding="utf-8")
        + '- number: "10.5"\n  quote: "was 10.5 months"\n  reason: test\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["coverage", "--corpus", str(mini)]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "UNCOVERED" in out and "UNUSED EXCLUSION" in out
    paths = _paths_in(out)
    assert len(paths) >= 2 and all(Path(p).is_file() for p in paths), paths
    assert all(not Path(p).is_absolute() for p in paths)  # under the current folder: relative


def test_shown_path_is_relative_under_the_current_folder_else_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert shown_path(tmp_path / "a" / "x.yaml") == "x.yaml"
    assert shown_path(tmp_path / "b" / "y.yaml") == str(tmp_path / "b" / "y.yaml")
    assert shown_path(Path("../b/y.yaml")) == str(tmp_path / "b" / "y.yaml")


def test_validate_names_curated_files_from_here_given_the_corpus(
    mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """kg validate reads a graph alone: with --corpus it names the curated files from here;
    without, a file the bundled corpus does not have is left as the graph records it."""
    out = tmp_path / "o"
    assert main(["build", "--corpus", str(mini), "--out", str(out), "-q", "-j", "1",
                 "--format", "nt", "--no-store"]) == 0  # fmt: skip
    claim = "<https://w3id.org/claimkg/id/claim/mini-trial-note/pfs-median-drug-a>"
    value = '<http://qudt.org/schema/qudt/numericValue> "10.5"'
    graph = (out / "claimkg.nt").read_text(encoding="utf-8")
    assert graph.count(f"{claim} {value}") == 1
    broken = tmp_path / "broken.nt"
    broken.write_text(
        graph.replace(f"{claim} {value}", f"{claim} {value}".replace("10.5", "10.6")), "utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["validate", str(broken), "--corpus", str(mini)]) == EXIT_INVALID
    paths = _paths_in(capsys.readouterr().out)
    assert paths and all(Path(p).is_file() for p in paths), paths
    assert main(["validate", str(broken)]) == EXIT_INVALID
    assert _paths_in(capsys.readouterr().out) == ["mini-trial-note/claims/results.yaml"]


def test_a_violations_long_value_is_shortened_on_one_line(tmp_path: Path) -> None:
    from kg.cli.common import violations_text as _violations_text
    from kg.validate import Violation

    quote = "a quote\nthat goes on " * 20000  # 420,000 characters
    violation = Violation(
        "QuoteShape-matchesSource", "the quote is not the text", "focus", None, quote,
        "some-claim", "mini-trial-note/claims/results.yaml:6", "Violation",
    )  # fmt: skip
    text = _violations_text([violation], tmp_path)
    assert len(text) < 500 and "(420,000 characters)" in text
    assert len(text.splitlines()) == 2  # the count, and one line for the violation
