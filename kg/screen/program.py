"""What the compiler writes and the runner reads: queries, and tests over their answers."""

from __future__ import annotations

from dataclasses import dataclass

from kg.screen.native import _QuoteCheck
from kg.screen.sparql import _render


@dataclass(frozen=True)
class _Leaf:
    """The focus nodes (under ``key``) that break one constraint, as some query finds them."""

    id: int
    key: str


@dataclass(frozen=True)
class _Combination:
    """sh:or, sh:xone or a qualified count: member shapes checked on the value nodes (the
    focus nodes of each member's tests), combined per value node in Python."""

    rule: str  # a key of kg.screen.run._RULES: "or", "xone", "and", "not" or "qualified"
    pairs: str  # SELECT ?this ?value: each focus node and its value nodes
    members: tuple[tuple[_Test, ...], ...]
    low: int = 0
    high: int | None = None


_Test = _Leaf | _Combination


@dataclass(frozen=True)
class _Query:
    """A SELECT of ``?this`` for one leaf, or of ``?check ?this`` for many (a batch)."""

    sparql: str
    leaf: _Leaf | None = None
    reads: frozenset[str] | None = frozenset()
    """The predicates whose objects a SHACL-SPARQL query computes with (None: any)."""
    sources: tuple[tuple[str, frozenset[str] | None], ...] = ()
    """For the variables marked in ``sparql``: see ``_Select.sources``."""
    native: _QuoteCheck | None = None
    """A SHACL-SPARQL constraint checked in Python instead (``kg.screen.native``)."""

    def text(self, typed: frozenset[str] | None) -> str:
        """The query, for data whose typed literals are objects of ``typed`` (None: any)."""
        return _render(self.sparql, dict(self.sources), typed) if self.sources else self.sparql


@dataclass(frozen=True)
class _Check:
    shape: str  # as Violation.shape names it
    test: _Test


@dataclass(frozen=True)
class _Program:
    focus: str  # the SPARQL Update that stores every shape's focus nodes
    queries: tuple[_Query, ...]
    checks: tuple[_Check, ...]
