"""KGX TSV export of the entity graph (``nodes.tsv``, ``edges.tsv``), for Biolink tools.

Nodes are claimkg's entities with their Biolink category and their external identifiers as
``xref``. Edges come from claims: a relation claim gives subject → object; a measurement or
comparison gives each entity it is about → its endpoint and its target. Every edge carries
its claim's provenance: the claim IRI, the exact quote and its offsets, the speaker, the
article and the DOIs it cites.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from kg.namespaces import BIOLINK, CITO, CKG, ID, OA

NODE_COLUMNS = ("id", "category", "name", "xref", "provided_by")
EDGE_COLUMNS = (
    "id", "subject", "predicate", "object", "original_predicate", "category",
    "knowledge_level", "agent_type", "publications", "claim_type", "quote", "quote_start",
    "quote_end", "speaker", "article",
)  # fmt: skip
PROVIDED_BY = "claimkg"
# Each relation predicate's Biolink predicate; related_to (the root) where none is closer.
# Slots seen in biolink-model 4.4.6's biolink_model.yaml (docs/decisions/0003-links.md).
BIOLINK_PREDICATES = {
    CKG.hasPart: "biolink:has_part",
    CKG.inhibits: "biolink:affects",
    CKG.blocks: "biolink:affects",
    CKG.suppresses: "biolink:affects",
    CKG.induces: "biolink:affects",
    CKG.isAssociatedWith: "biolink:associated_with",
}
_ENTITY_PREFIX = str(ID["entity/"])


def node_id(iri: Node) -> str:
    """A CURIE for a claimkg IRI (``claimkg:lerociclib``); other IRIs as they are."""
    text = str(iri)
    return "claimkg:" + text[len(_ENTITY_PREFIX) :] if text.startswith(_ENTITY_PREFIX) else text


def _curie(graph: Graph, iri: Node) -> str:
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


def node_rows(graph: Graph) -> Iterator[dict[str, str]]:
    for node in sorted(graph.subjects(RDF.type, CKG.Entity), key=str):
        xrefs = sorted(
            _curie(graph, o)
            for p in (SKOS.exactMatch, SKOS.closeMatch)
            for o in graph.objects(node, p)
        )
        yield {
            "id": node_id(node),
            "category": _curie(graph, graph.value(node, BIOLINK.category) or BIOLINK.NamedThing),
            "name": str(graph.value(node, RDFS.label) or ""),
            "xref": "|".join(xrefs),
            "provided_by": PROVIDED_BY,
        }


def _claim_edges(graph: Graph, claim: Node) -> Iterator[tuple[Node, Node, Node]]:
    """(subject, original predicate, object) entity pairs a claim states or measures."""
    if (claim, RDF.type, CKG.Relation) in graph:
        subject, predicate = graph.value(claim, RDF.subject), graph.value(claim, RDF.predicate)
        obj = graph.value(claim, RDF.object)
        if subject is not None and predicate is not None and obj is not None:
            yield subject, predicate, obj
        return
    for about in graph.objects(claim, CKG.about):
        for link in (CKG.endpoint, CKG.target):
            for obj in graph.objects(claim, link):
                if obj != about:
                    yield about, link, obj


def edge_rows(graph: Graph) -> Iterator[dict[str, str]]:
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
            (_curie(graph, t) for t in graph.objects(claim, RDF.type) if t != CKG.Claim), ""
        )
        for number, (subject, predicate, obj) in enumerate(_claim_edges(graph, claim)):
            yield {
                "id": f"{claim}#edge-{number}",
                "subject": node_id(subject),
                "predicate": BIOLINK_PREDICATES.get(URIRef(str(predicate)), "biolink:related_to"),
                "object": node_id(obj),
                "original_predicate": _curie(graph, predicate),
                "category": "biolink:Association",
                "knowledge_level": "knowledge_assertion",
                "agent_type": "automated_agent",
                "publications": "|".join(dois),
                "claim_type": claim_type,
                "quote": str(exact).replace("\t", " ").replace("\n", " "),
                "quote_start": str(start),
                "quote_end": str(end),
                "speaker": node_id(graph.value(claim, PROV.wasAttributedTo) or Literal("")),
                "article": str(graph.value(claim, DCTERMS.source) or ""),
            }


KGX_FILES = {
    "nodes.tsv": "KGX TSV: entities with Biolink categories and external ids",
    "edges.tsv": "KGX TSV: entity-to-entity edges, each with its claim's provenance",
}


def render_kgx(graph: Graph) -> dict[str, str]:
    """The two KGX files' contents, by file name."""
    return {
        "nodes.tsv": _tsv(NODE_COLUMNS, node_rows(graph)),
        "edges.tsv": _tsv(EDGE_COLUMNS, edge_rows(graph)),
    }
