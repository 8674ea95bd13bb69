"""The corpus build, incremental: each article is a unit of work, cached by content hash.

A *unit* is what one or more named graphs need: the shared unit (the entities with their
links, and the external evidence) and one unit per article. Its key is the SHA-256 of every
input it depends on: claimkg's own code, the ontology and shapes, the base IRI, the entities
(articles refer to them) and the unit's own files. A unit whose key is in the cache is
neither rebuilt nor revalidated. Stale articles are loaded, built and validated in worker
processes (one per core), each with the entities as validation context
(``kg.validate.validate_graph``). The union files and the embedded store are then assembled
from the cached per-unit files; the store is updated graph by graph.

Layout of the build folder: ``cache/manifest.json`` (unit → key and counts),
``cache/units/NAME/KEY/`` (sorted N-Triples per graph, nanopublications as N-Quads),
``store/`` (Oxigraph), and the output files of ``kg.serialize``.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg import __version__
from kg.build import build_article, build_shared
from kg.errors import CurationError, Problem
from kg.kgx import render_kgx
from kg.links import read_mappings
from kg.load import (
    SharedInput,
    article_dirs,
    default_corpus,
    load_article,
    load_shared,
    mapping_subjects,
    reference_subjects,
    unknown_mapping_subjects,
)
from kg.namespaces import CKG, DEFAULT_BASE, ENTITY_GRAPH, PREFIXES, article_graph_iri, rebase_iri
from kg.resources import data_dir
from kg.serialize import FORMATS, GraphFile, write_atomically, write_corpus_outputs
from kg.store import drop_graphs, open_store, replace_graphs
from kg.validate import Violation, validate_graph

SHARED = "_shared"
"""The unit name of the entities and external evidence (article ids cannot start with _)."""
CACHE, STORE, MANIFEST = "cache", "store", "manifest.json"
Progress = Callable[[str], None]


@dataclass
class UnitRecord:
    """What the cache keeps of a built unit (stored as JSON in the manifest)."""

    key: str
    graphs: dict[str, str]  # named graph IRI → file in the unit's cache folder
    nanopubs: str | None
    claims: dict[str, int]  # claims by type
    references: int
    triples: int
    subjects: list[str]  # the mapping subjects (IRIs) this unit provides
    prefixes: dict[str, str] = field(default_factory=dict)
    entities: int = 0


@dataclass(frozen=True)
class _Plan:
    name: str
    directory: Path | None
    key: str


@dataclass
class BuildOutcome:
    """What a corpus build did: every unit's record, which were rebuilt, what is wrong."""

    records: dict[str, UnitRecord]
    rebuilt: list[str]
    violations: list[Violation]
    written: list[Path]
    timings: dict[str, float]
    build_dir: Path

    @property
    def conforms(self) -> bool:
        return not self.violations

    def graph_files(self) -> list[GraphFile]:
        """Every named graph of the corpus as a cached N-Triples file, shared ones first."""
        return [
            GraphFile(
                name, self.build_dir / CACHE / "units" / unit / record.key / file, unit == SHARED
            )
            for unit, record in self.records.items()
            for name, file in record.graphs.items()
        ]

    def nanopub_files(self) -> list[Path]:
        return [
            self.build_dir / CACHE / "units" / unit / record.key / record.nanopubs
            for unit, record in self.records.items()
            if record.nanopubs
        ]


# ---------------------------------------------------------------- keys


