"""KGX TSV export of the entity graph (``nodes.tsv``, ``edges.tsv``), for Biolink tools.

Nodes are claimkg's entities with their Biolink category. A node's id is its Biolink-preferred
identifier where an exact match gives one (``PREFERRED_ID_PREFIXES``), the ``claimkg:`` id
otherwise; every other identifier, the ``claimkg:`` one included, is an ``xref``. Edges come
from claims: a relation claim gives subject → object; a measurement or comparison gives each
entity it is about → its endpoint and its target. Every edge carries its claim's provenance:
the claim IRI, the exact quote and its offsets, the speaker, the article (its infores as
``primary_knowledge_source``) and the DOIs it cites.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from kg.namespaces import BIOLINK, CITO, CKG, ID, OA

NODE_COLUMNS = ("id", "category", "name", "xref", "provided_by")
EDGE_COLUMNS = (
    "id", "subject", "predicate", "object", "original_predicate", "category",
    "object_aspect_qualifier", "object_direction_qualifier", "knowledge_level", "agent_type",
    "primary_knowledge_source", "aggregator_knowledge_source", "publications", "claim_type",
    "quote", "quote_start", "quote_end", "speaker", "article",
)  # fmt: skip
PROVIDED_BY = "infores:claimkg"
"""claimkg itself, as the aggregator of every article's claims (not a registered infores)."""
# Each relation predicate's Biolink predicate and qualifiers; related_to (the root) where
# none is closer. Slots and enum values seen in biolink-model 4.4.6's biolink_model.yaml
# (docs/decisions/0011-kgx-validation.md).
BIOLINK_PREDICATES: dict[URIRef, tuple[str, str, str]] = {
    CKG.hasPart: ("biolink:has_part", "", ""),
    CKG.inhibits: ("biolink:affects", "activity", "decreased"),
    CKG.blocks: ("biolink:affects", "activity", "decreased"),
    CKG.suppresses: ("biolink:affects", "", "decreased"),
    CKG.induces: ("biolink:affects", "", "increased"),
    CKG.isAssociatedWith: ("biolink:associated_with", "", ""),
    # an IC50 against a target measures how the drug decreases the target's activity
    CKG.target: ("biolink:affects", "activity", "decreased"),
}
_CHEMICALS = {BIOLINK.SmallMolecule, BIOLINK.Drug, BIOLINK.ChemicalEntity, BIOLINK.MolecularEntity}
_CONDITIONS = {BIOLINK.PhenotypicFeature, BIOLINK.Disease}
# Which prefixes make a node id, best first: the prefixes of the mapping file in the order of
# biolink-model 4.4.6's preferred_prefixes_per_class.json (a test compares the two).
PREFERRED_ID_PREFIXES: dict[URIRef, tuple[str, ...]] = {
    BIOLINK.SmallMolecule: ("CHEBI", "UNII", "PUBCHEM.COMPOUND", "CHEMBL.COMPOUND", "DRUGBANK",
                            "MESH", "DrugCentral"),
    BIOLINK.Drug: ("CHEBI", "UNII", "PUBCHEM.COMPOUND", "CHEMBL.COMPOUND", "DRUGBANK", "MESH",
                   "DrugCentral"),
    BIOLINK.Protein: ("UniProtKB", "ENSEMBL", "NCIT", "MESH"),
    BIOLINK.Disease: ("MONDO", "DOID", "EFO", "MESH", "NCIT", "HP"),
    BIOLINK.PhenotypicFeature: ("HP", "EFO", "NCIT", "MESH"),
    BIOLINK.Publication: ("PMID", "PMC", "doi"),
}  # fmt: skip
_ENTITY_PREFIX = str(ID["entity/"])


