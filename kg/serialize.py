"""Stage 4 — write the graph in standard serialisations, atomically.

Every file is first written to a temporary file in the output folder and then moved over
the old one with ``os.replace``: a run that fails half-way leaves each file either as it
was or complete, never half-written.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef, plugin
from rdflib.namespace import XSD, split_uri
from rdflib.plugins.serializers.trig import TrigSerializer
from rdflib.plugins.serializers.turtle import TurtleSerializer
from rdflib.serializer import Serializer
from rdflib.term import Node, _is_valid_uri

from kg import blocks
from kg.blocks import block_file
from kg.build import BuiltCorpus
from kg.kgx import edge_block, edges_from_blocks, kgx_edges, kgx_nodes

# the names of the files written here, kept light for the command line (re-exported)
from kg.outputs import FORMATS as FORMATS
from kg.outputs import OUTPUT_FILES as OUTPUT_FILES
from kg.outputs import UNION_FILES as UNION_FILES
from kg.outputs import UNIT_EDGES


def _exact_decimal(serializer: TurtleSerializer, node: Node) -> str | None:
    """rdflib writes the decimal "65" as the shorthand 65.0, another lexical form; keep it."""
    if isinstance(node, Literal) and node.datatype == XSD.decimal and "." not in str(node):
        return node._literal_n3(
            use_plain=False, qname_callback=lambda datatype: serializer.get_pname(datatype, True)
        )
    return None


class _BoundNames:
    """Prefixed names from the graph's bound prefixes only, in time independent of the graph.

    rdflib's ``compute_qname`` files every IRI's namespace in a trie whose nodes it scans
    one by one; with one namespace per claim (``…/claim/A/C/quote``) that scan made Turtle
    quadratic in an article's claims (10,000 claims did not finish in 10 minutes). This gives
    the same names rdflib gives from bound prefixes: the IRI split where rdflib splits it,
    then the longest bound namespace at least that long that the IRI starts with.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.refresh()

    def refresh(self) -> None:
        self.bound = {str(ns): prefix for prefix, ns in self.graph.namespaces()}
        self.lengths = sorted({len(ns) for ns in self.bound}, reverse=True)
        self.cache: dict[str, tuple[str, str, str] | None] = {}

    def parts(self, uri: str) -> tuple[str, str, str] | None:
        """(prefix, namespace, local name), or None when no bound prefix applies."""
        if uri in self.cache:
            return self.cache[uri]
        found = None
        try:
            split_at = len(split_uri(uri)[0])
        except ValueError:
            split_at = len(uri)
        for length in self.lengths:
            if length < split_at:
                break
            prefix = self.bound.get(uri[:length])
            if prefix is not None:
                found = (prefix, uri[:length], uri[length:])
                break
        self.cache[uri] = found
        return found


class _FastNames(TurtleSerializer):
    """``get_pname`` through ``_BoundNames``; rdflib's own path only to mint a prefix."""

    def serialize(self, *args: Any, **kwargs: Any) -> None:
        self._names = _BoundNames(self.store)
        super().serialize(*args, **kwargs)

    def get_pname(self, uri: Node, gen_prefix: bool = True) -> str | None:
        if not isinstance(uri, URIRef):
            return None
        names: _BoundNames | None = getattr(self, "_names", None)
        parts = names.parts(str(uri)) if names is not None and _is_valid_uri(uri) else None
        if parts is None:
            if names is None or gen_prefix:  # rdflib may bind a new prefix (ns1…)
                known = len(names.bound) if names is not None else 0
                pname = super().get_pname(uri, gen_prefix)
                if names is not None and len(list(self.store.namespaces())) != known:
                    names.refresh()
                return pname
            return None
        prefix, namespace, local = parts
        local = local.replace("(", r"\(").replace(")", r"\)")
        local = self.LOCALNAME_PECRENT_CHARACTER_REQUIRING_ESCAPE_REGEX.sub("\\%", local)
        if local.endswith("."):  # a prefixed name cannot end with "."
            return None
        return f"{self.addNamespace(prefix, URIRef(namespace))}:{local}"


