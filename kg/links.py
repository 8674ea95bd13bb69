"""Links from claimkg's entities, terms and references to external identifiers.

The one source of truth is ``ontology/mappings.sssom.tsv`` (SSSOM: a YAML metadata header
with its curie map, then one row per mapping with its justification and where it was
verified). Its curie map holds each prefix's canonical IRI (OBO PURLs for OBO ontologies,
bioregistry's preferred IRI for the rest); ``check_mappings`` proves it offline with
bioregistry, together with every CURIE's prefix and local-id pattern.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from rdflib import URIRef
from rdflib.namespace import SKOS

from kg.errors import CurationError, Problem
from kg.resources import ontology_file

SSSOM_COLUMNS = (
    "subject_id", "subject_label", "predicate_id", "object_id", "object_label",
    "mapping_justification", "author_label", "comment",
)  # fmt: skip
PREDICATES = {"skos:exactMatch": SKOS.exactMatch, "skos:closeMatch": SKOS.closeMatch}
OWN_PREFIXES = ("claimkg", "claimkgv", "claimkgref")
"""Subject prefixes: claimkg's entities, vocabulary terms and the article's references."""


@dataclass(frozen=True)
class Link:
    """One mapping row: a claimkg subject, a SKOS predicate, an external CURIE."""

    subject_id: str
    subject_label: str
    predicate_id: str
    object_id: str
    object_label: str
    comment: str
    line: int


@dataclass(frozen=True)
class MappingSet:
    path: Path
    metadata: Mapping[str, object]
    curie_map: Mapping[str, str]
    links: tuple[Link, ...]

    def expand(self, curie: str) -> URIRef:
        """The full IRI of ``curie`` by the set's curie map."""
        prefix, _, local = curie.partition(":")
        return URIRef(self.curie_map[prefix] + local)

    def by_subject(self) -> dict[str, list[Link]]:
        grouped: dict[str, list[Link]] = {}
        for link in self.links:
            grouped.setdefault(link.subject_id, []).append(link)
        return grouped


def default_mappings() -> Path:
    return ontology_file("mappings.sssom.tsv")


def read_mappings(path: Path | None = None) -> MappingSet:
    """Parse an SSSOM TSV; a malformed row or an unknown prefix is a ``CurationError``."""
    path = path or default_mappings()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CurationError([Problem(path, None, f"cannot read: {error.strerror}")]) from None
    header = [line[1:] for line in text.splitlines() if line.startswith("#")]
    try:
        metadata = yaml.safe_load("\n".join(header)) or {}
    except yaml.YAMLError as error:
        raise CurationError([Problem(path, None, f"invalid SSSOM metadata: {error}")]) from None
    curie_map = metadata.get("curie_map") if isinstance(metadata, dict) else None
    if not isinstance(curie_map, dict):
        raise CurationError([Problem(path, 1, "the SSSOM header needs a curie_map")])
    body_start = len(header)
    rows = list(csv.reader(io.StringIO("\n".join(text.splitlines()[body_start:])), delimiter="\t"))
    problems: list[Problem] = []
    if not rows or tuple(rows[0][: len(SSSOM_COLUMNS)]) != SSSOM_COLUMNS:
        raise CurationError([Problem(path, body_start + 1, f"columns must be {SSSOM_COLUMNS}")])
    links = []
    for number, row in enumerate(rows[1:], start=body_start + 2):
        if not any(row):
            continue
        if len(row) != len(SSSOM_COLUMNS):
            problems.append(Problem(path, number, f"expected {len(SSSOM_COLUMNS)} columns"))
            continue
        subject_id, subject_label, predicate_id, object_id, object_label = row[:5]
        link = Link(
            subject_id, subject_label, predicate_id, object_id, object_label, row[7], number
        )
        for curie in (link.subject_id, link.object_id):
            if curie.partition(":")[0] not in curie_map:
                problems.append(Problem(path, number, f"{curie}: prefix not in the curie_map"))
        if link.predicate_id not in PREDICATES:
            problems.append(Problem(path, number, f"predicate must be one of {sorted(PREDICATES)}"))
        if not link.comment.startswith("verified:"):
            problems.append(Problem(path, number, "comment must say where it was verified"))
        links.append(link)
    if problems:
        raise CurationError(problems)
    return MappingSet(path, metadata, {str(k): str(v) for k, v in curie_map.items()}, tuple(links))


def link_triples(mappings: MappingSet) -> Iterable[tuple[URIRef, URIRef, URIRef]]:
    """``skos:exactMatch`` / ``skos:closeMatch`` triples with full IRIs."""
    for link in mappings.links:
        yield (
            mappings.expand(link.subject_id),
            PREDICATES[link.predicate_id],
            mappings.expand(link.object_id),
        )


def check_mappings(mappings: MappingSet, known_subjects: Iterable[str]) -> list[Problem]:
    """Offline checks: every prefix is known to bioregistry with its canonical IRI, every
    local id matches its prefix's pattern, every subject (``known_subjects``: IRIs) exists."""
    import bioregistry  # heavy (registry data): imported only for the check

    converter = bioregistry.get_converter()
    problems: list[Problem] = []
    path = mappings.path
    for prefix, uri_prefix in mappings.curie_map.items():
        if prefix in OWN_PREFIXES or prefix in ("skos", "semapv", "orcid"):
            continue
        normalized = bioregistry.normalize_prefix(prefix)
        if normalized is None:
            problems.append(Problem(path, None, f"curie_map: unknown prefix '{prefix}'"))
            continue
        canonical = converter.expand(f"{normalized}:")
        if canonical != uri_prefix:
            problems.append(
                Problem(path, None, f"curie_map: {prefix} should be {canonical}, not {uri_prefix}")
            )
    subjects = set(known_subjects)
    for link in mappings.links:
        if str(mappings.expand(link.subject_id)) not in subjects:
            problems.append(Problem(path, link.line, f"unknown subject {link.subject_id}"))
        prefix, _, local = link.object_id.partition(":")
        normalized = bioregistry.normalize_prefix(prefix)
        pattern = bioregistry.get_pattern(normalized) if normalized else None
        if normalized is None:
            problems.append(Problem(path, link.line, f"{link.object_id}: unknown prefix"))
        elif pattern and not re.fullmatch(pattern.strip("^$"), local):
            problems.append(
                Problem(path, link.line, f"{link.object_id}: '{local}' does not match {pattern}")
            )
    return problems
