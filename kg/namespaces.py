"""Every namespace claimkg uses, defined once.

The project's own vocabulary (``CKG``) mirrors ``ontology/claimkg.ttl`` term for term; a test
keeps the two in step. ``_fail = True`` makes a misspelt term raise instead of minting a new
IRI.
"""

from __future__ import annotations

from collections.abc import Mapping
from inspect import get_annotations

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import (
    DCTERMS,
    OWL,
    PROV,
    RDF,
    RDFS,
    SH,
    SKOS,
    XSD,
    DefinedNamespace,
    DefinedNamespaceMeta,
)

from kg.base_iri import DEFAULT_BASE as DEFAULT_BASE  # kept light for the command line


class CKG(DefinedNamespace):
    """claimkg's own terms (``ontology/claimkg.ttl``)."""

    _NS = Namespace(DEFAULT_BASE + "vocab/")
    _fail = True

    # Claim types
    Claim: URIRef
    Measurement: URIRef
    Comparison: URIRef
    Relation: URIRef
    QualitativeStatement: URIRef
    Interpretation: URIRef
    PublicationEvent: URIRef
    # Documents
    Article: URIRef
    Reference: URIRef
    Section: URIRef
    # Entity types
    Entity: URIRef
    Drug: URIRef
    DrugClass: URIRef
    Therapy: URIRef
    Protein: URIRef
    ProteinComplex: URIRef
    Disease: URIRef
    AdverseEvent: URIRef
    Endpoint: URIRef
    BiologicalProcess: URIRef
    PharmacologicalProperty: URIRef
    ClinicalTrial: URIRef
    TrialArm: URIRef
    Population: URIRef
    ExperimentalModel: URIRef
    Assessor: URIRef
    DesignFeature: URIRef
    Person: URIRef
    Organization: URIRef
    Venue: URIRef
    Dataset: URIRef
    Place: URIRef
    # Controlled values
    Statistic: URIRef
    Analysis: URIRef
    Derivation: URIRef
    Direction: URIRef
    RelationPredicate: URIRef
    Median: URIRef
    HazardRatio: URIRef
    PValue: URIRef
    IC50: URIRef
    Proportion: URIRef
    Count: URIRef
    RiskReduction: URIRef
    Ratio: URIRef
    Concentration: URIRef
    PrimaryEndpointAnalysis: URIRef
    KeySecondaryEndpointAnalysis: URIRef
    PrespecifiedSubgroupAnalysis: URIRef
    OneMinusHazardRatio: URIRef
    RatioOfValues: URIRef
    DifferenceOfValues: URIRef
    ComparisonOfValues: URIRef
    Higher: URIRef
    Lower: URIRef
    Similar: URIRef
    # Claim: where, who, what
    claimId: URIRef
    hasQuote: URIRef
    inSection: URIRef
    about: URIRef
    statistic: URIRef
    endpoint: URIRef
    rangeMinimum: URIRef
    rangeMaximum: URIRef
    lessThan: URIRef
    atMost: URIRef
    greaterThan: URIRef
    atLeast: URIRef
    noneReported: URIRef
    ciLower: URIRef
    ciUpper: URIRef
    ciLevel: URIRef
    # Claim: context
    trial: URIRef
    arm: URIRef
    comparator: URIRef
    assessor: URIRef
    population: URIRef
    subgroup: URIRef
    assay: URIRef
    analysis: URIRef
    target: URIRef
    grade: URIRef
    timePointValue: URIRef
    timePointUnit: URIRef
    thresholdValue: URIRef
    thresholdUnit: URIRef
    calendarYear: URIRef
    # Claim: derivations, comparisons, evidence, curation
    derivedFrom: URIRef
    derivationMethod: URIRef
    direction: URIRef
    acrossTrials: URIRef
    acrossDrugs: URIRef
    caveat: URIRef
    restatesCitedSource: URIRef
    curatedIn: URIRef
    curatedAtLine: URIRef
    # Relation predicates
    inhibits: URIRef
    blocks: URIRef
    induces: URIRef
    suppresses: URIRef
    hasDesignFeature: URIRef
    evaluates: URIRef
    isAssociatedWith: URIRef
    hasPrimaryEndpoint: URIRef
    hasKeySecondaryEndpoint: URIRef
    combinedWith: URIRef
    enrolled: URIRef
    hasPart: URIRef
    # Articles, sections, references
    sha256: URIRef
    fullText: URIRef
    url: URIRef
    interviewee: URIRef
    editorialVoice: URIRef
    sectionId: URIRef
    startOffset: URIRef
    endOffset: URIRef
    referenceNumber: URIRef
    authorsAsPrinted: URIRef
    venueAsPrinted: URIRef
    volume: URIRef
    issue: URIRef
    pages: URIRef
    doi: URIRef
    citedWork: URIRef
    # Links
    biolinkCategory: URIRef
    # External evidence
    ExternalFigure: URIRef
    ExternalTrialFact: URIRef
    figureId: URIRef
    evidenceRow: URIRef
    asPrinted: URIRef
    measureAsPrinted: URIRef
    evidenceSource: URIRef
    seenAt: URIRef
    evidenceTier: URIRef
    drug: URIRef
    pValue: URIRef
    pValueLessThan: URIRef
    dataCutoff: URIRef
    populationAsPrinted: URIRef
    analysisAsPrinted: URIRef
    # Article forms and the vocabulary of issue 14 (ontology/claimkg.ttl, same order there)
    Dosing: URIRef
    TrialFact: URIRef
    Role: URIRef
    ArticleForm: URIRef
    Interview: URIRef
    NewsItem: URIRef
    StructuredAbstract: URIRef
    Paper: URIRef
    PressRelease: URIRef
    articleForm: URIRef
    fabioClass: URIRef
    printedAs: URIRef
    AnalysisStage: URIRef
    AdverseEventAttribution: URIRef
    TestSidedness: URIRef
    DoseFrequency: URIRef
    DosingSchedule: URIRef
    RouteOfAdministration: URIRef
    AllocationRatio: URIRef
    SignificanceThreshold: URIRef
    SubgroupAnalysis: URIRef
    PostHocSubgroupAnalysis: URIRef
    InterimAnalysis: URIRef
    FinalAnalysis: URIRef
    UpdatedAnalysis: URIRef
    TreatmentEmergent: URIRef
    TreatmentRelated: URIRef
    OneSided: URIRef
    TwoSided: URIRef
    OnceDaily: URIRef
    TwiceDaily: URIRef
    ThreeTimesDaily: URIRef
    Daily: URIRef
    Weekly: URIRef
    EveryTwoWeeks: URIRef
    EveryThreeWeeks: URIRef
    EveryFourWeeks: URIRef
    ContinuousSchedule: URIRef
    IntermittentSchedule: URIRef
    Oral: URIRef
    Intramuscular: URIRef
    Intravenous: URIRef
    Subcutaneous: URIRef
    notReached: URIRef
    ciLowerNotReached: URIRef
    ciUpperNotReached: URIRef
    valueAsPrinted: URIRef
    numerator: URIRef
    denominator: URIRef
    ratioAntecedent: URIRef
    ratioConsequent: URIRef
    analysisStage: URIRef
    gradeAtLeast: URIRef
    anyGrade: URIRef
    aeAttribution: URIRef
    sidedness: URIRef
    doseAmount: URIRef
    doseUnit: URIRef
    doseFrequency: URIRef
    doseSchedule: URIRef
    doseRoute: URIRef
    onPeriodValue: URIRef
    onPeriodUnit: URIRef
    offPeriodValue: URIRef
    offPeriodUnit: URIRef
    cycleLengthValue: URIRef
    cycleLengthUnit: URIRef
    trialPhase: URIRef
    registryIdentifier: URIRef
    roleHolder: URIRef
    roleIn: URIRef
    roleTitle: URIRef


