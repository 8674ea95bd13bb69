"""The library queries tagged ``corpus-wide`` answer for every article that states such a
claim: on the synthetic corpus, more articles give more rows for each of them
(the scale benchmark marks them so, where their time grows with the corpus); no question is
both ``selective`` and ``corpus-wide``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pyoxigraph as ox
import pytest

from kg.pipeline import STORE, build
from kg.queries import list_queries, run_on_store

SMALL, LARGE, CLAIMS = 4, 30, 100


def _rows(folder: Path, names: list[str]) -> dict[str, int]:
    store = ox.Store.read_only(str(folder / STORE))
    try:
        queries = {q.name: q for q in list_queries()}
        rows = {}
        for name in names:
            answer = run_on_store(store, queries[name])
            assert answer is not None, name
            rows[name] = sum(1 for _ in answer)
        return rows
    finally:
        del store


def test_no_question_is_both_selective_and_corpus_wide() -> None:
    tags = [set(q.tags) for q in list_queries()]
    assert any("corpus-wide" in t for t in tags)
    assert not [t for t in tags if {"selective", "corpus-wide"} <= t]


@pytest.mark.slow
def test_each_corpus_wide_query_answers_more_for_more_articles(
    generator: ModuleType, tmp_path: Path
) -> None:
    wide = sorted(q.name for q in list_queries() if "corpus-wide" in q.tags)
    found = {}
    for articles in (SMALL, LARGE):
        corpus = generator.generate(tmp_path / f"corpus-{articles}", articles, CLAIMS).path
        out = tmp_path / f"build-{articles}"
        build(corpus, out, formats=("nq",))
        found[articles] = _rows(out, wide)
    assert not [n for n in wide if found[LARGE][n] <= found[SMALL][n]], (found[SMALL], found[LARGE])
