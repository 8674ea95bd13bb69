"""The compiled screen kept in the build folder's cache (``kg.screen.stored``): read back
as the very program the compiler writes, recompiled when the shapes or the code change,
and a corrupt or unwritable cache costs a compilation, never a crash or a stale screen."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph

import kg.screen.compiler
import kg.validate
from kg import screen
from kg.build_folder import CACHE
from kg.namespaces import DEFAULT_BASE
from kg.pipeline import build
from kg.screen import stored
from kg.screen.program import _Combination, _Program

from .conftest import TEST_CORPUS

CLOSED_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ckg: <https://w3id.org/claimkg/vocab/> .
@prefix shape: <https://w3id.org/claimkg/shape/> .
shape:ClosedClaimShape a sh:NodeShape ; sh:targetClass ckg:Claim ; sh:closed true .
"""


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    """Each test starts with nothing compiled in this process, and leaves nothing."""
    screen._forget()
    yield
    screen._forget()


@pytest.fixture
def compilations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per compilation of the shapes (of ``kg.screen.compiler.compile_shapes``)."""
    calls: list[int] = []
    original = kg.screen.compiler.compile_shapes

    def counted(shapes: Graph) -> _Program:
        calls.append(1)
        return original(shapes)

    monkeypatch.setattr(kg.screen.compiler, "compile_shapes", counted)
    return calls


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
    read, parsed = kg.validate._read, kg.validate._parsed

    def changed_text(name: str, base: str) -> str:
        text = read(name, base)
        return text + CLOSED_SHAPE if name == "shapes.ttl" else text

    def changed_graph(names: tuple[str, ...], base: str) -> Graph:
        graph = parsed(names, base)
        return graph + Graph().parse(data=CLOSED_SHAPE) if names == ("shapes.ttl",) else graph

    monkeypatch.setattr(kg.validate, "_read", changed_text)
    monkeypatch.setattr(kg.validate, "_parsed", changed_graph)
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


@pytest.mark.parametrize(
    "damage",
    [
        "",
        "{not json",
        "\xff\xfe",
        "[]",
        '{"key": "KEY"}',
        '{"key": "KEY", "program": {"focus": 1, "queries": [], "checks": []}}',
        '{"key": "KEY", "program": {"focus": "", "queries": [{"sparql": "x"}], "checks": []}}',
        '{"key": "KEY", "program": {"focus": "", "queries": [], '
        '"checks": [["s", {"rule": "nor", "pairs": "", "members": [], "low": 0, "high": null}]]}}',
        '{"key": "KEY", "program": {"focus": "", "queries": [], "checks": [["s", {"leaf": [1]}]]}}',
    ],
    ids=[
        "empty", "truncated", "not-utf8", "not-an-object", "no-program", "bad-focus",
        "bad-query", "bad-rule", "bad-leaf",
    ],
)  # fmt: skip
def test_a_corrupt_cache_is_compiled_again_and_rewritten(
    tmp_path: Path, compilations: list[int], damage: str
) -> None:
    screen.prepare(tmp_path)
    good = screen.program()
    key = _stored_key(tmp_path)
    (tmp_path / stored.FILE).write_bytes(damage.replace("KEY", key).encode("latin-1"))
    screen._forget()
    screen.prepare(tmp_path)
    assert compilations == [1, 1]
    assert screen.program() == good
    assert stored.decode(json.loads((tmp_path / stored.FILE).read_text("utf-8"))["program"]) == good


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
