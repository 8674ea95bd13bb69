"""Stage 5 — the embedded store: the built corpus on disk in Oxigraph, one named graph per
article, queried through rdflib's API.

Oxigraph answers the query library one to two orders of magnitude faster than rdflib's own
engine (``benchmarks/bench_scale.py``); ``oxrdflib`` wraps it as an rdflib store, so the
code that queries or walks a graph does not change. Two things differ and are documented
for users: the store keeps numbers as values, so ``"0.50"^^xsd:decimal`` comes back as
``0.5`` (the printed form stays in every claim's quote and in the files ``kg build``
writes); and the default graph of a query is the union of the named graphs.

rdflib, oxrdflib and the writers are imported by the functions that need them: ``kg query``
imports this module to check ``--engine`` and must not pay for them.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kg.blocks import nquads_of
from kg.threads import HandedOver

if TYPE_CHECKING:
    from rdflib import Dataset, Graph

ENGINES = ("oxigraph", "rdflib")
"""Query engines: the embedded store (default) or rdflib's in-memory graph."""


def open_store(path: Path | None = None, read_only: bool = False) -> ox.Store:
    """The store at ``path`` (created when missing), or a new in-memory store."""
    if path is None:
        return ox.Store()
    if read_only:
        return ox.Store.read_only(str(path))
    path.mkdir(parents=True, exist_ok=True)
    return ox.Store(str(path))


def replace_graphs(store: ox.Store, graphs: Iterable[tuple[str, Path]]) -> None:
    """Make each named graph hold exactly the triples of its N-Triples file.

    One bulk load of all the files as a single N-Quads stream: on disk, Oxigraph's
    transactional load of a hundred small files took twice as long, and a bulk load per
    file barely less. A bulk load is not atomic; the caller records which graphs it
    trusts (``kg.pipeline`` forgets them in its manifest first).
    """
    graphs = list(graphs)
    for iri, _ in graphs:
        store.remove_graph(ox.NamedNode(iri))
    load_graphs(store, graphs)


def load_graphs(store: ox.Store, graphs: Iterable[tuple[str, Path]]) -> None:
    """Add each N-Triples file to the store in its named graph, by one bulk load."""
    graphs = list(graphs)
    if graphs:
        stream = io.BufferedReader(_AsNQuads(graphs), buffer_size=1 << 20)
        store.bulk_load(stream, format=ox.RdfFormat.N_QUADS)


class GraphLoader(HandedOver):
    """A new store at ``path`` loaded in a thread, a batch of graphs at a time, as the
    graphs are given: a build loads its units' graphs while its workers build the rest.

    Batches of about ``batch`` triples: at 100,000 claims (3.1 M triples) one bulk load
    peaked at 1.7 GB of memory, batches of 300,000 triples at ~390 MB for 4% more CPU (50
    graphs a batch: 250 MB, 11% more). The store is compacted once the last batch is in
    (``compact``). Nothing runs until ``start``: the build calls it once its worker
    processes have forked, so that none is forked beside RocksDB's threads."""

    BATCH = 300_000

    def __init__(self, path: Path, batch: int = BATCH) -> None:
        super().__init__()
        self.path = path
        self._batch = batch
        self._pending: list[tuple[str, Path]] = []
        self._pending_triples = 0
        self._batches: queue.SimpleQueue[list[tuple[str, Path]] | None] = queue.SimpleQueue()
        self._stopping = threading.Event()

    def add(self, graphs: Iterable[tuple[str, Path]], triples: int) -> None:
        """Graphs (name, N-Triples file) to load, holding ``triples`` between them; the
        files must stay until ``wait`` returns. Raises what the thread raised, if it has."""
        if self._failure is not None:  # the build stops now, not after its last unit
            self.wait()
        self._pending += graphs
        self._pending_triples += triples
        if self._thread is not None and self._pending_triples >= self._batch:
            self._send()

    def start(self) -> None:
        if self._thread is None:
            self.begin(self._run)
            if self._pending_triples >= self._batch:
                self._send()

    def finish(self) -> None:
        """Load what is left, then compact, in the thread; returns at once (``wait``)."""
        self.start()
        self._send()
        self._batches.put(None)

    def abandon(self) -> None:
        """Stop after the batch being loaded (a store is not left half-written under a
        folder being removed) and forget any failure: the store is not wanted."""
        self._stopping.set()
        if self._thread is not None:
            self._batches.put(None)
            self._thread.join()
            self._thread = None
        self._failure = None

    def _send(self) -> None:
        if self._pending:
            self._batches.put(self._pending)
        self._pending, self._pending_triples = [], 0

    def _run(self) -> None:
        store = open_store(self.path)
        try:
            while (batch := self._batches.get()) is not None:
                if self._stopping.is_set():
                    return
                load_graphs(store, batch)
            if not self._stopping.is_set():
                compact(store)
                store.flush()
        finally:
            del store


class _AsNQuads(io.RawIOBase):
    """N-Triples files read as one N-Quads stream: each line gets its file's graph name."""

    def __init__(self, graphs: Iterable[tuple[str, Path]]) -> None:
        self._graphs = iter(graphs)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                iri, path = next(self._graphs)
            except StopIteration:
                return 0
            self._pending = memoryview(nquads_of(path.read_bytes(), iri))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def compact(store: ox.Store) -> None:
    """Merge the files a bulk load leaves in the store into one sorted run per index.

    A bulk load writes overlapping files, which every read then searches. At 100,000 claims
    the library's queries took 2.1-3.3x (median 2.7x) as long as after this compaction, and
    grew a median 24x (up to 37x) from 10,000 claims, where Oxigraph in memory grows ~10x.
    It costs a rewrite of the store, which then takes more room on disk (609 MB -> 1 GB at
    100,000 claims): decision 0031."""
    store.optimize()


def drop_graphs(store: ox.Store, keep: Iterable[str]) -> list[str]:
    """Remove every named graph not in ``keep`` (an article removed from the corpus)."""
    kept = set(keep)
    dropped = [g.value for g in store.named_graphs() if g.value not in kept]
    for name in dropped:
        store.remove_graph(ox.NamedNode(name))
    return dropped


def as_rdflib(store: ox.Store) -> Dataset:
    """The store seen through rdflib: queries run in Oxigraph over the union of the graphs."""
    from oxrdflib.store import OxigraphStore
    from rdflib import Dataset

    return Dataset(store=OxigraphStore(store=store), default_union=True)


def in_store(graph: Graph) -> Dataset:
    """An in-memory Oxigraph copy of ``graph`` (e.g. RDF files given with ``--data``)."""
    store = ox.Store()
    data = graph.serialize(format="nt11", encoding="utf-8")
    store.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode("urn:claimkg:data"))
    return as_rdflib(store)
