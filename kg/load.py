"""Stage 1 — curated input → typed records.

Reads an article's text and its curated YAML, finds every quote in the text (offsets in
Unicode code points of the file as stored), derives each claim's speaker, section and
citations from the text, and resolves every reference to an entity, a vocabulary term or a
unit. Whatever is wrong is collected and raised at once as ``CurationError``, each problem
naming its file, line and claim.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import CurationError, Problem
from kg.links import MappingSet, read_mappings
from kg.namespaces import BIOLINK, CKG, UNIT, entity_iri, reference_iri
from kg.resources import data_dir, ontology_file

if TYPE_CHECKING:
    from kg.evidence import ExternalEvidence

QUOTE_CONTEXT = 32
"""Code points of text kept before and after a quote (``oa:prefix`` / ``oa:suffix``)."""

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_INTEGER = re.compile(r"^[0-9]+$")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_CITATION_MARKER = re.compile(r"\[([⁰¹²³⁴⁵⁶⁷⁸⁹]+)(?:[–-]([⁰¹²³⁴⁵⁶⁷⁸⁹]+))?\]")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9“\"(])")
_ABBREVIATIONS = ("vs.", "et al.", "e.g.", "i.e.", "Dr.", "approx.")
# A number as printed in running text: not part of an identifier such as CDK4/6, HER2,
# G1 or LEONARDA-1.
NUMBER_TOKEN = re.compile(
    r"(?<![A-Za-z0-9.,])(?<![A-Za-z0-9][/\-])[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?(?![A-Za-z0-9])"
)

VALUE_KEYS = ("value", "range", "less_than", "at_most", "greater_than", "at_least", "none_reported")
CLAIM_KEYS = (
    "id", "type", "quote", "about", "statistic", "endpoint", *VALUE_KEYS, "unit", "ci",
    "ci_level", "context", "relation", "direction", "derived_from", "derivation",
    "across_trials", "across_drugs", "caveat", "cites", "note",
)  # fmt: skip
ENTITY_CONTEXT_KEYS = (
    "trial", "arm", "comparator", "assessor", "population", "subgroup", "assay", "target",
)  # fmt: skip
CONTEXT_KEYS = (*ENTITY_CONTEXT_KEYS, "analysis", "grade", "time_point", "threshold", "year")
ENTITY_KEYS = ("id", "type", "label", "synonyms", "parts", "category")
EXCLUSION_KEYS = ("number", "quote", "reason")


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Located:
    """Where a curated record starts: its file and line."""

    file: Path
    line: int


@dataclass(frozen=True)
class TextSpan:
    """An exact quote and where it lies in the source text (code points, end exclusive)."""

    exact: str
    start: int
    end: int
    prefix: str
    suffix: str


@dataclass(frozen=True)
class Quantity:
    """A number with its QUDT unit, as in a time point or a subgroup threshold."""

    value: Decimal
    unit: URIRef


@dataclass(frozen=True)
class Entity:
    id: str
    type: URIRef
    label: str
    synonyms: tuple[str, ...]
    parts: tuple[str, ...]
    located: Located
    category: URIRef = BIOLINK.NamedThing


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    start: int
    end: int


@dataclass(frozen=True)
class Reference:
    number: int
    entry: TextSpan
    fields: Mapping[str, str]


@dataclass(frozen=True)
class RelationTriple:
    subject: str
    predicate: URIRef
    object: str


@dataclass(frozen=True)
class Claim:
    id: str
    type: URIRef
    quote: TextSpan
    about: tuple[str, ...]
    speaker: str
    section: str
    cites: tuple[int, ...]
    located: Located
    statistic: URIRef | None = None
    endpoint: str | None = None
    value: Decimal | None = None
    range: tuple[Decimal, Decimal] | None = None
    bounds: Mapping[str, Decimal] = field(default_factory=dict)
    none_reported: bool = False
    unit: URIRef | None = None
    ci: tuple[Decimal, Decimal] | None = None
    ci_level: Decimal | None = None
    context_entities: Mapping[str, str] = field(default_factory=dict)
    analysis: URIRef | None = None
    grades: tuple[int, ...] = ()
    time_point: Quantity | None = None
    threshold: Quantity | None = None
    year: int | None = None
    relation: RelationTriple | None = None
    direction: URIRef | None = None
    derived_from: tuple[str, ...] = ()
    derivation: URIRef | None = None
    across_trials: bool | None = None
    across_drugs: bool | None = None
    caveat: str | None = None
    note: str | None = None

    def numbers(self) -> list[Decimal]:
        """Every number the claim carries; each must be printed in its quote."""
        found: list[Decimal] = [d for d in (self.value, self.ci_level) if d is not None]
        found += list(self.range or ()) + list(self.ci or ()) + list(self.bounds.values())
        found += [Decimal(g) for g in self.grades]
        found += [q.value for q in (self.time_point, self.threshold) if q is not None]
        if self.year is not None:
            found.append(Decimal(self.year))
        return found


@dataclass(frozen=True)
class Exclusion:
    """A number of the body deliberately not claimed, with the curator's reason."""

    number: Decimal
    span: TextSpan
    reason: str
    located: Located