class Lookups(Protocol):
    """The lookups the edges need: an rdflib Graph, or a ``TripleIndex`` of an article's
    triples (which a build never makes into a Graph)."""

    def value(self, subject: Node, predicate: Node) -> Node | None: ...
    def objects(self, subject: Node, predicate: Node) -> Iterator[Node]: ...
    def subjects(self, predicate: Node, obj: Node) -> Iterator[Node]: ...
    def __contains__(self, triple: tuple[Node, Node, Node]) -> bool: ...
    def compute_qname(self, uri: str, generate: bool = ...) -> tuple[str, URIRef, str]: ...


class TripleIndex:
    """Triples indexed by subject and predicate, answering ``Lookups`` as a Graph of them
    would; CURIEs by the prefixes bound in ``namespaces``."""

    def __init__(self, triples: Iterable[tuple[Node, Node, Node]], namespaces: Graph) -> None:
        self._out: dict[Node, dict[Node, list[Node]]] = {}
        for s, p, o in triples:
            self._out.setdefault(s, {}).setdefault(p, []).append(o)
        self.compute_qname = namespaces.compute_qname

    def value(self, subject: Node, predicate: Node) -> Node | None:
        found = self._out.get(subject, {}).get(predicate)
        return found[0] if found else None

    def objects(self, subject: Node, predicate: Node) -> Iterator[Node]:
        return iter(self._out.get(subject, {}).get(predicate, ()))

    def subjects(self, predicate: Node, obj: Node) -> Iterator[Node]:
        return (s for s, out in self._out.items() if obj in out.get(predicate, ()))

    def __contains__(self, triple: tuple[Node, Node, Node]) -> bool:
        s, p, o = triple
        return o in self._out.get(s, {}).get(p, ())


def node_id(iri: Node) -> str:
    """A CURIE for a claimkg IRI (``claimkg:lerociclib``); other IRIs as they are."""
    text = str(iri)
    return "claimkg:" + text[len(_ENTITY_PREFIX) :] if text.startswith(_ENTITY_PREFIX) else text


def _xrefs(graph: Graph, node: Node) -> tuple[list[str], list[str]]:
    """A node's exact and close matches, as CURIEs."""
    exact = sorted(_curie(graph, o) for o in graph.objects(node, SKOS.exactMatch))
    close = sorted(_curie(graph, o) for o in graph.objects(node, SKOS.closeMatch))
    return exact, close


def _category(graph: Graph, node: Node) -> Node:
    return graph.value(node, BIOLINK.category) or BIOLINK.NamedThing


def node_ids(graph: Graph) -> dict[Node, str]:
    """Each entity's KGX id: its exact match of the category's most preferred prefix, else
    its ``claimkg:`` id (also when two entities would share one id)."""
    chosen: dict[Node, str] = {}
    for node in graph.subjects(RDF.type, CKG.Entity):
        exact, _ = _xrefs(graph, node)
        order = PREFERRED_ID_PREFIXES.get(URIRef(str(_category(graph, node))), ())
        ranked = sorted(
            (order.index(c.partition(":")[0]), c) for c in exact if c.partition(":")[0] in order
        )
        chosen[node] = ranked[0][1] if ranked else node_id(node)
    shared = {i for i, n in Counter(chosen.values()).items() if n > 1}
    return {node: node_id(node) if i in shared else i for node, i in chosen.items()}


def _curie(graph: Graph | Lookups, iri: Node) -> str:
    """A CURIE by the graph's bound prefixes, or the IRI itself when none fits."""
    try:
        prefix, _, name = graph.compute_qname(str(iri), generate=False)
    except (KeyError, ValueError):
        return str(iri)
    return f"{prefix}:{name}"


