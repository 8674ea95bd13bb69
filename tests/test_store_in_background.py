"""The store is loaded in a thread while the corpus files are written: the store it leaves is
the one a build that loads it in line leaves, and a failure there is the build's failure,
raised in the caller with the folder left as it was."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from kg import pipeline
from kg.pipeline import STORE, build

from .conftest import TEST_CORPUS


def _quads(folder: Path) -> list[str]:
    store = ox.Store.read_only(str(folder / STORE))
    try:
        return sorted(map(str, store.quads_for_pattern(None, None, None, None)))
    finally:
        del store


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and STORE not in p.relative_to(folder).parts
    }


@pytest.fixture
def threads_started(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each store load of the test went aside (True) or ran in line."""
    started: list[bool] = []

    class Recording(pipeline._Background):
        def __init__(self, parallel: bool, *work: Any) -> None:
            started.append(parallel)
            super().__init__(parallel, *work)

    monkeypatch.setattr(pipeline, "_Background", Recording)
    return started


def test_the_store_loaded_aside_equals_the_one_loaded_in_line(
    tmp_path: Path, threads_started: list[bool]
) -> None:
    aside, in_line = tmp_path / "aside", tmp_path / "in-line"
    build(TEST_CORPUS, aside, jobs=2)
    build(TEST_CORPUS, in_line, jobs=1)  # -j 1: in line
    assert threads_started == [True, False]
    quads = _quads(aside)
    assert len(quads) > 1000
    assert quads == _quads(in_line)


class StoreBroke(OSError):
    pass


def test_a_failure_while_loading_aside_is_raised_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads_started: list[bool]
) -> None:
    corpus = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    out = tmp_path / "b"
    build(corpus, out, jobs=2)
    before, quads = _files(out), _quads(out)
    for claims in corpus.glob("*/claims/*.yaml"):  # every article stale: files and store
        claims.write_text(claims.read_text(encoding="utf-8") + "\n", encoding="utf-8")

    def broken(*args: object) -> None:
        raise StoreBroke("disk full (a test)")

    monkeypatch.setattr(pipeline, "_update_store", broken)
    with pytest.raises(StoreBroke, match="disk full"):
        build(corpus, out, jobs=2)
    assert threads_started[-1] is True
    monkeypatch.undo()
    after = _files(out)
    kept = {n: b for n, b in after.items() if not n.startswith("cache/")}
    assert kept == {n: b for n, b in before.items() if not n.startswith("cache/")}
    assert _quads(out) == quads


def test_a_store_loaded_from_empty_is_compacted_and_one_updated_in_place_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.store

    compacted: list[int] = []
    real = kg.store.compact

    def counting(store: ox.Store) -> None:
        compacted.append(len(store))
        real(store)

    monkeypatch.setattr(kg.store, "compact", counting)
    corpus = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    out = tmp_path / "b"
    build(corpus, out, jobs=1)
    assert len(compacted) == 1 and compacted[0] > 1000  # after the load, before the flush
    quads = _quads(out)
    claims = sorted(corpus.glob("*/claims/*.yaml"))[0]  # one article changed: in place
    claims.write_text(claims.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    build(corpus, out, jobs=1)
    assert len(compacted) == 1
    assert _quads(out) == quads  # a blank line changes no triple
    shutil.rmtree(out / STORE)  # the store gone: loaded from empty again
    build(corpus, out, jobs=1)
    assert len(compacted) == 2 and _quads(out) == quads
