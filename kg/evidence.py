"""Stage 1b — external evidence: figures seen in the trials' own publications.

A second source kept apart from the articles (docs/external-evidence.md): the delivered
table (``external-evidence.tsv``) and the curated, structured figures (``figures.yaml``),
each pointing at its table row and copying the exact text it was parsed from.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import URIRef

from kg.errors import Problem
from kg.load import Entity, Located, Vocabulary, _Reader, read_yaml

EVIDENCE_DIR = "external-evidence"
TABLE = "external-evidence.tsv"
FIGURES = "figures.yaml"
TABLE_COLUMNS = (
    "subject",
    "measure",
    "value",
    "unit",
    "arm",
    "tier",
    "source",
    "where_seen",
    "note",
)
FIGURE_KEYS = (
    "id", "row", "as_printed", "trial", "statistic", "endpoint", "arm", "comparator",
    "assessor", "drug", "target", "value", "range", "less_than", "none_reported", "unit", "ci",
    "ci_level", "p_value", "p_less_than", "grade", "population", "analysis", "data_cutoff",
    "note",
)  # fmt: skip
FIGURE_ENTITIES = ("trial", "endpoint", "arm", "comparator", "assessor", "drug", "target")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class TableRow:
    number: int
    cells: Mapping[str, str]


@dataclass(frozen=True)
class Figure:
    id: str
    row: TableRow
    as_printed: str
    statistic: URIRef
    entities: Mapping[str, str]
    values: Mapping[str, Any]
    unit: URIRef | None
    grades: tuple[int, ...]
    texts: Mapping[str, str]
    data_cutoff: str | None
    located: Located


@dataclass(frozen=True)
class TrialFact:
    trial: str
    row: TableRow
    facts: str
    located: Located


@dataclass(frozen=True)
class ExternalEvidence:
    directory: Path
    rows: Mapping[int, TableRow]
    figures: tuple[Figure, ...]
    facts: tuple[TrialFact, ...]


def read_table(path: Path) -> dict[int, TableRow]:
    """The table's rows by line number (the header is line 1)."""
    text = path.read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = next(reader)
    if tuple(header) != TABLE_COLUMNS:
        raise ValueError(f"{path}: columns must be {TABLE_COLUMNS}, got {header}")
    return {
        number: TableRow(number, dict(zip(TABLE_COLUMNS, cells, strict=False)))
        for number, cells in enumerate(reader, start=2)
    }


def load_evidence(
    directory: Path, entities: Mapping[str, Entity], vocabulary: Vocabulary, problems: list[Problem]
) -> ExternalEvidence | None:
    """Load ``directory`` if the corpus has one; add every problem to ``problems``."""
    table_path, figures_path = directory / TABLE, directory / FIGURES
    if not figures_path.exists():
        return None
    try:
        rows = read_table(table_path)
    except (OSError, ValueError) as error:
        problems.append(Problem(table_path, 1, str(error)))
        return None
    data = read_yaml(figures_path) or {}
    if not isinstance(data, dict):
        problems.append(Problem(figures_path, 1, "expected a mapping with 'trials' and 'figures'"))
        return None
    figures, facts, seen = [], [], set()
    for record in data.get("figures") or []:
        figure = _figure(figures_path, record, rows, entities, vocabulary, problems)
        if figure is not None:
            if figure.id in seen:
                problems.append(
                    Problem(figures_path, figure.located.line, f"duplicate figure id '{figure.id}'")
                )
            seen.add(figure.id)
            figures.append(figure)
    for record in data.get("trials") or []:
        r = _Reader(figures_path, record, problems, "a trial's facts")
        trial = r.entity(r.record.get("trial"), entities, "trial")
        row = _row(r, rows)
        text = r.string("facts")
        if row is not None and text is not None and text != row.cells["value"]:
            r.fail(
                f"facts must be the exact value cell of row {row.number}: {row.cells['value']!r}"
            )
        if r.ok and trial and row and text:
            facts.append(TrialFact(trial, row, text, Located(figures_path, r.line or 0)))
    return ExternalEvidence(directory, rows, tuple(figures), tuple(facts))


def _row(r: _Reader, rows: Mapping[int, TableRow]) -> TableRow | None:
    number = r.integer(r.record.get("row"), "row")
    if number is not None and number not in rows:
        r.fail(f"row {number} is not a data row of {TABLE} (rows 2–{max(rows)})")
        return None
    return rows.get(number) if number is not None else None


def _figure(
    path: Path,
    record: Any,
    rows: Mapping[int, TableRow],
    entities: Mapping[str, Entity],
    vocabulary: Vocabulary,
    problems: list[Problem],
) -> Figure | None:
    r = _Reader(path, record, problems, "a figure")
    figure_id = r.string("id")
    r.claim_id = figure_id
    r.known_keys(FIGURE_KEYS)
    row = _row(r, rows)
    as_printed = r.string("as_printed")
    if row is not None and as_printed is not None and as_printed != row.cells["value"]:
        r.fail(
            f"as_printed must be the exact value cell of row {row.number}: {row.cells['value']!r}"
        )
    statistic_name = r.string("statistic")
    statistic = (
        r.term(statistic_name, vocabulary.statistics, "statistic") if statistic_name else None
    )
    found = {
        key: r.record[key]
        for key in FIGURE_ENTITIES
        if key in r.record and r.entity(r.record[key], entities, key)
    }
    values: dict[str, Any] = {}
    for key in ("value", "less_than", "ci_level", "p_value", "p_less_than"):
        if key in r.record and (number := r.decimal(r.record[key], key)) is not None:
            values[key] = number
    for key in ("range", "ci"):
        pair = r.record.get(key)
        if pair is not None:
            if not isinstance(pair, list) or len(pair) != 2:
                r.fail(f"'{key}' must be [low, high], got {pair!r}")
            else:
                low, high = r.decimal(pair[0], key), r.decimal(pair[1], key)
                if low is not None and high is not None:
                    values[key] = (low, high)
    if r.record.get("none_reported") is not None:
        values["none_reported"] = r.boolean("none_reported")
    forms = [k for k in ("value", "range", "less_than", "none_reported") if k in r.record]
    if len(forms) != 1:
        r.fail(
            f"give exactly one of value, range, less_than, none_reported (got {forms or 'none'})"
        )
    unit_name = r.string("unit")
    unit = r.term(unit_name, vocabulary.units, "unit") if unit_name else None
    grades = r.record.get("grade") or []
    grade_numbers = tuple(g for g in (r.integer(x, "grade") for x in grades) if g is not None)
    cutoff = r.string("data_cutoff", required=False)
    if cutoff is not None and not _DATE.match(cutoff):
        r.fail(f"data_cutoff must be an ISO date (2022-12-02), got {cutoff!r}")
    texts = {
        k: v for k in ("population", "analysis", "note") if isinstance(v := r.record.get(k), str)
    }
    if not (r.ok and figure_id and row and as_printed and statistic):
        return None
    return Figure(
        figure_id, row, as_printed, statistic, found, values, unit, grade_numbers, texts, cutoff,
        Located(path, r.line or 0),
    )  # fmt: skip


def figure_numbers(figure: Figure) -> list[Decimal]:
    """Every number a figure carries; each must be printed in ``as_printed``."""
    found: list[Decimal] = []
    for value in figure.values.values():
        if isinstance(value, Decimal):
            found.append(value)
        elif isinstance(value, tuple):
            found.extend(value)
    return found + [Decimal(g) for g in figure.grades]
