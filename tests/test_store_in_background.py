"""The store is loaded in a thread: from empty, while the units are built (``GraphLoader``),
else while the corpus files are written. The store it leaves is the one a build that loads
it in line leaves, and a failure there is the build's failure, raised in the caller with the
folder left as it was."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

import kg.store
from kg import pipeline
from kg.pipeline import STORE, build
from kg.store import GraphLoader

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


@pytest.fixture
def early_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many graphs each early store load of the test had been given when it started."""
    started: list[int] = []
    real = GraphLoader.start

    def start(self: GraphLoader) -> None:
        if self._thread is None:
            started.append(len(self._pending))
        real(self)

    monkeypatch.setattr(GraphLoader, "start", start)
    return started


def _stale(corpus: Path, every: bool = True) -> None:
    """Every unit (the entities, so every article too) or the first article changed by a
    blank line."""
    files = sorted(corpus.glob("*/claims/*.yaml"))
    for changed in sorted(corpus.glob("entities/*.yaml")) if every else files[:1]:
        changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")


def test_a_store_loaded_while_the_units_are_built_equals_the_one_loaded_in_line(
    tmp_path: Path, threads_started: list[bool], early_loads: list[int]
) -> None:
    aside, in_line = tmp_path / "aside", tmp_path / "in-line"
    build(TEST_CORPUS, aside, jobs=2)
    assert threads_started == [] and len(early_loads) == 1  # from empty: beside the units
    build(TEST_CORPUS, in_line, jobs=1)  # -j 1: in line
    assert threads_started == [False] and len(early_loads) == 1
    quads = _quads(aside)
    assert len(quads) > 1000
    assert quads == _quads(in_line)
    assert not list((aside / "cache").glob("staging-*"))


def test_a_store_updated_in_place_is_loaded_aside_of_the_files(
    tmp_path: Path, threads_started: list[bool], early_loads: list[int]
) -> None:
    corpus = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    out, in_line = tmp_path / "b", tmp_path / "in-line"
    build(corpus, out, jobs=2)
    _stale(corpus, every=False)  # one article: its graph replaced in a snapshot
    build(corpus, out, jobs=2)
    assert threads_started == [True] and len(early_loads) == 1
    _stale(corpus)  # every unit: no graph kept, so a new store beside the units
    build(corpus, out, jobs=2)
    assert threads_started == [True] and len(early_loads) == 2
    build(corpus, in_line, jobs=1)
    assert _quads(out) == _quads(in_line)


class StoreBroke(OSError):
    pass


def _broken(*args: object) -> None:
    raise StoreBroke("disk full (a test)")


@pytest.mark.parametrize("where", ["early", "aside"])
def test_a_failure_while_loading_is_raised_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    corpus = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    out = tmp_path / "b"
    build(corpus, out, jobs=2)
    before, quads = _files(out), _quads(out)
    _stale(corpus, every=where == "early")
    if where == "early":  # in the loader's thread, while the units are built
        monkeypatch.setattr(kg.store, "load_graphs", _broken)
    else:
        monkeypatch.setattr(pipeline, "_update_store", _broken)
    with pytest.raises(StoreBroke, match="disk full"):
        build(corpus, out, jobs=2)
    assert not _loading()
    monkeypatch.undo()
    after = _files(out)
    kept = {n: b for n, b in after.items() if not n.startswith("cache/")}
    assert kept == {n: b for n, b in before.items() if not n.startswith("cache/")}
    assert _quads(out) == quads
    assert not list((out / "cache").glob("staging-*"))


