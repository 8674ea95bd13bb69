"""The ``#+`` header of a query file (grlc style: YAML in comment lines), read without
parsing the SPARQL or loading an RDF library, so that ``kg query --list`` answers at once.
``kg.queries`` reads the same headers when it loads a query to run it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kg.resources import data_dir


@dataclass(frozen=True)
class QueryHeader:
    name: str
    path: Path
    summary: str
    params: tuple[tuple[str, str], ...]
    """(name, default) of each parameter, in the header's order."""


def parse_header(text: str) -> dict[str, Any]:
    """The YAML mapping of the ``#+`` lines of ``text``; ValueError when it is not one."""
    lines = [line[2:] for line in text.splitlines() if line.startswith("#+")]
    try:
        header = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"invalid '#+' header: {error}") from None
    if not isinstance(header, dict):
        raise ValueError("the '#+' header must be a YAML mapping")
    return header


def summary_of(header: dict[str, Any], text: str) -> str:
    """The header's summary, else the first plain comment line."""
    if header.get("summary"):
        return str(header["summary"])
    for line in text.splitlines():
        if line.startswith("#") and not line.startswith("#+"):
            return line.lstrip("# ").strip()
    return ""


def read_header(path: Path) -> QueryHeader:
    """``path``'s header; OSError or ValueError (with the path) when it cannot be read."""
    text = path.read_text(encoding="utf-8")
    try:
        header = parse_header(text)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    params = tuple(
        (str(p.get("name")), str(p.get("default")))
        for p in header.get("params") or []
        if isinstance(p, dict)
    )
    return QueryHeader(path.stem, path, summary_of(header, text), params)


def list_headers(directory: Path | None = None) -> list[QueryHeader]:
    """The header of every query of the library (``queries/*.rq``), by name."""
    return [read_header(p) for p in sorted((directory or data_dir("queries")).glob("*.rq"))]
