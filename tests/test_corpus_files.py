"""Nothing in a corpus folder is dropped silently (issue 13, item 1): what the loader would
skip is refused (exit 2, the path named) or, where a curator may mean it, a warning naming
what is left out; the summary says what changed since the last build."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kg.cli import EXIT_OK, EXIT_UNUSABLE, main

from .conftest import TEST_CORPUS

ARTICLE = "mini-trial-followup"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))


def _build(corpus: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["build", "--corpus", str(corpus), "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path, words: str
) -> None:
    code, _, err = _build(corpus, tmp_path / "b", capsys)
    assert code == EXIT_UNUSABLE, err
    line = next((line for line in err.splitlines() if str(path) in line), "")
    assert words in line, err
    assert not (tmp_path / "b").exists()


def test_an_empty_claims_file_is_refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = corpus / ARTICLE / "claims" / "follow-up.yaml"
    claims.write_text("", encoding="utf-8")
    _refused(corpus, tmp_path, capsys, claims, "empty")


def test_a_claims_file_of_comments_only_is_refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = corpus / ARTICLE / "claims" / "follow-up.yaml"
    claims.write_text("# claims to come\n\n", encoding="utf-8")
    _refused(corpus, tmp_path, capsys, claims, "empty")


@pytest.mark.parametrize("suffix", [".yml", ".YAML"])
def test_a_claims_file_with_another_yaml_extension_is_refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    claims = corpus / ARTICLE / "claims" / "follow-up.yaml"
    renamed = claims.rename(claims.with_suffix(suffix))
    _refused(corpus, tmp_path, capsys, renamed, "rename it to follow-up.yaml")


def test_a_folder_inside_claims_is_refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = corpus / ARTICLE / "claims" / "more"
    folder.mkdir()
    (folder / "extra.yaml").write_text("- id: x\n", encoding="utf-8")
    _refused(corpus, tmp_path, capsys, folder, "a folder")


def test_a_link_loop_inside_claims_is_refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = corpus / ARTICLE / "claims" / "loop"
    os.symlink(loop.name, loop)  # points at itself
    _refused(corpus, tmp_path, capsys, loop, "link loop")


def test_a_broken_link_inside_claims_is_refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = corpus / ARTICLE / "claims" / "moved"
    os.symlink(tmp_path / "nowhere", link)
    _refused(corpus, tmp_path, capsys, link, "broken link")


def test_an_article_folder_without_article_yaml_is_refused(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = corpus / ARTICLE / "article.yaml"
    meta.rename(meta.with_suffix(".yml"))
    _refused(corpus, tmp_path, capsys, meta, "rename article.yml to article.yaml")


def test_an_article_without_claims_folder_is_built_with_a_warning(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b"
    assert _build(corpus, out, capsys)[0] == EXIT_OK
    shutil.rmtree(corpus / ARTICLE / "claims")
    code, stdout, err = _build(corpus, out, capsys)
    assert code == EXIT_OK, err
    assert f"warning: {corpus / ARTICLE}/ has no claims/ folder" in err
    assert f"warning: {corpus / ARTICLE}/ has no claims/ folder" in stdout  # and in the summary
    assert "since the last build: articles: 1 changed; claims: 3 removed" in stdout


def test_other_files_and_folders_are_left_out_with_a_warning(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus / "notes").mkdir()
    (corpus / "notes" / "todo.md").write_text("more articles\n", encoding="utf-8")
    note = corpus / ARTICLE / "claims" / "follow-up.yaml.bak"
    note.write_text("- id: old\n", encoding="utf-8")
    (corpus / ARTICLE / "claims" / ".follow-up.yaml.swp").write_bytes(b"\0")  # hidden: not read
    code, _, err = _build(corpus, tmp_path / "b", capsys)
    assert code == EXIT_OK, err
    assert f"warning: {corpus / 'notes'}/ left out: not an article folder" in err
    assert f"warning: {note} left out: only *.yaml files" in err
    assert ".swp" not in err


def test_the_summary_counts_what_changed_since_the_last_build(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b"
    assert "since the last build: first build" in _build(corpus, out, capsys)[1]
    assert (
        "since the last build: articles: none changed; claims: none changed"
        in (_build(corpus, out, capsys)[1])
    )
    claims = corpus / ARTICLE / "claims" / "follow-up.yaml"
    text = claims.read_text(encoding="utf-8")
    text = text.split("- id: drug-a-inhibits-kinase-1")[0]  # the last claim removed
    claims.write_text(text.replace('value: "11.2"', 'value: "11.2"\n  note: a new note'), "utf-8")
    code, stdout, err = _build(corpus, out, capsys)
    assert code == EXIT_OK, err
    assert "since the last build: articles: 1 changed; claims: 1 removed, 1 changed" in stdout