def _keep_terms(namespace: DefinedNamespaceMeta) -> None:
    """Each declared term of ``namespace`` set as a class attribute (the IRI rdflib gives
    for it), so that ``RDF.type`` is a plain attribute read.

    rdflib finds a DefinedNamespace's terms through its metaclass's ``__getattr__``, checks
    and cache lookup included, on every read; an article's build reads them about 100,000
    times, and this took a 100-claim article's build from 31 to 18 ms (decision 0030).
    Made from the namespace's IRI, not through that lookup: its check that each declared
    name is declared made importing this module 15 ms slower. Undeclared names still go
    through rdflib (``CKG`` refuses a misspelt one)."""
    iri = namespace._NS
    for name in get_annotations(namespace):
        if not name.startswith("_"):
            setattr(namespace, name, iri.term(name))


for _namespace in (CKG, DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, XSD):
    _keep_terms(_namespace)


class KeptNamespace(Namespace):
    """A ``Namespace`` that makes each term read as an attribute once (``OA.exact``):
    rdflib's makes, and checks, a new URIRef on every read (decision 0030)."""

    def __getattr__(self, name: str) -> URIRef:
        term = super().__getattr__(name)
        self.__dict__[name] = term
        return term


OA = KeptNamespace("http://www.w3.org/ns/oa#")
CITO = KeptNamespace("http://purl.org/spar/cito/")
FABIO = KeptNamespace("http://purl.org/spar/fabio/")
QUDT = KeptNamespace("http://qudt.org/schema/qudt/")
UNIT = KeptNamespace("http://qudt.org/vocab/unit/")
NP = KeptNamespace("http://www.nanopub.org/nschema#")
BIOLINK = KeptNamespace("https://w3id.org/biolink/vocab/")
OBO = KeptNamespace("http://purl.obolibrary.org/obo/")


