"""Shared fixtures: the bundled and the synthetic test corpus, loaded and built once."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pyoxigraph as ox
import pytest
import yaml
from rdflib import Dataset, Graph

import kg.screen.compiler
import kg.validate
from kg.build import BuiltCorpus, build_corpus
from kg.load import Article, Corpus, load_corpus
from kg.screen.program import _Program
from kg.store import as_rdflib
from kg.validate import ValidationResult, validate_graph

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
TEST_CORPUS = FIXTURES / "corpus"
REPO = TESTS.parent
GENERATOR = REPO / "benchmarks" / "synthetic_corpus.py"
BUNDLED_CORPUS = REPO / "corpus"
ARTICLE_ID = "lerociclib-leonarda1-interview"
ARTICLE_DIR = BUNDLED_CORPUS / ARTICLE_ID
SHARED_ARTICLE = REPO.parent / "shared" / "articles" / "lerociclib-leonarda1-interview.txt"
ARTICLE_SHA256 = "fbfb1a971f1b095af9af0ce6a9707a61922368d641306a516ee90a851719c9d3"


@pytest.fixture(scope="session", autouse=True)
def build_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where ``kg query``, ``kg check``… keep their store during the tests (not ./build)."""
    folder = tmp_path_factory.mktemp("kg-build")
    previous = os.environ.get("KG_BUILD")
    os.environ["KG_BUILD"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("KG_BUILD", None)
    else:
        os.environ["KG_BUILD"] = previous


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(BUNDLED_CORPUS)


@pytest.fixture(scope="session")
def built(corpus: Corpus) -> BuiltCorpus:
    return build_corpus(corpus)


@pytest.fixture(scope="session")
def validation(built: BuiltCorpus) -> ValidationResult:
    return validate_graph(built.graph)


@pytest.fixture(scope="session")
def test_built() -> BuiltCorpus:
    return build_corpus(load_corpus(TEST_CORPUS))


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus, for tests that break it."""
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


@pytest.fixture(scope="module")
def generator() -> Iterator[ModuleType]:
    """benchmarks/ is not a package: load the generator from its file."""
    spec = importlib.util.spec_from_file_location("synthetic_corpus", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


# ---------------------------------------------------------------- a corpus of several articles

EXTRA_ARTICLES = FIXTURES / "corpus-extra"
"""Fixture articles that report LEONARDA-1 figures as other sources print them."""


def the_interview(corpus: Corpus) -> Article:
    """The bundled interview, whatever other articles the corpus holds."""
    return next(a for a in corpus.articles if a.id == ARTICLE_ID)


@pytest.fixture(scope="session")
def interview(corpus: Corpus) -> Article:
    return the_interview(corpus)


def extend_corpus(target: Path) -> Path:
    """A copy of the bundled corpus plus the fixture articles: those of corpus-extra and
    the test corpus's two (with the test entities the bundled corpus does not define)."""
    shutil.copytree(BUNDLED_CORPUS, target)
    articles = [p.parent for p in EXTRA_ARTICLES.glob("*/article.yaml")]
    articles += [TEST_CORPUS / "mini-trial-note", TEST_CORPUS / "mini-trial-followup"]
    for article in articles:
        shutil.copytree(article, target / article.name)

    def records_of(path: Path) -> list[dict[str, object]]:
        return list(yaml.safe_load(path.read_text("utf-8")) or [])

    known = {r["id"] for p in (target / "entities").glob("*.yaml") for r in records_of(p)}
    for folder in (EXTRA_ARTICLES / "entities", TEST_CORPUS / "entities"):
        for path in sorted(folder.glob("*.yaml")):
            records = [r for r in records_of(path) if r["id"] not in known]
            known |= {r["id"] for r in records}
            out = target / "entities" / f"zz-{folder.parent.name}-{path.name}"
            out.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), "utf-8")
    return target


@pytest.fixture(scope="session")
def extended_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extend_corpus(tmp_path_factory.mktemp("extended") / "corpus")


@pytest.fixture(scope="session")
def extended(extended_corpus: Path) -> Corpus:
    return load_corpus(extended_corpus)


@pytest.fixture(scope="session")
def extended_built(extended: Corpus) -> BuiltCorpus:
    return build_corpus(extended)


def store_of(built: BuiltCorpus) -> Dataset:
    """The built corpus in an in-memory Oxigraph store, one named graph each, as ``kg``
    queries it (the default engine)."""
    store = ox.Store()
    for name, graph in built.graphs.items():
        data = graph.serialize(format="nt11", encoding="utf-8")
        store.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(name)))
    return as_rdflib(store)


@pytest.fixture(scope="session")
def bundled_store(built: BuiltCorpus) -> Dataset:
    return store_of(built)


@pytest.fixture(scope="session")
def extended_store(extended_built: BuiltCorpus) -> Dataset:
    return store_of(extended_built)


# ---------------------------------------------------------------- the validation screen


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


CLOSED_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ckg: <https://w3id.org/claimkg/vocab/> .
@prefix shape: <https://w3id.org/claimkg/shape/> .
shape:ClosedClaimShape a sh:NodeShape ; sh:targetClass ckg:Claim ; sh:closed true .
"""


def with_a_closed_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped shapes plus one the screen cannot compile (``sh:closed``), as read both
    as text (the screen's key) and as a graph (what it compiles)."""
    read, parsed = kg.validate._read, kg.validate._parsed

    def changed_text(name: str, base: str) -> str:
        text = read(name, base)
        return text + CLOSED_SHAPE if name == "shapes.ttl" else text

    def changed_graph(names: tuple[str, ...], base: str) -> Graph:
        graph = parsed(names, base)
        return graph + Graph().parse(data=CLOSED_SHAPE) if names == ("shapes.ttl",) else graph

    monkeypatch.setattr(kg.validate, "_read", changed_text)
    monkeypatch.setattr(kg.validate, "_parsed", changed_graph)
