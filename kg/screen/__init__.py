"""Stage 3, fast path — a sound screen in front of pySHACL.

pySHACL checks one focus node at a time in Python (~0.65 s for a 100-claim article), and
nearly every article conforms. So ``kg.validate.validate_graph`` first asks this package a
cheaper question: which (shape, focus node) pairs *might* violate? The shapes are compiled
once per process (a build reads them from its folder's cache when neither the shapes nor
the code changed: ``stored``) into a few dozen SPARQL queries, each checking one kind of
constraint for every shape and every focus node at once, run on an in-memory Oxigraph
store holding the article, its context and the ontology. An empty answer means the graph
conforms; otherwise pySHACL runs, and it alone writes violation reports.

``terms`` stores rdflib terms in Oxigraph without losing what pySHACL sees; ``functions``
are SPARQL functions run in Python as rdflib runs them; ``sparql`` rewrites a SHACL-SPARQL
select for the store, or refuses it; ``compiler`` turns the shapes into a ``program``;
``run`` loads one graph and runs the program on it; ``stored`` keeps the program in a build
folder's cache.

The screen may flag too much (a needless pySHACL run) but never too little. How:

- Only the SHACL terms in ``compiler._SUPPORTED`` are compiled; any other term (sh:closed,
  sh:equals, complex paths…), a recursive shape or a malformed list raises
  ``UnsupportedShapes`` naming the shape, and validation falls back to pySHACL, so a new
  kind of shape can never silently weaken validation; so does any failure of the compiler
  or of a screening (``ScreenError``): the answer is then pySHACL's.
- Focus nodes are pySHACL's: its four core targets, SPARQL targets, and its implicit class
  targets (a shape typed rdfs:Class, owl:Class or a direct subclass of rdfs:Class).
- A SHACL-SPARQL constraint is compiled only where one run with ``$this`` free finds what
  pySHACL's runs with ``$this`` pre-bound find (``kg.prebinding``: a top-level triple
  pattern binds ``$this`` before any other use).
- Terms are stored as rdflib holds them. Oxigraph keeps numbers as values ("0.50" becomes
  0.5, xsd:nonNegativeInteger becomes xsd:integer), so each typed literal is stored under a
  screen datatype that keeps its lexical form and datatype and says whether pySHACL finds
  it well-typed; a query decodes it back to a value where it computes with it.
- Violation conditions count an evaluation error as a violation (``!COALESCE(ok, false)``),
  and an order comparison is trusted only between integers and decimals short enough for
  Oxigraph's fixed precision: anything else is flagged. Inside sh:or, sh:xone, sh:and,
  sh:not, sh:node and qualified shapes (whose answers are negated) only exact checks go.
- sh:pattern runs Python's ``re`` as pySHACL does (a custom SPARQL function); so do the
  regex and SUBSTR functions of SHACL-SPARQL queries, written after rdflib's, so regex
  dialects and rdflib's quirks are those of the exact path. What stays Oxigraph's (``=``,
  ``!=``, ``+``, ``-``, the logic operators, STRSTARTS…) is compared with rdflib in
  ``tests/test_screen.py`` on the literal kinds in ``terms._AGREED``. When a predicate such
  a query reads has a value of another kind, every focus node of that constraint is a
  suspect.
- Targets and constraints are evaluated over the whole data, context included, so the screen
  finds whatever the per-article pySHACL run (which skips some context checks) finds.
- ``tests/test_shacl_suites.py`` holds it to pySHACL on the W3C and DASH suites and a fuzz run.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Graph
from rdflib.term import Node

from kg.namespaces import DEFAULT_BASE
from kg.screen.compiler import _compiled, _forget, compile_shapes, prepare, program
from kg.screen.errors import ScreenError, UnsupportedShapes
from kg.screen.run import _load, fix_context

__all__ = [
    "ScreenError",
    "UnsupportedShapes",
    "_compiled",
    "_forget",
    "compile_shapes",
    "fix_context",
    "prepare",
    "program",
    "suspects",
]


def suspects(
    graph: Graph | Iterable[tuple[Node, Node, Node]],
    base: str = DEFAULT_BASE,
    context: Graph | None = None,
    shapes: Graph | None = None,
    *,
    ontology: bool = True,
) -> set[tuple[str, str]]:
    """(shape, focus node) pairs that may violate the shapes (``ontology/shapes.ttl``, or
    ``shapes``), named as ``Violation`` names them; every pair pySHACL would report is among
    them. The data is ``graph``, ``context`` and (unless ``ontology`` is False, for shapes of
    another vocabulary) claimkg's ontology. Raises ``ScreenError`` when the screen cannot
    decide (unsupported shapes, data Oxigraph cannot hold, a SPARQL function that would
    fail on the exact path too)."""
    compiled = program(base) if shapes is None else compile_shapes(shapes)
    try:
        return _load(graph, base, context, ontology).check(compiled)
    except ScreenError:
        raise
    except Exception as error:  # whatever it is, pySHACL decides instead: never a crash
        raise ScreenError(f"the screen failed: {error!r}") from error