@dataclass(frozen=True)
class Article:
    id: str
    directory: Path
    text: str
    sha256: str
    metadata: Mapping[str, str]
    publisher: str
    interviewee: str
    editorial_voice: str
    body_end: int
    sections: tuple[Section, ...]
    references: tuple[Reference, ...]
    claims: tuple[Claim, ...]
    exclusions: tuple[Exclusion, ...]


@dataclass(frozen=True)
class Corpus:
    directory: Path
    entities: Mapping[str, Entity]
    articles: tuple[Article, ...]
    mappings: MappingSet
    evidence: ExternalEvidence | None = None


# ---------------------------------------------------------------- YAML with line numbers


class _LineDict(dict[str, Any]):
    line = 0


class _LineList(list[Any]):
    line = 0


class _DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class _Loader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """Every scalar stays a string: numbers keep the lexical form the curator wrote.

    libyaml's parser when PyYAML has it (5x faster on a large corpus), else PyYAML's own;
    both keep the marks that give each mapping and list its line."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    result = _LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise _DuplicateKeyError(
                problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    result = _LineList(loader.construct_object(child, deep=True) for child in node.value)
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


def load_vocabulary() -> Vocabulary:
    """Read the allowed terms from ``ontology/claimkg.ttl`` and ``ontology/units.ttl``."""
    graph = Graph()
    graph.parse(ontology_file("claimkg.ttl"))
    graph.parse(ontology_file("units.ttl"))

    def local(iris: Iterable[Any], namespace: str) -> dict[str, URIRef]:
        return {str(i)[len(namespace) :]: URIRef(i) for i in iris if str(i).startswith(namespace)}

    def subclasses(root: URIRef) -> dict[str, URIRef]:
        return local(graph.transitive_subjects(RDFS.subClassOf, root), str(CKG._NS))

    def members(cls: URIRef, namespace: str = str(CKG._NS)) -> dict[str, URIRef]:
        return local(graph.subjects(RDF.type, cls), namespace)

    claim_types = subclasses(CKG.Claim)
    claim_types.pop("Claim")
    entity_types = subclasses(CKG.Entity)
    entity_types.pop("Entity")
    return Vocabulary(
        claim_types=claim_types,
        entity_types=entity_types,
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
    )


# ---------------------------------------------------------------- the text


def find_quote(text: str, exact: str) -> list[int]:
    """Every start offset of ``exact`` in ``text``, overlapping occurrences included."""
    starts, at = [], text.find(exact)
    while at != -1 and exact:
        starts.append(at)
        at = text.find(exact, at + 1)
    return starts


def span_at(text: str, start: int, end: int) -> TextSpan:
    """A quote selector for ``text[start:end]`` with its surrounding context."""
    return TextSpan(
        exact=text[start:end],
        start=start,
        end=end,
        prefix=text[max(0, start - QUOTE_CONTEXT) : start],
        suffix=text[end : end + QUOTE_CONTEXT],
    )


def sentence_spans(text: str, end: int) -> list[tuple[int, int]]:
    """Sentences of ``text[:end]``: split at line breaks and sentence-final punctuation."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[:end]):
        start = line.start()
        for boundary in _SENTENCE_END.finditer(line.group()):
            before = line.group()[: boundary.start()]
            if before.endswith(_ABBREVIATIONS):
                continue
            spans.append((start, line.start() + boundary.start()))
            start = line.start() + boundary.end()
        spans.append((start, line.end()))
    return spans


