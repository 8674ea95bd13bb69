"""The build folder belongs to one corpus and holds one set of outputs (issue 13, item 5):
a read command on another corpus refuses; a refused or stopped build changes nothing; a
build stopped while putting its outputs in place is finished by the next command; every
output is the same, byte for byte, whatever Python's hash seed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kg.build_folder import CACHE, PENDING, read_manifest
from kg.cli import EXIT_INVALID, EXIT_OK, EXIT_UNUSABLE, main
from kg.kgx import KGX_FILES
from kg.pipeline import build
from kg.serialize import OUTPUT_FILES, UNION_FILES
from kg.store import open_store

from .conftest import REPO, TEST_CORPUS

OUTPUTS = sorted(OUTPUT_FILES | UNION_FILES | KGX_FILES)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (the store's too) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _kg(*args: str) -> int:
    return main([*args, "-q"])


def test_a_read_command_on_another_corpus_refuses_and_changes_nothing(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b"
    assert _kg("build", "--corpus", str(corpus), "--out", str(out)) == EXIT_OK
    before = _tree(out)
    capsys.readouterr()
    assert main(["query", "claims-by-type", "--build", str(out)]) == EXIT_UNUSABLE  # bundled
    err = capsys.readouterr().err
    assert f"{out}/ holds the build of another corpus ({corpus.resolve()})" in err
    assert "--build DIR" in err
    assert _tree(out) == before


def test_kg_build_takes_a_folder_over_from_another_corpus_saying_so(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b"
    assert _kg("build", "--corpus", str(TEST_CORPUS), "--out", str(out)) == EXIT_OK
    assert main(["build", "--corpus", str(corpus), "--out", str(out)]) == EXIT_OK
    assert f"warning: {out}/ held the build of {TEST_CORPUS.resolve()}" in capsys.readouterr().err
    assert read_manifest(out)["corpus"] == str(corpus.resolve())


@pytest.mark.parametrize("kind", ["violation", "unusable"])
def test_a_refused_build_changes_nothing_in_the_folder(
    corpus: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "b"
    assert _kg("build", "--corpus", str(corpus), "--out", str(out)) == EXIT_OK
    before = _tree(out)
    claims = corpus / "mini-trial-followup" / "claims" / "follow-up.yaml"
    broken = {"violation": ('value: "11.2"', 'value: "11.3"'), "unusable": ("unit: MO", "unit: X")}
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.replace(*broken[kind]), encoding="utf-8")
    expected = EXIT_INVALID if kind == "violation" else EXIT_UNUSABLE
    assert _kg("build", "--corpus", str(corpus), "--out", str(out)) == expected
    assert _tree(out) == before


def test_outputs_are_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    folders = []
    for seed in ("1", "2"):
        folder = tmp_path / f"b{seed}"
        done = subprocess.run(
            [sys.executable, "-m", "kg.cli", "build", "--corpus", str(TEST_CORPUS), "--out",
             str(folder), "-q"],
            cwd=REPO, env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        folders.append(folder)
    for name in OUTPUTS:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    first, second = (read_manifest(f) for f in folders)
    for manifest in (first, second):
        manifest.pop("corpus")
    assert first == second


def test_changing_the_formats_replaces_the_whole_set(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert _kg("build", "--corpus", str(corpus), "--out", str(out)) == EXIT_OK
    assert _kg("build", "--corpus", str(corpus), "--out", str(out), "--format", "nq") == EXIT_OK
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    assert files == ["claimkg.nq", "validation-report.ttl"]
    assert read_manifest(out)["files"] == files


def test_format_none_keeps_only_the_store_and_a_later_format_writes_from_the_cache(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15, item 3: the corpus-wide files written on request. ``--format none``
    updates the store (an edit is queryable at once) and removes the files it would leave
    stale; a later ``--format`` writes them from the cached units, the same bytes as a
    build that wrote them all along."""
    out, whole = tmp_path / "b", tmp_path / "whole"
    assert _kg("build", "--corpus", str(corpus), "--out", str(out), "--format", "none") == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["cache", "store"]
    assert read_manifest(out)["files"] == []
    claims = corpus / "mini-trial-followup" / "claims" / "follow-up.yaml"
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.split("- id: drug-a-inhibits-kinase-1")[0], encoding="utf-8")
    assert _kg("build", "--corpus", str(corpus), "--out", str(out), "--format", "none") == EXIT_OK
    gone = "claim/mini-trial-followup/drug-a-inhibits-kinase-1"
    assert not _store_mentions(out, gone)
    assert _store_mentions(out, "claim/mini-trial-followup/")
    argv = ["query", "claims-by-type", "--corpus", str(corpus), "--build", str(out), "-q"]
    assert main([*argv, "--format", "csv"]) == EXIT_OK  # a read command keeps the set: none
    assert sorted(p.name for p in out.iterdir()) == ["cache", "store"]
    capsys.readouterr()
    assert main(["build", "--corpus", str(corpus), "--out", str(out), "--format", "nt,ttl"]) == 0
    assert "rebuilt 0 of" in capsys.readouterr().out  # no unit built again, only written
    assert _kg("build", "--corpus", str(corpus), "--out", str(whole)) == EXIT_OK
    for name in ("claimkg.nt", "claimkg.ttl", "validation-report.ttl"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert gone not in (out / "claimkg.nt").read_text(encoding="utf-8")
    assert _kg("build", "--corpus", str(corpus), "--out", str(out), "--format", "none") == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["cache", "store"]  # the set, replaced


def _store_mentions(out: Path, fragment: str) -> bool:
    store = open_store(out / "store", read_only=True)
    ask = f'ASK {{ GRAPH ?g {{ ?s ?p ?o FILTER(CONTAINS(STR(?s), "{fragment}")) }} }}'
    return bool(store.query(ask))


def test_format_none_cannot_be_mixed_with_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["build", "--format", "none,nq"])
    assert stop.value.code == EXIT_UNUSABLE
    assert "--format: 'none,nq': 'none' (no file) stands alone" in capsys.readouterr().err


