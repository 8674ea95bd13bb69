"""Stage 2 — typed records → RDF.

Each claim becomes a node of its own (the statement pattern), split the way a
nanopublication splits it: the *assertion* (what is claimed, in which context) and the
*provenance* (the quote that says it, who said it, which section, what it cites). The flat
graph users query is the union of every part; the dataset keeps one nanopublication per
claim beside one context graph per article and one for the shared entities.

IRIs are deterministic (built from article, claim and entity ids), so a rebuild yields the
same graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from kg import __version__
from kg.evidence import ExternalEvidence, TableRow
from kg.links import MappingSet, link_triples
from kg.load import Article, Claim, Corpus, Dose, Entity, Quantity, TextSpan
from kg.namespaces import (
    BIOLINK,
    CITO,
    CKG,
    DEFAULT_BASE,
    ENTITY_GRAPH,
    EVIDENCE_GRAPH,
    FABIO,
    ID,
    NP,
    OA,
    QUDT,
    article_graph_iri,
    article_iri,
    bind_prefixes,
    claim_iri,
    entity_iri,
    rebase_iri,
    reference_iri,
)
from kg.ntriples import sorted_lines, sorted_nquads, sorted_ntriples

Triple = tuple[Node, Node, Node]

TOOL = ID["agent/claimkg"]

_BOUND_PROPERTIES = {
    "less_than": CKG.lessThan,
    "at_most": CKG.atMost,
    "greater_than": CKG.greaterThan,
    "at_least": CKG.atLeast,
}


@dataclass(frozen=True)
class BuiltCorpus:
    """The corpus as RDF: ``graph`` (the union) to query and validate, ``graphs`` its named
    graphs (one per article, one for the entities, one for the external evidence) and
    ``dataset`` the nanopublications."""

    graph: Graph
    dataset: Dataset
    graphs: Mapping[URIRef, Graph]


Quad = tuple[Node, Node, Node, URIRef]


@dataclass(frozen=True)
class BuiltArticle:
    """One article as RDF: ``triples`` its named graph (everything it contributes, each
    triple once), ``quads`` its context graph and one nanopublication per claim.

    Both stay plain tuples of terms: a corpus build writes them out and screens them, and
    adding them to rdflib's store cost more than making them. ``graph`` and ``nanopubs``
    build the rdflib objects on first use."""

    triples: tuple[Triple, ...]
    quads: tuple[Quad, ...]
    base: str = DEFAULT_BASE
    graphs: frozenset[str] | None = None
    """The names of the graphs whose quads make up ``triples`` (None: not known, so the
    two files are written apart)."""

    @cached_property
    def graph(self) -> Graph:
        """The named graph as an rdflib Graph (built on first use)."""
        graph = Graph()
        _add(graph, self.triples)
        _bind(graph, self.base)
        return graph

    @property
    def nanopubs(self) -> Dataset:
        """The nanopublications as an rdflib Dataset (built on each call)."""
        dataset = Dataset()
        dataset.addN(self.quads)  # type: ignore[arg-type]
        _bind(dataset, self.base)
        return dataset

    def ntriples(self) -> str:
        """The named graph as sorted N-Triples lines, as rdflib writes each."""
        return self._files[0]

    def nquads(self) -> str:
        """The nanopublications as N-Quads text, one line per quad, in a stable order."""
        return self._files[1]

    @cached_property
    def _files(self) -> tuple[str, str]:
        if self.graphs is None:
            return sorted_ntriples(self.triples), sorted_nquads(self.quads)
        return sorted_lines(self.quads, self.graphs)


def decimal(value: Decimal) -> Literal:
    """An ``xsd:decimal`` with the lexical form exactly as printed (``11.07``, ``357200``)."""
    return Literal(str(value), datatype=XSD.decimal)


def build_shared(
    entities: Mapping[str, Entity],
    mappings: MappingSet,
    evidence: ExternalEvidence | None,
    base: str = DEFAULT_BASE,
) -> dict[URIRef, Graph]:
    """The named graphs every article builds on: the entities with their links, and the
    external evidence (when the corpus has some)."""
    graphs = {ENTITY_GRAPH: Graph()}
    _add(graphs[ENTITY_GRAPH], _entity_triples(entities.values()))
    _add(graphs[ENTITY_GRAPH], link_triples(mappings))
    _add(graphs[ENTITY_GRAPH], _tool_triples())
    if evidence is not None:
        graphs[EVIDENCE_GRAPH] = Graph()
        _add(graphs[EVIDENCE_GRAPH], _evidence_triples(evidence))
    if base != DEFAULT_BASE:
        graphs = {_rebase_term(n, base): rebase_graph(g, base) for n, g in graphs.items()}  # type: ignore[misc]
    for graph in graphs.values():
        _bind(graph, base, mappings)
    return graphs


def build_article(article: Article, base: str = DEFAULT_BASE) -> BuiltArticle:
    """One article's named graph and nanopublications."""
    quads: list[Quad] = []
    context = ID[f"graph/{article.id}/context"]
    quads += ((s, p, o, context) for s, p, o in _article_triples(article))
    for claim in article.claims:
        quads += _nanopublication(article, claim)
    if base != DEFAULT_BASE:
        quads = [
            (_rebase_term(s, base), _rebase_term(p, base), _rebase_term(o, base),
             URIRef(rebase_iri(g, base)))
            for s, p, o, g in quads
        ]  # fmt: skip
    names = {str(q[3]) for q in quads}  # judged once per graph, not once per quad
    kept_names = {n for n in names if not _is_nanopub_bookkeeping(URIRef(n))}
    kept = (q[:3] for q in quads if str(q[3]) in kept_names)
    return BuiltArticle(tuple(dict.fromkeys(kept)), tuple(quads), base, frozenset(kept_names))


