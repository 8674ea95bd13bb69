"""claimkg's default base IRI, in a module of its own so that the command line and the
build's planning read it without importing rdflib (``kg.namespaces`` re-exports it)."""

from __future__ import annotations

DEFAULT_BASE = "https://w3id.org/claimkg/"
"""The base IRI every claimkg IRI starts with; ``rebase_graph`` moves a graph to another."""