def citation_markers(fragment: str) -> list[int]:
    """Reference numbers marked in ``fragment``; ``[¹⁰–¹⁴]`` expands to 10…14."""
    numbers: list[int] = []
    for marker in _CITATION_MARKER.finditer(fragment):
        first = int(marker.group(1).translate(_SUPERSCRIPT_DIGITS))
        last = int((marker.group(2) or marker.group(1)).translate(_SUPERSCRIPT_DIGITS))
        numbers.extend(range(first, last + 1))
    return numbers


def number_tokens(text: str, start: int, end: int) -> Iterator[tuple[int, int, Decimal]]:
    """Numbers printed in ``text[start:end]``: (start, end, value)."""
    for match in NUMBER_TOKEN.finditer(text, start, end):
        yield match.start(), match.end(), Decimal(match.group().replace(",", ""))


# ---------------------------------------------------------------- corpus


def default_corpus() -> Path:
    """The corpus bundled with claimkg."""
    return data_dir("corpus")


@dataclass(frozen=True)
class SharedInput:
    """What every article of a corpus builds on: entities, vocabulary, links, evidence."""

    directory: Path
    entities: Mapping[str, Entity]
    vocabulary: Vocabulary
    mappings: MappingSet
    evidence: ExternalEvidence | None


def article_dirs(directory: Path) -> list[Path]:
    """The article folders of a corpus (those with an ``article.yaml``), in a stable order."""
    return sorted(p.parent for p in directory.glob("*/article.yaml"))


def load_shared(directory: Path | None = None, mappings: Path | None = None) -> SharedInput:
    """Load a corpus's shared input: the entities, the vocabulary, the links to external
    identifiers (``mappings``, else the corpus's own ``mappings.sssom.tsv``, else
    ``ontology/mappings.sssom.tsv``) and the external evidence."""
    directory = directory or default_corpus()
    if not directory.is_dir():
        raise CurationError([Problem(directory, None, "corpus folder not found")])
    vocabulary = load_vocabulary()
    problems: list[Problem] = []
    entities = _load_entities(directory / "entities", vocabulary, problems)
    # kg.evidence reads its records with this module's reader, hence the late import
    from kg.evidence import EVIDENCE_DIR, load_evidence

    evidence = load_evidence(directory / EVIDENCE_DIR, entities, vocabulary, problems)
    local = directory / "mappings.sssom.tsv"
    links = read_mappings(mappings or (local if local.exists() else None))
    if problems:
        raise CurationError(problems)
    return SharedInput(directory, entities, vocabulary, links, evidence)


def load_article(directory: Path, shared: SharedInput) -> Article:
    """Load one article folder against the corpus's shared input."""
    problems: list[Problem] = []
    article = _load_article(directory, shared.entities, shared.vocabulary, problems)
    if problems or article is None:
        raise CurationError(problems or [Problem(directory, None, "unreadable article")])
    return article


def load_corpus(directory: Path | None = None, mappings: Path | None = None) -> Corpus:
    """Load the shared input and every article folder of a corpus, all problems at once."""
    shared = load_shared(directory, mappings)
    problems: list[Problem] = []
    articles = []
    for article_dir in article_dirs(shared.directory):
        try:
            articles.append(load_article(article_dir, shared))
        except CurationError as error:
            problems.extend(error.problems)
    if not articles and not problems:
        problems.append(
            Problem(shared.directory, None, "no article folder (with article.yaml) found")
        )
    if not problems:  # a broken article would cascade into the mappings
        subjects = mapping_subjects(shared.entities, shared.vocabulary, articles)
        problems += unknown_mapping_subjects(shared.mappings, subjects)
    if problems:
        raise CurationError(problems)
    return Corpus(
        shared.directory, shared.entities, tuple(articles), shared.mappings, shared.evidence
    )