def data_namespace(base: str = DEFAULT_BASE) -> Namespace:
    """Where claims, entities, articles and references live (``{base}id/``)."""
    return Namespace(base + "id/")


ID = data_namespace()

# The IRI scheme of the data: deterministic, so that a rebuild yields the same IRIs and
# two articles naming the same entity share one node.


def article_iri(article_id: str) -> URIRef:
    return ID[f"article/{article_id}"]


def claim_iri(article_id: str, claim_id: str) -> URIRef:
    return ID[f"claim/{article_id}/{claim_id}"]


def entity_iri(entity_id: str) -> URIRef:
    return ID[f"entity/{entity_id}"]


def reference_iri(article_id: str, number: int) -> URIRef:
    return ID[f"article/{article_id}/reference/{number}"]


def article_graph_iri(article_id: str) -> URIRef:
    """The named graph holding everything one article contributes."""
    return ID[f"graph/article/{article_id}"]


ENTITY_GRAPH = ID["graph/entities"]
EVIDENCE_GRAPH = ID["graph/external-evidence"]

PREFIXES: dict[str, str] = {
    "ckg": str(CKG._NS),
    "id": str(ID),
    "oa": str(OA),
    "cito": str(CITO),
    "fabio": str(FABIO),
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "np": str(NP),
    "biolink": str(BIOLINK),
    "obo": str(OBO),
    "prov": str(PROV._NS),
    "dcterms": str(DCTERMS._NS),
    "skos": str(SKOS._NS),
    "rdfs": str(RDFS._NS),
    "rdf": str(RDF._NS),
    "owl": str(OWL._NS),
    "xsd": str(XSD._NS),
    "sh": str(SH._NS),
}


def file_prefixes(base: str, external: Mapping[str, str]) -> dict[str, str]:
    """The prefixes of the corpus files: claimkg's own under ``base``, then the external
    registries' of the mapping set (``external``: prefix → namespace)."""
    own = {prefix: rebase_iri(namespace, base) for prefix, namespace in PREFIXES.items()}
    return {**own, **external}


def bind_prefixes(graph: Graph, base: str = DEFAULT_BASE) -> Graph:
    """Bind every prefix once, where a graph is made, so all serialisations share them."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, rebase_iri(namespace, base), override=True, replace=True)
    return graph


def rebase_iri(iri: str, base: str) -> str:
    """Move one IRI from the default base to ``base``; IRIs outside claimkg are unchanged."""
    if base != DEFAULT_BASE and iri.startswith(DEFAULT_BASE):
        return base + iri[len(DEFAULT_BASE) :]
    return iri


def rebase_turtle(text: str, base: str) -> str:
    """Move a Turtle document (the ontology, the shapes) to another base IRI."""
    return text if base == DEFAULT_BASE else text.replace(DEFAULT_BASE, base)
