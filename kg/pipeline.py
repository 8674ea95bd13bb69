"""The corpus build, incremental: each article is a unit of work, cached by content hash.

A *unit* is what one or more named graphs need: the shared unit (the entities with their
links, and the external evidence) and one unit per article. Its key is the SHA-256 of every
input it depends on: claimkg's own code, the ontology and shapes, the base IRI, the entities
(articles refer to them) and the unit's own files. A unit whose key is in the cache is
neither rebuilt nor revalidated. Stale articles are loaded, built and validated in worker
processes (one per core, ``kg.units``), each with the entities as validation context
(``kg.validate.validate_graph``). The union files and the embedded store are then assembled
from the cached per-unit files; the store is updated graph by graph, or, when none of its
graphs is kept, a new one is loaded while the units are built (decision 0032).

Layout of the build folder: ``cache/manifest.json`` (the corpus, unit → key and counts,
the output files), ``cache/units/NAME/KEY/`` (sorted N-Triples per graph, nanopublications
as N-Quads, each graph's blocks of the corpus files: decision 0025), ``cache/files.json``
(each corpus file's digest by its stat, ``FileIndex``), ``store/`` (Oxigraph), and the
output files of ``kg.serialize``. The folder
belongs to one corpus, and its outputs are replaced as one set (``kg.build_folder``): a
refused or stopped build leaves it as it was.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.base_iri import DEFAULT_BASE
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
from kg.build_plan import (
    FILE_INDEX,
    SHARED,
    FileIndex,
    Plan,
    Progress,
    UnitRecord,
    code_fingerprint,
    digest,
    plan_units,
)
from kg.corpus_files import survey_corpus
from kg.errors import CurationError, Problem
from kg.outputs import FORMATS, REPORT
from kg.resources import data_dir
from kg.threads import HandedOver

if TYPE_CHECKING:
    from kg.serialize import GraphFile
    from kg.store import GraphLoader
    from kg.validate import Violation

# The modules that build, validate, store and write (rdflib, pyshacl, pyoxigraph: over a
# second to import) are imported where a stale unit or output needs them (kg.build_plan).

STORE = "store"


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
        from kg.serialize import GraphFile

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
    whose inputs changed, then replace the store and the files of ``formats`` (None: those
    of the folder's previous build, kept in step; empty: no file, and those of the previous
    build removed) as one set.

    Raises ``CurationError`` on unusable input (file and line named) and ``UnusableInput``
    when ``build_dir`` is not a folder, or belongs to another corpus and ``take_over`` is
    false (read commands). When the graph violates the shapes, the outcome lists the
    violations. Either way, and when interrupted, the folder is left as it was.
    """
    say = progress or (lambda message: None)
    corpus = corpus or data_dir("corpus")  # kg.load.default_corpus
    if not corpus.is_dir():
        raise CurationError([Problem(corpus, None, "corpus folder not found")])
    usable_folder(build_dir)
    index = FileIndex(corpus, build_dir / CACHE / FILE_INDEX)  # the files' digests, by stat
    survey = survey_corpus(corpus, index)
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
        manifest = {"files": manifest.get("files", [])}  # the other corpus's files go too
    plans = plan_units(corpus, base, mappings, index)
    if len(plans) == 1:
        raise CurationError([Problem(corpus, None, "no article folder (with article.yaml) found")])
    if formats is None:  # a read command: the files of the previous set, kept in step
        formats = [f for f in manifest.get("formats", []) if f in FORMATS]
    cached: dict[str, Any] = manifest.get("units", {})
    stale = [p for p in plans if cached.get(p.name, {}).get("key") != p.key]
    timings["plan"] = time.perf_counter() - clock
    say(f"{len(plans) - 1} article(s): {len(stale)} unit(s) to build, the rest cached")
    records = {p.name: UnitRecord(**cached[p.name]) for p in plans if p not in stale}
    created = [build_dir / CACHE / "units" / p.name / p.key for p in stale]
    early = _early_load(build_dir, manifest, plans, stale, store, jobs, records, say)
    try:
        outcome = _build_units(corpus, build_dir, base, mappings, plans, stale, records, cached,
                               jobs, say, timings, early, formats)  # fmt: skip
        if outcome.conforms:
            before = manifest.get("units", manifest.get("previous_units"))
            outcome.changes = None if before is None else _changes(before, outcome.records)
            outcome.warnings = list(survey.warnings)
            _replace_outputs(build_dir, outcome, manifest, corpus, base, formats, store, say,
                             jobs, early)  # fmt: skip
            _prune_cache(build_dir, outcome.records)
            index.save()  # after the set: a refused build leaves the folder as it was
            return outcome
    except BaseException:
        _abandon(early)
        _forget(build_dir, created, fresh)
        raise
    _abandon(early)
    _forget(build_dir, created, fresh)
    return outcome


