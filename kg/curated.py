"""Stage 1, building blocks — curated YAML with line numbers, and the terms it may name.

Every loader of stage 1 (``kg.load_article``, ``kg.load_claims``, ``kg.load``,
``kg.evidence``) reads its YAML through ``read_yaml`` and its records through ``Reader``,
so that every problem names its file, line and claim in the same way, and names only the
terms ``ontology/claimkg.ttl`` and ``ontology/units.ttl`` define (``Vocabulary``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import CurationError, Problem, shown
from kg.hints import closest_key, unknown_key_message
from kg.namespaces import BIOLINK, CKG, UNIT
from kg.resources import ontology_file

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
"""Entity and claim ids: lowercase letters, digits and hyphens."""
DECIMAL = re.compile(r"^-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)$")
"""A number as printed: ``11.07``, ``357200``, or with its leading zero left out (``.003``)."""
INTEGER = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class Located:
    """Where a curated record starts: its file and line."""

    file: Path
    line: int


@dataclass(frozen=True)
class Entity:
    id: str
    type: URIRef
    label: str
    synonyms: tuple[str, ...]
    parts: tuple[str, ...]
    located: Located
    category: URIRef = BIOLINK.NamedThing


# ---------------------------------------------------------------- YAML with line numbers


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers its first line and the line of each key."""

    line = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    line = 0


class _DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class _Loader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """Every scalar stays a string: numbers keep the lexical form the curator wrote.

    libyaml's parser when PyYAML has it (5x faster on a large corpus), else PyYAML's own;
    both keep the marks that give each mapping and list its line."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise _DuplicateKeyError(
                problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def read_yaml(path: Path) -> Any:
    """Parse a curated YAML file; mappings and lists remember their line."""
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.load(stream, Loader=_Loader)
    except OSError as error:
        raise CurationError([Problem(path, None, f"cannot read: {error.strerror}")]) from None
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        message = f"invalid YAML: {error.problem or error}"
        raise CurationError([Problem(path, line, message)]) from None
    except UnicodeDecodeError as error:
        raise CurationError([Problem(path, None, f"not UTF-8: {error}")]) from None


def records(path: Path, data: Any, problems: list[Problem]) -> list[Any]:
    """The records of a file that holds a list of them (an empty file holds none)."""
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(path, getattr(data, "line", 1), "expected a list of records"))
        return []
    return data


# ---------------------------------------------------------------- reading one record


class Reader:
    """Reads one curated record, adding problems that name its file, line and claim."""

    def __init__(
        self,
        file: Path,
        record: Any,
        problems: list[Problem],
        what: str,
        source: Path | None = None,
    ) -> None:
        self.file, self.problems = file, problems
        self.source = source
        """The article text the record's quotes are looked up in (named in messages)."""
        self.line: int | None = getattr(record, "line", None)
        self.claim_id: str | None = None
        self.ok = isinstance(record, dict)
        self.record: dict[str, Any] = record if isinstance(record, dict) else {}
        if not self.ok:
            self.fail(f"expected a mapping ({what}), got {type(record).__name__}")

    def line_of(self, key: str) -> int | None:
        """The line of ``key`` in the record, else the record's own line."""
        lines = getattr(self.record, "key_lines", None) or {}
        return lines.get(key, self.line)

    def fail(self, message: str, line: int | None = None) -> None:
        self.ok = False
        self.problems.append(Problem(self.file, line or self.line, message, self.claim_id))

    def known_keys(
        self, allowed: Sequence[str], hints: Mapping[str, str] | None = None, what: str = ""
    ) -> None:
        """A problem for each key not in ``allowed`` (the schema's keys of the record),
        at the key's own line, naming the known key it is closest to."""
        unknown_keys(self, self.record, allowed, hints, what)

    def string(self, key: str, required: bool = True) -> str | None:
        value = self.record.get(key)
        if value is None:
            if required:
                self.fail(f"missing '{key}'")
            return None
        if not isinstance(value, str) or not value:
            self.fail(f"'{key}' must be a non-empty string, got {shown(value)}")
            return None
        return value

    def strings(self, key: str, required: bool = False) -> tuple[str, ...]:
        value = self.record.get(key)
        if value is None:
            if required:
                self.fail(f"missing '{key}'")
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"'{key}' must be a list of strings, got {shown(value)}")
            return ()
        if required and not value:
            self.fail(f"'{key}' must not be empty")
        return tuple(value)

    def decimal(self, value: Any, what: str) -> Decimal | None:
        if isinstance(value, str) and DECIMAL.match(value):
            return Decimal(value)  # ".003" is 0.003
        self.fail(f"{what} must be a number as printed (e.g. 11.07), got {shown(value)}")
        return None

    def integer(self, value: Any, what: str) -> int | None:
        if isinstance(value, str) and INTEGER.match(value):
            return int(value)
        self.fail(f"{what} must be a whole number, got {shown(value)}")
        return None

    def boolean(self, key: str) -> bool | None:
        value = self.record.get(key)
        if value is None:
            return None
        if value in ("true", "false"):
            return bool(value == "true")
        self.fail(f"'{key}' must be true or false, got {shown(value)}")
        return None

    def term(self, value: Any, terms: Mapping[str, URIRef], what: str) -> URIRef | None:
        if isinstance(value, str) and value in terms:
            return terms[value]
        close = closest_key(value, sorted(terms))
        hint = f"did you mean '{close}'? " if close else ""
        self.fail(
            f"unknown {what} {shown(value)} ({hint}expected one of: {', '.join(sorted(terms))})"
        )
        return None

    def entity(self, value: Any, entities: Mapping[str, Entity], what: str) -> str | None:
        if isinstance(value, str) and value in entities:
            return value
        if value is None:
            self.fail(f"no entity given for {what}")
            return None
        close = closest_key(value, sorted(entities))
        hint = f"; did you mean '{close}'?" if close else ""
        self.fail(f"unknown entity {shown(value)} for {what} (not in corpus/entities/{hint})")
        return None