def unknown_mapping_subjects(mappings: MappingSet, known: set[str]) -> list[Problem]:
    """A problem for each mapping row whose subject is not in ``known``."""
    return [
        Problem(mappings.path, link.line, f"unknown subject {link.subject_id}")
        for link in mappings.links
        if str(mappings.expand(link.subject_id)) not in known
    ]


def mapping_subjects(
    entities: Mapping[str, Entity], vocabulary: Vocabulary, articles: Sequence[Article]
) -> set[str]:
    """The IRIs a mapping's subject may expand to: entities, statistics, references."""
    subjects = {str(entity_iri(e)) for e in entities}
    subjects |= {str(iri) for iri in vocabulary.statistics.values()}
    for article in articles:
        subjects |= reference_subjects(article)
    return subjects


def reference_subjects(article: Article) -> set[str]:
    """The IRIs of an article's references, as mapping subjects."""
    return {str(reference_iri(article.id, r.number)) for r in article.references}


class _Reader:
    """Reads one curated record, adding problems that name its file, line and claim."""

    def __init__(self, file: Path, record: Any, problems: list[Problem], what: str) -> None:
        self.file, self.problems = file, problems
        self.line: int | None = getattr(record, "line", None)
        self.claim_id: str | None = None
        self.ok = isinstance(record, dict)
        self.record: dict[str, Any] = record if isinstance(record, dict) else {}
        if not self.ok:
            self.fail(f"expected a mapping ({what}), got {type(record).__name__}")

    def fail(self, message: str, line: int | None = None) -> None:
        self.ok = False
        self.problems.append(Problem(self.file, line or self.line, message, self.claim_id))

    def known_keys(self, allowed: Sequence[str]) -> None:
        for key in self.record:
            if key not in allowed:
                self.fail(f"unknown key '{key}' (expected one of: {', '.join(allowed)})")

    def string(self, key: str, required: bool = True) -> str | None:
        value = self.record.get(key)
        if value is None:
            if required:
                self.fail(f"missing '{key}'")
            return None
        if not isinstance(value, str) or not value:
            self.fail(f"'{key}' must be a non-empty string, got {value!r}")
            return None
        return value

    def strings(self, key: str, required: bool = False) -> tuple[str, ...]:
        value = self.record.get(key)
        if value is None:
            if required:
                self.fail(f"missing '{key}'")
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"'{key}' must be a list of strings, got {value!r}")
            return ()
        if required and not value:
            self.fail(f"'{key}' must not be empty")
        return tuple(value)

    def decimal(self, value: Any, what: str) -> Decimal | None:
        if isinstance(value, str) and _DECIMAL.match(value):
            return Decimal(value)
        self.fail(f"{what} must be a number as printed (e.g. 11.07), got {value!r}")
        return None

    def integer(self, value: Any, what: str) -> int | None:
        if isinstance(value, str) and _INTEGER.match(value):
            return int(value)
        self.fail(f"{what} must be a whole number, got {value!r}")
        return None

    def boolean(self, key: str) -> bool | None:
        value = self.record.get(key)
        if value is None:
            return None
        if value in ("true", "false"):
            return bool(value == "true")
        self.fail(f"'{key}' must be true or false, got {value!r}")
        return None

    def term(self, value: Any, terms: Mapping[str, URIRef], what: str) -> URIRef | None:
        if isinstance(value, str) and value in terms:
            return terms[value]
        self.fail(f"unknown {what} {value!r} (expected one of: {', '.join(sorted(terms))})")
        return None

    def entity(self, value: Any, entities: Mapping[str, Entity], what: str) -> str | None:
        if isinstance(value, str) and value in entities:
            return value
        self.fail(f"unknown entity {value!r} for {what} (not in corpus/entities/)")
        return None


def _records(path: Path, data: Any, problems: list[Problem]) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(path, getattr(data, "line", 1), "expected a list of records"))
        return []
    return data


