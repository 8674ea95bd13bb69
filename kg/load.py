"""Stage 1 — curated input → typed records.

Reads a corpus: the shared entities, vocabulary, links and external evidence, then each
article folder (``article.yaml`` and its text in ``kg.load_article``, the claims in
``kg.load_claims``, ``coverage.yaml``). Whatever is wrong is collected and raised at once
as ``CurationError``, each problem naming its file, line and claim. The names the rest of
claimkg imports from here (``Article``, ``Claim``, ``load_corpus``…) stay importable from
this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kg.build_plan import article_dirs
from kg.curated import (
    DECIMAL,
    ID_PATTERN,
    INTEGER,
    Entity,
    LineDict,
    LineList,
    Located,
    Reader,
    Vocabulary,
    load_vocabulary,
    read_yaml,
    records,
)
from kg.errors import CurationError, Problem
from kg.links import MappingSet, read_mappings
from kg.load_article import (
    ARTICLE_KEYS,
    CITATION_STYLES,
    ENTRY_STYLES,
    EXCLUSION_KEYS,
    FORM_REQUIRED_KEYS,
    NUMBER_TOKEN,
    QUOTE_CONTEXT,
    REFERENCE_KEYS,
    REFERENCE_LIST_KEYS,
    REQUIRED_KEYS,
    SECTION_KEYS,
    SPEAKER_SPAN_KEYS,
    Article,
    CitationMarker,
    Exclusion,
    Reference,
    Section,
    SpeakerSpan,
    TextSpan,
    citation_markers,
    citation_spans,
    find_quote,
    load_article_metadata,
    load_exclusions,
    number_tokens,
    sentence_spans,
    span_at,
)
from kg.load_claims import (
    CLAIM_KEYS,
    CONTEXT_KEYS,
    DOSE_KEYS,
    ENTITY_CONTEXT_KEYS,
    NOT_REACHED,
    ROLE_KEYS,
    VALUE_KEYS,
    Claim,
    Dose,
    Quantity,
    RelationTriple,
    RoleStatement,
    load_claims,
)
from kg.namespaces import BIOLINK, CKG, entity_iri, reference_iri
from kg.resources import data_dir

if TYPE_CHECKING:
    from kg.evidence import ExternalEvidence

ENTITY_KEYS = ("id", "type", "label", "synonyms", "parts", "category")

_Reader = Reader
"""The record reader under its former name (``kg.evidence`` reads its figures with it)."""

__all__ = [
    "ARTICLE_KEYS", "CITATION_STYLES", "CLAIM_KEYS", "CONTEXT_KEYS", "DECIMAL", "DOSE_KEYS",
    "ENTITY_CONTEXT_KEYS", "ENTITY_KEYS", "ENTRY_STYLES", "EXCLUSION_KEYS",
    "FORM_REQUIRED_KEYS", "ID_PATTERN", "INTEGER", "NOT_REACHED", "NUMBER_TOKEN",
    "QUOTE_CONTEXT", "REFERENCE_KEYS", "REFERENCE_LIST_KEYS", "REQUIRED_KEYS", "ROLE_KEYS",
    "SECTION_KEYS", "SPEAKER_SPAN_KEYS", "VALUE_KEYS", "Article", "CitationMarker", "Claim",
    "Corpus", "Dose", "Entity", "Exclusion", "LineDict", "LineList", "Located", "Quantity",
    "Reader", "Reference", "RelationTriple", "RoleStatement", "Section", "SharedInput",
    "SpeakerSpan", "TextSpan", "Vocabulary", "article_dirs", "citation_markers",
    "citation_spans", "default_corpus", "find_quote", "load_article", "load_corpus",
    "load_shared", "load_vocabulary", "mapping_subjects", "number_tokens", "read_yaml",
    "reference_subjects", "sentence_spans", "span_at", "unknown_mapping_subjects",
]  # fmt: skip


@dataclass(frozen=True)
class Corpus:
    directory: Path
    entities: Mapping[str, Entity]
    articles: tuple[Article, ...]
    mappings: MappingSet
    evidence: ExternalEvidence | None = None


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


def _load_article(
    directory: Path,
    entities: Mapping[str, Entity],
    vocabulary: Vocabulary,
    problems: list[Problem],
) -> Article | None:
    article = load_article_metadata(directory, entities, vocabulary, problems)
    if article is None:
        return None
    curated = [
        (path, record)
        for path in sorted((directory / "claims").glob("*.yaml"))
        for record in records(path, read_yaml(path), problems)
    ]
    sentences = sentence_spans(article.text, len(article.text))
    claims = load_claims(article, entities, vocabulary, sentences, curated, problems)
    exclusions = load_exclusions(directory / "coverage.yaml", article, problems)
    return replace(article, claims=tuple(claims), exclusions=exclusions)


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


def _load_entities(
    directory: Path, vocabulary: Vocabulary, problems: list[Problem]
) -> dict[str, Entity]:
    entities: dict[str, Entity] = {}
    for path in sorted(directory.glob("*.yaml")):
        for record in records(path, read_yaml(path), problems):
            reader = Reader(path, record, problems, "an entity")
            reader.known_keys(ENTITY_KEYS)
            entity_id = reader.string("id")
            type_name = reader.string("type")
            label = reader.string("label")
            entity_type = (
                reader.term(type_name, vocabulary.entity_types, "entity type")
                if type_name
                else None
            )
            if entity_id and not ID_PATTERN.match(entity_id):
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
