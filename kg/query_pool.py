"""Stage 5 — SPARQL queries answered by Oxigraph in worker processes that can be killed.

Oxigraph's Python binding gives a query no time limit and no way to stop it, and a query that
runs inside the web server's event loop blocks every other client. So each query runs in a
worker process of its own holding a read-only Oxigraph store; the endpoint waits for the
answer without blocking, and when the time limit passes or the client goes away it kills the
worker (the only stop that always works, even inside a long join or a remote call) and starts
a fresh one. Results are serialised in the worker, capped at ``max_rows`` with the cap
reported, so the parent never holds more than one capped answer per query.
See ``docs/decisions/0010-endpoint-on-oxigraph-workers.md``.

This module imports nothing but the standard library and pyoxigraph, so a worker starts fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

SELECT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
RDF_FILE_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
}


@dataclass(frozen=True)
class DataSource:
    """What a worker opens: an on-disk store read-only, or RDF files loaded into memory."""

    store: Path | None = None
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Job:
    query: str
    form: str
    media_type: str
    max_rows: int
    union_default_graph: bool = True
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    rows: int
    truncated: bool


class QueryFailed(Exception):
    """The engine refused or could not finish the query; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ in the worker


def open_source(source: DataSource) -> ox.Store:
    """The store a worker answers from."""
    if source.store is not None:
        return ox.Store.read_only(str(source.store))
    store = ox.Store()
    for path in source.files:
        rdf_format = RDF_FILE_FORMATS.get(path.suffix.lower(), ox.RdfFormat.TURTLE)
        store.bulk_load(path=str(path), format=rdf_format)
    return store