def _load_entities(
    directory: Path, vocabulary: Vocabulary, problems: list[Problem]
) -> dict[str, Entity]:
    entities: dict[str, Entity] = {}
    for path in sorted(directory.glob("*.yaml")):
        for record in _records(path, read_yaml(path), problems):
            reader = _Reader(path, record, problems, "an entity")
            reader.known_keys(ENTITY_KEYS)
            entity_id = reader.string("id")
            type_name = reader.string("type")
            label = reader.string("label")
            entity_type = (
                reader.term(type_name, vocabulary.entity_types, "entity type")
                if type_name
                else None
            )
            if entity_id and not _ID.match(entity_id):
                reader.fail(f"entity id {entity_id!r} must be lowercase letters, digits, hyphens")
            if entity_id in entities:
                first = entities[entity_id].located
                reader.fail(
                    f"duplicate entity id '{entity_id}' (first at {first.file}:{first.line})"
                )
            category_name = reader.string("category", required=False)
            category = (
                reader.term(category_name, vocabulary.categories, "Biolink category")
                if category_name
                else None
            )
            if entity_id and entity_id not in entities:
                # A broken entity still gets its id known, so that claims naming it do not
                # add a second, misleading problem (nothing is built while problems remain).
                entities[entity_id] = Entity(
                    id=entity_id,
                    type=entity_type or CKG.Entity,
                    label=label or entity_id,
                    synonyms=reader.strings("synonyms"),
                    parts=reader.strings("parts"),
                    located=Located(path, reader.line or 0),
                    category=category
                    or vocabulary.default_categories.get(
                        entity_type or CKG.Entity, BIOLINK.NamedThing
                    ),
                )
    for entity in entities.values():
        for part in entity.parts:
            if part not in entities:
                problems.append(
                    Problem(
                        entity.located.file,
                        entity.located.line,
                        f"entity '{entity.id}': unknown part '{part}'",
                    )
                )
    return entities


def _load_article(
    directory: Path,
    entities: Mapping[str, Entity],
    vocabulary: Vocabulary,
    problems: list[Problem],
) -> Article | None:
    meta_path = directory / "article.yaml"
    meta = _Reader(meta_path, read_yaml(meta_path), problems, "article metadata")
    if not meta.ok:
        return None
    article_id = meta.string("id")
    text_name = meta.string("text")
    expected_sha = meta.string("sha256")
    if not (article_id and text_name and expected_sha):
        return None
    text_path = directory / text_name
    try:
        raw = text_path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as error:
        meta.fail(f"cannot read the article text {text_path}: {error.strerror}")
        return None
    except UnicodeDecodeError as error:
        meta.fail(f"the article text {text_path} is not UTF-8: {error}")
        return None
    actual_sha = hashlib.sha256(raw).hexdigest()
    if actual_sha != expected_sha:
        meta.fail(
            f"the source text changed: {text_path} has SHA-256 {actual_sha}, "
            f"article.yaml pins {expected_sha}; every offset would be wrong"
        )
        return None

    for key in ("publisher", "interviewee", "editorial_voice"):
        meta.entity(meta.record.get(key), entities, key)
    body_marker = meta.string("body_ends_at")
    body_end = _unique(text, body_marker, meta, "body_ends_at") if body_marker else None
    sections = _load_sections(text, meta, body_end)
    references = _load_references(text, meta, body_end)
    turns = _speaker_turns(text, meta, entities, sections)
    if not meta.ok or body_end is None:
        return None

    article = Article(
        id=article_id,
        directory=directory,
        text=text,
        sha256=actual_sha,
        metadata={
            k: v
            for k in ("title", "year", "url", "language")
            if isinstance(v := meta.record.get(k), str)
        },
        publisher=meta.record["publisher"],
        interviewee=meta.record["interviewee"],
        editorial_voice=meta.record["editorial_voice"],
        body_end=body_end,
        sections=sections,
        references=references,
        claims=(),
        exclusions=(),
    )
    sentences = sentence_spans(text, body_end)
    claims: list[Claim] = []
    seen: dict[str, Located] = {}
    records = [
        (path, record)
        for path in sorted((directory / "claims").glob("*.yaml"))
        for record in _records(path, read_yaml(path), problems)
    ]
    # Ids of every record, loadable or not: derived_from is checked against these, so one
    # broken claim is reported once, not again by every claim derived from it.
    curated_ids = {r.get("id") for _, r in records if isinstance(r, dict)}
    for path, record in records:
        claim = _load_claim(path, record, article, entities, vocabulary, turns, sentences, problems)
        if claim is None:
            continue
        if claim.id in seen:
            first = seen[claim.id]
            problems.append(
                Problem(
                    path,
                    claim.located.line,
                    f"duplicate claim id (first at {first.file}:{first.line})",
                    claim.id,
                )
            )
            continue
        seen[claim.id] = claim.located
        claims.append(claim)
    for claim in claims:
        for source in claim.derived_from:
            if source not in curated_ids:
                problems.append(
                    Problem(
                        claim.located.file,
                        claim.located.line,
                        f"derived_from names unknown claim '{source}'",
                        claim.id,
                    )
                )
    exclusions = _load_exclusions(directory / "coverage.yaml", text, body_end, problems)
    return Article(**{**article.__dict__, "claims": tuple(claims), "exclusions": exclusions})