def build_corpus(corpus: Corpus, base: str = DEFAULT_BASE) -> BuiltCorpus:
    """Turn a loaded corpus into its named graphs, their union and the nanopublications."""
    graphs = build_shared(corpus.entities, corpus.mappings, corpus.evidence, base)
    dataset = Dataset()
    for name, part in graphs.items():
        _add(dataset.graph(name), part)
    for article in corpus.articles:
        built = build_article(article, base)
        graphs[_rebase_term(article_graph_iri(article.id), base)] = built.graph  # type: ignore[index]
        dataset.addN(built.quads)  # type: ignore[arg-type]
    union = Graph()
    for part in graphs.values():
        _add(union, part)
    _bind(union, base, corpus.mappings)
    _bind(dataset, base, corpus.mappings)
    return BuiltCorpus(graph=union, dataset=dataset, graphs=graphs)


def _bind(graph: Graph, base: str, mappings: MappingSet | None = None) -> None:
    bind_prefixes(graph, base)
    for prefix, namespace in (mappings.curie_map if mappings else {}).items():
        if not namespace.startswith(DEFAULT_BASE):  # external registries only
            graph.bind(prefix, namespace, override=False)


def _add(graph: Graph, triples: Iterable[Triple]) -> None:
    for triple in triples:
        graph.add(triple)


def _is_nanopub_bookkeeping(name: Node) -> bool:
    return str(name).endswith(("/head", "/pubinfo")) or name == dataset_default_graph()


def dataset_default_graph() -> URIRef:
    return URIRef("urn:x-rdflib:default")


# ---------------------------------------------------------------- shared context


def _entity_triples(entities: Iterable[Entity]) -> Iterable[Triple]:
    for entity in entities:
        node = entity_iri(entity.id)
        yield node, RDF.type, entity.type
        yield node, RDF.type, CKG.Entity
        yield node, RDFS.label, Literal(entity.label)
        yield node, BIOLINK.category, entity.category
        for synonym in entity.synonyms:
            yield node, SKOS.altLabel, Literal(synonym)
        for part in entity.parts:
            yield node, CKG.hasPart, entity_iri(part)


def _tool_triples() -> Iterable[Triple]:
    yield TOOL, RDF.type, PROV.SoftwareAgent
    yield TOOL, RDFS.label, Literal(f"claimkg {__version__}")


