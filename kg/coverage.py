"""Which numbers printed in an article's body no claim covers.

A number is covered when it lies inside the quote of a claim that carries that very number
(as value, bound, range, CI, grade, time point, threshold or year), or when the curator
listed it in ``coverage.yaml`` with a reason. Digits inside names (CDK4/6, HER2,
LEONARDA-1) and citation markers ([⁶], [1,4], ref. 6) are not numbers (see
``kg.load.NUMBER_TOKEN``). The body is the whole text but its reference list.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kg.load import Article, Exclusion, number_tokens


@dataclass(frozen=True)
class PrintedNumber:
    """A number as printed in the body, with where it stands."""

    value: Decimal
    start: int
    end: int
    line: int
    column: int
    context: str


@dataclass(frozen=True)
class CoverageReport:
    article_id: str
    covered: tuple[PrintedNumber, ...]
    excluded: tuple[tuple[PrintedNumber, Exclusion], ...]
    uncovered: tuple[PrintedNumber, ...]
    unused_exclusions: tuple[Exclusion, ...]

    @property
    def complete(self) -> bool:
        return not self.uncovered and not self.unused_exclusions


def article_coverage(article: Article) -> CoverageReport:
    """Sort every number of ``article``'s body into covered, excluded and uncovered."""
    covered, excluded, uncovered = [], [], []
    used: set[int] = set()
    tokens = [t for a, b in article.body() for t in number_tokens(article.text, a, b)]
    for start, end, value in tokens:
        if any(m.start <= start and end <= m.end for m in article.citations):
            continue  # a reference number in a citation marker ([1,4], ref. 6)
        number = _printed(article.text, start, end, value)
        if any(
            claim.quote.start <= start and end <= claim.quote.end and value in claim.numbers()
            for claim in article.claims
        ):
            covered.append(number)
            continue
        for index, exclusion in enumerate(article.exclusions):
            if (
                exclusion.span.start <= start
                and end <= exclusion.span.end
                and value == exclusion.number
            ):
                excluded.append((number, exclusion))
                used.add(index)
                break
        else:
            uncovered.append(number)
    unused = tuple(e for i, e in enumerate(article.exclusions) if i not in used)
    return CoverageReport(article.id, tuple(covered), tuple(excluded), tuple(uncovered), unused)


def _printed(text: str, start: int, end: int, value: Decimal) -> PrintedNumber:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    context = text[max(0, start - 40) : end + 40].replace("\n", " ")
    return PrintedNumber(value, start, end, line, column, context)
