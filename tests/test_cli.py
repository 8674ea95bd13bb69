"""The command-line contract (DESIGN.md §5): outputs, exit codes and messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.cli import EXIT_INVALID, EXIT_OK, EXIT_UNUSABLE, main
from kg.kgx import KGX_FILES
from kg.serialize import OUTPUT_FILES, UNION_FILES

from .conftest import ARTICLE_ID, BUNDLED_CORPUS


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    assert main(["build", "--out", str(out), "--quiet"]) == EXIT_OK
    return out


def test_build_writes_the_serialisations_the_report_kgx_the_store_and_the_cache(
    build_dir: Path,
) -> None:
    files = OUTPUT_FILES | UNION_FILES | KGX_FILES
    assert sorted(p.name for p in build_dir.iterdir()) == sorted([*files, "cache", "store"])


def test_build_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--out", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    articles = len(list(BUNDLED_CORPUS.glob("*/article.yaml")))
    assert re.search(
        rf"{articles} article\(s\), \d+ claims, \d+ entities, \d+ references, \d+ triples", out
    )
    assert "Measurement" in out and "validation: conforms" in out and str(tmp_path) in out
    assert "since the last build: first build" in out
    assert f"kg validate {tmp_path / 'claimkg.ttl'}" in out  # the next step names this folder


def test_validate_accepts_the_built_files(build_dir: Path) -> None:
    for name in ("claimkg.ttl", "claimkg.nt", "claimkg.jsonld", "claimkg.trig"):
        assert main(["validate", str(build_dir / name)]) == EXIT_OK, name


def _break(build_dir: Path, tmp_path: Path, pattern: str, replacement: str, anchor: str) -> Path:
    """Apply ``pattern`` inside the one Turtle block that starts with ``anchor``."""
    text = (build_dir / "claimkg.ttl").read_text(encoding="utf-8")
    start = text.index(anchor)
    end = text.index(" .\n", start)
    block, count = re.subn(pattern, replacement, text[start:end], count=1)
    assert count == 1, pattern
    broken = text[:start] + block + text[end:]
    path = tmp_path / "edited.ttl"
    path.write_text(broken, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("pattern", "replacement", "claim", "message"),
    [
        (
            r"(a oa:TextPositionSelector ;\s*)oa:end \"\d+\"\^\^xsd:nonNegativeInteger ;\s*",
            r"\1",
            "s03-pfs-bicr-hr",
            "needs exactly one end offset",
        ),
        (
            r"qudt:numericValue 11\.07 ;",
            'qudt:numericValue "11.07" ;',
            "s03-pfs-investigator-median-lerociclib",
            "must be one xsd:decimal",
        ),
        (
            r"qudt:numericValue 46\.7 ;",
            "qudt:numericValue 140.0 ;",
            "s03-safety-grade-3-4-neutropenia-lerociclib",
            "between 0 and 100",
        ),
    ],
    ids=["offset-removed", "value-as-plain-string", "percentage-140"],
)
def test_a_broken_copy_of_the_turtle_fails_naming_the_claim(
    build_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pattern: str,
    replacement: str,
    claim: str,
    message: str,
) -> None:
    anchor = f"/{claim}/quote/position> a" if "offset" in message else f"/{claim}> a ckg:Claim"
    edited = _break(build_dir, tmp_path, pattern, replacement, anchor)
    assert main(["validate", str(edited)]) == EXIT_INVALID
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if message in line)
    assert f"claim '{claim}'" in line
    assert re.search(rf"{ARTICLE_ID}/claims/\S+\.yaml:\d+: claim '{claim}'", line)


def test_validate_refuses_unreadable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle", encoding="utf-8")
    assert main(["validate", str(bad)]) == EXIT_UNUSABLE
    assert "cannot parse" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.ttl")]) == EXIT_UNUSABLE
    assert main(["validate", str(tmp_path / "file.docx")]) == EXIT_UNUSABLE


def test_build_with_shape_violations_exits_1_and_changes_nothing(
    corpus_copy: Path, build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["build", "--out", str(out), "--quiet"]) == EXIT_OK
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    claims = corpus_copy / ARTICLE_ID / "claims" / "03a-leonarda1-design-efficacy.yaml"
    text = claims.read_text(encoding="utf-8")
    assert text.count("\n  value: 11.07\n") == 1
    claims.write_text(text.replace("\n  value: 11.07\n", "\n  value: 11.08\n"), "utf-8")
    assert (
        main(["build", "--corpus", str(corpus_copy), "--out", str(out), "--quiet"]) == EXIT_INVALID
    )
    err = capsys.readouterr().err
    assert "The number 11.08 is not printed in the claim's quote" in err
    assert re.search(
        r"03a-leonarda1-design-efficacy\.yaml:\d+: claim 's03-pfs-investigator-median-lerociclib'",
        err,
    )
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_build_with_unusable_input_exits_2_naming_file_and_line(
    corpus_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = corpus_copy / ARTICLE_ID / "claims" / "02-mechanism.yaml"
    claims.write_text(
        claims.read_text(encoding="utf-8").replace("unit: NanoMOL-PER-L", "unit: nM", 1), "utf-8"
    )
    assert (
        main(["build", "--corpus", str(corpus_copy), "--out", str(tmp_path / "o")]) == EXIT_UNUSABLE
    )
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(claims))}:\d+: claim '\S+': unknown unit 'nM'", err)
    assert not (tmp_path / "o").exists()


def test_coverage_is_complete(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage"]) == EXIT_OK
    assert "0 uncovered" in capsys.readouterr().out


def test_coverage_lists_a_number_no_claim_covers(
    corpus_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = corpus_copy / ARTICLE_ID / "claims" / "01-landscape.yaml"
    text = claims.read_text(encoding="utf-8")
    start = text.index("- id: s01-new-cases-china-2022\n")
    end = text.index("\n- id:", start + 1) + 1
    claims.write_text(text[:start] + text[end:], encoding="utf-8")
    assert main(["coverage", "--corpus", str(corpus_copy)]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert re.search(r"UNCOVERED \S+article\.txt:\d+:\d+: 357200", out)


def test_coverage_flags_a_stale_exclusion(
    corpus_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage = corpus_copy / ARTICLE_ID / "coverage.yaml"
    coverage.write_text(
        coverage.read_text(encoding="utf-8")
        + '- number: "11.07"\n  quote: "reached 11.07 months"\n  reason: test\n',
        encoding="utf-8",
    )
    assert main(["coverage", "--corpus", str(corpus_copy)]) == EXIT_INVALID
    assert "UNUSED EXCLUSION" in capsys.readouterr().out


@pytest.mark.parametrize("command", [[], ["build"], ["validate"], ["coverage"]])
def test_help_explains_every_command(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert "usage: kg" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_UNUSABLE
    assert "commands" in capsys.readouterr().out