def unknown_keys(
    reader: Reader,
    mapping: Any,
    allowed: Sequence[str],
    hints: Mapping[str, str] | None = None,
    what: str = "",
) -> None:
    """Report each key of ``mapping`` not in ``allowed`` at its own line, with the known
    key it is closest to (``publsher`` → did you mean ``publisher``?)."""
    lines = getattr(mapping, "key_lines", None) or {}
    for key in mapping if isinstance(mapping, dict) else ():
        if key not in allowed:
            hint = (hints or {}).get(key)
            reader.fail(hint or unknown_key_message(key, allowed, what), lines.get(key))


# ---------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocabulary:
    """The terms curated files may name, read from the ontology (the one source of them)."""

    claim_types: Mapping[str, URIRef]
    entity_types: Mapping[str, URIRef]
    statistics: Mapping[str, URIRef]
    analyses: Mapping[str, URIRef]
    derivations: Mapping[str, URIRef]
    directions: Mapping[str, URIRef]
    predicates: Mapping[str, URIRef]
    units: Mapping[str, URIRef]
    categories: Mapping[str, URIRef]
    default_categories: Mapping[URIRef, URIRef]
    forms: Mapping[str, URIRef]
    analysis_stages: Mapping[str, URIRef]
    ae_attributions: Mapping[str, URIRef]
    sidedness: Mapping[str, URIRef]
    frequencies: Mapping[str, URIRef]
    schedules: Mapping[str, URIRef]
    routes: Mapping[str, URIRef]
    fabio_classes: Mapping[URIRef, URIRef]


def load_vocabulary() -> Vocabulary:
    """Read the allowed terms from ``ontology/claimkg.ttl`` and ``ontology/units.ttl``."""
    graph = Graph()
    graph.parse(ontology_file("claimkg.ttl"))
    graph.parse(ontology_file("units.ttl"))

    def local(iris: Iterable[Any], namespace: str) -> dict[str, URIRef]:
        return {str(i)[len(namespace) :]: URIRef(i) for i in iris if str(i).startswith(namespace)}

    def subclasses(root: URIRef) -> dict[str, URIRef]:
        found = local(graph.transitive_subjects(RDFS.subClassOf, root), str(CKG._NS))
        found.pop(str(root)[len(str(CKG._NS)) :])
        return found

    def members(cls: URIRef, namespace: str = str(CKG._NS)) -> dict[str, URIRef]:
        return local(graph.subjects(RDF.type, cls), namespace)

    return Vocabulary(
        claim_types=subclasses(CKG.Claim),
        entity_types=subclasses(CKG.Entity),
        statistics=members(CKG.Statistic),
        analyses=members(CKG.Analysis),
        derivations=members(CKG.Derivation),
        directions=members(CKG.Direction),
        predicates=members(CKG.RelationPredicate),
        units=local(
            graph.subjects(RDF.type, URIRef("http://qudt.org/schema/qudt/Unit")), str(UNIT)
        ),
        categories=local(graph.subjects(RDF.type, OWL.Class), str(BIOLINK)),
        default_categories={
            URIRef(str(c)): URIRef(str(b)) for c, b in graph.subject_objects(CKG.biolinkCategory)
        },
        forms=members(CKG.ArticleForm),
        analysis_stages=members(CKG.AnalysisStage),
        ae_attributions=members(CKG.AdverseEventAttribution),
        sidedness=members(CKG.TestSidedness),
        frequencies=members(CKG.DoseFrequency),
        schedules=members(CKG.DosingSchedule),
        routes=members(CKG.RouteOfAdministration),
        fabio_classes={
            URIRef(str(f)): URIRef(str(c)) for f, c in graph.subject_objects(CKG.fabioClass)
        },
    )
