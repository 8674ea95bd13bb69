"""Stage 3 — check a graph against the shapes (``ontology/shapes.ttl``).

The shapes are the schema; this module runs pySHACL and turns its report into violations a
curator can act on: each names the claim (found by walking back from the focus node, e.g.
from a position selector to the claim that owns it) and, when the graph records it, the
curated file and line the claim came from.

pySHACL is exact but slow (~0.65 s for a 100-claim article), so a sound screen
(``kg/screen/``: the shapes compiled to set-at-a-time SPARQL on Oxigraph) runs first.
When it suspects nothing the graph conforms and pySHACL is skipped; otherwise pySHACL runs
as before and stays the only source of violation reports.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, cast

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.query import ResultRow
from rdflib.term import Identifier, Node

from kg.namespaces import CKG, DEFAULT_BASE, OA, bind_prefixes, rebase_turtle
from kg.resources import ontology_file

if TYPE_CHECKING:  # rdflib's SPARQL engine is imported where a query runs, not by a build
    from rdflib.plugins.sparql.sparql import Query

Triple = tuple[Node, Node, Node]


@dataclass(frozen=True)
class Violation:
    """One SHACL result, located for a human."""

    shape: str
    message: str
    focus: str
    path: str | None
    value: str | None
    claim_id: str | None
    curated_at: str | None
    severity: str

    def __str__(self) -> str:
        where = f"{self.curated_at}: " if self.curated_at else ""
        who = f"claim '{self.claim_id}'" if self.claim_id else f"<{self.focus}>"
        value = f" (value: {self.value})" if self.value is not None else ""
        return f"{where}{who}: {self.message}{value} [{self.shape}]"


@dataclass(frozen=True)
class ValidationResult:
    conforms: bool
    violations: tuple[Violation, ...]
    report: Graph

    def text(self) -> str:
        """A report a person reads: one violation per line, or a one-line all-clear."""
        if self.conforms:
            return "Conforms: the graph satisfies every shape in ontology/shapes.ttl."
        lines = [f"Does not conform: {len(self.violations)} violation(s)."]
        lines += [f"  {v}" for v in self.violations]
        return "\n".join(lines)


@cache
def _read(name: str, base: str) -> str:
    return rebase_turtle(ontology_file(name).read_text(encoding="utf-8"), base)


def load_shapes(base: str = DEFAULT_BASE) -> Graph:
    """The SHACL shapes, moved to ``base`` (a fresh copy: the caller may change it)."""
    return _copy(_parsed(("shapes.ttl",), base))


def load_ontology(base: str = DEFAULT_BASE) -> Graph:
    """The vocabulary and the units: class hierarchy and controlled values for ``sh:class``."""
    return _copy(_parsed(("claimkg.ttl", "units.ttl"), base))


@cache
def _parsed(names: tuple[str, ...], base: str) -> Graph:
    """Parsed once per process: a corpus validates every article against the same shapes."""
    graph = Graph()
    for name in names:
        graph.parse(data=_read(name, base), format="turtle")
    return graph


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


@cache
def _prepared(select: str) -> Query:
    from rdflib.plugins.sparql import prepareQuery

    return prepareQuery(select)


def validate_graph(
    graph: Graph | Collection[Triple],
    base: str = DEFAULT_BASE,
    context: Graph | None = None,
    screen: bool = True,
) -> ValidationResult:
    """Validate ``graph`` (a Graph or its triples: the screen needs no Graph, so a clean
    article's triples never become one); ``conforms`` is False when any shape is violated.

    With ``screen`` (the default) the sound screen of ``kg/screen/`` runs first: it finds
    every (shape, focus node) pair pySHACL could report, and more. When it finds none, the
    graph conforms, with the report pySHACL writes for a conforming graph; when it finds
    some, or cannot decide (e.g. shapes it does not compile), the exact path below runs
    unchanged and checks everything, so every violation report still comes from pySHACL.
    ``screen=False`` forces the exact path.

    ``context`` holds what ``graph`` refers to but does not own (for an article: the shared
    entities, whose classes ``sh:class`` checks): it is data, but its nodes are not focus
    nodes. So a corpus is validated one article at a time, each article with the entities
    as context and the entities once on their own, and finds what one whole-graph run finds
    (``tests/test_pipeline.py`` compares the two on every broken-shape fixture).

    pySHACL checks the core constraints. The SHACL-SPARQL constraints of the same shapes
    are run here once over the whole graph instead of once per focus node (pySHACL parses
    the query again for every node, which made them 95% of the time) wherever that finds
    the same rows (``kg.prebinding``: ``$this`` bound by a top-level triple pattern before
    any other use); the rows are kept for the shape's focus nodes only, so the violations
    are the ones pySHACL would report (``tests/test_shapes.py`` compares the two on a broken
    graph). Any other SHACL-SPARQL constraint is left to pySHACL.
    """
    if screen and _screened_clean(graph, base, context):
        return ValidationResult(True, (), _conforming_report(base))
    if not isinstance(graph, Graph):
        graph = _graph_of(graph, base)
    data = Graph()
    for part in (graph, context or (), _parsed(("claimkg.ttl", "units.ttl"), base)):
        for triple in part:
            data.add(triple)
    conforms, report = _exact(data, _parsed(("shapes.ttl",), base), graph, _runnable(base))
    bind_prefixes(report, base)
    claim_class = URIRef(str(CKG.Claim).replace(DEFAULT_BASE, base, 1))
    results = report.objects(_report_node(report), SH.result)  # not sh:node's sh:detail
    violations = sorted(
        (_violation(graph, report, result, claim_class) for result in results),
        key=lambda v: (v.curated_at or "", v.claim_id or "", v.shape, v.value or ""),
    )
    return ValidationResult(bool(conforms), tuple(violations), report)


@cache
def _runnable(base: str) -> dict[tuple[Node, Node], tuple[str, str]]:
    return _whole_graph(_parsed(("shapes.ttl",), base))


def _exact(
    data: Graph, shapes: Graph, own: Graph, whole: dict[tuple[Node, Node], tuple[str, str]]
) -> tuple[bool, Graph]:
    """pySHACL on ``data``; the SHACL-SPARQL constraints in ``whole`` (``_whole_graph`` of
    ``shapes``) run here instead, once over the whole graph, for the focus nodes that are
    subjects of ``own``; pySHACL runs the others once per focus node. A query that fails on
    the data (rdflib raises, e.g. on a malformed literal) is a result, not a crash."""
    own_classes = _classes_with_instances(own, data)
    core_shapes = Graph()
    for triple in shapes:
        if triple[1] == SH.sparql and (triple[0], triple[2]) in whole:
            continue
        if triple[1] == SH.targetClass and triple[2] not in own_classes:
            continue  # no focus node of this shape is ours: the context is validated on its own
        core_shapes.add(triple)
    conforms, report = _pyshacl(data, core_shapes)
    for (shape, constraint), run in sorted(whole.items()):
        focus_nodes = _focus_nodes(data, shapes, shape, own)
        conforms = (
            _run_sparql_constraint(data, shape, constraint, run, focus_nodes, report) and conforms
        )
    report.set((_report_node(report), SH.conforms, Literal(conforms)))
    return conforms, report


def _pyshacl(data: Graph, core_shapes: Graph) -> tuple[bool, Graph]:
    """pySHACL's verdict and report. Its SPARQL constraints may raise on the data (rdflib's
    SUBSTR on a decimal): then the rest is validated without them, and each is reported as
    a constraint that could not be checked. A shapes graph pySHACL refuses is reported too."""
    from pyshacl import validate  # 0.2 s to import: only when the screen suspects something

    try:
        conforms, report, _ = validate(
            data, shacl_graph=core_shapes, advanced=True, allow_warnings=False, inference="none"
        )
    except Exception as error:  # rdflib's evaluation of one of their SPARQL constraints
        left = set(core_shapes.subject_objects(SH.sparql))
        if not left:
            raise
        for triple in [(s, SH.sparql, c) for s, c in left]:
            core_shapes.remove(triple)
        _, report = _pyshacl(data, core_shapes)
        for shape, constraint in sorted(left):
            message = f"This SPARQL constraint could not be checked: pySHACL failed ({error!r})."
            _add_result(report, shape, constraint, None, None, message)
        return False, report
    if not isinstance(report, Graph):  # a ValidationFailure: pySHACL cannot run the shapes
        failed = Graph()
        failed.add((BNode(), RDF.type, SH.ValidationReport))
        _add_result(failed, None, None, None, None, f"pySHACL cannot run the shapes: {report}")
        return False, failed
    return bool(conforms), report


_CONSTRAINT_TERMS = frozenset((RDF.type, SH.select, SH.prefixes, SH.message))
_MESSAGE_VARIABLE = re.compile(r"\{[?$](\w+)\}")
_METACLASSES = (RDFS.Class, OWL.Class)
"""With each class declared a direct rdfs:subClassOf rdfs:Class in the shapes graph: a shape
of one of these types targets its own instances (pySHACL's implicit class targets)."""


def _whole_graph(shapes: Graph) -> dict[tuple[Node, Node], tuple[str, str]]:
    """The SHACL-SPARQL constraints run here once over the whole graph (shape and constraint
    → the select with its prefixes, and the message), where that finds what pySHACL's runs,
    one per focus node, find: ``kg.prebinding.refusal`` accepts the select; the shape is a
    node shape without sh:target (a SPARQL target), not used inside another shape; and the
    report needs nothing this runner does not write (no severity, no deactivation, no
    ?failure or ?path, no message variable other than {?value})."""
    from rdflib.plugins.sparql.parser import parseQuery

    from kg import prebinding

    chosen: dict[tuple[Node, Node], tuple[str, str]] = {}
    for shape, constraint in shapes.subject_objects(SH.sparql):
        selects = list(shapes.objects(constraint, SH.select))
        messages = [str(m) for m in shapes.objects(constraint, SH.message)]
        if (
            len(selects) != 1
            or len(messages) > 1
            or not set(shapes.predicates(constraint)) <= _CONSTRAINT_TERMS
            or any(name != "value" for m in messages for name in _MESSAGE_VARIABLE.findall(m))
            or any(
                (shape, p, None) in shapes
                for p in (SH.path, SH.severity, SH.deactivated, SH.target)
            )
            or (None, None, shape) in shapes
        ):
            continue
        try:
            parsed = parseQuery(str(selects[0]))
        except Exception:  # pySHACL will say what is wrong with it
            continue
        if prebinding.refusal(parsed) is not None or any(
            prebinding.reads(parsed, name) for name in ("failure", "path")
        ):
            continue
        try:
            namespaces = prebinding.prefixes(shapes, constraint)
        except ValueError:
            continue
        declared = "".join(f"PREFIX {p}: <{n}>\n" for p, n in sorted(namespaces.items()))
        message = messages[0] if messages else "SPARQL constraint violated"
        chosen[shape, constraint] = (declared + str(selects[0]), message)
    return chosen


def _graph_of(triples: Collection[Triple], base: str) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return bind_prefixes(graph, base)


def _screened_clean(graph: Graph | Collection[Triple], base: str, context: Graph | None) -> bool:
    """Whether the screen proves ``graph`` conforms (False when it suspects or cannot say)."""
    from kg import screen  # kg.screen reads the shapes through this module

    try:
        return not screen.suspects(graph, base, context)
    except screen.ScreenError:
        return False


def _conforming_report(base: str) -> Graph:
    """The report pySHACL writes for a conforming graph: ``[] a sh:ValidationReport ;
    sh:conforms true``."""
    report = Graph()
    node = BNode()
    report.add((node, RDF.type, SH.ValidationReport))
    report.add((node, SH.conforms, Literal(True)))
    return bind_prefixes(report, base)


def _classes_with_instances(graph: Graph, data: Graph) -> set[Node]:
    """Every class some node of ``graph`` belongs to, with its superclasses (from ``data``)."""
    direct = set(graph.objects(None, RDF.type))
    return {c for d in direct for c in data.transitive_objects(d, RDFS.subClassOf) if c}


def _focus_nodes(data: Graph, shapes: Graph, shape: Node, own: Graph) -> set[Node]:
    """The focus nodes of ``shape`` as pySHACL finds them in ``data`` (its core targets and
    implicit class target; ``_whole_graph`` admits no sh:target), kept where ``own`` holds
    them: the subjects of its triples (the objects, for sh:targetObjectsOf)."""
    metaclasses = {*_METACLASSES, *shapes.subjects(RDFS.subClassOf, RDFS.Class)}
    targets = set(shapes.objects(shape, SH.targetClass))
    if not metaclasses.isdisjoint(shapes.objects(shape, RDF.type)):
        targets.add(shape)
    classes = {c for t in targets for c in data.transitive_subjects(RDFS.subClassOf, t)}
    subjects = {node for c in classes for node in data.subjects(RDF.type, c)}
    for predicate in shapes.objects(shape, SH.targetSubjectsOf):
        subjects.update(data.subjects(predicate, None))
    objects = {o for p in shapes.objects(shape, SH.targetObjectsOf) for o in data.objects(None, p)}
    return (
        (subjects & set(own.subjects()))
        | (objects & set(own.objects()))
        | set(shapes.objects(shape, SH.targetNode))
    )


def _run_sparql_constraint(
    data: Graph,
    shape: Node,
    constraint: Node,
    run: tuple[str, str],
    focus: set[Node],
    report: Graph,
) -> bool:
    """Run one sh:SPARQLConstraint over the whole graph; add its results for the ``focus``
    nodes to ``report``. When rdflib fails on the whole graph, it runs once per focus node
    as pySHACL does, and a node it fails on gets a result saying so."""
    select, template = run
    query = _prepared(select)
    rows: list[tuple[Node | None, Node | None, ResultRow | None]]
    try:
        rows = [(row.get("this"), row.get("value"), row) for row in _rows(data, query, None)]
    except Exception:  # not rdflib's SPARQLError (an evaluation error): a crash inside it
        rows = []
        for node in sorted(focus, key=str):
            try:
                rows += [(node, row.get("value"), row) for row in _rows(data, query, node)]
            except Exception as error:
                message = (
                    f"This SPARQL constraint could not be checked on this node: the query "
                    f"fails on its data ({type(error).__name__}: {error}); a value of the "
                    "wrong datatype is the usual cause."
                )
                _add_result(report, shape, constraint, node, None, message)
                rows.append((node, None, None))
    conforms = True
    seen: set[tuple[Node, ...]] = set()
    for this, value, row in rows:
        if this not in focus:
            continue
        conforms = False
        if row is None or tuple(row) in seen:
            continue  # reported above, or a duplicate row (pySHACL reports it once)
        seen.add(tuple(row))
        shown = value if value is not None else this  # pySHACL's sh:value for a node shape
        message = template.replace("{?value}", str(shown)).replace("{$value}", str(shown))
        _add_result(report, shape, constraint, this, shown, message)
    return conforms


def _rows(data: Graph, query: Query, this: Node | None) -> list[ResultRow]:
    """The rows of ``query``, ``$this`` pre-bound to ``this`` unless it is None. A plain
    loop, not ``list()``: that asks rdflib's result for its length first, and a TypeError
    raised inside the query is then swallowed (an empty result instead of a failure)."""
    bindings = None if this is None else {"this": cast(Identifier, this)}
    rows: list[ResultRow] = []
    for row in data.query(query, initBindings=bindings):
        assert isinstance(row, ResultRow)
        rows.append(row)
    return rows


def _add_result(
    report: Graph,
    shape: Node | None,
    constraint: Node | None,
    focus: Node | None,
    value: Node | None,
    message: str,
) -> None:
    """One sh:ValidationResult of a SHACL-SPARQL constraint, as pySHACL writes it."""
    result = BNode()
    report.add((result, RDF.type, SH.ValidationResult))
    report.add((result, SH.resultSeverity, SH.Violation))
    report.add((result, SH.resultMessage, Literal(message)))
    report.add((result, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
    for predicate, node in (
        (SH.focusNode, focus),
        (SH.sourceShape, shape),
        (SH.sourceConstraint, constraint),
        (SH.value, value),
    ):
        if node is not None:
            report.add((result, predicate, node))
    report.add((_report_node(report), SH.result, result))


def _report_node(report: Graph) -> Node:
    return next(report.subjects(RDF.type, SH.ValidationReport))


def _violation(graph: Graph, report: Graph, result: Node, claim_class: URIRef) -> Violation:
    focus = report.value(result, SH.focusNode)
    shape = report.value(result, SH.sourceConstraint) or report.value(result, SH.sourceShape)
    path = report.value(result, SH.resultPath)
    value = report.value(result, SH.value)
    message = report.value(result, SH.resultMessage)
    severity = report.value(result, SH.resultSeverity)
    claim = _owning_claim(graph, focus, claim_class) if focus is not None else None
    claim_id = curated_at = None
    if claim is not None:
        claim_id = _literal(graph, claim, "claimId", claim_class) or str(claim).rsplit("/", 1)[-1]
        file = _literal(graph, claim, "curatedIn", claim_class)
        line = _literal(graph, claim, "curatedAtLine", claim_class)
        if file:
            curated_at = f"{file}:{line}" if line else file
    return Violation(
        shape=_short(shape),
        message=str(message) if message is not None else "violation",
        focus=str(focus) if focus is not None else "",
        path=_short(path) if path is not None else None,
        value=str(value) if value is not None else None,
        claim_id=claim_id,
        curated_at=curated_at,
        severity=_short(severity),
    )


def _literal(graph: Graph, node: Node, local_name: str, claim_class: URIRef) -> str | None:
    vocabulary = str(claim_class)[: -len("Claim")]
    value = graph.value(node, URIRef(vocabulary + local_name))
    return str(value) if value is not None else None


def _owning_claim(graph: Graph, focus: Node, claim_class: URIRef) -> Node | None:
    """The claim ``focus`` belongs to: itself, or the claim whose quote (or selector) it is."""
    has_quote = URIRef(str(claim_class)[: -len("Claim")] + "hasQuote")
    node: Node | None = focus
    for owner in (OA.hasSelector, has_quote, None):
        if node is None or (node, RDF.type, claim_class) in graph:
            return node
        if owner is None:
            return None
        node = graph.value(predicate=owner, object=node) or node
    return None


def _short(term: Node | None) -> str:
    if term is None:
        return ""
    text = str(term)
    return text.rsplit("/", 1)[-1].rsplit("#", 1)[-1] if "://" in text else text
