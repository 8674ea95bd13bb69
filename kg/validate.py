"""Stage 3 — check a graph against the shapes (``ontology/shapes.ttl``).

The shapes are the schema; this module runs pySHACL and turns its report into violations a
curator can act on: each names the claim (found by walking back from the focus node, e.g.
from a position selector to the claim that owns it) and, when the graph records it, the
curated file and line the claim came from.

pySHACL is exact but slow (~0.65 s for a 100-claim article), so a sound screen
(``kg/screen.py``: the shapes compiled to set-at-a-time SPARQL on Oxigraph) runs first.
When it suspects nothing the graph conforms and pySHACL is skipped; otherwise pySHACL runs
as before and stays the only source of violation reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pyshacl import validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.namespaces import CKG, DEFAULT_BASE, OA, bind_prefixes, rebase_turtle
from kg.resources import ontology_file


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
def _prepared(select: str, namespaces: tuple[tuple[str, URIRef], ...]) -> Query:
    return prepareQuery(select, initNs=dict(namespaces))


def validate_graph(
    graph: Graph, base: str = DEFAULT_BASE, context: Graph | None = None, screen: bool = True
) -> ValidationResult:
    """Validate ``graph``; ``conforms`` is False when any shape is violated.

    With ``screen`` (the default) the sound screen of ``kg/screen.py`` runs first: it finds
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
    the query again for every node, which made them 95% of the time); the rows are kept
    for the shape's focus nodes only, so the violations are the ones pySHACL would report
    (``tests/test_validate.py`` compares the two on a broken graph).
    """
    if screen and _screened_clean(graph, base, context):
        return ValidationResult(True, (), _conforming_report(base))
    shapes = _parsed(("shapes.ttl",), base)
    data = Graph()
    for part in (graph, context or (), _parsed(("claimkg.ttl", "units.ttl"), base)):
        for triple in part:
            data.add(triple)
    own_classes = _classes_with_instances(graph, data)
    core_shapes = Graph()
    for triple in shapes:
        if triple[1] == SH.sparql:
            continue
        if triple[1] == SH.targetClass and triple[2] not in own_classes:
            continue  # no focus node of this shape is ours: the context is validated on its own
        core_shapes.add(triple)
    conforms, report, _ = validate(
        data, shacl_graph=core_shapes, advanced=True, allow_warnings=False, inference="none"
    )
    assert isinstance(report, Graph)
    for shape, constraint in shapes.subject_objects(SH.sparql):
        focus_nodes = _focus_nodes(data, shapes, shape) & set(graph.subjects())
        conforms = (
            _run_sparql_constraint(data, shapes, shape, constraint, focus_nodes, report)
            and conforms
        )
    report.set(
        (next(report.subjects(RDF.type, SH.ValidationReport)), SH.conforms, Literal(conforms))
    )
    bind_prefixes(report, base)
    claim_class = URIRef(str(CKG.Claim).replace(DEFAULT_BASE, base, 1))
    results = report.subjects(RDF.type, SH.ValidationResult)
    violations = sorted(
        (_violation(graph, report, result, claim_class) for result in results),
        key=lambda v: (v.curated_at or "", v.claim_id or "", v.shape, v.value or ""),
    )
    return ValidationResult(bool(conforms), tuple(violations), report)


def _screened_clean(graph: Graph, base: str, context: Graph | None) -> bool:
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


def _focus_nodes(data: Graph, shapes: Graph, shape: Node) -> set[Node]:
    targets = set(shapes.objects(shape, SH.targetClass))
    if set(shapes.predicates(shape)) & {
        SH.target,
        SH.targetNode,
        SH.targetSubjectsOf,
        SH.targetObjectsOf,
    }:
        raise NotImplementedError(f"{shape}: SPARQL constraints are run for sh:targetClass only")
    classes = {c for t in targets for c in data.transitive_subjects(RDFS.subClassOf, t)}
    return {node for c in classes for node in data.subjects(RDF.type, c)}


def _run_sparql_constraint(
    data: Graph, shapes: Graph, shape: Node, constraint: Node, focus_nodes: set[Node], report: Graph
) -> bool:
    """Run one sh:SPARQLConstraint over the whole graph; add its results to ``report``."""
    namespaces = {
        str(shapes.value(d, SH.prefix)): URIRef(str(shapes.value(d, SH.namespace)))
        for prefixes in shapes.objects(constraint, SH.prefixes)
        for d in shapes.objects(prefixes, SH.declare)
    }
    select = str(shapes.value(constraint, SH.select))
    template = str(shapes.value(constraint, SH.message) or "SPARQL constraint violated")
    conforms = True
    for row in data.query(_prepared(select, tuple(sorted(namespaces.items())))):
        assert isinstance(row, ResultRow)
        this, value = row.get("this"), row.get("value")
        if this not in focus_nodes:
            continue
        conforms = False
        result = BNode()
        message = template.replace("{?value}", str(value)).replace("{$value}", str(value))
        report.add((result, RDF.type, SH.ValidationResult))
        report.add((result, SH.focusNode, this))
        report.add((result, SH.resultSeverity, SH.Violation))
        report.add((result, SH.sourceShape, shape))
        report.add((result, SH.sourceConstraint, constraint))
        report.add((result, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
        report.add((result, SH.resultMessage, Literal(message)))
        if value is not None:
            report.add((result, SH.value, value))
        for report_node in report.subjects(RDF.type, SH.ValidationReport):
            report.add((report_node, SH.result, result))
    return conforms


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
        focus=str(focus),
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
