"""Links from claimkg's entities, terms and references to external identifiers.

The one source of truth is ``ontology/mappings.sssom.tsv`` (SSSOM: a YAML metadata header
with its curie map, then one row per mapping and per source it was seen in). Its curie map
gives each prefix the IRI form that public RDF uses (``rdf_uri_prefix``, decision 0009), so
that a link joins UniProt's, MeSH's, ChEMBL's or Wikidata's own triples; ``check_mappings``
proves it offline with bioregistry, together with every CURIE's prefix and local-id pattern.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
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
"""The columns every mapping file has (in this order in older files)."""
OPTIONAL_COLUMNS = (
    "mapping_tool", "mapping_tool_version", "object_source", "object_source_version",
    "confidence",
)  # fmt: skip
"""SSSOM columns a row may fill: the tool that proposed it and the resource it came from."""
COLUMNS = (*SSSOM_COLUMNS[:7], *OPTIONAL_COLUMNS, "comment")
"""The column order ``kg links --suggest`` writes and the bundled file uses."""
PREDICATES = {"skos:exactMatch": SKOS.exactMatch, "skos:closeMatch": SKOS.closeMatch}
OWN_PREFIXES = ("claimkg", "claimkgv", "claimkgref")
"""Subject prefixes: claimkg's entities, vocabulary terms and the article's references."""
SOURCE_MARKERS = ("verified:", "seen in ")
"""How a row's ``comment`` starts: where a curator verified it, or the resource it was seen in."""

# Where bioregistry's RDF provider is not the IRI public RDF uses (docs/decisions/0009).
IRI_OVERRIDES = {
    "doi": (
        "https://doi.org/",
        "the DOI Foundation's resolver form, used by Crossref's and OpenCitations' RDF "
        "(bioregistry's RDF entry is the older http://dx.doi.org/)",
    ),
    "pubmed": (
        "http://purl.uniprot.org/citations/",
        "UniProt's RDF names PubMed citations so (bioregistry provider uniprot.citation); "
        "bioregistry's RDF entry, PubChem's reference IRIs, is numbered 'PMID…' in older "
        "PubChemRDF and by PubChem's own reference numbers in newer",
    ),
}


# Resources with no RDF of their own whose records Bio2RDF publishes as RDF, under the IRI
# form of bioregistry's ``bio2rdf`` provider, seen in public RDF and queries (decision 0015).
BIO2RDF = {
    "hgnc": "Bio2RDF's RDF of HGNC's gene records (http://bio2rdf.org/hgnc:5 with "
    "hgnc_vocabulary:x-ensembl), also the HGNC IRIs of GeneNetwork's and BioDataFuse's RDF",
    "clinicaltrials": "Bio2RDF's RDF of ClinicalTrials.gov's records (dcterms:title, "
    "clinicaltrials_vocabulary:phase), served by bio2rdf.org/sparql and OpenLink's LOD cache",
}
RDF_KINDS = frozenset({"rdf", "override", "bio2rdf"})
"""The kinds of IRI form that are the IRIs some public RDF publishes for the records."""


@dataclass(frozen=True)
class IriForm:
    """The IRI prefix a link of one CURIE prefix must use, and why."""

    uri_prefix: str
    kind: str
    """``rdf`` (the resource's RDF, per bioregistry), ``override``, ``bio2rdf`` (Bio2RDF's RDF
    of a resource without its own) or ``identifiers.org`` (no public RDF form chosen)."""
    reason: str


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
    mapping_justification: str = "semapv:ManualMappingCuration"
    mapping_tool: str = ""
    mapping_tool_version: str = ""
    object_source: str = ""
    object_source_version: str = ""
    confidence: str = ""

    @property
    def prefix(self) -> str:
        return self.object_id.partition(":")[0]

    @property
    def source(self) -> str:
        """Where the row was seen: the resource and version, or the curator's note."""
        if self.object_source:
            return f"{self.object_source} {self.object_source_version}".strip()
        return self.comment


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

    def pairs(self) -> dict[tuple[str, str, str], list[Link]]:
        """Each distinct (subject, predicate, object) with the rows (sources) that give it."""
        grouped: dict[tuple[str, str, str], list[Link]] = {}
        for link in self.links:
            key = (link.subject_id, link.predicate_id, link.object_id)
            grouped.setdefault(key, []).append(link)
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
    lines = text.splitlines()
    header = [line[1:] for line in lines if line.startswith("#")]
    try:
        metadata = yaml.safe_load("\n".join(header)) or {}
    except yaml.YAMLError as error:
        raise CurationError([Problem(path, None, f"invalid SSSOM metadata: {error}")]) from None
    curie_map = metadata.get("curie_map") if isinstance(metadata, dict) else None
    if not isinstance(curie_map, dict):
        raise CurationError([Problem(path, 1, "the SSSOM header needs a curie_map")])
    body_start = len(header)
    rows = list(csv.reader(io.StringIO("\n".join(lines[body_start:])), delimiter="\t"))
    columns = tuple(rows[0]) if rows else ()
    unknown = [c for c in columns if c not in SSSOM_COLUMNS + OPTIONAL_COLUMNS]
    if not rows or not set(SSSOM_COLUMNS) <= set(columns) or unknown:
        raise CurationError(
            [Problem(path, body_start + 1, f"columns must be {SSSOM_COLUMNS} (and any of "
                     f"{OPTIONAL_COLUMNS}){'; unknown: ' + ', '.join(unknown) if unknown else ''}")]
        )  # fmt: skip
    problems: list[Problem] = []
    links = []
    for number, row in enumerate(rows[1:], start=body_start + 2):
        if not any(row):
            continue
        if len(row) != len(columns):
            problems.append(Problem(path, number, f"expected {len(columns)} columns"))
            continue
        link = _link(dict(zip(columns, row, strict=True)), number)
        problems += _row_problems(path, link, curie_map)
        links.append(link)
    if problems:
        raise CurationError(problems)
    return MappingSet(path, metadata, {str(k): str(v) for k, v in curie_map.items()}, tuple(links))


