"""The shapes compiled into set-at-a-time SPARQL: one query per kind of constraint.

Only the SHACL terms in ``_SUPPORTED`` are compiled; any other term, and anything the
compiler cannot follow (a recursive shape, a malformed list), raises ``UnsupportedShapes``
naming the shape, so validation falls back to pySHACL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from kg import validate
from kg.build_plan import code_fingerprint
from kg.namespaces import DEFAULT_BASE
from kg.screen import run, stored
from kg.screen.errors import UnsupportedShapes
from kg.screen.functions import _FUNCTION
from kg.screen.native import native
from kg.screen.program import _Check, _Combination, _Leaf, _Program, _Query, _Test
from kg.screen.run import _Run
from kg.screen.sparql import _rewrite, _Select
from kg.screen.terms import (
    _FOCUS,
    _IN,
    _NUMBERS,
    _SCREEN,
    _WELL,
    _agreed,
    _decoded,
    _Encoder,
    _focus,
    _string,
    _trusted_number,
    _well_typed,
)

if TYPE_CHECKING:  # rdflib's SPARQL parser, pyparsing, kg.prebinding: imported to compile
    from pyparsing import ParseResults

_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
_NODE_KINDS = {
    SH.IRI: "isIRI(?v)",
    SH.BlankNode: "isBlank(?v)",
    SH.Literal: "isLiteral(?v)",
    SH.BlankNodeOrIRI: "(isBlank(?v) || isIRI(?v))",
    SH.BlankNodeOrLiteral: "(isBlank(?v) || isLiteral(?v))",
    SH.IRIOrLiteral: "(isIRI(?v) || isLiteral(?v))",
}
_RANGES = {
    SH.minInclusive: ">=",
    SH.minExclusive: ">",
    SH.maxInclusive: "<=",
    SH.maxExclusive: "<",
}
_PAIRS = {SH.lessThan: "<", SH.lessThanOrEquals: "<="}
_BATCHES = {
    "minCount": ("?p", "FILTER NOT EXISTS { ?this ?p ?v }"),
    "maxCount": ("?p", "?this ?p ?v , ?w . FILTER (!sameTerm(?v, ?w))"),
    "class": ("?p ?class", f"?this ?p ?v . FILTER NOT EXISTS {{ {_focus('?class', '?v')} }}"),
    "datatype": (
        "?p ?datatype ?plain",
        "?this ?p ?v . FILTER (!COALESCE(sameTerm(DATATYPE(?v), ?datatype)"
        f" || (?plain && sameTerm(DATATYPE(?v), <{XSD.string}>)), false))",
    ),
    **{
        operator: (
            "?p ?bound",
            f"?this ?p ?v . FILTER (!COALESCE({_trusted_number('?v')}"
            f" && {_decoded('?v')} {operator} ?bound, false))",
        )
        for operator in _RANGES.values()
    },
    **{
        "pair" + operator: (
            "?p ?other",
            f"?this ?p ?v . ?this ?other ?o . FILTER (!COALESCE({_trusted_number('?v')}"
            f" && {_trusted_number('?o')} && {_decoded('?v')} {operator} {_decoded('?o')}, false))",
        )
        for operator in _PAIRS.values()
    },
}
"""Constraints checked for every shape at once: one query per kind, each constraint a row
(its leaf id, the focus key, the predicate, its parameters) of a VALUES table."""
_ANNOTATIONS = (SH.message, SH.severity, SH.name, SH.description, SH.order, SH.group)
"""Terms that change what a report says, not whether there is one (validate.py passes
``allow_warnings=False``: a warning is a violation too)."""
_IGNORED = frozenset((RDF.type, SH.path, SH.deactivated, *_ANNOTATIONS, *_TARGETS))
_COMBINATIONS = {SH["or"]: "or", SH.xone: "xone", SH["and"]: "and", SH["not"]: "not"}
_SUPPORTED = frozenset(
    {
        *_TARGETS, *_NODE_KINDS, *_RANGES, *_PAIRS,
        SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint, SH.SPARQLTarget,
        *_ANNOTATIONS, *_COMBINATIONS, SH.deactivated, SH.Violation, SH.Warning, SH.Info,
        SH.select, SH.prefixes, SH.declare, SH.prefix, SH.namespace, SH.PrefixDeclaration,
        SH.property, SH.path, SH.alternativePath, SH.minCount, SH.maxCount, SH["class"],
        SH.datatype, SH.nodeKind, SH.pattern, SH.minLength, SH.maxLength, SH["in"],
        SH.hasValue, SH.node, SH.qualifiedValueShape, SH.qualifiedMinCount,
        SH.qualifiedMaxCount, SH.sparql,
    }
)  # fmt: skip
"""Every SHACL term the compiler handles; the shapes may use no other."""


class _Compiler:
    """Reads the shapes graph; writes the focus update and the checks."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.updates: list[str] = []
        self.classes: set[str] = set()
        self.queries: list[_Query] = []
        self.rows: dict[str, list[str]] = {kind: [] for kind in _BATCHES}
        self.value_keys: dict[tuple[str, str], str] = {}
        self.keys = 0
        self.leaves = 0
        self.encoder = _Encoder()
        self.compiling: list[Node] = []  # the shapes being compiled, outermost first
        self.implicit = self._implicit_classes()

    def program(self) -> _Program:
        self._check_vocabulary()
        checks: list[_Check] = []
        roots = {s for target in _TARGETS for s in self.shapes.subjects(target, None)}
        roots |= self.implicit
        for shape in sorted(roots, key=str):
            if self._deactivated(shape):
                continue  # pySHACL does not validate it
            checks += self._shape(shape, self._targets(shape), nested=False)
        if self.classes:  # every instance of each class sh:class or sh:targetClass names
            self.updates.insert(
                0,
                f"INSERT {{ GRAPH <{_FOCUS}> {{ ?class <{_IN}> ?node }} }} "
                f"WHERE {{ VALUES ?class {{ {' '.join(sorted(self.classes))} }} "
                f"?type <{RDFS.subClassOf}>* ?class . ?node a ?type }}",
            )
        for kind, rows in self.rows.items():
            if rows:
                parameters, body = _BATCHES[kind]
                table = f"VALUES (?check ?key {parameters}) {{ {' '.join(rows)} }}"
                sparql = f"SELECT ?check ?this WHERE {{ {table} {_focus('?key')} {body} }}"
                self.queries.append(_Query(sparql))
        return _Program(" ;\n".join(self.updates), tuple(self.queries), tuple(checks))

    # -- vocabulary

    def _check_vocabulary(self) -> None:
        for s, p, o in self.shapes:
            for term in (p, o):
                if isinstance(term, URIRef) and term.startswith(str(SH)) and term not in _SUPPORTED:
                    raise UnsupportedShapes(f"{self._owner(s)}: {_short(term)} is not supported")

    def _implicit_classes(self) -> set[Node]:
        """The shapes that are also classes, as pySHACL finds them: each of its shapes (see
        ``_shapes``) whose rdf:type is rdfs:Class or a direct rdfs:subClassOf rdfs:Class in
        the shapes graph, owl:Class always among them (pySHACL adds that triple)."""
        metaclasses = {RDFS.Class, OWL.Class, *self.shapes.subjects(RDFS.subClassOf, RDFS.Class)}
        return {
            shape
            for shape in self._shapes()
            if not metaclasses.isdisjoint(self.shapes.objects(shape, RDF.type))
        }

    def _shapes(self) -> set[Node]:
        """Every node pySHACL takes for a shape (``ShapesGraph._build_node_shape_cache``)."""
        g = self.shapes
        found = {*g.subjects(RDF.type, SH.NodeShape), *g.subjects(RDF.type, SH.PropertyShape)}
        for predicate in (*_TARGETS, SH.property, SH.node):
            found.update(g.subjects(predicate, None))
        for predicate in (SH.property, SH.node, SH["not"], SH.qualifiedValueShape):
            found.update(g.objects(None, predicate))
        for predicate in (SH["and"], SH["or"], SH.xone):
            for head in g.objects(None, predicate):
                found.update(self._list(head, head))
        return found

    def _list(self, shape: Node, head: Node) -> list[Node]:
        """The members of the RDF list at ``head`` (raises for a malformed or cyclic one,
        where rdflib's Collection would loop or raise)."""
        members: list[Node] = []
        seen: set[Node] = set()
        node = head
        while node != RDF.nil:
            first = list(self.shapes.objects(node, RDF.first))
            rest = list(self.shapes.objects(node, RDF.rest))
            if node in seen or len(first) != 1 or len(rest) != 1:
                raise self.fail(shape, "a malformed RDF list")
            seen.add(node)
            members.append(first[0])
            node = rest[0]
        return members

    def _deactivated(self, node: Node) -> bool:
        values = list(self.shapes.objects(node, SH.deactivated))
        if not values:
            return False
        value = values[0]
        if len(values) > 1 or not isinstance(value, Literal) or type(value.value) is not bool:
            raise self.fail(node, "sh:deactivated that is not one boolean")
        return value.value

    def _owner(self, node: Node) -> str:
        """The named shape a (blank) node belongs to."""
        seen, frontier = {node}, [node]
        while frontier:
            current = frontier.pop()
            if isinstance(current, URIRef):
                return _short(current)
            for parent in self.shapes.subjects(None, current):
                if parent not in seen:
                    seen.add(parent)
                    frontier.append(parent)
        return _short(node)

    def fail(self, shape: Node, why: str) -> UnsupportedShapes:
        return UnsupportedShapes(f"{self._owner(shape)}: {why}")

    # -- targets and keys

    def _key(self) -> str:
        self.keys += 1
        return f"{_SCREEN}key:{self.keys}"

    def _class(self, shape: Node, node: Node | None) -> str:
        """The key of the instances of a class (rdf:type/rdfs:subClassOf*), found once."""
        iri = self._iri(shape, node)
        self.classes.add(iri)
        return iri[1:-1]

    def _targets(self, shape: Node) -> str:
        """The key under which the focus nodes of ``shape`` are stored."""
        targets = [(t, v) for t in _TARGETS for v in self.shapes.objects(shape, t)]
        if shape in self.implicit:
            targets.append((SH.targetClass, shape))
        if len(targets) == 1 and targets[0][0] == SH.targetClass:
            return self._class(shape, targets[0][1])
        key = self._key()
        for target, value in targets:
            if target == SH.targetClass:
                where = _focus(self._class(shape, value))
            elif target == SH.targetNode:
                where = f"BIND ({self._term(value)} AS ?this)"  # in the data or not
            elif target == SH.targetSubjectsOf:
                where = f"?this {self._iri(shape, value)} ?object"
            elif target == SH.targetObjectsOf:
                where = f"?subject {self._iri(shape, value)} ?this"
            elif (value, RDF.type, SH.SPARQLTarget) in self.shapes:
                select = self._select(value, shape)
                if select.computes:
                    raise self.fail(shape, "a SPARQL target with FILTER or BIND")
                where = f"{{ SELECT DISTINCT ?this WHERE {select.where} }}"
            else:
                raise self.fail(shape, "sh:target other than a sh:SPARQLTarget")
            self.updates.append(
                f"INSERT {{ GRAPH <{_FOCUS}> {{ <{key}> <{_IN}> ?this }} }} WHERE {{ {where} }}"
            )
        return key

    def _select(self, node: Node, shape: Node, parsed: ParseResults | None = None) -> _Select:
        from kg import prebinding  # with rdflib's SPARQL parser: see TYPE_CHECKING above

        text = self.shapes.value(node, SH.select)
        if not isinstance(text, Literal):
            raise self.fail(shape, "a SPARQL constraint or target without one sh:select")
        try:
            namespaces = prebinding.prefixes(self.shapes, node)
        except ValueError as error:
            raise self.fail(shape, str(error)) from error
        return _rewrite(str(text), namespaces, self._owner(node), parsed)

    def _iri(self, shape: Node, node: Node | None) -> str:
        if not isinstance(node, URIRef):
            raise self.fail(shape, f"{node} where an IRI was expected")
        return str(ox.NamedNode(node))

    def _term(self, node: Node) -> str:
        if isinstance(node, BNode):  # in a query, a blank node would match anything
            raise UnsupportedShapes(f"a blank node {node} as a value to compare with")
        return self.encoder.term(node)

    # -- shapes

    def _path(self, shape: Node) -> list[str]:
        """The predicates of the shape's path (several for sh:alternativePath; none for a
        node shape)."""
        paths = list(self.shapes.objects(shape, SH.path))
        if len(paths) > 1:
            raise self.fail(shape, "more than one sh:path")
        path = paths[0] if paths else None
        if path is None or isinstance(path, URIRef):
            return [] if path is None else [self._iri(shape, path)]
        alternatives = self.shapes.value(path, SH.alternativePath)
        if alternatives is None or set(self.shapes.predicates(path)) != {SH.alternativePath}:
            raise self.fail(shape, "a path other than a predicate or sh:alternativePath")
        return [self._iri(shape, p) for p in self._list(shape, alternatives)]

    def _shape(self, shape: Node, key: str, nested: bool) -> list[_Check]:
        """The checks of ``shape`` on the focus nodes under ``key``. A nested (member) shape
        is negated by its caller, so its checks must be exact, not over-approximations."""
        if shape in self.compiling:
            raise self.fail(shape, "a recursive shape")
        if nested and self._deactivated(shape):
            raise self.fail(shape, "a deactivated shape inside another (it conforms always)")
        if not nested and self._deactivated(shape):
            return []  # pySHACL skips it
        self.compiling.append(shape)
        try:
            return self._checks(shape, key, nested)
        finally:
            self.compiling.pop()

    def _checks(self, shape: Node, key: str, nested: bool) -> list[_Check]:
        name = _short(shape)
        predicates = self._path(shape)
        path = "(" + "|".join(predicates) + ")" if predicates else None
        checks: list[_Check] = []
        constraints = sorted(self.shapes.predicate_objects(shape), key=lambda po: str(po))
        for predicate, value in constraints:
            if predicate in _IGNORED or not str(predicate).startswith(str(SH)):
                continue  # outside SHACL (rdfs:label…): inert, as no custom component is declared
            if predicate in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
                if (shape, SH.qualifiedValueShape, None) not in self.shapes:
                    raise self.fail(shape, f"{_short(predicate)} without sh:qualifiedValueShape")
                continue  # counted with sh:qualifiedValueShape
            if predicate == SH.property:
                if path:
                    raise self.fail(shape, "sh:property on a property shape")
                checks += self._shape(value, key, nested)
                continue
            test, exact = self._constraint(shape, key, predicates, predicate, value, nested)
            if nested and not exact:
                raise self.fail(shape, f"{_short(predicate)} inside sh:or, sh:xone or a "
                                "qualified shape (the screen over-approximates it)")  # fmt: skip
            # a SPARQL constraint reports under its own name (sh:sourceConstraint)
            checks.append(_Check(_short(value) if predicate == SH.sparql else name, test))
        return checks

    def _leaf(self, key: str) -> _Leaf:
        self.leaves += 1
        return _Leaf(self.leaves, key)

    def _batched(self, kind: str, key: str, predicates: list[str], *parameters: str) -> _Leaf:
        """A constraint checked in the ``kind`` batch, one row per alternative predicate."""
        leaf = self._leaf(key)
        for predicate in predicates:
            self.rows[kind].append(f"({leaf.id} <{key}> {predicate} {' '.join(parameters)})")
        return leaf

    def _alone(self, key: str, sparql: str, select: _Select | None = None) -> _Leaf:
        """A constraint checked by its own query (a SELECT of ?this); for a SHACL-SPARQL
        one, what it reads (see ``_Run.trusts``) and how to decode it."""
        leaf = self._leaf(key)
        if select is None:
            self.queries.append(_Query(sparql, leaf))
        else:
            reads = select.predicates if select.computes else frozenset()
            self.queries.append(_Query(sparql, leaf, reads, select.sources))
        return leaf

    def _constraint(
        self, shape: Node, key: str, predicates: list[str], predicate: Node, value: Node,
        nested: bool,
    ) -> tuple[_Test, bool]:  # fmt: skip
        """One constraint: its test, and whether the test is exact."""
        focus = _focus(key)
        path = "(" + "|".join(predicates) + ")" if predicates else None
        values = f"?this {path} ?v ." if path else "BIND (?this AS ?v)"
        simple = len(predicates) == 1

        def query(body: str) -> _Leaf:
            return self._alone(key, f"SELECT DISTINCT ?this WHERE {{ {focus} {body} }}")

        def count(having: str) -> _Leaf:
            sparql = (
                f"SELECT ?this WHERE {{ {focus} OPTIONAL {{ ?this {path} ?v }} }} "
                f"GROUP BY ?this HAVING ({having})"
            )
            return self._alone(key, sparql)

        if path is None and predicate in (SH.minCount, SH.maxCount, *_PAIRS):
            raise self.fail(shape, f"{_short(predicate)} on a node shape")
        if predicate == SH.minCount:
            n = self._count(shape, value)
            if n == 1 and simple:
                return self._batched("minCount", key, predicates), True
            if n == 1:
                return query(f"FILTER NOT EXISTS {{ ?this {path} ?v }}"), True
            return count(f"COUNT(DISTINCT ?v) < {n}"), True
        if predicate == SH.maxCount:
            n = self._count(shape, value)
            if n == 1 and simple:
                return self._batched("maxCount", key, predicates), True
            return count(f"COUNT(DISTINCT ?v) > {n}"), True
        if predicate == SH["class"]:
            instances = self._class(shape, value)
            if path:
                return self._batched("class", key, predicates, f"<{instances}>"), True
            return query(f"{values} FILTER NOT EXISTS {{ {_focus(instances, '?v')} }}"), True
        if predicate == SH.datatype:
            datatype, plain = self._datatype(shape, value)
            if path:
                return self._batched("datatype", key, predicates, datatype, plain), True
            ok = f"sameTerm(DATATYPE(?v), {datatype}) || ({plain} && isLiteral(?v) && "
            ok += f"sameTerm(DATATYPE(?v), <{XSD.string}>))"
            return query(f"{values} FILTER (!COALESCE({ok}, false))"), True
        if predicate == SH.nodeKind:
            if value not in _NODE_KINDS:
                raise self.fail(shape, f"sh:nodeKind {value}")
            return query(f"{values} FILTER (!{_NODE_KINDS[value]})"), True  # type: ignore[index]
        if predicate == SH.pattern:
            if not isinstance(value, Literal):
                raise self.fail(shape, "sh:pattern that is not a string")
            ok = f"COALESCE(<{_FUNCTION}pattern>(STR(?v), {_string(value)}), false)"
            return query(f"{values} FILTER (isBlank(?v) || !{ok})"), True
        if predicate == SH.minLength:
            n = self._count(shape, value)
            if n == 0:
                return self._leaf(key), True  # nothing is shorter than nothing
            ok = f"COALESCE(STRLEN(STR(?v)) >= {n}, false)"
            return query(f"{values} FILTER (isBlank(?v) || !{ok})"), True
        if predicate == SH.maxLength:
            ok = f"COALESCE(STRLEN(STR(?v)) <= {self._count(shape, value)}, false)"
            return query(f"{values} FILTER (isBlank(?v) || !{ok})"), True
        if predicate == SH["in"]:
            listed = [self._term(m) for m in self._list(shape, value)]
            allowed = " || ".join(f"sameTerm(?v, {m})" for m in listed) or "false"
            return query(f"{values} FILTER (!({allowed}))"), True
        if predicate == SH.hasValue:
            if path is None:
                return query(f"FILTER (!sameTerm(?this, {self._term(value)}))"), True
            return query(f"FILTER NOT EXISTS {{ ?this {path} {self._term(value)} }}"), True
        if predicate in _RANGES:
            operator = _RANGES[predicate]  # type: ignore[index]
            bound = self._bound(shape, value)
            if path:
                return self._batched(operator, key, predicates, bound), False
            ok = f"COALESCE({_trusted_number('?v')} && {_decoded('?v')} {operator} {bound}, false)"
            return query(f"{values} FILTER (!{ok})"), False
        if predicate in _PAIRS:
            other = self._iri(shape, value)
            return self._batched("pair" + _PAIRS[predicate], key, predicates, other), False  # type: ignore[index]
        if predicate in _COMBINATIONS:
            rule = _COMBINATIONS[predicate]  # type: ignore[index]
            members = [value] if rule == "not" else self._list(shape, value)
            return self._combination(shape, key, path, rule, members), True
        if predicate == SH.node:  # every value node conforms to the shape
            return self._combination(shape, key, path, "and", [value]), True
        if predicate == SH.qualifiedValueShape:
            if path is None:
                raise self.fail(shape, "sh:qualifiedValueShape on a node shape")
            test = self._combination(shape, key, path, "qualified", [value])
            low = self.shapes.value(shape, SH.qualifiedMinCount)
            high = self.shapes.value(shape, SH.qualifiedMaxCount)
            low_count = 0 if low is None else self._count(shape, low)
            high_count = None if high is None else self._count(shape, high)
            return _Combination(test.rule, test.pairs, test.members, low_count, high_count), True
        if predicate == SH.sparql:
            from rdflib.plugins.sparql.parser import parseQuery  # not for a build

            from kg import prebinding

            if path is not None or nested:
                raise self.fail(shape, "sh:sparql on a property shape or a nested shape")
            if self._deactivated(value):
                return self._leaf(key), True  # pySHACL skips it
            text = self.shapes.value(value, SH.select)
            try:
                parsed = parseQuery(str(text))
            except Exception as error:
                raise self.fail(value, f"rdflib cannot parse the select: {error}") from error
            refusal = prebinding.refusal(parsed)
            if refusal is not None:  # pySHACL's per-focus run may find more
                raise self.fail(value, f"a SPARQL constraint not run once for all: {refusal}")
            select = self._select(value, value, parsed)
            subquery = f"{{ SELECT ?this WHERE {select.where} }}"
            sparql = f"SELECT DISTINCT ?this WHERE {{ {focus} {subquery} }}"
            check = native(str(text), prebinding.prefixes(self.shapes, value), key)
            if check is not None:  # one Oxigraph cannot run in linear time
                leaf = self._leaf(key)
                self.queries.append(_Query(sparql, leaf, native=check))
                return leaf, True
            return self._alone(key, sparql, select), True
        raise self.fail(shape, f"{_short(predicate)} is not supported here")

    def _combination(
        self, shape: Node, key: str, path: str | None, rule: str, members: list[Node]
    ) -> _Combination:
        if not all(isinstance(m, BNode | URIRef) for m in members):
            raise self.fail(shape, f"sh:{rule} of something other than shapes")
        if path is None:  # node level: the value node is the focus node itself
            candidates = key
            pairs = f"SELECT ?this ?value WHERE {{ {_focus(key)} BIND (?this AS ?value) }}"
        else:
            candidates = self._values(key, path)
            pairs = (
                f"SELECT DISTINCT ?this ?value WHERE {{ {_focus(key)} "
                f"OPTIONAL {{ ?this {path} ?value }} }}"
            )
        tests = tuple(
            tuple(c.test for c in self._shape(member, candidates, nested=True))
            for member in members
        )
        return _Combination(rule, pairs, tests)

    def _values(self, key: str, path: str) -> str:
        """The key of the value nodes of ``path`` from the focus nodes under ``key``
        (stored once, however many shapes check them)."""
        if (key, path) not in self.value_keys:
            self.value_keys[key, path] = values = self._key()
            self.updates.append(
                f"INSERT {{ GRAPH <{_FOCUS}> {{ <{values}> <{_IN}> ?v }} }} "
                f"WHERE {{ {_focus(key)} ?this {path} ?v }}"
            )
        return self.value_keys[key, path]

    def _count(self, shape: Node, value: Node) -> int:
        if not isinstance(value, Literal) or type(value.value) is not int or value.value < 0:
            raise self.fail(shape, f"{value} where a non-negative integer was expected")
        return value.value

    def _datatype(self, shape: Node, value: Node) -> tuple[str, str]:
        """The stored datatype of a literal pySHACL accepts for sh:datatype ``value``, and
        whether a plain literal does too (for xsd:string)."""
        if not isinstance(value, URIRef) or value in (RDFS.Literal, RDFS.Datatype, RDF.langString):
            raise self.fail(shape, f"sh:datatype {value}")
        return f"<{_WELL}{value}>", "true" if value == XSD.string else "false"

    def _bound(self, shape: Node, value: Node) -> str:
        if not (isinstance(value, Literal) and value.datatype in _NUMBERS):
            raise self.fail(shape, f"a bound {value} that is not an integer or decimal")
        if not _agreed(value, _well_typed(value)):
            raise self.fail(shape, f"a bound {value} beyond 18 characters")
        return str(ox.Literal(value, datatype=ox.NamedNode(value.datatype)))


