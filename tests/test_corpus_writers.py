"""The corpus-wide files written by Oxigraph (issue 15): the same triples as rdflib's union of
the corpus, every literal's lexical form and language tag as built, and KGX from the units'
cached edges equal to KGX rendered from the union in memory."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import XSD

from kg.build import BuiltCorpus, build_corpus
from kg.kgx import render_kgx
from kg.load import load_corpus
from kg.namespaces import PREFIXES
from kg.pipeline import build
from kg.serialize import write_jsonld, write_turtle

from .conftest import BUNDLED_CORPUS, TEST_CORPUS

Exact = tuple[str, str, str, str | None, str | None]


def exact(graph: Graph) -> set[Exact]:
    """Each triple with its object's lexical form, datatype and language as written: rdflib
    compares decimals by value, and "0.50" must not pass for "0.5". Language tags in lower
    case: Oxigraph writes them so (BCP 47 tags are case-insensitive; RDF 1.1 allows it)."""
    return {
        (str(s), str(p), str(o), *(
            (str(o.datatype) if o.datatype else None, o.language and o.language.lower())
            if isinstance(o, Literal)
            else (type(o).__name__, None)
        ))
        for s, p, o in graph
    }  # fmt: skip


def _decimals(graph: Graph) -> set[str]:
    return {str(o) for o in graph.objects() if isinstance(o, Literal) and o.datatype == XSD.decimal}


@pytest.fixture(scope="module", params=["bundled", "test"])
def corpus_build(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BuiltCorpus, Path]:
    """A corpus built in memory by rdflib, and by ``kg build`` (every format) into a folder."""
    folder = BUNDLED_CORPUS if request.param == "bundled" else TEST_CORPUS
    out = tmp_path_factory.mktemp(f"build-{request.param}")
    outcome = build(folder, out)
    assert outcome.conforms
    return build_corpus(load_corpus(folder)), out


@pytest.mark.parametrize(("name", "rdf_format"), [
    ("claimkg.ttl", "turtle"), ("claimkg.jsonld", "json-ld"), ("claimkg.nt", "nt"),
])  # fmt: skip
def test_corpus_files_hold_exactly_the_union_built_by_rdflib(
    corpus_build: tuple[BuiltCorpus, Path], name: str, rdf_format: str
) -> None:
    built, out = corpus_build
    parsed = Graph().parse(out / name, format=rdf_format)
    assert exact(parsed) == exact(built.graph)


def test_decimals_keep_their_printed_form(corpus_build: tuple[BuiltCorpus, Path]) -> None:
    built, out = corpus_build
    printed = _decimals(built.graph)
    assert printed  # the corpus has decimals to check
    for name, rdf_format in (("claimkg.ttl", "turtle"), ("claimkg.jsonld", "json-ld")):
        assert _decimals(Graph().parse(out / name, format=rdf_format)) == printed, name


def test_kgx_from_the_units_equals_kgx_of_the_union(corpus_build: tuple[BuiltCorpus, Path]) -> None:
    built, out = corpus_build
    assert list((out / "cache" / "units").glob("*/*/edges.tsv"))  # made from the units' parts
    expected = render_kgx(built.graph)
    for name, text in expected.items():
        assert (out / name).read_text(encoding="utf-8") == text, name


TRICKY = """\
<http://ex.org/b> <http://ex.org/p> "0.50"^^<http://www.w3.org/2001/XMLSchema#decimal> .
<http://ex.org/b> <http://ex.org/p> "65"^^<http://www.w3.org/2001/XMLSchema#decimal> .
<http://ex.org/b> <http://ex.org/q> "chat"@fr .
<http://ex.org/b> <http://ex.org/q> "colour"@en-GB .
<http://ex.org/b> <http://ex.org/r> "x> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> y" .
<http://ex.org/b> <http://ex.org/r> "a ]},{\\"@id\\": b" .
<http://ex.org/b> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://ex.org/C> .
<http://ex.org/b> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://ex.org/D> .
<http://ex.org/c> <http://ex.org/p> "1.0E3"^^<http://www.w3.org/2001/XMLSchema#double> .
<http://ex.org/c> <http://ex.org/p> "007"^^<http://www.w3.org/2001/XMLSchema#integer> .
"""


def test_writers_keep_lexical_forms_tags_and_put_types_first(tmp_path: Path) -> None:
    source = tmp_path / "graph.nt"
    source.write_text(TRICKY, encoding="utf-8")
    other = tmp_path / "other.nt"  # a second graph file describing the same subject
    other.write_text('<http://ex.org/b> <http://ex.org/s> "more" .\n', encoding="utf-8")
    expected = exact(Graph().parse(data=TRICKY + other.read_text("utf-8"), format="nt"))
    turtle, jsonld = tmp_path / "out.ttl", tmp_path / "out.jsonld"
    write_turtle([source, other], turtle, {"ex": "http://ex.org/"})
    write_jsonld([source, other], jsonld)
    assert exact(Graph().parse(turtle, format="turtle")) == expected
    assert exact(Graph().parse(jsonld, format="json-ld")) == expected
    text = turtle.read_text(encoding="utf-8")
    assert "ex:b a ex:C" in text and " 0.50 " in text and '"65"^^' in text
    assert len(json.loads(jsonld.read_text(encoding="utf-8"))) == 3  # b, c, and b again


def test_writers_are_deterministic(corpus_build: tuple[BuiltCorpus, Path], tmp_path: Path) -> None:
    _, out = corpus_build
    prefixes = {p: n for p, n in PREFIXES.items() if p != "id"}
    for name in ("a", "b"):  # each from copies of the graph files, none of their blocks cached
        copies = tmp_path / f"units-{name}"
        files = []
        for index, path in enumerate(sorted((out / "cache" / "units").glob("*/*/*.nt"))):
            files.append(copies / f"{index}.nt")
            files[-1].parent.mkdir(exist_ok=True)
            shutil.copyfile(path, files[-1])
        write_turtle(files, tmp_path / f"{name}.ttl", prefixes)
        write_jsonld(files, tmp_path / f"{name}.jsonld")
    for suffix in ("ttl", "jsonld"):
        assert (tmp_path / f"a.{suffix}").read_bytes() == (tmp_path / f"b.{suffix}").read_bytes()


def test_ntriples_hold_each_graph_sorted_graph_after_graph(
    corpus_build: tuple[BuiltCorpus, Path],
) -> None:
    _, out = corpus_build
    outcome = build(None if "bundled" in out.name else TEST_CORPUS, out)
    files = outcome.graph_files()
    assert len(files) > 2
    lines = (out / "claimkg.nt").read_bytes().splitlines(keepends=True)
    start = 0
    for graph in files:
        block = graph.path.read_bytes().splitlines(keepends=True)
        assert block == sorted(block) and lines[start : start + len(block)] == block, graph.name
        start += len(block)
    assert start == len(lines)


def test_a_rebuild_after_a_change_writes_what_a_cold_build_writes(tmp_path: Path) -> None:
    """The files assembled from cached blocks are byte for byte those of a cold build of
    the changed corpus: no block of the article's old version survives anywhere."""
    corpus = Path(shutil.copytree(TEST_CORPUS, tmp_path / "corpus"))
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    build(corpus, warm)
    shutil.copyfile(warm / "claimkg.ttl", tmp_path / "first.ttl")
    claims = corpus / "mini-trial-followup" / "claims" / "follow-up.yaml"
    claims.write_text(claims.read_text("utf-8").split("- id: drug-a-inhibits-kinase-1")[0], "utf-8")
    assert build(corpus, warm).rebuilt == ["mini-trial-followup"]
    build(corpus, cold)
    names = sorted(p.name for p in cold.iterdir() if p.is_file())
    assert "claimkg.trig" in names and "claimkg.ttl" in names and "claimkg.jsonld" in names
    for name in names:
        assert (warm / name).read_bytes() == (cold / name).read_bytes(), name
    gone = "claim/mini-trial-followup/drug-a-inhibits-kinase-1"
    assert gone in (tmp_path / "first.ttl").read_text("utf-8")
    for name in ("claimkg.ttl", "claimkg.nt", "claimkg.jsonld", "claimkg.trig", "claimkg.nq"):
        assert gone not in (warm / name).read_text("utf-8"), name


