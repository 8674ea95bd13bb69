"""The ``#+`` header of a query file (grlc style: YAML in comment lines), read without
parsing the SPARQL or loading an RDF library, so that ``kg query --list`` answers at once.
``kg.queries`` reads the same headers when it loads a query to run it.

The library's headers use a small part of YAML (``key: value``, a flow list of words, a
list of flow mappings), which ``plain_header`` reads with the standard library: PyYAML
takes ~10 ms to import, a tenth of what ``kg query`` costs. Anything outside that part, or
a scalar that YAML could read as other than text, goes to PyYAML, so a header means what
YAML says (docs/decisions/0022-query-headers-without-pyyaml.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    plain = plain_header(lines)
    if plain is not None:
        return plain
    import yaml

    try:
        header = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"invalid '#+' header: {error}") from None
    if not isinstance(header, dict):
        raise ValueError("the '#+' header must be a YAML mapping")
    return header


# ------------------------------------------------ the part of YAML read without PyYAML

_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_TOP = re.compile(rf"( *)({_KEY}):(?: +(.*?))? *")
_ITEM = re.compile(r"( +)- +(\{.*\}) *")
_ENTRY = re.compile(rf" *({_KEY}): +(.*?) *")
_QUOTED = re.compile(r'"([^"\\]*)"|\'([^\']*)\'')
_BLOCK_PLAIN = re.compile(r"[A-Za-z](?:(?!: |#).)*(?<!:)")
"""Text outside brackets: from a letter, no ``: `` or ``#``, not ending in a colon."""
_FLOW_PLAIN = re.compile(r"[A-Za-z][^,\[\]{}:#?\"']*")
"""Text inside brackets: from a letter, no comma, bracket, colon, hash, ? or quote."""
_NUMBER = re.compile(r"0|[1-9][0-9]{0,17}")
_FLOW_PARTS = re.compile(r'"[^"\\]*"|\'[^\']*\'|[^,"\']+|,')
# YAML 1.1's booleans and nulls (PyYAML's resolver), in every case: never read as text.
_NOT_TEXT = {"yes", "no", "true", "false", "on", "off", "y", "n", "null", "~"}


def plain_header(lines: list[str]) -> dict[str, Any] | None:
    """The mapping that ``yaml.safe_load`` makes of ``lines``, when they stay inside the part
    of YAML the library's headers use (else None: ask PyYAML). Top-level ``key: value``
    lines at one indentation; a value is a quoted or plain scalar, a flow list ``[a, b]``,
    or nothing, followed by more-indented ``- {k: v, ...}`` items."""
    header: dict[str, Any] = {}
    indent: int | None = None
    items: list[Any] | None = None  # the list the last key's ``- {...}`` lines add to
    item_indent: int | None = None
    last = ""
    for line in lines:
        if not line.strip(" "):
            continue
        if not line.isprintable():  # tabs, control characters: PyYAML's rules apply
            return None
        if (top := _TOP.fullmatch(line)) and indent in (None, len(top.group(1))):
            key, raw = top.group(2), top.group(3) or None
            if key in header or key.lower() in _NOT_TEXT:
                return None
            indent, last, item_indent = len(top.group(1)), key, None
            items = None
            if raw is None:
                header[key] = None
                continue
            value = _top_value(raw)
            if value is None:
                return None
            header[key] = value[0]
            continue
        item = _ITEM.fullmatch(line)
        if item is None or indent is None or len(item.group(1)) <= indent:
            return None
        if items is None:
            if header[last] is not None:  # items after a key that has a value
                return None
            items, item_indent = [], len(item.group(1))
            header[last] = items
        if len(item.group(1)) != item_indent:
            return None
        mapping = _flow_mapping(item.group(2)[1:-1])
        if mapping is None:
            return None
        items.append(mapping)
    return header


def _top_value(raw: str) -> tuple[Any] | None:
    """(value,) of a top-level scalar or flow list, None when outside the part read here."""
    if raw.startswith("[") and raw.endswith("]"):
        parts = _flow_items(raw[1:-1])
        if parts is None:
            return None
        values = []
        for part in parts:
            if (value := _flow_scalar(part)) is None:
                return None
            values.append(value[0])
        return (values,)
    if quoted := _QUOTED.fullmatch(raw):
        return (quoted.group(1) if quoted.group(1) is not None else quoted.group(2),)
    if _BLOCK_PLAIN.fullmatch(raw) and raw.lower() not in _NOT_TEXT:
        return (raw,)
    return None


def _flow_mapping(inner: str) -> dict[str, Any] | None:
    parts = _flow_items(inner)
    if parts is None:
        return None
    mapping: dict[str, Any] = {}
    for part in parts:
        entry = _ENTRY.fullmatch(part)
        if entry is None or entry.group(1) in mapping or entry.group(1).lower() in _NOT_TEXT:
            return None
        value = _flow_scalar(entry.group(2))
        if value is None:
            return None
        mapping[entry.group(1)] = value[0]
    return mapping


def _flow_items(inner: str) -> list[str] | None:
    """The comma-separated parts of a flow collection's inside (commas inside quotes kept);
    None for an empty part (``[a,,b]``, a trailing comma) or a stray quote."""
    if not inner.strip():
        return []
    tokens = _FLOW_PARTS.findall(inner)
    if "".join(tokens) != inner:
        return None
    parts, current = [], ""
    for token in tokens:
        if token == ",":
            parts.append(current)
            current = ""
        else:
            current += token
    parts.append(current)
    return None if any(not p.strip() for p in parts) else parts


def _flow_scalar(raw: str) -> tuple[Any] | None:
    raw = raw.strip(" ")
    if quoted := _QUOTED.fullmatch(raw):
        return (quoted.group(1) if quoted.group(1) is not None else quoted.group(2),)
    if _NUMBER.fullmatch(raw):
        return (int(raw),)
    if _FLOW_PLAIN.fullmatch(raw) and raw.lower() not in _NOT_TEXT:
        return (raw,)
    return None


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