def answer(store: ox.Store, job: Job) -> Answer:
    """Run ``job`` on ``store`` and serialise at most ``job.max_rows`` rows or triples."""
    dataset: dict[str, Any] = {}
    if job.default_graphs or job.named_graphs:
        dataset["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs] or None
        dataset["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs] or None
    elif job.union_default_graph:
        dataset["use_default_graph_as_union"] = True
    result = store.query(job.query, **dataset)
    if isinstance(result, ox.QueryBoolean):
        return Answer(
            _boolean(bool(result), SELECT_TYPES[job.media_type]), job.media_type, 1, False
        )
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = list(itertools.islice(result, job.max_rows + 1))
        truncated = len(rows) > job.max_rows
        rows = rows[: job.max_rows]
        body = _solutions(variables, rows, SELECT_TYPES[job.media_type])
        return Answer(body, job.media_type, len(rows), truncated)
    triples = list(itertools.islice(result, job.max_rows + 1))
    truncated = len(triples) > job.max_rows
    triples = triples[: job.max_rows]
    body = ox.serialize(triples, format=GRAPH_TYPES[job.media_type]) or b""
    return Answer(body, job.media_type, len(triples), truncated)


def _boolean(value: bool, kind: str) -> bytes:
    word = "true" if value else "false"
    if kind == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if kind == "xml":
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{word}</boolean></sparql>\n"
        ).encode()
    return f"{'_askResult' if kind == 'csv' else '?_askResult'}\n{word}\n".encode()


def _json_term(term: Any) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        cell = {"type": "literal", "value": term.value}
        if term.language:
            cell["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            cell["datatype"] = term.datatype.value
        return cell
    return {"type": "triple", "value": str(term)}


def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value == "http://www.w3.org/2001/XMLSchema#string":
            return f"<literal>{escape(term.value)}</literal>"
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


def _csv_term(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return str(term.value) if isinstance(term, ox.NamedNode | ox.Literal) else str(term)


def _solutions(variables: list[str], rows: Iterable[ox.QuerySolution], kind: str) -> bytes:
    if kind == "json":
        bindings = [
            {v: _json_term(row[v]) for v in variables if row[v] is not None} for row in rows
        ]
        document = {"head": {"vars": variables}, "results": {"bindings": bindings}}
        return json.dumps(document, ensure_ascii=False).encode()
    if kind == "xml":
        head = "".join(f"<variable name={quoteattr(v)}/>" for v in variables)
        results = "".join(
            "<result>"
            + "".join(
                f"<binding name={quoteattr(v)}>{_xml_term(row[v])}</binding>"
                for v in variables
                if row[v] is not None
            )
            + "</result>"
            for row in rows
        )
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head>{head}</head><results>{results}</results></sparql>\n"
        ).encode()
    if kind == "tsv":
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += [
            "\t".join("" if row[v] is None else str(row[v]) for v in variables) for row in rows
        ]
        return ("\n".join(lines) + "\n").encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(variables)
    writer.writerows([_csv_term(row[v]) for v in variables] for row in rows)
    return buffer.getvalue().encode()


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker if the server dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _worker_main(connection: multiprocessing.connection.Connection, source: DataSource) -> None:
    """A worker's life: open the store, say which graphs it has, answer jobs until closed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    try:
        store = open_source(source)
        graphs = sorted(g.value for g in store.named_graphs())
        connection.send(("ready", graphs, len(store)))
    except Exception as error:  # reported to the parent, which says what could not be opened
        connection.send(("failed", f"{type(error).__name__}: {error}", 0))
        return
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", answer(store, job))
        except SyntaxError as error:
            reply = ("syntax", str(error))
        except Exception as error:  # an evaluation error of the engine: the client's to see
            reply = ("error", str(error))
        connection.send(reply)


# ------------------------------------------------------------------ in the server


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process of the spawn context
    connection: multiprocessing.connection.Connection


@dataclass
class QueryPool:
    """A fixed number of query workers; a query waits for a free one for at most its time."""

    source: DataSource
    size: int = 2
    timeout: float = 30.0
    graphs: list[str] = field(default_factory=list)
    triples: int = 0
    _idle: asyncio.Queue[_Worker] | None = None
    _context: Any = None
    _processes: set[Any] = field(default_factory=set)

    def start(self) -> None:
        """Start every worker (blocking: call before serving); raise if the data won't open."""
        self._context = multiprocessing.get_context("spawn")
        started = [self._spawn_and_wait() for _ in range(self.size)]
        self._idle = asyncio.Queue()
        for worker in started:
            self._idle.put_nowait(worker)

    def _spawn_and_wait(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, args=(child, self.source), daemon=True, name="kg-query-worker"
        )
        process.start()
        self._processes.add(process)
        child.close()
        status, detail, count = parent.recv()
        if status != "ready":
            process.join(5)
            raise RuntimeError(f"the query worker could not open the data: {detail}")
        self.graphs, self.triples = detail, count
        return _Worker(process, parent)

    async def run(self, job: Job, gone: Callable[[], Awaitable[bool]]) -> Answer:
        """The answer to ``job``; the worker is killed at the time limit or if ``gone()``."""
        assert self._idle is not None, "start() the pool first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout=self.timeout)
        except TimeoutError:
            raise QueryFailed(
                f"every query worker stayed busy for {self.timeout:g} s; try again later", 503
            ) from None
        healthy = False
        try:
            worker.connection.send(job)
            reply = await self._wait(worker, deadline, gone)
            healthy = True
        finally:
            if healthy:
                self._idle.put_nowait(worker)
            else:
                self._replace(worker)
        status, detail = reply
        if status == "ok":
            assert isinstance(detail, Answer)
            return detail
        raise QueryFailed(str(detail), 400)

    async def _wait(
        self, worker: _Worker, deadline: float, gone: Callable[[], Awaitable[bool]]
    ) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        descriptor = worker.connection.fileno()

        def mark_readable() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(descriptor, mark_readable)
        try:
            while not readable.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise QueryFailed(
                        f"the query ran longer than the time limit of {self.timeout:g} s and "
                        "was stopped (kg serve --timeout sets the limit)",
                        503,
                    )
                await asyncio.wait({readable}, timeout=min(remaining, 0.1))
                if not readable.done() and await gone():
                    raise QueryFailed("the client went away; the query was stopped", 499)
        finally:
            loop.remove_reader(descriptor)
        try:
            reply: tuple[str, Any] = await loop.run_in_executor(None, worker.connection.recv)
        except (EOFError, OSError):
            raise QueryFailed("the query worker stopped unexpectedly", 500) from None
        return reply

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and put a fresh one in its place once it has opened the store."""
        with contextlib.suppress(ProcessLookupError, AttributeError, TypeError):
            os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join(5)
        self._processes.discard(worker.process)
        worker.connection.close()
        loop = asyncio.get_running_loop()
        assert self._idle is not None
        idle = self._idle

        def respawn() -> None:
            fresh = self._spawn_and_wait()
            loop.call_soon_threadsafe(idle.put_nowait, fresh)

        loop.run_in_executor(None, respawn)

    def close(self) -> None:
        """Stop every worker, busy or idle."""
        for process in list(self._processes):
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(process.pid, signal.SIGKILL)
            process.join(5)
        self._processes.clear()