def _unique(
    text: str, exact: str, reader: _Reader, what: str, line: int | None = None
) -> int | None:
    starts = find_quote(text, exact)
    if len(starts) == 1:
        return starts[0]
    if not starts:
        reader.fail(f"{what} not found in the article text: {exact!r}", line)
    else:
        reader.fail(
            f"{what} is ambiguous: it occurs {len(starts)} times (at offsets "
            f"{', '.join(map(str, starts[:5]))}); lengthen it: {exact!r}",
            line,
        )
    return None


def _load_sections(text: str, meta: _Reader, body_end: int | None) -> tuple[Section, ...]:
    records = meta.record.get("sections")
    if not isinstance(records, list) or not records:
        meta.fail("'sections' must be a non-empty list")
        return ()
    starts: list[tuple[int, str, str]] = []
    for record in records:
        reader = _Reader(meta.file, record, meta.problems, "a section")
        section_id, title = reader.string("id"), reader.string("title")
        marker = reader.string("starts_with")
        start = _unique(text, marker, reader, "section start") if marker else None
        if reader.ok and section_id and title and start is not None:
            starts.append((start, section_id, title))
        meta.ok = meta.ok and reader.ok
    starts.sort()
    ends = [s for s, _, _ in starts[1:]] + [body_end if body_end is not None else len(text)]
    return tuple(Section(i, t, s, e) for (s, i, t), e in zip(starts, ends, strict=True))


def _load_references(text: str, meta: _Reader, body_end: int | None) -> tuple[Reference, ...]:
    if body_end is None:
        return ()
    entries = {
        int(m.group(1)): (m.start(2), m.end(2))
        for m in re.finditer(r"^([0-9]+)、(.*)$", text[body_end:], re.MULTILINE)
    }
    references = []
    for record in meta.record.get("references") or []:
        reader = _Reader(meta.file, record, meta.problems, "a reference")
        number = reader.integer(reader.record.get("number"), "reference number")
        if number is None:
            continue
        if number not in entries:
            reader.fail(f"reference {number} has no entry '{number}、…' in the reference list")
            continue
        start, end = (body_end + offset for offset in entries[number])
        entry = span_at(text, start, end)
        fields = {k: v for k, v in reader.record.items() if k != "number"}
        for key, value in fields.items():
            if not isinstance(value, str) or value not in entry.exact:
                reader.fail(f"reference {number}: {key} {value!r} is not printed in its entry")
        if reader.ok:
            references.append(Reference(number, entry, fields))
        meta.ok = meta.ok and reader.ok
    return tuple(references)


def _speaker_turns(
    text: str, meta: _Reader, entities: Mapping[str, Entity], sections: Sequence[Section]
) -> list[tuple[int, str]]:
    """(offset, speaker) where the floor changes: a section heading or a speaker label."""
    voice = meta.record.get("editorial_voice")
    turns = [(section.start, str(voice)) for section in sections]
    labels = meta.record.get("speaker_labels")
    if not isinstance(labels, dict):
        meta.fail("'speaker_labels' must map a label such as 'Name:' to an entity id")
        return turns
    for label, speaker in labels.items():
        meta.entity(speaker, entities, f"speaker label {label!r}")
        for match in re.finditer(r"^" + re.escape(label), text, re.MULTILINE):
            turns.append((match.start(), speaker))
    return sorted(turns)