def _article_triples(article: Article) -> Iterable[Triple]:
    node = article_iri(article.id)
    meta = article.metadata
    yield node, RDF.type, CKG.Article
    yield node, RDF.type, FABIO.WebContent
    yield node, BIOLINK.category, BIOLINK.Publication
    if "title" in meta:
        yield node, DCTERMS.title, Literal(meta["title"])
    if "year" in meta:
        yield node, DCTERMS.issued, Literal(meta["year"], datatype=XSD.gYear)
    if "url" in meta:
        yield node, CKG.url, Literal(meta["url"], datatype=XSD.anyURI)
    if "language" in meta:
        yield node, DCTERMS.language, Literal(meta["language"])
    yield node, CKG.articleForm, article.form
    if article.form_class is not None:
        yield node, RDF.type, article.form_class
    yield node, DCTERMS.publisher, entity_iri(article.publisher)
    for interviewee in article.interviewees:
        yield node, CKG.interviewee, entity_iri(interviewee)
    yield node, CKG.editorialVoice, entity_iri(article.editorial_voice)
    yield node, CKG.sha256, Literal(article.sha256)
    yield node, CKG.fullText, Literal(article.text)
    for section in article.sections:
        part = ID[f"article/{article.id}/section/{section.id}"]
        yield part, RDF.type, CKG.Section
        yield part, DCTERMS.isPartOf, node
        yield part, CKG.sectionId, Literal(section.id)
        yield part, DCTERMS.title, Literal(section.title)
        yield part, CKG.startOffset, Literal(section.start, datatype=XSD.nonNegativeInteger)
        yield part, CKG.endOffset, Literal(section.end, datatype=XSD.nonNegativeInteger)
    for reference in article.references:
        ref = reference_iri(article.id, reference.number)
        yield node, CITO.cites, ref
        yield ref, RDF.type, CKG.Reference
        yield ref, BIOLINK.category, BIOLINK.Publication
        yield ref, CKG.referenceNumber, Literal(reference.number, datatype=XSD.positiveInteger)
        yield ref, DCTERMS.bibliographicCitation, Literal(reference.entry.exact)
        yield from _quote_triples(ref, node, reference.entry)
        if "doi" in reference.fields:  # the same DOI is the same work, whichever article cites it
            yield ref, CKG.citedWork, URIRef(f"https://doi.org/{reference.fields['doi']}")
        fields = reference.fields
        literal_fields = {
            "title": DCTERMS.title,
            "authors": CKG.authorsAsPrinted,
            "venue": CKG.venueAsPrinted,
            "volume": CKG.volume,
            "issue": CKG.issue,
            "pages": CKG.pages,
            "doi": CKG.doi,
        }
        for key, predicate in literal_fields.items():
            if key in fields:
                yield ref, predicate, Literal(fields[key])
        if "year" in fields:
            yield ref, DCTERMS.issued, Literal(fields["year"], datatype=XSD.gYear)
        if "url" in fields:
            yield ref, CKG.url, Literal(fields["url"], datatype=XSD.anyURI)


def _quote_triples(subject: URIRef, source: URIRef, span: TextSpan) -> Iterable[Triple]:
    """A Web Annotation target locating ``span`` in ``source`` by quote and by position."""
    target = URIRef(f"{subject}/quote")
    by_quote, by_position = URIRef(f"{target}/text"), URIRef(f"{target}/position")
    yield subject, CKG.hasQuote, target
    yield target, RDF.type, OA.SpecificResource
    yield target, OA.hasSource, source
    yield target, OA.hasSelector, by_quote
    yield target, OA.hasSelector, by_position
    yield by_quote, RDF.type, OA.TextQuoteSelector
    yield by_quote, OA.exact, Literal(span.exact)
    yield by_quote, OA.prefix, Literal(span.prefix)
    yield by_quote, OA.suffix, Literal(span.suffix)
    yield by_position, RDF.type, OA.TextPositionSelector
    yield by_position, OA.start, Literal(span.start, datatype=XSD.nonNegativeInteger)
    yield by_position, OA.end, Literal(span.end, datatype=XSD.nonNegativeInteger)


# ---------------------------------------------------------------- claims


