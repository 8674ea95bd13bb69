"""One screening: the graph loaded into an in-memory Oxigraph store, the compiled queries
run on it, and their answers combined into the (shape, focus node) pairs that may violate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from kg import validate
from kg.screen.errors import ScreenError
from kg.screen.functions import _Functions
from kg.screen.program import _Leaf, _Program, _Query, _Test
from kg.screen.terms import OxTerm, _encode, _Encoded, _Encoder, _focus

_RULES: dict[str, Callable[[int, int], bool]] = {
    "or": lambda passed, members: passed > 0,
    "xone": lambda passed, members: passed == 1,
    "and": lambda passed, members: passed == members,
    "not": lambda passed, members: passed == 0,
    "qualified": lambda passed, members: True,  # counted per focus node below
}
"""Whether a value node that conforms to ``passed`` of a combination's ``members`` passes."""


class _Run:
    """One screening: the loaded store and the custom functions its queries call."""

    def __init__(
        self, store: ox.Store, disagreeing: frozenset[str], typed: frozenset[str] | None
    ) -> None:
        self.store = store
        self.disagreeing = disagreeing  # see _Encoder.disagreeing
        self.typed = typed  # see _Encoder.typed (None: decode every value read)
        self.functions = _Functions()
        self.found: dict[int, set[OxTerm]] = {}
        self.pair_rows: dict[str, list[tuple[OxTerm, OxTerm | None]]] = {}

    def check(self, compiled: _Program) -> set[tuple[str, str]]:
        self.store.update(compiled.focus, custom_functions=self.functions.table)
        for query in compiled.queries:
            self.run(query)
        suspected = {
            (check.shape, node.value)
            for check in compiled.checks
            for node in self.violators(check.test)
        }
        if self.functions.failure is not None:
            raise ScreenError(f"a SPARQL function failed: {self.functions.failure}")
        return suspected

    def select(self, sparql: str) -> Iterator[ox.QuerySolution]:
        solutions = self.store.query(sparql, custom_functions=self.functions.table)
        assert isinstance(solutions, ox.QuerySolutions)
        return iter(solutions)

    def run(self, query: _Query) -> None:
        leaf = query.leaf
        if leaf is None:  # a batch: each row names its leaf
            for row in self.select(query.sparql):
                self.found.setdefault(int(row["check"].value), set()).add(row["this"])
            return
        if query.native is not None:  # judged in Python, as rdflib judges it
            self.found.setdefault(leaf.id, set()).update(query.native.violators(self.select))
            return
        sparql = query.text(self.typed)
        if not self.trusts(query.reads):  # the engines may differ: suspect every focus node
            sparql = f"SELECT ?this WHERE {{ {_focus(leaf.key)} }}"
        self.found.setdefault(leaf.id, set()).update(row["this"] for row in self.select(sparql))

    def pairs(self, sparql: str) -> list[tuple[OxTerm, OxTerm | None]]:
        """Focus nodes and their values (once per query: shapes may share a path)."""
        if sparql not in self.pair_rows:
            rows = self.select(sparql)
            self.pair_rows[sparql] = [(row["this"], row["value"]) for row in rows]
        return self.pair_rows[sparql]

    def trusts(self, reads: frozenset[str] | None) -> bool:
        """Whether Oxigraph computes as rdflib would with the objects of ``reads``."""
        return not self.disagreeing if reads is None else not reads & self.disagreeing

    def violators(self, test: _Test) -> set[OxTerm]:
        """The focus nodes (under the test's key) that may violate."""
        if isinstance(test, _Leaf):
            return self.found.get(test.id, set())
        members = [set().union(*map(self.violators, member)) for member in test.members]
        flagged: set[OxTerm] = set()
        conforming: dict[OxTerm, int] = {}
        for this, value in self.pairs(test.pairs):
            conforming.setdefault(this, 0)
            if value is None:
                continue
            passed = sum(value not in violating for violating in members)
            conforming[this] += passed
            if not _RULES[test.rule](passed, len(members)):
                flagged.add(this)
        if test.rule == "qualified":
            high = test.high
            flagged = {
                this
                for this, n in conforming.items()
                if n < test.low or (high is not None and n > high)
            }
        return flagged


_ONTOLOGY = ("claimkg.ttl", "units.ttl")
_ONTOLOGIES: dict[str, _Encoded] = {}
"""The ontology encoded for each base IRI in this process (or read with the compiled
screen from a build folder: ``kg.screen.stored``)."""


def _ontology(base: str) -> _Encoded:
    """Encoded once per process: every article is checked against the same ontology."""
    encoded = _ONTOLOGIES.get(base)
    if encoded is None:
        encoded = _ONTOLOGIES[base] = _encode(validate._parsed(_ONTOLOGY, base))
    return encoded


_CONTEXTS: dict[frozenset[tuple[Node, Node, Node]], _Encoded] = {}
_FIXED: list[tuple[Graph, _Encoded]] = []
"""The context ``fix_context`` was given, and its encoding (at most one)."""


def fix_context(context: Graph) -> None:
    """Encode ``context`` now and, from here on, know it by identity: its caller promises
    not to change it. A build checks every article against the same entity graph, and
    hashing its triples for each article (``_context``) took ~4 ms at 751 entities."""
    _FIXED[:] = [(context, _encode(context))]


def _context(context: Graph | None) -> _Encoded:
    """The context encoded once while it stays the same (keyed on its triples, not its id:
    a context changed in place must not be served from the cache), unless it is fixed."""
    if context is None:
        return _Encoded("", frozenset(), frozenset())
    if _FIXED and context is _FIXED[0][0]:
        return _FIXED[0][1]
    key = frozenset(context)
    encoded = _CONTEXTS.get(key)
    if encoded is None:
        encoded = _encode(context)
        _CONTEXTS.clear()
        _CONTEXTS[key] = encoded
    return encoded


def _load(
    graph: Iterable[tuple[Node, Node, Node]],
    base: str,
    context: Graph | None,
    ontology: bool = True,
) -> _Run:
    """The data pySHACL sees (graph, context, ontology) in one store's default graph;
    ``graph`` may be any iterable of triples."""
    encoder = _Encoder()
    article = encoder.ntriples(graph)
    parts = [_context(context), *([_ontology(base)] if ontology else [])]
    store = ox.Store()
    try:
        text = article + "".join(part.ntriples for part in parts)
        store.load(text, format=ox.RdfFormat.N_TRIPLES, lenient=True)
    except (SyntaxError, ValueError) as error:  # UnicodeError is a ValueError
        raise ScreenError(f"cannot store the graph in Oxigraph: {error}") from error
    disagreeing = encoder.disagreeing.union(*(part.disagreeing for part in parts))
    typed = encoder.typed.union(*(part.typed for part in parts))
    return _Run(store, frozenset(disagreeing), frozenset(typed))