def _digest(parts: Iterable[bytes | str]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        sha.update(len(data).to_bytes(8, "big"))
        sha.update(data)
    return sha.hexdigest()


def _files(root: Path, paths: Iterable[Path]) -> Iterator[bytes | str]:
    for path in sorted(paths):
        if path.is_file():
            yield path.relative_to(root).as_posix()
            yield path.read_bytes()


@cache
def code_fingerprint() -> str:
    """claimkg's code and schema: a change to either invalidates every cached unit."""
    package = Path(__file__).resolve().parent
    ontology = data_dir("ontology")
    return _digest(
        [
            __version__,
            *_files(package, package.glob("*.py")),
            *_files(ontology, (ontology / n for n in ("claimkg.ttl", "units.ttl", "shapes.ttl"))),
        ]
    )


def _plan(corpus: Path, base: str, mappings: Path | None) -> list[_Plan]:
    entities_key = _digest(
        [code_fingerprint(), base, *_files(corpus, (corpus / "entities").glob("*.yaml"))]
    )
    local_mappings = corpus / "mappings.sssom.tsv"
    mappings_file = mappings or (local_mappings if local_mappings.exists() else None)
    evidence = corpus / "external-evidence"
    shared_key = _digest(
        [
            entities_key,
            mappings_file.read_bytes() if mappings_file else "bundled",
            *_files(corpus, evidence.rglob("*") if evidence.is_dir() else ()),
        ]
    )
    plans = [_Plan(SHARED, None, shared_key)]
    for directory in article_dirs(corpus):
        key = _digest([entities_key, *_files(directory, directory.rglob("*"))])
        plans.append(_Plan(directory.name, directory, key))
    return plans


# ---------------------------------------------------------------- the build


def build(
    corpus: Path | None = None,
    build_dir: Path = Path("build"),
    *,
    base: str = DEFAULT_BASE,
    formats: Sequence[str] = tuple(FORMATS),
    jobs: int | None = None,
    store: bool = True,
    mappings: Path | None = None,
    progress: Progress | None = None,
) -> BuildOutcome:
    """Bring ``build_dir`` up to date with ``corpus``: rebuild and revalidate only the units
    whose inputs changed, then update the store and write ``formats``.

    Raises ``CurationError`` on unusable input (file and line named). When the graph
    violates the shapes, the outcome lists the violations and neither the store nor any
    output file is touched.
    """
    say = progress or (lambda message: None)
    corpus = corpus or default_corpus()
    if not corpus.is_dir():
        raise CurationError([Problem(corpus, None, "corpus folder not found")])
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    fresh = not build_dir.exists()  # a failed first build leaves no folder behind
    plans = _plan(corpus, base, mappings)
    if len(plans) == 1:
        raise CurationError([Problem(corpus, None, "no article folder (with article.yaml) found")])
    manifest = _read_manifest(build_dir)
    cached: dict[str, Any] = manifest.get("units", {})
    stale = [p for p in plans if cached.get(p.name, {}).get("key") != p.key]
    timings["plan"] = time.perf_counter() - clock
    say(f"{len(plans) - 1} article(s): {len(stale)} unit(s) to build, the rest cached")

    records = {p.name: UnitRecord(**cached[p.name]) for p in plans if p not in stale}
    violations: list[Violation] = []
    problems: list[Problem] = []
    if stale:
        clock = time.perf_counter()
        shared = load_shared(corpus, mappings)
        shared_graphs = build_shared(shared.entities, shared.mappings, shared.evidence, base)
        entity_graph = shared_graphs[_rebased(ENTITY_GRAPH, base)]
        for result in _run_units(stale, shared, shared_graphs, entity_graph, base, build_dir,
                                 jobs, say):  # fmt: skip
            problems += result.problems
            violations += result.violations
            if result.record is not None:
                records[result.name] = result.record
        timings["build+validate"] = time.perf_counter() - clock
    problems += _check_corpus(corpus, mappings, plans, records, base)
    order = {p.name: i for i, p in enumerate(plans)}
    records = dict(sorted(records.items(), key=lambda item: order.get(item[0], len(order))))
    good = {name: asdict(r) for name, r in records.items()}
    manifest["units"] = good  # valid units are cached even when another one fails
    outcome = BuildOutcome(records, [p.name for p in stale], violations, [], timings, build_dir)
    if problems or violations:
        if fresh:
            shutil.rmtree(build_dir, ignore_errors=True)
        else:
            _write_manifest(build_dir, manifest)
        if problems:
            raise CurationError(problems)
        return outcome
    if store:
        clock = time.perf_counter()
        _update_store(build_dir, outcome, manifest, say)
        timings["store"] = time.perf_counter() - clock
    clock = time.perf_counter()
    outputs_key = _digest([*(r.key for r in records.values()), base, *sorted(formats)])
    expected = {name for f in formats for name in FORMATS[f]} | {"validation-report.ttl"}
    if formats and (
        manifest.get("outputs") != outputs_key
        or not all((build_dir / n).exists() for n in expected)
    ):
        say(f"writing {', '.join(formats) or 'no files'} into {build_dir}/")
        prefixes = {**_prefixes(base), **records[SHARED].prefixes}
        outcome.written = write_corpus_outputs(
            outcome.graph_files(), outcome.nanopub_files(), build_dir, formats, prefixes,
            kgx=render_kgx,
        )  # fmt: skip
        manifest["outputs"] = outputs_key
    timings["write"] = time.perf_counter() - clock
    _write_manifest(build_dir, manifest)
    _prune_cache(build_dir, records)
    return outcome


def _rebased(iri: URIRef, base: str) -> URIRef:
    return URIRef(rebase_iri(str(iri), base))


def _prefixes(base: str) -> dict[str, str]:
    return {prefix: rebase_iri(namespace, base) for prefix, namespace in PREFIXES.items()}


def _check_corpus(
    corpus: Path,
    mappings: Path | None,
    plans: Sequence[_Plan],
    records: Mapping[str, UnitRecord],
    base: str,
) -> list[Problem]:
    """Checks across units: one folder per article id, every mapping subject exists."""
    problems = []
    if len(records) != len(plans):  # a unit failed: its own problems say why
        return []
    seen: dict[str, str] = {}
    for plan in plans[1:]:
        graph = next(iter(records[plan.name].graphs))
        if graph in seen:
            problems.append(
                Problem(corpus / plan.name / "article.yaml", None,
                        f"article id already used by folder {seen[graph]}")
            )  # fmt: skip
        seen[graph] = plan.name
    local = corpus / "mappings.sssom.tsv"  # mapping subjects are IRIs of the default base
    mapping_set = read_mappings(mappings or (local if local.exists() else None))
    known = {s for r in records.values() for s in r.subjects}
    problems += unknown_mapping_subjects(mapping_set, known)
    return problems


# ---------------------------------------------------------------- units, in workers


@dataclass(frozen=True)
class _UnitResult:
    name: str
    record: UnitRecord | None
    problems: list[Problem]
    violations: list[Violation]


# Set in the parent before the worker processes fork, so that they inherit it unpickled.
_WORKER: dict[str, Any] = {}


def _run_units(
    stale: Sequence[_Plan],
    shared: SharedInput,
    shared_graphs: Mapping[URIRef, Graph],
    entity_graph: Graph,
    base: str,
    build_dir: Path,
    jobs: int | None,
    say: Progress,
) -> Iterator[_UnitResult]:
    units_dir = build_dir / CACHE / "units"
    _WORKER.update(shared=shared, graphs=shared_graphs, context=entity_graph, base=base,
                   units=units_dir)  # fmt: skip
    workers = min(jobs or os.cpu_count() or 1, len(stale))
    done, articles = 0, sum(1 for p in stale if p.name != SHARED)
    pool: ProcessPoolExecutor | None = None
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results: Iterator[_UnitResult] = map(_unit, stale)
    else:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        chunk = max(1, len(stale) // (workers * 8))
        results = pool.map(_unit, stale, chunksize=chunk)
        say(f"building on {workers} processes")
    for result in results:
        done += result.name != SHARED
        if result.name != SHARED and (done % 50 == 0 or done == articles):
            say(f"built {done}/{articles} article(s)")
        yield result
    if pool is not None:
        pool.shutdown()


def _unit(plan: _Plan) -> _UnitResult:
    """Build one unit (in a worker process when there are several)."""
    if plan.name == SHARED:
        return _shared_unit(plan, _WORKER["shared"], _WORKER["graphs"])
    return _article_unit(plan)


def _shared_unit(plan: _Plan, shared: SharedInput, graphs: Mapping[URIRef, Graph]) -> _UnitResult:
    union = Graph()
    for graph in graphs.values():
        for triple in graph:
            union.add(triple)
    result = validate_graph(union, _WORKER["base"])
    if not result.conforms:
        return _UnitResult(SHARED, None, [], list(result.violations))
    folder = _unit_folder(SHARED, plan.key)
    files = {str(name): _write_sorted_nt(folder, f"graph-{i}.nt", graph)
             for i, (name, graph) in enumerate(graphs.items())}  # fmt: skip
    _seal(folder)
    subjects = sorted(mapping_subjects(shared.entities, shared.vocabulary, ()))
    prefixes = {
        p: n for p, n in shared.mappings.curie_map.items() if not n.startswith(DEFAULT_BASE)
    }
    record = UnitRecord(
        plan.key, files, None, {}, 0, len(union), subjects, prefixes, len(shared.entities)
    )
    return _UnitResult(SHARED, record, [], [])


def _article_unit(plan: _Plan) -> _UnitResult:
    """Load, build, validate and cache one article (in a worker process)."""
    assert plan.directory is not None
    base: str = _WORKER["base"]
    try:
        article = load_article(plan.directory, _WORKER["shared"])
    except CurationError as error:
        return _UnitResult(plan.name, None, error.problems, [])
    built = build_article(article, base)
    result = validate_graph(built.graph, base, context=_WORKER["context"])
    if not result.conforms:
        return _UnitResult(plan.name, None, [], list(result.violations))
    folder = _unit_folder(plan.name, plan.key)
    name = str(_rebased(article_graph_iri(article.id), base))
    files = {name: _write_sorted_nt(folder, "graph.nt", built.graph)}
    (folder / "nanopubs.nq").write_text(built.nquads(), encoding="utf-8")
    _seal(folder)
    claim_class = _rebased(CKG.Claim, base)
    types = Counter(
        str(t).rsplit("/", 1)[-1]
        for claim in built.graph.subjects(RDF.type, claim_class)
        for t in built.graph.objects(claim, RDF.type)
        if t != claim_class
    )
    record = UnitRecord(
        plan.key, files, "nanopubs.nq", dict(types), len(article.references),
        len(built.graph), sorted(reference_subjects(article)),
    )  # fmt: skip
    return _UnitResult(plan.name, record, [], [])


def _unit_folder(name: str, key: str) -> Path:
    """A fresh temporary folder; ``_seal`` renames it to ``units/NAME/KEY``."""
    folder: Path = _WORKER["units"] / name / f".{key}.{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _seal(folder: Path) -> None:
    final = folder.parent / folder.name[1:].rsplit(".", 1)[0]
    shutil.rmtree(final, ignore_errors=True)
    folder.rename(final)


def _write_sorted_nt(folder: Path, name: str, graph: Graph) -> str:
    lines = graph.serialize(format="nt11").splitlines()
    text = "\n".join(sorted(line for line in lines if line.strip())) + "\n"
    (folder / name).write_text(text, encoding="utf-8")
    return name


# ---------------------------------------------------------------- store, manifest, cache


def _update_store(
    build_dir: Path, outcome: BuildOutcome, manifest: dict[str, Any], say: Progress
) -> None:
    """Replace the store's graphs whose unit changed; drop the graphs of removed articles.

    The manifest forgets a graph before it is replaced and learns it after, so a run that
    stops half-way is repaired by the next one.
    """
    loaded: dict[str, str] = manifest.get("store", {})
    graph_files = outcome.graph_files()
    unit_keys = {n: r.key for r in outcome.records.values() for n in r.graphs}
    changed = [g for g in graph_files if loaded.get(g.name) != unit_keys[g.name]]
    store = open_store(build_dir / STORE)
    try:
        dropped = drop_graphs(store, unit_keys)
        for name in dropped:
            loaded.pop(name, None)
        if changed:
            say(f"loading {len(changed)} graph(s) into {build_dir / STORE}/")
            for graph in changed:
                loaded.pop(graph.name, None)
            manifest["store"] = loaded
            _write_manifest(build_dir, manifest)
            replace_graphs(store, ((g.name, g.path) for g in changed))
            store.flush()
            loaded |= {g.name: unit_keys[g.name] for g in changed}
        manifest["store"] = loaded
    finally:
        del store


def _read_manifest(build_dir: Path) -> dict[str, Any]:
    path = build_dir / CACHE / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if data.get("code") != code_fingerprint():
        return {"store": data.get("store", {})}  # new code: rebuild every unit
    return dict(data)


def _write_manifest(build_dir: Path, manifest: dict[str, Any]) -> None:
    manifest["code"] = code_fingerprint()
    text = json.dumps(manifest, indent=1, sort_keys=True)

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    write_atomically(build_dir / CACHE / MANIFEST, write)


def _prune_cache(build_dir: Path, records: Mapping[str, UnitRecord]) -> None:
    """Remove cached units no record points to (old keys, removed articles)."""
    units = build_dir / CACHE / "units"
    if not units.is_dir():
        return
    for unit in units.iterdir():
        record = records.get(unit.name)
        for version in unit.iterdir():
            if record is None or version.name != record.key:
                shutil.rmtree(version, ignore_errors=True)
        if record is None:
            shutil.rmtree(unit, ignore_errors=True)
