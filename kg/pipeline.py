"""The corpus build, incremental: each article is a unit of work, cached by content hash.

A *unit* is what one or more named graphs need: the shared unit (the entities with their
links, and the external evidence) and one unit per article. Its key is the SHA-256 of every
input it depends on: claimkg's own code, the ontology and shapes, the base IRI, the entities
(articles refer to them) and the unit's own files. A unit whose key is in the cache is
neither rebuilt nor revalidated. Stale articles are loaded, built and validated in worker
processes (one per core), each with the entities as validation context
(``kg.validate.validate_graph``). The union files and the embedded store are then assembled
from the cached per-unit files; the store is updated graph by graph.

Layout of the build folder: ``cache/manifest.json`` (the corpus, unit → key and counts,
the output files), ``cache/units/NAME/KEY/`` (sorted N-Triples per graph, nanopublications
as N-Quads), ``store/`` (Oxigraph), and the output files of ``kg.serialize``. The folder
belongs to one corpus, and its outputs are replaced as one set (``kg.build_folder``): a
refused or stopped build leaves it as it was.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg import __version__
from kg.build import build_article, build_shared
from kg.build_folder import (
    CACHE,
    MANIFEST,
    Staging,
    check_owner,
    corpus_id,
    read_manifest,
    recover,
    refuse_other_corpus,
    usable_folder,
    write_json,
)
from kg.corpus_files import survey_corpus
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
from kg.namespaces import (
    CKG,
    DEFAULT_BASE,
    ENTITY_GRAPH,
    PREFIXES,
    article_graph_iri,
    claim_iri,
    rebase_iri,
)
from kg.outputs import REPORT
from kg.resources import data_dir
from kg.serialize import FORMATS, GraphFile, write_corpus_outputs
from kg.store import drop_graphs, open_store, replace_graphs
from kg.validate import Violation, validate_graph

SHARED = "_shared"
"""The unit name of the entities and external evidence (article ids cannot start with _)."""
STORE = "store"
Progress = Callable[[str], None]
_STAGES_FROM = 1000
"""Articles of at least this many claims report each stage (load, build, validate) as it
starts, so that a long one is never silent."""


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
    claim_digests: dict[str, str] = field(default_factory=dict)
    """Claim id → digest of its triples: what changed since the last build."""


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
    changes: Changes | None = None
    """What differs from the folder's previous build (None: there was none)."""
    warnings: list[str] = field(default_factory=list)

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


@dataclass(frozen=True)
class Changes:
    """Articles and claims added, removed or changed since the folder's previous build."""

    articles: dict[str, list[str]]  # "added" / "removed" / "changed" → article ids
    claims: dict[str, int]  # "added" / "removed" / "changed" → how many

    def __str__(self) -> str:
        def part(counts: Mapping[str, int]) -> str:
            shown = [f"{counts[k]} {k}" for k in ("added", "removed", "changed") if counts[k]]
            return ", ".join(shown) or "none changed"

        articles = {k: len(v) for k, v in self.articles.items()}
        return f"articles: {part(articles)}; claims: {part(self.claims)}"


