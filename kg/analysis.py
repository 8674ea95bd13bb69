"""Stage 6 — the graph as networkx views, for questions SPARQL answers poorly.

Three views of the built RDF graph, each a ``networkx.DiGraph`` whose nodes are keyed by
IRI and carry ``kind`` and ``label`` attributes:

- citation support: reference → claim ("supports"); a claim with no incoming edge cites
  nothing in its own sentence;
- provenance: claim → quote → section → article, and claim → speaker;
- biomedical: entity → entity, one edge per pair, with the ids of the claims that state or
  measure it (``claims``) — relation claims (subject → object), measurements and
  comparisons (what they are about → endpoint or target), trial arms → their drugs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS
from rdflib.term import Node

from kg.namespaces import CITO, CKG
from kg.serialize import write_text


def _label(graph: Graph, node: Node) -> str:
    label = graph.value(node, RDFS.label) or graph.value(node, CKG.claimId)
    return str(label) if label is not None else str(node).rsplit("/", 1)[-1]


def _claims(graph: Graph) -> list[Node]:
    return sorted(graph.subjects(RDF.type, CKG.Claim), key=str)


def citation_support_graph(graph: Graph) -> nx.DiGraph:
    """Reference → claim, for every citation a claim makes in its own sentence."""
    view = nx.DiGraph(name="citation support")
    for reference in graph.subjects(RDF.type, CKG.Reference):
        number = graph.value(reference, CKG.referenceNumber)
        title = graph.value(reference, DCTERMS.title) or graph.value(reference, CKG.url) or ""
        view.add_node(str(reference), kind="reference", label=f"[{number}] {title}".strip())
    for claim in _claims(graph):
        view.add_node(str(claim), kind="claim", label=_label(graph, claim))
        for reference in graph.objects(claim, CITO.citesAsEvidence):
            view.add_edge(str(reference), str(claim), relation="supports")
    return view


def provenance_graph(graph: Graph) -> nx.DiGraph:
    """Claim → quote → section → article, and claim → speaker."""
    view = nx.DiGraph(name="provenance")
    for claim in _claims(graph):
        view.add_node(str(claim), kind="claim", label=_label(graph, claim))
        for quote in graph.objects(claim, CKG.hasQuote):
            exact = next(
                (str(graph.value(s, URIRef("http://www.w3.org/ns/oa#exact")))
                 for s in graph.objects(quote, URIRef("http://www.w3.org/ns/oa#hasSelector"))
                 if graph.value(s, URIRef("http://www.w3.org/ns/oa#exact")) is not None),
                "",
            )  # fmt: skip
            view.add_node(str(quote), kind="quote", label=exact)
            view.add_edge(str(claim), str(quote), relation="quoted in")
            for section in graph.objects(claim, CKG.inSection):
                view.add_node(
                    str(section), kind="section", label=str(graph.value(section, DCTERMS.title))
                )
                view.add_edge(str(quote), str(section), relation="in section")
                for article in graph.objects(section, DCTERMS.isPartOf):
                    view.add_node(
                        str(article), kind="article", label=str(graph.value(article, DCTERMS.title))
                    )
                    view.add_edge(str(section), str(article), relation="part of")
        for speaker in graph.objects(claim, PROV.wasAttributedTo):
            view.add_node(str(speaker), kind="speaker", label=_label(graph, speaker))
            view.add_edge(str(claim), str(speaker), relation="said by")
    return view


def _entity_pairs(graph: Graph, claim: Node) -> Iterable[tuple[Node, Node, str]]:
    if (claim, RDF.type, CKG.Relation) in graph:
        subject, obj = graph.value(claim, RDF.subject), graph.value(claim, RDF.object)
        predicate = graph.value(claim, RDF.predicate)
        if subject is not None and obj is not None:
            yield subject, obj, str(predicate).rsplit("/", 1)[-1]
        return
    for about in graph.objects(claim, CKG.about):
        for link in (CKG.endpoint, CKG.target):
            for obj in graph.objects(claim, link):
                if obj != about:
                    yield about, obj, str(link).rsplit("/", 1)[-1]


def biomedical_graph(graph: Graph) -> nx.DiGraph:
    """Entity → entity, each edge listing the claims behind it (space-separated ids)."""
    view = nx.DiGraph(name="biomedical")

    def add_entity(node: Node) -> None:
        kinds = [
            str(t).rsplit("/", 1)[-1] for t in graph.objects(node, RDF.type) if t != CKG.Entity
        ]
        view.add_node(str(node), kind=(kinds or ["Entity"])[0], label=_label(graph, node))

    for entity in graph.subjects(RDF.type, CKG.Entity):
        add_entity(entity)
    for whole, part in graph.subject_objects(CKG.hasPart):
        view.add_edge(str(whole), str(part), relation="hasPart", claims="")
    for claim in _claims(graph):
        claim_id = _label(graph, claim)
        for subject, obj, relation in _entity_pairs(graph, claim):
            if view.has_edge(str(subject), str(obj)):
                data = view.edges[str(subject), str(obj)]
                data["claims"] = " ".join(filter(None, [data["claims"], claim_id]))
            else:
                view.add_edge(str(subject), str(obj), relation=relation, claims=claim_id)
    return view


@dataclass(frozen=True)
class PathStep:
    source: str
    target: str
    relation: str
    claims: tuple[str, ...]
    forward: bool
    """False when the edge runs from ``target`` to ``source`` (e.g. an arm has a drug)."""

    def __str__(self) -> str:
        arrow = f"—{self.relation}→" if self.forward else f"←{self.relation}—"
        return f"{self.source} {arrow} {self.target}"


def find_entity(view: nx.DiGraph, name: str) -> str:
    """The node whose IRI ends with ``/name`` or whose label is ``name`` (case-insensitive)."""
    for node, data in view.nodes(data=True):
        if node.endswith(f"/{name}") or str(data.get("label", "")).lower() == name.lower():
            return str(node)
    raise KeyError(f"no entity '{name}' (give an entity id such as lerociclib, or its label)")


def entity_path(view: nx.DiGraph, source: str, target: str) -> list[PathStep]:
    """The shortest chain of entities between two, edges read either way, with their claims."""
    path = nx.shortest_path(
        view.to_undirected(as_view=True), find_entity(view, source), find_entity(view, target)
    )
    steps = []
    for here, there in itertools.pairwise(path):
        forward = view.has_edge(here, there)
        data = view.edges[here, there] if forward else view.edges[there, here]
        steps.append(
            PathStep(
                view.nodes[here]["label"],
                view.nodes[there]["label"],
                data["relation"],
                tuple(data["claims"].split()),
                forward,
            )
        )
    return steps


def support_ranking(view: nx.DiGraph) -> list[tuple[str, int]]:
    """References by the number of claims they support, most first."""
    references = [
        (data["label"], view.out_degree(node))
        for node, data in view.nodes(data=True)
        if data["kind"] == "reference"
    ]
    return sorted(references, key=lambda item: (-item[1], item[0]))


def unsupported_claims(view: nx.DiGraph) -> list[str]:
    """Claims that cite nothing in their own sentence."""
    return sorted(
        data["label"]
        for node, data in view.nodes(data=True)
        if data["kind"] == "claim" and view.in_degree(node) == 0
    )


def write_graphml(views: Iterable[nx.DiGraph], out_dir: Path) -> list[Path]:
    """One GraphML file per view (``citation-support.graphml`` …), written atomically."""
    written = []
    for view in views:
        path = out_dir / f"{view.graph['name'].replace(' ', '-')}.graphml"
        write_text(path, "\n".join(nx.generate_graphml(view)) + "\n")
        written.append(path)
    return written