def _link(row: dict[str, str], line: int) -> Link:
    return Link(
        row["subject_id"], row["subject_label"], row["predicate_id"], row["object_id"],
        row["object_label"], row["comment"], line,
        **{k: row[k] for k in ("mapping_justification", *OPTIONAL_COLUMNS) if k in row},
    )  # fmt: skip


def _row_problems(path: Path, link: Link, curie_map: Mapping[str, object]) -> list[Problem]:
    problems = []
    for curie in (link.subject_id, link.object_id, link.object_source):
        if curie and curie.partition(":")[0] not in curie_map:
            problems.append(Problem(path, link.line, f"{curie}: prefix not in the curie_map"))
    if link.predicate_id not in PREDICATES:
        problems.append(Problem(path, link.line, f"predicate must be one of {sorted(PREDICATES)}"))
    if not link.comment.startswith(SOURCE_MARKERS):
        problems.append(
            Problem(path, link.line, "comment must say where it was verified or seen "
                    f"(start with one of {SOURCE_MARKERS})")
        )  # fmt: skip
    if link.confidence:
        try:
            if not 0.0 <= float(link.confidence) <= 1.0:
                raise ValueError
        except ValueError:
            problems.append(Problem(path, link.line, "confidence must be a number in [0, 1]"))
    return problems


def link_triples(mappings: MappingSet) -> Iterable[tuple[URIRef, URIRef, URIRef]]:
    """``skos:exactMatch`` / ``skos:closeMatch`` triples with full IRIs (a mapping seen in
    two sources is two rows and one triple)."""
    for subject, predicate, obj in mappings.pairs():
        yield mappings.expand(subject), PREDICATES[predicate], mappings.expand(obj)


def rdf_uri_prefix(prefix: str) -> IriForm | None:
    """The IRI prefix links of ``prefix`` use: the resource's RDF form by bioregistry, an
    override of decision 0009, Bio2RDF's form for the resources of ``BIO2RDF`` (decision
    0015), or identifiers.org where no public RDF form was chosen.
    ``None`` for a prefix bioregistry does not know."""
    import bioregistry  # heavy (registry data): imported only where needed

    normalized = bioregistry.normalize_prefix(prefix)
    if normalized is None:
        return None
    if normalized in IRI_OVERRIDES:
        uri_prefix, reason = IRI_OVERRIDES[normalized]
        return IriForm(uri_prefix, "override", reason)
    resource = bioregistry.get_resource(normalized)
    rdf = resource.get_rdf_uri_prefix() if resource else None
    if rdf:
        return IriForm(rdf, "rdf", "bioregistry's RDF provider")
    if resource and normalized in BIO2RDF:  # the IRI form from bioregistry's data, not ours
        providers = {p.code: p.uri_format for p in resource.get_extra_providers() or []}
        if providers.get("bio2rdf", "").endswith("$1"):
            uri_prefix = providers["bio2rdf"].removesuffix("$1")
            return IriForm(uri_prefix, "bio2rdf", BIO2RDF[normalized])
    legacy = resource.get_legacy_miriam_uri_format() if resource else None
    if legacy and legacy.endswith("$1"):
        return IriForm(
            legacy.removesuffix("$1"), "identifiers.org",
            "the resource publishes no RDF; the identifiers.org form Biolink's JSON-LD "
            "context, and so the RDF of Biolink graphs, uses",
        )  # fmt: skip
    return IriForm("", "none", "no RDF form and no identifiers.org entry")


def iri_forms(mappings: MappingSet) -> Counter[str]:
    """How many distinct link IRIs use each kind of IRI form (``rdf``, ``override``,
    ``bio2rdf``, ``identifiers.org``), by the link's prefix."""
    forms: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for _, _, obj in mappings.pairs():
        prefix = obj.partition(":")[0]
        if prefix not in forms:
            form = rdf_uri_prefix(prefix)
            forms[prefix] = form.kind if form else "unknown"
        counts[forms[prefix]] += 1
    return counts


def rdf_share(mappings: MappingSet) -> tuple[int, int]:
    """(distinct link IRIs in a form public RDF publishes, all distinct link IRIs): the
    figure ``kg links --check`` prints and the tests hold at 90 % or more."""
    forms = iri_forms(mappings)
    return sum(n for kind, n in forms.items() if kind in RDF_KINDS), sum(forms.values())


def check_mappings(mappings: MappingSet, known_subjects: Iterable[str]) -> list[Problem]:
    """Offline checks: every link prefix is known to bioregistry and its curie-map IRI is
    the form public RDF uses (``rdf_uri_prefix``), every local id matches its prefix's
    pattern, every subject (``known_subjects``: IRIs) exists."""
    import bioregistry  # heavy (registry data): imported only for the check

    problems: list[Problem] = []
    path = mappings.path
    used = sorted({link.prefix for link in mappings.links})
    for prefix in used:
        form = rdf_uri_prefix(prefix)
        if form is None:
            problems.append(Problem(path, None, f"curie_map: unknown prefix '{prefix}'"))
        elif form.kind == "none":
            problems.append(Problem(path, None, f"curie_map: {prefix}: {form.reason}"))
        elif mappings.curie_map.get(prefix) != form.uri_prefix:
            problems.append(
                Problem(
                    path, None, f"curie_map: {prefix} should be {form.uri_prefix} ({form.kind}: "
                    f"{form.reason}), not {mappings.curie_map.get(prefix)}",
                )
            )  # fmt: skip
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