class ExactTurtleSerializer(_FastNames):
    """Turtle that keeps every decimal exactly as printed (``"65"^^xsd:decimal``)."""

    def label(self, node: Node, position: int) -> str:
        return _exact_decimal(self, node) or super().label(node, position)


class ExactTrigSerializer(TrigSerializer):
    """TriG that keeps every decimal exactly as printed."""

    def label(self, node: Node, position: int) -> str:
        return _exact_decimal(self, node) or super().label(node, position)


plugin.register("claimkg-turtle", Serializer, __name__, "ExactTurtleSerializer")
plugin.register("claimkg-trig", Serializer, __name__, "ExactTrigSerializer")


def jsonld_context(graph: Graph) -> dict[str, str]:
    """The JSON-LD context: the graph's own prefixes, so JSON-LD and Turtle read alike."""
    return {prefix: str(namespace) for prefix, namespace in graph.namespaces() if prefix}


def jsonld_text(graph: Graph) -> str:
    """JSON-LD compacted with the graph's prefixes, the same bytes for the same graph: rdflib
    lists nodes and values in the order of its hash-randomised store, so they are sorted
    (by ``@id``, and values by their JSON). Sound because the context declares no ``@list``
    or ``@set`` container: every array is an unordered set of values."""
    from rdflib.plugins.serializers.jsonld import from_rdf

    context = jsonld_context(graph)
    document = _sorted_json(from_rdf(graph, context))  # type: ignore[no-untyped-call]
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _sorted_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: [_sorted_json(v) for v in item] if key == "@list" and isinstance(item, list)
            else _sorted_json(item)
            for key, item in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        items = [_sorted_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def sorted_ntriples(graph: Graph) -> str:
    """N-Triples in a stable order, so that two builds of the same input diff cleanly."""
    lines = graph.serialize(format="nt11").splitlines()
    return "\n".join(sorted(line for line in lines if line.strip())) + "\n"


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a temporary sibling and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text(path: Path, text: str) -> None:
    def write(temporary: Path) -> None:
        temporary.write_text(text, encoding="utf-8")

    write_atomically(path, write)


def write_outputs(
    built: BuiltCorpus, report: Graph, out_dir: Path, extra: Mapping[str, str] | None = None
) -> list[Path]:
    """Write the four serialisations, the validation report and ``extra`` (file name →
    text, e.g. the KGX export) into ``out_dir``."""
    graph, dataset = built.graph, built.dataset
    writers: dict[str, Callable[[], str]] = {
        "claimkg.ttl": lambda: graph.serialize(format="claimkg-turtle"),
        "claimkg.nt": lambda: sorted_ntriples(graph),
        "claimkg.jsonld": lambda: jsonld_text(graph),
        "claimkg.trig": lambda: _trig(dataset),
        "validation-report.ttl": lambda: report.serialize(format="claimkg-turtle"),
    }
    # Serialise everything first, so that an error in one format changes no file at all.
    texts = {name: render() for name, render in writers.items()} | dict(extra or {})
    written = []
    for name, text in texts.items():
        write_text(out_dir / name, text)
        written.append(out_dir / name)
    return written


def _trig(dataset: Dataset) -> str:
    return dataset.serialize(format="claimkg-trig")


# ---------------------------------------------------------------- a corpus from its parts


@dataclass(frozen=True)
class GraphFile:
    """One named graph of a built corpus, as a sorted N-Triples file."""

    name: str
    path: Path
    shared: bool = False
    """A graph every article builds on (entities, evidence): part of the TriG."""


def write_corpus_outputs(
    graphs: Sequence[GraphFile],
    nanopubs: Sequence[Path],
    out_dir: Path,
    formats: Iterable[str],
    prefixes: Mapping[str, str],
    kgx: Callable[[Graph], Mapping[str, str]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the union of ``graphs`` in ``formats`` (keys of ``FORMATS``) and a conforming
    validation report, each file atomically. Each file is its graphs' blocks copied one
    after another (``kg.blocks``: rendered by Oxigraph's serialisers, which keep every
    lexical form as written, "0.50" stays "0.50"; a block not yet cached is rendered here).
    KGX is assembled from the units' cached edges; only units cached without them send
    KGX back to rdflib, from the union in memory.

    ``nanopubs`` are N-Quads files of nanopublications, written into the TriG with the
    shared graphs.
    """
    formats = list(formats)
    say = progress or (lambda message: None)
    with _Writers(say) as writers:  # on a failure, the writes started end before it goes up

        def emit(name: str, write: Callable[[Path], None]) -> None:
            writers.submit(out_dir / name, write)

        union: Graph | None = None

        def union_graph() -> Graph:
            nonlocal union
            if union is None:
                union = Graph()
                for graph in graphs:
                    union.parse(graph.path, format="nt")
                for prefix, namespace in prefixes.items():
                    union.bind(prefix, namespace)
            return union

        if "nt" in formats:
            emit("claimkg.nt", lambda path: _concatenate(path, [g.path for g in graphs]))
        if "nq" in formats:
            emit("claimkg.nq", lambda path: _write_nquads(graphs, path))
        short = blocks.block_prefixes(prefixes)
        if "trig" in formats:
            sources = [(g.path, g.name) for g in graphs if g.shared] + [(p, None) for p in nanopubs]
            emit("claimkg.trig", lambda path: write_trig(sources, path, short))
        if "ttl" in formats:
            emit("claimkg.ttl", lambda path: write_turtle([g.path for g in graphs], path, short))
        if "jsonld" in formats:
            emit("claimkg.jsonld", lambda path: write_jsonld([g.path for g in graphs], path))
        renderers: dict[str, Callable[[Graph], Mapping[str, str]]] = {}
        parts = _edge_parts(graphs)
        if kgx is not None and "kgx" in formats and parts is not None:
            clock = time.perf_counter()
            shared_files = [g.path for g in graphs if g.shared]

            def nodes_and_ids() -> bytes:
                entities = Graph()  # the shared graphs, as the union binds them
                for path in shared_files:
                    entities.parse(path, format="nt")
                for prefix, namespace in prefixes.items():
                    entities.bind(prefix, namespace)
                nodes, remap = kgx_nodes(entities)
                return json.dumps({"nodes": nodes, "ids": remap}, sort_keys=True).encode("utf-8")

            # kept beside the first shared graph: it depends on the shared unit and the prefixes
            kept = _cached(block_file(shared_files[0], "kgx", prefixes), nodes_and_ids)
            cached = json.loads(kept.read_bytes())
            ids = cached["ids"]

            def block(part: Path) -> bytes:
                rows = edge_block(ids, part.read_text(encoding="utf-8"))
                return json.dumps(rows, sort_keys=True).encode("utf-8")

            chunks = zip(parts, blocks.block_files(parts, "kgx", ids), strict=True)
            rows = [
                json.loads(_cached(c, functools.partial(block, p)).read_bytes()) for p, c in chunks
            ]
            edges = edges_from_blocks(rows)
            if edges is None:  # the articles' claims interleave in the order of ids
                edges = kgx_edges(ids, (p.read_text(encoding="utf-8") for p in parts))
            files = {"nodes.tsv": cached["nodes"], "edges.tsv": edges}
            say(f"rendered kgx from the units' edges ({time.perf_counter() - clock:.1f} s)")
            for name, text in files.items():
                emit(name, _text(text))
        elif kgx is not None:  # units cached without their edges: from the union, in memory
            renderers["kgx"] = kgx
        wanted = [f for f in renderers if f in formats]
        if wanted:
            writers.wait()  # no thread of ours running when _render forks
            say(f"rendering {', '.join(wanted)} from the whole graph in memory…")
            clock = time.perf_counter()
            texts = _render(union_graph(), [renderers[f] for f in wanted])
            say(f"rendered {', '.join(wanted)} ({time.perf_counter() - clock:.1f} s)")
            for name, text in texts.items():
                emit(name, _text(text))
        emit("validation-report.ttl", _text(_CONFORMING))
        return writers.wait()


class _Writers:
    """Files written two at a time, each through ``write_atomically``: copying a corpus
    file's blocks is the kernel's work (``copy_file_range`` releases the GIL), and one
    thread left a core idle. Measured rebuilding one article of 1,000 (100,000 claims, six
    formats, 2.4 GB of files; 2 cores, load ~1): see decision 0029. ``wait`` returns the
    paths in the order submitted, or raises the first failure once every write has ended."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Path, Future[None]]] = []
        self._written: list[Path] = []

    def submit(self, path: Path, write: Callable[[Path], None]) -> None:
        if self._pool is None:
            workers = min(2, os.cpu_count() or 1)
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="claimkg-write")
        self._pending.append((path, self._pool.submit(self._write, path, write)))

    def _write(self, path: Path, write: Callable[[Path], None]) -> None:
        clock = time.perf_counter()
        write_atomically(path, write)
        self._say(f"wrote {path.name} ({time.perf_counter() - clock:.1f} s)")

    def __enter__(self) -> _Writers:
        return self

    def __exit__(self, kind: object, failure: object, trace: object) -> None:
        if failure is not None and self._pool is not None:
            self._pool.shutdown(wait=True)  # their own failures give way to this one
            self._pool = None

    def wait(self) -> list[Path]:
        pending, self._pending = self._pending, []
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._written += [path for path, _ in pending]
        for _, future in pending:
            failure = future.exception()
            if failure is not None:
                raise failure
        return list(self._written)


def _edge_parts(graphs: Sequence[GraphFile]) -> list[Path] | None:
    """Each unit folder's cached edges, in the order of ``graphs``; None if one lacks them."""
    folders = list(dict.fromkeys(graph.path.parent for graph in graphs))
    parts = [folder / UNIT_EDGES for folder in folders]
    return parts if all(part.is_file() for part in parts) else None


# Set before the rendering processes fork, so that they inherit the graph unpickled.
_RENDERING: dict[str, Any] = {}


def _render(
    graph: Graph, renderers: Sequence[Callable[[Graph], Mapping[str, str]]]
) -> dict[str, str]:
    """Run rdflib's serialisers, one process each when there are cores to spare: they are
    pure Python and took most of a small corpus's build."""
    workers = min(len(renderers), os.cpu_count() or 1)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        parts = [render(graph) for render in renderers]
    else:
        _RENDERING.update(graph=graph, renderers=renderers)
        context = multiprocessing.get_context("fork")
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                parts = list(pool.map(_render_one, range(len(renderers))))
        finally:
            _RENDERING.clear()
    return {name: text for part in parts for name, text in part.items()}


def _render_one(index: int) -> Mapping[str, str]:
    return dict(_RENDERING["renderers"][index](_RENDERING["graph"]))


def _text(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


_CONFORMING = (
    "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n\n"
    '[] a sh:ValidationReport ;\n    sh:conforms "true"^^xsd:boolean .\n'
)


def _concatenate(
    out: Path, parts: Iterable[Path], head: bytes = b"", between: bytes = b"", tail: bytes = b""
) -> None:
    """``parts`` one after another (empty ones skipped), copied file to file: a corpus file
    is as fast to write as its bytes are to copy, whatever changed (decision 0025)."""
    with out.open("wb") as sink:
        sink.write(head)
        first = True
        for part in parts:
            if part.stat().st_size == 0:
                continue
            if not first:
                sink.write(between)
            _copy(part, sink)
            first = False
        sink.write(tail)


def _copy(part: Path, sink: BinaryIO) -> None:
    """``part`` appended to ``sink`` by the kernel (``copy_file_range``: no copy through
    Python's buffers), or by ``shutil`` where the system or file system cannot."""
    with part.open("rb") as source:
        copy_range = getattr(os, "copy_file_range", None)
        if copy_range is not None:
            sink.flush()
            start = sink.seek(0, os.SEEK_END)
            try:
                while copy_range(source.fileno(), sink.fileno(), 1 << 30):
                    pass  # each call moves both files' offsets; 0 at the end of the source
                sink.seek(0, os.SEEK_END)
                return
            except OSError:  # EXDEV, ENOSYS, EINVAL on some file systems: copy it here
                sink.seek(start)
                sink.truncate()
                source.seek(0)
        shutil.copyfileobj(source, sink, 1 << 20)


def _cached(chunk: Path, render: Callable[[], bytes]) -> Path:
    """``chunk`` (a block beside a unit's file: ``kg.blocks.block_file``), rendered now
    unless the unit's worker or an earlier build already kept it."""
    if not chunk.is_file():
        data = render()

        def write(path: Path) -> None:
            path.write_bytes(data)

        write_atomically(chunk, write)
    return chunk


def _write_nquads(graphs: Sequence[GraphFile], out: Path) -> None:
    """Each graph's N-Quads kept beside its N-Triples (its name is fixed by the unit's key,
    which holds the base IRI), then copied in order."""

    def block(graph: GraphFile) -> bytes:
        return blocks.nquads_of(graph.path.read_bytes(), graph.name)

    parts = [_cached(block_file(g.path, blocks.NQ), functools.partial(block, g)) for g in graphs]
    _concatenate(out, parts)


def write_turtle(ntriples: Sequence[Path], out: Path, prefixes: Mapping[str, str]) -> None:
    """The union of sorted N-Triples files as one Turtle document, by Oxigraph's serialiser
    (45–89× faster than rdflib's in ``benchmarks/bench_scale.py``), which writes each literal
    as it was parsed: ``"0.50"^^xsd:decimal`` stays ``0.50``, ``"65"^^xsd:decimal`` stays
    typed, language tags stay. One block of statements per graph file, in file order, each
    subject's ``a`` first; a subject described in two graphs gets a block in each (the same
    triples). Each file's block is cached beside it: claimkg writes no blank nodes, so the
    blocks of one header join into one document meaning what they mean apart."""
    header = blocks.turtle_header(prefixes)

    def block(path: Path) -> bytes:
        return blocks.turtle_block(path.read_bytes(), prefixes, header, path)

    parts = [
        _cached(chunk, functools.partial(block, path))
        for path, chunk in zip(
            ntriples, blocks.block_files(ntriples, blocks.TTL, prefixes), strict=True
        )
    ]
    _concatenate(out, parts, head=header)


def write_trig(
    sources: Sequence[tuple[Path, str | None]], out: Path, prefixes: Mapping[str, str]
) -> None:
    """Graphs as one TriG document: each source an N-Triples file in the named graph given,
    or (None) an N-Quads file of whole graphs (nanopublications), its block cached beside
    it as ``write_turtle`` does."""
    header = blocks.turtle_header(prefixes)

    def block(path: Path, name: str | None) -> bytes:
        quads = (
            blocks.parsed(path, ox.RdfFormat.N_QUADS)
            if name is None
            else blocks.in_graph(path, name)
        )
        return blocks.trig_block(quads, prefixes, header, path)

    parts = [
        _cached(chunk, functools.partial(block, path, name))
        for (path, name), chunk in zip(
            sources, blocks.block_files([p for p, _ in sources], blocks.TRIG, prefixes), strict=True
        )
    ]
    _concatenate(out, parts, head=header)


def write_jsonld(ntriples: Sequence[Path], out: Path) -> None:
    """The union of sorted N-Triples files as JSON-LD in expanded form (full IRIs, one node
    object per subject and graph file, one per line), by Oxigraph's serialiser: it keeps
    every literal's lexical form and language tag, and takes a fraction of a second where
    rdflib's compaction took minutes at 10,000 claims (decision 0015)."""
    parts = [
        _cached(block_file(path, blocks.JSONLD), functools.partial(blocks.jsonld_block, path))
        for path in ntriples
    ]
    _concatenate(out, parts, head=b"[\n", between=b",\n", tail=b"\n]\n")