def _tsv(columns: tuple[str, ...], rows: Iterable[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def node_rows(graph: Graph, ids: Mapping[Node, str] | None = None) -> Iterator[dict[str, str]]:
    ids = ids if ids is not None else node_ids(graph)
    for node in sorted(graph.subjects(RDF.type, CKG.Entity), key=str):
        exact, close = _xrefs(graph, node)
        xrefs = sorted({*exact, *close, node_id(node)} - {ids[node]})
        yield {
            "id": ids[node],
            "category": _curie(graph, _category(graph, node)),
            "name": str(graph.value(node, RDFS.label) or ""),
            "xref": "|".join(xrefs),
            "provided_by": PROVIDED_BY,
        }


def _claim_edges(graph: Lookups, claim: Node) -> Iterator[tuple[Node, Node, Node]]:
    """(subject, original predicate, object) entity pairs a claim states or measures."""
    if (claim, RDF.type, CKG.Relation) in graph:
        subject, predicate = graph.value(claim, RDF.subject), graph.value(claim, RDF.predicate)
        obj = graph.value(claim, RDF.object)
        if subject is not None and predicate is not None and obj is not None:
            yield subject, predicate, obj
        return
    # sorted: the edges' numbers must not depend on the order triples were added in
    for about in sorted(graph.objects(claim, CKG.about), key=str):
        for link in (CKG.endpoint, CKG.target):
            for obj in sorted(graph.objects(claim, link), key=str):
                if obj != about:
                    yield about, link, obj


def _predicate(graph: Graph, subject: Node, original: Node, obj: Node) -> tuple[str, str, str]:
    """The most specific Biolink predicate (and its qualifiers) the claim supports."""
    if original == CKG.isAssociatedWith and (
        _category(graph, subject) in _CHEMICALS and _category(graph, obj) in _CONDITIONS
    ):
        return "biolink:has_adverse_event", "", ""  # a drug's association with a condition
    return BIOLINK_PREDICATES.get(URIRef(str(original)), ("biolink:related_to", "", ""))


def infores(article: str) -> str:
    """The infores claimkg mints for an article (not a registered Information Resource)."""
    return f"infores:claimkg-{article.rstrip('/').rsplit('/', 1)[-1]}" if article else ""


def edge_rows(
    graph: Graph | Lookups, ids: Mapping[Node, str] | None = None, entities: Graph | None = None
) -> Iterator[dict[str, str]]:
    """Each claim's edges, by claim IRI; ``entities`` (default: ``graph``) gives the
    entities' categories, when ``graph`` holds one article's claims only."""
    if entities is None:
        assert isinstance(graph, Graph), "the entities of a TripleIndex must be given"
        entities = graph
    ids = ids if ids is not None else node_ids(entities)
    kinds = entities
    for claim in sorted(graph.subjects(RDF.type, CKG.Claim), key=str):
        quote = graph.value(claim, CKG.hasQuote)
        selectors = list(graph.objects(quote, OA.hasSelector)) if quote is not None else []
        exact = next((graph.value(s, OA.exact) for s in selectors if graph.value(s, OA.exact)), "")
        start = next((graph.value(s, OA.start) for s in selectors if graph.value(s, OA.start)), "")
        end = next((graph.value(s, OA.end) for s in selectors if graph.value(s, OA.end)), "")
        dois = sorted(
            f"doi:{doi}"
            for reference in graph.objects(claim, CITO.citesAsEvidence)
            for doi in graph.objects(reference, CKG.doi)
        )
        claim_type = next(
            (
                _curie(graph, t)
                for t in sorted(graph.objects(claim, RDF.type), key=str)
                if t != CKG.Claim
            ),
            "",
        )
        article = str(graph.value(claim, DCTERMS.source) or "")
        for number, (subject, predicate, obj) in enumerate(_claim_edges(graph, claim)):
            biolink, aspect, direction = _predicate(kinds, subject, predicate, obj)
            yield {
                "id": f"{claim}#edge-{number}",
                "subject": ids.get(subject, node_id(subject)),
                "predicate": biolink,
                "object": ids.get(obj, node_id(obj)),
                "original_predicate": _curie(graph, predicate),
                "category": "biolink:Association",
                "object_aspect_qualifier": aspect,
                "object_direction_qualifier": direction,
                "knowledge_level": "knowledge_assertion",
                "agent_type": "automated_agent",
                "primary_knowledge_source": infores(article),
                "aggregator_knowledge_source": PROVIDED_BY,
                "publications": "|".join(dois),
                "claim_type": claim_type,
                "quote": str(exact).replace("\t", " ").replace("\n", " "),
                "quote_start": str(start),
                "quote_end": str(end),
                "speaker": node_id(graph.value(claim, PROV.wasAttributedTo) or Literal("")),
                "article": article,
            }


KGX_FILES = {
    "nodes.tsv": "KGX TSV: entities with Biolink categories and external ids",
    "edges.tsv": "KGX TSV: entity-to-entity edges, each with its claim's provenance",
}


def render_kgx(graph: Graph) -> dict[str, str]:
    """The two KGX files' contents, by file name."""
    ids = node_ids(graph)
    return {
        "nodes.tsv": _tsv(NODE_COLUMNS, node_rows(graph, ids)),
        "edges.tsv": _tsv(EDGE_COLUMNS, edge_rows(graph, ids)),
    }


# ---------------------------------------------------------------- from per-unit parts


def edge_part(graph: Graph | Lookups, entities: Graph) -> str:
    """One unit's edges as TSV rows without a header, subjects and objects by their
    ``claimkg:`` id (``node_id``): the build caches this beside the unit's N-Triples, and
    ``kgx_edges`` maps them to the corpus's KGX ids, which depend on the links."""
    return _tsv(EDGE_COLUMNS, edge_rows(graph, {}, entities)).split("\n", 1)[1]


def kgx_nodes(shared: Graph) -> tuple[str, dict[str, str]]:
    """``nodes.tsv`` from the shared graph alone, and each entity's ``claimkg:`` id → its
    KGX id, which the edges need: both depend on the shared unit only, so they can be kept
    while articles change."""
    ids = node_ids(shared)
    remap = {node_id(node): kgx_id for node, kgx_id in ids.items()}
    return _tsv(NODE_COLUMNS, node_rows(shared, ids)), remap


def kgx_edges(remap: Mapping[str, str], parts: Iterable[str]) -> str:
    """``edges.tsv`` from every unit's ``edge_part``, entities by their KGX ids."""
    return _tsv(EDGE_COLUMNS, _edge_rows(remap, parts))


def _edge_rows(remap: Mapping[str, str], parts: Iterable[str]) -> list[dict[str, str]]:
    rows = [row for part in parts for row in csv.DictReader(
        io.StringIO(part), EDGE_COLUMNS, delimiter="\t")]  # fmt: skip
    for row in rows:
        row["subject"] = remap.get(row["subject"], row["subject"])
        row["object"] = remap.get(row["object"], row["object"])
    rows.sort(key=_edge_order)  # by claim, as render_kgx
    return rows


def _edge_order(row: Mapping[str, str]) -> str:
    return row["id"].rsplit("#edge-", 1)[0]


def edge_block(remap: Mapping[str, str], part: str) -> dict[str, str]:
    """One unit's rows of ``edges.tsv`` (no header), with the first and last row's place in
    the file's order: blocks whose places follow each other are the file's rows in order,
    without parsing them again (``edges_from_blocks``)."""
    rows = _edge_rows(remap, [part])
    body = _tsv(EDGE_COLUMNS, rows).split("\n", 1)[1]
    first, last = (_edge_order(rows[0]), _edge_order(rows[-1])) if rows else ("", "")
    return {"first": first, "last": last, "rows": body}


def edges_from_blocks(blocks: Sequence[Mapping[str, str]]) -> str | None:
    """``edges.tsv`` as the blocks' rows one after another, or None when their places
    overlap (then ``kgx_edges`` sorts every row)."""
    filled = [b for b in blocks if b["rows"]]
    if any(a["last"] > b["first"] for a, b in itertools.pairwise(filled)):
        return None
    header = _tsv(EDGE_COLUMNS, [])
    return header + "".join(b["rows"] for b in filled)