def _assertion_triples(article: Article, claim: Claim) -> Iterable[Triple]:
    """What is claimed and in which context."""
    node = claim_iri(article.id, claim.id)
    yield node, RDF.type, CKG.Claim
    yield node, RDF.type, claim.type
    yield node, CKG.claimId, Literal(claim.id)
    for entity in claim.about:
        yield node, CKG.about, entity_iri(entity)
    if claim.statistic is not None:
        yield node, CKG.statistic, claim.statistic
    if claim.endpoint is not None:
        yield node, CKG.endpoint, entity_iri(claim.endpoint)
    yield from _value_triples(node, claim)
    yield from _context_triples(node, claim)
    if claim.relation is not None:
        yield node, RDF.subject, entity_iri(claim.relation.subject)
        yield node, RDF.predicate, claim.relation.predicate
        yield node, RDF.object, entity_iri(claim.relation.object)
    if claim.dose is not None:
        yield from _dose_triples(node, claim.dose)
    if claim.role is not None:
        yield node, CKG.roleHolder, entity_iri(claim.role.person)
        if claim.role.title is not None:
            yield node, CKG.roleTitle, Literal(claim.role.title)
        if claim.role.of is not None:
            yield node, CKG.roleIn, entity_iri(claim.role.of)
    for phase in claim.phases:
        yield node, CKG.trialPhase, Literal(phase, datatype=XSD.integer)
    if claim.registry_id is not None:
        yield node, CKG.registryIdentifier, Literal(claim.registry_id)
    if claim.direction is not None:
        yield node, CKG.direction, claim.direction
    for source in claim.derived_from:
        yield node, CKG.derivedFrom, claim_iri(article.id, source)
    if claim.derivation is not None:
        yield node, CKG.derivationMethod, claim.derivation
    if claim.across_trials is not None:
        yield node, CKG.acrossTrials, Literal(claim.across_trials)
    if claim.across_drugs is not None:
        yield node, CKG.acrossDrugs, Literal(claim.across_drugs)
    if claim.caveat is not None:
        yield node, CKG.caveat, Literal(claim.caveat)


def _value_triples(node: URIRef, claim: Claim) -> Iterable[Triple]:
    """The value in whichever form the text gives it, its unit, CI and counts."""
    if claim.value is not None:
        yield node, QUDT.numericValue, decimal(claim.value)
    if claim.value_as_printed is not None:
        yield node, CKG.valueAsPrinted, Literal(claim.value_as_printed)
    yield from _interval(node, claim.range, CKG.rangeMinimum, CKG.rangeMaximum)
    yield from _interval(node, claim.ratio, CKG.ratioAntecedent, CKG.ratioConsequent)
    for key, bound in claim.bounds.items():
        yield node, _BOUND_PROPERTIES[key], decimal(bound)
    if claim.none_reported:
        yield node, CKG.noneReported, Literal(True)
    if claim.not_reached:
        yield node, CKG.notReached, Literal(True)
    if claim.unit is not None:
        yield node, QUDT.unit, claim.unit
    if claim.ci is not None:
        for limit, number, not_reached in (
            (claim.ci[0], CKG.ciLower, CKG.ciLowerNotReached),
            (claim.ci[1], CKG.ciUpper, CKG.ciUpperNotReached),
        ):
            yield (
                (node, number, decimal(limit))
                if limit is not None
                else (node, not_reached, Literal(True))
            )
    if claim.ci_level is not None:
        yield node, CKG.ciLevel, decimal(claim.ci_level)
    for count, predicate in (
        (claim.numerator, CKG.numerator),
        (claim.denominator, CKG.denominator),
    ):
        if count is not None:
            yield node, predicate, Literal(count, datatype=XSD.integer)