@dataclass
class _EarlyLoad:
    """A new store loaded while the units are built, in the staging folder of the set."""

    staging: Staging
    loader: GraphLoader


def _early_load(
    build_dir: Path,
    manifest: Mapping[str, Any],
    plans: Sequence[Plan],
    stale: Sequence[Plan],
    store: bool,
    jobs: int | None,
    cached: Mapping[str, UnitRecord],
    say: Progress,
) -> _EarlyLoad | None:
    """Start loading a new store beside the worker pool when the build would load one from
    empty anyway (no graph of the folder's store is kept: ``_update_store``), fed the
    cached units now and each built unit as it comes (``_build_units``). Not with ``-j 1``
    (everything in line), nor when no unit is built (nothing to overlap)."""
    if not (store and stale and jobs != 1) or _keeps_a_graph(build_dir, manifest, plans):
        return None
    from kg.store import GraphLoader

    staging = Staging(build_dir)
    early = _EarlyLoad(staging, GraphLoader(staging.path / STORE))
    for unit, record in cached.items():
        _feed(early, build_dir, unit, record)
    say(f"loading the graphs into {build_dir / STORE}/ as their units are built")
    return early


def _feed(early: _EarlyLoad, build_dir: Path, unit: str, record: UnitRecord) -> None:
    folder = build_dir / CACHE / "units" / unit / record.key
    graphs = [(name, folder / file) for name, file in record.graphs.items()]
    early.loader.add(graphs, record.triples)


def _abandon(early: _EarlyLoad | None) -> None:
    """The early store not wanted (a refused or stopped build): stop it, drop its folder."""
    if early is not None:
        early.loader.abandon()
        early.staging.discard()


def _build_units(
    corpus: Path,
    build_dir: Path,
    base: str,
    mappings: Path | None,
    plans: Sequence[Plan],
    stale: Sequence[Plan],
    records: dict[str, UnitRecord],
    previous: Mapping[str, Any],
    jobs: int | None,
    say: Progress,
    timings: dict[str, float],
    early: _EarlyLoad | None = None,
    formats: Sequence[str] = (),
) -> BuildOutcome:
    """Build the stale units (in worker processes) beside the cached ones (``previous``:
    the units of the folder's manifest), each fed to ``early``'s store as it comes; raise
    on unusable input."""
    violations: list[Violation] = []
    problems: list[Problem] = []
    if stale:
        from kg.build import build_shared
        from kg.load import load_shared
        from kg.namespaces import ENTITY_GRAPH
        from kg.units import rebased, run_units

        clock = time.perf_counter()
        shared = load_shared(corpus, mappings)
        shared_graphs = build_shared(shared.entities, shared.mappings, shared.evidence, base)
        entity_graph = shared_graphs[rebased(ENTITY_GRAPH, base)]
        for result in run_units(stale, shared, shared_graphs, entity_graph, base, build_dir,
                                 jobs, say, formats):  # fmt: skip
            problems += result.problems
            violations += result.violations
            if result.record is not None:
                records[result.name] = result.record
                if early is not None and not (problems or violations):
                    early.loader.start()  # the workers have forked: a result came back
                    _feed(early, build_dir, result.name, result.record)
        timings["build+validate"] = time.perf_counter() - clock
    if stale or set(records) != set(previous):  # else the previous build's checks still hold
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
    jobs: int | None = None,
    early: _EarlyLoad | None = None,
) -> None:
    """Write what is out of date into a staging folder, then put it all in place at once.
    The store is loaded in a thread while the files are written (unless ``jobs`` is 1):
    one after the other, the two took about as long as each other. A store ``early`` has
    been loading since the units were built is finished (compacted) there instead."""
    records, timings = outcome.records, outcome.timings
    outputs_key = digest([*(r.key for r in records.values()), base, *sorted(formats)])
    names = [name for f in formats for name in FORMATS[f]] + ([REPORT] if formats else [])
    previous = [n for n in manifest.get("files", []) if n not in names]
    files_stale = bool(formats) and (
        manifest.get("outputs") != outputs_key or not all((build_dir / n).is_file() for n in names)
    )
    unit_keys = {n: r.key for r in records.values() for n in r.graphs}
    store_stale = early is not None or (
        store and (manifest.get("store") != unit_keys or not (build_dir / STORE).is_dir())
    )
    units = {n: vars(r) for n, r in records.items()}  # asdict's deep copies took 0.3 s at 1k
    units_stale = manifest.get("units") != units
    if not (files_stale or store_stale or units_stale or previous):
        return
    staging = Staging(build_dir) if early is None else early.staging
    loading: _Background | GraphLoader | None = None
    try:
        moves: list[str] = []
        clock = time.perf_counter()
        if early is not None:
            loading = early.loader
            early.loader.finish()
            moves.append(STORE)
        elif store_stale:
            work = (_update_store, build_dir, staging.path / STORE, outcome, manifest, say)
            loading = _Background(jobs != 1 and files_stale, *work)
            moves.append(STORE)
        if files_stale:
            from kg.kgx import render_kgx
            from kg.namespaces import file_prefixes
            from kg.serialize import write_corpus_outputs

            clock = time.perf_counter()
            say(f"writing {', '.join(formats)} into {build_dir}/")
            prefixes = file_prefixes(base, records[SHARED].prefixes)
            write_corpus_outputs(
                outcome.graph_files(), outcome.nanopub_files(), staging.path, formats, prefixes,
                kgx=render_kgx, progress=say,
            )  # fmt: skip
            moves += names
            outcome.written = [build_dir / n for n in names]
            timings["write"] = time.perf_counter() - clock
        if loading is not None:
            if early is not None and early.loader.busy:
                say(f"finishing {build_dir / STORE}/ (its last graphs, then compacting it)")
            loading.wait()
            timings["store"] = time.perf_counter() - clock  # overlapping the files' writing
        write_json(
            staging.path / CACHE / MANIFEST,
            {
                "code": code_fingerprint(),
                "corpus": corpus_id(corpus),
                "units": units,
                "store": unit_keys if store_stale else manifest.get("store", {}),
                "formats": list(formats),
                "outputs": outputs_key,
                "files": names,
            },
        )
        staging.commit([*moves, f"{CACHE}/{MANIFEST}"], drop=previous)
    except BaseException:
        if early is not None:
            early.loader.abandon()  # its batch loaded, its folder goes (build: _abandon)
        elif loading is not None:
            with contextlib.suppress(BaseException):
                loading.wait()  # before its folder goes
        staging.discard()
        raise


