"""Stage 3 — when a SHACL-SPARQL constraint may run once over the whole graph.

pySHACL runs a constraint's SELECT once per focus node with ``$this`` pre-bound (rdflib's
``initBindings``: the variable is bound everywhere in the query, inside OPTIONAL, UNION,
nested groups and BIND included). ``kg/validate.py`` and ``kg/screen`` run it once, with
``$this`` free, and keep the rows of the focus nodes: 10–100× cheaper, but equal only when
reading ``$this`` free gives what reading it pre-bound gives. That holds by construction
when a triple pattern of the top-level group binds ``$this`` before anything else uses it,
and it is used afterwards only by that group's triple patterns, FILTERs and BINDs (each of
which sees the group's solution, where ``$this`` is already bound): a solution with
``$this`` = f then exists free exactly when it exists with f pre-bound. Anything else —
``FILTER NOT EXISTS { $this … }`` first, ``$this`` inside OPTIONAL or UNION,
``BIND (… AS $this)``, grouping, a path that may be empty — is refused here, and pySHACL's
per-focus run decides. The decision reads rdflib's own parse of the query, not its text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyparsing import ParseResults
from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node, Variable

THIS = Variable("this")
PREBOUND = frozenset(("currentShape", "shapesGraph", "PATH"))
"""Variables pySHACL binds (or substitutes) for a constraint besides ``$this``."""

_MODIFIERS = {
    "datasetClause": "FROM",
    "groupby": "GROUP BY",
    "having": "HAVING",
    "orderby": "ORDER BY",
    "limitoffset": "LIMIT or OFFSET",
    "valuesClause": "VALUES",
}
_PARTS = {
    "Filter": "a FILTER",
    "Bind": "a BIND",
    "OptionalGraphPattern": "OPTIONAL",
    "GroupOrUnionGraphPattern": "a nested group or UNION",
    "MinusGraphPattern": "MINUS",
    "GraphGraphPattern": "GRAPH",
    "ServiceGraphPattern": "SERVICE",
    "InlineData": "VALUES",
    "SubSelect": "a sub-select",
}


def refusal(select: str | ParseResults) -> str | None:
    """Why one run of ``select`` (its text, or rdflib's parse of it) with ``$this`` free
    might not find, for each focus node, what pySHACL's run with ``$this`` pre-bound to it
    finds; None when it cannot differ."""
    if isinstance(select, str):
        try:
            select = parseQuery(select)
        except Exception as error:  # pyparsing's ParseException, or anything it raises
            return f"rdflib cannot parse it ({str(error).splitlines()[0]})"
    query = select[1]
    if not isinstance(query, CompValue) or query.name != "SelectQuery":
        return "it is not a SELECT query"
    for clause, words in _MODIFIERS.items():
        if clause in query:
            return f"it has {words}"
    for name in PREBOUND:
        if _mentions(query, name):
            return f"it reads ${name}, which pySHACL pre-binds"
    projection = _get(query, "projection")
    if projection is not None:
        if any(_get(item, "evar") == THIS for item in projection):
            return "it computes $this in the SELECT clause"
        if not any(_get(item, "var") == THIS for item in projection):
            return "it does not select $this"
        if any(_has_aggregate(_get(item, "expr")) for item in projection):
            return "it aggregates"
    where = _get(query, "where")
    if not isinstance(where, CompValue) or where.name != "GroupGraphPatternSub":
        return "its WHERE clause is not a group pattern"
    bound = False
    for part in _get(where, "part") or ():
        if not _mentions(part):
            continue
        kind = part.name
        if kind == "TriplesBlock":
            if not bound and not any(_binds(triple) for triple in _triples(part)):
                return "$this is first read by a path that may be empty"
            bound = True
            continue
        where_used = _PARTS.get(kind, kind)
        if kind == "Bind" and _get(part, "var") == THIS:
            return "it binds $this (BIND … AS $this)"
        if not bound:
            return f"$this is read by {where_used} before a top-level triple pattern binds it"
        if kind not in ("Filter", "Bind"):
            return f"$this is read inside {where_used}"
    if not bound:
        return "no top-level triple pattern binds $this"
    return None


def _get(node: CompValue, key: str) -> Any:
    """``node[key]``, or None (``CompValue.get`` answers the key itself when it is missing)."""
    return dict.get(node, key)


def _mentions(node: object, name: str = "this") -> bool:
    """Whether the variable ``name`` occurs anywhere in a parse (sub)tree."""
    if isinstance(node, Variable):
        return str(node) == name
    if isinstance(node, CompValue):
        return any(_mentions(value, name) for value in node.values())
    if isinstance(node, ParseResults | list | tuple):
        return any(_mentions(value, name) for value in node)
    return False


def _has_aggregate(node: object) -> bool:
    if isinstance(node, CompValue):
        return node.name.startswith("Aggregate_") or any(map(_has_aggregate, node.values()))
    if isinstance(node, ParseResults | list | tuple):
        return any(map(_has_aggregate, node))
    return False


def _triples(block: CompValue) -> Iterator[tuple[object, object, object]]:
    """The triple patterns of a TriplesBlock (rdflib keeps each subject's as a flat list)."""
    for flat in _get(block, "triples") or ():
        terms = list(flat)
        for at in range(0, len(terms) - 2, 3):
            yield terms[at], terms[at + 1], terms[at + 2]


def _binds(triple: tuple[object, object, object]) -> bool:
    """Whether every match of ``triple`` binds ``$this`` to a node of the graph (a path that
    may match zero steps also matches nodes the graph does not hold)."""
    subject, path, value = triple
    if path == THIS:
        return True
    return THIS in (subject, value) and not _may_be_empty(path)


def _may_be_empty(path: object) -> bool:
    if not isinstance(path, CompValue):
        return False  # an IRI, a prefixed name, a variable
    parts = _get(path, "part")
    if path.name == "PathAlternative":
        return any(_may_be_empty(p) for p in parts)
    if path.name == "PathSequence":
        return all(_may_be_empty(p) for p in parts)
    if path.name == "PathElt":
        return _get(path, "mod") in ("*", "?") or _may_be_empty(parts)
    if path.name == "PathEltOrInverse":
        return _may_be_empty(parts)
    return False  # a negated property set: one step


_DEFAULT_PREFIXES = {
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
}


def prefixes(shapes: Graph, node: Node) -> dict[str, str]:
    """The prefixes pySHACL declares for the select of ``node`` (a SPARQL constraint or
    target): rdf, rdfs and owl, then the sh:declare of its sh:prefixes, and, unless those are
    an ontology's own, every owl:Ontology's. Raises ``ValueError`` for a prefix declared
    twice apart (pySHACL would pick one at random) or a malformed declaration."""
    ontologies = set(shapes.subjects(RDF.type, OWL.Ontology))
    everywhere = {d for o in ontologies for d in shapes.objects(o, SH.declare)}
    declarations: set[Node] = set()
    for owner in shapes.objects(node, SH.prefixes):
        own = set(shapes.objects(owner, SH.declare))
        declarations |= own if own and owner in ontologies else own | everywhere
    found: dict[str, str] = {}
    for declaration in declarations:
        prefix = list(shapes.objects(declaration, SH.prefix))
        namespace = list(shapes.objects(declaration, SH.namespace))
        if len(prefix) != 1 or len(namespace) != 1 or not isinstance(prefix[0], Literal):
            raise ValueError(f"a malformed sh:declare {declaration}")
        name, iri = str(prefix[0]), str(namespace[0])
        if found.get(name, iri) != iri:
            raise ValueError(f"the prefix {name}: is declared twice")
        found[name] = iri
    return {**_DEFAULT_PREFIXES, **found}


def reads(select: ParseResults, name: str) -> bool:
    """Whether the parsed ``select`` uses the variable ``name`` anywhere."""
    return _mentions(select[1], name)