def _changes(before: Mapping[str, Any], after: Mapping[str, UnitRecord]) -> Changes:
    old = {n: r.get("claim_digests", {}) for n, r in before.items() if n != SHARED}
    new = {n: r.claim_digests for n, r in after.items() if n != SHARED}
    articles = {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(n for n in set(old) & set(new) if old[n] != new[n]),
    }
    claims = {"added": 0, "removed": 0, "changed": 0}
    for name in set(old) | set(new):
        was, now = old.get(name, {}), new.get(name, {})
        claims["added"] += len(now.keys() - was.keys())
        claims["removed"] += len(was.keys() - now.keys())
        claims["changed"] += sum(1 for c in now.keys() & was.keys() if now[c] != was[c])
    return Changes(articles, claims)


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
    formats: Sequence[str] | None = tuple(FORMATS),
    jobs: int | None = None,
    store: bool = True,
    mappings: Path | None = None,
    progress: Progress | None = None,
    take_over: bool = True,
) -> BuildOutcome:
    """Bring ``build_dir`` up to date with ``corpus``: rebuild and revalidate only the units
    whose inputs changed, then replace the store and the files of ``formats`` (empty or
    None: those of the folder's previous build, kept in step) as one set.

    Raises ``CurationError`` on unusable input (file and line named) and ``UnusableInput``
    when ``build_dir`` is not a folder, or belongs to another corpus and ``take_over`` is
    false (read commands). When the graph violates the shapes, the outcome lists the
    violations. Either way, and when interrupted, the folder is left as it was.
    """
    say = progress or (lambda message: None)
    corpus = corpus or default_corpus()
    if not corpus.is_dir():
        raise CurationError([Problem(corpus, None, "corpus folder not found")])
    usable_folder(build_dir)
    survey = survey_corpus(corpus)
    for warning in survey.warnings:
        say(f"warning: {warning}")
    if survey.problems:
        raise CurationError(survey.problems)
    recover(build_dir)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    fresh = not build_dir.exists()  # a refused first build leaves no folder behind
    manifest = _read_manifest(build_dir)
    owner = check_owner(build_dir, manifest, corpus)
    if owner is not None:
        if not take_over:
            raise refuse_other_corpus(build_dir, owner, corpus)
        say(f"warning: {build_dir}/ held the build of {owner}; it now holds {corpus_id(corpus)}")
        manifest = {}
    plans = _plan(corpus, base, mappings)
    if len(plans) == 1:
        raise CurationError([Problem(corpus, None, "no article folder (with article.yaml) found")])
    if not formats:  # a read command: the files of the previous set, kept in step
        formats = [f for f in manifest.get("formats", []) if f in FORMATS]
    cached: dict[str, Any] = manifest.get("units", {})
    stale = [p for p in plans if cached.get(p.name, {}).get("key") != p.key]
    timings["plan"] = time.perf_counter() - clock
    say(f"{len(plans) - 1} article(s): {len(stale)} unit(s) to build, the rest cached")
    records = {p.name: UnitRecord(**cached[p.name]) for p in plans if p not in stale}
    created = [build_dir / CACHE / "units" / p.name / p.key for p in stale]
    try:
        outcome = _build_units(corpus, build_dir, base, mappings, plans, stale, records, jobs,
                               say, timings)  # fmt: skip
        if outcome.conforms:
            outcome.changes = _changes(cached, outcome.records) if manifest else None
            outcome.warnings = list(survey.warnings)
            _replace_outputs(build_dir, outcome, manifest, corpus, base, formats, store, say)
            _prune_cache(build_dir, outcome.records)
            return outcome
    except BaseException:
        _forget(build_dir, created, fresh)
        raise
    _forget(build_dir, created, fresh)
    return outcome


def _build_units(
    corpus: Path,
    build_dir: Path,
    base: str,
    mappings: Path | None,
    plans: Sequence[_Plan],
    stale: Sequence[_Plan],
    records: dict[str, UnitRecord],
    jobs: int | None,
    say: Progress,
    timings: dict[str, float],
) -> BuildOutcome:
    """Build the stale units (in worker processes) beside the cached ones; raise on
    unusable input."""
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
    if problems:
        raise CurationError(problems)
    order = {p.name: i for i, p in enumerate(plans)}
    records = dict(sorted(records.items(), key=lambda item: order.get(item[0], len(order))))
    return BuildOutcome(records, [p.name for p in stale], violations, [], timings, build_dir)


def _forget(build_dir: Path, created: Sequence[Path], fresh: bool) -> None:
    """Undo what a refused or stopped build wrote: its units, or the folder it created.
    A set whose commit had begun is finished instead (its journal is there), and then the
    units it refers to stay."""
    recover(build_dir)
    kept = {
        (name, unit.get("key")) for name, unit in read_manifest(build_dir).get("units", {}).items()
    }
    if fresh and not kept:
        shutil.rmtree(build_dir, ignore_errors=True)
        return
    for folder in created:
        if (folder.parent.name, folder.name) in kept:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        for temporary in folder.parent.glob(f".{folder.name}.*"):
            shutil.rmtree(temporary, ignore_errors=True)
        if folder.parent.is_dir() and not any(folder.parent.iterdir()):
            folder.parent.rmdir()


