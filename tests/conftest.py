"""Shared fixtures: the bundled and the synthetic test corpus, loaded and built once."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from kg.build import BuiltCorpus, build_corpus
from kg.load import Corpus, load_corpus
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