class _Background(HandedOver):
    """``work(*args)`` in a thread while the caller goes on (or here and now when
    ``parallel`` is false); ``wait`` raises what it raised. Oxigraph's bulk load releases
    the GIL, so the load and the files' writing share the two cores. Not a forked process:
    RocksDB's background threads do not survive a fork, and a child that opened a store
    after its parent had opened one waited for them forever."""

    def __init__(self, parallel: bool, work: Callable[..., None], *args: Any) -> None:
        super().__init__()
        if not parallel:
            work(*args)
            return
        self.begin(lambda: work(*args))


def _check_corpus(
    corpus: Path,
    mappings: Path | None,
    plans: Sequence[Plan],
    records: Mapping[str, UnitRecord],
    base: str,
) -> list[Problem]:
    """Checks across units: one folder per article id, every mapping subject exists."""
    from kg.links import read_mappings
    from kg.load import unknown_mapping_subjects

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


# ---------------------------------------------------------------- store, manifest, cache


def _update_store(
    build_dir: Path, target: Path, outcome: BuildOutcome, manifest: Mapping[str, Any], say: Progress
) -> None:
    """The new set's store at ``target``: a snapshot of the folder's store (hard links, so
    instant) with the graphs whose unit changed replaced and those of removed articles
    dropped; the folder's own store is not touched. When no graph of it is kept, the new
    store starts empty: removing a thousand graphs from the snapshot one by one took as
    long as loading them (~30 s each at 10,000 claims on a loaded machine). A store loaded
    from empty is compacted (``kg.store.compact``); one updated in place is not, as that
    would rewrite all of it for one article."""
    from kg.store import compact, drop_graphs, open_store, replace_graphs

    current = build_dir / STORE
    loaded: dict[str, str] = dict(manifest.get("store", {})) if current.is_dir() else {}
    unit_keys = {n: r.key for r in outcome.records.values() for n in r.graphs}
    changed = [g for g in outcome.graph_files() if loaded.get(g.name) != unit_keys[g.name]]
    from_snapshot = _keeps_a_graph(build_dir, manifest, outcome.records.values())
    if from_snapshot:
        open_store(current, read_only=True).backup(str(target))
    store = open_store(target)
    try:
        drop_graphs(store, unit_keys)
        if changed:
            say(f"loading {len(changed)} graph(s) into {build_dir / STORE}/")
            replace_graphs(store, ((g.name, g.path) for g in changed))
        if changed and not from_snapshot:
            compact(store)
        store.flush()
    finally:
        del store


def _keeps_a_graph(
    build_dir: Path, manifest: Mapping[str, Any], units: Iterable[Plan | UnitRecord]
) -> bool:
    """Whether the folder's store holds a graph of one of ``units`` (by key: a key names
    its unit's inputs, so its graphs too); if not, a new store is loaded from empty."""
    loaded = manifest.get("store", {}) if (build_dir / STORE).is_dir() else {}
    return bool(set(loaded.values()) & {unit.key for unit in units})


def _read_manifest(build_dir: Path) -> dict[str, Any]:
    data = read_manifest(build_dir)
    if data.get("code") != code_fingerprint():  # new code: rebuild every unit
        kept = {k: data[k] for k in ("store", "corpus", "formats", "files") if k in data}
        return kept | ({"previous_units": data["units"]} if "units" in data else {})
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