def _short(term: Node | None) -> str:
    return validate._short(term)


def compile_shapes(shapes: Graph) -> _Program:
    """Compile a shapes graph; raises ``UnsupportedShapes`` naming the shape and the term
    the compiler does not handle. Every query runs once here on an empty store, so a
    rewriting bug fails at compile time, not on an article."""
    try:
        compiled = _Compiler(shapes).program()
    except UnsupportedShapes:
        raise
    except Exception as error:  # e.g. a shape rdflib cannot read: pySHACL will say
        raise UnsupportedShapes(f"the compiler cannot follow these shapes: {error!r}") from error
    try:
        for typed in (None, frozenset[str]()):  # every value decoded, or none
            _Run(ox.Store(), frozenset(), typed).check(compiled)
    except SyntaxError as error:
        raise UnsupportedShapes(f"a compiled query does not parse: {error}") from error
    return compiled


_PROGRAMS: dict[str, _Program | UnsupportedShapes] = {}
"""The shipped shapes compiled for each base IRI in this process (or their refusal)."""


def _compiled(base: str, folder: Path | None = None) -> _Program | UnsupportedShapes:
    """The shipped shapes compiled for ``base``, once per process; with ``folder`` (a build
    folder's cache), read with the encoded ontology from there, else from the package's
    shipped screen, when made from the same inputs (``kg.screen.stored``), else compiled."""
    found = _PROGRAMS.get(base)
    if found is None:

        def compile() -> _Program:
            return compile_shapes(validate._parsed(("shapes.ttl",), base))

        if folder is None:
            try:
                found = compile()
            except UnsupportedShapes as error:
                found = error
        else:
            texts = stored.texts(base)
            wanted = stored.key(texts, base, code_fingerprint())
            shipped = stored.key(texts, base, stored.compiler_code())
            found, ontology = stored.screen(
                folder, wanted, compile, lambda: run._ontology(base), shipped
            )
            run._ONTOLOGIES.setdefault(base, ontology)
        _PROGRAMS[base] = found
    return found


def _forget() -> None:
    """Compile and encode again at the next use (for tests that change the shapes)."""
    _PROGRAMS.clear()
    run._ONTOLOGIES.clear()


def prepare(folder: Path, base: str = DEFAULT_BASE) -> None:
    """Have the shapes for ``base`` compiled and the ontology encoded, or both read from
    ``folder`` (see ``_compiled``), before the build forks its workers, which then inherit
    them."""
    _compiled(base, folder)


def program(base: str = DEFAULT_BASE) -> _Program:
    """The compiled shapes for ``base``, once per process."""
    compiled = _compiled(base)
    if isinstance(compiled, UnsupportedShapes):
        raise compiled
    return compiled
