"""Candidate links from curated, versioned, offline resources (``kg links --suggest``).

Two resources from PyPI, read as installed (no network): the drug dictionary of
``drug-named-entity-recognition`` (DrugBank ids by drug name, synonym and brand name) and
the curated positive mappings of ``biomappings`` (SSSOM rows between ChEBI, MeSH, HGNC,
DOID, HP, NCIT…, each with both labels). A candidate is an exact match of an entity's label
or synonym (case and spacing aside) against the resource's name for an identifier, or one
hop from an accepted link or a lexical candidate through a curated biomappings row (never
through predictions). Each candidate is an SSSOM row naming the resource and its version; a
curator accepts rows into the mapping file. ``cross_check`` finds identifiers two sources
contradict; ``missing_gaps`` lists the main identifiers of an entity's kind that neither the
mapping file nor ``mapping-gaps.tsv`` accounts for.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rdflib import URIRef

from kg import __version__
from kg.links import COLUMNS, Link, MappingSet
from kg.load import Corpus, Entity
from kg.namespaces import CKG

TOOL = "claimkg links --suggest"
DRUG_DICTIONARY = "drug-named-entity-recognition"
BIOMAPPINGS = "biomappings"

MAIN_NAMESPACES: dict[URIRef, tuple[str, ...]] = {
    CKG.Drug: ("DRUGBANK", "CHEBI", "MESH"),
    CKG.Protein: ("UniProtKB", "HGNC", "NCBIGene"),
    CKG.Disease: ("MONDO", "DOID", "HP", "MESH", "NCIT"),
    CKG.AdverseEvent: ("MONDO", "DOID", "HP", "MESH", "NCIT"),
}
"""The identifiers every entity of a kind should have, or a gap row saying why not."""
KIND_PREFIXES: dict[URIRef, frozenset[str]] = {
    CKG.Drug: frozenset(
        {
            "DRUGBANK",
            "CHEBI",
            "MESH",
            "CHEMBL.COMPOUND",
            "PUBCHEM.COMPOUND",
            "UNII",
            "WIKIDATA",
            "NCIT",
            "DrugCentral",
        }
    ),
    CKG.Protein: frozenset({"UniProtKB", "HGNC", "NCBIGene", "ENSEMBL", "MESH", "NCIT"}),
    CKG.Disease: frozenset({"MONDO", "DOID", "HP", "MESH", "NCIT", "EFO"}),
    CKG.AdverseEvent: frozenset({"MONDO", "DOID", "HP", "MESH", "NCIT", "EFO"}),
}
"""Which identifiers a candidate for an entity of a kind may be (other kinds: any prefix of
the mapping file's curie map)."""
GENE_PREFIXES = frozenset({"HGNC", "NCBIGene", "ENSEMBL"})
"""A gene record is a close match of a protein entity, never an exact one."""

LEXICAL = "semapv:LexicalMatching"
CHAINED = "semapv:MappingChaining"
EXACT, CLOSE = "skos:exactMatch", "skos:closeMatch"


@dataclass(frozen=True)
class Candidate:
    """A proposed link: what the resource says, which resource (and version), how sure."""

    subject_id: str
    subject_label: str
    predicate_id: str
    object_id: str
    object_label: str
    justification: str
    resource: str
    version: str
    confidence: float
    evidence: str
    also_seen_in: tuple[str, ...] = ()

    def row(self) -> dict[str, str]:
        """The candidate as an SSSOM row of ``kg.links.COLUMNS``."""
        others = (
            f"; also seen in {', '.join(self.also_seen_in)}"
            if self.also_seen_in
            else "; single source"
        )
        return {
            "subject_id": self.subject_id,
            "subject_label": self.subject_label,
            "predicate_id": self.predicate_id,
            "object_id": self.object_id,
            "object_label": self.object_label,
            "mapping_justification": self.justification,
            "author_label": TOOL,
            "mapping_tool": TOOL,
            "mapping_tool_version": __version__,
            "object_source": f"pypi:{self.resource}",
            "object_source_version": self.version,
            "confidence": f"{self.confidence:.2f}",
            "comment": f"seen in {self.resource} {self.version}: {self.evidence}{others}",
        }


@dataclass(frozen=True)
class Contradiction:
    """Two or more identifiers of one prefix given as exact matches of one entity."""

    subject_id: str
    prefix: str
    sources: Mapping[str, tuple[str, ...]]
    """Each identifier with where it was seen."""

    def __str__(self) -> str:
        said = "; ".join(f"{i} ({', '.join(s)})" for i, s in sorted(self.sources.items()))
        return f"{self.subject_id}: {self.prefix} identifiers disagree: {said}"


@dataclass
class _Id:
    """An identifier in a resource, with the names it goes by there."""

    curie: str
    label: str
    evidence: str
    names: set[str] = field(default_factory=set)


def normal(text: str) -> str:
    """The form labels are compared in: case-folded, dashes and spacing unified."""
    text = re.sub(r"[‐-―−]", "-", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def installed_version(distribution: str) -> str | None:
    """The installed version of a PyPI distribution, or ``None`` when it is missing."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------- resources


class Resource:
    """A curated resource: identifiers by exact name, and curated mappings between them."""

    name: str
    version: str

    def by_name(self, name: str) -> list[tuple[str, str, float, str]]:
        """(CURIE, its label, confidence, evidence) for each identifier named ``name``."""
        raise NotImplementedError

    def mapped(self, curie: str) -> list[tuple[str, str, str]]:
        """(CURIE, its label, evidence) of each curated exact mapping of ``curie``."""
        return []

    def refuted(self, first: str, second: str) -> bool:
        """Whether the resource's curators said ``first`` and ``second`` do not match."""
        return False


class DrugDictionary(Resource):
    """``drug-named-entity-recognition``'s dictionary: name, synonym or brand → DrugBank id
    (the names as the package lower-cases them).

    Its ``mesh_id`` is not used: where biomappings labels the same MeSH id, 1,210 of 1,725
    entries of version 2.0.9 disagree, most often a pharmacological-action descriptor
    (acetaminophen → D058633 'Antipyretics', fulvestrant → D065171 'Estrogen Receptor
    Antagonists'); its DrugBank ids agreed with biomappings' 26 of 26."""

    name = DRUG_DICTIONARY

    def __init__(self, version: str) -> None:
        from drug_named_entity_recognition import drugs_finder  # loads the dictionary

        self.version = version
        self._variants: Mapping[str, list[str]] = drugs_finder.drug_variant_to_canonical
        self._data: Mapping[str, Mapping[str, object]] = drugs_finder.drug_canonical_to_data

    def by_name(self, name: str) -> list[tuple[str, str, float, str]]:
        found = []
        for canonical in self._variants.get(name, []):
            data = self._data.get(canonical, {})
            label = str(data.get("name", canonical))
            is_name = normal(label) == name
            how = "its name" if is_name else f"a synonym of '{label}'"
            for key, prefix in (("drugbank_id", "DRUGBANK"),):
                if value := data.get(key):
                    evidence = f"dictionary entry '{label}' ('{name}' is {how}) has {key} {value}"
                    found.append((f"{prefix}:{value}", label, 0.9 if is_name else 0.6, evidence))
        return found


class Biomappings(Resource):
    """``biomappings``' curated positive mappings (``positive.sssom.tsv``) and the pairs
    its curators rejected (``negative.sssom.tsv``)."""

    name = BIOMAPPINGS

    def __init__(self, version: str, folder: Path, prefixes: Mapping[str, str]) -> None:
        self.version = version
        self._names: dict[str, list[tuple[str, str]]] = {}
        self._mapped: dict[str, list[tuple[str, str, str]]] = {}
        self._negative: set[frozenset[str]] = set()
        for row in _sssom_rows(folder / "positive.sssom.tsv"):
            if row.get("predicate_id") != EXACT:
                continue
            pair = [
                (_curie(row[f"{s}_id"], prefixes), row[f"{s}_label"]) for s in ("subject", "object")
            ]
            for curie, label in pair:
                if curie:
                    self._names.setdefault(normal(label), []).append((curie, label))
            (first, first_label), (second, second_label) = pair
            if first and second:
                said = (
                    f"curated row {row['subject_id']} '{first_label}' = "
                    f"{row['object_id']} '{second_label}'"
                )
                self._mapped.setdefault(first, []).append((second, second_label, said))
                self._mapped.setdefault(second, []).append((first, first_label, said))
        for row in _sssom_rows(folder / "negative.sssom.tsv"):
            first, second = (_curie(row[f"{s}_id"], prefixes) for s in ("subject", "object"))
            if first and second:
                self._negative.add(frozenset((first, second)))

    def by_name(self, name: str) -> list[tuple[str, str, float, str]]:
        return [
            (curie, label, 0.8, f"label '{label}' of {curie} in a curated mapping row")
            for curie, label in dict.fromkeys(self._names.get(name, []))
        ]

    def mapped(self, curie: str) -> list[tuple[str, str, str]]:
        return self._mapped.get(curie, [])

    def refuted(self, first: str, second: str) -> bool:
        return frozenset((first, second)) in self._negative


def _sssom_rows(path: Path) -> Iterator[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    yield from csv.DictReader(io.StringIO(body), delimiter="\t")


def _curie(curie: str, prefixes: Mapping[str, str]) -> str | None:
    """``curie`` with its prefix spelled as the mapping file spells it, or ``None`` when the
    mapping file has no such prefix."""
    prefix, _, local = curie.partition(":")
    ours = prefixes.get(prefix.casefold())
    return f"{ours}:{local}" if ours else None


@cache
def _normalized_prefixes(curie_map_prefixes: tuple[str, ...]) -> dict[str, str]:
    """bioregistry's (case-folded) prefix → the mapping file's spelling of it."""
    import bioregistry

    spelled: dict[str, str] = {}
    for prefix in curie_map_prefixes:
        normalized = bioregistry.normalize_prefix(prefix)
        if normalized:
            spelled[normalized.casefold()] = prefix
            spelled.setdefault(prefix.casefold(), prefix)
    return spelled


def load_resources(mappings: MappingSet) -> tuple[list[Resource], list[str]]:
    """The installed resources, and a note for each one that is missing."""
    prefixes = _normalized_prefixes(tuple(mappings.curie_map))
    resources: list[Resource] = []
    missing = []
    if version := installed_version(DRUG_DICTIONARY):
        resources.append(DrugDictionary(version))
    else:
        missing.append(f"{DRUG_DICTIONARY} is not installed (pip install 'claimkg[links]')")
    spec = importlib.util.find_spec(BIOMAPPINGS)
    version = installed_version(BIOMAPPINGS)
    if spec and spec.submodule_search_locations and version:
        folder = Path(next(iter(spec.submodule_search_locations))) / "resources"
        resources.append(Biomappings(version, folder, prefixes))
    else:
        missing.append(f"{BIOMAPPINGS} is not installed (pip install 'claimkg[links]')")
    return resources, missing


# ---------------------------------------------------------------- candidates


def _allowed(entity: Entity, mappings: MappingSet) -> frozenset[str]:
    return KIND_PREFIXES.get(entity.type, frozenset(mappings.curie_map))


def _predicate(entity: Entity, curie: str, via: str = EXACT) -> str:
    if via == CLOSE or (entity.type == CKG.Protein and curie.partition(":")[0] in GENE_PREFIXES):
        return CLOSE
    return EXACT


def candidates(
    entities: Iterable[Entity], mappings: MappingSet, resources: Sequence[Resource]
) -> list[Candidate]:
    """Every candidate link of ``entities``: lexical matches in each resource, then one hop
    through curated mappings from accepted links and lexical candidates. A candidate the
    mapping file already holds from the same resource is left out; one a resource's
    curators refuted is dropped."""
    accepted = mappings.by_subject()
    found: list[Candidate] = []
    for entity in entities:
        subject = f"claimkg:{entity.id}"
        allowed = _allowed(entity, mappings)
        names = dict.fromkeys(normal(n) for n in (entity.label, *entity.synonyms) if n.strip())
        mine: list[Candidate] = []
        for resource in resources:
            for name in names:
                for curie, label, confidence, evidence in resource.by_name(name):
                    if curie.partition(":")[0] in allowed:
                        mine.append(Candidate(
                            subject, entity.label, _predicate(entity, curie), curie, label,
                            LEXICAL, resource.name, resource.version, confidence, evidence,
                        ))  # fmt: skip
        anchors = [(a.object_id, a.predicate_id, 1.0, a.source) for a in accepted.get(subject, [])]
        anchors += [(c.object_id, c.predicate_id, c.confidence, c.resource) for c in mine]
        for resource in resources:
            for anchor, via, confidence, anchor_source in anchors:
                for curie, label, said in resource.mapped(anchor):
                    if curie.partition(":")[0] not in allowed:
                        continue
                    mine.append(Candidate(
                        subject, entity.label, _predicate(entity, curie, via), curie, label,
                        CHAINED, resource.name, resource.version, round(confidence * 0.9, 2),
                        f"{said} (from {anchor}, {anchor_source[:60]})",
                    ))  # fmt: skip
        found += _merge(mine, accepted.get(subject, []), resources)
    return found


def _merge(
    mine: list[Candidate], accepted: list[Link], resources: Sequence[Resource]
) -> list[Candidate]:
    """One candidate per (object, resource), the surest; what else says the same; minus the
    rows already accepted from that resource and the pairs a resource refuted."""
    best: dict[tuple[str, str], Candidate] = {}
    for candidate in mine:  # a lexical match beats a chain, then the surer one wins
        key = (candidate.object_id, candidate.resource)
        if key not in best or _rank(candidate) > _rank(best[key]):
            best[key] = candidate
    accepted_from = {(a.object_id, a.object_source.removeprefix("pypi:")) for a in accepted}
    anchors = [a.object_id for a in accepted] + [c.object_id for c in mine]
    result = []
    for (curie, resource), candidate in sorted(best.items()):
        if (curie, resource) in accepted_from:
            continue
        if any(r.refuted(curie, other) for r in resources for other in anchors):
            continue
        others = sorted(
            {r for (c, r) in best if c == curie and r != resource}
            | {_short(a.source) for a in accepted if a.object_id == curie}
        )
        result.append(_with(candidate, tuple(others)))
    return result


def _rank(candidate: Candidate) -> tuple[bool, float]:
    return candidate.justification == LEXICAL, candidate.confidence


def _with(candidate: Candidate, others: tuple[str, ...]) -> Candidate:
    return Candidate(**{**candidate.__dict__, "also_seen_in": others})


def _short(source: str) -> str:
    return source if len(source) <= 80 else source[:77] + "..."


def cross_check(mappings: MappingSet, found: Iterable[Candidate]) -> list[Contradiction]:
    """Entities given two identifiers of one prefix as exact matches, by the mapping file's
    rows and the candidates together (a closeMatch contradicts nothing)."""
    said: dict[tuple[str, str], dict[str, set[str]]] = {}
    for link in mappings.links:
        if link.predicate_id == EXACT:
            key = (link.subject_id, link.prefix)
            said.setdefault(key, {}).setdefault(link.object_id, set()).add(_short(link.source))
    for candidate in found:
        if candidate.predicate_id == EXACT:
            key = (candidate.subject_id, candidate.object_id.partition(":")[0])
            where = f"{candidate.resource} {candidate.version}"
            said.setdefault(key, {}).setdefault(candidate.object_id, set()).add(where)
    return [
        Contradiction(subject, prefix, {i: tuple(sorted(s)) for i, s in ids.items()})
        for (subject, prefix), ids in sorted(said.items())
        if len(ids) > 1
    ]


def contradicted(found: Iterable[Candidate], contradictions: Iterable[Contradiction]) -> set[str]:
    """The ``subject object`` keys of candidates caught in a contradiction."""
    keys = {(c.subject_id, c.prefix) for c in contradictions}
    return {
        f"{c.subject_id} {c.object_id}"
        for c in found
        if (c.subject_id, c.object_id.partition(":")[0]) in keys
    }


def render_rows(found: Iterable[Candidate]) -> str:
    """Candidates as SSSOM TSV rows with a header, in ``kg.links.COLUMNS`` order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(c.row() for c in found)
    return buffer.getvalue()


# ---------------------------------------------------------------- gaps

GAP_COLUMNS = ("subject_id", "subject_label", "namespace", "reason")


def read_gaps(path: Path) -> list[dict[str, str]]:
    """The rows of a ``mapping-gaps.tsv``."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t"))


def gap_namespaces(cell: str) -> list[str]:
    """The namespaces a gap row's cell names (``HP; NCIT; MESH``); ``*`` for all of them
    (``all applicable``, ``all requested namespaces``)."""
    names = [n.strip() for n in cell.split(";") if n.strip()]
    return ["*" if n.startswith("all ") else n for n in names]


def missing_gaps(
    entities: Iterable[Entity],
    mappings: MappingSet,
    gaps: Iterable[Mapping[str, str]],
    found: Iterable[Candidate] = (),
    resources: Sequence[Resource] = (),
) -> list[dict[str, str]]:
    """A gap row for each main identifier of an entity's kind (``MAIN_NAMESPACES``) that no
    mapping row gives and no gap row explains, saying which resources were asked."""
    linked = {(link.subject_id, link.prefix) for link in mappings.links}
    explained = {(g["subject_id"], n) for g in gaps for n in gap_namespaces(g["namespace"])}
    proposed: dict[tuple[str, str], list[str]] = {}
    for candidate in found:
        key = (candidate.subject_id, candidate.object_id.partition(":")[0])
        proposed.setdefault(key, []).append(candidate.object_id)
    asked = ", ".join(f"{r.name} {r.version}" for r in resources) or "no resource installed"
    rows = []
    for entity in sorted(entities, key=lambda e: e.id):
        subject = f"claimkg:{entity.id}"
        for namespace in MAIN_NAMESPACES.get(entity.type, ()):
            if (subject, namespace) in linked or {(subject, namespace), (subject, "*")} & explained:
                continue
            if ids := proposed.get((subject, namespace)):
                reason = f"candidates {', '.join(sorted(set(ids)))} proposed, not yet reviewed"
            else:
                reason = f"no candidate in {asked} (exact label or synonym match)"
            rows.append({"subject_id": subject, "subject_label": entity.label,
                         "namespace": namespace, "reason": reason})  # fmt: skip
    return rows


def render_gaps(rows: Iterable[Mapping[str, str]], header: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, GAP_COLUMNS, delimiter="\t", lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ---------------------------------------------------------------- kg links --suggest / --gaps


def append_rows(mappings: MappingSet, found: Sequence[Candidate]) -> None:
    """Append candidates to the mapping file, atomically (a temporary file renamed over it)."""
    import os
    import tempfile

    from kg.errors import CurationError, Problem

    text = mappings.path.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if not line.startswith("#"))
    if tuple(header.split("\t")) != COLUMNS:
        raise CurationError([Problem(mappings.path, None, f"--accept needs the columns {COLUMNS}")])
    rows = render_rows(found).split("\n", 1)[1]
    body = text if text.endswith("\n") else text + "\n"
    handle, temporary = tempfile.mkstemp(dir=mappings.path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
        out.write(body + rows)
    os.replace(temporary, mappings.path)


def suggest_command(
    corpus: Corpus, only: Sequence[str] | None, minimum: float, accept: bool, gaps: bool
) -> int:
    """``kg links --suggest`` (rows on stdout, contradictions on stderr) and ``--gaps``."""
    import sys

    entities = [e for e in corpus.entities.values() if not only or e.id in only]
    if only and (unknown := sorted(set(only) - {e.id for e in entities})):
        print(f"kg: unknown entity id(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    resources, missing = load_resources(corpus.mappings)
    for note in missing:
        print(f"kg: {note}", file=sys.stderr)
    found = candidates(entities, corpus.mappings, resources)
    contradictions = cross_check(corpus.mappings, found)
    caught = contradicted(found, contradictions)
    for contradiction in contradictions:
        print(f"kg: contradiction: {contradiction}", file=sys.stderr)
    if gaps:
        path = corpus.mappings.path.with_name("mapping-gaps.tsv")
        known = read_gaps(path) if path.exists() else []
        rows = missing_gaps(entities, corpus.mappings, known, found, resources)
        sys.stdout.write(render_gaps(rows, header=not known))
        print(f"kg: {len(rows)} gap row(s) missing from {path}", file=sys.stderr)
        return 1 if rows else 0
    kept = [
        c for c in found
        if c.confidence >= minimum and f"{c.subject_id} {c.object_id}" not in caught
    ]  # fmt: skip
    sys.stdout.write(render_rows(kept))
    if accept and kept:
        append_rows(corpus.mappings, kept)
    print(
        f"kg: {len(kept)} candidate(s) for {len(entities)} entities"
        + (f" appended to {corpus.mappings.path}" if accept and kept else "")
        + f"; {len(contradictions)} contradiction(s)",
        file=sys.stderr,
    )
    return 1 if contradictions else 0