def test_files_written_two_at_a_time_keep_their_order_and_a_failure_waits_for_the_rest(
    tmp_path: Path,
) -> None:
    """A failing format fails the call, but only once every other file has been written
    (none is still being written when the caller discards its staging folder)."""
    from kg.serialize import _Writers

    def slow(text: str) -> Callable[[Path], None]:
        def write(path: Path) -> None:
            time.sleep(0.2)
            path.write_text(text, encoding="utf-8")

        return write

    def broken(path: Path) -> None:
        raise OSError("disk full (a test)")

    writers = _Writers(lambda message: None)
    for name in ("a", "b", "c"):
        writers.submit(tmp_path / name, slow(name))
    assert writers.wait() == [tmp_path / n for n in ("a", "b", "c")]

    writers = _Writers(lambda message: None)
    writers.submit(tmp_path / "first", broken)
    writers.submit(tmp_path / "second", slow("second"))
    writers.submit(tmp_path / "third", slow("third"))
    with pytest.raises(OSError, match="disk full"):
        writers.wait()
    assert (tmp_path / "third").read_text(encoding="utf-8") == "third"
    assert not (tmp_path / "first").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left

    late = tmp_path / "late"
    with pytest.raises(RuntimeError, match="the caller's own"), _Writers(lambda m: None) as writers:
        writers.submit(late, slow("late"))
        raise RuntimeError("the caller's own failure")
    assert late.read_text(encoding="utf-8") == "late"  # ended before the failure went up