def test_a_refused_build_stops_the_early_load_and_leaves_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, early_loads: list[int]
) -> None:
    import kg.units
    from kg.validate import ValidationResult, Violation, validate_graph

    real = validate_graph

    def refusing(graph: Any, base: str, context: Any = None) -> ValidationResult:
        result = real(graph, base, context=context)
        if context is None:  # the shared unit conforms; every article is refused
            return result
        violation = Violation("ClaimShape", "refused (a test)", "urn:x", None, None, None, None,
                              "Violation")  # fmt: skip
        return ValidationResult(False, (violation,), result.report)

    corpus = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    out = tmp_path / "b"
    build(corpus, out, jobs=2)
    before, quads = _files(out), _quads(out)
    _stale(corpus)  # every unit stale: the new store is loaded beside the units
    monkeypatch.setattr(kg.units, "validate_graph", refusing)  # forked into the workers
    outcome = build(corpus, out, jobs=2)
    assert not outcome.conforms and len(early_loads) == 2
    assert not _loading()  # stopped, not left running under a folder being removed
    assert not list((out / "cache").glob("staging-*"))
    after = _files(out)
    kept = {n: b for n, b in after.items() if not n.startswith("cache/")}
    assert kept == {n: b for n, b in before.items() if not n.startswith("cache/")}
    assert _quads(out) == quads
    fresh = tmp_path / "fresh"
    assert not build(corpus, fresh, jobs=2).conforms
    assert not fresh.exists()  # a refused first build leaves no folder


def test_the_loader_loads_in_batches_once_started(tmp_path: Path) -> None:
    out = tmp_path / "b"
    build(TEST_CORPUS, out, jobs=1)
    graphs = [(g.name, g.path) for g in _graph_files(out)]
    assert len(graphs) >= 3
    loads: list[list[str]] = []
    real = kg.store.load_graphs

    def recording(store: ox.Store, batch: Any) -> None:
        batch = list(batch)
        loads.append([name for name, _ in batch])
        real(store, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kg.store, "load_graphs", recording)
        loader = GraphLoader(tmp_path / "store", batch=2)
        loader.add(graphs[:2], 2)
        assert loads == [] and loader._thread is None  # nothing before start
        loader.start()
        for graph in graphs[2:]:
            loader.add([graph], 1)
        loader.finish()
        loader.wait()
    assert [name for batch in loads for name in batch] == [name for name, _ in graphs]
    assert len(loads) == (len(graphs) + 1) // 2  # two triples a batch, the rest at the end
    store = ox.Store.read_only(str(tmp_path / "store"))
    try:
        loaded = sorted(map(str, store.quads_for_pattern(None, None, None, None)))
    finally:
        del store
    assert loaded == _quads(out)


def test_a_loader_failure_is_raised_unless_the_loader_is_abandoned(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kg.store, "load_graphs", _broken)
        loader = GraphLoader(tmp_path / "store", batch=1)
        loader.start()
        loader.add([("urn:x:g", tmp_path / "missing.nt")], 1)
        while loader.busy:  # the thread fails on its first batch
            time.sleep(0.01)
        with pytest.raises(StoreBroke):  # the next graph given: at once, not at the end
            loader.add([("urn:x:h", tmp_path / "missing.nt")], 1)
        late = GraphLoader(tmp_path / "late", batch=1)
        late.start()
        late.add([("urn:x:g", tmp_path / "missing.nt")], 1)
        late.finish()
        with pytest.raises(StoreBroke):
            late.wait()
        failing = GraphLoader(tmp_path / "other", batch=1)
        failing.start()
        failing.add([("urn:x:g", tmp_path / "missing.nt")], 1)
        failing.abandon()
        failing.wait()  # nothing raised: the store was not wanted


def _loading() -> bool:
    """Whether a store-loading thread of ours is still running."""
    return any(thread.name == "claimkg-store-load" for thread in threading.enumerate())


def _graph_files(folder: Path) -> list[Any]:
    from kg.build_folder import read_manifest
    from kg.build_plan import UnitRecord
    from kg.pipeline import BuildOutcome

    units = read_manifest(folder)["units"]
    records = {name: UnitRecord(**unit) for name, unit in units.items()}
    return BuildOutcome(records, [], [], [], {}, folder).graph_files()


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
    build(corpus, tmp_path / "early", jobs=2)  # loaded beside the units: compacted at the end
    assert len(compacted) == 3 and compacted[2] == compacted[0]
    assert _quads(tmp_path / "early") == quads