def _replace_outputs(
    build_dir: Path,
    outcome: BuildOutcome,
    manifest: dict[str, Any],
    corpus: Path,
    base: str,
    formats: Sequence[str],
    store: bool,
    say: Progress,
) -> None:
    """Write what is out of date into a staging folder, then put it all in place at once."""
    records, timings = outcome.records, outcome.timings
    outputs_key = _digest([*(r.key for r in records.values()), base, *sorted(formats)])
    names = [name for f in formats for name in FORMATS[f]] + ([REPORT] if formats else [])
    previous = [n for n in manifest.get("files", []) if n not in names]
    files_stale = bool(formats) and (
        manifest.get("outputs") != outputs_key or not all((build_dir / n).is_file() for n in names)
    )
    unit_keys = {n: r.key for r in records.values() for n in r.graphs}
    store_stale = store and (manifest.get("store") != unit_keys or not (build_dir / STORE).is_dir())
    units_stale = manifest.get("units") != {n: asdict(r) for n, r in records.items()}
    if not (files_stale or store_stale or units_stale or previous):
        return
    staging = Staging(build_dir)
    try:
        moves: list[str] = []
        if store_stale:
            clock = time.perf_counter()
            _update_store(build_dir, staging.path / STORE, outcome, manifest, say)
            moves.append(STORE)
            timings["store"] = time.perf_counter() - clock
        if files_stale:
            clock = time.perf_counter()
            say(f"writing {', '.join(formats)} into {build_dir}/")
            prefixes = {**_prefixes(base), **records[SHARED].prefixes}
            write_corpus_outputs(
                outcome.graph_files(), outcome.nanopub_files(), staging.path, formats, prefixes,
                kgx=render_kgx, progress=say,
            )  # fmt: skip
            moves += names
            outcome.written = [build_dir / n for n in names]
            timings["write"] = time.perf_counter() - clock
        write_json(
            staging.path / CACHE / MANIFEST,
            {
                "code": code_fingerprint(),
                "corpus": corpus_id(corpus),
                "units": {name: asdict(r) for name, r in records.items()},
                "store": unit_keys if store_stale else manifest.get("store", {}),
                "formats": list(formats),
                "outputs": outputs_key,
                "files": names,
            },
        )
        staging.commit([*moves, f"{CACHE}/{MANIFEST}"], drop=previous)
    except BaseException:
        staging.discard()
        raise


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
                   units=units_dir, say=say)  # fmt: skip
    workers = min(jobs or os.cpu_count() or 1, len(stale))
    done, articles = 0, sum(1 for p in stale if p.name != SHARED)
    pool = None
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results: Iterator[_UnitResult] = map(_unit, stale)
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
    stages = _Stages(plan.name, _WORKER.get("say"))
    stages.loading(plan.directory / "claims")
    try:
        article = load_article(plan.directory, _WORKER["shared"])
    except CurationError as error:
        return _UnitResult(plan.name, None, error.problems, [])
    stages.on = stages.on or len(article.claims) >= _STAGES_FROM
    stages.next(f"loaded {len(article.claims):,} claims", "building the graph")
    built = build_article(article, base)
    stages.next(f"built {len(built.graph):,} triples", "validating them")
    result = validate_graph(built.graph, base, context=_WORKER["context"])
    stages.next("validated", "writing the cache" if result.conforms else None)
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
    digests = _claim_digests(folder.parent / plan.key / files[name], base, article.id)
    record = UnitRecord(
        plan.key, files, "nanopubs.nq", dict(types), len(article.references),
        len(built.graph), sorted(reference_subjects(article)), claim_digests=digests,
    )  # fmt: skip
    stages.next("cached", None)
    return _UnitResult(plan.name, record, [], [])


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


def _claim_digests(ntriples: Path, base: str, article_id: str) -> dict[str, str]:
    """Claim id → digest of the sorted triples about the claim and its parts (quote,
    selectors…), which share its IRI as their prefix."""
    prefix = f"<{rebase_iri(str(claim_iri(article_id, '')), base)}"
    lines: dict[str, list[str]] = {}
    with ntriples.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(prefix):
                subject = line[len(prefix) : line.index(">")]
                lines.setdefault(subject.split("/", 1)[0], []).append(line)
    return {claim: _digest(found)[:16] for claim, found in sorted(lines.items())}


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
    build_dir: Path, target: Path, outcome: BuildOutcome, manifest: Mapping[str, Any], say: Progress
) -> None:
    """The new set's store at ``target``: a snapshot of the folder's store (hard links, so
    instant) with the graphs whose unit changed replaced and those of removed articles
    dropped; the folder's own store is not touched."""
    current = build_dir / STORE
    loaded: dict[str, str] = dict(manifest.get("store", {})) if current.is_dir() else {}
    if current.is_dir():
        open_store(current, read_only=True).backup(str(target))
    unit_keys = {n: r.key for r in outcome.records.values() for n in r.graphs}
    changed = [g for g in outcome.graph_files() if loaded.get(g.name) != unit_keys[g.name]]
    store = open_store(target)
    try:
        drop_graphs(store, unit_keys)
        if changed:
            say(f"loading {len(changed)} graph(s) into {build_dir / STORE}/")
            replace_graphs(store, ((g.name, g.path) for g in changed))
        store.flush()
    finally:
        del store


def _read_manifest(build_dir: Path) -> dict[str, Any]:
    data = read_manifest(build_dir)
    if data.get("code") != code_fingerprint():  # new code: rebuild every unit
        return {k: data[k] for k in ("store", "corpus", "formats", "files") if k in data}
    return data


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