def _load_claim(
    path: Path,
    record: Any,
    article: Article,
    entities: Mapping[str, Entity],
    vocabulary: Vocabulary,
    turns: Sequence[tuple[int, str]],
    sentences: Sequence[tuple[int, int]],
    problems: list[Problem],
) -> Claim | None:
    r = _Reader(path, record, problems, "a claim")
    if not r.ok:
        return None
    claim_id = r.string("id")
    r.claim_id = claim_id
    if claim_id and not _ID.match(claim_id):
        r.fail("claim id must be lowercase letters, digits and hyphens")
    r.known_keys(CLAIM_KEYS)
    type_name = r.string("type")
    claim_type = r.term(type_name, vocabulary.claim_types, "claim type") if type_name else None
    exact = r.string("quote")
    quote = None
    if exact:
        start = _unique(article.text, exact, r, "quote")
        if start is not None:
            quote = span_at(article.text, start, start + len(exact))
            if quote.end > article.body_end:
                r.fail("quote lies outside the article body (after the reference list starts)")
    about = tuple(e for e in r.strings("about", required=True) if r.entity(e, entities, "about"))

    fields: dict[str, Any] = {}
    if (name := r.record.get("statistic")) is not None:
        fields["statistic"] = r.term(name, vocabulary.statistics, "statistic")
    if (name := r.record.get("endpoint")) is not None:
        fields["endpoint"] = r.entity(name, entities, "endpoint")
    _read_value(r, fields)
    if (name := r.record.get("unit")) is not None:
        fields["unit"] = r.term(name, vocabulary.units, "unit")
    if (ci := r.record.get("ci")) is not None:
        fields["ci"] = _pair(r, ci, "ci")
    if (level := r.record.get("ci_level")) is not None:
        fields["ci_level"] = r.decimal(level, "ci_level")
    _read_context(r, fields, entities, vocabulary)
    if (relation := r.record.get("relation")) is not None:
        fields["relation"] = _read_relation(r, relation, entities, vocabulary)
    if (name := r.record.get("direction")) is not None:
        fields["direction"] = r.term(name, vocabulary.directions, "direction")
    fields["derived_from"] = r.strings("derived_from")
    if (name := r.record.get("derivation")) is not None:
        fields["derivation"] = r.term(name, vocabulary.derivations, "derivation")
    fields["across_trials"] = r.boolean("across_trials")
    fields["across_drugs"] = r.boolean("across_drugs")
    if (caveat := r.string("caveat", required=False)) is not None:
        fields["caveat"] = caveat
        if caveat not in article.text:
            r.fail(f"caveat is not printed in the article: {caveat!r}")
    fields["note"] = r.string("note", required=False)

    cites: tuple[int, ...] = ()
    if quote is not None:
        marked = sorted(
            {
                n
                for start, end in sentences
                if start < quote.end and quote.start < end
                for n in citation_markers(article.text[start:end])
            }
        )
        cites = tuple(marked)
        if (narrowed := r.record.get("cites")) is not None:
            numbers = [
                r.integer(n, "cites")
                for n in (narrowed if isinstance(narrowed, list) else [narrowed])
            ]
            for n in numbers:
                if n is not None and n not in marked:
                    r.fail(
                        f"cites reference {n}, which is not marked in the claim's own sentence "
                        f"(marked there: {marked or 'none'})"
                    )
            cites = tuple(sorted(n for n in numbers if n is not None))
        known = {ref.number for ref in article.references}
        for n in cites:
            if n not in known:
                r.fail(f"cites reference {n}, which is not in the reference list")

    if not (r.ok and claim_id and claim_type and quote):
        return None
    return Claim(
        id=claim_id,
        type=claim_type,
        quote=quote,
        about=about,
        speaker=[s for at, s in turns if at <= quote.start][-1],
        section=[s.id for s in article.sections if s.start <= quote.start][-1],
        cites=cites,
        located=Located(path, r.line or 0),
        **fields,
    )


def _pair(r: _Reader, value: Any, what: str) -> tuple[Decimal, Decimal] | None:
    if not isinstance(value, list) or len(value) != 2:
        r.fail(f"'{what}' must be a list of two numbers [low, high], got {value!r}")
        return None
    low, high = r.decimal(value[0], what), r.decimal(value[1], what)
    return (low, high) if low is not None and high is not None else None