def _context_triples(node: URIRef, claim: Claim) -> Iterable[Triple]:
    """What the sentence fixes: trial, arm, assessor, analysis, grades, time point…"""
    for key, entity in claim.context_entities.items():
        yield node, CKG[key], entity_iri(entity)
    terms = (
        (CKG.analysis, claim.analysis),
        (CKG.analysisStage, claim.analysis_stage),
        (CKG.aeAttribution, claim.ae_attribution),
        (CKG.sidedness, claim.sidedness),
    )
    yield from ((node, predicate, term) for predicate, term in terms if term is not None)
    for grade in claim.grades:
        yield node, CKG.grade, Literal(grade, datatype=XSD.integer)
    if claim.grade_at_least is not None:
        yield node, CKG.gradeAtLeast, Literal(claim.grade_at_least, datatype=XSD.integer)
    if claim.any_grade:
        yield node, CKG.anyGrade, Literal(True)
    yield from _quantity(node, claim.time_point, CKG.timePointValue, CKG.timePointUnit)
    yield from _quantity(node, claim.threshold, CKG.thresholdValue, CKG.thresholdUnit)
    if claim.year is not None:
        yield node, CKG.calendarYear, Literal(str(claim.year), datatype=XSD.gYear)
    if claim.data_cutoff is not None:
        yield node, CKG.dataCutoff, Literal(claim.data_cutoff.isoformat(), datatype=XSD.date)


def _dose_triples(node: URIRef, dose: Dose) -> Iterable[Triple]:
    """How the drug is given: only the parts the text states."""
    yield node, CKG.drug, entity_iri(dose.drug)
    yield from _quantity(node, dose.amount, CKG.doseAmount, CKG.doseUnit)
    terms = (
        (CKG.doseFrequency, dose.frequency),
        (CKG.doseSchedule, dose.schedule),
        (CKG.doseRoute, dose.route),
    )
    yield from ((node, predicate, term) for predicate, term in terms if term is not None)
    yield from _quantity(node, dose.on_period, CKG.onPeriodValue, CKG.onPeriodUnit)
    yield from _quantity(node, dose.off_period, CKG.offPeriodValue, CKG.offPeriodUnit)
    yield from _quantity(node, dose.cycle_length, CKG.cycleLengthValue, CKG.cycleLengthUnit)


def _quantity(
    node: URIRef, quantity: Quantity | None, value: URIRef, unit: URIRef
) -> Iterable[Triple]:
    if quantity is not None:
        yield node, value, decimal(quantity.value)
        yield node, unit, quantity.unit


def _interval(
    node: URIRef, pair: tuple[Decimal, Decimal] | None, low: URIRef, high: URIRef
) -> Iterable[Triple]:
    """A range, a ratio a:b or an interval: two decimals, as printed."""
    if pair is not None:
        yield node, low, decimal(pair[0])
        yield node, high, decimal(pair[1])


def _provenance_triples(article: Article, claim: Claim) -> Iterable[Triple]:
    """Where the claim is written, who says it, what it cites, where it was curated."""
    node = claim_iri(article.id, claim.id)
    source = article_iri(article.id)
    yield from _quote_triples(node, source, claim.quote)
    yield node, DCTERMS.source, source
    yield node, CKG.inSection, ID[f"article/{article.id}/section/{claim.section}"]
    yield node, PROV.wasAttributedTo, entity_iri(claim.speaker)
    for number in claim.cites:
        reference = reference_iri(article.id, number)
        yield node, CITO.citesAsEvidence, reference
        yield node, PROV.hadPrimarySource, reference
    yield node, CKG.restatesCitedSource, Literal(bool(claim.cites))
    if claim.note is not None:
        yield node, SKOS.editorialNote, Literal(claim.note)
    curated_in = claim.located.file.relative_to(article.directory.parent).as_posix()
    yield node, CKG.curatedIn, Literal(curated_in)
    yield node, CKG.curatedAtLine, Literal(claim.located.line, datatype=XSD.integer)


def _nanopublication(article: Article, claim: Claim) -> Iterator[Quad]:
    nanopub = ID[f"np/{article.id}/{claim.id}"]
    head, assertion, provenance, pubinfo = (
        URIRef(f"{nanopub}/{name}") for name in ("head", "assertion", "provenance", "pubinfo")
    )
    yield nanopub, RDF.type, NP.Nanopublication, head
    yield nanopub, NP.hasAssertion, assertion, head
    yield nanopub, NP.hasProvenance, provenance, head
    yield nanopub, NP.hasPublicationInfo, pubinfo, head
    yield assertion, RDF.type, NP.Assertion, head
    yield provenance, RDF.type, NP.Provenance, head
    yield pubinfo, RDF.type, NP.PublicationInfo, head
    yield from ((s, p, o, assertion) for s, p, o in _assertion_triples(article, claim))
    yield from ((s, p, o, provenance) for s, p, o in _provenance_triples(article, claim))
    yield assertion, PROV.wasDerivedFrom, article_iri(article.id), provenance
    yield nanopub, PROV.wasAttributedTo, TOOL, pubinfo
    yield nanopub, DCTERMS.creator, TOOL, pubinfo  # dct:created is added when signed
    yield nanopub, DCTERMS.source, article_iri(article.id), pubinfo


