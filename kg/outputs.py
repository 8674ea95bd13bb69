"""What ``kg build`` writes into a build folder: names only, no heavy imports, so that the
command line can describe its outputs without loading rdflib (``kg --help`` stays instant).
``kg.serialize`` writes these files."""

from __future__ import annotations

OUTPUT_FILES: dict[str, str] = {
    "claimkg.ttl": "Turtle: the whole graph",
    "claimkg.nt": "N-Triples: the whole graph, graph by graph, each graph sorted",
    "claimkg.jsonld": "JSON-LD: the whole graph, expanded (full IRIs), one node per line",
    "claimkg.trig": "TriG: one nanopublication per claim, plus context graphs",
    "validation-report.ttl": "SHACL validation report",
}

UNION_FILES: dict[str, str] = {
    "claimkg.nq": "N-Quads: every named graph (one per article, entities, external evidence)",
}

FORMATS: dict[str, tuple[str, ...]] = {
    "ttl": ("claimkg.ttl",),
    "nt": ("claimkg.nt",),
    "nq": ("claimkg.nq",),
    "jsonld": ("claimkg.jsonld",),
    "trig": ("claimkg.trig",),
    "kgx": ("nodes.tsv", "edges.tsv"),
}
"""What ``kg build --format`` may write; each corpus build also writes the report."""

REPORT = "validation-report.ttl"

UNIT_EDGES = "edges.tsv"
"""A unit's KGX edges (``kg.kgx.edge_part``), cached beside its N-Triples in the build folder."""