def _read_value(r: _Reader, fields: dict[str, Any]) -> None:
    given = [k for k in VALUE_KEYS if k in r.record]
    if len(given) > 1:
        r.fail(f"give one value form, not several: {', '.join(given)}")
        return
    if not given:
        return
    key = given[0]
    raw = r.record[key]
    if key == "value":
        fields["value"] = r.decimal(raw, "value")
    elif key == "range":
        fields["range"] = _pair(r, raw, "range")
    elif key == "none_reported":
        if raw != "true":
            r.fail(f"'none_reported' can only be true, got {raw!r}")
        fields["none_reported"] = True
    elif (bound := r.decimal(raw, key)) is not None:
        fields["bounds"] = {key: bound}


def _quantity(r: _Reader, raw: Any, what: str, units: Mapping[str, URIRef]) -> Quantity | None:
    if not isinstance(raw, dict) or set(raw) != {"value", "unit"}:
        r.fail(f"'{what}' must be a mapping with 'value' and 'unit', got {raw!r}")
        return None
    value = r.decimal(raw["value"], f"{what} value")
    unit = r.term(raw["unit"], units, "unit")
    return Quantity(value, unit) if value is not None and unit is not None else None


def _read_context(
    r: _Reader, fields: dict[str, Any], entities: Mapping[str, Entity], vocabulary: Vocabulary
) -> None:
    context = r.record.get("context")
    if context is None:
        return
    if not isinstance(context, dict):
        r.fail(f"'context' must be a mapping, got {context!r}")
        return
    for key in context:
        if key not in CONTEXT_KEYS:
            r.fail(f"unknown context key '{key}' (expected one of: {', '.join(CONTEXT_KEYS)})")
    fields["context_entities"] = {
        key: context[key]
        for key in ENTITY_CONTEXT_KEYS
        if key in context and r.entity(context[key], entities, f"context.{key}")
    }
    if "analysis" in context:
        fields["analysis"] = r.term(context["analysis"], vocabulary.analyses, "analysis")
    if "grade" in context:
        grades = context["grade"]
        if not isinstance(grades, list):
            grades = [grades]
        fields["grades"] = tuple(
            g for g in (r.integer(x, "grade") for x in grades) if g is not None
        )
    for key in ("time_point", "threshold"):
        if key in context:
            fields[key] = _quantity(r, context[key], key, vocabulary.units)
    if "year" in context:
        year = r.integer(context["year"], "year")
        if year is not None and not 1000 <= year <= 9999:
            r.fail(f"year must have four digits, got {year}")
        fields["year"] = year


def _read_relation(
    r: _Reader, raw: Any, entities: Mapping[str, Entity], vocabulary: Vocabulary
) -> RelationTriple | None:
    if not isinstance(raw, dict) or set(raw) != {"subject", "predicate", "object"}:
        r.fail(f"'relation' must have exactly subject, predicate and object, got {raw!r}")
        return None
    subject = r.entity(raw["subject"], entities, "relation subject")
    predicate = r.term(raw["predicate"], vocabulary.predicates, "relation predicate")
    obj = r.entity(raw["object"], entities, "relation object")
    if subject and predicate and obj:
        return RelationTriple(subject, predicate, obj)
    return None


def _load_exclusions(
    path: Path, text: str, body_end: int, problems: list[Problem]
) -> tuple[Exclusion, ...]:
    if not path.exists():
        return ()
    exclusions = []
    for record in _records(path, read_yaml(path), problems):
        r = _Reader(path, record, problems, "a coverage exclusion")
        r.known_keys(EXCLUSION_KEYS)
        number = r.decimal(r.record.get("number"), "number")
        exact, reason = r.string("quote"), r.string("reason")
        start = _unique(text, exact, r, "quote") if exact else None
        if start is None or number is None or not reason:
            continue
        span = span_at(text, start, start + len(exact or ""))
        if not any(v == number for _, _, v in number_tokens(text, span.start, span.end)):
            r.fail(f"number {number} is not printed in the quote {exact!r}")
        if r.ok:
            exclusions.append(Exclusion(number, span, reason, Located(path, r.line or 0)))
    return tuple(exclusions)
