"""Consistency checks: do the numbers hold together, within an article and across sources?

The checks are queries of the library (``queries/check-*.rq``, ``corroboration``,
``same-figure-across-articles``), so a SPARQL user sees the same rows ``kg check`` prints.
A derived claim that disagrees with what it derives from fails the check; a percentage
that is no whole number of the denominator its claim states (printed, or the same trial's
patients with the same arm, population and subgroup; never an adverse event's rate against
the randomised patients) is reported for a reviewer to weigh
(docs/decisions/0016-percentage-denominators.md).

The queries pair like with like (an article's figure with an external source's, or with
another article's); whether two printed figures agree is decided here, at the precision
each source prints: the digits come from the quote (or the source's printed cell), since
the store keeps numbers as values (``0.50`` comes back as ``0.5``) and SPARQL has no way to
count printed decimals cheaply (docs/decisions/0008-article-aware-queries.md).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from rdflib import Graph

from kg.queries import find_query, format_result, run_query

DERIVATIONS = "check-derivations"
PROPORTIONS = "check-proportions"
CORROBORATION = "corroboration"
ACROSS_ARTICLES = "same-figure-across-articles"

AGREE, COMPATIBLE, DISCREPANT = "agree", "compatible", "discrepant"
CORROBORATED, NOT_FOUND = "corroborated", "not found in the sources at hand"
SOURCES_DIFFER = "the sources differ"
"""A figure that differs from the claim where another source's figure of the same context
agrees with it: the external sources disagree among themselves (often two analyses that
the sources' rows do not tell apart), which says nothing against the article."""

# A number as a text prints it: 275, 1,234, 29.2, .003 (not the digits inside CDK4/6)
_NUMBER = re.compile(r"(?<![A-Za-z0-9.,])(?:[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?|\.[0-9]+)(?![0-9])")

Bound = tuple[Decimal, bool] | None
"""One end of an interval: the number and whether it is included; None: unbounded."""


def _decimal(text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def places(number: Decimal, printed: str) -> int:
    """How many decimals ``printed`` shows for ``number`` ("0.50" in a quote: 2, though the
    store gives 0.5); the number's own digits when the text does not show it."""
    shown = [
        _decimals(token)
        for token in (t.replace(",", "") for t in _NUMBER.findall(printed))
        if Decimal(token) == number
    ]
    return max(shown) if shown else _decimals(str(number))


def _decimals(number: str) -> int:
    return len(number.partition(".")[2])


def _half_unit(decimals: int) -> Decimal:
    """Half a unit of the last printed decimal: 0.5, 0.05, 0.005, … (any number of decimals)."""
    return Decimal(5).scaleb(-decimals - 1)


@dataclass(frozen=True)
class Printed:
    """A figure as a source prints it: a value, a bound, a range, "none reported" or "not
    reached", with its confidence interval, and how many decimals each number shows."""

    value: Decimal | None = None
    less_than: Decimal | None = None
    at_most: Decimal | None = None
    greater_than: Decimal | None = None
    at_least: Decimal | None = None
    none_reported: bool = False
    not_reached: bool = False
    range: tuple[Decimal, Decimal] | None = None
    ci: tuple[Decimal, Decimal] | None = None
    text: str = field(default="", compare=False)
    """Where the digits are printed (the quote, or the source's cell)."""

    @classmethod
    def from_row(cls, row: Mapping[str, str], prefix: str = "", text: str = "") -> Printed:
        """The printed form in a query row: columns ``value``, ``lessThan``… (``prefix`` +
        capitalised name for the other side, e.g. ``otherValue``)."""

        def cell(name: str) -> str:
            key = prefix + (name[0].upper() + name[1:] if prefix else name)
            return row.get(key) or ""

        def pair(low: str, high: str) -> tuple[Decimal, Decimal] | None:
            a, b = _decimal(cell(low)), _decimal(cell(high))
            return (a, b) if a is not None and b is not None else None

        shown = " ".join(t for t in (cell("asPrinted"), text) if t)
        return cls(
            value=_decimal(cell("value")),
            less_than=_decimal(cell("lessThan")),
            at_most=_decimal(cell("atMost")),
            greater_than=_decimal(cell("greaterThan")),
            at_least=_decimal(cell("atLeast")),
            none_reported=cell("noneReported") == "true",
            not_reached=cell("notReached") == "true",
            range=pair("rangeMin", "rangeMax"),
            ci=pair("ciLower", "ciUpper"),
            text=shown,
        )

    def _places(self, number: Decimal) -> int:
        return places(number, self.text)

    def interval(self) -> tuple[Bound, Bound]:
        """The true values this printed form admits: a printed value stands for the numbers
        that round to it (29.2: from 29.15 to 29.25, both ends excluded, since two
        roundings cannot share a boundary)."""
        if self.value is not None:
            half = _half_unit(self._places(self.value))
            return (self.value - half, False), (self.value + half, False)
        if self.range is not None:
            first, last = self.range
            return (first - _half_unit(self._places(first)), False), (
                last + _half_unit(self._places(last)),
                False,
            )
        if self.none_reported:
            return (Decimal(0), True), (Decimal(0), True)
        low: Bound = None
        high: Bound = None
        if self.greater_than is not None:
            low = (self.greater_than, False)
        if self.at_least is not None:
            low = (self.at_least, True)
        if self.less_than is not None:
            high = (self.less_than, False)
        if self.at_most is not None:
            high = (self.at_most, True)
        return low, high

    def _same_number(self, other: Printed) -> bool:
        """Printed alike: the same form, the same numbers, the same number of decimals."""
        if self.not_reached or other.not_reached:
            return self.not_reached and other.not_reached
        if (self.value is None) != (other.value is None):
            return False
        if self.value is not None and other.value is not None:
            return self.value == other.value and self._places(self.value) == other._places(
                other.value
            )
        return (
            self.less_than,
            self.at_most,
            self.greater_than,
            self.at_least,
            self.none_reported,
            self.range,
        ) == (
            other.less_than,
            other.at_most,
            other.greater_than,
            other.at_least,
            other.none_reported,
            other.range,
        )

    def _shown(self, number: Decimal) -> str:
        """``number`` with the decimals its source prints (0.50, not the store's 0.5)."""
        return f"{number:.{self._places(number)}f}"

    def __str__(self) -> str:
        forms = [
            (self.value, ""),
            (self.less_than, "< "),
            (self.at_most, "≤ "),
            (self.greater_than, "> "),
            (self.at_least, "≥ "),
        ]
        shown = next((f"{sign}{self._shown(n)}" for n, sign in forms if n is not None), "")
        if not shown and self.range is not None:
            shown = f"{self._shown(self.range[0])}–{self._shown(self.range[1])}"
        if not shown and self.none_reported:
            shown = "none reported"
        if not shown and self.not_reached:
            shown = "not reached"
        if self.ci is not None:
            shown += f" (CI {self._shown(self.ci[0])}–{self._shown(self.ci[1])})"
        return shown


def _overlap(a: tuple[Bound, Bound], b: tuple[Bound, Bound]) -> bool:
    def below(low: Bound, high: Bound) -> bool:
        if low is None or high is None:
            return True
        return low[0] < high[0] or (low[0] == high[0] and low[1] and high[1])

    return below(a[0], b[1]) and below(b[0], a[1])


def compare(a: Printed, b: Printed) -> str:
    """``agree`` (printed alike), ``compatible`` (some true value could be printed as
    both: 55 and 54.9, P < 0.0001 and P = 0.000016) or ``discrepant`` (none could: 29.2
    and 29.1; 0.000016 and 0.000002). Confidence intervals count where both give one."""
    if a.not_reached or b.not_reached:
        return AGREE if a.not_reached and b.not_reached else DISCREPANT
    if not _overlap(a.interval(), b.interval()):
        return DISCREPANT
    if a.ci is not None and b.ci is not None:
        for x, y in zip(a.ci, b.ci, strict=True):
            ends = Printed(value=x, text=a.text), Printed(value=y, text=b.text)
            if not _overlap(ends[0].interval(), ends[1].interval()):
                return DISCREPANT
        if a.ci != b.ci:
            return COMPATIBLE
    return AGREE if a._same_number(b) else COMPATIBLE


@dataclass(frozen=True)
class CheckReport:
    derivations: list[dict[str, str]]
    proportions: list[dict[str, str]]
    corroboration: list[dict[str, str]]
    """Rows of ``corroboration`` with ``stated``, ``external`` and ``status`` added."""
    across_articles: list[dict[str, str]]
    """Rows of ``same-figure-across-articles`` with ``stated``, ``otherStated`` and
    ``verdict`` added."""

    @property
    def inconsistent(self) -> list[dict[str, str]]:
        return [row for row in self.derivations if row["consistent"] != "true"]


def _rows(graph: Graph, name: str) -> list[dict[str, str]]:
    text = format_result(run_query(graph, find_query(name)), "csv")
    return list(csv.DictReader(io.StringIO(text)))


def corroborate(row: Mapping[str, str]) -> dict[str, str]:
    """A corroboration row with the claim's and the figure's printed forms and a status."""
    claim = Printed.from_row(row, text=row.get("quote", ""))
    figure = Printed.from_row(row, "external", text=row.get("externalAsPrinted", ""))
    if not row.get("figure"):
        status = NOT_FOUND
    else:
        verdict = compare(claim, figure)
        status = CORROBORATED if verdict == AGREE else verdict
    external = str(figure) if row.get("figure") else ""
    return {**row, "stated": str(claim), "external": external, "status": status}


def across(row: Mapping[str, str]) -> dict[str, str]:
    """A pair of articles' claims with both printed forms and a verdict."""
    one = Printed.from_row(row, text=row.get("quote", ""))
    other = Printed.from_row(row, "other", text=row.get("otherQuote", ""))
    return {**row, "stated": str(one), "otherStated": str(other), "verdict": compare(one, other)}


def _against_sources(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each claim's rows against the sources, a figure that differs from it marked as the
    sources differing where another source's figure corroborates it."""
    rows = [corroborate(r) for r in rows]
    backed = {(r["article"], r["claim"]) for r in rows if r["status"] in (CORROBORATED, COMPATIBLE)}
    for row in rows:
        if row["status"] == DISCREPANT and (row["article"], row["claim"]) in backed:
            row["status"] = SOURCES_DIFFER
    return [r for r in rows if r["stated"]]  # a claim with no number is no figure


def _ceil(number: Decimal) -> int:
    return int(number.to_integral_value(rounding=ROUND_CEILING))


def _floor(number: Decimal) -> int:
    return int(number.to_integral_value(rounding=ROUND_FLOOR))


def whole_count(
    percent: Decimal, printed: str, patients: int | None = None, numerator: int | None = None
) -> bool:
    """Whether ``percent`` can be a whole number out of a whole number at the precision
    ``printed`` shows: of ``patients`` (some k of them, or exactly ``numerator`` of them), or,
    with only a ``numerator`` known, ``numerator`` out of some whole denominator (162 events,
    71.4% of those projected: of 227). A share that falls exactly on a rounding boundary
    counts as whole (sources round halves up or to even)."""
    half = _half_unit(places(percent, printed))
    low, high = max(percent - half, Decimal(0)), percent + half
    if patients is not None:
        if numerator is not None:
            return low <= Decimal(100 * numerator) / patients <= high
        return _ceil(low * patients / 100) <= min(_floor(high * patients / 100), patients)
    if numerator is None:
        return False
    if numerator == 0:
        return low == 0
    if low == 0:
        return True  # a large enough denominator makes any numerator round to 0
    return max(_ceil(100 * numerator / high), numerator) <= _floor(100 * numerator / low)


def _integer(text: str | None) -> int | None:
    number = _decimal(text)
    return int(number) if number is not None and number == number.to_integral_value() else None


def weigh(row: Mapping[str, str]) -> dict[str, str]:
    """A check-proportions row with ``plausible``: is the percentage a whole number of its
    denominator (or, with only its numerator known, of some denominator)?"""
    percent = _decimal(row.get("percent"))
    plausible = percent is not None and whole_count(
        percent, row.get("quote", ""), _integer(row.get("patients")), _integer(row.get("numerator"))
    )
    return {**row, "plausible": "true" if plausible else "false"}


def run_checks(graph: Graph) -> CheckReport:
    pairs = [across(r) for r in _rows(graph, ACROSS_ARTICLES)]
    return CheckReport(
        _rows(graph, DERIVATIONS),
        [weigh(r) for r in _rows(graph, PROPORTIONS)],
        _against_sources(_rows(graph, CORROBORATION)),
        [p for p in pairs if p["stated"] and p["otherStated"]],
    )


_STATUS_ORDER = {CORROBORATED: 0, COMPATIBLE: 1, SOURCES_DIFFER: 2, DISCREPANT: 3, NOT_FOUND: 4}
_VERDICT_ORDER = {AGREE: 0, COMPATIBLE: 1, DISCREPANT: 2}


def render(report: CheckReport) -> str:
    lines = [f"Derived claims ({len(report.derivations)}), recomputed from their inputs:"]
    for row in report.derivations:
        verdict = "consistent  " if row["consistent"] == "true" else "INCONSISTENT"
        lines.append(
            f"  {verdict} {row['article']} {row['claim']}: {row['method']}, "
            f"stated {row['stated']}, recomputed {_short(row['recomputed'])}"
        )
    lines.append(f"Percentages against their denominators ({len(report.proportions)}):")
    for row in report.proportions:
        verdict = "whole count " if row["plausible"] == "true" else "not a whole"
        lines.append(f"  {verdict} {row['article']} {row['claim']}: {_share(row)}")
    if report.corroboration:
        lines.append("Article measurements against the external sources (kept apart):")
        rows = sorted(
            report.corroboration,
            key=lambda r: (_STATUS_ORDER[r["status"]], r["article"], r["claim"], r["figure"]),
        )
        for row in rows:
            against = (
                f" vs {row['external']} ({row['figure']}, {row['tier']})" if row["figure"] else ""
            )
            lines.append(
                f"  {row['status']}: {row['article']} {row['claim']} {row['stated']}{against}"
            )
    if report.across_articles:
        lines.append("The same figure in two articles (like with like, at the precision printed):")
        pairs = sorted(
            report.across_articles,
            key=lambda r: (_VERDICT_ORDER[r["verdict"]], r["article"], r["claim"]),
        )
        for row in pairs:
            lines.append(
                f"  {row['verdict']}: {row['statistic']} of {row['endpoint']}"
                f"{' in ' + row['trial'] if row['trial'] else ''}: {row['stated']} "
                f'({row["article"]} {row["claim"]}: "{row["quote"]}") vs {row["otherStated"]} '
                f'({row["otherArticle"]} {row["otherClaim"]}: "{row["otherQuote"]}")'
            )
    bad = len(report.inconsistent)
    lines.append(f"{bad} inconsistent derivation(s)." if bad else "All derivations are consistent.")
    return "\n".join(lines)


def _share(row: Mapping[str, str]) -> str:
    """ "29.2% of 275 (article s03-enrolment-count)", "35.7% = 86 of 241 (printed
    denominator)", "71.4% = 162 of a denominator not printed (numerator: article …)"."""
    numerator, patients = row.get("numerator"), row.get("patients")
    of = f"{numerator} of {patients}" if numerator and patients else f"of {patients}"
    if not patients:
        of = f"{numerator} of a denominator not printed"
    sign = "= " if numerator else ""
    return f"{row['percent']}% {sign}{of} ({row['countFrom']})"


def _short(number: str) -> str:
    try:
        return f"{float(number):.4g}"
    except ValueError:
        return number
