"""The screen (kg/screen) against pySHACL on the W3C SHACL test suite, the DASH suite and a
short differential fuzz run: wherever the screen compiles the shapes, its suspects contain
every (shape, focus node) pair pySHACL reports, and "no suspects" means pySHACL finds the
graph conforms. Both suites ship in pySHACL's source distribution (``test/resources/``),
fetched once into pytest's cache; the fuzz run also compares the exact path of
kg/validate.py (whole-graph SHACL-SPARQL runner) with plain pySHACL. Slow."""

from __future__ import annotations

import importlib.metadata
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

import kg.validate
from kg import screen

pytestmark = pytest.mark.slow

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
DASH = Namespace("http://datashapes.org/dash#")
EX = Namespace("http://example.org/")


# ---------------------------------------------------------------- the suites, fetched once


@pytest.fixture(scope="module")
def resources(request: pytest.FixtureRequest) -> Path:
    """pySHACL's ``test/resources`` for the installed version, from its sdist on PyPI."""
    version = importlib.metadata.version("pyshacl")
    if hasattr(request.config, "cache"):
        cache = request.config.cache.mkdir("pyshacl-sdist")
    else:  # pytest -p no:cacheprovider
        cache = Path(tempfile.gettempdir()) / "claimkg-pyshacl-sdist"
        cache.mkdir(exist_ok=True)
    target = cache / f"pyshacl-{version}" / "test" / "resources"
    if (target / "sht_tests").is_dir() and (target / "dash_tests").is_dir():
        return target
    archive = cache / f"pyshacl-{version}.tar.gz"
    if not archive.is_file():
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        command += [f"pyshacl=={version}", "-d", str(cache), "--quiet"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as error:
            pytest.skip(f"cannot download pySHACL {version}'s source distribution: {error}")
        if done.returncode != 0 or not archive.is_file():
            why = (done.stderr.strip().splitlines() or ["no archive"])[-1]
            pytest.skip(f"cannot download pySHACL {version}'s source distribution: {why}")
    prefix = f"pyshacl-{version}/test/resources/"
    with tarfile.open(archive) as sdist:
        members = [m for m in sdist.getmembers() if m.name.startswith(prefix)]
        sdist.extractall(cache, members=members, filter="data")
    return target


@dataclass(frozen=True)
class Case:
    name: str
    data: Graph
    shapes: Graph


def _without(graph: Graph, roots: set[Node]) -> Graph:
    """``graph`` without the triples of ``roots`` and of the blank nodes they lead to (a test
    case's description and expected report: not shapes, and the screen refuses sh:result)."""
    dropped: set[Node] = set()
    frontier = list(roots)
    while frontier:
        node = frontier.pop()
        if node in dropped:
            continue
        dropped.add(node)
        frontier += [o for o in graph.objects(node, None) if isinstance(o, BNode)]
    kept = Graph()
    for triple in graph:
        if triple[0] not in dropped:
            kept.add(triple)
    return kept


def _w3c(resources: Path) -> Iterator[Case]:
    folder = resources / "sht_tests"
    for file in sorted(folder.rglob("*.ttl")):
        if file.name == "manifest.ttl":
            continue
        graph = Graph().parse(file, format="turtle", publicID=file.as_uri())
        entries = set(graph.subjects(RDF.type, SHT.Validate))
        if not entries:
            continue  # a data or shapes file another test names
        manifests = set(graph.subjects(RDF.type, MF.Manifest))
        loaded = {file.as_uri(): _without(graph, entries | manifests)}
        for entry in sorted(entries, key=str):
            action = graph.value(entry, MF.action)
            data, shapes = (str(graph.value(action, p)) for p in (SHT.dataGraph, SHT.shapesGraph))
            for iri in (data, shapes):
                if iri not in loaded:
                    loaded[iri] = Graph().parse(iri, format="turtle", publicID=iri)
            name = str(file.relative_to(folder)) + "#" + str(entry).rsplit("/", 1)[-1]
            yield Case(name, loaded[data], loaded[shapes])


def _dash(resources: Path) -> Iterator[Case]:
    folder = resources / "dash_tests"
    for file in sorted(folder.rglob("*.test.ttl")):
        graph = Graph().parse(file, format="turtle", publicID=file.as_uri())
        cases = {s for s, o in graph.subject_objects(RDF.type) if str(o).startswith(str(DASH))}
        graph = _without(graph, cases)
        yield Case(str(file.relative_to(folder)), graph, graph)


# ---------------------------------------------------------------- one comparison


def _copy(graph: Graph) -> Graph:
    """pySHACL adds triples to the shapes graph it is given: each side gets its own copy."""
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def _named(node: Node) -> str:
    return "_:blank" if isinstance(node, BNode) else str(node)


def _reported(data: Graph, shapes: Graph) -> tuple[bool, set[tuple[str, str]] | None] | None:
    """pySHACL's verdict and (shape, focus node) pairs (None: it refuses the shapes with a
    ValidationFailure, a verdict without results), or None when it raises."""
    try:
        conforms, report, _ = validate(
            _copy(data), shacl_graph=_copy(shapes), advanced=True, inference="none"
        )
    except Exception:
        return None
    if not isinstance(report, Graph):  # a ValidationFailure: pySHACL rejects the shapes
        return False, None
    pairs = set()
    [node] = report.subjects(RDF.type, SH.ValidationReport)
    for result in report.objects(node, SH.result):  # not the sh:detail of sh:node's results
        shape = report.value(result, SH.sourceConstraint) or report.value(result, SH.sourceShape)
        focus = report.value(result, SH.focusNode)
        pairs.add((kg.validate._short(shape), _named(focus)))  # type: ignore[arg-type]
    return bool(conforms), pairs


@dataclass
class Tally:
    compiled: int = 0
    left: int = 0  # the screen refused: pySHACL decides (sound)
    no_reference: int = 0  # pySHACL itself cannot validate the case
    misses: list[str] = field(default_factory=list)

    def check(self, case: Case) -> None:
        reported = _reported(case.data, case.shapes)
        if reported is None:
            self.no_reference += 1
            return
        try:
            suspected = screen.suspects(_copy(case.data), shapes=_copy(case.shapes), ontology=False)
        except screen.ScreenError:
            self.left += 1
            return
        self.compiled += 1
        conforms, pairs = reported
        if pairs is None:
            pairs = set()  # pySHACL rejects the shapes: the screen must suspect something
        named = {(shape, "_:blank" if focus.startswith("_:") else focus) for shape, focus in pairs}
        terms = _named_terms(case)
        ours = {(shape, focus if focus in terms else "_:blank") for shape, focus in suspected}
        if not conforms and not suspected:
            self.misses.append(f"{case.name}: the screen suspects nothing, pySHACL reports {pairs}")
        elif not named <= ours:
            self.misses.append(f"{case.name}: pySHACL reports {sorted(named - ours)} too")


def _named_terms(case: Case) -> set[str]:
    """The IRIs and literals of a case: Oxigraph renames blank nodes, so a focus node the
    screen names that is none of these was a blank node."""
    graphs = (case.data, case.shapes)
    return {str(n) for g in graphs for t in g for n in t if not isinstance(n, BNode)}


# ---------------------------------------------------------------- the suites


@pytest.mark.parametrize("suite", ["w3c", "dash"])
def test_the_screen_agrees_with_pyshacl_on_every_case_it_compiles(
    resources: Path, suite: str
) -> None:
    cases = list((_w3c if suite == "w3c" else _dash)(resources))
    assert len(cases) > 50, f"the {suite} suite was not found whole in {resources}"
    tally = Tally()
    for case in cases:
        tally.check(case)
    print(f"{suite}: {len(cases)} cases, {tally.compiled} compiled, {tally.left} left to "
          f"pySHACL, {tally.no_reference} pySHACL cannot run")  # fmt: skip
    assert tally.misses == []
    assert tally.compiled >= len(cases) // 4  # the comparison means something


# ---------------------------------------------------------------- a differential fuzz run

CLASSES = [EX.C0, EX.C1, EX.C2]
PREDICATES = [EX.p0, EX.p1, EX.p2]
NODES = [EX[f"n{i}"] for i in range(6)]
VALUES: list[Node] = [
    *NODES[:3],
    Literal(1),
    Literal(2),
    Literal("01", datatype=XSD.integer),
    Literal("0.50", datatype=XSD.decimal),
    Literal("2.5", datatype=XSD.decimal),
    Literal("abc"),
    Literal("abc", lang="en"),
    Literal("Abc-1"),
    Literal(True),
    Literal("abc", datatype=XSD.integer),  # ill-typed
    Literal("2024-01-01", datatype=XSD.date),
    Literal("12", datatype=XSD.nonNegativeInteger),
]
SELECTS = [
    "SELECT $this WHERE { FILTER NOT EXISTS { $this ex:p0 ?v } }",
    "SELECT $this WHERE { OPTIONAL { $this ex:p0 ?v } FILTER (!BOUND(?v)) }",
    "SELECT $this WHERE { { $this ex:p1 ?v }"
    ' UNION { FILTER (STR($this) = "http://example.org/n1") } }',
    "SELECT $this WHERE { BIND (ex:n4 AS $this) }",
    'SELECT $this WHERE { BIND (STR($this) AS ?s) FILTER (STRENDS(?s, "2")) }',
    "SELECT $this ?value WHERE { $this ex:p0 ?value . FILTER NOT EXISTS { $this ex:p1 ?value } }",
    "SELECT $this ?value WHERE { $this ex:p0 ?value . FILTER (?value = 1) }",
    "SELECT $this WHERE { $this a ?type . FILTER NOT EXISTS { $this ex:p2 ?any } }",
    "SELECT $this ?value WHERE { $this ex:p0 ?value ."
    " OPTIONAL { ?value ex:p1 ?w } FILTER (!BOUND(?w)) }",
    'SELECT $this ?value WHERE { $this ex:p1 ?value . FILTER (!REGEX(STR(?value), "^[a-z]+$")) }',
    "SELECT $this WHERE { ?s ex:p2 $this . FILTER (!isIRI(?s)) }",
    "SELECT $this WHERE { $this ex:p0* ?v . FILTER (?v = 2) }",
]
"""SHACL-SPARQL selects: the first five read $this before a triple pattern binds it."""


class Shapes:
    """A random shapes graph over ex:C0…C2, ex:p0…p2 and ex:n0…n5, from the terms the screen
    compiles (and a few it does not)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.graph = Graph()
        self.count = 0
        declared = BNode()
        self.graph.add((EX.declared, SH.declare, declared))
        self.graph.add((declared, SH.prefix, Literal("ex")))
        self.graph.add((declared, SH.namespace, Literal(str(EX), datatype=XSD.anyURI)))

    def node(self, name: str | None = None) -> Node:
        self.count += 1
        return EX[name] if name else (EX[f"S{self.count}"] if self.rng.random() < 0.5 else BNode())

    def add(self, *triple: Node) -> None:
        self.graph.add(triple)  # type: ignore[arg-type]

    def listed(self, members: list[Node]) -> Node:
        head: Node = RDF.nil
        for member in reversed(members):
            cell = BNode()
            self.add(cell, RDF.first, member)
            self.add(cell, RDF.rest, head)
            head = cell
        return head

    def root(self) -> None:
        rng = self.rng
        shape: Node
        if rng.random() < 0.15:  # an implicit class target
            shape = EX.C1
            self.add(EX.Meta, RDFS.subClassOf, RDFS.Class)
            self.add(shape, RDF.type, rng.choice([RDFS.Class, EX.Meta]))
        else:
            shape = self.node()
        self.add(shape, RDF.type, SH.NodeShape)
        targets = [
            (SH.targetClass, rng.choice(CLASSES)),
            (SH.targetNode, rng.choice([*NODES, Literal(1)])),
            (SH.targetSubjectsOf, rng.choice(PREDICATES)),
            (SH.targetObjectsOf, rng.choice(PREDICATES)),
        ]
        chosen = targets[:1] if rng.random() < 0.5 else rng.sample(targets, rng.randint(1, 2))
        for target, value in chosen:
            self.add(shape, target, value)
        self.constraints(shape, None, depth=2)
        if rng.random() < 0.3:
            constraint = self.node()
            self.add(shape, SH.sparql, constraint)
            self.add(constraint, SH.prefixes, EX.declared)
            self.add(constraint, SH.select, Literal(rng.choice(SELECTS)))

    def constraints(self, shape: Node, path: Node | None, depth: int) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["value", "value", "property", "logic"] if depth else ["value"])
            if kind == "property" and path is None:
                prop = self.node()
                self.add(shape, SH.property, prop)
                self.add(prop, SH.path, self.path())
                self.constraints(prop, prop, depth - 1)
            elif kind == "logic":
                rule = rng.choice([SH["or"], SH.xone, SH["and"], SH["not"], SH.node])
                if (shape, rule, None) in self.graph:
                    continue  # pySHACL refuses two of a kind on one shape
                node_shapes = rule == SH.node  # pySHACL: sh:node names a node shape
                members = [self.member(depth - 1, node_shapes) for _ in range(rng.randint(1, 2))]
                single = rule in (SH["not"], SH.node)
                self.add(shape, rule, members[0] if single else self.listed(members))
            else:
                self.value(shape, path is not None)

    def member(self, depth: int, node_shape: bool = False) -> Node:
        member = BNode()
        if not node_shape and self.rng.random() < 0.5:
            self.add(member, SH.path, self.path())
            self.constraints(member, member, depth)
        else:
            self.constraints(member, None, depth)
        return member

    def path(self) -> Node:
        if self.rng.random() < 0.8:
            return self.rng.choice(PREDICATES)
        alternatives = BNode()
        self.add(alternatives, SH.alternativePath, self.listed(self.rng.sample(PREDICATES, 2)))
        return alternatives

    def value(self, shape: Node, on_path: bool) -> None:
        rng = self.rng
        options: list[tuple[URIRef, Node]] = [
            (SH["class"], rng.choice(CLASSES)),
            (SH.datatype, rng.choice([XSD.integer, XSD.string, XSD.decimal, XSD.date])),
            (SH.nodeKind, rng.choice([SH.IRI, SH.Literal, SH.BlankNodeOrIRI])),
            (SH.pattern, Literal(rng.choice(["^a", "[0-9]", "^n[0-2]$"]))),
            (SH.minLength, Literal(rng.randint(0, 3))),
            (SH.maxLength, Literal(rng.randint(0, 3))),
            (SH["in"], self.listed(rng.sample(VALUES, 3))),
            (SH.hasValue, rng.choice([v for v in VALUES if not isinstance(v, BNode)])),
            (SH.minInclusive, Literal(rng.randint(0, 2))),
            (SH.maxExclusive, Literal("2.5", datatype=XSD.decimal)),
        ]
        if rng.random() < 0.03:  # not compiled: the screen must leave it to pySHACL
            options = [(SH.equals, rng.choice(PREDICATES))]
        if on_path:
            options += [
                (SH.minCount, Literal(rng.randint(0, 2))),
                (SH.maxCount, Literal(rng.randint(0, 2))),
                (SH.lessThan, rng.choice(PREDICATES)),
                (SH.lessThanOrEquals, rng.choice(PREDICATES)),
            ]
            if rng.random() < 0.2 and (shape, SH.qualifiedValueShape, None) not in self.graph:
                member = BNode()
                self.value(member, False)
                self.add(shape, SH.qualifiedValueShape, member)
                self.add(shape, SH.qualifiedMinCount, Literal(rng.randint(0, 2)))
        predicate, value = rng.choice(options)
        if (shape, predicate, None) not in self.graph:  # pySHACL refuses two of a kind
            self.add(shape, predicate, value)


def _fuzzed_data(rng: random.Random) -> Graph:
    data = Graph()
    data.add((EX.C2, RDFS.subClassOf, EX.C0))
    blanks = [BNode() for _ in range(2)]
    for node in NODES + blanks:
        if rng.random() < 0.7:
            data.add((node, RDF.type, rng.choice(CLASSES)))
        for _ in range(rng.randint(0, 4)):
            data.add((node, rng.choice(PREDICATES), rng.choice([*VALUES, *blanks])))
    return data


def _exact_pairs(data: Graph, shapes: Graph) -> tuple[bool, set[tuple[str, str]]]:
    """kg/validate.py's exact path (pySHACL + the whole-graph SHACL-SPARQL runner)."""
    shapes = _copy(shapes)
    conforms, report = kg.validate._exact(
        _copy(data), shapes, data, kg.validate._whole_graph(shapes)
    )
    pairs = set()
    for result in report.objects(kg.validate._report_node(report), SH.result):
        shape = report.value(result, SH.sourceConstraint) or report.value(result, SH.sourceShape)
        focus = report.value(result, SH.focusNode)
        pairs.add((kg.validate._short(shape), _named(focus)))  # type: ignore[arg-type]
    return conforms, pairs


def test_a_differential_fuzz_run_finds_no_miss() -> None:
    """Random shapes and data (seeded: the same cases every run), at most 400 cases or 120 s:
    the screen covers pySHACL wherever it compiles the shapes, and the exact path of
    kg/validate.py reports what plain pySHACL reports."""
    rng = random.Random(13)
    tally = Tally()
    exact_misses: list[str] = []
    compared = 0
    deadline = time.monotonic() + 120
    for number in range(400):
        if time.monotonic() > deadline:
            break
        shapes = Shapes(rng)
        for _ in range(rng.randint(1, 2)):
            shapes.root()
        data = _fuzzed_data(rng)
        case = Case(f"fuzz case {number}", data, shapes.graph)
        tally.check(case)
        reference = _reported(data, shapes.graph)
        if reference is None or not isinstance(reference, tuple):
            continue
        try:
            ours = _exact_pairs(data, shapes.graph)
        except Exception as error:  # pySHACL raised on these shapes above too: no crash here
            exact_misses.append(f"{case.name}: the exact path raised {error!r}")
            continue
        compared += 1
        if reference[1] is None and ours[0]:  # pySHACL refused the shapes: not conforming
            exact_misses.append(f"{case.name}: the exact path conforms, pySHACL refuses")
        elif reference[1] is not None and ours != reference:
            exact_misses.append(f"{case.name}: exact path {ours}, pySHACL {reference}")
    print(f"fuzz: {tally.compiled} compiled, {tally.left} left to pySHACL, "
          f"{tally.no_reference} pySHACL cannot run; exact path compared {compared}")  # fmt: skip
    assert tally.misses == []
    assert exact_misses == []
    assert tally.compiled >= 50 and compared >= 50