def test_a_read_command_keeps_the_files_in_step_with_the_store(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b"
    assert _kg("build", "--corpus", str(corpus), "--out", str(out)) == EXIT_OK
    shutil.copy(out / "claimkg.nt", tmp_path / "before.nt")
    claims = corpus / "mini-trial-followup" / "claims" / "follow-up.yaml"
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.split("- id: drug-a-inhibits-kinase-1")[0], encoding="utf-8")
    argv = ["query", "claims-by-type", "--corpus", str(corpus), "--build", str(out), "-q"]
    assert main([*argv, "--format", "csv"]) == EXIT_OK
    gone = "claim/mini-trial-followup/drug-a-inhibits-kinase-1"
    assert gone in (tmp_path / "before.nt").read_text(encoding="utf-8")
    for name in ("claimkg.nt", "claimkg.ttl", "claimkg.nq"):
        assert gone not in (out / name).read_text(encoding="utf-8"), name
    assert "follow-up" in capsys.readouterr().out


_KILLED_AT_THE_4TH_RENAME = """
import os, sys
from pathlib import Path
from kg.pipeline import build
from kg.store import open_store
real, renames = os.replace, [0]
def replace(source, target):
    if "pending" in f"{source} {target}":  # a rename of the commit, not a file's write
        renames[0] += 1
        if renames[0] == 4:  # staging became pending/; the store was moved aside, replaced
            os._exit(9)  # as if killed: no handler, no cleanup runs
    real(source, target)
os.replace = replace
build(Path(sys.argv[1]), Path(sys.argv[2]))
"""


class _Stop(BaseException):
    """Stands for the process being killed at one point."""


def test_a_build_stopped_while_writing_leaves_the_previous_set(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "b"
    assert build(corpus, out).conforms
    before = _tree(out)
    claims = corpus / "mini-trial-note" / "claims"
    first = next(claims.glob("*.yaml"))
    first.write_text(first.read_text(encoding="utf-8") + "\n", encoding="utf-8")

    def stop(*args: object, **kwargs: object) -> None:
        raise _Stop

    monkeypatch.setattr("kg.serialize.write_corpus_outputs", stop)  # imported when needed
    with pytest.raises(_Stop):
        build(corpus, out)
    assert _tree(out) == before


def test_a_build_killed_while_renaming_is_finished_by_the_next_command(
    corpus: Path, tmp_path: Path
) -> None:
    out, clean = tmp_path / "b", tmp_path / "clean"
    assert build(corpus, out).conforms
    claims = corpus / "mini-trial-followup" / "claims" / "follow-up.yaml"
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.split("- id: drug-a-inhibits-kinase-1")[0], encoding="utf-8")
    assert build(corpus, clean).conforms  # what the killed build would have written
    done = subprocess.run([sys.executable, "-c", _KILLED_AT_THE_4TH_RENAME, str(corpus), str(out)],
                          cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 9, done.stderr
    assert (out / CACHE / PENDING).is_dir()  # killed half-way: the journal is there
    outcome = build(corpus, out, formats=None)  # a read command finishes the renames
    assert outcome.rebuilt == [] and outcome.written == []
    assert not (out / CACHE / PENDING).exists()
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