# ---------------------------------------------------------------- external evidence

_FIGURE_VALUES = {
    "value": QUDT.numericValue,
    "less_than": CKG.lessThan,
    "ci_level": CKG.ciLevel,
    "p_value": CKG.pValue,
    "p_less_than": CKG.pValueLessThan,
}
_FIGURE_TEXTS = {
    "population": CKG.populationAsPrinted,
    "analysis": CKG.analysisAsPrinted,
    "note": SKOS.editorialNote,
}


def _table_row_triples(node: URIRef, row: TableRow) -> Iterable[Triple]:
    yield node, CKG.evidenceRow, Literal(row.number, datatype=XSD.positiveInteger)
    yield node, CKG.evidenceSource, Literal(row.cells["source"])
    yield node, CKG.seenAt, Literal(row.cells["where_seen"])
    yield node, CKG.evidenceTier, Literal(row.cells["tier"])
    yield node, CKG.measureAsPrinted, Literal(row.cells["measure"])


def _evidence_triples(evidence: ExternalEvidence) -> Iterable[Triple]:
    """Figures of the external sources: their own class, their own graph, their source."""
    for figure in evidence.figures:
        node = ID[f"external/figure/{figure.id}"]
        yield node, RDF.type, CKG.ExternalFigure
        yield node, CKG.figureId, Literal(figure.id)
        yield node, CKG.asPrinted, Literal(figure.as_printed)
        yield from _table_row_triples(node, figure.row)
        yield node, CKG.statistic, figure.statistic
        for key, entity in figure.entities.items():
            yield node, CKG[key], entity_iri(entity)
        for key, value in figure.values.items():
            if key in _FIGURE_VALUES:
                yield node, _FIGURE_VALUES[key], decimal(value)
        yield from _interval(node, figure.values.get("range"), CKG.rangeMinimum, CKG.rangeMaximum)
        yield from _interval(node, figure.values.get("ci"), CKG.ciLower, CKG.ciUpper)
        if figure.values.get("none_reported"):
            yield node, CKG.noneReported, Literal(True)
        if figure.unit is not None:
            yield node, QUDT.unit, figure.unit
        for grade in figure.grades:
            yield node, CKG.grade, Literal(grade, datatype=XSD.integer)
        for key, text in figure.texts.items():
            yield node, _FIGURE_TEXTS[key], Literal(text)
        if figure.data_cutoff is not None:
            yield node, CKG.dataCutoff, Literal(figure.data_cutoff, datatype=XSD.date)
    for fact in evidence.facts:
        node = ID[f"external/trial-fact/{fact.row.number}"]
        yield node, RDF.type, CKG.ExternalTrialFact
        yield node, CKG.trial, entity_iri(fact.trial)
        yield node, CKG.asPrinted, Literal(fact.facts)
        yield from _table_row_triples(node, fact.row)


# ---------------------------------------------------------------- base IRI


def _rebase_term(term: Node, base: str) -> Node:
    if isinstance(term, URIRef):
        return URIRef(rebase_iri(str(term), base))
    if isinstance(term, Literal) and term.datatype is not None:
        return Literal(term, datatype=URIRef(rebase_iri(str(term.datatype), base)))
    return term


def rebase_graph(graph: Graph, base: str) -> Graph:
    """A copy of ``graph`` with every claimkg IRI moved to ``base``."""
    moved = Graph()
    for s, p, o in graph:
        moved.add((_rebase_term(s, base), _rebase_term(p, base), _rebase_term(o, base)))
    return moved
