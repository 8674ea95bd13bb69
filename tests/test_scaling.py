"""What keeps the cost of an article linear in its claims (issue 13, item 6) gives the same
answers as the scans it replaced: quotes looked up in an index of the text, sentences,
citation markers and speaker turns bisected. Each is compared with the plain scan on random
texts and spans, over an alphabet small enough that quotes repeat and overlap. (How long
builds take is measured in benchmarks/bench_article.py, not here.)"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from kg.load_article import Article, CitationMarker, find_quote, sentence_spans


def _scan(text: str, exact: str) -> list[int]:
    starts, at = [], text.find(exact)
    while at != -1 and exact:
        starts.append(at)
        at = text.find(exact, at + 1)
    return starts


@pytest.mark.parametrize("seed", range(20))
def test_find_quote_finds_every_occurrence_the_scan_finds(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab. " if seed % 2 else "abcdefgh ,.;–’"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 3000)))
    for _ in range(200):
        if text and rng.random() < 0.7:  # a piece of the text: found at least once
            start = rng.randrange(len(text))
            exact = text[start : start + rng.randrange(1, 60)]
        else:  # anything: mostly not found
            exact = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert find_quote(text, exact) == _scan(text, exact), (seed, exact)


def test_find_quote_on_a_repetitive_text() -> None:
    text = "the median PFS was 11.07 months. " * 300 + "the median PFS was 11.08 months."
    assert find_quote(text, "the median PFS was 11.08 months") == [len(text) - 32]
    assert len(find_quote(text, "the median PFS was 11.07 months.")) == 300
    across = "s. the median PFS was 11.0"  # spans two repeats
    assert find_quote(text, across) == _scan(text, across) and len(_scan(text, across)) == 300


def _cites_by_scan(
    sentences: list[tuple[int, int]], citations: list[CitationMarker], start: int, end: int
) -> list[int]:
    return sorted(
        {
            n
            for s, e in sentences
            if s < end and start < e
            for marker in citations
            if s <= marker.start and marker.end <= e
            for n in marker.numbers
        }
    )


@pytest.mark.parametrize("seed", range(10))
def test_cites_at_finds_the_markers_the_scan_finds(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice("ab .\n") for _ in range(2000))
    sentences = sentence_spans(text, len(text))
    markers, at = [], 0
    while at < len(text) - 3:
        at += rng.randrange(1, 40)
        length = rng.randrange(1, 4)
        markers.append(CitationMarker(at, at + length, (rng.randrange(1, 30),)))
        at += length
    article = SimpleNamespace(citations=tuple(markers))
    for _ in range(300):
        start = rng.randrange(len(text))
        end = min(len(text), start + rng.randrange(0, 120))
        assert Article.cites_at(article, sentences, start, end) == _cites_by_scan(  # type: ignore[arg-type]
            sentences, markers, start, end
        )


def test_speaker_of_takes_the_last_turn_at_or_before_the_quote() -> None:
    rng = random.Random(0)
    turns = tuple(sorted((rng.randrange(1000), f"speaker-{i}") for i in range(60)))
    article = SimpleNamespace(speaker_spans=(), turns=turns, editorial_voice="editor")
    for start in [0, *range(0, 1001, 7)]:
        before = [speaker for at, speaker in turns if at <= start]
        expected = before[-1] if before else "editor"
        assert Article.speaker_of(article, start, start + 5) == (expected, None)  # type: ignore[arg-type]