def test_article_blocks_come_from_the_workers_as_the_files_would_render_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each article's blocks of the RDF files are rendered by the worker that built it
    (``kg.blocks.write_unit_blocks``), so that writing the files only copies them (KGX
    edge blocks need the shared unit's ids: rendered when written); with no block from the
    workers, the files rendered when written are byte for byte the same."""
    import kg.serialize
    import kg.units

    rendered: list[str] = []
    real = kg.serialize._cached

    def counting(chunk: Path, render: Callable[[], bytes]) -> Path:
        if not chunk.is_file() and not chunk.name.startswith("edges.tsv."):  # KGX: here
            rendered.append(chunk.parent.parent.name)  # the unit
        return real(chunk, render)

    monkeypatch.setattr(kg.serialize, "_cached", counting)
    from_workers = tmp_path / "workers"
    assert build(TEST_CORPUS, from_workers, jobs=2).conforms
    assert rendered and set(rendered) == {"_shared"}  # only the shared unit's, when written
    rendered.clear()
    monkeypatch.setattr(kg.units, "write_unit_blocks", lambda *args: None)  # forked too
    when_written = tmp_path / "when-written"
    assert build(TEST_CORPUS, when_written, jobs=2).conforms
    articles = {p.parent.name for p in TEST_CORPUS.glob("*/article.yaml")}
    assert articles <= set(rendered)
    for name in ("claimkg.ttl", "claimkg.nq", "claimkg.jsonld", "claimkg.trig", "claimkg.nt"):
        assert (from_workers / name).read_bytes() == (when_written / name).read_bytes(), name


def test_workers_render_only_the_blocks_of_the_formats_asked_for(tmp_path: Path) -> None:
    """An N-Quads build renders no Turtle, TriG or JSON-LD block; a later default build of
    the same folder renders them when it writes the files, as a fresh build would."""
    out, fresh = tmp_path / "b", tmp_path / "fresh"
    assert build(TEST_CORPUS, out, formats=("nq",), jobs=2).conforms
    articles = [p.parent.name for p in TEST_CORPUS.glob("*/article.yaml")]
    units = [out / "cache" / "units" / article for article in articles]
    blocks = {p.name.split(".", 2)[-1].split("-")[0] for u in units for p in u.glob("*/*.n[tq].*")}
    assert blocks == {"nq"}
    assert build(TEST_CORPUS, out, jobs=2).conforms  # every format: the units are cached
    assert build(TEST_CORPUS, fresh, jobs=2).conforms
    for name in ("claimkg.ttl", "claimkg.nq", "claimkg.jsonld", "claimkg.trig"):
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


def test_block_files_name_each_block_as_block_file_does(tmp_path: Path) -> None:
    """The writers name a list of blocks at once (the prefixes or ids hashed once); the
    names are those ``block_file`` gives, and a change of what a block depends on renames it."""
    from kg.blocks import JSONLD, TTL, block_file, block_files

    sources = [tmp_path / "a" / "graph.nt", tmp_path / "b" / "graph.nt"]
    ids = {"http://example.org/x": "ex:x", "http://example.org/y": "ex:y"}
    for kind, depends in ((TTL, ids), ("kgx", ids), (JSONLD, None)):
        one_by_one = [block_file(s, kind, depends) for s in sources]
        assert block_files(sources, kind, depends) == one_by_one
    renamed = block_files(sources, "kgx", {**ids, "http://example.org/z": "ex:z"})
    assert set(renamed).isdisjoint(block_files(sources, "kgx", ids))
    assert [p.parent for p in renamed] == [s.parent for s in sources]
