"""Near-miss hints: what a curator probably meant by a quote or a key that is not there.

Computed on the error path only (a quote the text does not hold, a key the schema does not
know), and never used to correct anything: the curator fixes the file, so that every value
still traces to an exact quote. A quote is looked for the way ``find_quote`` looks: by
8-character pieces of the text at every 8th offset, here of the text with its typographic
variants made plain (’ → ', – → -, ₅₀ → 50, NBSP → space), one code point for one, so that
offsets stay the text's. The pieces the quote shares with the text vote for where it
starts; only the few best places are aligned (``difflib``), so a hint costs about the
quote's length, not the text's times the quote's.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from kg.errors import shorten, shown

_VARIANTS = (
    ("‘’‚‛′ʼ`´", "'"),
    ("“”„‟″", '"'),
    ("‐‑‒–—―−", "-"),
    ("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t\n\r", " "),
    ("₀₁₂₃₄₅₆₇₈₉", "0123456789"),
    ("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789"),
    ("µ", "μ"),
    ("×", "x"),
)
PLAIN = str.maketrans(
    {v: plain if len(plain) == 1 else plain[i] for vs, plain in _VARIANTS for i, v in enumerate(vs)}
)
"""Typographic variants → the plain character a curator types (one code point for one)."""

_GRAM, _STRIDE = 8, 8
PASSAGE_SHOWN = 120
"""Characters of the closest passage a message shows."""
_SHORT_GRAM = 4
_COMMON = 100
"""A piece of text found more often than this says nothing about where a quote lies."""
_LOOKUPS = 4000
"""Pieces of a long quote looked up at most (spread over it)."""
_ALIGN_LIMIT = 2000
"""Quotes longer than this are compared along their best diagonal, not aligned by difflib."""
_CANDIDATES = 4
_CLOSE = 0.7
"""How alike (``difflib`` ratio, of the plain forms) a passage and a quote must be for the
passage to be called the closest: one wrong word in a short quote passes, chance does not."""


@dataclass(frozen=True)
class Difference:
    """The first place where a quote and the text's closest passage differ.

    ``kind`` is ``replace`` (each has a character there), ``extra-in-quote`` (the quote
    has a character the text lacks) or ``extra-in-text``."""

    kind: str
    quote_at: int
    text_at: int


@dataclass(frozen=True)
class NearMiss:
    """The passage of the text closest to a quote the text does not hold."""

    start: int
    end: int
    difference: Difference | None
    typographic: int | None
    """How many characters differ when the passage differs only in typography, else None."""


def closest_key(key: object, known: Sequence[str]) -> str | None:
    """The known key a misspelt one was probably meant to be (``publsher`` → ``publisher``)."""
    if not isinstance(key, str):
        return None
    folded = {k.lower(): k for k in known}
    if key.lower() in folded:
        return folded[key.lower()]
    found = difflib.get_close_matches(key.lower(), list(folded), n=1, cutoff=0.6)
    return folded[found[0]] if found else None


def unknown_key_message(key: object, known: Sequence[str], what: str = "") -> str:
    """``unknown key 'publsher' (did you mean 'publisher'?)``, else the keys it may be."""
    name = f"unknown {what} key" if what else "unknown key"
    shown_key = shorten(str(key))
    if (close := closest_key(key, known)) is not None:
        return f"{name} '{shown_key}' (did you mean '{close}'?)"
    return f"{name} '{shown_key}' (expected one of: {', '.join(known)})"


def character(ch: str) -> str:
    """``U+2019 RIGHT SINGLE QUOTATION MARK "’"``: a character named beyond doubt."""
    name = unicodedata.name(ch, "") or _CONTROL_NAMES.get(ch, "<control>")
    glyph = ch if ch.isprintable() and not ch.isspace() else ch.encode("unicode_escape").decode()
    return f"U+{ord(ch):04X} {name} " + (f"'{glyph}'" if ch == '"' else f'"{glyph}"')


_CONTROL_NAMES = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "CHARACTER TABULATION"}


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in code points) of ``offset`` in ``text``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


@functools.lru_cache(maxsize=2)
def _plain(text: str) -> str:
    return text.translate(PLAIN)


@functools.lru_cache(maxsize=2)
def _plain_index(text: str) -> dict[str, list[int]]:
    """Offset of each 8-character piece of the plain ``text`` at a multiple of 8."""
    plain = _plain(text)
    index: dict[str, list[int]] = {}
    for at in range(0, len(plain) - _GRAM + 1, _STRIDE):
        index.setdefault(plain[at : at + _GRAM], []).append(at)
    return index


def _votes(plain_text: str, index: dict[str, list[int]], plain_quote: str) -> Counter[int]:
    """Where the quote may start in the text: a count per start offset (diagonal)."""
    votes: Counter[int] = Counter()
    pieces = len(plain_quote) - _GRAM + 1
    for at in range(0, max(pieces, 0), max(1, -(-pieces // _LOOKUPS))):
        hits = index.get(plain_quote[at : at + _GRAM], ())
        if len(hits) <= _COMMON:
            votes.update(hit - at for hit in hits)
    if votes or len(plain_quote) < _SHORT_GRAM:
        return votes
    # no 8 characters in a row shared at a sampled offset: 4-character pieces, scanned
    pieces = len(plain_quote) - _SHORT_GRAM + 1
    for at in range(0, pieces, max(1, -(-pieces // 48))):
        piece, found, hit = (
            plain_quote[at : at + _SHORT_GRAM],
            0,
            plain_text.find(plain_quote[at : at + _SHORT_GRAM]),
        )
        while hit != -1 and found < _COMMON:
            votes[hit - at] += 1
            found += 1
            hit = plain_text.find(piece, hit + 1)
    return votes


def _best_places(votes: Counter[int], width: int) -> list[int]:
    """The diagonals with most votes, at most one per stretch of ``width`` characters."""
    chosen: list[int] = []
    for diagonal, _ in votes.most_common():
        if all(abs(diagonal - c) > width for c in chosen):
            chosen.append(diagonal)
            if len(chosen) == _CANDIDATES:
                break
    return chosen


def closest_passage(text: str, quote: str) -> NearMiss | None:
    """The passage of ``text`` closest to ``quote`` (which ``text`` does not hold), with the
    first character where they differ; ``None`` when no passage comes close."""
    if not quote or not text:
        return None
    plain_text, plain_quote = _plain(text), quote.translate(PLAIN)
    votes = _votes(plain_text, _plain_index(text), plain_quote)
    if not votes:
        return None
    places = _best_places(votes, len(quote) // 2 + _GRAM)
    for diagonal in places[:1]:
        if (near := _one_edit(text, quote, plain_text, plain_quote, diagonal)) is not None:
            return near
    places = [d for d in places if votes[d] * 2 >= votes[places[0]]]
    if len(quote) > _ALIGN_LIMIT:  # two 8-character pieces at least agree on where it lies
        return _along_diagonal(text, quote, places[0]) if votes[places[0]] > 1 else None
    best: tuple[float, int, int] | None = None  # (similarity, start, end)
    slack = _GRAM + len(quote) // 8
    for diagonal in places:
        low, high = max(0, diagonal - slack), min(len(text), diagonal + len(quote) + slack)
        matcher = difflib.SequenceMatcher(None, plain_quote, plain_text[low:high], autojunk=False)
        blocks = [b for b in matcher.get_matching_blocks() if b.size]
        solid = [b for b in blocks if b.size >= 3] or blocks  # stray letters do not bound it
        if not solid:
            continue
        first, last = solid[0], solid[-1]
        start = low + max(0, first.b - first.a)
        end = max(start, min(high, low + last.b + last.size + len(quote) - last.a - last.size))
        similarity = difflib.SequenceMatcher(
            None, plain_quote, plain_text[start:end], autojunk=False
        ).ratio()
        if best is None or similarity > best[0]:
            best = (similarity, start, end)
    if best is None or best[0] < _CLOSE:
        return None
    _, start, end = best
    return NearMiss(
        start,
        end,
        _first_difference(text, quote, start, end),
        _typographic(text, quote, start, end),
    )


def _one_edit(
    text: str, quote: str, plain_text: str, plain_quote: str, diagonal: int
) -> NearMiss | None:
    """The passage at ``diagonal`` when the quote is it but for its typography and at most
    one character replaced, missing or added: found by comparing, without aligning."""
    if diagonal < 0:
        return None
    size = len(plain_quote)
    same = _common_prefix(plain_quote, plain_text, diagonal)
    as_written = _common_prefix(quote, text, diagonal)  # a typographic difference first?
    typography = Difference("replace", as_written, diagonal + as_written)
    if same == size:  # the same but for typography
        end = diagonal + size
        return NearMiss(diagonal, end, typography, _typographic(text, quote, diagonal, end))
    at = diagonal + same
    edits = (  # (kind, where the rest of the quote starts, where the rest of the passage does)
        ("replace", same + 1, at + 1),
        ("extra-in-quote", same + 1, at),
        ("extra-in-text", same, at + 1),
    )
    for kind, rest, text_rest in edits:
        if plain_text.startswith(plain_quote[rest:], text_rest):
            first = typography if as_written < same else Difference(kind, same, at)
            return NearMiss(diagonal, text_rest + size - rest, first, None)
    return None


def _common_prefix(plain_quote: str, plain_text: str, start: int) -> int:
    """How many characters of ``plain_quote`` ``plain_text`` has from ``start`` on."""
    low, high = 0, min(len(plain_quote), len(plain_text) - start)
    while low < high:  # halving: the prefix compares in C, a character loop would not
        middle = (low + high + 1) // 2
        if plain_text.startswith(plain_quote[:middle], start):
            low = middle
        else:
            high = middle - 1
    return low


def _along_diagonal(text: str, quote: str, diagonal: int) -> NearMiss:
    start = max(0, diagonal)
    end = min(len(text), start + len(quote))
    passage = text[start:end]
    at = next((i for i, (q, t) in enumerate(zip(quote, passage, strict=False)) if q != t), None)
    if at is None:
        at = len(passage)
        kind = "extra-in-quote" if len(quote) > len(passage) else "extra-in-text"
    else:
        kind = "replace"
    return NearMiss(
        start, end, Difference(kind, at, start + at), _typographic(text, quote, start, end)
    )


def _typographic(text: str, quote: str, start: int, end: int) -> int | None:
    passage = text[start:end]
    if len(passage) != len(quote) or passage.translate(PLAIN) != quote.translate(PLAIN):
        return None
    return sum(q != t for q, t in zip(quote, passage, strict=True))


def _first_difference(text: str, quote: str, start: int, end: int) -> Difference | None:
    """Where ``quote`` and ``text[start:end]`` first differ, as written (not made plain)."""
    passage = text[start:end]
    matcher = difflib.SequenceMatcher(
        None, quote.translate(PLAIN), passage.translate(PLAIN), autojunk=False
    )
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                if quote[i1 + k] != passage[j1 + k]:
                    return Difference("replace", i1 + k, start + j1 + k)
        elif tag == "replace":
            return Difference("replace", i1, start + j1)
        elif tag == "delete":
            return Difference("extra-in-quote", i1, start + j1)
        else:
            return Difference("extra-in-text", i1, start + j1)
    return None


def near_miss_hint(text: str, quote: str, where: str = "the text") -> str:
    """What a message says of a quote ``text`` does not hold: the closest passage (shortened),
    where it lies, and the first character that differs, with both code points named."""
    near = closest_passage(text, quote)
    if near is None and len(quote) > len(text):
        return f"it is longer than the whole of {where} ({len(text):,} characters)"
    if near is None:
        return f"no passage of {where} comes close to it"
    line, column = line_and_column(text, near.start)
    passage = text[near.start : near.end]
    said = (
        f"the closest passage, at line {line}, column {column} of {where} "
        f"(offset {near.start}), is {shown(passage, PASSAGE_SHOWN)}"
    )
    difference = near.difference
    if difference is None:
        return said
    at_line, at_column = line_and_column(text, difference.text_at)
    place = f"at line {at_line}, column {at_column}"
    quote_ch = quote[difference.quote_at] if difference.quote_at < len(quote) else None
    text_ch = text[difference.text_at] if difference.text_at < len(text) else None
    if difference.kind == "replace" and quote_ch is not None and text_ch is not None:
        first = (
            f"the quote has {character(quote_ch)} where the text has {character(text_ch)} {place}"
        )
    elif difference.kind == "extra-in-quote" and quote_ch is not None:
        first = (
            f"the quote has {character(quote_ch)} (its character {difference.quote_at + 1}) "
            f"that the text lacks {place}"
        )
    elif text_ch is not None:
        first = f"the text has {character(text_ch)} {place} that the quote lacks"
    else:
        first = f"the quote goes on past the end of the text {place}"
    if near.typographic:
        others = near.typographic - 1
        more = f" (and {others} more such character{'s' if others != 1 else ''})" if others else ""
        return f"{said}, which differs only in typography: {first}{more}"
    return f"{said}; first difference: {first}"
