"""Consistency checks: do the numbers hold together?

The checks are queries of the library (``queries/check-*.rq``), so a SPARQL user sees the
same answers ``kg check`` prints. A derived claim that disagrees with what it derives from
fails the check; a percentage that is no whole number of a trial's patients is reported for
a reviewer to weigh (the denominator may be an arm, a subgroup or a safety population).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from rdflib import Graph

from kg.queries import find_query, format_result, run_query

DERIVATIONS = "check-derivations"
PROPORTIONS = "check-proportions"
CORROBORATION = "corroboration"


@dataclass(frozen=True)
class CheckReport:
    derivations: list[dict[str, str]]
    proportions: list[dict[str, str]]
    corroboration: list[dict[str, str]]

    @property
    def inconsistent(self) -> list[dict[str, str]]:
        return [row for row in self.derivations if row["consistent"] != "true"]


def _rows(graph: Graph, name: str) -> list[dict[str, str]]:
    text = format_result(run_query(graph, find_query(name)), "csv")
    return list(csv.DictReader(io.StringIO(text)))


def run_checks(graph: Graph) -> CheckReport:
    return CheckReport(
        _rows(graph, DERIVATIONS), _rows(graph, PROPORTIONS), _rows(graph, CORROBORATION)
    )


def render(report: CheckReport) -> str:
    lines = [f"Derived claims ({len(report.derivations)}), recomputed from their inputs:"]
    for row in report.derivations:
        verdict = "consistent  " if row["consistent"] == "true" else "INCONSISTENT"
        lines.append(
            f"  {verdict} {row['claim']}: {row['method']}, stated {row['stated']}, "
            f"recomputed {_short(row['recomputed'])}"
        )
    lines.append(f"Percentages against patient counts ({len(report.proportions)}):")
    for row in report.proportions:
        verdict = "whole count " if row["plausible"] == "true" else "not a whole"
        lines.append(
            f"  {verdict} {row['claim']}: {row['percent']}% of {row['patients']} "
            f"({row['countFrom']})"
        )
    if report.corroboration:
        lines.append("Article measurements against the external sources (kept apart):")
        for row in report.corroboration:
            against = (
                f" vs {row['external']} ({row['figure']}, {row['tier']})" if row["figure"] else ""
            )
            lines.append(f"  {row['status']}: {row['claim']} {row['stated']}{against}")
    bad = len(report.inconsistent)
    lines.append(f"{bad} inconsistent derivation(s)." if bad else "All derivations are consistent.")
    return "\n".join(lines)


def _short(number: str) -> str:
    try:
        return f"{float(number):.4g}"
    except ValueError:
        return number
