"""A build with nothing changed reads no corpus file (issue 15): each file's digest and
verdict are kept in the build folder under its stat (``kg.build_plan.FileIndex``), and a file
whose stat changed, or changed too close to the last build to be told apart by its stat, is
read again: a changed file is never taken for the one of the last build, and a bad file is
reported on every build, not only the first."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import kg.build_plan
import kg.corpus_files
from kg.build_folder import CACHE
from kg.build_plan import FILE_INDEX, FileIndex
from kg.cli import EXIT_OK, EXIT_UNUSABLE, main
from kg.pipeline import build

from .conftest import TEST_CORPUS

ARTICLE = "mini-trial-followup"
SECOND = 1_000_000_000


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust every file changed before the build began: the copied corpus is seconds old."""
    monkeypatch.setattr(kg.build_plan, "RACY_NS", 0)


def _claims(corpus: Path) -> Path:
    return corpus / ARTICLE / "claims" / "follow-up.yaml"


def _same_size_change(path: Path) -> None:
    """Change a comment of ``path``, keeping its size, with a later mtime."""
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    changed = text.replace("follow-up note.", "follow-up NOTE.")
    assert changed != text and len(changed) == len(text)
    path.write_text(changed, encoding="utf-8")
    later = before.st_mtime_ns + SECOND  # a new mtime whatever the file system's tick
    os.utime(path, ns=(later, later))


def _refused(corpus: Path, out: Path, capsys: pytest.CaptureFixture[str], path: Path) -> str:
    code = main(["build", "--corpus", str(corpus), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE, err
    return next((line for line in err.splitlines() if str(path) in line), "")


@pytest.mark.usefixtures("no_racy_window")
def test_a_build_with_nothing_changed_reads_no_corpus_file(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "b"
    assert build(corpus, out).conforms
    assert (out / CACHE / FILE_INDEX).is_file()
    opened: list[str] = []

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return open(file, *args, **kwargs)

    def no_check(*args: object) -> None:
        raise AssertionError(f"the survey checked {args} again")

    monkeypatch.setattr(kg.build_plan, "open", spy_open, raising=False)
    monkeypatch.setattr(kg.corpus_files, "_unreadable", no_check)
    monkeypatch.setattr(kg.corpus_files, "_empty", no_check)
    outcome = build(corpus, out)
    assert outcome.rebuilt == [] and outcome.conforms
    assert [p for p in opened if p.startswith(str(corpus))] == []


@pytest.mark.usefixtures("no_racy_window")
def test_a_file_changed_with_a_new_mtime_and_the_same_size_is_rebuilt(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    assert build(corpus, out).conforms
    _same_size_change(_claims(corpus))
    assert build(corpus, out).rebuilt == [ARTICLE]
    assert build(corpus, out).rebuilt == []  # and the index now holds the new digest


@pytest.mark.usefixtures("no_racy_window")
def test_a_file_changed_with_its_mtime_set_back_is_rebuilt(corpus: Path, tmp_path: Path) -> None:
    """Its ctime tells (the file system sets it; ``os.utime`` cannot)."""
    out = tmp_path / "b"
    assert build(corpus, out).conforms
    claims = _claims(corpus)
    before = claims.stat()
    _same_size_change(claims)
    os.utime(claims, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert build(corpus, out).rebuilt == [ARTICLE]


def test_a_file_changed_right_after_a_build_keeping_its_size_and_mtime_is_rebuilt(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    claims = _claims(corpus)
    claims.write_text(claims.read_text(encoding="utf-8"), encoding="utf-8")  # changed just now
    assert build(corpus, out).conforms
    before = claims.stat()
    _same_size_change(claims)
    os.utime(claims, ns=(before.st_atime_ns, before.st_mtime_ns))  # as within one clock tick
    assert claims.stat().st_mtime_ns == before.st_mtime_ns
    assert build(corpus, out).rebuilt == [ARTICLE]


def _stat(mtime_ns: int, size: int = 10, inode: int = 7) -> os.stat_result:
    seconds = mtime_ns / SECOND
    times = (seconds,) * 6  # st_atime… (the sequence), then the floats of st_atime…
    return os.stat_result((0o100644, inode, 1, 1, 0, 0, size, *times, *(mtime_ns,) * 3))


def test_the_index_reads_again_a_file_changed_within_the_racy_window(
    corpus: Path, tmp_path: Path
) -> None:
    """Stats are made up, to stand for a file system whose clock ticks once a second: a
    file written just before a build and again within the same tick after it keeps its
    stat. Such a file is read again; one last changed well before the build is trusted (a
    change keeping size, mtime, ctime and inode is not seen, as by git)."""
    saved, path = tmp_path / FILE_INDEX, tmp_path / "file.yaml"
    path.write_bytes(b"- id: a\n")
    first = FileIndex(corpus, saved)
    racy, old = _stat(first.started - SECOND // 10), _stat(first.started - 10 * SECOND, inode=8)
    states = [first.state("racy.yaml", str(path), racy), first.state("old.yaml", str(path), old)]
    first.save()
    path.write_bytes(b"- id: b\n")  # the same size
    second = FileIndex(corpus, saved)
    assert second.state("racy.yaml", str(path), racy) != states[0]
    assert second.state("old.yaml", str(path), old) == states[1]
    assert FileIndex(tmp_path, saved).state("old.yaml", str(path), old) != states[1]  # corpus


@pytest.mark.usefixtures("no_racy_window")
def test_a_claims_file_emptied_after_a_good_build_is_refused_on_every_build(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b"
    assert main(["build", "--corpus", str(corpus), "--out", str(out), "-q"]) == EXIT_OK
    claims = _claims(corpus)
    size, mtime = claims.stat().st_size, claims.stat().st_mtime_ns
    claims.write_text("#" * (size - 1) + "\n", encoding="utf-8")  # the same size
    os.utime(claims, ns=(mtime + SECOND, mtime + SECOND))
    for _ in range(2):
        assert "empty" in _refused(corpus, out, capsys, claims)


@pytest.mark.usefixtures("no_racy_window")
@pytest.mark.parametrize("kind", ["broken link", "folder"])
def test_a_claims_file_made_unreadable_after_a_good_build_is_refused_on_every_build(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    out = tmp_path / "b"
    assert main(["build", "--corpus", str(corpus), "--out", str(out), "-q"]) == EXIT_OK
    claims = _claims(corpus)
    claims.unlink()
    if kind == "folder":
        claims.mkdir()
    else:
        os.symlink(tmp_path / "nowhere", claims)
    for _ in range(2):
        assert ("a folder" if kind == "folder" else "broken link") in _refused(
            corpus, out, capsys, claims
        )
