"""One unit of a corpus build, built in a worker process: an article (loaded, built,
validated against the shapes with the entities as context, cached as sorted N-Triples and
N-Quads) or the shared unit (the entities with their links, and the external evidence).

``kg.pipeline`` plans the units and puts their results together; this module is what runs
in the workers, which inherit their input (``WORKER``) when they fork.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg import screen
from kg.blocks import write_unit_blocks
from kg.build import build_article
from kg.build_folder import CACHE
from kg.build_plan import SHARED as SHARED
from kg.build_plan import Plan as Plan
from kg.build_plan import Progress as Progress
from kg.build_plan import UnitRecord as UnitRecord
from kg.build_plan import digest as digest
from kg.errors import CurationError, Problem
from kg.kgx import TripleIndex, edge_part
from kg.load import SharedInput, load_article, mapping_subjects, reference_subjects
from kg.namespaces import (
    CKG,
    DEFAULT_BASE,
    article_graph_iri,
    bind_prefixes,
    claim_iri,
    file_prefixes,
    rebase_iri,
)
from kg.ntriples import sorted_ntriples
from kg.outputs import UNIT_EDGES as EDGES
from kg.validate import Violation, validate_graph

_STAGES_FROM = 1000
"""Articles of at least this many claims report each stage (load, build, validate) as it
starts, so that a long one is never silent."""


def rebased(iri: URIRef, base: str) -> URIRef:
    return URIRef(rebase_iri(str(iri), base))


@dataclass(frozen=True)
class UnitResult:
    name: str
    record: UnitRecord | None
    problems: list[Problem]
    violations: list[Violation]


# Set in the parent before the worker processes fork, so that they inherit it unpickled.
WORKER: dict[str, Any] = {}


def run_units(
    stale: Sequence[Plan],
    shared: SharedInput,
    shared_graphs: Mapping[URIRef, Graph],
    entity_graph: Graph,
    base: str,
    build_dir: Path,
    jobs: int | None,
    say: Progress,
    formats: Sequence[str] = (),
) -> Iterator[UnitResult]:
    """The stale units' results as they come; each article's blocks of the corpus files of
    ``formats`` are rendered with it (``kg.blocks``)."""
    units_dir = build_dir / CACHE / "units"
    screen.prepare(build_dir / CACHE, base)  # compiled (or read) once, before the workers fork
    screen.fix_context(entity_graph)  # encoded once too: no unit changes it
    prefixes = file_prefixes(base, external_prefixes(shared))  # the corpus files' prefixes
    WORKER.update(shared=shared, graphs=shared_graphs, context=entity_graph, base=base,
                   units=units_dir, say=say, prefixes=prefixes, formats=tuple(formats))  # fmt: skip
    workers = min(jobs or os.cpu_count() or 1, len(stale))
    done, articles = 0, sum(1 for p in stale if p.name != SHARED)
    pool = None
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results: Iterator[UnitResult] = map(_unit, stale)
    else:
        context = multiprocessing.get_context("fork")
        pool = context.Pool(workers, initializer=_ignore_interrupts)
        chunk = max(1, len(stale) // (workers * 8))
        results = pool.imap(_unit, stale, chunksize=chunk)
        say(f"building on {workers} processes")
    finished = False
    try:
        for result in results:
            done += result.name != SHARED
            if result.name != SHARED and (done % 50 == 0 or done == articles):
                say(f"built {done}/{articles} article(s)")
            yield result
        finished = True
    finally:
        if pool is not None:
            if finished:
                pool.close()
            else:  # interrupted, or the caller stopped: the workers' work is not wanted
                pool.terminate()
            pool.join()


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the parent's to handle (it stops the workers), so that an
    interrupted build prints one line, not a traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _unit(plan: Plan) -> UnitResult:
    """Build one unit (in a worker process when there are several)."""
    if plan.name == SHARED:
        return _shared_unit(plan, WORKER["shared"], WORKER["graphs"])
    return _article_unit(plan)


def _shared_unit(plan: Plan, shared: SharedInput, graphs: Mapping[URIRef, Graph]) -> UnitResult:
    union = Graph()
    for graph in graphs.values():
        for triple in graph:
            union.add(triple)
    result = validate_graph(union, WORKER["base"])
    if not result.conforms:
        return UnitResult(SHARED, None, [], list(result.violations))
    folder = _unit_folder(SHARED, plan.key)
    files = {str(name): _write_sorted_nt(folder, f"graph-{i}.nt", graph)
             for i, (name, graph) in enumerate(graphs.items())}  # fmt: skip
    (folder / EDGES).write_text(
        "".join(edge_part(graph, WORKER["context"]) for graph in graphs.values()), encoding="utf-8"
    )
    _seal(folder)
    subjects = sorted(mapping_subjects(shared.entities, shared.vocabulary, ()))
    prefixes = external_prefixes(shared)
    record = UnitRecord(
        plan.key, files, None, {}, 0, len(union), subjects, prefixes, len(shared.entities)
    )
    return UnitResult(SHARED, record, [], [])


def external_prefixes(shared: SharedInput) -> dict[str, str]:
    """The mapping set's prefixes of external registries (not claimkg's own IRIs)."""
    curies = shared.mappings.curie_map
    return {p: n for p, n in curies.items() if not n.startswith(DEFAULT_BASE)}


def _article_unit(plan: Plan) -> UnitResult:
    """Load, build, validate and cache one article (in a worker process)."""
    assert plan.directory is not None
    base: str = WORKER["base"]
    stages = _Stages(plan.name, WORKER.get("say"))
    stages.loading(plan.directory / "claims")
    try:
        article = load_article(plan.directory, WORKER["shared"])
    except CurationError as error:
        return UnitResult(plan.name, None, error.problems, [])
    stages.on = stages.on or len(article.claims) >= _STAGES_FROM
    stages.next(f"loaded {len(article.claims):,} claims", "building the graph")
    built = build_article(article, base)
    stages.next(f"built {len(built.triples):,} triples", "validating them")
    result = validate_graph(built.triples, base, context=WORKER["context"])
    stages.next("validated", "writing the cache" if result.conforms else None)
    if not result.conforms:
        return UnitResult(plan.name, None, [], list(result.violations))
    folder = _unit_folder(plan.name, plan.key)
    name = str(rebased(article_graph_iri(article.id), base))
    ntriples = built.ntriples()
    graph_text, nanopub_text = ntriples.encode(), built.nquads().encode()
    (folder / "graph.nt").write_bytes(graph_text)
    files = {name: "graph.nt"}
    (folder / "nanopubs.nq").write_bytes(nanopub_text)
    write_unit_blocks(folder / "graph.nt", graph_text, name, folder / "nanopubs.nq", nanopub_text,
                      WORKER["prefixes"], WORKER["formats"])  # fmt: skip
    index = TripleIndex(built.triples, _namespaces(base))
    (folder / EDGES).write_text(edge_part(index, WORKER["context"]), encoding="utf-8")
    _seal(folder)
    claim_class = rebased(CKG.Claim, base)
    types = Counter(
        str(t).rsplit("/", 1)[-1]
        for claim in index.subjects(RDF.type, claim_class)
        for t in index.objects(claim, RDF.type)
        if t != claim_class
    )
    digests = _claim_digests(ntriples, base, article.id)
    record = UnitRecord(
        plan.key, files, "nanopubs.nq", dict(types), len(article.references),
        len(built.triples), sorted(reference_subjects(article)), claim_digests=digests,
    )  # fmt: skip
    stages.next("cached", None)
    return UnitResult(plan.name, record, [], [])


class _Stages:
    """``ARTICLE: STAGE…`` as each stage starts, with the time the previous one took, for
    articles of ``_STAGES_FROM`` claims or more (the others take too little time to report)."""

    def __init__(self, name: str, say: Progress | None) -> None:
        self.name, self.say, self.on = name, say, False
        self.clock = time.perf_counter()

    def loading(self, claims: Path) -> None:
        size = sum(p.stat().st_size for p in claims.glob("*.yaml") if p.is_file())
        if self.say is not None and size >= 300 * _STAGES_FROM:  # ~300 bytes a claim
            self.on = True
            self._say(f"loading {size / 1e6:.1f} MB of claims…")

    def next(self, done: str, stage: str | None) -> None:
        """``done`` (the stage that ended) took so long; ``stage`` starts (None: the last)."""
        if self.on:
            seconds = time.perf_counter() - self.clock
            self._say(f"{done} ({seconds:.1f} s)" + (f"; {stage}…" if stage else ""))

    def _say(self, message: str) -> None:
        assert self.say is not None
        self.clock = time.perf_counter()
        self.say(f"{self.name}: {message}")


def _claim_digests(ntriples: str, base: str, article_id: str) -> dict[str, str]:
    """Claim id → digest of the sorted triples (N-Triples lines, each with its line end)
    about the claim and its parts (quote, selectors…), which share its IRI as their prefix."""
    prefix = f"<{rebase_iri(str(claim_iri(article_id, '')), base)}"
    lines: dict[str, list[str]] = {}
    for line in ntriples.split("\n"):  # not splitlines: a literal may hold U+2028
        if line.startswith(prefix):
            subject = line[len(prefix) : line.index(">")]
            lines.setdefault(subject.split("/", 1)[0], []).append(line + "\n")
    return {claim: digest(found)[:16] for claim, found in sorted(lines.items())}


def _unit_folder(name: str, key: str) -> Path:
    """A fresh temporary folder; ``_seal`` renames it to ``units/NAME/KEY``."""
    folder: Path = WORKER["units"] / name / f".{key}.{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _seal(folder: Path) -> None:
    final = folder.parent / folder.name[1:].rsplit(".", 1)[0]
    shutil.rmtree(final, ignore_errors=True)
    folder.rename(final)


def _write_sorted_nt(folder: Path, name: str, graph: Graph) -> str:
    (folder / name).write_text(sorted_ntriples(graph), encoding="utf-8")
    return name


@cache
def _namespaces(base: str) -> Graph:
    """A graph with nothing but the prefixes an article's graph binds (for its CURIEs)."""
    return bind_prefixes(Graph(), base)
