"""The compiled screen kept in the build folder's cache (``kg.screen.stored``): read back
as the very program the compiler writes (and the ontology as encoded), made again when the
shapes, the ontology or the code change, and a corrupt or unwritable cache costs a
compilation, never a crash or a stale screen."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph

import kg.screen.compiler
import kg.validate
from kg import screen
from kg.build_folder import CACHE
from kg.namespaces import DEFAULT_BASE
from kg.pipeline import build
from kg.screen import run, stored
from kg.screen.program import _Combination

from .conftest import TEST_CORPUS, with_a_closed_shape


@pytest.fixture(autouse=True)
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with nothing compiled in this process, and leaves nothing; the
    screen shipped with the package is out of the way (``test_screen_shipped.py``)."""
    monkeypatch.setattr(stored, "SHIPPED", tmp_path / "not-shipped.json")
    screen._forget()
    yield
    screen._forget()


def _stored_key(folder: Path) -> str:
    key: str = json.loads((folder / stored.FILE).read_text("utf-8"))["key"]
    return key


def test_the_stored_program_is_the_compiled_one() -> None:
    program = screen.program()
    assert any(isinstance(check.test, _Combination) for check in program.checks)
    assert any(query.native is not None for query in program.queries)
    assert any(query.sources for query in program.queries)
    assert stored.decode(json.loads(json.dumps(stored.encode(program)))) == program


def test_a_second_run_reads_the_screen_instead_of_compiling_it(
    tmp_path: Path, compilations: list[int]
) -> None:
    screen.prepare(tmp_path)
    assert compilations == [1] and (tmp_path / stored.FILE).is_file()
    first = screen.program()
    screen._forget()  # as a new process would start
    screen.prepare(tmp_path)
    assert compilations == [1]
    assert screen.program() == first


def test_changed_shapes_are_compiled_again(
    tmp_path: Path, compilations: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen.prepare(tmp_path)
    before = _stored_key(tmp_path)
    screen._forget()
    with_a_closed_shape(monkeypatch)
    screen.prepare(tmp_path)
    assert compilations == [1, 1]
    assert _stored_key(tmp_path) != before
    with pytest.raises(screen.UnsupportedShapes, match="ClosedClaimShape: closed"):
        screen.program()  # the new shapes' verdict, not the stored program
    screen._forget()
    screen.prepare(tmp_path)  # the refusal is stored too: decided once
    assert compilations == [1, 1]
    with pytest.raises(screen.UnsupportedShapes, match="ClosedClaimShape: closed"):
        screen.program()


def test_changed_code_compiles_again(
    tmp_path: Path, compilations: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen.prepare(tmp_path)
    screen._forget()
    monkeypatch.setattr(kg.screen.compiler, "code_fingerprint", lambda: "other code")
    screen.prepare(tmp_path)
    assert compilations == [1, 1]
    screen._forget()
    screen.prepare(tmp_path)
    assert compilations == [1, 1]  # now stored under the new code


def test_another_base_is_compiled_for_itself(tmp_path: Path, compilations: list[int]) -> None:
    screen.prepare(tmp_path)
    screen.prepare(tmp_path, "http://example.org/kg/")
    assert compilations == [1, 1]
    assert screen.program("http://example.org/kg/") != screen.program(DEFAULT_BASE)


def _replaced(data: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of the stored JSON with the value at ``path`` replaced."""
    copy = json.loads(json.dumps(data))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


DAMAGES: dict[str, Callable[[Any], bytes]] = {
    "empty": lambda good: b"",
    "truncated": lambda good: json.dumps(good).encode("utf-8")[:-100],
    "not-utf8": lambda good: b"\xff\xfe" + json.dumps(good).encode("utf-8"),
    "not-an-object": lambda good: b"[]",
    "no-program": lambda good: json.dumps({**good, "program": None}).encode(),
    "no-ontology": lambda good: json.dumps(
        {"key": good["key"], "program": good["program"]}
    ).encode(),
    "bad-ontology": lambda good: json.dumps(_replaced(good, ("ontology", "typed"), "x")).encode(),
    "bad-focus": lambda good: json.dumps(_replaced(good, ("program", "focus"), 1)).encode(),
    "bad-query": lambda good: json.dumps(_replaced(good, ("program", "queries", 0), {})).encode(),
    "bad-leaf": lambda good: json.dumps(
        _replaced(good, ("program", "queries", 0, "leaf"), [1])
    ).encode(),
    "bad-rule": lambda good: json.dumps(
        _replaced(
            good,
            ("program", "checks"),
            [["s", {"rule": "nor", "pairs": "", "members": [], "low": 0, "high": None}]],
        )
    ).encode(),
    "bad-id": lambda good: json.dumps(
        _replaced(good, ("program", "checks"), [["s", {"leaf": [True, "k"]}]])
    ).encode(),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_corrupt_cache_is_compiled_again_and_rewritten(
    tmp_path: Path, compilations: list[int], damage: str
) -> None:
    screen.prepare(tmp_path)
    good, ontology = screen.program(), run._ontology(DEFAULT_BASE)
    path = tmp_path / stored.FILE
    path.write_bytes(DAMAGES[damage](json.loads(path.read_text("utf-8"))))
    screen._forget()
    screen.prepare(tmp_path)
    assert compilations == [1, 1]
    assert screen.program() == good and run._ontology(DEFAULT_BASE) == ontology
    assert stored.decode(json.loads(path.read_text("utf-8"))["program"]) == good


def test_the_ontology_is_read_with_the_program_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen.prepare(tmp_path)
    ontology = run._ontology(DEFAULT_BASE)
    assert "ClinicalTrial" in ontology.ntriples
    screen._forget()
    parsed = kg.validate._parsed

    def no_ontology(names: tuple[str, ...], base: str) -> Graph:
        assert names == ("shapes.ttl",), "the ontology was parsed again"
        return parsed(names, base)

    monkeypatch.setattr(kg.validate, "_parsed", no_ontology)
    screen.prepare(tmp_path)
    assert run._ontology(DEFAULT_BASE) == ontology


def test_a_changed_ontology_is_encoded_again(
    tmp_path: Path, compilations: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen.prepare(tmp_path)
    screen._forget()
    read, parsed = kg.validate._read, kg.validate._parsed
    extra = "<https://example.org/new> a <http://www.w3.org/2002/07/owl#Class> .\n"

    def changed_text(name: str, base: str) -> str:
        return read(name, base) + (extra if name == "units.ttl" else "")

    def changed_graph(names: tuple[str, ...], base: str) -> Graph:
        graph = parsed(names, base)
        return graph + Graph().parse(data=extra) if "units.ttl" in names else graph

    monkeypatch.setattr(kg.validate, "_read", changed_text)
    monkeypatch.setattr(kg.validate, "_parsed", changed_graph)
    screen.prepare(tmp_path)
    assert compilations == [1, 1]
    assert "https://example.org/new" in run._ontology(DEFAULT_BASE).ntriples


def test_a_cache_that_cannot_be_written_only_costs_the_compilation(
    tmp_path: Path, compilations: list[int]
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", "utf-8")
    screen.prepare(blocked / "cache")
    assert compilations == [1]
    assert screen.program().checks
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_build_stores_the_screen_in_its_folder(tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    out = tmp_path / "b"
    assert build(corpus, out, jobs=1).conforms
    path = out / CACHE / stored.FILE
    assert stored.decode(json.loads(path.read_text("utf-8"))["program"]) == screen.program()
